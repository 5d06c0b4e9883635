"""The triage group: acknowledge, respond, complete, status changes and history
under /api/v1/feedback/{id}/. Admins (own tenant) and staff (any tenant) only.

Deployed as one Cloud Function (entry point `admin`). Importing it opens no connection.
"""
from __future__ import annotations

import sys
from pathlib import Path

# The deployed bundle keeps the repository's layout: shared/ is two levels up.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import functions_framework  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402

from shared import triage  # noqa: E402
from shared.http import MAIL_HEADER, PUBLIC, TRIAGE, Api, Call, Reply, Route, framework_error  # noqa: E402
from shared.models import (  # noqa: E402
    AssignBody,
    BulkBody,
    CompleteBody,
    GitHubLinkBody,
    NoteBody,
    RespondBody,
    StatsQuery,
    StatusBody,
)
from shared.config import start  # noqa: E402

start()


def changed(change: triage.Change) -> Reply:
    """The item, and whether the change mailed its submitter (and if not, why)."""
    return Reply(200, change.item, {MAIL_HEADER: change.mail})


def acknowledge(call: Call) -> Reply:
    return changed(triage.change_status(call.tx, call.principal, call.args["id"], "acknowledged"))


def respond(call: Call) -> Reply:
    body = call.body
    return changed(triage.respond(call.tx, call.principal, call.args["id"], body.response, body.status))


def complete(call: Call) -> Reply:
    return changed(triage.change_status(call.tx, call.principal, call.args["id"], "completed",
                                        response=call.body.response))


def set_status(call: Call) -> Reply:
    body = call.body
    return changed(triage.change_status(
        call.tx, call.principal, call.args["id"], body.status, reason=body.reason, duplicate_of=body.duplicate_of
    ))


def assign(call: Call) -> Reply:
    body = call.body
    return Reply(200, triage.assign(call.tx, call.principal, call.args["id"], body.assignee_id, body.assignee_email))


def link_github(call: Call) -> Reply:
    return Reply(200, triage.link_github(call.tx, call.principal, call.args["id"], call.body.url))


def request_github_issue(call: Call) -> Reply:
    return Reply(202, triage.request_github_issue(call.tx, call.principal, call.args["id"]))


def add_note(call: Call) -> Reply:
    return Reply(201, triage.add_note(call.tx, call.principal, call.args["id"], call.body.body))


def list_notes(call: Call) -> Reply:
    return Reply(200, triage.notes(call.tx, call.principal, call.args["id"]))


def stats(call: Call) -> Reply:
    return Reply(200, triage.stats(call.tx, call.principal, call.query.tenant_id))


def bulk(call: Call) -> Reply:
    return Reply(200, {"results": triage.bulk(call.tx, call.principal, call.body)})


def team(call: Call) -> Reply:
    return Reply(200, {"items": triage.team(call.tx, call.principal, call.query.tenant_id)})


def history(call: Call) -> Reply:
    return Reply(200, triage.history(call.tx, call.principal, call.args["id"]))


def spec(call: Call) -> Reply:
    from shared import openapi  # only this route needs JSON Schema generation

    return Reply(200, openapi.document(API))


ID = "/feedback/<uuid:id>/"
CHANGE_PROBLEMS = (400, 401, 403, 404, 409, 413, 415, 422)
MAILS = (MAIL_HEADER,)  # the changes that may mail the submitter say whether they did
API = Api(
    "admin",
    [
        Route("POST", ID + "acknowledge/", acknowledge, TRIAGE, "Acknowledge feedback",
              response="FeedbackOut", problems=(401, 403, 404, 409), headers=MAILS),
        Route("POST", ID + "respond/", respond, TRIAGE, "Respond to the submitter (and optionally move the status)",
              body=RespondBody, response="FeedbackOut", problems=CHANGE_PROBLEMS, headers=MAILS),
        Route("POST", ID + "complete/", complete, TRIAGE, "Mark as completed (optionally with a final response)",
              body=CompleteBody, response="FeedbackOut", problems=CHANGE_PROBLEMS, headers=MAILS),
        Route("POST", ID + "status/", set_status, TRIAGE, "Change the status",
              body=StatusBody, response="FeedbackOut", problems=CHANGE_PROBLEMS, headers=MAILS),
        Route("POST", ID + "assign/", assign, TRIAGE, "Assign to a team member (neither field: unassign)",
              body=AssignBody, response="FeedbackOut", problems=CHANGE_PROBLEMS),
        Route("POST", ID + "github/", link_github, TRIAGE, "Link a GitHub issue (null: unlink)",
              body=GitHubLinkBody, response="FeedbackOut", problems=CHANGE_PROBLEMS),
        Route("POST", ID + "github/issue/", request_github_issue, TRIAGE,
              "Ask for a GitHub issue for this item (made shortly, whatever its priority)",
              response="FeedbackOut", status=202, problems=(401, 403, 404, 409)),
        Route("POST", ID + "notes/", add_note, TRIAGE, "Add an internal note", body=NoteBody,
              response="Note", status=201, problems=CHANGE_PROBLEMS),
        Route("GET", ID + "notes/", list_notes, TRIAGE, "Internal notes", response="Notes",
              problems=(401, 403, 404)),
        Route("GET", ID + "history/", history, TRIAGE, "The item's audit trail",
              response="History", problems=(401, 403, 404)),
        Route("GET", "/feedback/triage/stats/", stats, TRIAGE, "Stats with SLA and assignee figures",
              query=StatsQuery, response="TriageStats", problems=(401, 403, 422)),
        Route("POST", "/feedback/triage/bulk/", bulk, TRIAGE,
              "One change to each of up to 100 items, each checked and audited alone", body=BulkBody,
              response="BulkResults", problems=(400, 401, 403, 413, 415, 422)),
        Route("GET", "/feedback/team/", team, TRIAGE, "The people who may be assigned (staff: name a tenant)",
              query=StatsQuery, response="Team", problems=(401, 403, 422)),
        Route("GET", "/feedback/admin/openapi.json", spec, PUBLIC, "This document"),
    ],
)

# Paths the framework's own router refuses get a problem document too.
functions_framework.errorhandler(HTTPException)(framework_error)


@functions_framework.http
def admin(request):  # noqa: ANN001 - functions-framework passes a flask.Request
    return API(request)
