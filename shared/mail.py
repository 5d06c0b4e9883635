"""What each mail says: a submitter's notices about their feedback, with a signed opt-out
link (shared/opt_outs.py) and their status page's; a team member's sign-in link; an alert
about an urgent item; an admin's morning digest.

COMPOSERS maps an outbox row's notice to the composer of its mail; each body is a
template of shared/mail_templates/ (shared/rendering.py). A mail about an item is named by
the Message-ID minted for its outbox row (shared/mail_ids.py), any other by its row alone,
so that the one mail a row stands for keeps one identity whatever happens to its
delivery (shared/mail_delivery.py).
"""
from __future__ import annotations

import email.message
import email.policy
import email.utils
from collections.abc import Callable
from typing import Any

from shared import mail_ids, opt_outs, queries, rendering, status_page, tenants
from shared.config import settings
from shared.console_paths import BASE as CONSOLE_BASE
from shared.db import Tx
from shared.outbox import Claimed

SIGNIN = "signin"  # a team member's sign-in link
ALERT = "alert"  # an urgent (or, where the tenant asks, high) item, to the tenant's admins
DIGEST = "digest"  # an admin's morning digest (shared/digest.py)
SUBJECTS = {  # the notices to submitters
    "received": "We received your feedback: {summary}",
    "response": "Update on your feedback: {summary}",
    "completed": "Done: {summary}",
    "declined": "Not planned: {summary}",
}
TO_SUBMITTERS = frozenset(SUBJECTS)

# Headers on one line up to RFC 5322's limit: folded at 78, a long Message-ID would start
# with a space, and a long In-Reply-To or References would be encoded (RFC 2047) out of use.
HEADERS_UNFOLDED = email.policy.default.clone(max_line_length=998)


def _domain() -> str:
    return email.utils.parseaddr(settings().mail_from)[1].rpartition("@")[2] or "localhost"


def _message(payload: dict[str, Any], event_id: int, subject: str,
             message_id: str | None = None) -> email.message.EmailMessage:
    """A mail's headers: from the deployment, to the payload's address, named by its outbox
    row, or by the Message-ID minted for a mail about an item (shared/mail_ids.py)."""
    message = email.message.EmailMessage(policy=HEADERS_UNFOLDED)
    message["From"] = settings().mail_from
    message["To"] = email.utils.formataddr((rendering.one_line(payload.get("name") or ""), payload["to"]))
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<feedback-event-{event_id}@{_domain()}>"
    message["Date"] = email.utils.formatdate(localtime=False)
    return message


def _console_url(path: str) -> str:
    return f"{settings().public_base_url}{CONSOLE_BASE}{path}"


def compose_signin(tx: Tx, event: Claimed) -> email.message.EmailMessage:
    """A team member's sign-in link: no opt-out (they asked for it), nothing else in it."""
    payload = event.payload
    message = _message(payload, event.id, "Your sign-in link to Pilot Feedback")
    message.set_content(rendering.text("signin.txt", name=payload["name"], minutes=payload["minutes"],
                                       link=payload["link"]))
    return message


def compose_alert(tx: Tx, event: Claimed) -> email.message.EmailMessage:
    """An item that needs the team at once: what it is, and where to triage it."""
    payload = event.payload
    github = tx.scalar(queries.ITEM_GITHUB_URL, tenant=event.tenant_id, id=event.item_id)
    priority = payload["priority"]
    subject = f"{priority.capitalize()} feedback: {rendering.one_line(payload['summary'])}"
    message = _message(payload, event.id, subject)
    message.set_content(rendering.text("alert.txt", name=payload["name"], priority=priority, summary=payload["summary"],
                                       item_url=_console_url(f"/items/{event.item_id}/"), github=github,
                                       to=payload["to"], kind="alerts"))
    return message


def compose_digest(payload: dict[str, Any], event_id: int) -> email.message.EmailMessage:
    """An admin's morning: due today, breached, new since the last digest."""
    parts = [("Due today", payload["due_today"]), ("Past their SLA", payload["breached"]),
             ("New since your last digest", payload["new"])]
    counts = ", ".join(f"{len(items)} {title.lower()}" for title, items in parts if items)
    message = _message(payload, event_id, f"Your feedback digest for {payload['day']}: {counts}")
    message.set_content(rendering.text("digest.txt", name=payload["name"], parts=parts, console_url=_console_url,
                                       to=payload["to"], kind="digest"))
    return message


def compose_to_submitter(tx: Tx, event: Claimed) -> email.message.EmailMessage:
    """A notice to a submitter, with the links it carries and the Message-ID replies name."""
    status = status_page.link(status_page.signer(tx), event.tenant_id, event.item_id)
    message_id = mail_ids.mint(tx, event.id, event.item_id, _domain())
    unsubscribe = opt_outs.link(tx, event.tenant_id, event.payload["to"].lower())
    return compose(event.payload, event.id, unsubscribe, status, message_id)


def compose(payload: dict[str, Any], event_id: int, opt_out_url: str, status: str,
            message_id: str) -> email.message.EmailMessage:
    notice = payload["notice"]
    message = _message(payload, event_id, SUBJECTS[notice].format(summary=rendering.one_line(payload["summary"])),
                       message_id)
    if payload.get("tenant_slug"):  # replies come back as the submitter's messages on the item
        message["Reply-To"] = tenants.intake_address(payload["tenant_slug"])
    if payload.get("in_reply_to"):  # the acknowledgement of a mail threads with it
        message["In-Reply-To"] = message["References"] = payload["in_reply_to"]
    # RFC 8058 one-click opt-out for mail clients that offer it.
    message["List-Unsubscribe"] = f"<{opt_out_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendering.text(
        "notice.txt", notice=notice, name=payload.get("name"), summary=payload["summary"], status=payload["status"],
        reason=payload.get("reason"), response=payload.get("response"), status_url=status, opt_out_url=opt_out_url))
    return message


Composer = Callable[[Tx, Claimed], email.message.EmailMessage]
COMPOSERS: dict[str, Composer] = {
    SIGNIN: compose_signin,
    ALERT: compose_alert,
    DIGEST: lambda tx, event: compose_digest(event.payload, event.id),
    **dict.fromkeys(TO_SUBMITTERS, compose_to_submitter),
}
