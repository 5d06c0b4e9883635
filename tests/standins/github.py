"""A local stand-in for the GitHub REST endpoints the service uses, as GitHub's
documentation describes them.

- `POST /repos/{owner}/{repo}/issues` (title, body, labels) answers 201 with the issue.
- `GET /repos/{owner}/{repo}/issues` filters by `state` (open by default), `labels`
  (comma-separated, all required) and `since` (updated at or after), sorts by
  `sort`/`direction`, pages with `per_page`/`page` and a `Link` header.
- `GET /repos/{owner}/{repo}` answers the repository.
- Every answer carries the x-ratelimit-* headers; a bad token is 401 "Bad credentials".
- A token without push access (`read_only`) may create issues, but their labels are
  dropped silently, and the repository's `permissions` say `push: false`.

Faults are queued per method and taken in order: a limit (primary: 403 with
remaining 0 and a reset time; secondary: 403 with GitHub's message and an
optional retry-after; too_many: 429 with retry-after; spammed: 422 "endpoint has
been spammed"), any status, a 502 or a dropped connection after the issue was
made, or a dropped connection before.
"""
from __future__ import annotations

import collections
import datetime
import http.server
import json
import threading
import time
import urllib.parse
from typing import Any

from standins.base import reply_json

SECONDARY_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                     "If you reach out to GitHub Support for help, please include the request ID.")


class GitHubStandIn:
    def __init__(self, tokens: set[str]) -> None:
        self.tokens = set(tokens)
        self.read_only: set[str] = set()  # tokens without push access
        self.repos: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self.faults: dict[str, list[tuple[str, Any]]] = collections.defaultdict(list)
        self.requests: list[tuple[str, str]] = []
        self.created_at: list[float] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                stand_in._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                stand_in._handle(self, "POST")

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, method: str, kind: str, value: Any = None) -> None:
        """Queue a fault for the next `method` request: primary, secondary, status,
        error_after_create, drop_after_create, drop."""
        self.faults[method].append((kind, value))

    def issues(self, repo: str) -> list[dict[str, Any]]:
        return list(self.repos[repo])

    # --- the HTTP side

    def _handle(self, request: http.server.BaseHTTPRequestHandler, method: str) -> None:
        parts = urllib.parse.urlsplit(request.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length)) if length else None
        with self._lock:
            self.requests.append((method, parts.path))
            fault = self.faults[method].pop(0) if self.faults[method] else None
        token = request.headers.get("Authorization", "").partition(" ")[2]
        if token not in self.tokens:
            return _reply(request, 401, {"message": "Bad credentials",
                                         "documentation_url": "https://docs.github.com/rest"})
        segments = parts.path.strip("/").split("/")
        if len(segments) < 3 or segments[0] != "repos":
            return _reply(request, 404, {"message": "Not Found"})
        repo = f"{segments[1]}/{segments[2]}"
        if fault is not None:
            kind, value = fault
            if kind == "primary":
                reset = int(time.time()) + (value or 120)
                return _reply(request, 403, {"message": "API rate limit exceeded for user ID 1."},
                              {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
            if kind == "secondary":
                extra = {"retry-after": str(value)} if value is not None else {}
                return _reply(request, 403, {"message": SECONDARY_MESSAGE}, extra)
            if kind == "too_many":
                return _reply(request, 429, {"message": "Too Many Requests"}, {"retry-after": str(value)})
            if kind == "spammed":
                return _reply(request, 422, {"message": "Validation Failed", "errors": [
                    {"resource": "Issue", "code": "unprocessable", "field": "data",
                     "message": "endpoint has been spammed."}]})
            if kind == "status":
                return _reply(request, value, {"message": f"stand-in status {value}"})
            if kind == "drop":
                return _drop(request)
        if segments[3:] == ["issues"] and method == "POST":
            if token in self.read_only:
                body = {**(body or {}), "labels": []}  # GitHub drops them without a word
            issue = self._create(repo, body or {})
            if fault is not None and fault[0] == "error_after_create":
                return _reply(request, 502, {"message": "Server Error"})
            if fault is not None and fault[0] == "drop_after_create":
                return _drop(request)
            return _reply(request, 201, issue, {"Location": issue["url"]})
        if segments[3:] == ["issues"] and method == "GET":
            return self._list(request, repo, query)
        if segments[3:] == [] and method == "GET":
            push = token not in self.read_only
            return _reply(request, 200, {"id": 1, "name": segments[2], "full_name": repo,
                                         "url": f"{self.url}/repos/{repo}", "private": True,
                                         "permissions": {"admin": False, "maintain": False, "push": push,
                                                         "triage": push, "pull": True}})
        return _reply(request, 404, {"message": "Not Found"})

    def _create(self, repo: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("title"):
            raise ValueError("title is required")
        with self._lock:
            number = len(self.repos[repo]) + 1
            now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            issue = {
                "id": 1000 + number, "node_id": f"I_{number}", "number": number,
                "url": f"{self.url}/repos/{repo}/issues/{number}",
                "html_url": f"https://github.example/{repo}/issues/{number}",
                "title": body["title"], "body": body.get("body"), "state": "open", "state_reason": None,
                "labels": [{"name": name} for name in body.get("labels", [])],
                "user": {"login": "pilot-feedback-bot", "id": 7},
                "created_at": now, "updated_at": now, "closed_at": None,
            }
            self.repos[repo].append(issue)
            self.created_at.append(time.monotonic())
        return issue

    def _list(self, request: http.server.BaseHTTPRequestHandler, repo: str, query: dict[str, str]) -> None:
        state = query.get("state", "open")
        labels = {name for name in query.get("labels", "").split(",") if name}
        since = query.get("since")
        found = [
            i for i in self.issues(repo)
            if (state == "all" or i["state"] == state)
            and labels <= {label["name"] for label in i["labels"]}
            and (since is None or _parse(i["updated_at"]) >= _parse(since))
        ]
        key = "created_at" if query.get("sort", "created") == "created" else "updated_at"
        found.sort(key=lambda i: (i[key], i["number"]), reverse=query.get("direction", "desc") == "desc")
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        headers = {}
        if page * per_page < len(found):
            next_query = urllib.parse.urlencode({**query, "page": page + 1})
            headers["Link"] = f'<{self.url}/repos/{repo}/issues?{next_query}>; rel="next"'
        _reply(request, 200, found[(page - 1) * per_page: page * per_page], headers)


def _parse(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _reply(request: http.server.BaseHTTPRequestHandler, status: int, doc: Any,
           headers: dict[str, str] | None = None) -> None:
    """GitHub's answers carry the primary rate limit's state."""
    reset = str(int(time.time()) + 3600)
    reply_json(request, status, doc, {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999",
                                      "x-ratelimit-used": "1", "x-ratelimit-reset": reset,
                                      "x-ratelimit-resource": "core", **(headers or {})})


def _drop(request: http.server.BaseHTTPRequestHandler) -> None:
    """Close the connection without an answer, as a reset on the way back would."""
    request.close_connection = True
    request.connection.shutdown(2)
