"""Mailgun's inbound webhook: a route whose action forwards mail to a URL ending in
`mime` posts the raw message (`body-mime`) with the SMTP sender and recipient, signed
with the account's webhook signing key: `signature` is the hex HMAC-SHA256 of
`timestamp` and `token` (for a subaccount's domain, `parent-signature` is the same made
with the primary account's key: either may match the key configured here). A token
signs one post: it is remembered until its timestamp leaves the accepted window, and a
second post signed with it carrying anything else is refused. A route to any other URL
posts parsed fields instead (`message-headers`, `body-plain`, `body-html`,
`attachment-N`): the mail is put together from them, but its DKIM signatures cannot be
checked then, so that is logged once as an error naming the fix.

The form is read as bytes: `body-mime` keeps its 8-bit bytes as sent. Mailgun's own SPF
and DKIM verdicts travel in the message's X-Mailgun-Spf and X-Mailgun-Dkim-Check-Result
headers, which it adds on receipt when the domain's spam filter marks mail with MIME
headers.

Mailgun retries any answer but 200 and 406 for hours: a refused mail is answered 406
(with the reason), so it is not posted again; a sender over the anonymous limits gets
429, and Mailgun posts the mail again later.
"""
from __future__ import annotations

import email.message
import email.parser
import email.policy
import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass, field

import flask

from shared import db, errors, logs, mail_intake, queries, secrets
from shared.config import settings

FORM_OVERHEAD = 64 * 1024  # the form's other fields around the message
MAX_DRAINED = 64 * 1024 * 1024  # an oversized post read to its end (and dropped) so that the 406 arrives whole
CHUNK = 64 * 1024
SIGNATURE_FIELDS = ("timestamp", "token", "signature", "parent-signature")
FIX_THE_ROUTE = ("Mailgun posts this route's mail as parsed fields, whose DKIM signatures cannot be checked:"
                 " make the route's action forward to a URL ending in mime (/api/v1/email/inbound/mime)")
_told_of_parsed_posts = False


@dataclass
class Form:
    """A post's fields as sent (bytes), and its files: name -> (filename, type, content)."""

    fields: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return self.fields.get(name, b"").decode("utf-8", "replace")

    def digest(self) -> bytes:
        """What the post carries, all but its signature: a retry of the same post has the same."""
        digest = hashlib.sha256()
        parts = [(k, v) for k, v in self.fields.items() if k not in SIGNATURE_FIELDS]
        parts += [(k, f"{name}\n{kind}".encode() + b"\n" + content) for k, (name, kind, content) in self.files.items()]
        for key, value in sorted(parts):
            digest.update(b"%d:%s%d:%s" % (len(key), key.encode(), len(value), value))
        return digest.digest()


def verify(form: Form) -> None:
    """The post was signed with the deployment's key, lately, and its token signed no
    other post; Unauthorized otherwise."""
    cfg = settings()
    key = secrets.value(cfg.mailgun_signing_key, cfg.mailgun_signing_key_secret)
    if not key:
        logs.log("ERROR", "no Mailgun signing key is configured (MAILGUN_SIGNING_KEY_SECRET)")
        raise errors.Unauthorized("This deployment cannot verify Mailgun's posts.")
    timestamp, token = form.text("timestamp"), form.text("token")
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest().encode()
    signed = any(hmac.compare_digest(expected, form.fields.get(name, b"")) for name in ("signature", "parent-signature"))
    if not (timestamp and token and signed):
        raise errors.Unauthorized("The post's signature does not match (timestamp, token, signature).")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > cfg.mailgun_max_age_seconds:
        raise errors.Unauthorized("The post's timestamp is too old or in the future: it may be a replay.")
    with db.transaction() as tx:
        fresh = tx.scalar(queries.MAILGUN_TOKEN_FRESH, token=token, digest=form.digest(),
                          expires_at=int(timestamp) + cfg.mailgun_max_age_seconds)
    if not fresh:
        raise errors.Unauthorized("The post's token signed another post before: it is a replay.")


def receive(request: flask.Request) -> dict[str, str | None]:
    """Take one post: what became of its mail; MailRefused (406) when refused for good."""
    form = _read(request)
    verify(form)
    raw = form.fields.get("body-mime") or _put_together(form)
    recipients = [r.strip() for r in form.text("recipient").split(",") if r.strip()]
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    sender = form.text("sender") if "sender" in form.fields else None
    verdict = mail_intake.Verdict(spf=tuple(str(v) for v in headers.get_all("X-Mailgun-Spf") or ()),
                                  dkim=tuple(str(v) for v in headers.get_all("X-Mailgun-Dkim-Check-Result") or ()),
                                  envelope_sender=sender or "")
    try:
        taken = mail_intake.receive(raw, recipients, verdict, sender)
    except mail_intake.Refused as exc:
        raise _refused(exc) from None
    return {"outcome": taken.outcome, "detail": taken.detail, "item_id": str(taken.item_id) if taken.item_id else None}


# --- the form, as bytes


def _read(request: flask.Request) -> Form:
    """The post's fields; a post over the limit is read to its end and refused (406)."""
    limit = settings().intake_max_mail_bytes
    body = request.stream.read(limit + FORM_OVERHEAD + 1)
    if len(body) > limit + FORM_OVERHEAD:
        _drain(request)
        raise _refused(mail_intake.Refused(552, "5.3.4", f"The mail is over the {mail_intake.size_text(limit)} limit"
                                                         " for feedback mails. Send large files as links."))
    if request.mimetype == "multipart/form-data":
        return _multipart(body, request.mimetype_params.get("boundary", ""))
    return Form(dict((k.decode("utf-8", "replace"), v)
                     for k, v in urllib.parse.parse_qsl(body, keep_blank_values=True)))


def _drain(request: flask.Request) -> None:
    """Read what is left of a refused post, up to MAX_DRAINED: a server that answers
    before the upload ends and closes the connection resets it, and the sender sees no answer."""
    drained = 0
    while drained < MAX_DRAINED:
        chunk = request.stream.read(CHUNK)
        if not chunk:
            return
        drained += len(chunk)


def _multipart(body: bytes, boundary: str) -> Form:
    from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

    if not boundary:
        raise errors.BadRequest("The multipart post names no boundary.")
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    decoder.receive_data(body)
    decoder.receive_data(None)
    form, current, parts = Form(), None, list[bytes]()
    while True:
        try:
            event = decoder.next_event()
        except ValueError:
            raise errors.BadRequest("The multipart post cannot be read.") from None
        if isinstance(event, (Epilogue, NeedData)):
            return form
        if isinstance(event, (Field, File)):
            current, parts = event, []
        elif isinstance(event, Data) and current is not None:
            parts.append(event.data)
            if event.more_data:
                continue
            if isinstance(current, File):
                form.files[current.name] = (current.filename or "", current.headers.get("Content-Type", ""),
                                            b"".join(parts))
            else:
                form.fields[current.name] = b"".join(parts)


def _put_together(form: Form) -> bytes:
    """The mail of a route that posts parsed fields: its headers around its text, HTML and
    attachments (their parts as Mailgun gives them)."""
    global _told_of_parsed_posts
    if "message-headers" not in form.fields:
        raise _refused(mail_intake.Refused(550, "5.6.0", "The post carries no mail: neither body-mime nor"
                                                         " message-headers. " + FIX_THE_ROUTE + "."))
    if not _told_of_parsed_posts:
        logs.log("ERROR", FIX_THE_ROUTE)
        _told_of_parsed_posts = True
    try:
        headers = [(str(name), str(value)) for name, value in json.loads(form.fields["message-headers"])]
    except (ValueError, TypeError):
        raise _refused(mail_intake.Refused(550, "5.6.0", "The post's message-headers cannot be read.")) from None
    message = email.message.EmailMessage()
    for name, value in headers:
        if not name.lower().startswith(("content-", "mime-version")):
            try:
                message[name] = value
            except ValueError:  # a header no mail may carry (a line break in it): left out
                continue
    message.set_content(form.text("body-plain") or form.text("stripped-text"))
    if "body-html" in form.fields:
        message.add_alternative(form.text("body-html"), subtype="html")
    for name in sorted(n for n in form.files if n.startswith("attachment-")):
        filename, kind, content = form.files[name]
        maintype, _, subtype = kind.partition("/")
        message.add_attachment(content, maintype=maintype or "application", subtype=subtype or "octet-stream",
                               filename=filename)
    return message.as_bytes()


def _refused(exc: mail_intake.Refused) -> errors.ApiError:
    return errors.MailRefused(exc.reason, smtp=exc.smtp_reply())
