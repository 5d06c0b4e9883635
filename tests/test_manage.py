"""Operator commands as an operator runs them, and what importing a function costs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from helpers import drop_database, fresh_database, manage, sql

ROOT = Path(__file__).resolve().parent.parent


def test_tenant_and_key_lifecycle(database_url, client):
    code, tenant = manage(database_url, "tenants", "create", "--name", "Initech", "--json")
    assert code == 0 and set(tenant) == {"id", "name", "slug", "intake_key", "intake_email"} and tenant["name"] == "Initech"
    assert tenant["slug"] == "initech" and tenant["intake_email"] == "feedback+initech@localhost"
    user = str(uuid.uuid4())
    code, key = manage(database_url, "keys", "create", "--tenant", tenant["id"], "--role", "admin",
                       "--user-id", user, "--json")
    assert code == 0 and {"id", "token", "role", "tenant_id"} <= set(key)
    assert (key["role"], key["tenant_id"], key["user_id"]) == ("admin", tenant["id"], user)
    headers = {"Authorization": f"Bearer {key['token']}"}
    assert client.get("/api/v1/feedback/", headers=headers).status_code == 200
    code, revoked = manage(database_url, "keys", "revoke", key["id"], "--json")
    assert code == 0 and revoked["id"] == key["id"]
    assert client.get("/api/v1/feedback/", headers=headers).status_code == 401


def test_key_for_an_unknown_tenant_fails(database_url):
    code, doc = manage(database_url, "keys", "create", "--tenant", str(uuid.uuid4()), "--role", "member", "--json")
    assert code == 1 and "tenant" in doc["error"]


def test_migrate_and_check_on_a_current_database(database_url):
    assert manage(database_url, "migrate", "--json") == (0, {"applied": []})
    for args in (("check", "--json"), ("check", "feedback", "--json")):
        code, doc = manage(database_url, *args)
        assert code == 0 and doc["ok"] is True
        assert {c["name"] for c in doc["checks"]} == {"database", "settings", "migrations", "row_level_security",
                                                      "service_role", "github"}
        assert doc["checks"][-1] == {"name": "github", "ok": True, "detail": "not configured (no issues are made)"}


def test_check_fails_before_migrations_and_passes_after(server_url):
    url = fresh_database(server_url)
    try:
        code, doc = manage(url, "check", "--json")
        assert code == 1 and doc["ok"] is False
        failed = {c["name"] for c in doc["checks"] if not c["ok"]}
        assert "migrations" in failed
        code, doc = manage(url, "migrate", "--json")
        assert code == 0 and doc["applied"]
        assert manage(url, "check", "--json")[0] == 0
    finally:
        drop_database(server_url, url)


def test_check_fails_when_the_database_is_unreachable():
    code, doc = manage("postgresql://nobody@127.0.0.1:1/none", "check", "--json")
    assert code == 1 and doc["checks"][0] == {"name": "database", "ok": False, "detail": doc["checks"][0]["detail"]}
    assert doc["checks"][0]["detail"].startswith("unreachable")


@pytest.mark.parametrize("group, needs", [("feedback", []), ("admin", []), ("notify", ["smtplib"]), ("github_sync", []), ("sweep", []), ("github_webhook", [])])
def test_importing_a_function_connects_to_nothing_and_stays_light(group, needs):
    """No database is configured here: an import that connected would fail. Only
    the mail function loads the SMTP client, and none loads Secret Manager's."""
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('main', '{ROOT}/functions/{group}/main.py')\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "heavy = ('google.cloud.sql', 'github', 'google.cloud.secretmanager', 'jwt', 'cryptography', 'smtplib')\n"
        "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] if m.count('.') else m\n"
        "              for m in sys.modules if m.startswith(heavy)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "INSTANCE_CONNECTION_NAME")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(needs)


def test_migrate_grants_the_service_role_to_the_functions_users_and_nothing_more(database_url, env):
    user = f"fn_{uuid.uuid4().hex[:8]}@project.iam"  # as Cloud SQL names a service account's user
    sql(database_url, f'CREATE ROLE "{user}" LOGIN')
    try:
        env(DB_SERVICE_USERS=f" {user} ,")
        assert manage(database_url, "migrate", "--json") == (0, {"applied": []})
        assert manage(database_url, "migrate", "--json") == (0, {"applied": []})  # again: no change, no error
        member, superuser, bypass = sql(
            database_url, "SELECT pg_has_role(:u, 'pilot_feedback_app', 'MEMBER'), rolsuper, rolbypassrls"
            " FROM pg_roles WHERE rolname = :u", u=user)[0]
        assert (member, superuser, bypass) == (True, False, False)
    finally:
        sql(database_url, f'DROP ROLE "{user}"')


def test_an_intake_key_is_rotated_and_the_old_one_stops_working(database_url, client, tenant):
    body = {"feedback_type": "bug", "summary": "Rotated", "submitter_email": "r@example.com"}
    old = {"X-Tenant-Key": tenant.intake_key}
    assert client.post("/api/v1/feedback/", json=body, headers=old).status_code == 201  # and now remembered
    code, rotated = manage(database_url, "tenants", "rotate-intake-key", str(tenant.id), "--json")
    assert code == 0 and rotated["id"] == str(tenant.id) and rotated["intake_key"].startswith("pfi_")
    assert client.post("/api/v1/feedback/", json=body, headers=old).status_code == 401
    new = {"X-Tenant-Key": rotated["intake_key"]}
    assert client.post("/api/v1/feedback/", json=body, headers=new).status_code == 201
    code, missing = manage(database_url, "tenants", "rotate-intake-key", str(uuid.uuid4()), "--json")
    assert code == 1 and "No tenant" in missing["error"]


def _manage_plain(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL")}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], capture_output=True, text=True,
                          env={**clean, **env}, timeout=60)


@pytest.mark.parametrize("variable, value, says", [
    ("DB_POOL_SIZE", "abc", "DB_POOL_SIZE must be a whole number"),
    ("SLA_TIMEZONE", "Mars/Base", "SLA_TIMEZONE must be a time zone"),
    ("GITHUB_PRIORITIES", "high,critical", "GITHUB_PRIORITIES must be priorities among"),
    ("PUBLIC_BASE_URL", "feedback.example.com", "PUBLIC_BASE_URL must be an http(s):// URL"),
])
def test_a_setting_that_cannot_be_used_fails_check_and_every_command_by_name(database_url, variable, value, says):
    done = _manage_plain({"DATABASE_URL": database_url, variable: value}, "check", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["ok"] is False
    assert report["checks"] == [{"name": "settings", "ok": False, "detail": report["checks"][0]["detail"]}]
    assert says in report["checks"][0]["detail"] and "Traceback" not in done.stderr
    done = _manage_plain({"DATABASE_URL": database_url, variable: value}, "tenants", "create", "--name", "x")
    assert done.returncode == 1 and says in done.stdout and "Traceback" not in done.stderr


def test_a_function_will_not_start_with_a_setting_it_cannot_use(database_url):
    done = subprocess.run([str(Path(sys.executable).parent / "functions-framework"), "--target", "notify",
                           "--source", "functions/notify/main.py", "--signature-type", "cloudevent", "--port", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DATABASE_URL": database_url, "SMTP_PORT": "smtp"})
    assert done.returncode != 0 and "SMTP_PORT must be a whole number from 1 to 65535, not 'smtp'" in done.stderr


def test_db_host_is_the_database_manage_py_uses_not_the_embedded_one():
    done = _manage_plain({"DB_HOST": "127.0.0.1", "DB_PORT": "1", "DB_USER": "nobody", "DB_IAM_AUTH": "false",
                          "PILOT_FEEDBACK_DATA_DIR": "/nonexistent/never-made"}, "check", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["checks"][0]["name"] == "database"
    assert report["checks"][0]["detail"].startswith("unreachable")


def test_keys_have_holders_and_expiry_are_listed_and_revoked_by_id_or_by_the_key(database_url, client, admin):
    code, made = manage(database_url, "tenants", "create", "--name", "Keys Inc", "--json")
    tenant = made["id"]
    code, key = manage(database_url, "keys", "create", "--tenant", tenant, "--role", "admin", "--label",
                       "Ada Lovelace (support)", "--expires-in-days", "30", "--json")
    assert code == 0 and key["label"] == "Ada Lovelace (support)" and key["expires_at"]
    auth = {"Authorization": f"Bearer {key['token']}"}
    item = client.post("/api/v1/feedback/", json={"feedback_type": "bug", "summary": "Keys"}, headers=auth).get_json()
    admin.post(f"/api/v1/feedback/{item['id']}/notes/", json={"body": "Looked."}, headers=auth)
    history = admin.get(f"/api/v1/feedback/{item['id']}/history/", headers=auth).get_json()["items"]
    notes = admin.get(f"/api/v1/feedback/{item['id']}/notes/", headers=auth).get_json()["items"]
    assert history[-1]["actor"] == notes[0]["author"] == "Ada Lovelace (support)"

    code, listed = manage(database_url, "keys", "list", "--tenant", tenant, "--json")
    [shown] = listed["keys"]
    assert shown["id"] == key["id"] and shown["label"] == "Ada Lovelace (support)" and shown["revoked_at"] is None
    assert "token" not in shown and "key_hash" not in json.dumps(listed)
    code, tenants = manage(database_url, "tenants", "list", "--json")
    assert any(t["id"] == tenant and t["name"] == "Keys Inc" for t in tenants["tenants"])

    code, revoked = manage(database_url, "keys", "revoke", key["token"], "--json")  # by the key itself
    assert code == 0 and revoked["id"] == key["id"]
    assert client.get("/api/v1/feedback/", headers=auth).status_code == 401
    code, other = manage(database_url, "keys", "create", "--tenant", tenant, "--role", "member", "--json")
    assert manage(database_url, "keys", "revoke", other["id"], "--json")[0] == 0  # by its id
    code, missing = manage(database_url, "keys", "revoke", "pfk_nobody", "--json")
    assert code == 1 and "No such API key" in missing["error"]


def test_an_expired_key_is_refused_even_when_remembered(database_url, client, tenant):
    code, key = manage(database_url, "keys", "create", "--tenant", str(tenant.id), "--role", "member",
                       "--expires-in-days", "1", "--json")
    auth = {"Authorization": f"Bearer {key['token']}"}
    assert client.get("/api/v1/feedback/", headers=auth).status_code == 200  # and now remembered
    sql(database_url, "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = :id",
        id=uuid.UUID(key["id"]))
    assert client.get("/api/v1/feedback/", headers=auth).status_code == 401
    code, refused = manage(database_url, "keys", "create", "--tenant", str(tenant.id), "--role", "member",
                           "--expires-in-days", "-1", "--json")
    assert code == 1 and "future" in refused["error"]


def test_a_database_behind_the_code_is_named_in_the_error(server_url):
    url = fresh_database(server_url)
    try:
        assert manage(url, "migrate", "--json")[0] == 0
        # As if the last migration had not run yet.
        sql(url, "ALTER TABLE tenants DROP COLUMN alert_high CASCADE")
        sql(url, "DELETE FROM schema_migrations WHERE version = '0009'")
        code, shown = manage(url, "tenants", "list", "--json")
        assert code == 1
        assert shown["error"].endswith("The database is behind this code (pending: 0009_alerts.sql):"
                                       " run `python manage.py migrate`.")
    finally:
        drop_database(server_url, url)
