"""The few pages people open from a mail, as plain HTML without scripts."""
from __future__ import annotations

import datetime
import html
from typing import Any

HTML = "text/html"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">
<h1 style="font-size: 1.4rem">{title}</h1>
{body}
</body></html>
"""


def opt_out_form(address: str) -> str:
    # The form posts back to this same URL, token included.
    return _PAGE.format(
        title="Stop mails about your feedback",
        body=f"<p>Send no more mails about feedback to <strong>{html.escape(address)}</strong>?</p>\n"
        '<form method="post"><button type="submit">Stop these mails</button></form>',
    )


def opted_out(address: str) -> str:
    return _PAGE.format(
        title="Done",
        body=f"<p>No more mails about your feedback will go to <strong>{html.escape(address)}</strong>.</p>",
    )


def status(item: dict[str, Any], changes: list[dict[str, Any]]) -> str:
    """A submitter's status page (shared/status_page.py)."""
    rows = [("Sent", _day(item["created_at"]))] + [(_words(c["status"]).capitalize(), _day(c["at"])) for c in changes]
    parts = [f"<p><strong>{html.escape(item['summary'])}</strong> ({html.escape(_words(item['type']))})</p>",
             f"<p>Status: <strong>{html.escape(_words(item['status']))}</strong></p>"]
    if item["public_response"]:
        parts.append(f"<h2 style=\"font-size: 1.1rem\">The team's response</h2><p>{_paragraphs(item['public_response'])}</p>")
    if item["status"] == "declined" and item["decline_reason"]:
        parts.append(f"<h2 style=\"font-size: 1.1rem\">Why it is not planned</h2><p>{_paragraphs(item['decline_reason'])}</p>")
    parts.append("<h2 style=\"font-size: 1.1rem\">What happened</h2><ul>" + "".join(
        f"<li>{html.escape(what)}: {html.escape(when)}</li>" for what, when in rows) + "</ul>")
    return _PAGE.format(title="Your feedback", body="\n".join(parts))


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _day(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%d %B %Y, %H:%M UTC")


def _paragraphs(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.splitlines())
