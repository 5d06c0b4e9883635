"""GitHub's issues webhook through functions-framework: signatures, freshness,
redelivery, and what each issue event does to its item."""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest
from conftest import outbox_rows, raw_connection, submit

from shared import secrets

ROOT = Path(__file__).resolve().parent.parent
HOOK = "/api/v1/github/webhook/"
KEY = "webhook-shared-secret"


@pytest.fixture(scope="module")
def hook_app(database_url):
    import functions_framework

    return functions_framework.create_app(target="github_webhook",
                                          source=str(ROOT / "functions/github_webhook/main.py"))


@pytest.fixture
def hook(hook_app, env, secret_store):
    name = secret_store.add_version("p", f"webhook-{uuid.uuid4().hex[:6]}", KEY)
    env(GITHUB_WEBHOOK_KEY_SECRET=name, SECRET_MANAGER_ENDPOINT=secret_store.url)
    secrets.reset()
    yield hook_app.test_client()
    secrets.reset()


def _linked_item(client, tenant, database_url, status: str = "in_progress", email: str = "ada@example.com") -> dict:
    item = submit(client, tenant, role="admin", submitter_email=email)
    url = f"https://github.com/acme/app/issues/{uuid.uuid4().int % 100000}"
    conn = raw_connection(database_url)
    conn.run("UPDATE feedback SET github_issue_url = :url, status = CAST(:status AS text),"
             " completed_at = CASE WHEN CAST(:status AS text) = 'completed' THEN now() END WHERE id = :id",
             url=url, status=status, id=uuid.UUID(item["id"]))
    conn.close()
    return {**item, "url": url}


def _delivery(action: str, url: str, state_reason: str | None = None, *, updated: datetime.datetime | None = None,
              event: str = "issues", key: str = KEY, delivery: str | None = None) -> tuple[bytes, dict]:
    updated = updated or datetime.datetime.now(datetime.UTC)
    payload = {"action": action, "issue": {
        "number": int(url.rsplit("/", 1)[1]), "html_url": url, "state": "closed" if action == "closed" else "open",
        "state_reason": state_reason, "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"), "body": "..."},
        "repository": {"full_name": "acme/app"}, "sender": {"login": "octocat"}}
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "X-Hub-Signature-256": "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest(),
               "User-Agent": "GitHub-Hookshot/abc"}
    return body, headers


def _status(database_url, item_id: str) -> tuple:
    conn = raw_connection(database_url)
    try:
        return tuple(conn.run("SELECT status, completed_at IS NOT NULL, decline_reason FROM feedback WHERE id = :id",
                              id=uuid.UUID(item_id))[0])
    finally:
        conn.close()


def _github_audit(database_url, item_id: str) -> list:
    conn = raw_connection(database_url)
    try:
        return conn.run("SELECT actor, actor_role, old_value, new_value FROM feedback_audit"
                        " WHERE feedback_id = :id AND actor = 'github_webhook' ORDER BY id", id=uuid.UUID(item_id))
    finally:
        conn.close()


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
    conn = raw_connection(database_url)
    conn.run("UPDATE feedback SET status = :s WHERE id = :id", s=status, id=uuid.UUID(item_id))
    conn.close()


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
        conn = raw_connection(database_url)
        conn.run("UPDATE feedback SET status = 'duplicate', duplicate_of = :o WHERE id = :id",
                 o=uuid.UUID(original["id"]), id=uuid.UUID(item["id"]))
        conn.close()
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
