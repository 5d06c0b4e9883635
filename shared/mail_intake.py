"""Feedback by mail. A mail to a tenant's address, feedback+<slug>@INTAKE_DOMAIN, becomes
an item with source `email`: the subject its summary (a prefix such as `[bug]` or
`Feature:` chooses the type), the text its description (HTML converted, quoted replies
and signatures left out), the attachments listed in its context, not kept. The sender
is the submitter, under the anonymous limits, and gets one acknowledgement with the
link to the item's status page.

A reply to one of our mails (its In-Reply-To or References names our Message-ID) from
the item's submitter makes no new item: it is added to the item's history. Mails the
provider's SPF or DKIM check failed, and mails over INTAKE_MAX_MAIL_BYTES, are refused
with a reason a bounce can carry; auto-replies and our own mails coming back are
dropped; a mail seen before (its Message-ID) is taken once.

Mail reaches this module from Mailgun's inbound webhook (functions/email_intake) or,
locally, from the SMTP listener of `manage.py serve` (shared/devserver.py).
"""
from __future__ import annotations

import base64
import email
import email.message
import email.policy
import email.utils
import hashlib
import html.parser
import json
import re
import uuid
from dataclasses import dataclass

import pydantic

from shared import db, feedback, outbox, queries
from shared.auth import Principal
from shared.config import settings
from shared.items import audit
from shared.models import FeedbackCreate

TYPES = {"bug": "bug", "feature": "feature", "feature request": "feature", "idea": "feature",
         "performance": "performance", "perf": "performance", "docs": "docs", "documentation": "docs",
         "ux": "ux", "design": "ux", "question": "other", "other": "other"}
_PREFIX = re.compile(r"^\s*(?:\[(?P<bracket>[a-z ]+)\]|(?P<colon>[a-z ]+?)\s*:)\s*", re.IGNORECASE)
_OUR_MESSAGE = re.compile(r"<feedback-event-\d+(?:\.([A-Za-z0-9_-]{22}))?@[^>]+>")
_QUOTE_HEADER = re.compile(r"^(On .+ wrote:|Le .+ a écrit :|Am .+ schrieb .+:|-{2,} ?Original Message ?-{2,})\s*$")
MAX_SUMMARY = 200
MAX_DESCRIPTION = 10_000


class Refused(Exception):
    """A mail refused for good, with the SMTP reply a bounce carries."""

    def __init__(self, code: int, status: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.status, self.reason = code, status, reason

    def smtp_reply(self) -> str:
        return f"{self.code} {self.status} {self.reason}"


@dataclass(frozen=True)
class Taken:
    """What became of a mail that was not refused."""

    outcome: str  # created | reply | duplicate | dropped
    detail: str
    item_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Verdict:
    """The receiving provider's checks of the sender (None: not checked, as locally)."""

    spf: str | None = None
    dkim: str | None = None

    def failure(self) -> str | None:
        if (self.spf or "").lower() in ("fail", "softfail"):
            return f"the sender's domain does not allow the server it came from (SPF {self.spf})"
        if (self.dkim or "").lower() == "fail":
            return "its DKIM signature does not verify"
        return None


def receive(raw: bytes, recipients: list[str], verdict: Verdict | None = None) -> Taken:
    """Take one mail, as its SMTP envelope names its recipients; Refused if it is not taken."""
    limit = settings().intake_max_mail_bytes
    if len(raw) > limit:
        raise Refused(552, "5.3.4", f"The mail is {size_text(len(raw))}; feedback mails may be at most {size_text(limit)}."
                                    " Send large files as links.")
    slug = _tenant_slug(recipients)
    message = _parse(raw)
    sender_name, sender = email.utils.parseaddr(str(message.get("From", "")))
    # Counted before anything can refuse it, as anonymous submissions are (RateLimited when
    # over: a 4xx, so the sender's server tries again later).
    tenant_id = feedback.meter_mail(slug, sender)
    if tenant_id is None:
        raise Refused(550, "5.1.1", f"No feedback address {recipients[0]} here: check the address.")
    failure = verdict.failure() if verdict else None
    if failure:
        raise Refused(550, "5.7.1", f"The mail failed the receiving server's checks: {failure}.")
    dropped = _automatic(message)
    if dropped:
        return Taken("dropped", dropped)
    if "@" not in sender:
        raise Refused(550, "5.1.7", "The mail has no sender address in its From header.")
    message_id = _message_id(message, raw)
    try:
        with db.transaction() as tx:
            tx.hold_commits()  # the item, its record and its acknowledgement commit together
            tx.set_tenant(tenant_id)
            if tx.one(queries.INBOUND_MAIL_SEEN, tenant=tenant_id, message_id=message_id):
                return Taken("duplicate", "taken before")
            text = _text(message)
            answered = _answered_item(tx, tenant_id, message, sender)
            if answered is not None:
                submitter = Principal("anonymous", tenant_id, None, f"mail:{sender.lower()}")
                audit(tx, submitter, tenant_id, answered, "submitter_message", None,
                      {"subject": _one_line(str(message.get("Subject", ""))), "message": text})
                _record(tx, tenant_id, message_id, answered, "reply")
                return Taken("reply", "added to the item's history", answered)
            item = _submit(tx, tenant_id, message, sender, sender_name, text)
            _record(tx, tenant_id, message_id, item, "created")
            # One acknowledgement, threaded with the mail, linking to the status page.
            outbox.enqueue(tx, queries.ENQUEUE_MAIL, tenant=tenant_id, id=item, notice="received", status="new",
                           response=None, reason=None, in_reply_to=message_id)
    except _TakenElsewhere:
        return Taken("duplicate", "taken by another delivery at the same time")
    return Taken("created", "a new item", item)


# --- reading the mail


def _tenant_slug(recipients: list[str]) -> str:
    """The slug of the first recipient that is a tenant's intake address."""
    domain = settings().intake_domain.lower()
    for recipient in recipients:
        local, _, host = email.utils.parseaddr(recipient)[1].lower().rpartition("@")
        base, plus, slug = local.partition("+")
        if host == domain and base == "feedback" and plus and slug:
            return slug
    raise Refused(550, "5.1.1", f"No feedback address {', '.join(recipients) or '(none)'} here: tenants' addresses"
                                f" are feedback+NAME@{domain}.")


def _parse(raw: bytes) -> email.message.EmailMessage:
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        message.get("From")  # headers are parsed when read
    except Exception as exc:  # the parser's errors are of many kinds; none is the sender's fault alone
        raise Refused(550, "5.6.0", f"The mail could not be read as MIME ({type(exc).__name__}).") from None
    if not isinstance(message, email.message.EmailMessage) or not message.keys():
        raise Refused(550, "5.6.0", "The mail could not be read as MIME: it has no headers.")
    return message


def _automatic(message: email.message.EmailMessage) -> str | None:
    """Why a mail is an auto-reply, a bulk mail or one of ours come back; None otherwise."""
    if str(message.get("Auto-Submitted", "no")).strip().lower() != "no":
        return "an automatic mail (Auto-Submitted)"
    if str(message.get("Precedence", "")).strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "a bulk or automatic mail (Precedence)"
    if message.get("X-Autoreply") or message.get("X-Autorespond") or message.get("X-Auto-Response-Suppress"):
        return "an automatic reply"
    ours = email.utils.parseaddr(settings().mail_from)[1].lower()
    if email.utils.parseaddr(str(message.get("From", "")))[1].lower() == ours:
        return "a mail of ours come back (a loop)"
    if _OUR_MESSAGE.search(str(message.get("Message-ID", ""))):
        return "a mail of ours come back (a loop)"
    return None


def _message_id(message: email.message.EmailMessage, raw: bytes) -> str:
    found = str(message.get("Message-ID", "")).strip()
    return found[:998] if found else f"<sha256-{hashlib.sha256(raw).hexdigest()}@no-message-id>"


def _answered_item(tx: db.Tx, tenant_id: uuid.UUID, message: email.message.EmailMessage,
                   sender: str) -> uuid.UUID | None:
    """The item one of our mails this one answers was about (our Message-IDs name it), if
    its submitter sent it."""
    named = " ".join(str(message.get(h, "")) for h in ("In-Reply-To", "References"))
    items = [str(uuid.UUID(bytes=base64.urlsafe_b64decode(found + "=="))) for found in _OUR_MESSAGE.findall(named)
             if found]
    if not items:
        return None
    return tx.scalar(queries.ANSWERED_ITEM, tenant=tenant_id, items=items, sender=sender.lower())


def _text(message: email.message.EmailMessage) -> str:
    """The mail's own words: its text part (or its HTML as text), quotes and signature left out."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_type() == "text/html":
        content = _html_text(content)
    return _own_words(content)[:MAX_DESCRIPTION]


def _own_words(text: str) -> str:
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.rstrip() == "--" or _QUOTE_HEADER.match(line.strip()):
            break  # a signature, or the message being answered
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip()


class _HtmlText(html.parser.HTMLParser):
    """Text of an HTML mail: blocks on lines of their own, quoted parts and scripts left out."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}
    SKIPPED = {"script", "style", "head", "title", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _html_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _attachments(message: email.message.EmailMessage) -> list[dict[str, object]]:
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        found.append({"name": part.get_filename() or "(unnamed)", "type": part.get_content_type(),
                      "size": len(payload) if isinstance(payload, bytes) else 0})
    return found[:20]


def _type_and_summary(subject: str) -> tuple[str, str]:
    match = _PREFIX.match(subject)
    named = (match.group("bracket") or match.group("colon") or "").strip().lower() if match else ""
    if match and named in TYPES:
        return TYPES[named], subject[match.end():].strip()
    return "other", subject.strip()


# --- the item


def _submit(tx: db.Tx, tenant_id: uuid.UUID, message: email.message.EmailMessage, sender: str,
            sender_name: str, text: str) -> uuid.UUID:
    feedback_type, summary = _type_and_summary(_one_line(str(message.get("Subject", ""))))
    summary = summary or (text.split("\n", 1)[0] if text else "") or "(no subject)"
    context: dict[str, object] = {"received_by": "email"}
    attachments = _attachments(message)
    if attachments:
        context["attachments"] = attachments
    try:
        body = FeedbackCreate.model_validate({
            "feedback_type": feedback_type, "summary": summary[:MAX_SUMMARY], "description": text,
            "source": "email", "context": context, "submitter_email": sender.lower(),
            "submitter_name": _one_line(sender_name)[:200] or None})
    except pydantic.ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise Refused(550, "5.6.0", f"The mail could not become feedback ({fields}).") from None
    made = feedback.submit(tx, Principal("anonymous", tenant_id, None, "anonymous"), body, idempotency_key=None)
    return uuid.UUID(json.loads(made.body)["id"])


class _TakenElsewhere(Exception):
    """Another delivery of the same mail committed first: this one is rolled back."""


def _record(tx: db.Tx, tenant_id: uuid.UUID, message_id: str, item_id: uuid.UUID, outcome: str) -> None:
    if not tx.rows(queries.INBOUND_MAIL_TAKEN, tenant=tenant_id, message_id=message_id, item=item_id,
                   outcome=outcome):
        raise _TakenElsewhere()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def size_text(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{count // 1024} KB"
