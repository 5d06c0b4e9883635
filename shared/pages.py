"""The few pages people open from a mail, as plain HTML without scripts."""
from __future__ import annotations

import base64
import datetime
import hashlib
import html
from typing import Any

HTML = "text/html"

_STYLE = ("body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem }"
          " h1 { font-size: 1.4rem } h2 { font-size: 1.1rem }")
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{title}</title><style>{style}</style></head>
<body>
<h1>{title}</h1>
{body}
</body></html>
"""
_STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# What every page is answered with: nothing loads or runs but its own style sheet, its one
# form posts only back to itself, and no other site may frame it. Each page's address holds
# a token: no referrer gives it away, and no cache keeps the page.
SECURITY_HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; style-src '{_STYLE_HASH}'; form-action 'self';"
                               " frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(title: str, body: str) -> str:
    return _PAGE.format(title=title, body=body, style=_STYLE)


def opt_out_form(address: str) -> str:
    # The form posts back to this same URL, token included.
    return _page(
        title="Stop mails about your feedback",
        body=f"<p>Send no more mails about feedback to <strong>{html.escape(address)}</strong>?</p>\n"
        '<form method="post"><button type="submit">Stop these mails</button></form>',
    )


def opted_out(address: str) -> str:
    return _page(
        title="Done",
        body=f"<p>No more mails about your feedback will go to <strong>{html.escape(address)}</strong>.</p>",
    )


def status(item: dict[str, Any], changes: list[dict[str, Any]]) -> str:
    """A submitter's status page (shared/status_page.py)."""
    rows = [("Sent", _day(item["created_at"]))] + [(_words(c["status"]).capitalize(), _day(c["at"])) for c in changes]
    parts = [f"<p><strong>{html.escape(item['summary'])}</strong> ({html.escape(_words(item['type']))})</p>",
             f"<p>Status: <strong>{html.escape(_words(item['status']))}</strong></p>"]
    if item["public_response"]:
        parts.append(f"<h2>The team's response</h2><p>{_paragraphs(item['public_response'])}</p>")
    if item["status"] == "declined" and item["decline_reason"]:
        parts.append(f"<h2>Why it is not planned</h2><p>{_paragraphs(item['decline_reason'])}</p>")
    parts.append("<h2>What happened</h2><ul>" + "".join(
        f"<li>{html.escape(what)}: {html.escape(when)}</li>" for what, when in rows) + "</ul>")
    return _page(title="Your feedback", body="\n".join(parts))


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _day(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%d %B %Y, %H:%M UTC")


def _paragraphs(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.splitlines())
