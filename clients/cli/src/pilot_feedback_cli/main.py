"""The `pilot-feedback` command's entry: its one list of subcommands, and its help.

Nothing here imports click: the group's own help (`--help`, `-h`, or no arguments) is
printed from the list below exactly as click renders it, so it answers about as fast as
the interpreter starts (`make bench` measures it). Everything else runs through the
click group in group.py, which imports a subcommand only when it runs.
"""
from __future__ import annotations

import collections
import os
import sys

Subcommand = collections.namedtuple("Subcommand", "target summary")  # "module.attribute", its line in the help

COMMANDS = {
    "submit": Subcommand("pilot_feedback_cli.commands.submit", "Send feedback (no --summary: $EDITOR opens)."),
    "list": Subcommand("pilot_feedback_cli.commands.list_",
                       "Feedback, with the API's filters; --all follows every page."),
    "show": Subcommand("pilot_feedback_cli.commands.show", "One item, every field."),
    "vote": Subcommand("pilot_feedback_cli.commands.vote", "Vote for an item."),
    "unvote": Subcommand("pilot_feedback_cli.commands.unvote", "Take your vote back."),
    "stats": Subcommand("pilot_feedback_cli.commands.stats", "Counts by status, type and priority."),
    "ack": Subcommand("pilot_feedback_cli.commands.ack", "Acknowledge an item (admins)."),
    "respond": Subcommand("pilot_feedback_cli.commands.respond", "Answer the submitter in public (admins)."),
    "status": Subcommand("pilot_feedback_cli.commands.status", "Move an item through the workflow (admins)."),
    "assign": Subcommand("pilot_feedback_cli.commands.assign", "Assign an item to a team member (admins)."),
    "note": Subcommand("pilot_feedback_cli.commands.note", "Add an internal note (admins)."),
    "history": Subcommand("pilot_feedback_cli.commands.history", "An item's audit trail (admins)."),
    "login": Subcommand("pilot_feedback_cli.commands.login", "Check a token and keep it for the next commands."),
    "logout": Subcommand("pilot_feedback_cli.commands.logout", "Forget the token login kept for a host."),
    "completion": Subcommand("pilot_feedback_cli.commands.completion", "Print a shell's completion script."),
}

DESCRIPTION = """Send feedback to Pilot Feedback, follow it, and triage it.

The API's address comes from PILOT_FEEDBACK_URL (such as
http://127.0.0.1:8080/api/v1) and the token from PILOT_FEEDBACK_TOKEN, or else
from `pilot-feedback login`, which keeps a token per host: it goes to that host
alone. Every command takes --json; with it, errors are JSON on stderr. Exit codes:
0 done, 1 the API refused or could not be reached, 2 a usage error."""

HELP_OPTIONS = ["-h", "--help"]
USAGE_ARGS = "[OPTIONS] COMMAND [ARGS]..."
# The group's options as its help lists them (group.py declares them to click).
OPTIONS = [("--version", "Show the version and exit."), (", ".join(HELP_OPTIONS), "Show this message and exit.")]


def help_width() -> int:
    """What click's help formatter would measure, without its import of shutil (which brings
    bz2, lzma and zlib): the terminal's columns, at most 80, less 2."""
    try:
        given = os.environ.get("COLUMNS")
        columns = int(given) if given else os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        columns = 80
    return max(min(columns, 80) - 2, 50)


def help_text(prog: str, width: int) -> str:
    """The group's help as click's HelpFormatter lays it out at this width: the usage line,
    the description's paragraphs, then the options and the commands as two-column lists."""
    import textwrap

    def fill(text: str, width: int, first: str = "", rest: str = "") -> str:
        # click's wrap_text: a paragraph's lines joined, white space inside kept as it is
        return textwrap.fill(text.replace("\n", " "), width, initial_indent=first, subsequent_indent=rest,
                             replace_whitespace=False)

    def rows(pairs: list[tuple[str, str]]) -> list[str]:
        first_col = max(len(term) for term, _ in pairs) + 2
        return [f"  {term:<{first_col}}" + fill(text, width - first_col - 2).replace("\n", "\n" + " " * (first_col + 2))
                for term, text in pairs]

    prefix = f"Usage: {prog} "
    return "\n".join([
        fill(USAGE_ARGS, width, prefix, " " * len(prefix)), "",
        "\n\n".join(fill(p, width, "  ", "  ") for p in DESCRIPTION.split("\n\n")), "",
        "Options:", *rows(OPTIONS), "",
        "Commands:", *rows([(name, c.summary) for name, c in COMMANDS.items()]),
    ])


def _renders_alike(prog: str, width: int) -> bool:
    """Whether help_text lays the help out as click would: click puts the usage's arguments on a
    line of their own when the name leaves them fewer than 20 columns, and a term longer than
    30 characters on a line of its own; help_text does neither."""
    terms = [term for term, _ in OPTIONS] + list(COMMANDS)
    return width >= len(f"Usage: {prog} ") + 20 and max(map(len, terms)) <= 30


def _completing(prog: str) -> bool:
    """Whether the shell asks for completions, in the variable click reads for them."""
    return f"_{prog.replace('-', '_').replace('.', '_')}_COMPLETE".upper() in os.environ


def cli() -> int | None:
    """`pilot-feedback`: its help from here, anything else through click."""
    args, prog, width = sys.argv[1:], os.path.basename(sys.argv[0]), help_width()
    if args in ([], *([option] for option in HELP_OPTIONS)) and _renders_alike(prog, width) and not _completing(prog):
        print(help_text(prog, width), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2  # click's exit codes: no arguments is a usage error
    from pilot_feedback_cli.group import group

    return group()
