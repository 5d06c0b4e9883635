"""GitHub's issues webhook through functions-framework: signatures, freshness,
redelivery, and what each issue event does to its item."""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import uuid

import pytest
from helpers import outbox_rows, submit, sql
from github_examples import issue_event

from shared import secrets

HOOK = "/api/v1/github/webhook/"
KEY = "webhook-shared-secret"


@pytest.fixture
def hook(function_app, env, secret_store):
    name = secret_store.add_version("p", f"webhook-{uuid.uuid4().hex[:6]}", KEY)
    env(GITHUB_WEBHOOK_KEY_SECRET=name, SECRET_MANAGER_ENDPOINT=secret_store.url)
    secrets.reset()
    yield function_app("github_webhook").test_client()
    secrets.reset()


def _linked_item(client, tenant, database_url, status: str = "in_progress", email: str = "ada@example.com") -> dict:
    item = submit(client, tenant, role="admin", submitter_email=email)
    url = f"https://github.com/acme/app/issues/{uuid.uuid4().int % 100000}"
    sql(database_url, "UPDATE feedback SET github_issue_url = :url, status = CAST(:status AS text),"
                      " completed_at = CASE WHEN CAST(:status AS text) = 'completed' THEN now() END WHERE id = :id",
             url=url, status=status, id=uuid.UUID(item["id"]))
    return {**item, "url": url}


def _delivery(action: str, url: str, state_reason: str | None = None, *, updated: datetime.datetime | None = None,
              event: str = "issues", key: str = KEY, delivery: str | None = None) -> tuple[bytes, dict]:
    payload = issue_event(action, url, state_reason, updated or datetime.datetime.now(datetime.UTC))
    return _signed(json.dumps(payload).encode(), event=event, key=key, delivery=delivery)


def _signed(body: bytes, *, event: str = "issues", key: str = KEY, delivery: str | None = None) -> tuple[bytes, dict]:
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "X-Hub-Signature-256": "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest(),
               "User-Agent": "GitHub-Hookshot/abc"}
    return body, headers


def _status(database_url, item_id: str) -> tuple:
    return tuple(sql(database_url, "SELECT status, completed_at IS NOT NULL, decline_reason FROM feedback WHERE id = :id",
                          id=uuid.UUID(item_id))[0])


def _github_audit(database_url, item_id: str) -> list:
    return sql(database_url, "SELECT actor, actor_role, old_value, new_value FROM feedback_audit"
                             " WHERE feedback_id = :id AND actor = 'github_webhook' ORDER BY id", id=uuid.UUID(item_id))


@pytest.mark.parametrize("action, reason, start, expected", [
    ("closed", "completed", "in_progress", ("completed", True, None)),
    ("closed", None, "new", ("completed", True, None)),
    ("closed", "not_planned", "planned", ("declined", False, "Closed as not planned on GitHub.")),
    ("reopened", None, "completed", ("in_progress", False, None)),
    ("reopened", None, "declined", ("in_progress", False, None)),
])
def test_an_issue_event_moves_its_item_and_is_audited(client, tenant, database_url, hook, action, reason, start,
                                                      expected):
    item = _linked_item(client, tenant, database_url, start)
    body, headers = _delivery(action, item["url"], reason)
    response = hook.post(HOOK, data=body, headers=headers)
    assert response.status_code == 200 and response.get_json()["result"] == "applied"
    assert _status(database_url, item["id"]) == expected
    [(actor, role, old, new)] = _github_audit(database_url, item["id"])
    assert (actor, role, old["status"], new["status"]) == ("github_webhook", "system", start, expected[0])
    assert new["delivery"] == headers["X-GitHub-Delivery"]
    notices = [e["payload"]["notice"] for e in outbox_rows(database_url, item["id"], "mail")]
    assert notices == ([expected[0]] if expected[0] in ("completed", "declined") else [])


def test_a_redelivery_changes_nothing(client, tenant, database_url, hook):
    item = _linked_item(client, tenant, database_url)
    body, headers = _delivery("closed", item["url"], "completed")
    assert hook.post(HOOK, data=body, headers=headers).get_json()["result"] == "applied"
    _force(database_url, item["id"], "in_progress")
    replayed = hook.post(HOOK, data=body, headers=headers)
    assert replayed.status_code == 200 and replayed.get_json()["result"] == "already taken"
    assert _status(database_url, item["id"])[0] == "in_progress"
    assert len(_github_audit(database_url, item["id"])) == 1


def _force(database_url, item_id: str, status: str) -> None:
    sql(database_url, "UPDATE feedback SET status = :s WHERE id = :id", s=status, id=uuid.UUID(item_id))


@pytest.mark.parametrize("tamper", ["missing", "wrong_key", "other_body", "not_hex", "sha1"])
def test_an_unsigned_or_wrongly_signed_delivery_is_401_and_changes_nothing(client, tenant, database_url, hook,
                                                                            tamper):
    item = _linked_item(client, tenant, database_url)
    body, headers = _delivery("closed", item["url"], "completed", key="wrong" if tamper == "wrong_key" else KEY)
    if tamper == "missing":
        del headers["X-Hub-Signature-256"]
    elif tamper == "other_body":
        body = body.replace(b'"completed"', b'"not_planned"')
    elif tamper == "not_hex":
        headers["X-Hub-Signature-256"] = "sha256=zz"
    elif tamper == "sha1":
        headers["X-Hub-Signature-256"] = "sha1=" + hmac.new(KEY.encode(), body, hashlib.sha1).hexdigest()
    response = hook.post(HOOK, data=body, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert _status(database_url, item["id"])[0] == "in_progress"
    assert _github_audit(database_url, item["id"]) == []
    # The same delivery, signed right, is still taken: a refused one was not recorded.
    good_body, good_headers = _delivery("closed", item["url"], "completed",
                                        delivery=headers["X-GitHub-Delivery"])
    assert hook.post(HOOK, data=good_body, headers=good_headers).get_json()["result"] == "applied"


def test_a_stale_delivery_is_refused(client, tenant, database_url, hook):
    item = _linked_item(client, tenant, database_url)
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    body, headers = _delivery("closed", item["url"], "completed", updated=old)
    response = hook.post(HOOK, data=body, headers=headers)
    assert response.status_code == 400 and "too old" in response.get_json()["detail"]
    assert _status(database_url, item["id"])[0] == "in_progress"


@pytest.mark.parametrize("event, action, start", [
    ("ping", "closed", "in_progress"),  # GitHub's first delivery to a new hook
    ("issues", "edited", "in_progress"),
    ("issues", "closed", "duplicate"),  # already closed here
    ("issues", "reopened", "planned"),  # already open here
])
def test_events_that_mean_nothing_here_change_nothing(client, tenant, database_url, hook, event, action, start):
    original = submit(client, tenant)
    item = _linked_item(client, tenant, database_url, "in_progress")
    if start == "duplicate":
        sql(database_url, "UPDATE feedback SET status = 'duplicate', duplicate_of = :o WHERE id = :id",
                 o=uuid.UUID(original["id"]), id=uuid.UUID(item["id"]))
    else:
        _force(database_url, item["id"], start)
    body, headers = _delivery(action, item["url"], "completed", event=event)
    response = hook.post(HOOK, data=body, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["result"] in ("ignored", "unchanged")
    assert _status(database_url, item["id"])[0] == start
    assert _github_audit(database_url, item["id"]) == []


def test_an_issue_no_item_links_is_acknowledged(hook):
    body, headers = _delivery("closed", "https://github.com/acme/app/issues/999999", "completed")
    response = hook.post(HOOK, data=body, headers=headers)
    assert response.status_code == 200 and response.get_json()["result"] == "no item links this issue"


def test_without_a_configured_secret_every_delivery_is_refused(client, tenant, database_url, hook, env):
    env(GITHUB_WEBHOOK_KEY_SECRET="", GITHUB_WEBHOOK_KEY="")
    item = _linked_item(client, tenant, database_url)
    body, headers = _delivery("closed", item["url"], "completed")
    assert hook.post(HOOK, data=body, headers=headers).status_code == 401
    assert _status(database_url, item["id"])[0] == "in_progress"


def test_bodies_that_are_not_json_or_too_large_are_refused(hook):
    assert hook.post(HOOK, data=b"payload=%7B%7D", headers={
        "Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    assert hook.post(HOOK, data=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"}).status_code == 413


# --- one issue linked from several tenants


@pytest.fixture
def shared_repository(env):
    """The deployment's default repository, which tenants without their own share."""
    env(GITHUB_REPOSITORY="acme/app", GITHUB_API_URL="https://api.github.com")


def _link(admin, item_id: str, url: str, auth: dict):
    return admin.post(f"/api/v1/feedback/{item_id}/github/", json={"url": url}, headers=auth)


def test_an_event_moves_every_item_linked_to_the_issue_in_every_tenant(client, admin, tenant, other_tenant,
                                                                        database_url, hook, shared_repository):
    url = f"https://github.com/acme/app/issues/{uuid.uuid4().int % 100000 + 1}"
    ours = submit(client, tenant, submitter_email="ada@example.com")
    theirs = submit(client, other_tenant, submitter_email="bob@example.com")
    assert _link(admin, ours["id"], url, tenant.auth("admin")).status_code == 200
    # GitHub's names are case-insensitive: the same issue, however it was typed.
    assert _link(admin, theirs["id"], url.replace("acme/app", "ACME/App"), other_tenant.auth("admin")).status_code == 200
    body, headers = _delivery("closed", url, "completed")
    response = hook.post(HOOK, data=body, headers=headers)
    assert response.status_code == 200 and response.get_json()["result"] == "applied"
    assert {i["id"] for i in response.get_json()["items"]} == {ours["id"], theirs["id"]}
    for item in (ours, theirs):
        assert _status(database_url, item["id"]) == ("completed", True, None)
        [(actor, role, old, new)] = _github_audit(database_url, item["id"])
        assert (actor, role, old["status"], new["status"]) == ("github_webhook", "system", "new", "completed")
        assert [e["payload"]["notice"] for e in outbox_rows(database_url, item["id"], "mail")] == ["completed"]


def test_an_admin_links_only_issues_of_its_tenants_repository(client, admin, tenant, database_url, env):
    from shared import tenants

    env(GITHUB_REPOSITORY="acme/app", GITHUB_API_URL="https://api.github.com")
    item = submit(client, tenant)
    refused = _link(admin, item["id"], "https://github.com/evil/capture/issues/1", tenant.auth("admin"))
    assert refused.status_code == 403 and "acme/app" in refused.get_json()["detail"]
    assert refused.get_json()["errors"][0]["field"] == "url"
    on_enterprise = _link(admin, item["id"], "https://ghe.example.com/acme/app/issues/1", tenant.auth("admin"))
    assert on_enterprise.status_code == 403
    assert _link(admin, item["id"], "https://github.com/acme/app/issues/1", tenant.auth("admin")).status_code == 200
    # A tenant with a repository of its own links only that one.
    tenants.configure(tenant.id, github_repository="tenant/own")
    assert _link(admin, item["id"], "https://github.com/acme/app/issues/2", tenant.auth("admin")).status_code == 403
    assert _link(admin, item["id"], "https://github.com/Tenant/Own/issues/2", tenant.auth("admin")).status_code == 200
    # Staff link any issue, on any host.
    assert _link(admin, item["id"], "https://ghe.example.com/x/y/issues/3", tenant.auth("staff")).status_code == 200
    # Enterprise Server: the API's host is where the issue pages are.
    env(GITHUB_API_URL="https://ghe.example.com/api/v3")
    assert _link(admin, item["id"], "https://ghe.example.com/tenant/own/issues/4", tenant.auth("admin")).status_code == 200
    env(GITHUB_REPOSITORY="")
    tenants.configure(tenant.id, github_repository=None)
    nowhere = _link(admin, item["id"], "https://ghe.example.com/tenant/own/issues/5", tenant.auth("admin"))
    assert nowhere.status_code == 403 and "none is configured" in nowhere.get_json()["detail"]


# --- replays and GitHub's clock


def test_a_captured_body_under_a_new_delivery_id_changes_nothing(client, tenant, database_url, hook):
    item = _linked_item(client, tenant, database_url)
    body, headers = _delivery("closed", item["url"], "completed")
    assert hook.post(HOOK, data=body, headers=headers).get_json()["result"] == "applied"
    _force(database_url, item["id"], "in_progress")  # the team reopened it here since
    replayed = hook.post(HOOK, data=body, headers={**headers, "X-GitHub-Delivery": str(uuid.uuid4())})
    assert replayed.status_code == 200 and replayed.get_json()["result"] == "stale"
    assert _status(database_url, item["id"])[0] == "in_progress"
    assert len(_github_audit(database_url, item["id"])) == 1


def test_an_event_older_than_the_last_one_applied_changes_nothing(client, tenant, database_url, hook):
    item = _linked_item(client, tenant, database_url, "completed")
    now = datetime.datetime.now(datetime.UTC)
    reopened = _delivery("reopened", item["url"], updated=now)
    assert hook.post(HOOK, data=reopened[0], headers=reopened[1]).get_json()["result"] == "applied"
    late_close = _delivery("closed", item["url"], "completed", updated=now - datetime.timedelta(minutes=1))
    assert hook.post(HOOK, data=late_close[0], headers=late_close[1]).get_json()["result"] == "stale"
    assert _status(database_url, item["id"])[0] == "in_progress"


def test_an_event_from_the_future_is_refused(client, tenant, database_url, hook):
    item = _linked_item(client, tenant, database_url)
    ahead = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=6)
    body, headers = _delivery("closed", item["url"], "completed", updated=ahead)
    response = hook.post(HOOK, data=body, headers=headers)
    assert response.status_code == 400 and "future" in response.get_json()["detail"]
    assert _status(database_url, item["id"])[0] == "in_progress"
    # A little ahead (clocks differ) is taken.
    body, headers = _delivery("closed", item["url"], "completed",
                              updated=datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=2))
    assert hook.post(HOOK, data=body, headers=headers).get_json()["result"] == "applied"


# --- what GitHub's own payloads carry


def test_closed_as_duplicate_on_github_declines_the_item_with_that_reason(client, tenant, database_url, hook):
    item = _linked_item(client, tenant, database_url, "planned")
    body, headers = _delivery("closed", item["url"], "duplicate")
    assert hook.post(HOOK, data=body, headers=headers).get_json()["result"] == "applied"
    assert _status(database_url, item["id"]) == ("declined", False, "Closed on GitHub as a duplicate of another issue.")
    [mail] = outbox_rows(database_url, item["id"], "mail")
    assert mail["payload"]["notice"] == "declined" and "duplicate" in mail["payload"]["reason"]


def test_reopening_the_issue_of_an_item_marked_duplicate_leaves_it_a_duplicate(client, tenant, database_url, hook):
    original = submit(client, tenant)
    item = _linked_item(client, tenant, database_url, "in_progress")
    sql(database_url, "UPDATE feedback SET status = 'duplicate', duplicate_of = :o WHERE id = :id",
             o=uuid.UUID(original["id"]), id=uuid.UUID(item["id"]))
    body, headers = _delivery("reopened", item["url"])
    for _ in range(2):  # and its redelivery answers the same
        response = hook.post(HOOK, data=body, headers=headers)
        assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"] == "already taken"
    assert _status(database_url, item["id"])[0] == "duplicate"
    assert _github_audit(database_url, item["id"]) == []


@pytest.mark.parametrize("case", ["array", "null", "no updated_at", "bad updated_at", "no html_url", "issue null"])
def test_a_signed_but_malformed_issue_event_is_400_and_changes_nothing(client, tenant, database_url, hook, case):
    item = _linked_item(client, tenant, database_url)
    payload = issue_event("closed", item["url"], "completed", datetime.datetime.now(datetime.UTC))
    if case == "array":
        payload = [payload]
    elif case == "null":
        payload = None
    elif case == "no updated_at":
        del payload["issue"]["updated_at"]
    elif case == "bad updated_at":
        payload["issue"]["updated_at"] = "yesterday"
    elif case == "no html_url":
        del payload["issue"]["html_url"]
    else:
        payload["issue"] = None
    body, headers = _signed(json.dumps(payload).encode())
    response = hook.post(HOOK, data=body, headers=headers)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert _status(database_url, item["id"])[0] == "in_progress"
    # Nothing was recorded: the same delivery id, well formed, is still taken.
    good, good_headers = _delivery("closed", item["url"], "completed", delivery=headers["X-GitHub-Delivery"])
    assert hook.post(HOOK, data=good, headers=good_headers).get_json()["result"] == "applied"


def test_a_delivery_id_longer_than_stored_is_refused_by_name(hook):
    body, headers = _delivery("closed", "https://github.com/acme/app/issues/1", "completed", delivery="d" * 101)
    response = hook.post(HOOK, data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "X-GitHub-Delivery"
    assert "varying" not in response.get_data(as_text=True)


def test_every_other_example_of_github_is_ignored(hook):
    from github_examples import _examples

    for event, examples in _examples().items():
        for payload in examples:
            if event == "issues" and payload.get("action") in ("closed", "reopened"):
                continue
            body, headers = _signed(json.dumps(payload).encode(), event=event)
            response = hook.post(HOOK, data=body, headers=headers)
            assert response.status_code == 200 and response.get_json()["result"] == "ignored", (event, payload.get("action"))
