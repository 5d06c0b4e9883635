"""GitHub issues for feedback: one per item, found again rather than made twice.

The outbox handler for `github` rows. With the item locked, it looks in the
repository for an issue carrying the item's marker (the body's last line)
before it creates one, so a delivery that died after GitHub made the issue ends,
on the next attempt, with that same issue recorded. The client never retries:
a failed POST goes back to the outbox, whose next attempt looks first.

GitHub's limits: a limit response (403 or 429 with the limit's headers, or 422
"endpoint has been spammed") defers the event to its Retry-After or
X-RateLimit-Reset (a secondary limit, at least a minute); creations are spaced
a second apart in the process (the deployment runs one instance); a tenant gets at most GITHUB_HOURLY_CAP new issues an hour.
"""
from __future__ import annotations

import datetime
import functools
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from shared import logs, queries, secrets
from shared.config import settings
from shared.db import Tx
from shared.items import audit_system
from shared.workflow import CLOSED
from shared.outbox import Claimed, PermanentFailure, RetryLater

LABEL = "pilot-feedback"  # on every issue made here, where the token may label
SECONDARY_LIMIT_WAIT = datetime.timedelta(minutes=1)
# GitHub's 422 when content is created too fast: a limit, not a refusal of the issue.
SPAM_MESSAGES = ("spammed", "submitted too quickly")
# Refusals that trying again cannot change (401 only after a fresh read of the token).
PERMANENT = (401, 403, 404, 410, 422)
TITLE_MAX = 256
TIMEOUT_SECONDS = 15


def marker(tenant_id: uuid.UUID, item_id: uuid.UUID) -> str:
    return f"<!-- pilot-feedback:item={tenant_id}/{item_id} -->"


def make_issue(tx: Tx, event: Claimed) -> str:
    """The outbox handler: "sent" once the item has its issue, "skipped" when it needs none."""
    item = tx.record(queries.GITHUB_ITEM, tenant=event.tenant_id, id=event.item_id)
    if item is None:
        return "skipped"
    if item["linked"]:
        return "skipped"
    requested = event.payload.get("reason") == "requested"
    if not requested and (item["priority"] not in settings().github_priorities
                          or item["status"] in CLOSED):
        return "skipped"
    repository = item["repository"] or settings().github_repository
    if not repository:
        logs.log("WARNING", "no GitHub repository configured", tenant_id=event.tenant_id,
                 feedback_id=event.item_id)
        return "skipped"

    issue_marker = marker(event.tenant_id, event.item_id)

    def find_or_create(gh: Any) -> tuple[Any, bool]:
        repo = gh.get_repo(repository, lazy=True)
        found = _find(repo, issue_marker, item["first_requested"])
        if found is not None:
            return found, False  # made by an attempt that died before recording it
        _check_hourly_cap(tx, event.tenant_id)
        _pace_writes()
        return repo.create_issue(title=_title(item["summary"]), body=_body(item, event.item_id, issue_marker),
                                 labels=[LABEL, f"type:{item['type']}", f"priority:{item['priority']}"]), True

    try:
        issue, created = _call(find_or_create)
    except PermanentFailure as exc:
        tx.rows(queries.RECORD_GITHUB_ERROR, tenant=event.tenant_id, id=event.item_id, error=str(exc))
        raise
    _record(tx, event, issue, created)
    logs.log("INFO", "github issue " + ("created" if created else "found"), tenant_id=event.tenant_id,
             feedback_id=event.item_id, issue=issue.number, repository=repository)
    return "sent"


def _record(tx: Tx, event: Claimed, issue: Any, created: bool) -> None:
    tx.rows(queries.RECORD_GITHUB_ISSUE, tenant=event.tenant_id, id=event.item_id, url=issue.html_url)
    audit_system(tx, "github_sync", event.tenant_id, event.item_id, "github_issue", None,
                 {"number": issue.number, "url": issue.html_url, "created": created})


def _check_hourly_cap(tx: Tx, tenant_id: uuid.UUID) -> None:
    count, frees_at = tx.single(queries.GITHUB_ISSUES_LAST_HOUR, tenant=tenant_id)
    if count >= settings().github_hourly_cap:
        logs.log("WARNING", "github hourly cap reached", tenant_id=tenant_id, cap=settings().github_hourly_cap)
        raise RetryLater(f"the tenant's {settings().github_hourly_cap} issues an hour are used", frees_at)


def _find(repo: Any, issue_marker: str, since: datetime.datetime) -> Any:
    """The issue that carries the marker, among the repository's issues touched since the
    item's first GitHub event (no issue for it can be older). Labels are not trusted:
    GitHub drops them silently when the token lacks push access."""
    # PyGithub writes `since` as UTC without converting it: hand it UTC.
    window_start = since.astimezone(datetime.UTC) - datetime.timedelta(minutes=5)
    for issue in repo.get_issues(state="all", since=window_start):
        if (issue.body or "").rstrip().endswith(issue_marker):
            return issue
    return None


def _title(summary: str) -> str:
    return summary if len(summary) <= TITLE_MAX else summary[: TITLE_MAX - 1] + "…"


def _body(item: dict[str, Any], item_id: uuid.UUID, issue_marker: str) -> str:
    link = f"{settings().public_base_url}{settings().api_base_path}/feedback/{item_id}/"
    context = json.loads(item["context"]) if item["context"] else {}
    lines = [
        item["description"], "",
        "| | |", "|---|---|",
        f"| Type | {item['type']} |",
        f"| Priority | {item['priority']} |",
        f"| Response due | {item['sla_due_at'].isoformat()} |",
        f"| Source | {item['source']} |",
        f"| Feedback | {link} |",
    ]
    if context:
        lines += ["", "Context:", "```json", json.dumps(context, indent=2, sort_keys=True), "```"]
    # Last, after everything a submitter wrote: the marker the search trusts.
    return "\n".join(lines + ["", issue_marker])


def check() -> tuple[bool, str]:
    """For `manage.py check`: the token can be read and the default repository reached."""
    cfg = settings()
    if not (cfg.github_repository or cfg.github_token or cfg.github_token_secret):
        return True, "not configured (no issues are made)"
    try:
        if not cfg.github_repository:
            _client()
            return True, "token readable; no default repository (GITHUB_REPOSITORY)"
        repo = _call(lambda gh: gh.get_repo(cfg.github_repository))
    except Exception as exc:  # noqa: BLE001 - every failure is the answer; none carries the token
        return False, f"{type(exc).__name__}: {exc}"
    permissions = repo.permissions  # what the token's user may do (absent for some app tokens)
    if permissions is not None and not permissions.push:
        return False, (f"token readable; {repo.full_name} reachable, but the token cannot label issues"
                       " (no push access): GitHub drops the labels silently")
    return True, f"token readable; {repo.full_name} reachable"


# --- the client, its token and its failures


def _call(work: Callable[[Any], Any]) -> Any:
    """Run `work` with a client; on 401 read the token afresh and try once more."""
    from github import GithubException

    cfg = settings()
    for fresh in (False, True):
        if fresh and cfg.github_token_secret:
            secrets.forget(cfg.github_token_secret)
        try:
            return work(_client())
        except GithubException as exc:
            if exc.status == 401 and not fresh and cfg.github_token_secret:
                continue
            raise _classified(exc) from None
        except OSError as exc:  # requests' connection errors and timeouts
            raise ConnectionError(f"GitHub could not be reached ({type(exc).__name__})") from None
    raise AssertionError("unreachable")


def _client() -> Any:
    cfg = settings()
    token = secrets.value(cfg.github_token, cfg.github_token_secret)
    if not token:
        raise PermanentFailure("no GitHub token is configured (GITHUB_TOKEN_SECRET)")
    return _client_for(token, cfg.github_api_url)


@functools.lru_cache(maxsize=4)
def _client_for(token: str, base_url: str) -> Any:
    from github import Auth, Github

    # retry=None: nothing is sent twice behind the outbox's back (GitHub's POSTs are not
    # idempotent). Writes are spaced here, process-wide (PyGithub's spacing is per object).
    return Github(auth=Auth.Token(token), base_url=base_url, timeout=TIMEOUT_SECONDS, retry=None,
                  per_page=100, seconds_between_requests=None, seconds_between_writes=None)


_write_lock = threading.Lock()
_last_write = 0.0


def _pace_writes() -> None:
    """At most one issue creation per GITHUB_SECONDS_BETWEEN_WRITES in this process."""
    global _last_write
    with _write_lock:
        wait = _last_write + settings().github_seconds_between_writes - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        _last_write = time.monotonic()


class GitHubUnavailable(Exception):
    """A transient failure (5xx and the like): the event is tried again with backoff."""


def _classified(exc: Any) -> Exception:
    """What a GitHub error means for the event; the message carries no token."""
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message", ""))
    details = " ".join(str(e.get("message", "")) for e in data.get("errors") or [] if isinstance(e, dict))
    status = exc.status
    now = datetime.datetime.now(datetime.UTC)
    spammed = status == 422 and any(m in f"{message} {details}".lower() for m in SPAM_MESSAGES)
    limited = spammed or status == 429 or (status == 403 and (headers.get("x-ratelimit-remaining") == "0"
                                                              or "rate limit" in message.lower()))
    if limited:
        wait = datetime.timedelta(0)
        if headers.get("retry-after", "").isdigit():
            wait = datetime.timedelta(seconds=int(headers["retry-after"]))
        elif headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
            wait = datetime.datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), datetime.UTC) - now
        if spammed or "secondary rate limit" in message.lower():
            wait = max(wait, SECONDARY_LIMIT_WAIT)
        return RetryLater(f"GitHub rate limit ({status}): {message} {details}".strip(),
                          now + max(wait, datetime.timedelta(0)))
    if status in PERMANENT:
        return PermanentFailure(f"GitHub refused ({status}): {message}"[:500])
    return GitHubUnavailable(f"GitHub failed ({status}): {message}"[:500])
