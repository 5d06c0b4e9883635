"""The dashboard: counts, SLA, workload and the last 12 weeks, each chart an SVG whose
geometry is worked out here, with its numbers in a table beneath."""
from __future__ import annotations

import json
from typing import Any

import flask

from shared import console_session as session
from shared import triage
from shared.choices import STATUSES
from shared.console_paths import BASE
from shared.console_web import CHOICES

TYPES, PRIORITIES = CHOICES["types"], CHOICES["priorities"]

pages = flask.Blueprint("dashboard", __name__, url_prefix=BASE)


@pages.get("/dashboard")
def page() -> str:
    """Counts, SLA, workload and 12 weeks, as charts and tables"""
    with session.as_person() as (tx, person):
        stats = json.loads(triage.stats(tx, person, None))
        weekly = triage.weekly(tx, person, None)
        names = {str(m["id"]): m["name"] for m in triage.team(tx, person, None)}
    assignees = {names.get(k, "someone else" if k != "unassigned" else k): v
                 for k, v in stats["open_by_assignee"].items()}
    return flask.render_template(
        "dashboard.html", person=person, stats=stats, types=bars(stats["by_type"], TYPES),
        statuses=bars(stats["by_status"], STATUSES), priorities=bars(stats["by_priority"], PRIORITIES),
        assignees=bars(assignees), weeks=weeks(weekly), type_names=TYPES,
        sla=[(p, stats["sla_by_priority"].get(p, {"met": 0, "breached": 0})) for p in PRIORITIES])


def bars(values: dict[str, int], order: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Horizontal bars: each key's value and its length in a 100-wide chart."""
    keys = [k for k in order if k in values] if order else sorted(values)
    top = max([values[k] for k in keys] + [1])
    return [{"label": k, "value": values[k], "length": round(values[k] / top * 100, 1)} for k in keys]


def weeks(weekly: list[dict[str, Any]]) -> dict[str, Any]:
    """Stacked columns of new items per type a week, and the response-time line, in a
    120 x 40 chart (12 columns of 10)."""
    counts = [json.loads(w["by_type"]) for w in weekly]
    top = max([sum(c.values()) for c in counts] + [1])
    columns = []
    for i, (week, by_type) in enumerate(zip(weekly, counts)):
        y, parts = 40.0, []
        for kind in TYPES:
            height = round(by_type.get(kind, 0) / top * 36, 2)
            if height:
                y -= height
                parts.append({"type": kind, "y": round(y, 2), "height": height, "value": by_type[kind]})
        columns.append({"x": i * 10 + 1, "week": str(week["week"]), "parts": parts, "total": sum(by_type.values()),
                        "by_type": by_type, "hours": week["response_hours"]})
    answered = [c for c in columns if c["hours"] is not None]
    most = max([float(c["hours"]) for c in answered] + [1.0])
    line = " ".join(f"{c['x'] + 4},{round(38 - float(c['hours']) / most * 34, 2)}" for c in answered)
    return {"columns": columns, "line": line, "top": top, "most_hours": most}
