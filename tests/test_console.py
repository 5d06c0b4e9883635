"""The triage console over HTTP through functions-framework: signing in by link, the
session cookie, CSRF, the inbox and an item's page, every action as a form post, tenancy
and hostile input. (The browser tests drive the same pages in Chromium.)"""
from __future__ import annotations

import re
import uuid

import pytest
from helpers import sql, submit

from shared import signin, team

CONSOLE = "/console/"


def _team_member(tenant, role: str = "admin", name: str = "Ada Lovelace") -> dict:
    return team.add_person(tenant.id, f"{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}@example.com", name, role)


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
    assert inbox.status_code == 303 and inbox.headers["Location"] == "/console/signin"
    page = console.get("/console/signin")
    assert page.status_code == 200 and 'type="email"' in page.text


def test_the_bare_address_leads_to_the_inbox_and_other_methods_are_refused(console):
    bare = console.get("/console")
    assert bare.status_code == 301 and bare.headers["Location"] == CONSOLE
    for method in ("OPTIONS", "PUT", "DELETE"):
        refused = console.open(CONSOLE, method=method)
        assert refused.status_code == 405 and refused.headers["X-Frame-Options"] == "DENY", method


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


def test_each_answer_carries_a_csrf_token_of_its_own_good_for_its_session_only(signed_in, client, tenant,
                                                                               function_app):
    """Beside the search text a page reflects, the token differs in every answer (one repeated
    in each could be read out through compression); each is good, and only for its session."""
    console, _ = signed_in
    item = submit(client, tenant)
    url = f"{CONSOLE}items/{item['id']}/"
    first, second = (_csrf(console.get(CONSOLE + "?q=token").text) for _ in range(2))
    assert first != second
    for token in (first, second):
        assert console.post(url + "note", data={"csrf": token, "body": "Seen"}).status_code == 303
    other = function_app("console").test_client()
    _sign_in(other, _team_member(tenant, name="Otto Other"))
    assert other.post(url + "note", data={"csrf": first, "body": "Not mine"}).status_code == 403


def test_a_bulk_change_leads_back_to_a_search_of_any_characters(signed_in, client, tenant):
    import html

    console, _ = signed_in
    item = submit(client, tenant, summary="It's a draft (really)")
    page = console.get(CONSOLE, query_string={"q": "it's (draft)*!;@$", "sort": "newest"}).text
    back = html.unescape(re.search(r'name="back" value="([^"]+)"', page).group(1))
    done = console.post(f"{CONSOLE}bulk", data={"csrf": _csrf(page), "ids": item["id"], "action": "acknowledge",
                                                "back": back})
    assert done.status_code == 303 and done.headers["Location"] == back
    assert "1 of 1 done." in console.get(back).text


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
                                                    "assignee_id": person["id"]})
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


def test_the_bulk_form_declines_with_a_reason_and_leaves_duplicates_to_the_items_page(signed_in, client, tenant,
                                                                                      database_url):
    console, _ = signed_in
    tag = f"spam{uuid.uuid4().hex[:6]}"
    made = [submit(client, tenant, summary=f"Spam {n}", tags=[tag], submitter_email=f"s{n}@example.com")
            for n in range(3)]
    page = console.get(f"{CONSOLE}?tag={tag}&sort=newest").text
    moves = re.findall(r'<option value="(\w+)">', page.split('id="bulk-status"')[1].split("</select>")[0])
    assert "declined" in moves and "duplicate" not in moves and "new" not in moves
    assert 'id="bulk-reason" name="reason"' in page
    ids = [i["id"] for i in made]
    form = {"csrf": _csrf(page), "ids": ids, "action": "status", "status": "declined",
            "back": f"{CONSOLE}?tag={tag}&sort=newest"}
    unexplained = console.get(console.post(f"{CONSOLE}bulk", data=form).headers["Location"]).text
    assert "0 of 3 done." in unexplained and "Declining needs a reason for the submitter." in unexplained
    declined = console.post(f"{CONSOLE}bulk", data={**form, "reason": "Not feedback about the product."})
    assert "3 of 3 done." in console.get(declined.headers["Location"]).text
    for item in made:
        shown = client.get(f"/api/v1/feedback/{item['id']}/", headers=tenant.auth("admin")).get_json()
        assert (shown["status"], shown["decline_reason"]) == ("declined", "Not feedback about the product.")
        [[mails]] = sql(database_url, "SELECT count(*) FROM outbox WHERE feedback_id = :id AND kind = 'mail'",
                        id=uuid.UUID(item["id"]))
        assert mails == 1  # each submitter is told why


def test_saving_an_unchanged_item_does_nothing_and_clearing_its_tags_works(signed_in, client, tenant, database_url):
    console, _ = signed_in
    item = submit(client, tenant, role="admin", summary="Urgent crash", priority="high", tags=["crash", "ios"])
    url = f"{CONSOLE}items/{item['id']}/"
    page = console.get(url).text

    def rows() -> list:
        return sql(database_url, "SELECT (SELECT count(*) FROM feedback_audit WHERE feedback_id = :id),"
                                 " (SELECT count(*) FROM outbox WHERE feedback_id = :id),"
                                 " (SELECT sla_due_at FROM feedback WHERE id = :id)", id=uuid.UUID(item["id"]))[0]

    before = rows()
    unchanged = {"csrf": _csrf(page), "priority": "high", "feedback_type": "bug", "tags": "crash, ios"}
    assert 'value="crash, ios"' in page
    saved = console.post(url + "edit", data=unchanged)
    assert saved.status_code == 303 and "Nothing changed." in console.get(url).text
    assert rows() == before  # no audit row, no GitHub event, the same SLA
    console.post(url + "edit", data={**unchanged, "tags": ""})
    assert "Saved." in console.get(url).text
    shown = client.get(f"/api/v1/feedback/{item['id']}/", headers=tenant.auth("admin")).get_json()
    assert shown["tags"] == [] and shown["priority"] == "high"
    [[old, new]] = sql(database_url, "SELECT old_value, new_value FROM feedback_audit WHERE feedback_id = :id"
                                     " AND action = 'edit'", id=uuid.UUID(item["id"]))
    assert (old, new) == ({"tags": ["crash", "ios"]}, {"tags": []})
    assert rows()[1] == before[1]  # tags alone ask GitHub for nothing


def test_a_long_bulk_result_is_shown_whole(signed_in, client, tenant):
    """A hundred refusals are longer than a cookie holds (4 KB); the message is kept with the session."""
    console, _ = signed_in
    tag = f"many{uuid.uuid4().hex[:6]}"
    ids = [submit(client, tenant, summary=f"Many {n}", tags=[tag])["id"] for n in range(100)]
    csrf = _csrf(console.get(CONSOLE).text)
    form = {"csrf": csrf, "ids": ids, "action": "acknowledge", "back": f"{CONSOLE}?tag={tag}"}
    assert "100 of 100 done." in console.get(console.post(f"{CONSOLE}bulk", data=form).headers["Location"]).text
    again = console.post(f"{CONSOLE}bulk", data=form)  # each refused now, and says why
    assert all(len(cookie) < 4096 for cookie in again.headers.getlist("Set-Cookie"))
    shown = console.get(again.headers["Location"]).text
    message = re.search(r'<p class="flash" role="status">(.*?)</p>', shown, re.S).group(1)
    assert len(message) > 4096 and message.startswith("0 of 100 done. Refused: ")
    assert all(f"{i[:8]}: An item that is acknowledged cannot become acknowledged." in message for i in ids)
    assert 'class="flash"' not in console.get(again.headers["Location"]).text  # shown once


def test_staff_are_offered_and_may_assign_only_the_items_tenants_team(console, client, admin, tenant, other_tenant):
    _sign_in(console, _team_member(tenant, role="staff", name="Sam Staff"))
    word = f"zebra{uuid.uuid4().hex[:6]}"
    ours = submit(client, tenant, summary=f"Export {word} crashes")
    ours_similar = submit(client, tenant, summary=f"Export {word} fails")
    theirs_similar = submit(client, other_tenant, summary=f"Export {word} breaks")
    colleague = _team_member(tenant, name="Ada Lovelace")
    stranger = _team_member(other_tenant, name="Olga Other")
    url = f"{CONSOLE}items/{ours['id']}/"
    page = console.get(url).text
    assert ours_similar["summary"] in page and theirs_similar["summary"] not in page
    assignees = page.split('id="assignee"')[1].split("</select>")[0]
    assert colleague["name"] in assignees and "Sam Staff" in assignees and stranger["name"] not in assignees
    refused = console.post(url + "assign", data={"csrf": _csrf(page), "assignee": stranger["id"]})
    assert "The assignee is on another tenant&#39;s team." in console.get(refused.headers["Location"]).text
    # The API refuses as well: the rule is the shared operation's.
    api = admin.post(f"/api/v1/feedback/{ours['id']}/assign/", json={"assignee_id": stranger["id"]},
                     headers=tenant.auth("staff"))
    assert api.status_code == 422 and api.get_json()["errors"][0]["field"] == "assignee_id"
    # Over every tenant, the bulk form offers staff only, and a bulk assignment is refused item by item.
    inbox = console.get(CONSOLE + "?sort=newest").text
    bulk_choices = inbox.split('id="bulk-assignee"')[1].split("</select>")[0]
    assert "Sam Staff" in bulk_choices
    assert stranger["name"] not in bulk_choices and colleague["name"] not in bulk_choices
    bulk = console.post(f"{CONSOLE}bulk", data={"csrf": _csrf(inbox), "ids": [ours["id"]], "action": "assign",
                                                "assignee_id": stranger["id"]})
    assert "0 of 1 done. Refused: " in console.get(bulk.headers["Location"]).text
    shown = client.get(f"/api/v1/feedback/{ours['id']}/", headers=tenant.auth("admin")).get_json()
    assert shown["assignee_id"] is None


def test_signing_in_leads_back_to_the_page_asked_for(console, client, tenant):
    item = submit(client, tenant)
    asked = f"{CONSOLE}items/{item['id']}/?find=crash"
    sent = console.get(asked)
    assert sent.status_code == 303 and sent.headers["Location"] == "/console/signin"
    person = _team_member(tenant)
    token = signin.operator_link(person["email"]).rsplit("/", 1)[1]
    used = console.post(f"{CONSOLE}signin/{token}")
    assert used.status_code == 303 and used.headers["Location"] == asked
    assert "Signed in." in console.get(asked).text
    _sign_in(console, person)  # used once: the next sign-in leads to the inbox
    console.delete_cookie("pf_console", path="/console/")
    assert console.post(f"{CONSOLE}bulk", data={}).headers["Location"] == "/console/signin"
    assert console.get_cookie("pf_next", path="/console/") is None  # a form is not gone back to


@pytest.mark.parametrize("kept", ["//evil.example/", "https://evil.example/console/", "/console//evil.example",
                                  "/console/../admin/", "/console/\r\nSet-Cookie: x=1", "/admin/feedback/", ""])
def test_signing_in_leads_nowhere_but_a_console_page(console, tenant, kept):
    console.set_cookie("pf_next", kept, path="/console/")
    _sign_in(console, _team_member(tenant))  # to the inbox


def _export_started(console, client, tenant, n: int = 130):
    """A CSV export of `n` items, newest first, read up to the end of its first page (the
    next is not read yet); the items, oldest first, and the rest of the answer."""
    tag = f"csv{uuid.uuid4().hex[:6]}"
    made = [submit(client, tenant, summary=f"row {k}", tags=[tag]) for k in range(n)]
    answer = console.get(f"{CONSOLE}export.csv?tag={tag}&sort=newest", buffered=False)
    assert answer.status_code == 200
    chunks = iter(answer.response)
    first_page = [next(chunks) for _ in range(1 + 100)]  # the header and a page
    return made, first_page, chunks


def test_the_csv_is_read_from_one_snapshot(signed_in, client, tenant, database_url):
    console, _ = signed_in
    made, first_page, rest = _export_started(console, client, tenant)
    oldest = made[0]["id"]  # on the second page, not read yet
    sql(database_url, "UPDATE feedback SET summary = 'changed meanwhile' WHERE id = :id", id=uuid.UUID(oldest))
    sql(database_url, "DELETE FROM feedback WHERE id = :id", id=uuid.UUID(made[1]["id"]))
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(b"".join(first_page + list(rest)).decode())))
    assert len(rows) == len(made) and {r["id"]: r["summary"] for r in rows}[oldest] == "row 0"


def test_a_csv_cut_short_says_so_in_its_last_line(signed_in, client, tenant, database_url):
    console, _ = signed_in
    made, first_page, rest = _export_started(console, client, tenant)
    [[ended]] = sql(database_url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                  " WHERE datname = current_database() AND state = 'idle in transaction'"
                                  " AND application_name = 'pilot-feedback'")
    assert ended == 1  # the export's connection, between its pages
    last = b"".join(rest).decode().splitlines()
    assert last == ["EXPORT INCOMPLETE: the database stopped answering after 100 items; this file lacks the rest."]
    assert console.get(CONSOLE).status_code == 200  # the console goes on
