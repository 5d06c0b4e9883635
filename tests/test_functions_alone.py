"""Each HTTP function alone, started by functions-framework's own command as README.md
shows (and as the deployment's buildpack runs it), answering one real request."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests
from live import function_process

ROOT = Path(__file__).resolve().parent.parent
README_COMMANDS = re.findall(r"functions-framework (--target (\w+) --source (\S+)[^\n]*)",
                             (ROOT / "README.md").read_text())

# One request each function answers without credentials, and what it answers.
REQUESTS = {
    "feedback": ("GET", "/api/v1/feedback/openapi.json", 200),
    "admin": ("GET", "/api/v1/feedback/admin/openapi.json", 200),
    "github_webhook": ("POST", "/api/v1/github/webhook/", 401),  # unsigned
    "sweep": ("POST", "/", 200),
}


def test_the_readme_shows_every_function():
    shown = {target: source for _, target, source in README_COMMANDS}
    groups = {p.parent.name: f"functions/{p.parent.name}/main.py" for p in ROOT.glob("functions/*/main.py")}
    assert shown == groups


@pytest.mark.parametrize("target", sorted(REQUESTS))
def test_a_function_started_alone_answers(database_url, target):
    [args] = [a for a, t, _ in README_COMMANDS if t == target]
    args = re.sub(r"\s*--port \d+", "", args).split()
    with function_process(args, {**os.environ, "DATABASE_URL": database_url}) as base:
        method, path, status = REQUESTS[target]
        response = requests.request(method, base + path, json={}, timeout=10)
        assert response.status_code == status, response.text
        if target == "sweep":
            assert set(response.json()) == {"published", "purged"}
