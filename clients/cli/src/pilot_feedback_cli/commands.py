"""The subcommands of `pilot-feedback` (group.py loads them when one runs; main.COMMANDS
lists them). Exit codes: 0 done, 1 the API refused or could not be reached (its problem's
detail is printed), 2 a usage error. Errors are click's exceptions, which group.py prints,
as JSON with --json."""
from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from pilot_feedback_cli.values import FEEDBACK_TYPES as TYPES
from pilot_feedback_cli.values import PRIORITIES, SOURCES, STATUSES
from pilot_feedback_cli.values import SLA_STATUSES as SLA_STATES

if TYPE_CHECKING:
    import uuid

# What only running a command needs (config, output, uuid, the HTTP client) is imported
# there, so that one command's usage error answers fast.

SORTS = ("newest", "oldest", "votes", "priority", "sla")
SHELLS = ("bash", "zsh", "fish")
PAGE_ALL = 100  # items per request when following every page

EDITOR_TEMPLATE = """
# Write the summary on the first line and the description below it.
# Lines starting with '#' are left out; an empty summary sends nothing.
#
# Type: {type}, priority: {priority} (change them with --type and --priority)
"""

Renderer = Callable[[Any], None]


def client() -> Any:
    from pilot_feedback_cli import config
    from pilot_feedback_cli.api import Client

    return Client(config.load())


def command(name: str, **settings: Any) -> Callable[[Callable[..., tuple[Any, Renderer]]], click.Command]:
    """A subcommand, named as main.COMMANDS lists it, that returns what it got and how to
    show it: printed for people, or as JSON with --json."""
    def wrap(fn: Callable[..., tuple[Any, Renderer]]) -> click.Command:
        @click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts (errors too, on stderr).")
        @functools.wraps(fn)
        def run(*args: Any, as_json: bool, **kwargs: Any) -> None:
            from pilot_feedback_cli import output

            data, show = fn(*args, **kwargs)
            if as_json:
                output.as_json(data)
            else:
                show(data)
        return click.command(name, **settings)(run)
    return wrap


# --- signing in


@command("login")
@click.option("--url", prompt="API address (such as https://feedback.example.com/api/v1)",
              help="The API's base address.")
@click.option("--token", prompt=True, hide_input=True, help="An API key, a JWT, or a tenant's intake key.")
def login(url: str, token: str) -> tuple[Any, Renderer]:
    """Check a token against the API and keep it for the API's host (scheme, host and port):
    it is sent there alone. The address becomes the default one."""
    from pilot_feedback_cli import config
    from pilot_feedback_cli.api import INTAKE_KEY_PREFIX, ApiError, Client

    url = url.rstrip("/")
    host = config.origin(url)
    if not token.startswith(INTAKE_KEY_PREFIX):  # intake keys may submit only: nothing to check them with
        try:
            Client(config.Settings(url, token)).request("GET", "/feedback/", params={"limit": 1})
        except ApiError as exc:
            raise ApiError(f"{exc.detail} Nothing was stored.", exc.status, exc.title, exc.errors) from None
    kept = {"url": url, "host": host, "config": str(config.save(url, token))}
    return kept, lambda it: click.echo(f"Signed in to {it['host']}; the token is kept in {it['config']} "
                                       "(readable by you alone) and sent to that host only.")


@command("logout")
@click.option("--url", help="The API whose host's token to forget; by default PILOT_FEEDBACK_URL, "
                            "or else the last login's.")
def logout(url: str | None) -> tuple[Any, Renderer]:
    """Forget the token login kept for a host."""
    from pilot_feedback_cli import config

    saved = config.stored()
    if not saved and not url:
        return {"host": None, "forgot": False}, lambda _: click.echo("Nothing was stored.")
    host = config.origin(url or config.address(saved))
    forgot = config.forget(host)
    return {"host": host, "forgot": forgot}, lambda _: click.echo(
        f"Forgot the token for {host}." if forgot else f"No token was kept for {host}.")


@command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> tuple[Any, Renderer]:
    """Print the shell's completion script: eval "$(pilot-feedback completion bash)"."""
    from click.shell_completion import get_completion_class

    from pilot_feedback_cli.group import group

    found = get_completion_class(shell)
    assert found is not None  # every one of SHELLS has a class in click
    script = found(group, {}, "pilot-feedback", "_PILOT_FEEDBACK_COMPLETE").source()
    return {"shell": shell, "script": script}, lambda it: click.echo(it["script"])


# --- submitting and following


def _edited(template: str) -> list[str]:
    """The lines written in $EDITOR on the template, as `git commit` takes its message:
    lines starting with '#' left out."""
    text = click.edit(template, extension=".txt")
    return [line for line in (text or "").splitlines() if not line.startswith("#")]


def _from_editor(feedback_type: str, priority: str) -> tuple[str, str]:
    """Summary (the first line) and description written in $EDITOR."""
    lines = _edited(EDITOR_TEMPLATE.format(type=feedback_type, priority=priority))
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise click.ClickException("Nothing sent: the summary was empty.")
    return lines[0].strip(), "\n".join(lines[1:]).strip()


@command("submit")
@click.option("--type", "feedback_type", type=click.Choice(TYPES), default="other", show_default=True)
@click.option("--summary", help="One line; without it, $EDITOR opens.")
@click.option("--description", help="The details; '-' reads standard input.")
@click.option("--priority", type=click.Choice(PRIORITIES), help="Admins' and signed-in users' choice.")
@click.option("--tag", "tags", multiple=True, help="Repeat for several.")
@click.option("--email", help="Your address, to hear back when sending with a tenant's intake key.")
@click.option("--no-context", is_flag=True, help="Leave out the OS, Python and git details.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent, and send nothing.")
def submit(feedback_type: str, summary: str | None, description: str | None, priority: str | None,
           tags: tuple[str, ...], email: str | None, no_context: bool, dry_run: bool) -> tuple[Any, Renderer]:
    """Send feedback. The OS, Python, this CLI's version and the current directory's git
    remote, branch and commit go with it (see them with --dry-run)."""
    import uuid

    from pilot_feedback_cli import output
    from pilot_feedback_cli.api import auth_headers
    from pilot_feedback_cli.context import gather

    if description == "-":
        description = sys.stdin.read()
    if summary is None:
        summary, written = _from_editor(feedback_type, priority or "medium")
        description = description or written
    body: dict[str, Any] = {"feedback_type": feedback_type, "summary": summary, "description": description or "",
                            "source": "cli", "tags": list(tags), "context": {} if no_context else gather()}
    if priority:
        body["priority"] = priority
    if email:
        body["submitter_email"] = email
    headers = {"Idempotency-Key": str(uuid.uuid4())}  # a retried request makes one item
    api = client()
    if dry_run:
        shown = {name: (value[:12] + "…" if name in ("Authorization", "X-Tenant-Key") else value)
                 for name, value in {**auth_headers(api.settings.token), **headers}.items()}
        request = {"method": "POST", "url": api.url("/feedback/"), "headers": shown, "body": body}
        return request, output.as_json
    made = api.request("POST", "/feedback/", body=body, headers=headers)
    return made, lambda it: click.echo(f"Sent {it['id']}: {it['summary']} ({it['status']}, {it['priority']})")


def _rows(items: list[dict[str, Any]]) -> None:
    from pilot_feedback_cli import output

    if not items:
        click.echo("No feedback matches.")
        return
    output.table([(it["id"], it["feedback_type"], it["priority"], it["status"], it.get("sla_status"),
                   it.get("vote_count"), it["summary"]) for it in items],
                 ("ID", "TYPE", "PRIORITY", "STATUS", "SLA", "VOTES", "SUMMARY"))


@command("list")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--type", "feedback_type", type=click.Choice(TYPES))
@click.option("--priority", type=click.Choice(PRIORITIES))
@click.option("--source", type=click.Choice(SOURCES))
@click.option("--tag")
@click.option("--search", "q", help="Full-text search of summary and description.")
@click.option("--mine", is_flag=True, help="Only what you sent.")
@click.option("--assignee", help="A team member's id, 'me', or 'none' (unassigned).")
@click.option("--sla-status", type=click.Choice(SLA_STATES))
@click.option("--created-after", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (UTC), inclusive.")
@click.option("--created-before", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (UTC), exclusive.")
@click.option("--sort", type=click.Choice(SORTS), default="newest", show_default=True)
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="Items per page.")
@click.option("--all", "every", is_flag=True, help="Follow the pages to the end.")
@click.option("--tenant", "tenant_id", type=click.UUID, help="Staff: one tenant's items.")
def list_(every: bool, feedback_type: str | None, limit: int, **filters: Any) -> tuple[Any, Renderer]:
    """Feedback, newest first unless --sort says otherwise."""
    params = {**filters, "type": feedback_type, "limit": PAGE_ALL if every else limit,
              "mine": "true" if filters["mine"] else None}
    for day in ("created_after", "created_before"):
        params[day] = params[day].date().isoformat() if params[day] else None
    api = client()
    page = api.request("GET", "/feedback/", params=params)
    items = page["items"]
    while every and page["next"]:
        page = api.request("GET", "/feedback/", params={**params, "cursor": page["next"]})
        items += page["items"]
    return {"items": items, "next": page["next"]}, lambda found: _rows(found["items"])


def _item(it: dict[str, Any]) -> None:
    from pilot_feedback_cli import output

    output.pairs([
        ("id", it["id"]), ("summary", it["summary"]), ("type", it["feedback_type"]), ("status", it["status"]),
        ("priority", it["priority"]), ("sla", f"{it.get('sla_status') or '-'}, due {output.when(it.get('sla_due_at'))}"),
        ("votes", it.get("vote_count")), ("tags", it["tags"]), ("source", it["source"]),
        ("submitter", it.get("submitter_email")), ("assignee", it.get("assignee_email")),
        ("github", it.get("github_issue_url")), ("created", output.when(it.get("created_at"))),
        ("response", it.get("public_response")),
        *((f"context.{key}", value) for key, value in (it.get("context") or {}).items()),
    ])
    if it.get("description"):
        click.echo("\n" + it["description"])


@command("show")
@click.argument("item_id", type=click.UUID)
def show(item_id: uuid.UUID) -> tuple[Any, Renderer]:
    """One item, every field."""
    return client().request("GET", f"/feedback/{item_id}/"), _item


def _voted(result: dict[str, Any]) -> None:
    click.echo(f"{'Voted for' if result['voted'] else 'No vote on'} {result['id']}: {result['vote_count']} votes.")


@command("vote")
@click.argument("item_id", type=click.UUID)
def vote(item_id: uuid.UUID) -> tuple[Any, Renderer]:
    """Vote for an item."""
    return client().request("POST", f"/feedback/{item_id}/vote/"), _voted


@command("unvote")
@click.argument("item_id", type=click.UUID)
def unvote(item_id: uuid.UUID) -> tuple[Any, Renderer]:
    """Take your vote back."""
    return client().request("DELETE", f"/feedback/{item_id}/vote/"), _voted


def _stats(s: dict[str, Any]) -> None:
    from pilot_feedback_cli import output

    hours = s.get("avg_response_time_hours")
    output.pairs([("total", s["total"]), ("open", s["open_count"]), ("resolved", s["resolved_count"]),
                  ("mean hours to acknowledge", "-" if hours is None else f"{hours:.1f}")])
    for name in ("by_status", "by_type", "by_priority"):
        click.echo(f"\n{name.replace('_', ' ')}:")
        output.pairs(sorted(s[name].items()) or [("-", 0)])


@command("stats")
@click.option("--tenant", "tenant_id", type=click.UUID, help="Staff: one tenant's numbers.")
def stats(tenant_id: uuid.UUID | None) -> tuple[Any, Renderer]:
    """Counts by status, type and priority, and the mean time to acknowledge."""
    return client().request("GET", "/feedback/stats/", params={"tenant_id": tenant_id}), _stats


# --- triage (admins and staff)


def _changed(it: dict[str, Any]) -> None:
    click.echo(f"{it['id']}: {it['status']}, {it['priority']}, "
               f"assigned to {it.get('assignee_email') or it.get('assignee_id') or 'nobody'}.")


@command("ack")
@click.argument("item_id", type=click.UUID)
def ack(item_id: uuid.UUID) -> tuple[Any, Renderer]:
    """Acknowledge an item (admins)."""
    return client().request("POST", f"/feedback/{item_id}/acknowledge/"), _changed


@command("respond")
@click.argument("item_id", type=click.UUID)
@click.argument("message", required=False)
@click.option("--status", type=click.Choice(STATUSES), help="Move the item too.")
def respond(item_id: uuid.UUID, message: str | None, status: str | None) -> tuple[Any, Renderer]:
    """Answer the submitter in public (admins). MESSAGE '-' reads standard input; without
    it, $EDITOR opens."""
    if message == "-":
        message = sys.stdin.read()
    elif message is None:
        message = "\n".join(_edited("\n# The public response to the submitter; '#' lines are left out.\n")).strip()
        if not message:
            raise click.ClickException("Nothing sent: the response was empty.")
    body = {"response": message, **({"status": status} if status else {})}
    return client().request("POST", f"/feedback/{item_id}/respond/", body=body), _changed


@command("status")
@click.argument("item_id", type=click.UUID)
@click.argument("new_status", type=click.Choice(STATUSES))
@click.option("--reason", help="Why, when declining.")
@click.option("--duplicate-of", type=click.UUID, help="The original, when marking a duplicate.")
def status(item_id: uuid.UUID, new_status: str, reason: str | None,
           duplicate_of: uuid.UUID | None) -> tuple[Any, Renderer]:
    """Move an item through the workflow (admins)."""
    body = {"status": new_status, "reason": reason, "duplicate_of": str(duplicate_of) if duplicate_of else None}
    return client().request("POST", f"/feedback/{item_id}/status/",
                            body={k: v for k, v in body.items() if v is not None}), _changed


@command("assign")
@click.argument("item_id", type=click.UUID)
@click.argument("who")
def assign(item_id: uuid.UUID, who: str) -> tuple[Any, Renderer]:
    """Assign an item to WHO: a team member's email or id, or 'none' to unassign (admins)."""
    import uuid

    if who == "none":
        body = {}
    elif "@" in who:
        body = {"assignee_email": who}
    else:
        try:
            body = {"assignee_id": str(uuid.UUID(who))}
        except ValueError:
            raise click.BadParameter("an email, a team member's id, or 'none'", param_hint="WHO") from None
    return client().request("POST", f"/feedback/{item_id}/assign/", body=body), _changed


@command("note")
@click.argument("item_id", type=click.UUID)
@click.argument("text")
def note(item_id: uuid.UUID, text: str) -> tuple[Any, Renderer]:
    """Add an internal note, seen by the team only (admins). TEXT '-' reads standard input."""
    body = {"body": sys.stdin.read() if text == "-" else text}
    return client().request("POST", f"/feedback/{item_id}/notes/", body=body), _noted


def _noted(made: dict[str, Any]) -> None:
    from pilot_feedback_cli import output

    click.echo(f"Noted by {made['author']} at {output.when(made['created_at'])}.")


def _history(found: dict[str, Any]) -> None:
    from pilot_feedback_cli import output

    output.table([(output.when(e["at"]), e["actor"], e["action"], e["new"]) for e in found["items"]],
                 ("AT", "BY", "ACTION", "CHANGE"))


@command("history")
@click.argument("item_id", type=click.UUID)
def history(item_id: uuid.UUID) -> tuple[Any, Renderer]:
    """The item's audit trail: who changed what, and when (admins)."""
    return client().request("GET", f"/feedback/{item_id}/history/"), _history
