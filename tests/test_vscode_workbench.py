"""The extension in a real VS Code: code-server (which `make test` installs under tests/vscode-server)
with the packaged .vsix installed, a git checkout open as its workspace, and its workbench driven in
Chromium through the command palette, as a user would, against the local server. Nothing here is
skipped: without code-server or Chromium the tests fail."""
from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import browser
import pytest
import requests
from helpers import ROOT, wait_until
from live import free_port, wait_until_listening

from playwright.sync_api import expect

EXTENSION = ROOT / "clients/vscode"
CODE_SERVER = ROOT / "tests/vscode-server/node_modules/.bin/code-server"
REMOTE = "https://bot:s3cret@git.example.com/acme/app.git"


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Another host, named by the workspace's own settings: it must never see a request."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"items": []}')

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, list]]:
    handler = type("Recorder", (_Recorder,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1", handler.seen
    server.shutdown()


@pytest.fixture(scope="module")
def vsix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension built and packaged, as `make vsix` does."""
    out = tmp_path_factory.mktemp("vsix") / "pilot-feedback.vsix"
    for command in (["npm", "run", "build"], ["node_modules/.bin/vsce", "package", "--no-dependencies", "--out", str(out)]):
        done = subprocess.run(command, cwd=EXTENSION, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout + done.stderr
    return out


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, recorder: tuple[str, list]) -> Path:
    """A git checkout whose own settings point the extension at another host."""
    folder = tmp_path_factory.mktemp("checkout")
    _git(folder, "init", "-q", "-b", "feature/login")
    _git(folder, "remote", "add", "origin", REMOTE)
    (folder / "app.py").write_text("print('hello')\n")
    (folder / ".vscode").mkdir()
    (folder / ".vscode/settings.json").write_text(json.dumps({"pilotFeedback.apiUrl": recorder[0]}))
    _git(folder, "add", ".")
    _git(folder, "-c", "user.email=t@example.com", "-c", "user.name=T", "commit", "-q", "-m", "start")
    return folder


@pytest.fixture(scope="module")
def code_server(live: Any, vsix: Path, workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """code-server on a loopback port, the .vsix installed, the user's settings naming the local server."""
    assert CODE_SERVER.exists(), f"no code-server at {CODE_SERVER}: `make test` installs it (tests/vscode-server/install.sh)"
    home = tmp_path_factory.mktemp("code-server")
    dirs = ["--config", str(home / "config.yaml"), "--user-data-dir", str(home / "data"),
            "--extensions-dir", str(home / "extensions")]
    env = {**os.environ, "HOME": str(home)}  # its logs too stay in the temporary directory
    installed = subprocess.run([str(CODE_SERVER), *dirs, "--install-extension", str(vsix)],
                               capture_output=True, text=True, timeout=120, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert [d.name for d in (home / "extensions").glob("pilot-feedback.*")] == ["pilot-feedback.pilot-feedback-0.1.0"]
    settings = home / "data/User/settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({
        "pilotFeedback.apiUrl": f"{live.base}/api/v1",
        "workbench.startupEditor": "none", "workbench.tips.enabled": False,
        "extensions.ignoreRecommendations": True, "telemetry.telemetryLevel": "off",
    }))
    port = free_port()
    log = (home / "code-server.log").open("w")
    process = subprocess.Popen(
        [str(CODE_SERVER), *dirs, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}", "--disable-telemetry",
         "--disable-update-check", "--disable-getting-started-override", str(workspace)],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        assert wait_until_listening(process, port, timeout=60), (home / "code-server.log").read_text()
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from browser.launch()


@pytest.fixture(scope="module")
def workbench(chromium: Any, code_server: str) -> Iterator[Any]:
    """One workbench page for the module's tests, which go on from each other's state as a
    user's session would."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(code_server)
    expect(page.get_by_text("Do you trust the authors of the files in this folder?")).to_be_visible(timeout=90_000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def screenshot_on_failure(request: pytest.FixtureRequest, workbench: Any, tmp_path: Path) -> Iterator[None]:
    """A failing test leaves the workbench as it saw it in its temporary directory, workbench.png."""
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        workbench.screenshot(path=tmp_path / "workbench.png")


def _palette(page: Any, title: str) -> None:
    """Runs a command by its title from the command palette, as a user does."""
    page.keyboard.press("F1")
    box = page.locator(".quick-input-widget input")
    expect(box).to_be_focused()
    box.fill(f">{title}")
    # The first match is the command itself (its label may go on with its keybinding).
    expect(page.locator(".quick-input-list .monaco-list-row").first).to_have_attribute(
        "aria-label", re.compile(f"^{re.escape(title)}(,|$)"))
    page.keyboard.press("Enter")


def _answer(page: Any, title: str, answer: str) -> None:
    """Answers the QuickPick or input box titled `title` by typing, then Enter."""
    expect(page.locator(".quick-input-widget .quick-input-title")).to_have_text(title)
    page.keyboard.type(answer)
    page.keyboard.press("Enter")


def _describe(page: Any, text: str) -> None:
    """Writes the description in the editor the report opens."""
    expect(page.locator(".tab.active")).to_contain_text("Feedback description.md")
    expect(page.locator(".notification-toast", has_text="Pilot Feedback: write the description")).to_be_visible()
    expect(page.locator(".monaco-editor textarea").first).to_be_focused()
    page.keyboard.type(text)


def _sent(live: Any, summary: str) -> dict:
    """The item with this summary, as the API shows it to the member who sent it."""
    headers = {"Authorization": f"Bearer {live.tokens['member']}"}

    def found() -> list[dict]:
        listed = requests.get(f"{live.base}/api/v1/feedback/?mine=true&limit=100", headers=headers, timeout=10).json()
        return [it for it in listed["items"] if it["summary"] == summary]

    [item] = wait_until(found, timeout=30, what=f"the item {summary!r}")
    return requests.get(f"{live.base}/api/v1/feedback/{item['id']}/", headers=headers, timeout=10).json()


def test_in_restricted_mode_the_view_signs_in_and_a_report_goes_without_git(
        workbench: Any, live: Any, recorder: tuple[str, list]) -> None:
    page = workbench
    page.get_by_role("button", name="No, I don't trust the authors").click()
    page.locator(".activitybar").get_by_role("tab", name="Pilot Feedback").click()
    view = page.locator(".pane-body", has_text="Sign in with an API key or a JWT")
    expect(view).to_be_visible()

    view.get_by_role("button", name="Sign In").click()
    _answer(page, "Pilot Feedback token", live.tokens["member"])
    expect(page.locator(".pane-body").get_by_text("You have not sent any feedback yet.")).to_be_visible()
    expect(page.locator(".pane-body").get_by_role("button", name="Send Feedback")).to_be_visible()
    # The workspace's .vscode/settings.json names another host: the setting is the user's alone.
    assert recorder[1] == []

    summary = f"Crash on save {uuid.uuid4().hex[:6]}"
    _palette(page, "Pilot Feedback: Report a Bug")
    _answer(page, "Priority", "High")
    _answer(page, "Summary", summary)
    _describe(page, "It crashes on every save.\nExpected: the file is saved.")
    _palette(page, "Pilot Feedback: Use as Description")
    expect(page.locator(".quick-input-list")).to_contain_text("no git: the workspace is not trusted")
    _answer(page, "Send context with it?", "Attach context")

    item = _sent(live, summary)
    assert (item["feedback_type"], item["priority"], item["source"]) == ("bug", "high", "ide_plugin")
    assert item["description"] == "It crashes on every save.\nExpected: the file is saved."
    assert set(item["context"]) == {"vscode_version", "os", "extension_version"}
    assert (item["context"]["vscode_version"], item["context"]["extension_version"]) == ("1.100.3", "0.1.0")
    expect(page.locator(".tab", has_text="Feedback description.md")).to_have_count(0)
    row = page.locator(".pane-body .monaco-list-row", has_text=summary)
    expect(row).to_contain_text("new")
    assert recorder[1] == []


def test_in_a_trusted_workspace_a_report_carries_the_checkouts_git_context_without_credentials(
        workbench: Any, live: Any, workspace: Path, recorder: tuple[str, list]) -> None:
    page = workbench
    _palette(page, "Workspaces: Manage Workspace Trust")
    page.get_by_role("button", name="Trust", exact=True).click()
    expect(page.locator(".statusbar")).not_to_contain_text("Restricted Mode")
    page.keyboard.press("Control+P")  # Go to File
    expect(page.locator(".quick-input-widget input")).to_be_focused()
    page.keyboard.type("app.py")
    expect(page.locator(".quick-input-list .monaco-list-row").first).to_contain_text("app.py")
    page.keyboard.press("Enter")
    expect(page.locator(".tab.active")).to_contain_text("app.py")

    summary = f"Slow start {uuid.uuid4().hex[:6]}"
    _palette(page, "Pilot Feedback: Send Feedback")
    _answer(page, "Type of feedback", "Performance")
    _answer(page, "Priority", "Low")
    _answer(page, "Summary", summary)
    _describe(page, "Opening the project takes a minute.")
    page.keyboard.press("Control+Enter")  # the keybinding of Use as Description
    expect(page.locator(".quick-input-list")).to_contain_text("git remote, branch and commit")
    _answer(page, "Send context with it?", "Attach context")

    item = _sent(live, summary)
    assert (item["feedback_type"], item["priority"], item["description"]) == (
        "performance", "low", "Opening the project takes a minute.")
    assert item["context"] == {
        "vscode_version": "1.100.3", "os": item["context"]["os"], "language": "python", "extension_version": "0.1.0",
        "git_remote": "https://git.example.com/acme/app.git", "git_branch": "feature/login",
        "git_commit": _git(workspace, "rev-parse", "HEAD"),
    }
    shown = json.dumps(item)
    assert "s3cret" not in shown and "bot:" not in shown and live.tokens["member"] not in shown
    expect(page.locator(".pane-body .monaco-list-row", has_text=summary)).to_contain_text("new")
    assert recorder[1] == []


def test_closing_the_description_editor_cancels_the_report(workbench: Any, live: Any) -> None:
    page = workbench
    summary = f"Never sent {uuid.uuid4().hex[:6]}"
    _palette(page, "Pilot Feedback: Request a Feature")
    _answer(page, "Priority", "Medium")
    _answer(page, "Summary", summary)
    _describe(page, "Half a thought")
    page.locator(".tab.active .codicon-close").click()
    page.get_by_role("button", name="Don't Save").click()
    expect(page.locator(".tab", has_text="Feedback description.md")).to_have_count(0)
    # The report ended there: no next question, its notification gone, nothing sent.
    expect(page.locator(".quick-input-widget")).to_be_hidden()
    expect(page.locator(".notification-toast", has_text="Pilot Feedback: write the description")).to_have_count(0)
    headers = {"Authorization": f"Bearer {live.tokens['member']}"}
    listed = requests.get(f"{live.base}/api/v1/feedback/?mine=true", headers=headers, timeout=10).json()["items"]
    assert summary not in [it["summary"] for it in listed]
