"""The console group: the team's triage console as server-rendered pages under /console/
(and the guide's /admin/feedback/, which leads there). People sign in by a one-time
link; every action is a form post over the same operations as the API.

Deployed as one Cloud Function (entry point `console`). Importing it opens no connection.
"""
from __future__ import annotations

import sys
from pathlib import Path

# The deployed bundle keeps the repository's layout: shared/ is two levels up.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import functions_framework  # noqa: E402

from shared.config import start  # noqa: E402
from shared.console import CONSOLE  # noqa: E402

start()

API = CONSOLE  # the group's pages, as every HTTP group names them


@functions_framework.http
def console(request):  # noqa: ANN001 - functions-framework passes a flask.Request
    return CONSOLE(request)
