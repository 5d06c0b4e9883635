"""The few pages people open from a mail, as plain HTML without scripts, each a template
of shared/page_templates/ (shared/rendering.py)."""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from markupsafe import Markup

from shared import rendering

HTML = "text/html"

# The one style sheet, written into each page as it is: its hash admits it and nothing else.
_STYLE = (rendering.PAGES / "page.css").read_text()
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


def _page(template: str, **context: Any) -> str:
    return rendering.page(template, style=Markup(_STYLE), **context)


def opt_out_form(address: str) -> str:
    return _page("opt_out_form.html", address=address)


def opted_out(address: str) -> str:
    return _page("opted_out.html", address=address)


def status(item: dict[str, Any], changes: list[dict[str, Any]]) -> str:
    """A submitter's status page (shared/status_page.py)."""
    return _page("status.html", item=item, changes=changes)


def link_expired(days: int) -> str:
    """What a status link older than its tenant allows opens instead."""
    return _page("link_expired.html", days=days)
