"""GitHub's own webhook payloads (@octokit/webhooks-examples, installed from npm by
`make test`), set to the issue and moment a test needs."""
from __future__ import annotations

import copy
import datetime
import functools
import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent / "node/node_modules/@octokit/webhooks-examples/api.github.com/index.json"


@functools.cache
def _examples() -> dict[str, list[dict[str, Any]]]:
    return {event["name"]: event["examples"] for event in json.loads(EXAMPLES.read_text())}


def example(event: str, action: str) -> dict[str, Any]:
    """A copy of GitHub's first example of that event and action."""
    return copy.deepcopy(next(e for e in _examples()[event] if e.get("action") == action))


def issue_event(action: str, url: str, state_reason: str | None, updated: datetime.datetime) -> dict[str, Any]:
    """An `issues` delivery for the issue at `url`. GitHub's examples have no `closed`
    one: it is the `reopened` example closed, as GitHub closes an issue."""
    payload = example("issues", "reopened")
    stamp = updated.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    issue = payload["issue"]
    owner_repo, number = url.split("/", 3)[3].rsplit("/issues/", 1)
    issue.update(html_url=url, number=int(number), updated_at=stamp,
                 url=f"https://api.github.com/repos/{owner_repo}/issues/{number}")
    payload["action"] = action
    if action == "closed":
        issue.update(state="closed", closed_at=stamp, state_reason=state_reason)
    else:
        issue.update(state="open", closed_at=None, state_reason=state_reason)
    return payload
