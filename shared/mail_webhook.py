"""Mailgun's inbound webhook: a route whose action forwards mail to a URL ending in
`mime` posts the raw message (`body-mime`) with the SMTP recipient, signed with the
account's webhook signing key: `signature` is the hex HMAC-SHA256 of `timestamp` and
`token`. Mailgun's own SPF and DKIM verdicts travel in the message's X-Mailgun-Spf and
X-Mailgun-Dkim-Check-Result headers, which it adds on receipt.

Mailgun retries any answer but 200 and 406 for hours: a refused mail is answered 406
(with the reason), so it is not posted again; a sender over the anonymous limits gets
429, and Mailgun posts the mail again later.
"""
from __future__ import annotations

import email.parser
import email.policy
import hashlib
import hmac
import time

import flask

from shared import errors, logs, mail_intake, secrets
from shared.config import settings

FORM_OVERHEAD = 64 * 1024  # the form's other fields around the message


def verify(form: dict[str, str]) -> None:
    """The post was signed with the deployment's key, and lately; Unauthorized otherwise."""
    cfg = settings()
    key = secrets.value(cfg.mailgun_signing_key, cfg.mailgun_signing_key_secret)
    if not key:
        logs.log("ERROR", "no Mailgun signing key is configured (MAILGUN_SIGNING_KEY_SECRET)")
        raise errors.Unauthorized("This deployment cannot verify Mailgun's posts.")
    timestamp, token, signature = form.get("timestamp", ""), form.get("token", ""), form.get("signature", "")
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not (timestamp and token and hmac.compare_digest(expected.encode(), signature.encode())):
        raise errors.Unauthorized("The post's signature does not match (timestamp, token, signature).")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > cfg.mailgun_max_age_seconds:
        raise errors.Unauthorized("The post's timestamp is too old or in the future: it may be a replay.")


def receive(request: flask.Request) -> dict[str, str | None]:
    """Take one post: what became of its mail; MailRefused (406) when refused for good."""
    limit = settings().intake_max_mail_bytes
    if (request.content_length or 0) > limit + FORM_OVERHEAD:
        raise _refused(mail_intake.Refused(552, "5.3.4", f"The mail is over the {mail_intake.size_text(limit)} limit"
                                                         " for feedback mails. Send large files as links."))
    # Flask takes form fields of up to 500 KB by default; the message is one field.
    request.max_form_memory_size = request.max_content_length = limit + FORM_OVERHEAD
    form = request.form.to_dict()
    verify(form)
    raw = form.get("body-mime", "").encode("utf-8", "surrogateescape")
    recipients = [r.strip() for r in form.get("recipient", "").split(",") if r.strip()]
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    verdict = mail_intake.Verdict(spf=headers.get("X-Mailgun-Spf"), dkim=headers.get("X-Mailgun-Dkim-Check-Result"))
    try:
        taken = mail_intake.receive(raw, recipients, verdict)
    except mail_intake.Refused as exc:
        raise _refused(exc) from None
    return {"outcome": taken.outcome, "detail": taken.detail, "item_id": str(taken.item_id) if taken.item_id else None}


def _refused(exc: mail_intake.Refused) -> errors.ApiError:
    return errors.MailRefused(exc.reason, smtp=exc.smtp_reply())
