"""The triage console over HTTP through functions-framework: signing in by link, the
session cookie, CSRF, the inbox and an item's page, every action as a form post, tenancy
and hostile input. (The browser tests drive the same pages in Chromium.)"""
from __future__ import annotations

import re
import uuid

import pytest
from helpers import sql, submit

from shared import signin, tenancy

CONSOLE = "/console/"


def _team_member(tenant, role: str = "admin", name: str = "Ada Lovelace") -> dict:
    return tenancy.add_person(tenant.id, f"{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}@example.com", name, role)


def _sign_in(client, person: dict) -> str:
    """Use a fresh link; the session cookie's value."""
    token = signin.operator_link(person["email"]).rsplit("/", 1)[1]
    page = client.get(f"{CONSOLE}signin/{token}")
    assert page.status_code == 200 and f'action="/console/signin/{token}"' in page.text
    used = client.post(f"{CONSOLE}signin/{token}")
    assert used.status_code == 303 and used.headers["Location"] == CONSOLE
    cookie = next(c for c in used.headers.getlist("Set-Cookie") if c.startswith("pf_console="))
    return cookie.split(";")[0].split("=", 1)[1]


def _csrf(page_text: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page_text).group(1)


@pytest.fixture
def console(function_app):
    return function_app("console").test_client()


@pytest.fixture
def signed_in(console, tenant):
    person = _team_member(tenant)
    _sign_in(console, person)
    return console, person


def test_the_guides_address_and_a_visitor_without_a_session_are_led_to_sign_in(console):
    assert console.get("/admin/feedback/").headers["Location"] == CONSOLE
    inbox = console.get(CONSOLE)
    assert inbox.status_code == 303 and inbox.headers["Location"].startswith("/console/signin?next=")
    page = console.get("/console/signin")
    assert page.status_code == 200 and 'type="email"' in page.text


def test_signing_in_sets_a_guarded_cookie_and_a_new_session_each_time(console, tenant):
    person = _team_member(tenant)
    token = signin.operator_link(person["email"]).rsplit("/", 1)[1]
    assert console.get(f"{CONSOLE}signin/{token}").status_code == 200  # a scanner's GET uses nothing
    used = console.post(f"{CONSOLE}signin/{token}")
    cookie = next(c for c in used.headers.getlist("Set-Cookie") if c.startswith("pf_console="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console/" in cookie
    assert "Secure" not in cookie  # on localhost only
    first = cookie.split(";")[0].split("=", 1)[1]
    assert console.post(f"{CONSOLE}signin/{token}").status_code == 400  # once only
    assert _sign_in(console, person) != first
    secure = console.post(f"{CONSOLE}signin/{signin.operator_link(person['email']).rsplit('/', 1)[1]}",
                          base_url="https://console.example.com")
    assert "Secure" in next(c for c in secure.headers.getlist("Set-Cookie") if c.startswith("pf_console="))


def test_a_signed_out_session_is_dead(signed_in):
    console, _ = signed_in
    inbox = console.get(CONSOLE)
    assert inbox.status_code == 200
    session = console.get_cookie("pf_console", path="/console/").value
    assert console.post(f"{CONSOLE}signout", data={"csrf": _csrf(inbox.text)}).status_code == 303
    console.set_cookie("pf_console", session, path="/console/")  # kept by someone
    assert console.get(CONSOLE).status_code == 303


def test_the_inbox_shows_the_tenants_items_filtered_through_the_url(signed_in, client, tenant, other_tenant):
    console, _ = signed_in
    bug = submit(client, tenant, summary="Export crashes on save", feedback_type="bug")
    idea = submit(client, tenant, summary="Dark mode please", feedback_type="feature")
    theirs = submit(client, other_tenant, summary="Another tenant's secret")
    page = console.get(CONSOLE).text
    assert bug["summary"] in page and idea["summary"] in page and theirs["summary"] not in page
    assert 'id="tenant-filter"' not in page  # an admin sees one tenant
    filtered = console.get(CONSOLE + "?type=feature&sort=newest").text
    assert idea["summary"] in filtered and bug["summary"] not in filtered
    assert '<option value="feature" selected>' in filtered
    searched = console.get(CONSOLE + "?q=expor").text
    assert bug["summary"] in searched and idea["summary"] not in searched
    wrong = console.get(CONSOLE + "?priority=extreme")
    assert wrong.status_code == 200 and "priority" in wrong.text and 'role="alert"' in wrong.text


def test_an_item_is_triaged_by_form_posts_and_the_history_names_the_person(signed_in, client, tenant, database_url):
    console, person = signed_in
    item = submit(client, tenant, role="admin", summary="Login loops", submitter_email="sub@example.com")
    url = f"{CONSOLE}items/{item['id']}/"
    page = console.get(url)
    assert page.status_code == 200 and "Login loops" in page.text and "sub@example.com" in page.text
    csrf = _csrf(page.text)

    def post(action: str, **fields) -> str:
        done = console.post(url + action, data={"csrf": csrf, **fields})
        assert done.status_code == 303 and done.headers["Location"] == url
        return console.get(url).text

    assert "Acknowledged." in post("acknowledge")
    assert "Assigned to Ada Lovelace." in post("assign", to_me="1")
    assert "Note added." in post("note", body="Seen on Safari only")
    assert "Declining needs a reason for the submitter." in post("status", status="declined")
    shown = post("respond", response="Fixed in 2.3", status="completed")
    assert "Response saved. The submitter will be mailed." in shown and "Fixed in 2.3" in shown
    assert "An item that is completed cannot become declined." in post("status", status="declined", reason="x")
    actors = {row[0] for row in sql(database_url, "SELECT actor FROM feedback_audit WHERE feedback_id = :id",
                                    id=uuid.UUID(item["id"]))}
    assert actors == {"Ada Lovelace"}
    [note] = sql(database_url, "SELECT author FROM feedback_notes WHERE feedback_id = :id", id=uuid.UUID(item["id"]))
    assert note == ["Ada Lovelace"]


def test_a_form_without_its_csrf_token_changes_nothing(signed_in, client, tenant):
    console, _ = signed_in
    item = submit(client, tenant)
    url = f"{CONSOLE}items/{item['id']}/"
    for data in ({}, {"csrf": "0" * 64}):
        refused = console.post(url + "acknowledge", data=data)
        assert refused.status_code == 403 and "reload the page" in refused.text
    assert "Acknowledge</button>" in console.get(url).text  # still new


def test_another_tenants_admin_sees_and_changes_nothing(signed_in, client, other_tenant):
    console, _ = signed_in
    theirs = submit(client, other_tenant)
    url = f"{CONSOLE}items/{theirs['id']}/"
    assert console.get(url).status_code == 404
    csrf = _csrf(console.get(CONSOLE).text)
    assert console.post(url + "acknowledge", data={"csrf": csrf}).status_code == 404
    assert client.get(f"/api/v1/feedback/{theirs['id']}/", headers=other_tenant.auth()).get_json()["status"] == "new"


def test_staff_see_every_tenant_and_may_pick_one(console, client, tenant, other_tenant):
    _sign_in(console, _team_member(tenant, role="staff", name="Sam Staff"))
    theirs = submit(client, other_tenant, summary="Seen by staff")
    ours = submit(client, tenant, summary="Ours, not theirs")
    every = console.get(CONSOLE + "?sort=newest").text  # among every tenant's items
    assert "Seen by staff" in every and 'id="tenant-filter"' in every
    one = console.get(f"{CONSOLE}?sort=newest&tenant_id={other_tenant.id}").text
    assert "Seen by staff" in one and ours["summary"] not in one
    assert console.get(f"{CONSOLE}items/{theirs['id']}/").status_code == 200


def test_hostile_input_is_shown_as_text(signed_in, client, tenant):
    console, _ = signed_in
    payload = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    item = submit(client, tenant, summary=payload, description=payload, tags=["<b>x</b>"],
                  context={"<i>key</i>": payload})
    for page in (console.get(CONSOLE).text, console.get(f"{CONSOLE}items/{item['id']}/").text):
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>x</b>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_pages_refuse_framing_and_inline_script_and_static_files_are_cached_by_content(signed_in):
    console, _ = signed_in
    page = console.get(CONSOLE)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    [css] = re.findall(r'href="(/console/static/console\.[0-9a-f]{12}\.css)"', page.text)
    [js] = re.findall(r'src="(/console/static/console\.[0-9a-f]{12}\.js)"', page.text)
    for path in (css, js):
        static = console.get(path)
        assert static.status_code == 200 and "max-age=31536000" in static.headers["Cache-Control"]
    assert console.get("/console/static/console.000000000000.css").status_code == 404
    assert "<script>" not in page.text.replace(f'<script src="{js}" defer></script>', "")


def test_a_sign_in_request_answers_alike_for_anyone(console, tenant):
    person = _team_member(tenant)
    known = console.post(f"{CONSOLE}signin", data={"email": person["email"]})
    unknown = console.post(f"{CONSOLE}signin", data={"email": "stranger@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "Check your mail" in known.text and "Check your mail" in unknown.text
    assert console.post(f"{CONSOLE}signin", data={"email": "nope"}).status_code == 422


def test_bulk_changes_check_and_audit_each_item_and_say_which_were_refused(signed_in, client, tenant, database_url):
    console, person = signed_in
    fresh = [submit(client, tenant, summary=f"bulk {n}") for n in range(2)]
    done = submit(client, tenant, summary="bulk done")
    csrf = _csrf(console.get(CONSOLE).text)
    ack = console.post(f"{CONSOLE}items/{done['id']}/acknowledge", data={"csrf": csrf})
    assert ack.status_code == 303
    ids = [i["id"] for i in fresh] + [done["id"]]
    result = console.post(f"{CONSOLE}bulk", data={"csrf": csrf, "action": "acknowledge", "ids": ids,
                                                  "back": CONSOLE + "?sort=newest"})
    assert result.status_code == 303 and result.headers["Location"] == CONSOLE + "?sort=newest"
    shown = console.get(result.headers["Location"]).text
    assert "2 of 3 done. Refused: " + done["id"][:8] + ": An item that is acknowledged cannot become" in shown
    for item in fresh:
        [[actor]] = sql(database_url, "SELECT actor FROM feedback_audit WHERE feedback_id = :id AND action = 'status'",
                        id=uuid.UUID(item["id"]))
        assert actor == "Ada Lovelace"
    assigned = console.post(f"{CONSOLE}bulk", data={"csrf": csrf, "action": "assign", "ids": ids,
                                                    "assignee": person["id"]})
    assert "3 of 3 done." in console.get(assigned.headers["Location"]).text
    mine = console.get(CONSOLE + "?assignee=me&sort=newest").text
    assert all(i["summary"] in mine for i in fresh)


def test_the_csv_holds_every_matching_item_and_no_formula(signed_in, client, tenant):
    console, _ = signed_in
    tag = f"csv{uuid.uuid4().hex[:6]}"
    made = [submit(client, tenant, summary=f"row {n}", tags=[tag]) for n in range(55)]  # more than a page
    submit(client, tenant, summary="=HYPERLINK(\"http://evil.example\")", tags=[tag], description="+1 -2 @x")
    export = console.get(f"{CONSOLE}export.csv?tag={tag}&sort=newest")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == len(made) + 1
    hostile = next(r for r in rows if "HYPERLINK" in r["summary"])
    assert hostile["summary"].startswith("'=") and hostile["description"].startswith("'+")
    assert {r["tags"] for r in rows} == {tag}


def test_the_dashboard_draws_each_figure_and_shows_its_numbers(console, client, other_tenant):
    person = _team_member(other_tenant, name="Dana Dash")
    _sign_in(console, person)
    for kind in ("bug", "bug", "feature"):
        submit(client, other_tenant, feedback_type=kind)
    page = console.get(f"{CONSOLE}dashboard")
    assert page.status_code == 200
    text = page.text
    by_type = dict(re.findall(r'<tr><th scope="row">(\w+)</th><td class="num">(\d+)</td></tr>', text.split('id="by-status"')[0]))
    api = client.get("/api/v1/feedback/stats/", headers=other_tenant.auth()).get_json()
    assert by_type == {k: str(v) for k, v in api["by_type"].items()}
    assert text.count('<rect class="bar k-') >= 3 and "<polyline" not in text  # nothing acknowledged yet
    this_week = re.findall(r'<tr><th scope="row">\d{4}-\d\d-\d\d</th>(.*?)</tr>', text)
    assert len(this_week) == 12 and re.findall(r'class="num">(\d+)<', this_week[-1])[:2] == ["2", "1"]


def test_every_page_with_its_css_and_script_stays_under_100_kb(signed_in, client, tenant):
    console, _ = signed_in
    long_text = "word " * 400
    items = [submit(client, tenant, summary=f"Sized {n} " + "x" * 200, description=long_text,
                    context={f"key{k}": "v" * 100 for k in range(20)}) for n in range(50)]
    inbox = console.get(CONSOLE + "?sort=newest")
    assert inbox.text.count('class="row"') == 50
    css, js = (console.get(p).get_data() for p in re.findall(r'(?:href|src)="(/console/static/[^"]+)"', inbox.text))
    for page in (inbox, console.get(f"{CONSOLE}items/{items[0]['id']}/"), console.get(f"{CONSOLE}dashboard")):
        assert len(page.get_data()) + len(css) + len(js) < 100 * 1024, page.request.path


def test_a_duplicate_is_marked_from_the_similar_items_or_a_search(signed_in, client, tenant):
    console, _ = signed_in
    word = f"zebra{uuid.uuid4().hex[:6]}"
    original = submit(client, tenant, summary=f"Export {word} crashes on large files")
    unrelated = submit(client, tenant, summary=f"Dark mode {uuid.uuid4().hex[:6]}")
    copy = submit(client, tenant, summary=f"Crash when exporting {word}")
    url = f"{CONSOLE}items/{copy['id']}/"
    page = console.get(url).text
    assert original["summary"] in page and unrelated["summary"] not in page  # suggested by the words they share
    found = console.get(url + "?find=" + unrelated["summary"].split()[-1]).text
    assert unrelated["summary"] in found
    marked = console.post(url + "status", data={"csrf": _csrf(page), "status": "duplicate",
                                                "duplicate_of": original["id"]})
    assert "Now duplicate." in console.get(marked.headers["Location"]).text
    shown = client.get(f"/api/v1/feedback/{copy['id']}/", headers=tenant.auth("admin")).get_json()
    assert shown["status"] == "duplicate" and shown["duplicate_of"] == original["id"]
