"""The `pilot-feedback` click group: it loads the subcommands listed in main.COMMANDS lazily
(click's lazy-group pattern), so that a command's usage error loads only that command."""
from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

import click

from pilot_feedback_cli import __version__
from pilot_feedback_cli.main import COMMANDS, DESCRIPTION, HELP_OPTIONS, help_width

JSON_ERRORS = "pilot_feedback.json_errors"  # ctx.meta's key: whether errors are printed as JSON


class Commands(click.Group):
    """Lists the subcommands from main.COMMANDS; imports one when it is asked for. With --json,
    errors, usage errors included, are printed as JSON on stderr."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[JSON_ERRORS] = _asks_for_json(args)
        with _errors_as_json(ctx):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with _errors_as_json(ctx):
            return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].target.rsplit(".", 1)
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[name].target} is not a click command")
        command.short_help = COMMANDS[name].summary  # what shell completion shows beside its name
        return command

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, c.summary) for name, c in COMMANDS.items()])


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


@click.group(cls=Commands, help=DESCRIPTION,
             context_settings={"help_option_names": HELP_OPTIONS, "terminal_width": help_width()})
@click.version_option(__version__, prog_name="pilot-feedback")
def group() -> None:
    pass
