"""Each HTTP function alone, started by functions-framework's own command as README.md
shows (and as the deployment's buildpack runs it), answering one real request."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests
from helpers import wait_until
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
    "console": ("GET", "/console/signin", 200),
    "email_intake": ("POST", "/api/v1/email/inbound/mime", 401),  # unsigned
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


def test_a_deployed_functions_log_lines_are_what_cloud_logging_reads(database_url, tenant, tmp_path):
    """Started as deployed: every line is JSON with a time; request lines carry Cloud Logging's
    httpRequest (no query string) and the trace; a 4xx line says why."""
    import json

    from shared import logs

    log = tmp_path / "function.log"
    env = {**os.environ, "DATABASE_URL": database_url, "GOOGLE_CLOUD_PROJECT": "pilot-demo"}
    trace = "105445aa7843bc8bf206b12000100000"
    with function_process(["--target", "feedback", "--source", "functions/feedback/main.py"], env, log) as base:
        headers = {**tenant.auth(), "X-Cloud-Trace-Context": f"{trace}/1;o=1", "User-Agent": "pilot-cli/1.0"}
        assert requests.get(base + "/api/v1/feedback/?limit=2&q=private", headers=headers, timeout=10).status_code == 200
        refused = requests.post(base + "/api/v1/feedback/", json={"summary": ""}, headers=tenant.auth(), timeout=10)
        assert refused.status_code == 422
        wait_until(lambda: log.read_text().count('"message": "request"') >= 2, what="both request lines")
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert all(r["time"].endswith("Z") and r["severity"] for r in records)
    listed, failed = [r for r in records if r.get("message") == "request"]
    assert listed[logs.TRACE] == f"projects/pilot-demo/traces/{trace}"
    http = listed["httpRequest"]
    assert http["requestMethod"] == "GET" and http["requestUrl"] == "/api/v1/feedback/" and http["status"] == 200
    assert http["userAgent"] == "pilot-cli/1.0" and http["latency"].endswith("s") and int(http["responseSize"]) > 0
    assert failed["status"] == 422 and "feedback_type" in failed["reason"] and "summary" in failed["reason"]
