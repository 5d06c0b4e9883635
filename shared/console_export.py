"""The inbox's filtered list as CSV: every matching item, streamed a page at a time from
one snapshot of the database."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import flask

from shared import console_inbox, errors, feedback, logs
from shared import console_session as session
from shared import console_web as web
from shared.console_paths import BASE
from shared.models import ListQuery

PAGE_SIZE = 100
INCOMPLETE = "EXPORT INCOMPLETE: the database stopped answering after {n} items; this file lacks the rest."
COLUMNS = ["id", "created_at", "feedback_type", "priority", "status", "sla_status", "summary", "description",
           "submitter_email", "assignee_email", "vote_count", "tags", "github_issue_url"]

pages = flask.Blueprint("export", __name__, url_prefix=BASE)


@pages.get("/export.csv")
def csv_file() -> Any:
    """The filtered list as CSV, every matching item"""
    # The session and the first page are read before the answer starts, so that a refusal
    # is a page, not a file.
    _, query, error = console_inbox.filters(flask.request.args, PAGE_SIZE)
    if error:
        return web.error_page(422, error)
    lines = _lines(query)
    header = next(lines)
    return flask.Response(_resumed(header, lines), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="feedback.csv"'})


def _lines(query: ListQuery) -> Iterator[str]:
    """The header once the first page is read, then a line per item, all in one read-only
    transaction that sees one snapshot. A failure after the header ends the file with a
    line that says it is incomplete (a file cut short must not pass for the whole list)."""
    started, written = False, 0
    try:
        with session.as_person(snapshot=True) as (tx, person):
            page, after = feedback.list_items(tx, person, query)
            started = True
            yield _csv_line(COLUMNS)
            while True:
                for it in json.loads(page):
                    yield _csv_line([_cell(it, column) for column in COLUMNS])
                    written += 1
                if after is None:
                    return
                page, after = feedback.list_items(tx, person, query.model_copy(update={"cursor": after}))
    except errors.ApiError as exc:
        if not started:
            raise  # before the answer began: a page says what was wrong
        logs.log("ERROR", "the CSV export stopped", items=written, error=f"{type(exc).__name__}: {exc}")
        yield _csv_line([INCOMPLETE.format(n=written)])


def _resumed(first: str, rest: Iterator[str]) -> Iterator[str]:
    """A generator's output whose first item was taken (closing this closes `rest`)."""
    yield first
    yield from rest


def _cell(item: dict[str, Any], column: str) -> str:
    value = item.get(column)
    text = ", ".join(value) if isinstance(value, list) else "" if value is None else str(value)
    # A spreadsheet would run a cell that starts like a formula: it is shown as text instead.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()
