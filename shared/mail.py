"""Mail to submitters: what happened to their feedback, with a signed opt-out link;
and to team members, the console's sign-in links.

Sent over SMTP as configured (STARTTLS, login with a password from Secret
Manager); without SMTP_HOST the mail is written to the log instead. Each mail's
Message-ID is made from its outbox row, so the one mail a row stands for keeps
one identity whatever happens to its delivery.
"""
from __future__ import annotations

import email.message
import email.utils
import smtplib
import ssl
import urllib.parse
import uuid
from typing import Any

from shared import errors, logs, queries, secrets, signing, status_page, tenancy
from shared.config import settings
from shared.db import Tx
from shared.outbox import Claimed, PermanentFailure

SMTP_TIMEOUT_SECONDS = 20
OPT_OUT_PATH = "/feedback/mail/opt-out/"

SIGNIN = "signin"  # a mail's notice: a team member's sign-in link
ALERT = "alert"  # an urgent (or, where the tenant asks, high) item, to the tenant's admins
DIGEST = "digest"  # an admin's morning digest (shared/digest.py)
TEAM_FOOTER = ("You get this mail as an admin of this tenant. To stop these mails, an operator runs:"
               " python manage.py people configure --email {to} --no-{kind}")
SUBJECTS = {
    "received": "We received your feedback: {summary}",
    "response": "Update on your feedback: {summary}",
    "completed": "Done: {summary}",
    "declined": "Not planned: {summary}",
}
LEADS = {
    "received": "Your feedback has reached the team. Reply to this mail to add to it.",
    "response": "The team has answered your feedback.",
    "completed": "The team has completed your feedback.",
    "declined": "The team has decided not to act on your feedback.",
}


# --- delivering one outbox row


def send_notice(tx: Tx, event: Claimed) -> str:
    """The outbox handler for mail rows."""
    to = event.payload["to"].lower()
    if event.payload["notice"] == SIGNIN:
        message = compose_signin(event.payload, event.id)
    elif event.payload["notice"] == ALERT:
        github = tx.scalar(queries.ITEM_GITHUB_URL, tenant=event.tenant_id, id=event.item_id)
        message = compose_alert(event.payload, event.id, _console_url(f"/items/{event.item_id}/"), github)
    elif event.payload["notice"] == DIGEST:
        message = compose_digest(event.payload, event.id)
    elif tx.scalar(queries.OPTED_OUT, tenant=event.tenant_id, email=to):
        return "skipped"
    else:
        status = status_page.link(status_page.signer(tx), event.tenant_id, event.item_id)
        message = compose(event.payload, event.id, opt_out_url(tx, event.tenant_id, to), status, event.item_id)
    if settings().smtp_host:
        _send(message)
    elif settings().mail_log_bodies:  # the local demo, where the log is the mailbox
        logs.log("INFO", "mail (no SMTP configured)", to=message["To"], subject=message["Subject"],
                 message_id=message["Message-ID"], body=message.get_content())
    else:
        # No address, no working opt-out link: a log is kept longer and read more widely than a mailbox.
        logs.log("INFO", "mail (no SMTP configured)", to=redacted(to), subject=message["Subject"],
                 message_id=message["Message-ID"])
    return "sent"


def redacted(address: str) -> str:
    """Enough of an address to tell mails apart in a log: a***@example.com."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def _message(payload: dict[str, Any], event_id: int, subject: str,
             item_id: uuid.UUID | None = None) -> email.message.EmailMessage:
    """A mail's headers: from the deployment, to the payload's address, named by its outbox
    row and the item it is about (a reply names it back: shared/mail_intake.py)."""
    cfg = settings()
    message = email.message.EmailMessage()
    message["From"] = cfg.mail_from
    message["To"] = email.utils.formataddr((_one_line(payload.get("name") or ""), payload["to"]))
    message["Subject"] = subject
    domain = email.utils.parseaddr(cfg.mail_from)[1].rpartition("@")[2] or "localhost"
    # The item in 22 characters, so that the header stays on one line.
    about = f".{signing.b64(item_id.bytes)}" if item_id else ""
    message["Message-ID"] = f"<feedback-event-{event_id}{about}@{domain}>"
    message["Date"] = email.utils.formatdate(localtime=False)
    return message


def compose_signin(payload: dict[str, Any], event_id: int) -> email.message.EmailMessage:
    """A team member's sign-in link: no opt-out (they asked for it), nothing else in it."""
    message = _message(payload, event_id, "Your sign-in link to Pilot Feedback")
    message.set_content("\n".join([
        f"Hello {payload['name']},", "",
        f"Open this link within {payload['minutes']} minutes to sign in to the Pilot Feedback console:", "",
        payload["link"], "",
        "It works once. If you did not ask for it, ignore this mail: nobody can use it without this mailbox.",
    ]) + "\n")
    return message


def _console_url(path: str) -> str:
    from shared.console_web import BASE  # the console's address; its web layer only then

    return f"{settings().public_base_url}{BASE}{path}"


def compose_alert(payload: dict[str, Any], event_id: int, item_url: str, github: str | None) -> email.message.EmailMessage:
    """An item that needs the team at once: what it is, and where to triage it."""
    priority = payload["priority"]
    message = _message(payload, event_id, f"{priority.capitalize()} feedback: {_one_line(payload['summary'])}")
    lines = [f"Hello {payload['name']},", "", f"This {priority} item needs the team:", "", payload["summary"], "",
             f"Triage it: {item_url}"]
    if github:
        lines.append(f"GitHub issue: {github}")
    lines += ["", "--", TEAM_FOOTER.format(to=payload["to"], kind="alerts")]
    message.set_content("\n".join(lines) + "\n")
    return message


def compose_digest(payload: dict[str, Any], event_id: int) -> email.message.EmailMessage:
    """An admin's morning: due today, breached, new since the last digest."""
    parts = [("Due today", payload["due_today"]), ("Past their SLA", payload["breached"]),
             ("New since your last digest", payload["new"])]
    counts = ", ".join(f"{len(items)} {title.lower()}" for title, items in parts if items)
    message = _message(payload, event_id, f"Your feedback digest for {payload['day']}: {counts}")
    lines = [f"Hello {payload['name']},"]
    for title, items in parts:
        if items:
            lines += ["", f"{title}:"] + [f"- [{it['priority']}] {_one_line(it['summary'])}  "
                                          f"{_console_url('/items/' + it['id'] + '/')}" for it in items]
    lines += ["", f"The inbox: {_console_url('/')}", "", "--", TEAM_FOOTER.format(to=payload["to"], kind="digest")]
    message.set_content("\n".join(lines) + "\n")
    return message


def compose(payload: dict[str, Any], event_id: int, opt_out: str, status: str,
            item_id: uuid.UUID) -> email.message.EmailMessage:
    notice = payload["notice"]
    message = _message(payload, event_id, SUBJECTS[notice].format(summary=_one_line(payload["summary"])), item_id)
    if payload.get("tenant_slug"):  # replies come back as the submitter's messages on the item
        message["Reply-To"] = tenancy.intake_address(payload["tenant_slug"])
    if payload.get("in_reply_to"):  # the acknowledgement of a mail threads with it
        message["In-Reply-To"] = message["References"] = payload["in_reply_to"]
    # RFC 8058 one-click opt-out for mail clients that offer it.
    message["List-Unsubscribe"] = f"<{opt_out}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    lines = [f"Hello{' ' + payload['name'] if payload.get('name') else ''},", "", LEADS[notice], "",
             f"Your feedback: {payload['summary']}", f"Status: {payload['status'].replace('_', ' ')}"]
    if payload.get("reason"):
        lines += ["", "Why:", payload["reason"]]
    if payload.get("response"):
        lines += ["", "Response:", payload["response"]]
    lines += ["", f"Follow your feedback: {status}"]
    lines += ["", "--", "You get this mail because you sent this feedback.",
              f"To get no more mails about your feedback: {opt_out}"]
    message.set_content("\n".join(lines) + "\n")
    return message


def _one_line(text: str) -> str:
    """Header text: line breaks in a summary or name would end the header."""
    return " ".join(text.split())


def _send(message: email.message.EmailMessage) -> None:
    cfg = settings()
    password = secrets.value(cfg.smtp_password, cfg.smtp_password_secret)
    try:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=cfg.smtp_ca_file or None))
            if cfg.smtp_user:
                _login(smtp, cfg.smtp_user, password, cfg.smtp_password_secret)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise PermanentFailure(f"the address was refused ({codes[0]})") from None
        raise
    except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"the mail was refused ({exc.smtp_code})") from None
        raise


def _login(smtp: smtplib.SMTP, user: str, password: str, secret_name: str) -> None:
    try:
        smtp.login(user, password)
    except smtplib.SMTPAuthenticationError:
        # Perhaps the password was rotated: read it afresh for the next attempt.
        if secret_name:
            secrets.forget(secret_name)
        raise smtplib.SMTPAuthenticationError(535, b"login refused") from None


# --- the signed opt-out link (shared/signing.py)
#
# Links signed with a retired key keep working for SIGNING_KEY_GRACE_DAYS.

SIGNING_KEY_GRACE_DAYS = 90
FIRST_KEY = "mail_link"


def opt_out_token(tx: Tx, tenant_id: uuid.UUID, address: str) -> str:
    return signing.sign(signing.current_key(tx, FIRST_KEY), f"{tenant_id}\n{address.lower()}".encode())


def opt_out_url(tx: Tx, tenant_id: uuid.UUID, address: str) -> str:
    base = settings().public_base_url
    if not base:
        # Retried until configured: no mail goes out without a working opt-out link.
        raise RuntimeError("PUBLIC_BASE_URL is not set, so no opt-out link can be made")
    token = urllib.parse.quote(opt_out_token(tx, tenant_id, address))
    return f"{base}{settings().api_base_path}{OPT_OUT_PATH}?token={token}"


def read_opt_out_token(tx: Tx, token: str) -> tuple[uuid.UUID, str]:
    """The tenant and address a token was signed for; Forbidden if it was not signed here
    with a key still honoured."""
    refused = errors.Forbidden("This opt-out link is not valid.")
    payload = signing.verify(tx, token, FIRST_KEY, SIGNING_KEY_GRACE_DAYS * 86400, refused)
    try:
        tenant, _, address = payload.decode().partition("\n")
        tenant_id = uuid.UUID(tenant)
    except ValueError:
        raise refused from None
    if not address:
        raise refused
    return tenant_id, address


def opt_out(tx: Tx, token: str) -> str:
    """Record the opt-out a link asks for; the address it was for."""
    tenant_id, address = read_opt_out_token(tx, token)
    tx.set_tenant(tenant_id)
    tx.rows_and_commit(queries.OPT_OUT, tenant=tenant_id, email=address)
    return address
