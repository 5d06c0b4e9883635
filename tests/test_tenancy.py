"""Isolation enforced by PostgreSQL itself, and across every id route and role."""
from __future__ import annotations

import uuid

import pytest
from helpers import BASE, sql, submit, wait_until

from shared import checks, db, errors, queries


def test_catalog_every_tenant_table_has_forced_rls(database_url):
    with db.transaction(owner=True) as tx:
        assert checks.rls_problems(tx) == []
        tables = {row[0] for row in tx.rows(queries.TENANT_TABLES_RLS)}
    assert {"tenants", "api_keys", "feedback", "votes", "idempotency_keys", "rate_counters"} <= tables


def test_catalog_check_notices_a_table_without_forced_rls(database_url):
    """The catalog test can fail: a tenant table with RLS merely enabled is reported."""
    with pytest.raises(RuntimeError):
        with db.transaction(owner=True) as tx:
            tx.rows("CREATE TABLE rls_probe (tenant_id uuid)")
            tx.rows("ALTER TABLE rls_probe ENABLE ROW LEVEL SECURITY")
            assert checks.rls_problems(tx) == ["rls_probe: forced, policy missing"]
            raise RuntimeError("roll the probe table back")


def test_service_role_cannot_bypass_rls(database_url):
    with db.transaction() as tx:
        assert checks.service_role_problems(tx) == []
        role, superuser, bypass, _ = tx.one(queries.SERVICE_ROLE_POWERS)
    assert (role, superuser, bypass) == ("pilot_feedback_app", False, False)


def test_service_sees_no_rows_without_a_tenant(client, tenant):
    submit(client, tenant)
    with db.transaction() as tx:
        assert tx.scalar("SELECT count(*) FROM feedback") == 0
        assert tx.scalar("SELECT count(*) FROM tenants") == 0


def test_service_cannot_write_into_another_tenant(client, tenant, other_tenant):
    with pytest.raises(errors.NotFound):  # 42501: the policy's WITH CHECK refused the row
        with db.transaction() as tx:
            tx.set_tenant(tenant.id)
            tx.rows(
                "INSERT INTO feedback (tenant_id, type, summary, submitter_email, sla_due_at)"
                " VALUES (:t, 'bug', 'sneaky', 'x@example.com', now())",
                t=other_tenant.id,
            )


def test_service_cannot_read_key_hashes_or_delete_feedback(client, tenant):
    item = submit(client, tenant)
    with pytest.raises(errors.ApiError):
        with db.transaction() as tx:
            tx.set_tenant(tenant.id)
            tx.rows("SELECT key_hash FROM api_keys")
    with pytest.raises(errors.ApiError):
        with db.transaction() as tx:
            tx.set_tenant(tenant.id)
            tx.rows("DELETE FROM feedback WHERE id = :id", id=uuid.UUID(item["id"]))


def test_a_reused_connection_carries_no_tenant(database_url, tenant):
    pool = db.pool()
    with db.transaction() as tx:
        tx.set_tenant(tenant.id, staff=True)
        assert tx.scalar("SELECT current_setting('app.tenant_id', true)") == str(tenant.id)
        first = tx._conn
    # LIFO: the next transaction gets the same connection back.
    with db.transaction() as tx:
        assert tx._conn is first
        assert tx.scalar("SELECT coalesce(current_setting('app.tenant_id', true), '')") == ""
        assert tx.scalar("SELECT coalesce(current_setting('app.staff', true), '')") == ""
    assert pool is db.pool()


def test_a_dropped_connection_is_replaced(database_url, tenant, client):
    """The server says goodbye on a connection it ends: the pool notices before handing it
    out, so the next request gets a fresh one rather than a 503."""
    with db.transaction() as tx:
        pid = tx.scalar("SELECT pg_backend_pid()")
        first = tx._conn
    sql(database_url, "SELECT pg_terminate_backend(:pid)", pid=pid)
    wait_until(lambda: not sql(database_url, "SELECT 1 FROM pg_stat_activity WHERE pid = :pid", pid=pid),
               what="the backend to end (its goodbye is sent before it goes)")
    with db.transaction() as tx:
        assert tx._conn is not first
        assert tx.scalar("SELECT pg_backend_pid()") != pid
    # And the API keeps answering.
    assert client.get(BASE, headers=tenant.auth()).status_code == 200


ID_ROUTES = [
    ("GET", "{id}/", None),
    ("PATCH", "{id}/", {"tags": ["x"]}),
    ("POST", "{id}/vote/", None),
    ("DELETE", "{id}/vote/", None),
]


def test_cross_tenant_matrix_finds_no_access_and_no_change(client, tenant, other_tenant, database_url):
    """Every id route x items of two tenants x every role of the other tenant: 404 (401
    for an anonymous caller), and nothing changes."""
    tenants = (tenant, other_tenant)
    items = {t.id: submit(client, t) for t in tenants}
    snapshot_sql = """
        SELECT f::text, (SELECT count(*) FROM votes v WHERE v.feedback_id = f.id)
          FROM feedback f WHERE f.id = ANY(CAST(:ids AS uuid[])) ORDER BY f.id"""
    ids = [i["id"] for i in items.values()]
    before = sql(database_url, snapshot_sql, ids=ids)
    checked = 0
    for owner_id, item in items.items():
        for caller in (t for t in tenants if t.id != owner_id):
            for role in ("member", "admin", "intake"):
                headers = {"X-Tenant-Key": caller.intake_key} if role == "intake" else caller.auth(role)
                for method, path, body in ID_ROUTES:
                    response = client.open(BASE + path.format(id=item["id"]), method=method,
                                           headers=headers, json=body)
                    assert response.status_code == (401 if role == "intake" else 404), (method, path, role)
                    assert response.content_type == "application/problem+json"
                    checked += 1
    assert checked == 2 * 3 * len(ID_ROUTES)
    assert sql(database_url, snapshot_sql, ids=ids) == before


def test_unknown_ids_are_404(client, tenant):
    for method, path, body in ID_ROUTES:
        response = client.open(BASE + path.format(id=uuid.uuid4()), method=method,
                               headers=tenant.auth(), json=body)
        assert response.status_code == 404
    assert client.get(BASE + "not-a-uuid/", headers=tenant.auth()).status_code == 404


def test_last_statement_commits_with_it(database_url, tenant):
    marker = f"pipelined {uuid.uuid4()}"
    insert = ("INSERT INTO feedback (tenant_id, type, summary, submitter_email, sla_due_at)"
              " VALUES (:t, 'bug', :s, 'x@example.com', now()) RETURNING id")
    with db.transaction() as tx:
        tx.set_tenant(tenant.id)
        tx.rows_and_commit(insert, t=tenant.id, s=marker)
        assert tx.committed
    assert sql(database_url, "SELECT count(*) FROM feedback WHERE summary = :s", s=marker)[0][0] == 1


def test_a_failing_last_statement_rolls_the_whole_transaction_back(database_url, tenant):
    marker = f"rolled back {uuid.uuid4()}"
    insert = ("INSERT INTO feedback (tenant_id, type, summary, submitter_email, sla_due_at)"
              " VALUES (:t, 'bug', :s, 'x@example.com', now())")
    with pytest.raises(errors.ValidationFailed):
        with db.transaction() as tx:
            tx.set_tenant(tenant.id)
            tx.rows(insert, t=tenant.id, s=marker)
            tx.rows_and_commit("UPDATE feedback SET rating = 9 WHERE summary = :s", s=marker)  # check violation
    assert sql(database_url, "SELECT count(*) FROM feedback WHERE summary = :s", s=marker)[0][0] == 0
    # The connection went back to the pool clean and usable.
    with db.transaction() as tx:
        assert tx.scalar("SELECT coalesce(current_setting('app.tenant_id', true), '')") == ""


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql://u@/db?host=/run/pg", False),
        ("postgresql://u@h/db?sslmode=disable", False),
        ("postgresql://u@h/db", None),
        ("postgresql://u@h/db?sslmode=require", True),
    ],
)
def test_sslmode_maps_to_pg8000(url, expected):
    assert db.parse_database_url(url)["ssl_context"] is expected


def test_sslmode_verify_full_checks_the_host():
    assert db.parse_database_url("postgresql://u@h/db?sslmode=verify-full")["ssl_context"].check_hostname
    assert not db.parse_database_url("postgresql://u@h/db?sslmode=verify-ca")["ssl_context"].check_hostname
    with pytest.raises(ValueError):
        db.parse_database_url("postgresql://u@h/db?sslmode=sometimes")


def test_a_failing_first_statement_leaves_the_connection_usable(database_url):
    with pytest.raises(errors.ApiError):
        with db.transaction() as tx:
            tx.rows("SELECT 1 / (SELECT count(*) FROM pg_class WHERE false)")  # division by zero
    for _ in range(3):
        with db.transaction() as tx:
            assert tx.scalar("SELECT 41 + 1") == 42


def test_any_failure_to_connect_is_a_503_and_frees_its_slot(capsys):
    """Whatever the connector raises (credentials, instance lookup, network), callers see 503."""

    def connect():
        raise RuntimeError("instance lookup failed")

    pool = db.Pool(connect, size=1, role=None)
    for _ in range(3):  # the single slot comes back each time
        with pytest.raises(errors.ServiceUnavailable):
            pool.acquire()
    assert '"reason": "instance lookup failed"' in capsys.readouterr().err
