"""Tables and key/value lines for people; JSON for scripts."""
from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from typing import Any

import click


def as_json(data: Any, err: bool = False) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False), err=err)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """Columns as wide as their widest cell; the last one cut to the terminal's width."""
    cells = [[_text(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    room = shutil.get_terminal_size((120, 24)).columns - sum(w + 2 for w in widths[:-1])
    widths[-1] = max(10, min(widths[-1], room))
    for row in [list(headers), *cells]:
        line = "  ".join(cell.ljust(width) if i < len(row) - 1 else _cut(cell, width)
                         for i, (cell, width) in enumerate(zip(row, widths)))
        click.echo(line.rstrip())


def pairs(items: Sequence[tuple[str, Any]]) -> None:
    width = max(len(name) for name, _ in items)
    for name, value in items:
        click.echo(f"{name.rjust(width)}  {_text(value)}")


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def when(timestamp: str | None) -> str:
    return (timestamp or "")[:16].replace("T", " ") or "-"
