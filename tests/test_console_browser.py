"""The console in a real browser: Playwright driving Debian's Chromium against
`manage.py serve` (mails to a real SMTP server), with axe-core run inside the pages."""
from __future__ import annotations

import re
import urllib.parse
import uuid
from pathlib import Path

import browser
import pytest
import requests
from helpers import SMTP_PASSWORD, wait_until
from live import LiveServer
from standins.smtp import Mailbox

from shared import db, opt_outs, signin, team

browser.require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def chromium():
    yield from browser.launch()


@pytest.fixture(scope="module")
def served(database_url, secret_store, tmp_path_factory):
    """The local server with every group, mailing through a live SMTP server."""
    directory = tmp_path_factory.mktemp("console")
    box = Mailbox(directory, SMTP_PASSWORD).start()
    name = secret_store.add_version("p", f"console-{uuid.uuid4().hex[:6]}", SMTP_PASSWORD)
    server = LiveServer(database_url, directory / "server.log", **box.env(), SMTP_PASSWORD_SECRET=name,
                        SECRET_MANAGER_ENDPOINT=secret_store.url)
    yield server, box
    assert server.stop() == 0
    box.stop()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def _person(server, name: str = "Ada Lovelace") -> dict:
    return team.add_person(uuid.UUID(server.tenant_id), f"{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}@example.com",
                              name, "admin")


def _submit(server, **fields) -> dict:
    body = {"feedback_type": "bug", "summary": "Export crashes on save", "description": "Every time.", **fields}
    made = requests.post(f"{server.base}/api/v1/feedback/", json=body,
                         headers={"Authorization": f"Bearer {server.tokens['admin']}"}, timeout=10)
    assert made.status_code == 201, made.text
    return made.json()


def _sign_in_by_mail(page: Page, server, box, person: dict) -> None:
    page.goto(f"{server.base}/console/")
    expect(page).to_have_url(re.compile(r"/console/signin$"))
    page.get_by_label("Email").fill(person["email"])
    page.get_by_role("button", name="Mail me a link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    mail = wait_until(lambda: [m for m in box.messages if person["email"] in m["To"]], what="the sign-in mail")[0]
    link = re.search(r"http://\S+/console/signin/\S+", mail.get_content()).group(0)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


def test_signing_in_by_mail_and_triaging_an_item_end_to_end(page, served):
    server, box = served
    person = _person(server)
    _sign_in_by_mail(page, server, box, person)
    item = _submit(server, summary=f"Login loops {uuid.uuid4().hex[:4]}", submitter_email="sub@example.com",
                   priority="high")

    page.goto(f"{server.base}/console/?sort=newest")
    page.keyboard.press("j")  # the newest item, first
    expect(page.locator("tr.current")).to_contain_text(item["summary"])
    page.keyboard.press("o")
    expect(page.get_by_role("heading", name=item["summary"])).to_be_visible()

    page.keyboard.press("a")
    expect(page.get_by_role("status")).to_have_text("Acknowledged. No mail: this change is not mailed.")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_role("status")).to_have_text("Assigned to Ada Lovelace.")
    page.get_by_label("Note for the team").fill("Seen on Safari only")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".note")).to_contain_text("Seen on Safari only")
    page.keyboard.press("r")
    expect(page.get_by_label("Response the submitter reads")).to_be_focused()
    page.keyboard.type("Fixed in 2.3")
    page.get_by_role("button", name="Respond").click()
    expect(page.get_by_role("status")).to_contain_text("Response saved. The submitter will be mailed.")
    page.get_by_label("Move to").select_option("completed")
    page.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status")).to_contain_text("Now completed.")

    mails = wait_until(lambda: (found := [m for m in box.messages if m["To"].endswith("<sub@example.com>")
                                          or m["To"] == "sub@example.com"]) and len(found) >= 2 and found,
                       what="the submitter's mails")
    assert any("Fixed in 2.3" in m.get_content() for m in mails)
    timeline = page.locator(".timeline").inner_text()
    assert timeline.count("Ada Lovelace") >= 4 and "key:" not in timeline


def test_filters_live_in_the_url_and_the_back_button_restores_them(page, served):
    server, box = served
    _sign_in_by_mail(page, server, box, _person(server, "Grace Hopper"))
    idea = _submit(server, feedback_type="feature", summary=f"Dark mode {uuid.uuid4().hex[:4]}")
    bug = _submit(server, summary=f"Crash {uuid.uuid4().hex[:4]}")
    page.get_by_label("Type").select_option("feature")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"type=feature"))
    expect(page.locator("table.items")).to_contain_text(idea["summary"])
    expect(page.locator("table.items")).not_to_contain_text(bug["summary"])
    shared_view = page.url
    page.get_by_role("link", name=re.compile(r"^new \d+$")).click()
    expect(page).to_have_url(re.compile(r"status=new"))
    page.go_back()
    expect(page).to_have_url(shared_view)
    expect(page.get_by_label("Type")).to_have_value("feature")
    page.keyboard.press("/")
    expect(page.get_by_label("Search")).to_be_focused()
    page.get_by_label("Search").blur()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keys")).to_be_visible()


def test_hostile_input_never_runs(page, served):
    server, box = served
    _sign_in_by_mail(page, server, box, _person(server, "Mallory Watch"))
    payload = '<script>alert("summary")</script><img src=x onerror=alert("img")>'
    item = _submit(server, summary="Hostile " + payload, description=payload, tags=["<b>tag</b>"],
                   context={"<svg onload=alert('key')>": payload})
    page.goto(f"{server.base}/console/?sort=newest")
    expect(page.locator("table.items")).to_contain_text('<script>alert("summary")</script>')
    page.goto(f"{server.base}/console/items/{item['id']}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("<img src=x onerror")
    expect(page.locator("table.kv")).to_contain_text("<svg onload=alert('key')>")
    assert page.dialogs == []


def test_every_page_passes_axe(chromium, served):
    server, box = served
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)  # axe is injected
    page = context.new_page()
    try:
        page.goto(f"{server.base}/console/signin")
        assert browser.axe_violations(page) == []
        page.get_by_label("Email").fill("nobody@example.com")
        page.get_by_role("button", name="Mail me a link").click()
        expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
        assert browser.axe_violations(page) == []
        person = _person(server, "Axel Check")
        page.goto(f"{server.base}/console/signin/" + signin.operator_link(person["email"]).rsplit("/", 1)[1])
        assert browser.axe_violations(page) == []  # the link's page, with its one button
        _sign_in_by_mail(page, server, box, person)
        item = _submit(server, context={"browser": "Chrome 120", "os": "macOS"})
        assert browser.axe_violations(page) == []
        page.goto(f"{server.base}/console/items/{item['id']}/")
        assert browser.axe_violations(page) == []
        page.goto(f"{server.base}/console/dashboard")
        assert browser.axe_violations(page) == []
        page.goto(f"{server.base}/console/items/{uuid.uuid4()}/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Nothing here, or not yours to see.")
        assert browser.axe_violations(page) == []
    finally:
        context.close()


def test_a_bulk_acknowledge_and_the_csv_of_the_view(page, served):
    server, box = served
    _sign_in_by_mail(page, server, box, _person(server, "Bea Bulk"))
    tag = f"bulk{uuid.uuid4().hex[:6]}"
    made = [_submit(server, summary=f"Bulk item {n} {tag}", tags=[tag]) for n in range(2)]
    page.goto(f"{server.base}/console/?tag={tag}&sort=newest")
    for item in made:
        page.get_by_label(f"Select {item['summary']}").check()
    page.get_by_label("Do").select_option("acknowledge")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_have_text("2 of 2 done.")
    expect(page).to_have_url(re.compile(f"tag={tag}"))
    expect(page.locator("table.items")).not_to_contain_text("new")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text()
    lines = text.splitlines()
    assert lines[0].startswith("id,created_at,feedback_type") and len(lines) == 3  # the header and both items
    assert all(",acknowledged," in line for line in lines[1:])


def test_single_key_shortcuts_can_be_turned_off_and_stay_off(page, served):
    """WCAG 2.1.4: a speech-input user's words must not set off single-key shortcuts."""
    server, box = served
    _sign_in_by_mail(page, server, box, _person(server, "Kim Keys"))
    _submit(server, summary=f"Keys {uuid.uuid4().hex[:4]}")
    page.goto(f"{server.base}/console/?sort=newest")
    keys = page.get_by_role("dialog", name="Keys")
    toggle = keys.get_by_label("Single-key shortcuts")
    page.keyboard.press("?")
    expect(toggle).to_be_checked()
    toggle.uncheck()
    keys.get_by_role("button", name="Close").click()
    page.keyboard.press("j")
    expect(page.locator("tr.current")).to_have_count(0)

    page.reload()  # remembered in this browser
    page.keyboard.press("?")
    expect(keys).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator("tr.current")).to_have_count(0)
    page.get_by_role("button", name="Keyboard shortcuts").click()  # the list is still reachable
    expect(keys).to_be_visible()
    expect(toggle).not_to_be_checked()
    toggle.check()
    keys.get_by_role("button", name="Close").click()
    page.keyboard.press("j")
    expect(page.locator("tr.current")).to_have_count(1)


# A summary with one long unbroken word, as a pasted URL or formula is.
LONG_WORD = "https://example.com/" + "averyveryverylongpathsegment" * 6


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_every_page_fits_the_screen_and_passes_axe(chromium, served, size):
    """Nothing scrolls sideways, at a phone's 390 px as at a desktop's width, and axe passes."""
    server, _ = served
    context = chromium.new_context(**getattr(browser, size.upper()), bypass_csp=True)  # axe is injected
    page = context.new_page()
    phone = size == "phone"

    def fits(what: str) -> None:
        assert browser.too_wide(page) == [], what
        assert browser.axe_violations(page) == [], what

    try:
        page.goto(f"{server.base}/console/signin")
        fits("sign-in")
        person = _person(server, "Wendy Width")
        page.goto(f"{server.base}/console/signin/" + signin.operator_link(person["email"]).rsplit("/", 1)[1])
        fits("the link's page")
        page.get_by_role("button", name="Sign in").click()  # not by mail: the server limits how many it sends
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
        item = _submit(server, summary="Crash at " + LONG_WORD, description="See " + LONG_WORD,
                       submitter_email="wide@example.com", context={"page": LONG_WORD})
        page.goto(f"{server.base}/console/?sort=newest")
        fits("inbox")
        header = page.locator("header.top")
        assert header.bounding_box()["height"] < 60  # one line
        assert page.get_by_role("button", name="Keyboard shortcuts").is_visible() != phone
        first_row = page.locator("tr.row").first.bounding_box()
        assert first_row["y"] < page.viewport_size["height"]  # items on the first screen
        page.goto(f"{server.base}/console/?sort=newest&type=bug&priority=high")
        fits("filtered inbox")
        if phone:
            assert page.get_by_label("Type").is_hidden()
            page.get_by_text("Filters (2)").click()  # no script needed: a <details>
            expect(page.get_by_label("Type")).to_be_visible()
            expect(page.get_by_label("Type")).to_have_value("bug")
            page.get_by_role("link", name="Remove the filter type: bug").click()
            expect(page).to_have_url(re.compile(r"priority=high"))
            assert "type=" not in page.url
        page.goto(f"{server.base}/console/items/{item['id']}/")
        fits("item")
        acknowledge = page.get_by_role("button", name="Acknowledge").bounding_box()
        history = page.get_by_role("heading", name="History").bounding_box()
        assert (acknowledge["y"] < history["y"]) and (acknowledge["y"] < page.viewport_size["height"] or not phone)
        page.goto(f"{server.base}/console/dashboard")
        fits("dashboard")
        page.goto(f"{server.base}/console/team")
        fits("team")
        page.goto(item["status_url"])
        fits("status page")
        with db.transaction() as tx:
            token = opt_outs.sign(tx, uuid.UUID(server.tenant_id), "wide@example.com")
        page.goto(f"{server.base}/api/v1/feedback/mail/opt-out/?token={urllib.parse.quote(token)}")
        fits("opt-out page")
    finally:
        context.close()
