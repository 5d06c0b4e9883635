"""Browsers on allowed origins may call the API; others get no CORS headers."""
from __future__ import annotations

import pytest
from helpers import BASE, submit

APP = "https://app.example.com"


@pytest.fixture
def cors(env):
    env(CORS_ALLOWED_ORIGINS="https://app.example.com, https://ide.example.com/")


def test_preflight_from_an_allowed_origin(client, cors):
    response = client.options(BASE, headers={"Origin": APP, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) >= {"GET", "POST"}
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]


def test_responses_to_an_allowed_origin_carry_cors_headers(client, tenant, cors):
    submit(client, tenant)
    response = client.get(BASE + "?limit=1", headers={**tenant.auth(), "Origin": "https://ide.example.com"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://ide.example.com"
    assert "Link" in response.headers["Access-Control-Expose-Headers"]
    assert response.headers["Vary"] == "Origin"
    # Errors too, so a browser can read the problem document.
    assert client.get(BASE, headers={"Origin": APP}).headers["Access-Control-Allow-Origin"] == APP


def test_other_origins_get_nothing(client, tenant, cors):
    response = client.get(BASE, headers={**tenant.auth(), "Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(BASE, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_no_cors_unless_configured(client, tenant):
    response = client.get(BASE, headers={**tenant.auth(), "Origin": APP})
    assert "Access-Control-Allow-Origin" not in response.headers
