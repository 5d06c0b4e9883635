"""The console behind Identity-Aware Proxy: assertions verified against a key set served
over HTTP as Google serves IAP's (ES256 JWKs), and the session kept for whom IAP vouches."""
from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from shared import team

AUDIENCE = "/projects/123456789/global/backendServices/987654321"
ISSUER = "https://cloud.google.com/iap"


@pytest.fixture(scope="module")
def keys():
    """IAP's signing key and a key server publishing its public half."""
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "iap-key-1", "alg": "ES256", "use": "sig"}]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield private, f"http://127.0.0.1:{server.server_port}/iap/verify/public_key-jwk"
    server.shutdown()


def _assertion(private, email: str, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "email": email, "sub": "accounts.google.com:1", "iat": now,
              "exp": now + 600, **overrides}
    return jwt.encode(claims, private, algorithm="ES256", headers={"kid": "iap-key-1"})


@pytest.fixture
def behind_iap(env, keys, function_app):
    env(IAP_AUDIENCE=AUDIENCE, IAP_JWKS_URL=keys[1])
    return function_app("console").test_client(), keys[0]


def test_the_person_iap_vouches_for_gets_a_session_and_the_inbox(behind_iap, tenant):
    console, private = behind_iap
    person = team.add_person(tenant.id, f"iap-{uuid.uuid4().hex[:6]}@example.com", "Ivy Proxy", "admin")
    header = {"x-goog-iap-jwt-assertion": _assertion(private, person["email"].upper())}
    first = console.get("/console/?sort=newest", headers=header)
    assert first.status_code == 303 and first.headers["Location"] == "/console/?sort=newest"
    assert "pf_console=" in first.headers["Set-Cookie"]
    inbox = console.get("/console/?sort=newest", headers=header)
    assert inbox.status_code == 200 and "Ivy Proxy" in inbox.text


@pytest.mark.parametrize("case", ["none", "other audience", "other issuer", "expired", "other key", "stranger"])
def test_without_a_valid_assertion_for_a_team_member_nothing_is_shown(behind_iap, tenant, case):
    console, private = behind_iap
    email = f"iap-{uuid.uuid4().hex[:6]}@example.com"
    team.add_person(tenant.id, email, "Ivy Proxy", "admin")
    tokens = {
        "none": None,
        "other audience": _assertion(private, email, aud="/projects/1/global/backendServices/2"),
        "other issuer": _assertion(private, email, iss="https://accounts.google.com"),
        "expired": _assertion(private, email, exp=int(time.time()) - 60),
        "other key": _assertion(ec.generate_private_key(ec.SECP256R1()), email),
        "stranger": _assertion(private, "stranger@example.com"),
    }
    headers = {"x-goog-iap-jwt-assertion": tokens[case]} if tokens[case] else {}
    refused = console.get("/console/", headers=headers)
    assert refused.status_code == 403 and "pf_console=" not in refused.headers.get("Set-Cookie", "")
    assert ("not a member of the team" if case == "stranger" else "IAP assertion") in refused.text


def test_a_session_goes_with_its_person_not_with_whoever_holds_the_cookie(behind_iap, tenant):
    console, private = behind_iap
    ada, bob = (team.add_person(tenant.id, f"{n}-{uuid.uuid4().hex[:6]}@example.com", n.title(), "admin")
                for n in ("ada", "bob"))
    as_ada = {"x-goog-iap-jwt-assertion": _assertion(private, ada["email"])}
    assert console.get("/console/", headers=as_ada).status_code == 303  # Ada's session, in the cookie jar
    as_bob = {"x-goog-iap-jwt-assertion": _assertion(private, bob["email"])}
    again = console.get("/console/", headers=as_bob)
    assert again.status_code == 303  # a session of Bob's own, not Ada's
    assert "Bob" in console.get("/console/", headers=as_bob).text


def test_one_session_per_person_however_many_requests_come_without_one(behind_iap, tenant, database_url,
                                                                        function_app):
    from helpers import sql

    _, private = behind_iap
    person = team.add_person(tenant.id, f"iap-{uuid.uuid4().hex[:6]}@example.com", "Ivy Proxy", "admin")
    header = {"x-goog-iap-jwt-assertion": _assertion(private, person["email"])}
    for _ in range(3):  # each a client with no cookie yet (scripts, a second browser)
        assert function_app("console").test_client().get("/console/", headers=header).status_code == 303
    live = sql(database_url, "SELECT count(*) FROM console_sessions WHERE person_id = CAST(:p AS uuid)"
                             " AND ended_at IS NULL", p=person["id"])
    assert live == [[1]]


@pytest.mark.parametrize("method, path", [("GET", "/console/signin"), ("POST", "/console/signin"),
                                          ("GET", "/console/signin/abc"), ("POST", "/console/signin/abc")])
def test_behind_iap_the_link_sign_in_pages_are_off(behind_iap, method, path):
    console, _ = behind_iap
    answer = console.open(path, method=method)
    assert answer.status_code == 404 and "pf_console=" not in answer.headers.get("Set-Cookie", "")


def test_behind_iap_sign_out_is_not_offered(behind_iap, tenant):
    console, private = behind_iap
    person = team.add_person(tenant.id, f"iap-{uuid.uuid4().hex[:6]}@example.com", "Ivy Proxy", "admin")
    header = {"x-goog-iap-jwt-assertion": _assertion(private, person["email"])}
    console.get("/console/", headers=header)
    inbox = console.get("/console/", headers=header)
    assert inbox.status_code == 200 and "Ivy Proxy" in inbox.text
    assert "Sign out" not in inbox.text and "/console/signout" not in inbox.text
    from shared.console_session import csrf_token

    csrf = csrf_token(console.get_cookie("pf_console", path="/console/").value)
    assert console.post("/console/signout", data={"csrf": csrf}, headers=header).status_code == 404
    assert console.get("/console/", headers=header).status_code == 200  # still signed in
