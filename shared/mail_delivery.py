"""Delivering the outbox's mail rows (the notify function's handler): each mail composed
by shared/mail.py, then sent over SMTP as configured (STARTTLS, login with a password
from Secret Manager); without SMTP_HOST it is written to the log instead, and to MAIL_DIR
where that is set (the local demo's mailbox).

A submitter who opted out, whose address bounces, or whom we cannot vouch for as a sender
gets no notice. A sign-in request is no mail: shared/signin.py answers it, and queues the
sign-in mail if the address is a team member's.
"""
from __future__ import annotations

import email.message
import smtplib
import ssl
from pathlib import Path
from typing import Any

from shared import logs, mail, queries, secrets, signin, tenants
from shared.config import settings
from shared.db import Tx
from shared.outbox import Claimed, PermanentFailure

SMTP_TIMEOUT_SECONDS = 20
SIGNIN_REQUEST = "signin_request"  # no mail yet: a link asked for an address, looked up here


def send_notice(tx: Tx, event: Claimed) -> str:
    """The outbox handler for mail rows."""
    notice = event.payload["notice"]
    to = event.payload["to"].lower()
    if notice == SIGNIN_REQUEST:
        return "sent" if signin.answer_request(tx, to) else "skipped"
    if notice in mail.TO_SUBMITTERS and tx.scalar(queries.MAIL_SUPPRESSED, tenant=event.tenant_id, email=to,
                                                 item=event.item_id):
        return "skipped"  # opted out, bouncing, or a sender we cannot vouch for
    message = mail.COMPOSERS[notice](tx, event)
    if settings().smtp_host:
        _send(message, _return_path(event.payload))
    else:
        # No address, no link: a log is kept longer and read more widely than a mailbox. The
        # local demo's mailbox is a folder of .eml files, which the line names.
        kept = _keep(message, event.id) if settings().mail_dir else None
        logs.log("INFO", "mail (no SMTP configured)", to=redacted(to), subject=message["Subject"],
                 message_id=message["Message-ID"], **({"file": str(kept)} if kept else {}))
    return "sent"


def _keep(message: email.message.EmailMessage, event_id: int) -> Path:
    """Write a mail to MAIL_DIR as EVENT.eml (a retry writes the same file)."""
    folder = Path(settings().mail_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{event_id}.eml"
    path.write_bytes(message.as_bytes())
    return path


def redacted(address: str) -> str:
    """Enough of an address to tell mails apart in a log: a***@example.com."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def _return_path(payload: dict[str, Any]) -> str | None:
    """Where a mail's bounces go: for a submitter's mail, the tenant's intake address, whose
    intake marks the address as bouncing (shared/mail_intake.py); else the From address."""
    return tenants.intake_address(payload["tenant_slug"]) if payload.get("tenant_slug") else None


def _send(message: email.message.EmailMessage, return_path: str | None = None) -> None:
    cfg = settings()
    password = secrets.value(cfg.smtp_password, cfg.smtp_password_secret)
    try:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=cfg.smtp_ca_file or None))
            if cfg.smtp_user:
                _login(smtp, cfg.smtp_user, password, cfg.smtp_password_secret)
            smtp.send_message(message, from_addr=return_path)
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
