"""The values of the enumerated fields, defined here once.

The request models, the console and the workflow import them; the clients' copies are
generated from them (`python manage.py client-values`), and the database's CHECK
constraints repeat them. tests/test_choices.py fails when any copy drifts. This module
imports nothing heavy: the functions that never validate a body (sweep, github_sync)
read the statuses too.
"""
from __future__ import annotations

from typing import Literal, get_args

FeedbackType = Literal["bug", "feature", "performance", "docs", "ux", "other"]
Priority = Literal["low", "medium", "high", "urgent"]
Status = Literal[
    "new", "acknowledged", "in_review", "planned", "in_progress", "completed", "declined", "duplicate"
]
Source = Literal["web_app", "cli", "ide_plugin", "email", "api", "other"]
SlaStatus = Literal["on_track", "due_soon", "breached", "met"]

FEEDBACK_TYPES: tuple[FeedbackType, ...] = get_args(FeedbackType)
PRIORITIES: tuple[Priority, ...] = get_args(Priority)  # lowest first
STATUSES: tuple[Status, ...] = get_args(Status)  # the workflow's order, then the two ways out
SOURCES: tuple[Source, ...] = get_args(Source)
SLA_STATUSES: tuple[SlaStatus, ...] = get_args(SlaStatus)

DEFAULT_PRIORITY: Priority = "medium"

# How the submitting faces (the widget, the VS Code extension) name each type.
TYPE_LABELS: dict[FeedbackType, str] = {
    "bug": "Bug", "feature": "Feature request", "performance": "Performance", "docs": "Documentation",
    "ux": "Design or usability", "other": "Other",
}
