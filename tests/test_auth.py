"""API keys, JWTs (HS256 and JWKS over real HTTP) and anonymous submission."""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from helpers import BASE, item_body, sql, submit
from cryptography.hazmat.primitives.asymmetric import rsa

from shared import api_keys

ISSUER = "https://id.example.test/"
AUDIENCE = "pilot-feedback"
SECRET = "s3cret-for-tests-only-0123456789abcdef"


def test_missing_or_malformed_credentials_are_401(client):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer not-a-token"}, {"Authorization": "Bearer pfk_unknown"}):
        response = client.get(BASE, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_stops_working(client, tenant):
    made = api_keys.create_key(tenant.id, "member")
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert client.get(BASE, headers=headers).status_code == 200
    api_keys.revoke_key(made["id"])
    assert client.get(BASE, headers=headers).status_code == 401


def test_behind_api_gateway_the_callers_credentials_come_from_x_forwarded_authorization(client, tenant, env):
    """API Gateway signs its call to the function with its own Google ID token in
    Authorization and moves the caller's header to X-Forwarded-Authorization."""
    env(AUTHORIZATION_HEADER="X-Forwarded-Authorization")
    gateway = {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJmdW5jdGlvbiJ9.c2ln"}
    caller = {"X-Forwarded-Authorization": tenant.auth()["Authorization"]}
    assert client.get(BASE, headers={**gateway, **caller}).status_code == 200
    assert client.get(BASE, headers=gateway).status_code == 401  # the gateway's own token is no one's
    made = client.post(BASE, json=item_body(submitter_email="anon@example.com"),
                       headers={**gateway, "X-Tenant-Key": tenant.intake_key})
    assert made.status_code == 201  # anonymous, by intake key, as without a gateway
    env(AUTHORIZATION_HEADER="Authorization")
    assert client.get(BASE, headers=caller).status_code == 401


def _hs256(claims: dict, **overrides) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-42", "exp": now + 300, "iat": now, **claims}
    body.update(overrides)
    return jwt.encode(body, SECRET, algorithm="HS256")


@pytest.fixture
def hs256(env):
    env(JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE, JWT_ALGORITHM="HS256", JWT_SECRET=SECRET)


def test_jwt_member_submits_and_votes(client, tenant, hs256):
    headers = {"Authorization": "Bearer " + _hs256({"tenant_id": str(tenant.id), "email": "u@example.com"})}
    item = client.post(BASE, json=item_body(), headers=headers).get_json()
    assert item["tenant_id"] == str(tenant.id)
    assert item["submitted_by"] == str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ISSUER}#user-42"))
    assert item["submitter_email"] == "u@example.com"
    assert client.post(BASE + item["id"] + "/vote/", headers=headers).get_json()["vote_count"] == 1
    # The same user through another token is the same voter.
    again = {"Authorization": "Bearer " + _hs256({"tenant_id": str(tenant.id)})}
    assert client.post(BASE + item["id"] + "/vote/", headers=again).get_json()["vote_count"] == 1


def test_a_token_sent_with_another_tenants_intake_key_is_refused(client, tenant, other_tenant, hs256, database_url):
    """The widget of a signed-in app sends its user's token with the page's intake key: a token
    of tenant B with tenant A's key (from a page A allows) must not file an item in B."""
    of_b = {"Authorization": "Bearer " + _hs256({"tenant_id": str(other_tenant.id)})}
    for key in ({"X-Tenant-Key": tenant.intake_key}, {}):
        refused = client.post(BASE + ("" if key else f"?tenant_key={tenant.intake_key}"), json=item_body(),
                              headers={**of_b, **key})
        assert refused.status_code == 403 and "different tenants" in refused.get_json()["detail"]
    refused = client.post(BASE, json=item_body(), headers={**other_tenant.auth(), "X-Tenant-Key": tenant.intake_key})
    assert refused.status_code == 403
    assert sql(database_url, "SELECT count(*) FROM feedback WHERE tenant_id = :t", t=other_tenant.id) == [[0]]
    # The same key with a token of its own tenant works, as the token alone does.
    of_a = {"Authorization": "Bearer " + _hs256({"tenant_id": str(tenant.id)})}
    assert client.post(BASE, json=item_body(), headers={**of_a, "X-Tenant-Key": tenant.intake_key}).status_code == 201
    assert client.post(BASE, json=item_body(), headers=of_b).status_code == 201


def test_an_hs256_key_is_read_from_secret_manager_when_first_needed(client, tenant, env, secret_store):
    """Deployed, the key is a Secret Manager version the function reads on the first token:
    a function starts (and a first apply succeeds) before the key has a version."""
    from shared import secrets

    secret = f"projects/p/secrets/jwt-{uuid.uuid4().hex[:6]}/versions/latest"
    env(JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE, JWT_ALGORITHM="HS256", JWT_SECRET="",
        JWT_SECRET_SECRET=secret, SECRET_MANAGER_ENDPOINT=secret_store.url)
    secrets.reset()
    headers = {"Authorization": "Bearer " + _hs256({"tenant_id": str(tenant.id)})}
    missing = client.get(BASE, headers=headers)
    assert missing.status_code == 503 and missing.headers["Retry-After"]
    secret_store.add_version("p", secret.split("/")[3], SECRET)
    secrets.reset()
    assert client.get(BASE, headers=headers).status_code == 200
    secrets.reset()


def test_jwt_role_claim_grants_triage(client, tenant, hs256):
    item = submit(client, tenant)
    admin = {"Authorization": "Bearer " + _hs256({"tenant_id": str(tenant.id), "role": "admin"})}
    member = {"Authorization": "Bearer " + _hs256({"tenant_id": str(tenant.id)})}
    assert client.patch(BASE + item["id"] + "/", json={"priority": "high"}, headers=admin).status_code == 200
    assert client.patch(BASE + item["id"] + "/", json={"priority": "low"}, headers=member).status_code == 403


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 3600},
        {"aud": "someone-else"},
        {"iss": "https://evil.example/"},
        {"role": "superuser"},
        {"tenant_id": "not-a-uuid"},
        {"tenant_id": str(uuid.UUID(int=7))},  # no such tenant
    ],
)
def test_bad_jwts_are_401(client, tenant, hs256, overrides):
    token = _hs256({"tenant_id": str(tenant.id)}, **overrides)
    assert client.get(BASE, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_jwt_signed_with_another_key_or_alg_none_is_401(client, tenant, hs256):
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60, "tenant_id": str(tenant.id)}
    forged = jwt.encode(claims, "another-secret-another-secret-0000", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (forged, unsigned):
        assert client.get(BASE, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_jwts_refused_when_not_configured(client, tenant):
    token = _hs256({"tenant_id": str(tenant.id)})
    assert client.get(BASE, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_jwt_verified_against_a_jwks_url(client, tenant, env):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    document = json.dumps({"keys": [jwk]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env(JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE, JWT_ALGORITHM="RS256",
            JWT_JWKS_URL=f"http://127.0.0.1:{server.server_port}/jwks.json")
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "exp": now + 60,
                  "tenant_id": str(tenant.id), "role": "member"}
        token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})
        response = client.get(BASE, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
        assert client.get(BASE, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    finally:
        server.shutdown()


def test_anonymous_submission_by_intake_key(client, tenant):
    body = item_body(submitter_email="user@example.com", submitter_name="John Doe")
    by_header = client.post(BASE, json=body, headers={"X-Tenant-Key": tenant.intake_key})
    assert by_header.status_code == 201
    assert by_header.get_json()["tenant_id"] == str(tenant.id)
    assert by_header.get_json()["submitted_by"] is None
    by_query = client.post(BASE + f"?tenant_key={tenant.intake_key}", json=body)
    assert by_query.status_code == 201
    assert client.post(BASE, json=body, headers={"X-Tenant-Key": "pfi_wrong"}).status_code == 401
    # Admins see the anonymous submitter's address.
    shown = client.get(BASE + by_header.get_json()["id"] + "/", headers=tenant.auth("admin")).get_json()
    assert shown["submitter_email"] == "user@example.com"


def test_anonymous_submission_needs_an_email(client, tenant):
    response = client.post(BASE, json=item_body(), headers={"X-Tenant-Key": tenant.intake_key})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "submitter_email"


def test_anonymous_falls_to_the_default_tenant_only_when_configured(client, tenant, env):
    body = item_body(submitter_email="user@example.com")
    assert client.post(BASE, json=body).status_code == 401
    env(DEFAULT_TENANT_ID=str(tenant.id))
    response = client.post(BASE, json=body)
    assert response.status_code == 201
    assert response.get_json()["tenant_id"] == str(tenant.id)


def _count_by_email(database_url, email: str) -> int:
    return sql(database_url, "SELECT count(*) FROM feedback WHERE submitter_email = :e", e=email)[0][0]


def test_anonymous_rate_limit_per_email(client, tenant, env, database_url):
    env(ANON_LIMIT_PER_EMAIL="2", ANON_LIMIT_PER_IP="100")
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    headers = {"X-Tenant-Key": tenant.intake_key}
    codes = [client.post(BASE, json=item_body(submitter_email=email), headers=headers).status_code
             for _ in range(3)]
    assert codes == [201, 201, 429]
    limited = client.post(BASE, json=item_body(submitter_email=email.upper()), headers=headers)
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    assert limited.content_type == "application/problem+json"
    assert _count_by_email(database_url, email) == 2


def test_anonymous_rate_limit_per_ip(client, tenant, env):
    env(ANON_LIMIT_PER_EMAIL="100", ANON_LIMIT_PER_IP="2", FORWARDED_HOPS="1")  # behind one trusted proxy
    headers = {"X-Tenant-Key": tenant.intake_key, "X-Forwarded-For": "198.51.100.7"}
    codes = [client.post(BASE, json=item_body(submitter_email=f"u{n}@example.com"), headers=headers).status_code
             for n in range(3)]
    assert codes == [201, 201, 429]
    # A spoofed left-most address does not reset the count: the front end appends the real one.
    spoofed = {**headers, "X-Forwarded-For": "203.0.113.1, 198.51.100.7"}
    assert client.post(BASE, json=item_body(submitter_email="z@example.com"), headers=spoofed).status_code == 429
    other_ip = {**headers, "X-Forwarded-For": "198.51.100.8"}
    assert client.post(BASE, json=item_body(submitter_email="z@example.com"), headers=other_ip).status_code == 201


def test_a_remembered_key_once_revoked_can_neither_read_nor_write(client, tenant, database_url):
    """The key's lookup travels with the request's first statement; revoked, it sets
    no tenant, so row-level security leaves that statement nothing to read or write."""
    item = submit(client, tenant)
    made = api_keys.create_key(tenant.id, "admin")
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert client.get(BASE, headers=headers).status_code == 200  # now remembered
    api_keys.revoke_key(made["id"])
    before = sql(database_url, "SELECT f::text, (SELECT count(*) FROM votes) FROM feedback f WHERE f.tenant_id = :t ORDER BY id",
                      t=tenant.id)
    attempts = [
        client.get(BASE, headers=headers),
        client.get(BASE + item["id"] + "/", headers=headers),
        client.get(BASE + "stats/", headers=headers),
        client.post(BASE, json=item_body(summary="from a revoked key"), headers=headers),
        client.post(BASE, json=item_body(), headers={**headers, "Idempotency-Key": "revoked"}),
        client.patch(BASE + item["id"] + "/", json={"priority": "urgent"}, headers=headers),
        client.post(BASE + item["id"] + "/vote/", headers=headers),
        client.get(BASE + f"?tenant_id={uuid.uuid4()}", headers=headers),  # refused before any statement
    ]
    assert [r.status_code for r in attempts] == [401] * len(attempts)
    assert all(r.content_type == "application/problem+json" for r in attempts)
    after = sql(database_url, "SELECT f::text, (SELECT count(*) FROM votes) FROM feedback f WHERE f.tenant_id = :t ORDER BY id",
                     t=tenant.id)
    assert after == before
