"""Bad input gets a problem document and changes nothing; an outage is a 503."""
from __future__ import annotations

import json

import pytest
from conftest import item_body, raw_connection

from shared import db
from shared.http import MAX_BODY_BYTES

BASE = "/api/v1/feedback/"


@pytest.fixture
def count_items(database_url, tenant):
    def count() -> int:
        conn = raw_connection(database_url)
        try:
            return conn.run("SELECT count(*) FROM feedback WHERE tenant_id = :t", t=tenant.id)[0][0]
        finally:
            conn.close()

    return count


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    doc = response.get_json()
    assert doc["status"] == status and doc["title"] and doc["type"].startswith("urn:pilot-feedback:problem:")
    return doc


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"summary": ""}, "summary"),
        ({"summary": "   "}, "summary"),
        ({"summary": "x" * 256}, "summary"),
        ({"summary": "nul\x00byte"}, "summary"),
        ({"description": "d" * 20_001}, "description"),
        ({"feedback_type": "complaint"}, "feedback_type"),
        ({"priority": "critical"}, "priority"),
        ({"source": "fax"}, "source"),
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"rating": True}, "rating"),
        ({"tags": ["t"] * 21}, "tags"),
        ({"tags": ["x" * 51]}, "tags.0"),
        ({"tags": "bug"}, "tags"),
        ({"context": {"blob": "x" * 17_000}}, "context"),
        ({"context": {"k": "nul\x00"}}, "context"),
        ({"context": ["not", "an", "object"]}, "context"),
        ({"submitter_email": "not-an-email"}, "submitter_email"),
        ({"submitted_by": "00000000-0000-0000-0000-000000000000"}, "submitted_by"),
        ({"status": "completed"}, "status"),
        ({"tenant_id": "00000000-0000-0000-0000-000000000000"}, "tenant_id"),
    ],
)
def test_invalid_fields_are_422_and_listed(client, tenant, count_items, changes, field):
    before = count_items()
    doc = _problem(client.post(BASE, json=item_body(**changes), headers=tenant.auth()), 422)
    assert field in {e["field"] for e in doc["errors"]}
    assert count_items() == before


def test_missing_required_fields_are_listed(client, tenant):
    doc = _problem(client.post(BASE, json={}, headers=tenant.auth()), 422)
    assert {"feedback_type", "summary"} <= {e["field"] for e in doc["errors"]}


def test_malformed_json_is_400(client, tenant, count_items):
    before = count_items()
    for raw in (b"{", b"not json", b'{"summary": "\\ud800"}'):
        response = client.post(BASE, data=raw, headers={**tenant.auth(), "Content-Type": "application/json"})
        assert response.status_code in (400, 422)
        _problem(response, response.status_code)
    assert count_items() == before


def test_lone_surrogates_never_reach_the_database(client, tenant, count_items):
    before = count_items()
    raw = json.dumps(item_body(summary="bad \ud800 text"))  # json.dumps escapes it as \ud800
    response = client.post(BASE, data=raw, headers={**tenant.auth(), "Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert count_items() == before


def test_body_over_64_kib_is_413_before_any_database_work(client, tenant, count_items, env):
    # With no reachable database, a 413 proves the body was refused first.
    before = count_items()
    env(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    db.reset_pools()
    try:
        body = json.dumps(item_body(description="x" * MAX_BODY_BYTES))
        response = client.post(BASE, data=body, headers={**tenant.auth(), "Content-Type": "application/json"})
        _problem(response, 413)
    finally:
        db.reset_pools()
    assert count_items() == before


def test_wrong_content_type_is_415(client, tenant):
    response = client.post(BASE, data="summary=x", headers={**tenant.auth(), "Content-Type": "text/plain"})
    _problem(response, 415)


def test_unknown_route_and_method(client, tenant):
    _problem(client.get("/api/v1/nothing", headers=tenant.auth()), 404)
    response = client.put(BASE, json={}, headers=tenant.auth())
    _problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_database_outage_is_503_with_retry_after(client, tenant, env):
    env(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    db.reset_pools()
    try:
        response = client.get(BASE, headers=tenant.auth())
        doc = _problem(response, 503)
        assert response.headers["Retry-After"].isdigit()
        assert "Traceback" not in json.dumps(doc)
    finally:
        db.reset_pools()


def test_paths_the_framework_refuses_are_problems_too(client, tenant):
    response = client.post("/api/v1/feedback/%0Ax/vote/", headers=tenant.auth())
    _problem(response, 404)
