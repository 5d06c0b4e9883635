"""One template system for what people read: the pages opened from a mail (HTML,
autoescaped: shared/page_templates/) and mail bodies (text: shared/mail_templates/),
with the filters both use. Jinja2 comes with Flask, which every function imports."""
from __future__ import annotations

import datetime
import functools
import re
from pathlib import Path
from typing import Any

import jinja2

HERE = Path(__file__).parent
PAGES = HERE / "page_templates"
MAILS = HERE / "mail_templates"

# Line breaks of every kind (U+2028 and U+2029 too), other control characters, and the
# bidirectional controls that reorder what a line shows.
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
QUOTED_LIMIT = 120  # characters of an item's text a team mail quotes


def words(value: str | None) -> str:
    """A code as words: in_progress is "in progress"."""
    return (value or "").replace("_", " ")


def one_line(text: str) -> str:
    """Text on one line: in a header a line break would end the header, in a body start a line."""
    return _BREAKS.sub(" ", text).strip()


def quoted(text: str) -> str:
    """An item's text in a team mail: one line, clipped, in quotation marks, so that what a
    submitter wrote cannot pass for lines of the mail (a link to follow, an instruction)."""
    line = one_line(text)
    if len(line) > QUOTED_LIMIT:
        line = line[:QUOTED_LIMIT - 1].rstrip() + "…"
    return f"“{line}”"


def day(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%d %B %Y, %H:%M UTC")


@functools.cache
def _environment(folder: Path, autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=autoescape, auto_reload=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters.update(words=words, one_line=one_line, quoted=quoted, day=day)
    return env


def page(template: str, /, **context: Any) -> str:
    """An HTML page of shared/page_templates/, every value escaped."""
    return _environment(PAGES, True).get_template(template).render(context)


def text(template: str, /, **context: Any) -> str:
    """A mail body of shared/mail_templates/, as plain text."""
    return _environment(MAILS, False).get_template(template).render(context)
