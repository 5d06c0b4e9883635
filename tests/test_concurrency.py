"""Races the API must win: idempotent submission and concurrent votes."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from helpers import BASE, item_body, sql, submit

from shared import api_keys


def _count(database_url: str, statement: str, **params) -> int:
    return sql(database_url, statement, **params)[0][0]


def test_idempotent_submission_creates_exactly_one_item(function_app, tenant, database_url):
    app = function_app("feedback")
    key = str(uuid.uuid4())
    body = item_body(summary=f"idempotent {key}")
    headers = {**tenant.auth(), "Idempotency-Key": key}

    def post(_: int):
        response = app.test_client().post(BASE, json=body, headers=headers)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(post, range(20)))
    created = [b for s, b in results if s == 201]
    assert created, results
    assert {s for s, _ in results} <= {201, 409}
    assert all(b == created[0] for b in created)
    assert all(b["type"].endswith("idempotency-in-flight") for s, b in results if s == 409)

    for _ in range(5):
        status, replay = post(0)
        assert (status, replay) == (201, created[0])
    assert _count(database_url, "SELECT count(*) FROM feedback WHERE summary = :s", s=body["summary"]) == 1


def test_idempotency_key_with_another_body_is_422(client, tenant, database_url):
    headers = {**tenant.auth(), "Idempotency-Key": "reused-key"}
    assert client.post(BASE, json=item_body(summary="first"), headers=headers).status_code == 201
    response = client.post(BASE, json=item_body(summary="second"), headers=headers)
    assert response.status_code == 422
    assert _count(database_url, "SELECT count(*) FROM feedback WHERE tenant_id = :t AND summary = 'second'",
                  t=tenant.id) == 0


def test_idempotency_keys_are_per_caller(client, tenant):
    body = item_body(summary="same key, two callers")
    first = client.post(BASE, json=body, headers={**tenant.auth(), "Idempotency-Key": "k1"}).get_json()
    second = client.post(BASE, json=body, headers={**tenant.auth("admin"), "Idempotency-Key": "k1"}).get_json()
    assert first["id"] != second["id"]


def test_concurrent_votes_keep_the_count_exact(function_app, tenant, database_url):
    app = function_app("feedback")
    item = submit(app.test_client(), tenant)
    tokens = [api_keys.create_key(tenant.id, "member")["token"] for _ in range(24)]
    url = BASE + item["id"] + "/vote/"

    def vote(token: str) -> list[int]:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        codes = [client.post(url, headers=headers).status_code for _ in range(2)]
        codes.append(client.delete(url, headers=headers).status_code)
        codes.append(client.post(url, headers=headers).status_code)
        return codes

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = [c for result in pool.map(vote, tokens) for c in result]
    assert set(codes) == {200}
    rows = _count(database_url, "SELECT count(*) FROM votes WHERE feedback_id = :id", id=uuid.UUID(item["id"]))
    stored = _count(database_url, "SELECT vote_count FROM feedback WHERE id = :id", id=uuid.UUID(item["id"]))
    assert rows == stored == len(tokens)
