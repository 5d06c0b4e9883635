"""No secret reaches a log line: the secrets that travel in URLs (sign-in, status and opt-out
tokens, tenant keys) and in headers are redacted from every line the real server writes,
whichever logger writes it."""
from __future__ import annotations

import io
import json
import logging
import socket
import urllib.parse
import uuid

import pytest
import requests
from helpers import BASE, item_body, wait_until
from live import LiveServer

from shared import db, logs, opt_outs, signin, team


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """`manage.py serve` with gunicorn's own logging at its most talkative, and the demo's
    mailbox (a folder the log names)."""
    folder = tmp_path_factory.mktemp("logs")
    made = LiveServer(database_url, folder / "server.log", GUNICORN_LOG_LEVEL="debug", MAIL_DIR=str(folder / "mail"))
    yield made
    assert made.stop() == 0


def _refused_by_gunicorn(server: LiveServer, request_line: str) -> None:
    """A request line gunicorn refuses, and logs, before any function sees it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request_line.encode() + b"\r\nHost: x\r\n\r\n")
        sock.recv(1024)


def test_no_url_or_header_secret_reaches_the_server_log(server):
    admin = {"Authorization": f"Bearer {server.tokens['admin']}"}
    email, submitter = (f"{name}-{uuid.uuid4().hex[:6]}@example.com" for name in ("ada", "grace"))
    team.add_person(uuid.UUID(server.tenant_id), email, "Ada", "admin")
    signin_token = signin.operator_link(email).rpartition("/")[2]

    made = requests.post(f"{server.base}{BASE}?tenant_key={server.intake_key}", timeout=5,
                         json=item_body(submitter_email=submitter), headers={"X-Request-Id": "by-query"})
    assert made.status_code == 201, made.text
    requests.post(server.base + BASE, json={"bad": 1}, headers={"X-Tenant-Key": server.intake_key,
                                                                "X-Request-Id": "by-header"}, timeout=5)
    status_url = made.json()["status_url"]
    status_token = urllib.parse.parse_qs(urllib.parse.urlsplit(status_url).query)["token"][0]
    # A mail to the submitter, its status and opt-out links in its body.
    assert requests.post(f"{server.base}{BASE}{made.json()['id']}/respond/", json={"response": "On it."},
                         headers=admin, timeout=5).status_code == 200
    with db.transaction() as tx:
        opt_out_token = opt_outs.sign(tx, uuid.UUID(server.tenant_id), submitter)

    wait_until(lambda: '"mail (no SMTP configured)"' in server.log_path.read_text(), what="the mail in the log")
    assert requests.get(status_url, timeout=5).status_code == 200
    opt_out_url = f"{server.base}{BASE}mail/opt-out/?token={urllib.parse.quote(opt_out_token)}"
    assert requests.get(opt_out_url, timeout=5).status_code == 200
    assert requests.post(opt_out_url, timeout=5).status_code == 200
    signin_url = f"{server.base}/console/signin/{signin_token}"
    assert requests.get(signin_url, timeout=5).status_code == 200
    assert requests.post(signin_url, allow_redirects=False, timeout=5).status_code == 303
    assert requests.post(signin_url, timeout=5).status_code == 400  # used
    _refused_by_gunicorn(server, f"GET /console/signin/{signin_token}?tenant_key={server.intake_key}")

    def logged() -> str | None:
        text = server.log_path.read_text()
        return text if '"by-header"' in text and "Invalid HTTP request line" in text else None

    text = wait_until(logged, what="the last lines")
    secrets = {"sign-in token": signin_token, "status token": status_token, "opt-out token": opt_out_token,
               "tenant key": server.intake_key, "API key": server.tokens["admin"]}
    for name, secret in secrets.items():
        assert secret not in text and urllib.parse.quote(secret, safe="") not in text, name
    # What the lines still tell: which page, which link, which kind of key.
    assert "/console/signin/[redacted]" in text and "?tenant_key=[redacted]" in text
    # The demo's mail, with its links, is in the file the log names, not in the log.
    [kept] = (server.log_path.parent / "mail").glob("*.eml")
    assert str(kept) in text and status_token in kept.read_text()


def test_gunicorns_own_lines_are_redacted_stack_traces_too():
    """As deployed, gunicorn writes plain text with a handler of its own (not the root's)."""
    logs.configure()
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logging.Formatter("%(message)s"))  # gunicorn's formatter renders exc_info alike
    gunicorn = logging.getLogger("gunicorn.error")
    gunicorn.addHandler(handler)
    try:
        try:
            raise ValueError("no session for /console/signin/s3cr3t-in-error")
        except ValueError:
            gunicorn.exception("Error handling request %s", "/api/v1/feedback/?tenant_key=pfi_s3cr3t-key")
    finally:
        gunicorn.removeHandler(handler)
    text = written.getvalue()
    assert "s3cr3t" not in text and "ValueError: no session for /console/signin/[redacted]" in text
    assert text.startswith("Error handling request /api/v1/feedback/?tenant_key=[redacted]\nTraceback")


def test_library_log_lines_are_redacted_too(capfd):
    """What werkzeug's development server and Flask write go through the same lines."""
    logs.configure()
    logging.getLogger("werkzeug").info('127.0.0.1 - - "%s" 200 -', "GET /console/signin/s3cr3t-link HTTP/1.1")
    logging.getLogger("flask.app").error("headers: %s", {"X-Tenant-Key": "not-a-key-format", "Accept": "*/*"})
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    assert [line["message"] for line in lines[-2:]] == [
        '127.0.0.1 - - "GET /console/signin/[redacted] HTTP/1.1" 200 -',
        "headers: {'X-Tenant-Key': '[redacted]', 'Accept': '*/*'}"]
