"""The README's screenshots of the console, taken in Chromium from a demo server.

    .venv/bin/python docs/screenshots.py

Starts `manage.py serve --demo` on a scratch database, fills it with a few items,
signs in with the link the demo prints, and saves docs/console-*.png (inbox, item, dashboard) at 1280 wide;
then opens the web widget on a host page of another origin and saves docs/widget-dialog.png.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ITEMS = [
    {"feedback_type": "bug", "summary": "Export to CSV crashes on files over 10 MB", "priority": "urgent",
     "description": "Export stops at 10 MB with 'network error'. Happens on every browser.",
     "context": {"browser": "Chrome 131", "os": "macOS 15.1", "app_version": "2.4.0"}, "tags": ["export"]},
    {"feedback_type": "performance", "summary": "Dashboard takes 8 s to load with 5 projects", "priority": "high",
     "source": "web_app", "tags": ["dashboard"]},
    {"feedback_type": "feature", "summary": "Dark mode for the editor", "priority": "medium", "source": "ide_plugin"},
    {"feedback_type": "ux", "summary": "The save button is hidden on small screens", "priority": "medium"},
    {"feedback_type": "docs", "summary": "API guide misses the pagination parameters", "priority": "low",
     "source": "cli"},
    {"feedback_type": "bug", "summary": "SAML sign-in loops back to the login page", "priority": "high",
     "submitter_email": "ana@customer.example", "submitter_name": "Ana"},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    port = _free_port()
    data = tempfile.mkdtemp()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEFAULT_TENANT_ID")}
    env["PILOT_FEEDBACK_DATA_DIR"] = data
    server = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "serve", "--demo", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed = ""
    while "Serving on" not in printed:
        line = server.stdout.readline()
        if not line:
            raise SystemExit(printed)
        printed += line
    time.sleep(1)  # the worker binds after the banner
    admin = re.search(r"admin key:\s+(pfk_\S+)", printed).group(1)
    intake = re.search(r"intake key:\s+(pfi_\S+)", printed).group(1)
    link = re.search(r"Triage console: (\S+)", printed).group(1)
    base = f"http://127.0.0.1:{port}"
    made = [requests.post(f"{base}/api/v1/feedback/", json=item, headers={"Authorization": f"Bearer {admin}"},
                          timeout=10).json() for item in ITEMS]
    for item in made[1:4]:
        requests.post(f"{base}/api/v1/feedback/{item['id']}/acknowledge/",
                      headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(link)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(re.compile(r"/console/$"))
            page.goto(f"{base}/console/")
            page.screenshot(path=str(ROOT / "docs/console-inbox.png"))
            page.goto(f"{base}/console/items/{made[0]['id']}/")
            page.get_by_label("Note for the team").fill("Reproduced with a 12 MB project; the proxy times out.")
            page.get_by_role("button", name="Add note").click()
            page.screenshot(path=str(ROOT / "docs/console-item.png"), full_page=True)
            page.goto(f"{base}/console/dashboard")
            page.screenshot(path=str(ROOT / "docs/console-dashboard.png"), full_page=True)
            _widget(browser, base, intake)
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


HOST_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Projects</title>
<style>body {{ margin: 0; font: 16px Georgia, serif; background: #fafaf7; }} header {{ background: #2d3b2d;
color: #fff; padding: 14px 24px; font-size: 20px; }} main {{ padding: 24px; }} li {{ margin: 8px 0; }}</style>
</head><body><header>Acme Projects</header><main><h1>Projects</h1><ul><li>Website relaunch</li>
<li>Billing migration</li><li>Mobile app 2.0</li></ul></main>
<script src="{base}/api/v1/feedback/widget.js" data-tenant-key="{key}" data-app-version="2.4.0" async></script>
</body></html>"""


def _widget(browser, base: str, intake: str) -> None:
    """The widget's open dialog on a host page served from another port (another origin)."""
    import http.server
    import threading

    body = HOST_PAGE.format(base=base, key=intake).encode()

    class Host(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Host)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    try:
        page = browser.new_page(viewport={"width": 1000, "height": 820})
        page.goto(f"http://127.0.0.1:{host.server_port}/projects")
        page.get_by_role("button", name="Feedback").click()
        page.get_by_label("Type").select_option("bug")
        page.get_by_label("Summary").fill("Export to CSV stops at 10 MB")
        page.get_by_label("Description").fill("It says 'network error' every time.")
        page.get_by_label("4", exact=True).check()
        page.get_by_label("Your email").fill("ana@customer.example")
        page.screenshot(path=str(ROOT / "docs/widget-dialog.png"))
    finally:
        host.shutdown()


if __name__ == "__main__":
    main()
