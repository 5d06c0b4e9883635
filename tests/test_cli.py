"""The `pilot-feedback` command (clients/cli), installed in the test environment, run as a
process against the local server: every command, its --json parsed, exit codes 0/1/2.
Another origin is a plain HTTP server of the test's own, which shows what it was sent."""
from __future__ import annotations

import http.server
import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import click
import pytest

from shared import api_keys, team

CLI = str(Path(sys.executable).parent / "pilot-feedback")


@pytest.fixture
def run(live, tmp_path):
    """The CLI in a git checkout of its own, configured by environment for `token`
    (the live server's admin key unless given)."""
    work = tmp_path / "checkout"
    work.mkdir()
    for args in (["init", "-q", "-b", "main"], ["remote", "add", "origin", "https://deploy:s3cret@git.example.com/acme/app.git"],
                 ["-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(["git", *args], cwd=work, check=True)
    home = tmp_path / "config"

    def invoke(*args: str, token: str | None = live.tokens["admin"], stdin: str | None = None,
               url: str | None = f"{live.base}/api/v1", **env: str) -> subprocess.CompletedProcess:
        variables = {k: v for k, v in os.environ.items() if not k.startswith("PILOT_FEEDBACK_")}
        variables.update(XDG_CONFIG_HOME=str(home), HOME=str(home), COLUMNS="200", **env)
        if url:
            variables["PILOT_FEEDBACK_URL"] = url
        if token:
            variables["PILOT_FEEDBACK_TOKEN"] = token
        return subprocess.run([CLI, *args], cwd=work, env=variables, input=stdin, capture_output=True, text=True,
                              timeout=60)

    invoke.work = work
    invoke.home = home
    return invoke


def as_json(done: subprocess.CompletedProcess):
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def error_json(done: subprocess.CompletedProcess, code: int = 1):
    """The problem document a failed command printed with --json: on stderr, stdout left empty."""
    assert done.returncode == code and done.stdout == "", (done.stdout, done.stderr)
    return json.loads(done.stderr)


class OtherHost:
    """An HTTP server on a port of its own, so another origin than the live server's: it keeps
    the headers of each request (names in lower case) and gives the answer the test sets."""

    REFUSAL = (401, {"Content-Type": "application/problem+json"},
               json.dumps({"status": 401, "title": "Unauthorized", "detail": "Sign in first."}).encode())
    EMPTY_PAGE = (200, {"Content-Type": "application/json"}, json.dumps({"items": [], "next": None}).encode())

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.answer = self.REFUSAL
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                host.requests.append({name.lower(): value for name, value in self.headers.items()})
                status, headers, body = host.answer
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self.url = f"{self.origin}/api/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def other_host():
    host = OtherHost()
    yield host
    host.close()


@pytest.fixture
def config(tmp_path, monkeypatch):
    """The CLI's config module, in-process, its directory under tmp_path."""
    from pilot_feedback_cli import config

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    return config


def test_submit_sends_flags_stdin_and_where_it_came_from(run):
    made = as_json(run("submit", "--type", "bug", "--summary", "Crash on export", "--description", "-",
                       "--priority", "high", "--tag", "export", "--tag", "crash", "--json", stdin="Traceback ...\n"))
    assert (made["feedback_type"], made["summary"], made["priority"], made["source"]) == (
        "bug", "Crash on export", "high", "cli")
    assert made["description"] == "Traceback ...\n" and made["tags"] == ["export", "crash"]
    context = made["context"]
    assert context["cli_version"] == "0.1.0" and context["python"] and context["os"]
    # The remote without the credentials the clone carries; the branch and commit of the directory.
    assert context["git_remote"] == "https://git.example.com/acme/app.git"
    assert context["git_branch"] == "main" and len(context["git_commit"]) == 40
    shown = as_json(run("show", made["id"], "--json"))
    assert shown["context"] == context


def test_dry_run_shows_the_request_and_sends_nothing(run, live):
    before = as_json(run("list", "--all", "--json"))["items"]
    request = as_json(run("submit", "--summary", "Only a look", "--dry-run", "--json"))
    assert request["method"] == "POST" and request["url"] == f"{live.base}/api/v1/feedback/"
    assert request["body"]["summary"] == "Only a look" and request["body"]["context"]["git_branch"] == "main"
    assert live.tokens["admin"] not in json.dumps(request)  # the token is cut short
    assert uuid.UUID(request["headers"]["Idempotency-Key"])
    assert as_json(run("list", "--all", "--json"))["items"] == before


def test_no_summary_opens_the_editor_as_git_commit_does(run, tmp_path):
    editor = tmp_path / "editor.py"
    editor.write_text(textwrap.dedent("""\
        import sys
        text = open(sys.argv[1]).read()
        assert "# Type: ux, priority: medium" in text, text
        open(sys.argv[1], "w").write("\\nButtons overlap on small screens\\n\\nSee the settings page.\\n# left out\\n" + text)
    """))
    made = as_json(run("submit", "--type", "ux", "--json", EDITOR=f"{sys.executable} {editor}"))
    assert (made["summary"], made["description"]) == ("Buttons overlap on small screens", "See the settings page.")

    blank = tmp_path / "blank.py"
    blank.write_text("import sys\nopen(sys.argv[1], 'w').write('# nothing\\n')\n")
    done = run("submit", EDITOR=f"{sys.executable} {blank}")
    assert done.returncode == 1 and "the summary was empty" in done.stderr


def test_list_filters_and_follows_every_page(run):
    tag = f"t{uuid.uuid4().hex[:8]}"
    ids = [as_json(run("submit", "--summary", f"Item {n}", "--tag", tag, "--json"))["id"] for n in range(5)]
    page = as_json(run("list", "--tag", tag, "--limit", "2", "--json"))
    assert len(page["items"]) == 2 and page["next"]
    every = as_json(run("list", "--tag", tag, "--limit", "2", "--all", "--json"))
    assert sorted(it["id"] for it in every["items"]) == sorted(ids) and every["next"] is None
    table = run("list", "--tag", tag, "--sort", "oldest")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "PRIORITY", "STATUS", "SLA", "VOTES", "SUMMARY"]
    assert [line.split()[0] for line in lines[1:]] == ids
    assert as_json(run("list", "--tag", tag, "--status", "completed", "--json"))["items"] == []


def test_vote_unvote_and_stats(run, live):
    item = as_json(run("submit", "--summary", "Dark mode", "--type", "feature", "--json"))
    member = live.tokens["member"]
    assert as_json(run("vote", item["id"], "--json", token=member)) == {"id": item["id"], "vote_count": 1, "voted": True}
    assert as_json(run("unvote", item["id"], "--json", token=member))["voted"] is False
    stats = as_json(run("stats", "--json"))
    assert stats["total"] >= 1 and stats["by_type"]["feature"] >= 1
    shown = run("stats")
    assert shown.returncode == 0 and "by status:" in shown.stdout


def test_triage_commands(run, live):
    person = team.add_person(uuid.UUID(live.tenant_id), f"grace-{uuid.uuid4().hex[:6]}@example.com",
                                "Grace Hopper", "admin")
    item = as_json(run("submit", "--summary", "Slow search", "--type", "performance", "--json"))
    assert as_json(run("ack", item["id"], "--json"))["status"] == "acknowledged"
    assigned = as_json(run("assign", item["id"], person["email"], "--json"))
    assert assigned["assignee_email"] == person["email"]
    assert as_json(run("assign", item["id"], "none", "--json"))["assignee_email"] is None
    note = as_json(run("note", item["id"], "Reproduced with 10k rows", "--json"))
    assert note["body"] == "Reproduced with 10k rows"
    answered = as_json(run("respond", item["id"], "-", "--status", "in_progress", "--json", stdin="On it.\n"))
    assert (answered["public_response"].strip(), answered["status"]) == ("On it.", "in_progress")
    declined = as_json(run("status", item["id"], "declined", "--reason", "Works as designed", "--json"))
    assert declined["status"] == "declined"
    actions = [entry["action"] for entry in as_json(run("history", item["id"], "--json"))["items"]]
    assert {"status", "assignment", "note", "response"} <= set(actions)
    table = run("history", item["id"])
    assert table.returncode == 0 and table.stdout.splitlines()[0].split() == ["AT", "BY", "ACTION", "CHANGE"]


def test_refusals_exit_1_with_the_detail(run, live):
    revoked = api_keys.create_key(uuid.UUID(live.tenant_id), "admin")["token"]
    api_keys.revoke_key(revoked)
    bad = run("list", token=revoked)
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: The API key is unknown or revoked.")
    item = as_json(run("submit", "--summary", "Mine", "--json"))
    refused = run("ack", item["id"], token=live.tokens["member"])
    assert refused.returncode == 1 and "Admins and staff only." in refused.stderr
    missing = run("show", str(uuid.uuid4()))
    assert missing.returncode == 1 and missing.stderr.startswith("Error: ")
    invalid = run("status", item["id"], "declined")  # declining needs a reason
    assert invalid.returncode == 1 and "reason" in invalid.stderr
    unreachable = run("list", url="http://127.0.0.1:9/api/v1")
    assert unreachable.returncode == 1 and "Could not reach http://127.0.0.1:9/api/v1" in unreachable.stderr


def test_errors_under_json_are_problem_documents_on_stderr(run, live, tmp_path):
    revoked = api_keys.create_key(uuid.UUID(live.tenant_id), "admin")["token"]
    api_keys.revoke_key(revoked)
    assert error_json(run("list", "--json", token=revoked)) == {
        "status": 401, "title": "Unauthorized", "detail": "The API key is unknown or revoked.", "errors": []}
    item = as_json(run("submit", "--summary", "Mine", "--json"))
    invalid = error_json(run("status", item["id"], "declined", "--json"))
    assert invalid["status"] in (400, 422) and "reason" in json.dumps(invalid)
    unreachable = error_json(run("list", "--json", url="http://127.0.0.1:9/api/v1"))
    assert unreachable["status"] is None and "Could not reach http://127.0.0.1:9/api/v1" in unreachable["detail"]
    blank = tmp_path / "blank.py"
    blank.write_text("import sys\nopen(sys.argv[1], 'w').write('# nothing\\n')\n")
    assert error_json(run("submit", "--json", EDITOR=f"{sys.executable} {blank}")) == {
        "status": None, "title": "Error", "detail": "Nothing sent: the summary was empty.", "errors": []}
    for usage in (["list", "--limit", "500", "--json"], ["show", "not-a-uuid", "--json"], ["frobnicate", "--json"],
                  ["list", "--json", "--no-such-option"]):
        problem = error_json(run(*usage), code=2)
        assert (problem["status"], problem["title"]) == (None, "Usage error") and problem["detail"]
    unconfigured = error_json(run("list", "--json", url=None, token=None), code=2)
    assert "PILOT_FEEDBACK_URL" in unconfigured["detail"]


def test_every_command_takes_json():
    from pilot_feedback_cli.group import group
    from pilot_feedback_cli.main import COMMANDS

    ctx = click.Context(group)
    assert [name for name in COMMANDS if not any("--json" in p.opts for p in group.get_command(ctx, name).params)] == []


def test_an_answer_that_is_not_json_is_an_error_naming_the_url(run, other_host):
    other_host.answer = (200, {"Content-Type": "text/html"}, b"<html>Sign in with your company account</html>")
    done = run("list", url=other_host.url)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: {other_host.url}/feedback/ answered 200 with text/html, not JSON")
    problem = error_json(run("stats", "--json", url=other_host.url))
    assert problem["status"] == 200 and f"{other_host.url}/feedback/stats/" in problem["detail"]
    # A redirect is not followed (nor is the token sent on with it): the error says where it points.
    other_host.answer = (302, {"Location": "https://sso.example.com/login"}, b"")
    moved = run("list", url=other_host.url)
    assert moved.returncode == 1 and "Traceback" not in moved.stderr
    assert f"{other_host.url}/feedback/ answered 302 Found (to https://sso.example.com/login)." in moved.stderr
    assert len(other_host.requests) == 3


@pytest.mark.parametrize("args", [["submit", "--type", "complaint", "--summary", "x"], ["show", "not-a-uuid"],
                                  ["list", "--limit", "500"], ["frobnicate"]])
def test_usage_errors_exit_2(run, args):
    done = run(*args)
    assert done.returncode == 2 and "Usage:" in done.stderr


def test_unconfigured_is_a_usage_error_naming_the_variable(run):
    done = run("list", url=None, token=None)
    assert done.returncode == 2 and "PILOT_FEEDBACK_URL" in done.stderr


def test_login_keeps_a_token_per_host_for_the_user_alone(run, live, other_host):
    api = f"{live.base}/api/v1"
    refused = error_json(run("login", "--url", api, "--token", "pf_wrong", "--json", url=None, token=None))
    assert refused["status"] == 401 and "Nothing was stored" in refused["detail"]
    done = as_json(run("login", "--url", f"{api}/", "--token", live.tokens["member"], "--json", url=None, token=None))
    stored = run.home / "pilot-feedback" / "config.json"
    assert done == {"url": api, "host": live.base, "config": str(stored)}
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert json.loads(stored.read_text()) == {"url": api, "hosts": {live.base: {"token": live.tokens["member"]}}}
    assert as_json(run("list", "--json", url=None, token=None))["items"] is not None
    assert as_json(run("list", "--json", url=api, token=None))["items"] is not None

    # Another host gets no token, and the refusal says how to sign in there.
    elsewhere = run("list", url=other_host.url, token=None)
    assert elsewhere.returncode == 1 and "authorization" not in other_host.requests[-1]
    assert elsewhere.stderr.startswith(f"Error: Sign in first. No token is saved for {other_host.origin}: "
                                       f"run `pilot-feedback login --url {other_host.url}`")
    # PILOT_FEEDBACK_TOKEN goes wherever PILOT_FEEDBACK_URL points: both are the caller's choice.
    run("list", url=other_host.url, token="pfk_explicit")
    assert other_host.requests[-1]["authorization"] == "Bearer pfk_explicit"

    other_host.answer = OtherHost.EMPTY_PAGE
    assert run("login", "--url", other_host.url, "--token", "pfk_other", url=None, token=None).returncode == 0
    assert json.loads(stored.read_text()) == {"url": other_host.url, "hosts": {
        live.base: {"token": live.tokens["member"]}, other_host.origin: {"token": "pfk_other"}}}
    assert as_json(run("list", "--json", url=None, token=None)) == {"items": [], "next": None}
    assert other_host.requests[-1]["authorization"] == "Bearer pfk_other"
    assert as_json(run("list", "--json", url=api, token=None))["items"] is not None

    # logout forgets the current address's host; the file goes with the last one.
    assert as_json(run("logout", "--json", url=None, token=None)) == {"host": other_host.origin, "forgot": True}
    assert json.loads(stored.read_text()) == {"hosts": {live.base: {"token": live.tokens["member"]}}}
    assert as_json(run("logout", "--url", api, "--json", url=None, token=None))["forgot"] is True
    assert not stored.exists()
    assert run("logout", url=None, token=None).stdout == "Nothing was stored.\n"


def test_a_config_from_before_hosts_keeps_its_token_for_its_own_host(run, live, other_host):
    stored = run.home / "pilot-feedback" / "config.json"
    stored.parent.mkdir(parents=True)
    stored.write_text(json.dumps({"url": f"{live.base}/api/v1", "token": live.tokens["member"]}))
    assert as_json(run("list", "--json", url=None, token=None))["items"] is not None
    assert run("list", url=other_host.url, token=None).returncode == 1
    assert "authorization" not in other_host.requests[-1]
    other_host.answer = OtherHost.EMPTY_PAGE
    assert run("login", "--url", other_host.url, "--token", "pfk_other", url=None, token=None).returncode == 0
    assert json.loads(stored.read_text()) == {"url": other_host.url, "hosts": {
        live.base: {"token": live.tokens["member"]}, other_host.origin: {"token": "pfk_other"}}}


@pytest.mark.parametrize(("url", "origin"), [
    ("https://Feedback.Example.com:443/api/v1", "https://feedback.example.com"),
    ("http://127.0.0.1:8080/api/v1/", "http://127.0.0.1:8080"),
    ("https://deploy:s3cret@feedback.example.com:8443", "https://feedback.example.com:8443"),
    ("http://[::1]:80/api/v1", "http://[::1]"),
])
def test_tokens_are_kept_by_origin(config, url, origin):
    assert config.origin(url) == origin


@pytest.mark.parametrize("url", ["feedback.example.com/api/v1", "ftp://feedback.example.com", "http://",
                                 "http://feedback.example.com:99999/api/v1"])
def test_an_address_that_is_not_http_is_a_usage_error(run, config, url):
    with pytest.raises(click.UsageError):
        config.origin(url)
    done = run("login", "--url", url, "--token", "pfk_x", url=None, token=None)
    assert done.returncode == 2 and "is not an http:// or https:// address" in done.stderr
    assert not (run.home / "pilot-feedback" / "config.json").exists()


def test_saving_needs_no_fchmod_and_keeps_the_file_private(config, monkeypatch):
    """os.fchmod does not exist on Windows."""
    monkeypatch.delattr(os, "fchmod", raising=False)
    target = config.path()
    target.parent.mkdir(parents=True)
    target.write_text("{}")
    target.chmod(0o644)  # an older file's wider rights do not stay
    assert config.save("https://feedback.example.com/api/v1/", "pfk_x") == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text()) == {"url": "https://feedback.example.com/api/v1",
                                              "hosts": {"https://feedback.example.com": {"token": "pfk_x"}}}
    assert os.listdir(target.parent) == ["config.json"]


def test_a_save_cut_short_leaves_the_old_file_whole(config, monkeypatch):
    target = config.save("https://feedback.example.com/api/v1", "pfk_x")
    before = target.read_text()

    def cut_short(doc, out, **options):
        out.write('{"url": ')
        raise OSError("No space left on device")

    monkeypatch.setattr(config.json, "dump", cut_short)
    with pytest.raises(OSError):
        config.save("https://other.example.com/api/v1", "pfk_y")
    assert target.read_text() == before and os.listdir(target.parent) == ["config.json"]


def test_shell_completion(run):
    script = run("completion", "bash", url=None, token=None)
    assert script.returncode == 0 and "_PILOT_FEEDBACK_COMPLETE=bash_complete" in script.stdout
    assert as_json(run("completion", "bash", "--json", url=None, token=None))["script"] + "\n" == script.stdout
    offered = run(url=None, token=None, _PILOT_FEEDBACK_COMPLETE="bash_complete", COMP_WORDS="pilot-feedback sub",
                  COMP_CWORD="1")
    assert "submit" in offered.stdout


def test_respond_without_a_message_opens_the_editor(run, tmp_path):
    item = as_json(run("submit", "--summary", "Needs an answer", "--json"))
    editor = tmp_path / "answer.py"
    editor.write_text("import sys\ntext = open(sys.argv[1]).read()\n"
                      "open(sys.argv[1], 'w').write('Fixed in 2.4.1.\\n' + text)\n")
    answered = as_json(run("respond", item["id"], "--json", EDITOR=f"{sys.executable} {editor}"))
    assert answered["public_response"] == "Fixed in 2.4.1."


def test_help_imports_neither_click_nor_the_http_client_nor_the_commands(run):
    """`--help` answers at the interpreter's speed: click, the HTTP client and the subcommands load
    when something else runs."""
    done = subprocess.run([sys.executable, "-X", "importtime", CLI, "--help"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0 and "Commands:" in done.stdout
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "pilot_feedback_cli.main" in imported
    assert not imported & {"click", "httpx", "pilot_feedback_cli.commands", "pilot_feedback_cli.api", "shutil"}


@pytest.mark.parametrize("columns", ["", "100", "80", "64", "50", "20"])
@pytest.mark.parametrize("args, stream, code", [(["--help"], "stdout", 0), (["-h"], "stdout", 0), ([], "stderr", 2)])
def test_help_without_click_is_clicks_own(columns, args, stream, code):
    """The group's help, printed without click, is the text click renders for the group, at every
    terminal width, with click's exit code: no arguments is a usage error, shown on stderr."""
    from pilot_feedback_cli.group import group

    done = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": columns})
    width = max(min(int(columns or 80), 80) - 2, 50)
    ctx = click.Context(group, info_name="pilot-feedback", **{**group.context_settings, "terminal_width": width})
    assert (done.returncode, getattr(done, stream)) == (code, group.get_help(ctx) + "\n")


def test_a_long_program_name_gets_clicks_help(tmp_path):
    """A name that leaves the usage's arguments too little room: click lays that help out."""
    from pilot_feedback_cli.group import group

    script = tmp_path / ("pilot-feedback-" + "x" * 30)
    script.symlink_to(CLI)
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "50"})
    ctx = click.Context(group, info_name=script.name, **{**group.context_settings, "terminal_width": 50})
    assert (done.returncode, done.stdout) == (0, group.get_help(ctx) + "\n")
