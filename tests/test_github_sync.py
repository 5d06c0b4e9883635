"""GitHub issues from feedback: PyGithub's real client against a local stand-in of
GitHub's REST API, events through functions-framework, a real database."""
from __future__ import annotations

import concurrent.futures
import datetime
import json
import time
import uuid

import pytest
import requests
from helpers import BASE, make_due, manage, outbox_rows, sql, submit
from events import deliverer
from standins.github import GitHubStandIn
from live import LiveServer

from shared import github_issues, outbox, secrets

REPO = "acme/app"
HANDLERS = {"github": github_issues.make_issue}


class Crash(BaseException):
    """The process dying mid-delivery: nothing after this point runs, the transaction rolls back."""


@pytest.fixture(scope="module")
def github():
    stand_in = GitHubStandIn(tokens=set())
    yield stand_in
    stand_in.close()


@pytest.fixture
def configured(github, secret_store, env):
    """GitHub configured as deployed: the token in Secret Manager, the API at the stand-in."""
    token = f"ghp_{uuid.uuid4().hex}"
    github.tokens = {token}
    name = secret_store.add_version("p", f"github-{uuid.uuid4().hex[:6]}", token)
    env(GITHUB_API_URL=github.url, GITHUB_REPOSITORY=REPO, GITHUB_TOKEN_SECRET=name,
        SECRET_MANAGER_ENDPOINT=secret_store.url, PUBLIC_BASE_URL="https://feedback.example.com",
        GITHUB_SECONDS_BETWEEN_WRITES="0")
    secrets.reset()
    github_issues._client_for.cache_clear()
    yield {"token": token, "secret": name}
    secrets.reset()
    github_issues._client_for.cache_clear()


@pytest.fixture(scope="module")
def sync_app(function_app):
    return function_app("github_sync")


@pytest.fixture
def sync(sync_app):
    return deliverer(sync_app, "github")


def _events(database_url, item_id: str) -> list[dict]:
    return outbox_rows(database_url, item_id, "github")


def _event(database_url, item_id: str) -> dict:
    [event] = _events(database_url, item_id)
    return event


def _issues_for(github, tenant, item_id: str, repo: str = REPO) -> list[dict]:
    mark = github_issues.marker(tenant.id, uuid.UUID(item_id))
    return [i for i in github.issues(repo) if (i["body"] or "").endswith(mark)]


def test_a_high_item_gets_one_issue_with_everything_triage_needs(client, admin, tenant, database_url,
                                                                 github, configured, sync):
    item = submit(client, tenant, priority="high", source="cli", context={"os": "macOS 14.2"})
    event = _event(database_url, item["id"])
    assert event["payload"] == {"reason": "submitted"}

    assert sync(event["id"]) == 200
    assert sync(event["id"]) == 200  # redelivered: the item already has its issue
    [issue] = _issues_for(github, tenant, item["id"])
    assert issue["title"] == item["summary"]
    assert [label["name"] for label in issue["labels"]] == ["pilot-feedback", "type:bug", "priority:high"]
    body = issue["body"]
    for text in (item["description"], "| Priority | high |", "| Source | cli |", '"os": "macOS 14.2"',
                 f"https://feedback.example.com/api/v1/feedback/{item['id']}/", "| Response due | "):
        assert text in body
    assert body.rstrip().splitlines()[-1] == github_issues.marker(tenant.id, uuid.UUID(item["id"]))

    shown = client.get(BASE + item["id"] + "/", headers=tenant.auth("admin")).get_json()
    assert shown["github_issue_url"] == issue["html_url"] and shown["github_sync_error"] is None
    history = admin.get(BASE + item["id"] + "/history/", headers=tenant.auth("admin")).get_json()["items"]
    assert [h["new"] for h in history if h["action"] == "github_issue"] == [
        {"number": issue["number"], "url": issue["html_url"], "created": True}]
    assert _event(database_url, item["id"])["outcome"] == "sent"


def test_a_medium_item_waits_until_its_priority_rises(client, tenant, database_url, github, configured, sync):
    item = submit(client, tenant, priority="medium")
    assert _events(database_url, item["id"]) == []
    changed = client.patch(BASE + item["id"] + "/", json={"priority": "urgent"}, headers=tenant.auth("admin"))
    assert changed.status_code == 200
    event = _event(database_url, item["id"])
    assert event["payload"] == {"reason": "priority"}
    assert sync(event["id"]) == 200
    assert len(_issues_for(github, tenant, item["id"])) == 1


def test_an_admin_can_ask_for_an_issue_for_any_item(client, admin, tenant, other_tenant, database_url, github,
                                                    configured, sync):
    item = submit(client, tenant, priority="low")
    path = BASE + item["id"] + "/github/issue/"
    assert admin.post(path, headers=tenant.auth("member")).status_code == 403
    assert admin.post(path, headers=other_tenant.auth("admin")).status_code == 404
    assert _events(database_url, item["id"]) == []
    asked = admin.post(path, headers=tenant.auth("admin"))
    assert asked.status_code == 202 and asked.get_json()["id"] == item["id"]
    assert sync(_event(database_url, item["id"])["id"]) == 200
    assert len(_issues_for(github, tenant, item["id"])) == 1
    assert admin.post(path, headers=tenant.auth("admin")).status_code == 409


def test_without_a_repository_nothing_is_made(client, tenant, database_url, github, configured, env, sync):
    env(GITHUB_REPOSITORY="")
    item = submit(client, tenant, priority="urgent")
    assert sync(_event(database_url, item["id"])["id"]) == 200
    assert _event(database_url, item["id"])["outcome"] == "skipped"
    assert _issues_for(github, tenant, item["id"]) == []


@pytest.mark.parametrize("fault", ["error_after_create", "drop_after_create", "drop"])
def test_a_post_that_fails_on_the_way_back_ends_with_one_issue(client, tenant, database_url, github, configured,
                                                               sync, fault):
    item = submit(client, tenant, priority="urgent")
    event = _event(database_url, item["id"])
    github.fail("POST", fault)
    assert sync(event["id"]) == 500  # Pub/Sub delivers it again
    assert _event(database_url, item["id"])["attempts"] == 1
    make_due(database_url, event["id"])
    assert sync(event["id"]) == 200
    assert len(_issues_for(github, tenant, item["id"])) == 1
    created = sql(database_url, "SELECT new_value FROM feedback_audit WHERE feedback_id = :id AND action = 'github_issue'",
                        id=uuid.UUID(item["id"]))
    assert created == [[{**created[0][0], "created": fault == "drop"}]]


@pytest.mark.parametrize("step", ["after_search", "after_create", "after_record"])
def test_a_crash_at_any_step_ends_with_exactly_one_issue(client, tenant, database_url, github, configured,
                                                         monkeypatch, env, step):
    """A delivery that dies at the step, delivered again: one issue for the item. The runs
    that can differ: an empty repository, and one whose issues fill more than a page of the
    search (GitHub lists 30 a page)."""
    repo = f"acme/crash-{step}"
    env(GITHUB_HOURLY_CAP="1000", GITHUB_REPOSITORY=repo)
    points = {"after_search": (github_issues, "_find"), "after_create": (github_issues, "_record"),
              "after_record": (outbox, "_finish")}
    module, name = points[step]
    original = getattr(module, name)

    def crash_after(*args, **kwargs):
        if step == "after_search":
            original(*args, **kwargs)
        raise Crash(step)

    def crash_and_redeliver() -> str:
        item = submit(client, tenant, priority="high")
        event = _event(database_url, item["id"])
        monkeypatch.setattr(module, name, crash_after)
        with pytest.raises(Crash):
            outbox.deliver(event["id"], HANDLERS)
        monkeypatch.setattr(module, name, original)
        assert outbox.deliver(event["id"], HANDLERS) == "sent"
        assert outbox.deliver(event["id"], HANDLERS) == "none"
        return item["id"]

    items = [crash_and_redeliver()]
    for n in range(31):  # other items' issues, all within the search's window
        github._create(repo, {"title": f"other {n}", "body": "...\n\n" + github_issues.marker(tenant.id, uuid.uuid4())})
    items.append(crash_and_redeliver())
    assert [len(_issues_for(github, tenant, item_id, repo)) for item_id in items] == [1, 1]
    assert len(github.issues(repo)) == 33


def test_labels_github_dropped_do_not_hide_an_issue_already_made(client, tenant, database_url, github, configured,
                                                                 sync):
    """A token without push access: GitHub makes the issue without its labels, then the
    answer is lost. The next attempt still finds the issue by its marker."""
    github.read_only = {configured["token"]}
    try:
        item = submit(client, tenant, priority="urgent")
        event = _event(database_url, item["id"])
        github.fail("POST", "error_after_create")
        assert sync(event["id"]) == 500
        make_due(database_url, event["id"])
        assert sync(event["id"]) == 200
        [issue] = _issues_for(github, tenant, item["id"])
        assert issue["labels"] == []
        shown = client.get(BASE + item["id"] + "/", headers=tenant.auth("admin")).get_json()
        assert shown["github_issue_url"] == issue["html_url"]
    finally:
        github.read_only = set()


def test_an_issue_made_for_an_earlier_event_is_found_by_a_later_one(client, tenant, database_url, github,
                                                                     configured, sync, env):
    """The first event died after GitHub made the issue; a later event for the same item
    (its priority raised again) runs first: the search reaches back to the first event."""
    item = submit(client, tenant, priority="high")
    first = _event(database_url, item["id"])
    sql(database_url, "UPDATE outbox SET created_at = now() - interval '2 hours' WHERE id = :id", id=first["id"])
    github._create(REPO, {"title": "made before the crash",
                          "body": "...\n\n" + github_issues.marker(tenant.id, uuid.UUID(item["id"]))})
    backdated = github.repos[REPO][-1]
    backdated["created_at"] = backdated["updated_at"] = (
        datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    admin = {"Authorization": f"Bearer {tenant.keys['admin']}"}
    assert client.patch(BASE + item["id"] + "/", json={"priority": "urgent"}, headers=admin).status_code == 200
    later = _events(database_url, item["id"])[-1]
    assert later["id"] != first["id"]
    assert sync(later["id"]) == 200
    assert len(_issues_for(github, tenant, item["id"])) == 1


def test_concurrent_deliveries_make_one_issue(client, tenant, database_url, github, configured, sync):
    item = submit(client, tenant, priority="urgent")
    event = _event(database_url, item["id"])
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: sync(event["id"]), range(8)))
    assert statuses == [200] * 8
    assert len(_issues_for(github, tenant, item["id"])) == 1


@pytest.mark.parametrize("method, fault, value, at_least", [
    ("GET", "primary", 300, 295),  # until X-RateLimit-Reset
    ("GET", "secondary", None, 60),  # no Retry-After: at least a minute
    ("GET", "secondary", 10, 60),  # a short Retry-After: still a minute
    ("GET", "secondary", 600, 595),  # Retry-After
    ("GET", "too_many", 120, 115),  # 429 with Retry-After
    ("POST", "spammed", None, 60),  # 422 "endpoint has been spammed": a limit, not a refusal
])
def test_a_limit_defers_the_event_until_github_allows_it(client, tenant, database_url, github, configured, sync,
                                                         method, fault, value, at_least):
    item = submit(client, tenant, priority="urgent")
    event = _event(database_url, item["id"])
    github.fail(method, fault, value)
    before = datetime.datetime.now(datetime.UTC)
    assert sync(event["id"]) == 500
    deferred = _event(database_url, item["id"])
    wait = (deferred["next_attempt_at"] - before).total_seconds()
    assert at_least <= wait <= at_least + 30, wait
    asked = len(github.requests)
    assert sync(event["id"]) == 200  # redelivered too early: left for the sweep, GitHub not asked
    assert len(github.requests) == asked
    make_due(database_url, event["id"])
    assert sync(event["id"]) == 200
    assert len(_issues_for(github, tenant, item["id"])) == 1


@pytest.mark.parametrize("method, status", [("GET", 404), ("POST", 422), ("POST", 410), ("GET", 403)])
def test_a_permanent_refusal_is_recorded_on_the_item_and_dead(client, tenant, database_url, github, configured,
                                                              sync, method, status):
    item = submit(client, tenant, priority="high")
    github.fail(method, "status", status)
    assert sync(_event(database_url, item["id"])["id"]) == 200  # retrying cannot help: acknowledged
    dead = _event(database_url, item["id"])
    assert dead["outcome"] == "dead" and f"({status})" in dead["last_error"]
    admin_view = client.get(BASE + item["id"] + "/", headers=tenant.auth("admin")).get_json()
    assert f"({status})" in admin_view["github_sync_error"]
    assert client.get(BASE + item["id"] + "/", headers=tenant.auth("member")).get_json()["github_sync_error"] is None


def test_a_rotated_token_is_read_again_once_on_401(client, tenant, database_url, github, configured, secret_store,
                                                   sync, capfd):
    first = submit(client, tenant, priority="high")
    assert sync(_event(database_url, first["id"])["id"]) == 200
    reads = secret_store.reads[configured["secret"].removesuffix("/versions/latest")]

    rotated = f"ghp_{uuid.uuid4().hex}"
    github.tokens = {rotated}
    secret_store.add_version("p", configured["secret"].split("/")[3], rotated)
    second = submit(client, tenant, priority="high")
    assert sync(_event(database_url, second["id"])["id"]) == 200
    assert len(_issues_for(github, tenant, second["id"])) == 1
    assert secret_store.reads[configured["secret"].removesuffix("/versions/latest")] == reads + 1

    github.tokens = {"ghp_nobody_has_this"}  # refused even when read afresh: dead, not retried forever
    third = submit(client, tenant, priority="high")
    assert sync(_event(database_url, third["id"])["id"]) == 200
    assert "(401)" in _event(database_url, third["id"])["last_error"]
    logged = capfd.readouterr()
    for token in (configured["token"], rotated):
        assert token not in logged.err + logged.out
        assert token not in json.dumps(_events(database_url, third["id"]), default=str)


def test_the_hourly_cap_defers_a_tenants_flood(client, tenant, database_url, github, configured, env, sync):
    env(GITHUB_HOURLY_CAP="2")
    items = [submit(client, tenant, priority="urgent") for _ in range(3)]
    statuses = [sync(_event(database_url, item["id"])["id"]) for item in items]
    assert statuses == [200, 200, 500]
    deferred = _event(database_url, items[2]["id"])
    assert "issues an hour" in deferred["last_error"]
    assert deferred["next_attempt_at"] > datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=59)
    assert _issues_for(github, tenant, items[2]["id"]) == []


def test_writes_are_spaced_a_second_apart(client, tenant, database_url, github, configured, env, sync):
    env(GITHUB_SECONDS_BETWEEN_WRITES="1")
    github_issues._client_for.cache_clear()
    start = len(github.created_at)
    for _ in range(3):
        item = submit(client, tenant, priority="urgent")
        assert sync(_event(database_url, item["id"])["id"]) == 200
    made = github.created_at[start:]
    assert len(made) == 3
    assert all(later - earlier >= 0.95 for earlier, later in zip(made, made[1:]))


def test_a_tenants_own_repository_takes_its_issues(client, tenant, database_url, github, configured, sync):
    code, configured_tenant = manage(database_url, "tenants", "configure", str(tenant.id),
                                     "--github-repository", "initech/tps", "--json")
    assert code == 0 and configured_tenant["github_repository"] == "initech/tps"
    item = submit(client, tenant, priority="urgent")
    assert sync(_event(database_url, item["id"])["id"]) == 200
    assert len(_issues_for(github, tenant, item["id"], "initech/tps")) == 1
    assert _issues_for(github, tenant, item["id"]) == []

    code, refused = manage(database_url, "tenants", "configure", str(tenant.id), "--github-repository",
                           "not a repo", "--json")
    assert code == 1 and "owner/name" in refused["error"]
    code, restored = manage(database_url, "tenants", "configure", str(tenant.id), "--github-repository", "",
                            "--json")
    assert code == 0 and restored["github_repository"] is None


def test_dead_events_are_listed_and_replayed_by_the_operator(client, tenant, database_url, github, configured,
                                                             sync):
    item = submit(client, tenant, priority="high")
    event = _event(database_url, item["id"])
    github.fail("GET", "status", 404)
    assert sync(event["id"]) == 200
    code, listed = manage(database_url, "events", "dead", "--json")
    assert code == 0
    [dead] = [e for e in listed["events"] if e["id"] == event["id"]]
    assert dead["kind"] == "github" and "(404)" in dead["last_error"]

    code, not_dead = manage(database_url, "events", "replay", str(event["id"] + 10**9), "--json")
    assert code == 1 and "No dead event" in not_dead["error"]
    code, replayed = manage(database_url, "events", "replay", str(event["id"]), "--json")
    assert (code, replayed) == (0, {"replayed": event["id"], "kind": "github"})
    assert _event(database_url, item["id"])["outcome"] is None
    assert sync(event["id"]) == 200
    assert len(_issues_for(github, tenant, item["id"])) == 1
    shown = client.get(BASE + item["id"] + "/", headers=tenant.auth("admin")).get_json()
    assert shown["github_issue_url"] and shown["github_sync_error"] is None


def test_check_reads_the_token_and_reaches_the_repository_without_showing_it(database_url, github, configured,
                                                                              env):
    code, report = manage(database_url, "check", "--json")
    [result] = [r for r in report["checks"] if r["name"] == "github"]
    assert result == {"name": "github", "ok": True, "detail": f"token readable; {REPO} reachable"}

    github.tokens = {"ghp_someone_else"}
    code, report = manage(database_url, "check", "--json")
    [result] = [r for r in report["checks"] if r["name"] == "github"]
    assert code == 1 and not result["ok"] and "(401)" in result["detail"]
    assert configured["token"] not in json.dumps(report)

    github.tokens = {configured["token"]}
    github.read_only = {configured["token"]}
    try:
        code, report = manage(database_url, "check", "--json")
    finally:
        github.read_only = set()
    [result] = [r for r in report["checks"] if r["name"] == "github"]
    assert code == 1 and not result["ok"] and "cannot label" in result["detail"]

    env(GITHUB_TOKEN_SECRET="projects/p/secrets/absent/versions/latest")
    code, report = manage(database_url, "check", "--json")
    [result] = [r for r in report["checks"] if r["name"] == "github"]
    assert not result["ok"] and "absent/versions/latest could not be read (404)" in result["detail"]


def test_an_event_too_old_to_deliver_is_dropped_with_a_log_line(client, tenant, database_url, github, configured,
                                                                 sync, capfd):
    item = submit(client, tenant, priority="urgent")
    event = _event(database_url, item["id"])
    sql(database_url, "UPDATE outbox SET created_at = now() - interval '4 days' WHERE id = :id", id=event["id"])
    capfd.readouterr()
    assert sync(event["id"]) == 200
    assert _event(database_url, item["id"])["outcome"] == "dead"
    logged = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    assert any(line["message"] == "event dead" and line["error"] == "expired undelivered" for line in logged)
    assert _issues_for(github, tenant, item["id"]) == []


def test_the_local_server_makes_the_issue_through_its_own_event_function(database_url, tmp_path, github,
                                                                         configured):
    server = LiveServer(database_url, tmp_path / "server.log", GITHUB_API_URL=github.url, GITHUB_REPOSITORY="acme/live",
                        GITHUB_TOKEN=configured["token"], GITHUB_TOKEN_SECRET="")
    try:
        admin = {"Authorization": f"Bearer {server.tokens['admin']}"}
        item = requests.post(server.base + BASE, json={"feedback_type": "bug", "summary": "Crash on save",
                                                        "description": "...", "priority": "urgent"},
                             headers=admin, timeout=10).json()
        deadline = time.monotonic() + 15
        shown = item
        while not shown["github_issue_url"] and time.monotonic() < deadline:
            time.sleep(0.1)
            shown = requests.get(f"{server.base}{BASE}{item['id']}/", headers=admin, timeout=10).json()
        [issue] = github.issues("acme/live")
        assert issue["title"] == "Crash on save"
        assert shown["github_issue_url"] == issue["html_url"]
    finally:
        assert server.stop() == 0


def test_the_marker_search_window_holds_in_any_database_time_zone(github, configured):
    """pg8000 hands back timestamps in the session's zone; the search must still start at the right moment."""
    mark = github_issues.marker(uuid.uuid4(), uuid.uuid4())
    github._create("acme/zones", {"title": "t", "body": "text\n\n" + mark, "labels": [github_issues.LABEL]})
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    submitted = datetime.datetime.now(tokyo)
    found = github_issues._call(lambda gh: github_issues._find(gh.get_repo("acme/zones", lazy=True), mark, submitted))
    assert found is not None and found.body.endswith(mark)
