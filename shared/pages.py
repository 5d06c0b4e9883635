"""The few pages people open from a mail, as plain HTML without scripts."""
from __future__ import annotations

import html

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
