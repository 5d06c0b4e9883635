"""Mail to tenants' feedback addresses from Mailgun's inbound webhook, at
/api/v1/email/inbound/mime (a Mailgun route forwards the raw MIME there; the URL ends in
`mime` for that). Each post is verified (Mailgun's signature), then its mail becomes
an item, a message on an item it answers, or is refused with a reason (406: Mailgun
does not post it again).

Deployed as one Cloud Function (entry point `email_intake`). Importing it opens no connection.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

# The deployed bundle keeps the repository's layout: shared/ is two levels up.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import functions_framework  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402

from shared import mail_webhook  # noqa: E402 - the function's one job
from shared.http import PUBLIC, Api, Call, Reply, Route, framework_error  # noqa: E402
from shared.config import start  # noqa: E402

start()


def inbound(call: Call) -> Reply:
    return Reply(200, json.dumps(mail_webhook.receive(call.request)))


API = Api(
    "email_intake",
    [Route("POST", "/email/inbound/mime", inbound, PUBLIC,
           "Mailgun's inbound webhook: a mail to a tenant's feedback address (signed by Mailgun)",
           problems=(401, 406, 429, 503))],
)

# Paths the framework's own router refuses get a problem document too.
functions_framework.errorhandler(HTTPException)(framework_error)


@functions_framework.http
def email_intake(request):  # noqa: ANN001 - functions-framework passes a flask.Request
    return API(request)
