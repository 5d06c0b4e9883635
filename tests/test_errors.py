"""Bad input gets a problem document and changes nothing; an outage is a 503."""
from __future__ import annotations

import json

import pytest
from helpers import BASE, item_body, sql

from shared import db
from shared.http import MAX_BODY_BYTES


@pytest.fixture
def count_items(database_url, tenant):
    def count() -> int:
        return sql(database_url, "SELECT count(*) FROM feedback WHERE tenant_id = :t", t=tenant.id)[0][0]

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
        ({"context": {"deep": [[[["four levels"]]]]}}, "context"),  # the schema spells out three
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


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_json_cannot_hold_are_422_on_submit_and_edit(client, tenant, count_items, number):
    before = count_items()
    body = json.dumps(item_body())[:-1] + f', "context": {{"n": [1, {{"deep": {number}}}]}}}}'
    doc = _problem(client.post(BASE, data=body, content_type="application/json", headers=tenant.auth()), 422)
    assert doc["errors"][0]["field"] == "context" and "finite" in doc["errors"][0]["message"]
    assert count_items() == before
    item = client.post(BASE, json=item_body(), headers=tenant.auth()).get_json()
    patch = f'{{"context": {{"n": {number}}}}}'
    _problem(client.patch(BASE + item["id"] + "/", data=patch, content_type="application/json",
                          headers=tenant.auth()), 422)
    assert client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json()["context"] == {}


def _logged(capfd) -> list[dict]:
    return [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]


def test_a_database_failure_is_a_bare_500_and_its_log_line_has_the_cause(client, tenant, monkeypatch, capfd):
    from shared import queries

    monkeypatch.setattr(queries, "STATS", queries.scoped(
        "SELECT (1 / (SELECT count(*) - count(*) FROM feedback f WHERE <scope>))::text"))
    capfd.readouterr()
    response = client.get(BASE + "stats/", headers=tenant.auth())
    doc = _problem(response, 500)
    assert "division" not in json.dumps(doc) and "Traceback" not in json.dumps(doc)
    [failure] = [line for line in _logged(capfd) if line["message"] == "unhandled error"]
    assert failure["severity"] == "ERROR" and failure["error"] == "DatabaseError"
    assert "division by zero" in failure["stack_trace"] and "Traceback" in failure["stack_trace"]
    assert failure["request_id"] == response.headers["X-Request-Id"]


def test_an_unexpected_exception_is_a_bare_500_and_its_log_line_has_the_trace(client, tenant, monkeypatch, capfd):
    from shared import feedback

    def broken(*args, **kwargs):
        raise KeyError("the cause")

    monkeypatch.setattr(feedback, "stats", broken)
    capfd.readouterr()
    doc = _problem(client.get(BASE + "stats/", headers=tenant.auth()), 500)
    assert "the cause" not in json.dumps(doc)
    [failure] = [line for line in _logged(capfd) if line["message"] == "unhandled error"]
    assert failure["error"] == "KeyError" and "the cause" in failure["stack_trace"]


def test_database_words_never_reach_the_answer(client, tenant, monkeypatch):
    """Input is checked before the database; if a constraint still refuses a value, the
    problem names no table or type."""
    from shared import queries

    monkeypatch.setattr(queries, "STATS", queries.scoped(
        "INSERT INTO rate_counters (tenant_id, bucket, window_start)"
        " SELECT f.tenant_id, repeat('x', 400), now() FROM feedback f WHERE <scope> LIMIT 1 RETURNING '{}'"))
    client.post(BASE, json=item_body(), headers=tenant.auth())
    doc = _problem(client.get(BASE + "stats/", headers=tenant.auth()), 422)
    assert "varying" not in json.dumps(doc) and "character" not in json.dumps(doc)
