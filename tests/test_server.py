"""Real HTTP against `manage.py serve`: the guide's curl examples, logs, and schemathesis."""
from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
import requests
from helpers import wait_until
import schemathesis
from hypothesis import HealthCheck, settings

from live import LiveServer


# The setup guide's examples, as written (only the host differs).
GUIDE_SUBMIT = """curl -X POST https://api.coditect.ai/api/v1/feedback/ \\
-H "Authorization: Bearer $TOKEN" \\
-H "Content-Type: application/json" \\
-d '{
"feedback_type": "bug",
"summary": "Login fails with SAML SSO",
"description": "When attempting to login with our SAML provider...",
"priority": "high",
"source": "web_app",
"context": {
"browser": "Chrome 120",
"os": "macOS 14.2"
}
}'"""
GUIDE_ANONYMOUS = """curl -X POST https://api.coditect.ai/api/v1/feedback/ \\
-H "Content-Type: application/json" \\
-d '{
"feedback_type": "feature",
"summary": "Add dark mode support",
"description": "Please add a dark mode option...",
"submitter_email": "user@example.com",
"submitter_name": "John Doe"
}'"""
GUIDE_STATS = """curl https://api.coditect.ai/api/v1/feedback/stats/ \\
-H "Authorization: Bearer $TOKEN\""""
GUIDE_VERIFY = "curl http://localhost:8000/api/v1/feedback/"


def _curl(command: str, live: LiveServer, token: str | None = None) -> dict:
    command = command.replace("https://api.coditect.ai", live.base).replace("http://localhost:8000", live.base)
    # Run by a shell, exactly as a person pastes it.
    env = {**os.environ, "TOKEN": token or ""}
    done = subprocess.run(["bash", "-c", command + " --silent --show-error --fail-with-body"],
                          capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_the_guides_curl_examples_work_as_written(live):
    token = live.tokens["member"]
    created = _curl(GUIDE_SUBMIT, live, token)
    assert (created["feedback_type"], created["priority"], created["status"]) == ("bug", "high", "new")
    assert created["context"] == {"browser": "Chrome 120", "os": "macOS 14.2"}
    anonymous = _curl(GUIDE_ANONYMOUS, live)
    assert (anonymous["tenant_id"], anonymous["submitter_name"]) == (live.tenant_id, "John Doe")
    stats = _curl(GUIDE_STATS, live, token)
    assert {"total", "by_type", "by_status", "avg_response_time_hours", "open_count", "resolved_count"} <= set(stats)
    assert stats["total"] >= 2 and stats["by_type"]["bug"] >= 1 and stats["by_type"]["feature"] >= 1


def test_one_port_serves_every_group(live):
    base = live.base + "/api/v1/feedback/"
    admin = {"Authorization": f"Bearer {live.tokens['admin']}"}
    item = requests.post(base, json={"feedback_type": "bug", "summary": "triage me"}, headers=admin, timeout=5).json()
    acknowledged = requests.post(base + item["id"] + "/acknowledge/", headers=admin, timeout=5)
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"
    history = requests.get(base + item["id"] + "/history/", headers=admin, timeout=5).json()
    assert [e["action"] for e in history["items"]] == ["status"]
    assert requests.get(base + "admin/openapi.json", timeout=5).json()["info"]["title"] == "Pilot Feedback: admin"


def test_the_guides_verify_step_answers_with_a_problem(live):
    # The guide's unauthenticated "verify" curl: the endpoint exists and asks for credentials.
    response = requests.get(live.base + "/api/v1/feedback/", timeout=5)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


def test_logs_are_json_lines_without_secrets(live):
    headers = {"Authorization": f"Bearer {live.tokens['admin']}", "X-Request-Id": "trace-me-123"}
    requests.get(live.base + "/api/v1/feedback/", headers=headers, timeout=5)
    requests.post(live.base + "/api/v1/feedback/", json={"bad": 1},
                  headers={"X-Tenant-Key": live.intake_key, "X-Request-Id": "bad-body"}, timeout=5)
    requests.get(live.base + "/api/v1/feedback/",
                 headers={"Authorization": "Bearer pfk_wrong-secret", "X-Request-Id": "wrong-key"}, timeout=5)

    def logged() -> str | None:
        text = live.log_path.read_text()
        return text if all(f'"{i}"' in text for i in ("trace-me-123", "bad-body", "wrong-key")) else None

    text = wait_until(logged, what="the three request lines")
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests_logged = [r for r in records if r.get("message") == "request"]
    assert any(r["request_id"] == "trace-me-123" and r["tenant_id"] == live.tenant_id
               and r["route"] == "/feedback/" and r["severity"] == "INFO" for r in requests_logged)
    for secret in (*live.tokens.values(), live.intake_key, "pfk_wrong-secret"):
        assert secret not in text


def test_a_chunked_body_over_64_kib_is_413(live):
    """No Content-Length to go by: the body is read only up to the limit."""

    def chunks():
        yield b'{"feedback_type": "bug", "summary": "big", "description": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = requests.post(live.base + "/api/v1/feedback/", data=chunks(), timeout=10,
                             headers={"Authorization": f"Bearer {live.tokens['member']}",
                                      "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


# The admin token of the live server, for schemathesis' auth provider below.
_ADMIN_TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(live):
    _ADMIN_TOKEN["token"] = live.tokens["admin"]
    return schemathesis.openapi.from_url(live.base + "/api/v1/feedback/openapi.json")


@pytest.fixture(scope="module")
def admin_schema(live):
    _ADMIN_TOKEN["token"] = live.tokens["admin"]
    return schemathesis.openapi.from_url(live.base + "/api/v1/feedback/admin/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")
admin_schema_lazy = schemathesis.pytest.from_fixture("admin_schema")


@admin_schema_lazy.auth()
@schema.auth()
class AdminBearer:
    """Credentials through schemathesis itself, so that its cases without them stay without."""

    def get(self, case, context):
        return _ADMIN_TOKEN["token"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_nothing(case, live):
    key = (case.headers or {}).get("Idempotency-Key")
    if key and len(key) <= 255:
        # A reused key with another body is a documented 422 (tested elsewhere): keep valid keys unique.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    case.call_and_validate()


@admin_schema_lazy.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_nothing_in_the_triage_group(case, live):
    case.call_and_validate()
