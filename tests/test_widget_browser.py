"""The web widget in a real browser: a host page on one origin embeds the script from the
API on another (`manage.py serve`), as a pilot customer's app would."""
from __future__ import annotations

import email.utils
import http.server
import re
import threading
import time
import uuid
from pathlib import Path

import browser
import jwt
import pytest
import requests
from helpers import wait_until
from live import LiveServer

from shared import tenants

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


# Pages a test adds to the host apps, by path: their HTML and extra headers.
PAGES: dict[str, tuple[str, dict[str, str]]] = {}


class _Host(http.server.BaseHTTPRequestHandler):
    page = ""

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        page, headers = PAGES.get(self.path, (self.page, {}))
        body = page.encode()
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
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
    tenants.configure(uuid.UUID(api.tenant_id), allowed_origins=[allowed_origin])
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


def _jwt(api, sub: str, lifetime: int = 600) -> str:
    return jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "email": f"{sub}@acme.example",
                       "tenant_id": api.tenant_id, "exp": int(time.time()) + lifetime}, SECRET, algorithm="HS256")


def _who(sub: str) -> str:
    """The API's id for the user a token of ours names."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ISSUER}#{sub}"))


def _identify(page, token: str | None) -> None:
    page.wait_for_function("window.PilotFeedback && window.PilotFeedback.loaded")
    page.evaluate("token => PilotFeedback.identify({token})", token)


def _kept(page) -> list[dict]:
    """The sends the widget keeps in the page's localStorage."""
    return page.evaluate("""() => Object.keys(localStorage).filter(k => k.startsWith('pilot-feedback:queue:'))
        .flatMap(k => JSON.parse(localStorage.getItem(k)))""")


def _send_kept(page) -> None:
    """Sends the dialog's feedback, which the widget keeps to send again."""
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("kept in this browser")).to_be_visible()


def _posts(api) -> str:
    return f"{api.base}/api/v1/feedback/?*"


def _refuse(route, origin: str, status: int, retry_after: str | None = None) -> None:
    """Answers a send as a gateway in front of the API would, with the API's CORS headers."""
    headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": "Retry-After"}
    if retry_after:
        headers["Retry-After"] = retry_after
    route.fulfill(status=status, headers=headers, json={"detail": "Busy, come back later."})


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
    page.goto(origin + "/")
    _identify(page, _jwt(api, "user-7"))
    page.get_by_role("button", name="Feedback").click()
    expect(page.get_by_label("Your email")).to_be_hidden()
    summary = f"Signed-in idea {uuid.uuid4().hex[:6]}"
    _fill(page, summary, email=None)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    [item] = _items(api, summary)
    assert item["submitter_email"] == "user-7@acme.example"
    assert item["submitted_by"] == _who("user-7")


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


def test_a_kept_send_holds_no_token_and_goes_out_only_as_the_user_who_wrote_it(page, site):
    api, origin, _ = site
    page.goto(origin + "/")
    writer = _jwt(api, "user-7")
    _identify(page, writer)
    page.get_by_role("button", name="Feedback").click()
    summary = f"Written signed in {uuid.uuid4().hex[:6]}"
    _fill(page, summary, email=None)
    page.route(_posts(api), lambda route: route.abort("connectionreset"))
    _send_kept(page)
    stored = page.evaluate("JSON.stringify(localStorage)")
    assert writer not in stored and "eyJ" not in stored
    [kept] = _kept(page)
    assert re.fullmatch("[0-9a-f]{64}", kept["user"])
    page.unroute(_posts(api))

    _identify(page, _jwt(api, "user-8"))  # someone else signs in on this browser
    page.evaluate("window.dispatchEvent(new Event('online'))")
    time.sleep(1)
    assert _items(api, summary) == [] and len(_kept(page)) == 1

    _identify(page, _jwt(api, "user-7", lifetime=900))  # the writer again, with a fresh token
    page.evaluate("window.dispatchEvent(new Event('online'))")
    [item] = wait_until(lambda: _items(api, summary), what="the kept send")
    assert item["submitted_by"] == _who("user-7")
    wait_until(lambda: _kept(page) == [], what="the kept send to go")


def test_a_kept_anonymous_send_goes_out_anonymous_whoever_signs_in(page, site):
    api, origin, _ = site
    _open(page, origin + "/")
    summary = f"Written anonymously {uuid.uuid4().hex[:6]}"
    _fill(page, summary)
    page.route(_posts(api), lambda route: route.abort("connectionreset"))
    _send_kept(page)
    assert [k["user"] for k in _kept(page)] == [None]
    page.unroute(_posts(api))
    _identify(page, _jwt(api, "user-8"))
    page.evaluate("window.dispatchEvent(new Event('online'))")
    [item] = wait_until(lambda: _items(api, summary), what="the kept send")
    assert item["submitted_by"] is None and item["submitter_email"] == "ada@example.com"


def _delays(page) -> list[float]:
    """How long each kept send waits before its next try, in seconds of the page's clock."""
    return page.evaluate("() => JSON.parse(localStorage.getItem(Object.keys(localStorage)[0]))"
                         ".map(e => (e.next - Date.now()) / 1000)")


def test_failed_sends_back_off_doubling_with_jitter(page, site):
    api, origin, _ = site
    tries: list[str] = []

    def unavailable(route) -> None:
        tries.append(route.request.headers["idempotency-key"])
        _refuse(route, origin, 503)

    page.clock.install()
    page.route(_posts(api), lambda route: unavailable(route) if route.request.method == "POST" else route.continue_())
    page.goto(origin + "/")
    for n in range(2):
        page.get_by_role("button", name="Feedback").click()
        _fill(page, f"Backing off {n} {uuid.uuid4().hex[:6]}")
        _send_kept(page)
        page.get_by_role("button", name="Close").click()
    first = _delays(page)
    assert all(14 < d <= 30 for d in first) and first[0] != first[1], first  # 30 s, less up to half at random

    page.clock.run_for(45_000)  # the page looks every 15 s: once at least after both are due
    wait_until(lambda: [e.get("tries") for e in _kept(page)] == [2, 2], what="the second tries")
    second = _delays(page)
    assert all(29 < d <= 60 for d in second) and second[0] != second[1], second  # doubled
    assert len(set(tries)) == 2  # each send keeps its key


def test_a_send_waits_for_the_services_retry_after_in_seconds_or_as_a_date(page, site):
    api, origin, _ = site
    answers: list[str] = []  # Retry-After for each coming try; none left: the API answers

    def busy(route) -> None:
        if route.request.method == "POST" and answers:
            _refuse(route, origin, 429, answers.pop(0))
        else:
            route.continue_()

    page.clock.install()
    page.route(_posts(api), busy)
    _open(page, origin + "/")
    soon, late = (f"Retry after {n} {uuid.uuid4().hex[:6]}" for n in ("seconds", "date"))
    answers.append("120")
    _fill(page, soon)
    _send_kept(page)
    page.get_by_role("button", name="Close").click()
    now = page.evaluate("Date.now()") / 1000
    answers.append(email.utils.formatdate(now + 600, usegmt=True))
    page.get_by_role("button", name="Feedback").click()
    _fill(page, late)
    _send_kept(page)
    assert [round(d / 10) for d in _delays(page)] == [12, 60]  # 120 s and 600 s, not 15 to 30

    page.clock.run_for(100_000)  # the page looks every 15 s
    page.wait_for_timeout(1000)  # (route handlers run while Playwright is called)
    assert _items(api, soon) == [] and len(_kept(page)) == 2
    page.clock.run_for(40_000)
    wait_until(lambda: len(_kept(page)) == 1 and _items(api, soon), what="the send told to wait 120 s")
    assert _items(api, late) == []
    page.clock.run_for(500_000)
    wait_until(lambda: _kept(page) == [] and _items(api, late), what="the send told to wait until a date")


def test_a_kept_send_is_tried_for_the_retry_window_then_dropped(page, site):
    api, origin, _ = site
    tries: list[float] = []

    def unreachable(route) -> None:
        tries.append(time.time())
        route.abort("connectionreset")

    page.clock.install()
    page.route(_posts(api), unreachable)
    _open(page, origin + "/")
    summary = f"Never reached {uuid.uuid4().hex[:6]}"
    _fill(page, summary)
    _send_kept(page)
    page.clock.fast_forward(47 * 3600_000)  # within the 48 hours: tried again
    wait_until(lambda: _kept(page)[0].get("tries") == 2, what="a try within the window")
    page.clock.fast_forward(2 * 3600_000)
    wait_until(lambda: _kept(page) == [], what="the send past the window to be dropped")
    assert len(tries) == 2
    page.unroute(_posts(api))
    page.evaluate("window.dispatchEvent(new Event('online'))")
    time.sleep(1)
    assert _items(api, summary) == []


def test_a_kept_send_refused_for_good_is_shown_to_edit_and_send_again(page, site):
    api, origin, _ = site
    _open(page, origin + "/")
    summary = f"Refused later {uuid.uuid4().hex[:6]}"
    _fill(page, summary)
    page.context.set_offline(True)
    _send_kept(page)
    page.get_by_role("button", name="Close").click()

    def emptied(route) -> None:  # the API refuses what arrives: an empty summary
        if route.request.method == "POST":
            route.continue_(post_data={**route.request.post_data_json, "summary": ""})
        else:
            route.continue_()

    page.route(_posts(api), emptied)
    page.context.set_offline(False)
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text(f"Your feedback \u201c{summary}\u201d was not sent")
    expect(notice).to_contain_text("Summary: ")
    assert browser.axe_violations(page) == []
    page.unroute(_posts(api))

    notice.get_by_role("button", name="Edit and send again").click()
    expect(page.get_by_role("dialog", name="Send feedback")).to_be_visible()
    expect(page.get_by_label("Summary")).to_have_value(summary)
    expect(page.get_by_label("Your email")).to_have_value("ada@example.com")
    expect(page.get_by_role("status")).to_contain_text("Summary: ")
    expect(notice).to_be_hidden()
    assert _kept(page) == []
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    [item] = _items(api, summary)
    assert item["rating"] == 4


def test_an_answer_that_is_not_json_keeps_the_send_and_a_failed_retry_is_retried(page, site):
    api, origin, _ = site
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def portal(route) -> None:  # the API makes the item; a proxy answers in its place
        if route.request.method == "POST":
            route.fetch()
            route.fulfill(status=200, headers={"Access-Control-Allow-Origin": origin}, content_type="text/html",
                          body="<html><body>Welcome to the hotel's network</body></html>")
        else:
            route.continue_()

    page.clock.install()
    page.route(_posts(api), portal)
    _open(page, origin + "/")
    summary = f"Behind a portal {uuid.uuid4().hex[:6]}"
    _fill(page, summary)
    _send_kept(page)
    expect(page.get_by_role("dialog")).to_contain_text("answer could not be read")
    page.clock.fast_forward(31_000)  # the retry meets the portal too
    wait_until(lambda: _kept(page) and _kept(page)[0].get("tries") == 2, what="a second try")
    page.unroute(_posts(api))
    page.clock.fast_forward(61_000)
    wait_until(lambda: _kept(page) == [], what="the kept send to go")
    assert len(_items(api, summary)) == 1 and errors == []


def test_calls_queued_before_the_script_runs_are_replayed_once_it_is_ready(page, site):
    api, origin, _ = site
    PAGES["/queued"] = (f"""<!doctype html><html lang="en"><head><title>Queued</title><script>
      window.PilotFeedback = window.PilotFeedback || [];
      PilotFeedback.push(["identify", {{token: "{_jwt(api, 'user-9')}"}}]);
      PilotFeedback.push(["ready", function (widget) {{ window.readyWith = widget === window.PilotFeedback; }}]);
    </script></head><body><h1>Queued</h1>
    <script src="{api.base}/api/v1/feedback/widget.js" data-tenant-key="{api.intake_key}" async></script>
    </body></html>""", {})
    page.goto(origin + "/queued")
    page.wait_for_function("window.readyWith === true")
    assert page.evaluate("() => { let now = false; PilotFeedback.ready(() => { now = true; }); return now; }")
    page.evaluate("PilotFeedback.push(['open'])")
    expect(page.get_by_role("dialog", name="Send feedback")).to_be_visible()
    expect(page.get_by_label("Your email")).to_be_hidden()  # identified by the queued call
    summary = f"Queued identify {uuid.uuid4().hex[:6]}"
    _fill(page, summary, email=None)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    [item] = _items(api, summary)
    assert item["submitted_by"] == _who("user-9")


def test_the_readmes_pinned_tag_works_on_a_page_with_a_strict_csp(page, site):
    api, origin, _ = site
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [tag] = re.findall(r'<script src="https://HOST/api/v1/feedback/widget\.[0-9a-f]+\.js"[^>]*></script>', readme)
    tag = tag.replace("https://HOST", api.base).replace("pfi_...", api.intake_key)
    policy = (f"default-src 'none'; script-src {api.base}; connect-src {api.base}; style-src 'none';"
              " require-trusted-types-for 'script'")
    PAGES["/strict"] = (f'<!doctype html><html lang="en"><head><title>Strict</title></head><body><h1>Strict</h1>{tag}'
                        "</body></html>", {"Content-Security-Policy": policy})
    page.add_init_script("""window.violations = [];
        document.addEventListener('securitypolicyviolation', e => violations.push(e.violatedDirective));""")
    _open(page, origin + "/strict")
    launcher = page.get_by_role("button", name="Feedback")
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(31, 79, 209)"  # its styles apply
    summary = f"Strict page {uuid.uuid4().hex[:6]}"
    _fill(page, summary)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert len(_items(api, summary)) == 1
    assert page.evaluate("window.violations") == []


def test_the_open_dialog_fits_a_phone_and_passes_axe(chromium, site):
    api, origin, _ = site
    # A host app made for phones says so: without it a phone lays the page out 980 px wide.
    PAGES["/phone"] = (HOST_PAGE.format(api=api.base, key=api.intake_key).replace(
        '<meta charset="utf-8">', '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'), {})
    context = chromium.new_context(**browser.PHONE, locale="en-GB")
    page = context.new_page()
    try:
        _open(page, origin + "/phone")
        assert browser.too_wide(page) == []
        assert browser.axe_violations(page) == []
    finally:
        context.close()
