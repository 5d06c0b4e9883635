"""Feedback by mail. A mail to a tenant's address, feedback+<slug>@INTAKE_DOMAIN, becomes
an item with source `email`: the subject its summary (a prefix such as `[bug]` or
`Feature:` chooses the type), the text its description (HTML converted, quoted replies
and signatures left out), the attachments listed in its context, not kept. The sender
is the submitter, under the anonymous limits, and gets one acknowledgement with the
link to the item's status page.

A reply to one of our mails makes no new item when it names a Message-ID minted here
(shared/mail_ids.py: a secret tag, not the item's id alone) and comes from the item's
submitter: it is added to the item's history. One that only claims to be a reply is a
new item, its context saying so. Mails the provider's SPF or DKIM check failed, and
mails over INTAKE_MAX_MAIL_BYTES, are refused with a reason a bounce can carry.

Not feedback, dropped and never answered: delivery reports, read receipts and abuse
reports (multipart/report), mails from the null sender or a mailer daemon, auto-replies
(RFC 3834's Auto-Submitted and the common vendor headers), bulk and junk mail, and our
own mails coming back. A delivery report of one of our mails that failed for good marks
its recipient as bouncing: no more mail goes to it (shared/mail_delivery.py). Taken but not
acknowledged: mailing-list mail (Precedence: list), mail that asks for no auto-reply
(X-Auto-Response-Suppress), and, where the provider's verdicts exist, mail whose From
domain does not authenticate (SPF or DKIM aligned with it): mailing a forged sender is
backscatter. A mail seen before (its Message-ID) is taken once, and counts against the
sender's allowance once.

Mail reaches this module from Mailgun's inbound webhook (functions/email_intake) or,
locally, from the SMTP listener of `manage.py serve` (shared/devserver.py).
"""
from __future__ import annotations

import email
import email.headerregistry
import email.message
import email.policy
import email.utils
import functools
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pydantic

from shared import db, feedback, mail_body, mail_ids, outbox, queries
from shared.rendering import one_line
from shared.auth import Principal
from shared.config import settings
from shared.items import audit
from shared.models import FeedbackCreate

TYPES = {"bug": "bug", "feature": "feature", "feature request": "feature", "idea": "feature",
         "performance": "performance", "perf": "performance", "docs": "docs", "documentation": "docs",
         "ux": "ux", "design": "ux", "question": "other", "other": "other"}
_PREFIX = re.compile(r"^\s*(?:\[(?P<bracket>[a-z ]+)\]|(?P<colon>[a-z ]+?)\s*:)\s*", re.IGNORECASE)
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
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
    """The receiving provider's checks of a mail (receive() is given None where nothing
    was checked, as by the local listener). The mail itself may carry headers of the same
    names: with several, a check passes only if every one says so, and fails if any does."""

    spf: tuple[str, ...] = ()  # each X-Mailgun-Spf: the envelope sender's domain's SPF result
    dkim: tuple[str, ...] = ()  # each X-Mailgun-Dkim-Check-Result
    envelope_sender: str = ""  # the SMTP MAIL FROM that SPF checked
    dns: Callable[..., bytes | None] | None = field(default=None, compare=False)  # TXT lookups (dkimpy's own)

    def failure(self) -> str | None:
        failed = [r for r in self.spf if r.strip().lower() in ("fail", "softfail")]
        if failed:
            return f"the sender's domain does not allow the server it came from (SPF {failed[0].strip()})"
        if any(r.strip().lower() == "fail" for r in self.dkim):
            return "its DKIM signature does not verify"
        return None

    def authenticates(self, author: str, raw: bytes) -> bool:
        """Whether the From address's domain vouches for the mail: SPF passed for an envelope
        sender of that domain, or a DKIM signature of that domain verifies."""
        domain = author.rpartition("@")[2]
        spf_passed = bool(self.spf) and all(r.strip().lower() == "pass" for r in self.spf)
        if spf_passed and _aligned(self.envelope_sender.rpartition("@")[2], domain):
            return True
        return any(_aligned(signer, domain) for signer in dkim_domains(raw, self.dns))


def _aligned(signer: str, author: str) -> bool:
    """The domains are one, or one is under the other: whoever controls the signer's DNS
    controls the author's domain too (no public suffix list needed, unlike sibling domains)."""
    signer, author = signer.lower().rstrip("."), author.lower().rstrip(".")
    return bool(signer and author) and (signer == author or signer.endswith("." + author)
                                        or author.endswith("." + signer))


MAX_DKIM_SIGNATURES = 5  # each costs a DNS lookup


def dkim_domains(raw: bytes, dns: Callable[..., bytes | None] | None = None) -> list[str]:
    """The domains (d=) of the mail's DKIM signatures that verify, looked up in DNS (or `dns`)."""
    if b"dkim-signature" not in raw.lower():
        return []
    import dkim  # only for signed mail

    try:
        checker = dkim.DKIM(raw)
    except dkim.DKIMException:  # not a mail dkimpy can read
        return []
    signatures = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    found = []
    for index in range(min(signatures, MAX_DKIM_SIGNATURES)):
        try:
            verified = checker.verify(index, dns or dkim.dnsplug.get_txt)
        except dkim.DKIMException:
            verified = False
        if verified and checker.domain:
            found.append(checker.domain.decode("ascii", "replace"))
    return found


def receive(raw: bytes, recipients: list[str], verdict: Verdict | None = None,
            envelope_sender: str | None = None) -> Taken:
    """Take one mail, as its SMTP envelope names its sender ("" for the null sender of
    bounces; None: not known) and recipients; Refused if it is not taken."""
    limit = settings().intake_max_mail_bytes
    if len(raw) > limit:
        raise Refused(552, "5.3.4", f"The mail is {size_text(len(raw))}; feedback mails may be at most {size_text(limit)}."
                                    " Send large files as links.")
    slug = _tenant_slug(recipients)
    message = _parse(raw)
    sender_name, sender = email.utils.parseaddr(str(message.get("From", "")))
    message_id = _message_id(message, raw)
    if _seen_before(slug, recipients, message_id):
        return Taken("duplicate", "taken before")
    # Counted before anything else can refuse it, as anonymous submissions are (RateLimited
    # when over: a 4xx, so the sender's server tries again later); a redelivery is not.
    tenant_id = feedback.meter_mail(slug, sender)
    if tenant_id is None:
        raise _no_tenant(recipients)
    failure = verdict.failure() if verdict else None
    if failure:
        raise Refused(550, "5.7.1", f"The mail failed the receiving server's checks: {failure}.")
    automatic = _automatic(message, envelope_sender)
    if automatic:
        return Taken("dropped", automatic + _note_bounces(tenant_id, message))
    if "@" not in sender:
        raise Refused(550, "5.1.7", "The mail has no sender address in its From header.")
    unanswered = _why_not_acknowledged(message)
    unauthenticated = UNAUTHENTICATED if verdict is not None and not verdict.authenticates(sender, raw) else None
    try:
        with db.transaction() as tx:
            tx.hold_commits()  # the item, its record and its acknowledgement commit together
            if _taken_before(tx, tenant_id, message_id):
                return Taken("duplicate", "taken before")
            text = mail_body.text(message)[:MAX_DESCRIPTION]
            answered, claim = _answered_item(tx, tenant_id, message, sender)
            if answered is not None:
                submitter = Principal("anonymous", tenant_id, None, f"mail:{sender.lower()}")
                audit(tx, submitter, tenant_id, answered, "submitter_message", None,
                      {"subject": one_line(str(message.get("Subject", ""))), "message": text})
                _record(tx, tenant_id, message_id, answered, "reply")
                return Taken("reply", "added to the item's history", answered)
            # Told to the team in the item's context; an unauthenticated sender gets no mail at all.
            notes = {"claimed_reply": claim, "not_acknowledged": unanswered, "unauthenticated_sender": unauthenticated}
            item = _submit(tx, tenant_id, message, sender, sender_name, text, {k: v for k, v in notes.items() if v})
            _record(tx, tenant_id, message_id, item, "created")
            silent = unanswered or unauthenticated
            if not silent:  # one acknowledgement, threaded with the mail, linking to the status page
                outbox.enqueue(tx, queries.ENQUEUE_MAIL, tenant=tenant_id, id=item, notice="received",
                               status="new", response=None, reason=None, in_reply_to=message_id)
    except _TakenElsewhere:
        return Taken("duplicate", "taken by another delivery at the same time")
    return Taken("created", "a new item" + (f", not acknowledged: {silent}" if silent else ""), item)


def _seen_before(slug: str, recipients: list[str], message_id: str) -> bool:
    """Whether the tenant took this mail before; Refused for an address no tenant has."""
    with db.transaction() as tx:
        tenant_id = tx.scalar(queries.INTAKE_TENANT, slug=slug)
        if tenant_id is None:
            raise _no_tenant(recipients)
        return _taken_before(tx, tenant_id, message_id, final=True)


def _taken_before(tx: db.Tx, tenant_id: uuid.UUID, message_id: str, *, final: bool = False) -> bool:
    """Whether the tenant took this mail before, the transaction's tenant set to it in the
    same write (a round trip less on every mail); `final`: the transaction ends there."""
    _, seen = tx.batch((queries.SET_TENANT, {"tenant": str(tenant_id), "staff": ""}),
                       (queries.INBOUND_MAIL_SEEN, {"tenant": tenant_id, "message_id": message_id}), final=final)
    return bool(seen)


def _no_tenant(recipients: list[str]) -> Refused:
    return Refused(550, "5.1.1", f"No feedback address {recipients[0]} here: check the address.")


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


class _HeadersParsedOnce(email.headerregistry.HeaderRegistry):
    """The standard header factory for one mail, parsing each of its headers once however
    often it is read: the standard one parses it again on every read (a mail's Content-Type
    and From are read many times over), which was the largest part of reading a mail."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], Any] = {}

    def __call__(self, name: str, value: str) -> Any:
        key = (name, value)
        if key not in self._parsed:  # header objects are immutable: one serves every read
            self._parsed[key] = super().__call__(name, value)
        return self._parsed[key]

    def __getitem__(self, name: str) -> type:
        return _header_class(self.registry.get(name.lower(), self.default_class), self.base_class)


@functools.cache
def _header_class(kind: type, base: type) -> type:
    """A header kind's class, made once (as the standard factory makes it on every parse)."""
    return type("_" + kind.__name__, (kind, base), {})


def _parse(raw: bytes) -> email.message.EmailMessage:
    try:
        policy = email.policy.default.clone(header_factory=_HeadersParsedOnce())
        message = email.message_from_bytes(raw, policy=policy)
        message.get("From")  # headers are parsed when read
    except Exception as exc:  # the parser's errors are of many kinds; none is the sender's fault alone
        raise Refused(550, "5.6.0", f"The mail could not be read as MIME ({type(exc).__name__}).") from None
    if not isinstance(message, email.message.EmailMessage) or not message.keys():
        raise Refused(550, "5.6.0", "The mail could not be read as MIME: it has no headers.")
    return message


REPORTS = {"delivery-status": "a delivery report (RFC 3464)", "disposition-notification": "a read receipt (RFC 8098)",
           "feedback-report": "an abuse report (RFC 5965)"}
DAEMONS = {"mailer-daemon", "postmaster", "post_master"}
# Headers auto-responders set besides RFC 3834's Auto-Submitted (Exchange: its transport
# agents' mails, out-of-office among them).
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-MS-Exchange-Generated-Message-Source")


def _automatic(message: email.message.EmailMessage, envelope_sender: str | None) -> str | None:
    """Why a mail is a report, an auto-reply, a bulk mail or one of ours come back; None
    for a mail a person wrote."""
    if message.get_content_type() == "multipart/report":
        return REPORTS.get(str(message.get_param("report-type", "")).lower(), "a report (multipart/report)")
    name, address = email.utils.parseaddr(str(message.get("From", "")))
    null_return = any(str(v).strip() in ("", "<>") for v in message.get_all("Return-Path") or ())
    null_envelope = envelope_sender is not None and not envelope_sender.strip("<> ")
    if null_envelope or null_return or (message.get("From") is not None and not address):
        return "a mail from the null sender (a bounce)"
    returns = [email.utils.parseaddr(str(v))[1] for v in message.get_all("Return-Path") or ()]
    if any(a.partition("@")[0].lower() in DAEMONS for a in [address, *returns]) or name.strip().lower() in DAEMONS:
        return "a mail from a mailer daemon (a bounce)"
    if str(message.get("Auto-Submitted", "no")).partition(";")[0].strip().lower() != "no":
        return "an automatic mail (Auto-Submitted)"
    if any(message.get(h) is not None for h in AUTO_REPLY_HEADERS):
        return "an automatic reply"
    if str(message.get("Precedence", "")).strip().lower() in ("bulk", "junk", "auto_reply"):
        return "a bulk or automatic mail (Precedence)"
    if address.lower() == email.utils.parseaddr(settings().mail_from)[1].lower():
        return "a mail of ours come back (a loop)"
    if mail_ids.looks_ours(str(message.get("Message-ID", ""))):
        return "a mail of ours come back (a loop)"
    return None


UNAUTHENTICATED = "its sender's domain does not vouch for it (neither SPF nor DKIM passed for that domain)"


def _why_not_acknowledged(message: email.message.EmailMessage) -> str | None:
    """Why a mail taken as feedback gets no acknowledgement, whoever sent it; None when it gets one."""
    suppressed = {w.strip().lower() for w in str(message.get("X-Auto-Response-Suppress", "")).split(",")}
    if suppressed & {"all", "autoreply"}:
        return "it asks for no automatic reply (X-Auto-Response-Suppress)"
    if str(message.get("Precedence", "")).strip().lower() == "list":
        return "it came through a mailing list (Precedence: list)"
    if len(email.utils.getaddresses([str(v) for v in message.get_all("From") or ()])) != 1:
        return "it names more than one sender"
    return None


# --- delivery reports of our mails


def _note_bounces(tenant_id: uuid.UUID, message: email.message.EmailMessage) -> str:
    """Mark the recipients a delivery report of one of our mails says are refused for good;
    what was marked, as a note to the report's outcome."""
    failed = _failed_recipients(message)
    if not failed:
        return ""
    returned = _returned_headers(message)
    marked = []
    with db.transaction() as tx:
        tx.set_tenant(tenant_id)
        ours = mail_ids.items_named(tx, " ".join(str(returned.get(h, "")) for h in ("Message-ID", "References")))
        submitters = {r[1] for r in tx.rows(queries.ITEM_SUBMITTERS, tenant=tenant_id, items=[str(i) for i in ours])}
        for address, status, diagnostic in failed:
            # A report naming a mail of ours tells whom it was for; one that does not (some
            # servers return no headers) is believed for an address that submitted here.
            if address in submitters or (not ours and tx.scalar(queries.IS_SUBMITTER, tenant=tenant_id,
                                                                 email=address)):
                tx.rows(queries.MARK_BOUNCING, tenant=tenant_id, email=address, status=status,
                        diagnostic=diagnostic[:500] or None)
                marked.append(address)
    return f"; marked as bouncing: {', '.join(marked)}" if marked else ""


def _failed_recipients(message: email.message.EmailMessage) -> list[tuple[str, str, str]]:
    """(address, status, diagnostic) of each recipient an RFC 3464 report says failed for
    good (Action: failed, a 5.x.x status), the report itself or wrapped by a gateway."""
    if not any(str(part.get_param("report-type", "")).lower() == "delivery-status" for part in message.walk()):
        return []
    found = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for fields in part.get_payload():  # the per-message fields, then one block per recipient
            if not isinstance(fields, email.message.Message):
                continue
            recipient = str(fields.get("Final-Recipient") or fields.get("Original-Recipient") or "")
            address = email.utils.parseaddr(recipient.partition(";")[2] or recipient)[1].lower()
            status = "".join(str(fields.get("Status", "")).split()[:1])  # the code, without a comment after it
            if _ADDRESS.fullmatch(address) and str(fields.get("Action", "")).strip().lower() == "failed" \
                    and status.startswith("5"):
                found.append((address, status[:20], one_line(str(fields.get("Diagnostic-Code", "")))))
    return found


def _returned_headers(message: email.message.EmailMessage) -> email.message.Message:
    """The headers of the mail a report returns (message/rfc822 or text/rfc822-headers)."""
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "message/global"):
            returned = part.get_payload()
            if isinstance(returned, list) and returned and isinstance(returned[0], email.message.Message):
                return returned[0]
        if part.get_content_type() in ("text/rfc822-headers", "message/global-headers"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return email.message_from_bytes(payload, policy=email.policy.default)
    return email.message.Message()


def _message_id(message: email.message.EmailMessage, raw: bytes) -> str:
    found = str(message.get("Message-ID", "")).strip()
    return found[:998] if found else f"<sha256-{hashlib.sha256(raw).hexdigest()}@no-message-id>"


def _answered_item(tx: db.Tx, tenant_id: uuid.UUID, message: email.message.EmailMessage,
                   sender: str) -> tuple[uuid.UUID | None, str | None]:
    """The item one of our mails this one answers was about, if its submitter sent it;
    else, if the mail claims to answer one of ours, why it is taken as new feedback."""
    named = " ".join(str(message.get(h, "")) for h in ("In-Reply-To", "References"))
    if not mail_ids.looks_ours(named):
        return None, None
    items = mail_ids.items_named(tx, named)
    if not items:
        return None, "it names a Message-ID of ours that was not minted here"
    submitters = dict(tx.rows(queries.ITEM_SUBMITTERS, tenant=tenant_id, items=[str(i) for i in items]))
    answered = next((i for i in items if submitters.get(i) == sender.lower()), None)
    return answered, None if answered else "it does not come from the address of the item it answers"


def _type_and_summary(subject: str) -> tuple[str, str]:
    match = _PREFIX.match(subject)
    named = (match.group("bracket") or match.group("colon") or "").strip().lower() if match else ""
    if match and named in TYPES:
        return TYPES[named], subject[match.end():].strip()
    return "other", subject.strip()


# --- the item


# What the sender calls the fields a mail fills, for a refusal's reason.
SENDERS_WORDS = {"submitter_email": "the sender's address (From)", "submitter_name": "the sender's name (From)",
                 "summary": "the subject", "description": "the text"}


def _submit(tx: db.Tx, tenant_id: uuid.UUID, message: email.message.EmailMessage, sender: str,
            sender_name: str, text: str, notes: dict[str, Any]) -> uuid.UUID:
    feedback_type, summary = _type_and_summary(one_line(str(message.get("Subject", ""))))
    summary = summary or (text.split("\n", 1)[0] if text else "") or "(no subject)"
    context: dict[str, object] = {"received_by": "email", **notes}
    attachments = mail_body.attachments(message)
    if attachments:
        context["attachments"] = attachments
    try:
        body = FeedbackCreate.model_validate({
            "feedback_type": feedback_type, "summary": summary[:MAX_SUMMARY], "description": text,
            "source": "email", "context": context, "submitter_email": sender.lower(),
            "submitter_name": one_line(sender_name)[:200] or None})
    except pydantic.ValidationError as exc:
        raise Refused(550, "5.6.0", f"The mail could not become feedback: {_in_senders_words(exc)}.") from None
    made = feedback.submit(tx, Principal("anonymous", tenant_id, None, "anonymous"), body, idempotency_key=None)
    return uuid.UUID(json.loads(made.body)["id"])


def _in_senders_words(exc: pydantic.ValidationError) -> str:
    said = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        said.append(f"{SENDERS_WORDS.get(name, 'the mail')} is not accepted"
                    f" ({error['msg'].removeprefix('Value error, ')})")
    return "; ".join(said)


class _TakenElsewhere(Exception):
    """Another delivery of the same mail committed first: this one is rolled back."""


def _record(tx: db.Tx, tenant_id: uuid.UUID, message_id: str, item_id: uuid.UUID, outcome: str) -> None:
    if not tx.rows(queries.INBOUND_MAIL_TAKEN, tenant=tenant_id, message_id=message_id, item=item_id,
                   outcome=outcome):
        raise _TakenElsewhere()


def size_text(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{count // 1024} KB"
