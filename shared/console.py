"""The team's triage console: its pages over the operations the API runs (feedback,
triage), under the same rules: workflow, SLA, audit, tenancy. Each page module is a
Blueprint; shared/console_web.py makes them one Flask app, the function's.
"""
from __future__ import annotations

from shared import console_dashboard, console_export, console_inbox, console_item, console_signin, console_team
from shared.console_web import Console

CONSOLE = Console([console_signin.pages, console_inbox.pages, console_export.pages, console_item.pages,
                   console_dashboard.pages, console_team.pages])
