"""The VS Code extension (clients/vscode): its TypeScript type-checks and builds with tsc,
and its API client, token store, context builder and command logic pass Node's test runner
against the local server, with a scripted Ui answering the prompts (tests/test_vscode_workbench.py
runs the extension in a real VS Code)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

EXTENSION = Path(__file__).resolve().parent.parent / "clients/vscode"


def _npm(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["npm", *args], cwd=EXTENSION, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_the_extension_builds_and_its_logic_passes_against_the_server(live):
    built = _npm("run", "build")
    assert built.returncode == 0, built.stdout + built.stderr
    ran = _npm("test", PILOT_FEEDBACK_URL=f"{live.base}/api/v1", PILOT_FEEDBACK_TOKEN=live.tokens["member"])
    report = ran.stdout + ran.stderr
    assert ran.returncode == 0, report
    # Every test ran and passed; none was skipped.
    assert all(f"# {outcome} 0" in report for outcome in ("fail", "cancelled", "skipped", "todo"))
    assert int(next(line for line in report.splitlines() if line.startswith("# pass")).split()[2]) == 11
