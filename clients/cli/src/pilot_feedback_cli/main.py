"""The `pilot-feedback` command: the group, and each subcommand's one-line summary.

The subcommands (commands.py) are imported only when one runs: `--help` and the
group's usage errors need no more than click, so they answer about as fast as the
interpreter starts (`make bench` measures it).
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
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
    "logout": "Forget the token login kept for a host.",
    "completion": "Print a shell's completion script.",
}


JSON_ERRORS = "pilot_feedback.json_errors"  # ctx.meta's key: whether errors are printed as JSON


class Commands(click.Group):
    """Lists the subcommands from SUMMARIES; imports them when one is asked for. With --json,
    errors, usage errors included, are printed as JSON on stderr."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[JSON_ERRORS] = _asks_for_json(args)
        with _errors_as_json(ctx):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with _errors_as_json(ctx):
            return super().invoke(ctx)

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


def _asks_for_json(args: list[str]) -> bool:
    """Whether --json is among the options (before any `--`): read before click parses them,
    so that an error in parsing them is JSON too."""
    return "--json" in (args[: args.index("--")] if "--" in args else args)


@contextlib.contextmanager
def _errors_as_json(ctx: click.Context) -> Iterator[None]:
    """click's errors (an API refusal is one, api.ApiError) as JSON, when --json was asked for:
    the problem document on stderr, the exit code unchanged."""
    try:
        yield
    except click.ClickException as exc:
        if not ctx.meta.get(JSON_ERRORS):
            raise
        from pilot_feedback_cli import output
        from pilot_feedback_cli.api import problem

        output.as_json(problem(exc), err=True)
        ctx.exit(exc.exit_code)


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
    from `pilot-feedback login`, which keeps a token per host: it goes to that host
    alone. Every command takes --json; with it, errors are JSON on stderr. Exit codes:
    0 done, 1 the API refused or could not be reached, 2 a usage error.
    """
