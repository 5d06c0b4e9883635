"""The client API group: list, submit, read, edit, vote and stats under /api/v1/feedback/.

Deployed as one Cloud Function (entry point `feedback`). Importing it opens no
connection: the pool is made on the first request.
"""
from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path
from urllib.parse import urlencode

# The deployed bundle keeps the repository's layout: shared/ is two levels up.
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import functions_framework  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402

from shared import errors, pages, status_page  # noqa: E402
from shared.auth import Credentials  # noqa: E402
from shared import feedback as service  # noqa: E402
from shared.http import ANYONE, PUBLIC, SIGNED, USER, Api, Call, Reply, Route, client_ip, framework_error  # noqa: E402
from shared.models import FeedbackCreate, FeedbackUpdate, ListQuery, SignedLinkQuery, StatsQuery  # noqa: E402
from shared.config import start  # noqa: E402

start()

MAX_IDEMPOTENCY_KEY = 255
WIDGET_TYPE = "text/javascript"
# widget.js follows each deployment within the hour; widget.HASH.js names one content for good.
WIDGET_ALIAS_CACHE = "public, max-age=3600"
WIDGET_VERSION_CACHE = "public, max-age=31536000, immutable"


def list_feedback(call: Call) -> Reply:
    items, next_cursor = service.list_items(call.tx, call.principal, call.query)
    headers = {}
    body = '{"items":' + items + ',"next":' + (f'"{next_cursor}"' if next_cursor else "null") + "}"
    if next_cursor:
        # A relative reference (RFC 8288 allows it): no host to trust or rebuild.
        query = urlencode({**call.request.args.to_dict(), "cursor": next_cursor})
        headers["Link"] = f'<{call.request.path}?{query}>; rel="next"'
    return Reply(200, body, headers)


def submit(call: Call) -> Reply:
    key = call.request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise errors.BadRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.")
    result = service.submit(call.tx, call.principal, call.body, idempotency_key=key)
    return Reply(result.status, result.body)


def meter(call: Call, creds: Credentials) -> None:
    try:
        body = call.raw_body()
    except errors.ApiError:
        body = b""  # refused right after, and counted all the same
    service.meter_anonymous(creds, client_ip(call.request), body)


def detail(call: Call) -> Reply:
    return Reply(200, service.get(call.tx, call.principal, call.args["id"]))


def update(call: Call) -> Reply:
    return Reply(200, service.update(call.tx, call.principal, call.args["id"], call.body))


def add_vote(call: Call) -> Reply:
    return Reply(200, service.vote(call.tx, call.principal, call.args["id"], add=True))


def remove_vote(call: Call) -> Reply:
    return Reply(200, service.vote(call.tx, call.principal, call.args["id"], add=False))


def stats(call: Call) -> Reply:
    return Reply(200, service.stats(call.tx, call.principal, call.query.tenant_id))


def opt_out_page(call: Call) -> Reply:
    """What a mail's opt-out link opens: a button, so that link scanners opt no one out."""
    from shared import opt_outs

    _, address = opt_outs.read(call.tx, call.query.token)
    return Reply(200, pages.opt_out_form(address), mimetype=pages.HTML)


def opt_out(call: Call) -> Reply:
    """The button, or a mail client's one-click request (RFC 8058)."""
    from shared import opt_outs

    return Reply(200, pages.opted_out(opt_outs.record(call.tx, call.query.token)), mimetype=pages.HTML)


def follow(call: Call) -> Reply:
    """A submitter's read-only status page (shared/status_page.py)."""
    status, page = status_page.page(call.tx, call.query.token)
    return Reply(status, page, mimetype=pages.HTML,
                 headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})


def widget(call: Call) -> Reply:
    """The web widget's script under its unversioned name: whichever version is deployed."""
    return _widget_reply(WIDGET_ALIAS_CACHE)


def widget_version(call: Call) -> Reply:
    """The script under its content's name: only the version this deployment ships."""
    if call.args["version"] != widget_hash():
        raise errors.NotFound(f"This deployment serves the widget as widget.{widget_hash()}.js (and widget.js).")
    return _widget_reply(WIDGET_VERSION_CACHE)


def _widget_reply(cache_control: str) -> Reply:
    return Reply(200, _widget_script().decode(), mimetype=WIDGET_TYPE, headers={
        # Pages may pin it with Subresource Integrity, which needs CORS for a script of another origin.
        "Access-Control-Allow-Origin": "*", "Cache-Control": cache_control})


@functools.cache
def _widget_script() -> bytes:
    """One file, read once per process."""
    return (ROOT / "shared/widget/widget.js").read_bytes()


@functools.cache
def widget_hash() -> str:
    """The versioned name's part: the start of the script's SHA-256, which changes with its content only."""
    return hashlib.sha256(_widget_script()).hexdigest()[:16]


def spec(call: Call) -> Reply:
    from shared import openapi  # only this route needs JSON Schema generation

    return Reply(200, openapi.document(API))


ID = "/feedback/<uuid:id>/"
API = Api(
    "feedback",
    [
        Route("GET", "/feedback/", list_feedback, USER, "List feedback of the caller's tenant",
              query=ListQuery, response="FeedbackPage", problems=(401, 403, 422)),
        Route("POST", "/feedback/", submit, ANYONE, "Submit feedback (anonymous by tenant key)",
              body=FeedbackCreate, response="FeedbackOut", status=201,
              problems=(400, 401, 409, 413, 415, 422, 429), meter=meter, idempotent=True),
        Route("GET", "/feedback/stats/", stats, USER, "Feedback statistics",
              query=StatsQuery, response="Stats", problems=(401, 403, 422)),
        Route("GET", "/feedback/openapi.json", spec, PUBLIC, "This document"),
        Route("GET", "/feedback/mail/opt-out/", opt_out_page, SIGNED, "The page a mail's opt-out link opens",
              query=SignedLinkQuery, media=pages.HTML, problems=(403, 422)),
        Route("POST", "/feedback/mail/opt-out/", opt_out, SIGNED, "Stop mails about your feedback",
              query=SignedLinkQuery, media=pages.HTML, problems=(403, 422)),
        Route("GET", status_page.PATH, follow, SIGNED, "A submitter's read-only status page (a signed link)",
              query=SignedLinkQuery, media=pages.HTML, problems=(403, 404, 422)),
        Route("GET", "/feedback/widget.js", widget, PUBLIC, "The web widget (one script tag adds it to a page)",
              media=WIDGET_TYPE),
        Route("GET", "/feedback/widget.<version>.js", widget_version, PUBLIC,
              "The web widget under its content's hash (cached for good; pin it with Subresource Integrity)",
              media=WIDGET_TYPE, problems=(404,)),
        Route("GET", ID, detail, USER, "One feedback item", response="FeedbackOut", problems=(401, 404)),
        Route("PATCH", ID, update, USER, "Edit feedback", body=FeedbackUpdate, response="FeedbackOut",
              problems=(400, 401, 403, 404, 409, 413, 415, 422)),
        Route("POST", ID + "vote/", add_vote, USER, "Vote for feedback", response="VoteResult",
              problems=(401, 404, 409)),
        Route("DELETE", ID + "vote/", remove_vote, USER, "Remove your vote", response="VoteResult",
              problems=(401, 404, 409)),
    ],
)


# Paths the framework's own router refuses get a problem document too.
functions_framework.errorhandler(HTTPException)(framework_error)


@functions_framework.http
def feedback(request):  # noqa: ANN001 - functions-framework passes a flask.Request
    return API(request)
