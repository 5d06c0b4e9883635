"""The deployed paths to the database, each with IAM database authentication, against
local stand-ins of Cloud SQL (tests/standins/cloud_sql.py) in front of a real PostgreSQL:
the Cloud SQL Python Connector (Admin API, mTLS on port 3307 of an address of its own), and the direct path to a
private IP (PostgreSQL's TLS, the access token from the metadata server as password).
Migrations run as the owner's IAM user; the functions' IAM user gets the service role
and nothing more, and row-level security holds for it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pg8000.native
import pytest
import requests
from standins.cloud_sql import CloudSqlStandIn, MetadataStandIn, PrivateIpStandIn
from helpers import sql
from live import function_process

from shared import embedded
from shared.db import parse_database_url

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = "pilot-project:europe-west1:pilot-feedback-db"
OWNER = "deployer@pilot-project.iam"  # as Cloud SQL names a service account's database user
SERVICE = "fn-feedback@pilot-project.iam"


@pytest.fixture(scope="module")
def stand_ins(server_url, tmp_path_factory):
    target = parse_database_url(server_url)
    cloud_sql = CloudSqlStandIn(tmp_path_factory.mktemp("cloudsql"), "europe-west1",
                                target.get("unix_sock") or (target["host"], target["port"]))
    private_ip, metadata = PrivateIpStandIn(cloud_sql), MetadataStandIn()
    admin = pg8000.native.Connection(**parse_database_url(server_url))  # closed below
    admin.run(f'CREATE ROLE "{OWNER}" LOGIN CREATEROLE')
    admin.run(f'CREATE ROLE "{SERVICE}" LOGIN')
    # The owner makes the service role on a fresh instance; here another database of the
    # cluster may have, so the owner gets what the role's creator would hold.
    admin.run("""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pilot_feedback_app') THEN
            CREATE ROLE pilot_feedback_app NOLOGIN;
        END IF; END $$""")
    admin.run(f'GRANT pilot_feedback_app TO "{OWNER}" WITH ADMIN OPTION')
    credentials = cloud_sql.credentials_file(tmp_path_factory.mktemp("adc"),
                                             "deployer@pilot-project.iam.gserviceaccount.com")
    paths = {
        "connector": {"INSTANCE_CONNECTION_NAME": INSTANCE, "DB_IP_TYPE": "PUBLIC",
                      "SQLADMIN_API_ENDPOINT": cloud_sql.api_url, "GOOGLE_APPLICATION_CREDENTIALS": str(credentials)},
        "private_ip": {"DB_HOST": "127.0.0.1", "DB_PORT": str(private_ip.port), "DB_SERVER_CA": cloud_sql.ca_pem,
                       "GCE_METADATA_HOST": metadata.host},
    }
    yield cloud_sql, private_ip, paths, admin
    for stand_in in (cloud_sql, private_ip, metadata):
        stand_in.close()
    for role in (SERVICE, OWNER):
        admin.run(f'DROP ROLE IF EXISTS "{role}"')
    admin.close()


@pytest.fixture(params=["connector", "private_ip"])
def deployment(request, stand_ins, server_url):
    """A fresh database owned by the owner's IAM user, and the settings of one path to it."""
    cloud_sql, private_ip, paths, admin = stand_ins
    name = f"pf_{request.param}_{uuid.uuid4().hex[:8]}"
    admin.run(f'CREATE DATABASE "{name}" OWNER "{OWNER}"')
    env = {"DB_NAME": name, "DB_IAM_AUTH": "true", "DB_USER": SERVICE, "DB_MIGRATION_USER": OWNER,
           "DB_SERVICE_USERS": SERVICE, "GOOGLE_CLOUD_PROJECT": "pilot-project", **paths[request.param]}
    yield request.param, env, embedded.with_database(server_url, name)
    admin.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for role in (SERVICE, OWNER):
        admin.run(f'DROP OWNED BY "{role}"')


def _environment(env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL")}
    return {**clean, **env}


def _manage(env: dict[str, str], *args: str) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args, "--json"], capture_output=True,
                          text=True, env=_environment(env), timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout + done.stderr
    return done.returncode, json.loads(lines[0])


def test_migrations_and_the_service_run_with_iam_authentication(deployment, stand_ins):
    path, env, database_url = deployment
    cloud_sql, private_ip, _, _ = stand_ins
    code, migrated = _manage(env, "migrate")
    assert code == 0 and migrated["applied"][0] == "0001_core.sql", migrated
    if path == "connector":
        assert cloud_sql.connections >= 1 and cloud_sql.tokens_seen  # mTLS, the token in the certificate request
    else:
        assert (OWNER, True) in private_ip.logins  # the access token as password

    code, report = _manage(env, "check")
    assert code == 0, report
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "database": True, "settings": True, "migrations": True, "row_level_security": True, "service_role": True,
        "github": True}

    # Owner and service are different database users; the tables belong to the owner.
    owners = {row[0] for row in sql(database_url, "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
    member, superuser, bypass = sql(
        database_url, "SELECT pg_has_role(:u, 'pilot_feedback_app', 'MEMBER'), rolsuper, rolbypassrls FROM pg_roles"
        " WHERE rolname = :u", u=SERVICE)[0]
    assert owners == {OWNER}
    assert (member, superuser, bypass) == (True, False, False)

    # The client API, started as Cloud Functions starts it, over the same path.
    _, tenant = _manage(env, "tenants", "create", "--name", "Deployed Co")
    _, other = _manage(env, "tenants", "create", "--name", "Other Co")
    _, key = _manage(env, "keys", "create", "--tenant", tenant["id"], "--role", "member")
    _, other_key = _manage(env, "keys", "create", "--tenant", other["id"], "--role", "member")
    serving = function_process(["--target", "feedback", "--source", "functions/feedback/main.py"],
                               _environment(env))
    with serving as origin:
        base = origin + "/api/v1/feedback/"
        auth = {"Authorization": f"Bearer {key['token']}"}
        created = requests.post(base, json={"feedback_type": "bug", "summary": f"Via the {path}",
                                            "description": "..."}, headers=auth, timeout=30)
        assert created.status_code == 201, created.text
        item = created.json()
        assert requests.get(base + item["id"] + "/", headers=auth, timeout=30).status_code == 200
        stranger = {"Authorization": f"Bearer {other_key['token']}"}
        assert requests.get(base + item["id"] + "/", headers=stranger, timeout=30).status_code == 404
        assert requests.get(base, headers=stranger, timeout=30).json()["items"] == []
    if path == "private_ip":
        assert (SERVICE, True) in private_ip.logins


def test_the_direct_path_refuses_a_server_it_cannot_verify(stand_ins, tmp_path):
    """A certificate from another CA (a server pretending to be the instance) is refused."""
    _, private_ip, paths, _ = stand_ins
    logins = len(private_ip.logins)
    env = {**paths["private_ip"], "DB_SERVER_CA": _other_ca_pem(), "DB_NAME": "postgres",
           "DB_IAM_AUTH": "true", "DB_USER": SERVICE, "DB_MIGRATION_USER": OWNER}
    code, report = _manage(env, "check")
    assert code == 1 and report["checks"][0]["name"] == "database" and not report["checks"][0]["ok"]
    assert len(private_ip.logins) == logins  # no token was sent to it


def _other_ca_pem() -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "someone else's CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()
