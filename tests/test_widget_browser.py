"""The web widget in a real browser: a host page on one origin embeds the script from the
API on another (`manage.py serve`), as a pilot customer's app would."""
from __future__ import annotations

import http.server
import threading
import time
import uuid

import browser
import jwt
import pytest
import requests
from helpers import wait_until
from live import LiveServer

from shared import tenancy

browser.require_chromium()

from playwright.sync_api import expect  # noqa: E402

ISSUER, AUDIENCE, SECRET = "https://id.example.test/", "pilot-feedback", "widget-test-secret-0123456789abcdef"
# The host app's own CSS: rules for the elements the widget uses too. None may reach into its
# shadow root, and none of the widget's may reach out.
HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme app</title>
<style>
  button {{ background: rgb(255, 0, 0) !important; font-size: 40px !important; }}
  dialog, form, input, select, textarea {{ display: none !important; }}
  label {{ color: rgb(0, 128, 0) !important; }}
</style></head>
<body><main><h1>Acme app</h1><h2 id="host-heading">Projects</h2><a id="host-link" href="#">Settings</a>
<button id="host-button" type="button">Host button</button></main>
<script src="{api}/api/v1/feedback/widget.js" data-tenant-key="{key}" data-app-version="3.1.4" async></script>
</body></html>"""


class _Host(http.server.BaseHTTPRequestHandler):
    page = ""

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        body = self.page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def _host(page: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = type("Host", (_Host,), {"page": page})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module")
def chromium():
    yield from browser.launch()


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory):
    """The API, an allowed host app and a host app on an origin the tenant does not list."""
    api = LiveServer(database_url, tmp_path_factory.mktemp("widget") / "server.log", JWT_ISSUER=ISSUER,
                     JWT_AUDIENCE=AUDIENCE, JWT_ALGORITHM="HS256", JWT_SECRET=SECRET)
    page = HOST_PAGE.format(api=api.base, key=api.intake_key)
    allowed, allowed_origin = _host(page)
    refused, refused_origin = _host(page)
    tenancy.configure(uuid.UUID(api.tenant_id), allowed_origins=[allowed_origin])
    yield api, allowed_origin, refused_origin
    allowed.shutdown()
    refused.shutdown()
    assert api.stop() == 0


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _items(api, summary: str) -> list[dict]:
    found = requests.get(f"{api.base}/api/v1/feedback/?limit=100&source=web_app",
                         headers={"Authorization": f"Bearer {api.tokens['admin']}"}, timeout=10).json()["items"]
    return [it for it in found if it["summary"] == summary]


def _open(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Feedback").click()
    expect(page.get_by_role("dialog", name="Send feedback")).to_be_visible()


def _fill(page, summary: str, email: str | None = "ada@example.com") -> None:
    page.get_by_label("Type").select_option("performance")
    page.get_by_label("Summary").fill(summary)
    page.get_by_label("Description").fill("The dashboard takes 8 s.")
    page.get_by_label("4", exact=True).check()
    if email:
        page.get_by_label("Your email").fill(email)


def test_an_anonymous_submit_shows_what_is_sent_and_links_to_the_status_page(page, site):
    api, origin, _ = site
    _open(page, origin + "/projects?secret-token=abc#frag")
    context = page.locator(".context").inner_text()
    assert f"{origin}/projects" in context and "secret-token" not in context
    for shown in ("browser", "os", "viewport\n1280x800", "language\nen-GB", "app version\n3.1.4"):
        assert shown in context, shown
    summary = f"Slow dashboard {uuid.uuid4().hex[:6]}"
    _fill(page, summary)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    [item] = _items(api, summary)
    assert (item["feedback_type"], item["rating"], item["source"], item["submitter_email"]) == (
        "performance", 4, "web_app", "ada@example.com")
    assert item["context"]["page"] == f"{origin}/projects" and item["context"]["app_version"] == "3.1.4"
    assert set(item["context"]) == {"page", "browser", "os", "viewport", "language", "app_version"}

    with page.expect_popup() as opened:
        page.get_by_role("link", name="Follow your feedback").click()
    status = opened.value
    expect(status.get_by_text(summary)).to_be_visible()
    expect(status.get_by_text("Status: new")).to_be_visible()


def test_an_identified_user_submits_without_an_email_field(page, site):
    api, origin, _ = site
    token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "user-7", "email": "grace@acme.example",
                        "tenant_id": api.tenant_id, "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")
    page.goto(origin + "/")
    page.wait_for_function("window.PilotFeedback && window.PilotFeedback.loaded")
    page.evaluate("token => PilotFeedback.identify({token})", token)
    page.get_by_role("button", name="Feedback").click()
    expect(page.get_by_label("Your email")).to_be_hidden()
    summary = f"Signed-in idea {uuid.uuid4().hex[:6]}"
    _fill(page, summary, email=None)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    [item] = _items(api, summary)
    assert item["submitter_email"] == "grace@acme.example"
    assert item["submitted_by"] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ISSUER}#user-7"))


def test_a_page_on_an_origin_the_tenant_does_not_list_sends_nothing(page, site):
    api, _, refused = site
    _open(page, refused + "/")
    summary = f"From elsewhere {uuid.uuid4().hex[:6]}"
    _fill(page, summary)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("dialog")).to_contain_text("could not be reached")
    page.evaluate("window.dispatchEvent(new Event('online'))")  # a retry is refused alike
    time.sleep(1)
    assert _items(api, summary) == []


def test_the_host_pages_css_and_the_widgets_stay_apart(page, site):
    _, origin, _ = site
    _open(page, origin + "/")
    launcher = page.get_by_role("button", name="Feedback")
    style = launcher.evaluate("b => { const s = getComputedStyle(b); return [s.backgroundColor, s.fontSize]; }")
    assert style == ["rgb(31, 79, 209)", "15px"]
    assert page.get_by_label("Summary").evaluate("e => getComputedStyle(e).display") == "inline-block"
    assert page.locator("label[for=pf-summary]").evaluate("e => getComputedStyle(e).color") != "rgb(0, 128, 0)"
    # The widget's rules for h2, a and button stop at its shadow root.
    assert page.locator("#host-heading").evaluate("e => getComputedStyle(e).fontSize") == "24px"
    assert page.locator("#host-link").evaluate("e => getComputedStyle(e).color") == "rgb(0, 0, 238)"
    assert page.locator("#host-button").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 0, 0)"


def _focused(page) -> str:
    return page.evaluate("""() => {
        const root = document.querySelector('[data-pilot-feedback]').shadowRoot;
        const el = root.activeElement;
        return el ? (el.closest('dialog') ? 'dialog:' : 'widget:') + (el.id || el.textContent) : 'page';
    }""")


def test_keyboard_focus_stays_in_the_dialog_and_escape_closes_it(page, site):
    _, origin, _ = site
    page.goto(origin + "/")
    launcher = page.get_by_role("button", name="Feedback")
    launcher.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Send feedback")).to_be_visible()
    assert _focused(page) == "dialog:pf-summary"
    seen = set()
    for key in ["Tab"] * 16 + ["Shift+Tab"] * 16:
        page.keyboard.press(key)
        seen.add(_focused(page))
        assert _focused(page).startswith("dialog:"), key
    assert {"dialog:Send", "dialog:Cancel", "dialog:pf-type", "dialog:pf-email"} <= seen
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert _focused(page) == "widget:Feedback"


def test_a_send_made_offline_is_sent_once_back_online(page, site):
    api, origin, _ = site
    _open(page, origin + "/")
    summary = f"Written on a train {uuid.uuid4().hex[:6]}"
    _fill(page, summary)
    page.context.set_offline(True)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("dialog")).to_contain_text("kept in this browser")
    assert _items(api, summary) == []
    page.context.set_offline(False)  # the browser's online event sends what was kept
    wait_until(lambda: _items(api, summary), what="the kept feedback")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    time.sleep(1)
    assert len(_items(api, summary)) == 1
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('pilot-feedback:') )") == []


def test_a_send_whose_answer_was_lost_is_retried_under_the_same_key_and_makes_one_item(page, site):
    api, origin, _ = site
    _open(page, origin + "/")
    summary = f"Answer lost {uuid.uuid4().hex[:6]}"
    _fill(page, summary)

    def lose_the_answer(route) -> None:
        if route.request.method == "POST":
            route.fetch()  # the API makes the item...
            route.abort("connectionreset")  # ...and the page never hears of it
        else:
            route.continue_()

    page.route(f"{api.base}/api/v1/feedback/?*", lose_the_answer)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("dialog")).to_contain_text("kept in this browser")
    assert len(_items(api, summary)) == 1
    page.unroute(f"{api.base}/api/v1/feedback/?*")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: page.evaluate("Object.keys(localStorage).length") == 0, what="the kept send to go")
    assert len(_items(api, summary)) == 1


def test_the_dialog_passes_axe(page, site):
    _, origin, _ = site
    _open(page, origin + "/")
    assert browser.axe_violations(page) == []
    _fill(page, f"Axe {uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert browser.axe_violations(page) == []


def test_a_refused_field_is_named_in_the_dialogs_words(page, site):
    api, origin, _ = site
    _open(page, origin + "/")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_have_text("Write a short summary first.")
    summary = f"Bad address {uuid.uuid4().hex[:6]}"
    _fill(page, summary, email="ana@localhost")  # no dot after the @: the API refuses it
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("Your email: ")
    expect(page.get_by_label("Summary")).to_have_value(summary)  # nothing typed is lost
    assert _items(api, summary) == []
