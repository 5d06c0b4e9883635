"""The deployed path to the database: the Cloud SQL Python Connector with IAM database
authentication, against a local stand-in of Cloud SQL (tests/cloud_sql.py) in front of
a real PostgreSQL. Migrations run as the owner's IAM user; the functions' IAM user gets
the service role and nothing more, and row-level security holds for it."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from cloud_sql import PROXY_PORT, CloudSqlStandIn
from conftest import raw_connection
from live import free_port

from shared import embedded
from shared.db import parse_database_url

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = "pilot-project:europe-west1:pilot-feedback-db"
OWNER = "deployer@pilot-project.iam"  # as Cloud SQL names a service account's database user
SERVICE = "fn-feedback@pilot-project.iam"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def cloud_sql(server_url, tmp_path_factory):
    if not _port_free(PROXY_PORT):
        pytest.fail(f"port {PROXY_PORT} (the connector's, fixed) is taken on this machine")
    target = parse_database_url(server_url)
    stand_in = CloudSqlStandIn(tmp_path_factory.mktemp("cloudsql"), "europe-west1",
                               target.get("unix_sock") or (target["host"], target["port"]))
    name = f"pf_connector_{uuid.uuid4().hex[:8]}"
    admin = raw_connection(server_url)
    for role, extra in ((OWNER, "CREATEROLE"), (SERVICE, "")):
        admin.run(f'CREATE ROLE "{role}" LOGIN {extra}')
    admin.run(f'CREATE DATABASE "{name}" OWNER "{OWNER}"')
    # The owner makes the service role on a fresh instance; here another database of the
    # cluster may have, so the owner gets what the role's creator would hold.
    admin.run("""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pilot_feedback_app') THEN
            CREATE ROLE pilot_feedback_app NOLOGIN;
        END IF; END $$""")
    admin.run(f'GRANT pilot_feedback_app TO "{OWNER}" WITH ADMIN OPTION')
    credentials = stand_in.credentials_file(tmp_path_factory.mktemp("adc"), "deployer@pilot-project.iam.gserviceaccount.com")
    env = {
        "INSTANCE_CONNECTION_NAME": INSTANCE, "DB_NAME": name, "DB_IAM_AUTH": "true", "DB_IP_TYPE": "PUBLIC",
        "DB_USER": SERVICE, "DB_MIGRATION_USER": OWNER, "DB_SERVICE_USERS": SERVICE,
        "SQLADMIN_API_ENDPOINT": stand_in.api_url, "GOOGLE_APPLICATION_CREDENTIALS": str(credentials),
        "GOOGLE_CLOUD_PROJECT": "pilot-project",
    }
    yield stand_in, env, name
    stand_in.close()
    admin.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for role in (SERVICE, OWNER):
        admin.run(f'DROP OWNED BY "{role}"')
        admin.run(f'DROP ROLE IF EXISTS "{role}"')
    admin.close()


def _manage(env: dict[str, str], *args: str) -> tuple[int, dict]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL")}
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args, "--json"], capture_output=True,
                          text=True, env={**clean, **env}, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout + done.stderr
    return done.returncode, json.loads(lines[0])


def test_migrations_and_the_service_run_through_the_connector_with_iam_authentication(cloud_sql, server_url):
    stand_in, env, name = cloud_sql
    code, migrated = _manage(env, "migrate")
    assert code == 0 and migrated["applied"][0] == "0001_core.sql", migrated
    assert stand_in.connections >= 1 and stand_in.tokens_seen  # TLS through the stand-in, token in the cert request

    code, report = _manage(env, "check")
    assert code == 0, report
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "database": True, "migrations": True, "row_level_security": True, "service_role": True, "github": True}

    # Owner and service are different database users; the tables belong to the owner.
    conn = raw_connection(embedded.with_database(server_url, name))
    try:
        owners = {row[0] for row in conn.run("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        member, superuser, bypass = conn.run(
            "SELECT pg_has_role(:u, 'pilot_feedback_app', 'MEMBER'), rolsuper, rolbypassrls FROM pg_roles"
            " WHERE rolname = :u", u=SERVICE)[0]
    finally:
        conn.close()
    assert owners == {OWNER}
    assert (member, superuser, bypass) == (True, False, False)

    # The client API, started as Cloud Functions starts it, over the same path.
    code, tenant = _manage(env, "tenants", "create", "--name", "Connector Co")
    code, other = _manage(env, "tenants", "create", "--name", "Other Co")
    code, key = _manage(env, "keys", "create", "--tenant", tenant["id"], "--role", "member")
    code, other_key = _manage(env, "keys", "create", "--tenant", other["id"], "--role", "member")
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "functions-framework"), "--target", "feedback",
         "--source", "functions/feedback/main.py", "--port", str(port)],
        cwd=ROOT, env={**clean, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/api/v1/feedback/"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + "openapi.json", timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {key['token']}"}
        created = requests.post(base, json={"feedback_type": "bug", "summary": "Via the connector",
                                            "description": "..."}, headers=auth, timeout=30)
        assert created.status_code == 201, created.text
        item = created.json()
        assert requests.get(base + item["id"] + "/", headers=auth, timeout=30).status_code == 200
        stranger = {"Authorization": f"Bearer {other_key['token']}"}
        assert requests.get(base + item["id"] + "/", headers=stranger, timeout=30).status_code == 404
        assert requests.get(base, headers=stranger, timeout=30).json()["items"] == []
    finally:
        process.terminate()
        process.wait(timeout=10)
