"""`make run` as a person uses it: embedded database, demo keys once, Ctrl-C, data kept."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests
from live import free_port

ROOT = Path(__file__).resolve().parent.parent
URL_LINE = re.compile(r"Serving on (http://\S+)")


def _serve(data_dir: Path, port: int) -> tuple[subprocess.Popen, list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEFAULT_TENANT_ID")}
    env["PILOT_FEEDBACK_DATA_DIR"] = str(data_dir)
    process = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "serve", "--demo", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if URL_LINE.search(line):
            break
    else:
        raise RuntimeError("".join(lines))
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/api/v1/feedback/openapi.json", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    return process, lines


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)
    process.stdout.close()
    return code


def _postgres_running(data_dir: Path) -> bool:
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and any(str(data_dir) in part for part in proc.info["cmdline"] or []):
            return True
    return False


def test_embedded_run_shows_demo_keys_once_stops_cleanly_and_keeps_data(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    process, lines = _serve(data_dir, port)
    text = "".join(lines)
    member = re.search(r"member key: (pfk_\S+)", text).group(1)
    assert re.search(r"admin key:\s+pfk_\S+", text) and re.search(r"intake key: pfi_\S+", text)
    base = f"http://127.0.0.1:{port}/api/v1/feedback/"
    created = requests.post(base, json={"feedback_type": "bug", "summary": "kept across runs"},
                            headers={"Authorization": f"Bearer {member}"}, timeout=5)
    assert created.status_code == 201
    # The demo tenant takes anonymous submissions.
    anonymous = requests.post(base, json={"feedback_type": "ux", "summary": "anon", "submitter_email": "a@example.com"},
                              timeout=5)
    assert anonymous.status_code == 201
    # One click from the inbox: the demo admin's sign-in link, on the same port.
    link = re.search(r"Triage console: (http://\S+/console/signin/\S+)", text).group(1)
    browser = requests.Session()
    assert browser.get(link, timeout=5).status_code == 200
    inbox = browser.post(link, timeout=5)  # and follows the redirect to the inbox
    assert inbox.status_code == 200 and inbox.url.endswith("/console/") and "kept across runs" in inbox.text
    assert _stop(process) == 0
    assert not _postgres_running(data_dir)

    process, lines = _serve(data_dir, port)
    try:
        text = "".join(lines)
        assert "pfk_" not in text and "keys were shown" in text
        assert "Triage console: http" in text  # a fresh link on every run
        item = requests.get(base + created.json()["id"] + "/", headers={"Authorization": f"Bearer {member}"}, timeout=5)
        assert item.status_code == 200 and item.json()["summary"] == "kept across runs"
    finally:
        assert _stop(process) == 0
    assert not _postgres_running(data_dir)
