"""The `pilot-feedback` command: the group, and each subcommand's one-line summary.

The subcommands (commands.py) are imported only when one runs: `--help` and the
group's usage errors need no more than click, so they answer about as fast as the
interpreter starts (`make bench` measures it).
"""
from __future__ import annotations

import os
import sys
from typing import Any

import click

from pilot_feedback_cli import __version__

SUMMARIES = {
    "submit": "Send feedback (no --summary: $EDITOR opens).",
    "list": "Feedback, with the API's filters; --all follows every page.",
    "show": "One item, every field.",
    "vote": "Vote for an item.",
    "unvote": "Take your vote back.",
    "stats": "Counts by status, type and priority.",
    "ack": "Acknowledge an item (admins).",
    "respond": "Answer the submitter in public (admins).",
    "status": "Move an item through the workflow (admins).",
    "assign": "Assign an item to a team member (admins).",
    "note": "Add an internal note (admins).",
    "history": "An item's audit trail (admins).",
    "login": "Check a token and keep it for the next commands.",
    "logout": "Forget what login stored.",
    "completion": "Print a shell's completion script.",
}


class Commands(click.Group):
    """Lists the subcommands from SUMMARIES; imports them when one is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(SUMMARIES)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUMMARIES:
            return None
        from pilot_feedback_cli.commands import COMMANDS

        return COMMANDS[name]

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(SUMMARIES.items()))


def _help_width() -> int:
    """What click's help formatter would measure, without its import of shutil (which brings
    bz2, lzma and zlib: a tenth of `--help`'s time): the terminal's columns, at most 80."""
    try:
        given = os.environ.get("COLUMNS")
        columns = int(given) if given else os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        columns = 80
    return max(min(columns, 80) - 2, 50)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "terminal_width": _help_width()})
@click.version_option(__version__, prog_name="pilot-feedback")
def cli() -> None:
    """Send feedback to Pilot Feedback, follow it, and triage it.

    The API's address comes from PILOT_FEEDBACK_URL (such as
    http://127.0.0.1:8080/api/v1) and the token from PILOT_FEEDBACK_TOKEN, or else
    from `pilot-feedback login`. Every command takes --json. Exit codes: 0 done,
    1 the API refused or could not be reached, 2 a usage error.
    """
