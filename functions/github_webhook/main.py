"""GitHub's `issues` webhook at /api/v1/github/webhook/: an issue closed as
completed completes its item, closed as not planned declines it, reopened puts it
back in progress. Deliveries are verified (X-Hub-Signature-256), fresh, and
taken once (X-GitHub-Delivery).

Deployed as one Cloud Function (entry point `github_webhook`). Importing it opens no connection.
"""
from __future__ import annotations

import sys
from pathlib import Path

# The deployed bundle keeps the repository's layout: shared/ is two levels up.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import functions_framework  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402

from shared import github_webhook as webhook  # noqa: E402 - the entry point takes the name
from shared.http import SIGNED, Api, Call, Reply, Route, framework_error  # noqa: E402
from shared.config import start  # noqa: E402

start()

# GitHub's payloads carry the whole issue and repository: more than the API's 64 KiB.
MAX_DELIVERY_BYTES = 1024 * 1024


def receive(call: Call) -> Reply:
    headers = call.request.headers
    body = call.raw_body(MAX_DELIVERY_BYTES)
    webhook.verify(body, headers.get("X-Hub-Signature-256"))
    result = webhook.receive(call.tx, headers.get("X-GitHub-Delivery"), headers.get("X-GitHub-Event"), body)
    return Reply(200, result)


API = Api(
    "github_webhook",
    [Route("POST", "/github/webhook/", receive, SIGNED, "GitHub's issues webhook (signed by GitHub)",
           problems=(400, 401, 413, 415))],
)

# Paths the framework's own router refuses get a problem document too.
functions_framework.errorhandler(HTTPException)(framework_error)


@functions_framework.http
def github_webhook(request):  # noqa: ANN001 - functions-framework passes a flask.Request
    return API(request)
