"""Bad input to the console: every form field and query parameter its pages send, each
given a table of values no honest form sends. None may answer 5xx, every answer carries
the security headers, and nothing in the database changes."""
from __future__ import annotations

import html.parser
import re
import uuid

import pytest
from helpers import sql, submit
from test_console import CONSOLE, _csrf, _sign_in, _team_member

from shared.console_web import SECURITY_HEADERS

NOBODY = str(uuid.uuid4())  # a well-formed id of nothing
TEXT = ["", "\r\n", " \t ", "\x00", "a\x00b", "x" * 100_000, "x" * 600_000]  # bad for any text field
VALUES = TEXT + ["not-a-uuid", NOBODY, "extreme", "-1", "99999999999999999999", "1e309", "2026-13-45",
                 "<script>alert(1)</script>", "/console/\r\nSet-Cookie: pf_console=x", "//evil.example/"]

# What a change could touch; a session's waiting message is the page's, not data.
TABLES = ["feedback", "feedback_audit", "feedback_notes", "votes", "outbox", "people", "signin_links",
          "(SELECT id_hash, tenant_id, person_id, created_at, expires_at, ended_at FROM console_sessions)"]
STATE = "SELECT " + ", ".join(f"(SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {name} t)"
                              for name in TABLES)


class _Forms(html.parser.HTMLParser):
    """Each form's method, action and the names of its fields, as a page renders them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: set[tuple[str, str, str]] = set()
        self._form: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self._form = ((found.get("method") or "get").upper(), found.get("action") or "")
        elif tag in ("input", "select", "textarea", "button") and self._form and found.get("name"):
            self.fields.add((*self._form, found["name"] or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _fields(*pages: str, item_id: str) -> set[tuple[str, str, str]]:
    parser = _Forms()
    for page in pages:
        parser.feed(page)
    return {(method, action.replace(item_id, "{item}"), name) for method, action, name in parser.fields}


@pytest.fixture
def fuzzed(function_app, client, tenant, other_tenant):
    """A signed-in admin, a new unassigned item with a similar one (so that every form of its
    page shows), and a person of another tenant."""
    console = function_app("console").test_client()
    _sign_in(console, _team_member(tenant))
    similar = submit(client, tenant, summary="Export zebra crashes on save")
    item = submit(client, tenant, summary="Export zebra crashes when saving")
    stranger = _team_member(other_tenant, name="Olga Other")
    return console, item, similar, stranger


def _cases(item: dict, stranger: dict, csrf: str) -> dict[tuple[str, str, str], tuple[dict, list[str]]]:
    """Each field, by (method, action, name): the rest of its form, and the values it is sent.
    The rest of a form is what it takes to make the change but for the bad field; an
    optional field is not sent "" (leaving it empty is a choice)."""
    url = "/console/items/{item}/"
    required, optional = VALUES, VALUES[1:]
    filters = {name: ({}, VALUES) for name in ("q", "status", "type", "priority", "source", "tag", "assignee",
                                               "sla_status", "created_after", "created_before", "tenant_id", "sort")}
    cases = {("GET", "/console/", name): rest for name, rest in filters.items()}
    cases |= {("GET", "/console/", "after"): ({}, VALUES), ("GET", "/console/export.csv", "after"): ({}, VALUES)}
    cases |= {("GET", "/console/export.csv", name): rest for name, rest in filters.items()}
    cases |= {
        ("GET", url, "find"): ({}, VALUES),
        ("POST", url + "acknowledge", "csrf"): ({}, required),
        ("POST", url + "github-issue", "csrf"): ({}, required),
        ("POST", url + "respond", "csrf"): ({"response": "Thanks"}, required),
        ("POST", url + "respond", "response"): ({"csrf": csrf}, TEXT),
        ("POST", url + "respond", "status"): ({"csrf": csrf, "response": "Thanks"}, optional),
        ("POST", url + "note", "csrf"): ({"body": "A note"}, required),
        ("POST", url + "note", "body"): ({"csrf": csrf}, TEXT),
        ("POST", url + "status", "csrf"): ({"status": "acknowledged"}, required),
        ("POST", url + "status", "status"): ({"csrf": csrf, "reason": "Not for us"}, required),
        ("POST", url + "status", "reason"): ({"csrf": csrf, "status": "declined"}, TEXT),
        ("POST", url + "status", "duplicate_of"): ({"csrf": csrf, "status": "duplicate"}, required),
        ("POST", url + "assign", "csrf"): ({"to_me": "1"}, required),
        ("POST", url + "assign", "assignee"): ({"csrf": csrf}, optional + [stranger["id"]]),
        ("POST", url + "assign", "to_me"): ({"csrf": csrf}, required),
        ("POST", url + "edit", "csrf"): ({"priority": "high"}, required),
        ("POST", url + "edit", "priority"): ({"csrf": csrf, "feedback_type": "bug", "tags": ""}, required),
        ("POST", url + "edit", "feedback_type"): ({"csrf": csrf, "priority": "medium", "tags": ""}, required),
        ("POST", url + "edit", "tags"): ({"csrf": csrf, "priority": "medium", "feedback_type": "bug"}, TEXT),
        ("POST", "/console/signout", "csrf"): ({}, required),
        ("POST", "/console/signin", "email"): ({}, VALUES),
    }
    ids, back = {"ids": item["id"]}, "/console/?sort=sla"
    cases |= {("POST", "/console/bulk", name): rest for name, rest in {
        "csrf": ({**ids, "action": "acknowledge", "back": back}, required),
        "back": ({"csrf": csrf, **ids, "action": "acknowledge"}, optional),
        "ids": ({"csrf": csrf, "action": "acknowledge", "back": back}, required),
        "action": ({"csrf": csrf, **ids, "back": back}, required),
        "assignee_id": ({"csrf": csrf, **ids, "action": "assign", "back": back}, optional + [stranger["id"]]),
        "priority": ({"csrf": csrf, **ids, "action": "priority", "back": back}, required),
        "status": ({"csrf": csrf, **ids, "action": "status", "back": back}, required),
        "reason": ({"csrf": csrf, **ids, "action": "status", "status": "declined", "back": back}, TEXT),
    }.items()}
    return cases


def test_every_field_and_parameter_refuses_bad_input_with_a_page_and_changes_nothing(fuzzed, database_url):
    console, item, similar, stranger = fuzzed
    item_page = console.get(f"{CONSOLE}items/{item['id']}/").text
    assert similar["summary"] in item_page  # the originals' forms are on it
    inbox = console.get(CONSOLE).text
    signin_page = console.application.test_client().get(f"{CONSOLE}signin").text
    cases = _cases(item, stranger, _csrf(inbox))
    rendered = _fields(inbox, item_page, signin_page, item_id=item["id"])
    # Every field a page renders has its case (a hidden field included); the rest are read by
    # the code though no admin's page sends them (a link's cursor, the export's filters,
    # staff's tenant filter, a status with a response as the API takes it).
    unrendered = {key for key in cases if key[2] in ("after", "tenant_id") or "export.csv" in key[1]}
    assert rendered == set(cases) - unrendered - {("POST", "/console/items/{item}/respond", "status")}
    before = sql(database_url, STATE)

    for (method, action, name), (rest, values) in cases.items():
        path = action.replace("{item}", item["id"])
        for value in values:
            if method == "GET":
                answer = console.get(path, query_string={**rest, name: value})
            else:
                answer = console.post(path, data={**rest, name: value})
            where = f"{method} {action} {name}={value[:40]!r}"
            assert answer.status_code < 500, where
            assert all(answer.headers.get(h) == v for h, v in SECURITY_HEADERS.items()), where
            if answer.status_code == 303:  # a refusal said on the page it leads back to
                assert answer.headers["Location"].startswith(CONSOLE), where
            assert sql(database_url, STATE) == before, where


@pytest.mark.parametrize("path", ["", "export.csv"])
def test_a_cursor_of_no_item_of_the_list_is_a_page_that_says_so(fuzzed, path):
    console, *_ = fuzzed
    answer = console.get(f"{CONSOLE}{path}?sort=sla&after={NOBODY}")
    assert answer.status_code == 422 and answer.mimetype == "text/html"
    assert "The cursor names no item of this list" in answer.text
    assert answer.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]


def test_an_assignee_that_is_not_an_id_is_refused_on_the_items_page(fuzzed, database_url):
    console, item, *_ = fuzzed
    url = f"{CONSOLE}items/{item['id']}/"
    refused = console.post(url + "assign", data={"csrf": _csrf(console.get(url).text), "assignee": "not-a-uuid"})
    assert refused.status_code == 303 and refused.headers["Location"] == url
    assert "assignee_id: Input should be a valid UUID" in console.get(url).text
    assert sql(database_url, "SELECT count(*) FROM feedback_audit WHERE feedback_id = :id",
               id=uuid.UUID(item["id"])) == [[0]]


def test_a_bulk_form_whose_way_back_is_not_the_inbox_changes_nothing(fuzzed, client, tenant):
    console, item, *_ = fuzzed
    csrf = _csrf(console.get(CONSOLE).text)
    for back in ("/console/?sort=sla\r\nSet-Cookie: pf_console=x", "https://evil.example/console/",
                 "//evil.example/", "/console/items/x/"):
        refused = console.post(f"{CONSOLE}bulk", data={"csrf": csrf, "ids": item["id"], "action": "acknowledge",
                                                       "back": back})
        assert refused.status_code == 400 and "way back is not the inbox" in refused.text
        assert "Set-Cookie: pf_console" not in str(refused.headers)
    assert client.get(f"/api/v1/feedback/{item['id']}/", headers=tenant.auth("admin")).get_json()["status"] == "new"
    assert re.search(r"\b1 of 1 done\.", console.get(console.post(f"{CONSOLE}bulk", data={
        "csrf": csrf, "ids": item["id"], "action": "acknowledge", "back": "/console/?sort=sla"}
    ).headers["Location"]).text)
