"""The kept counts (sql/0014_feedback_counts.sql) behind the stats, the console's counts per
status, the dashboard and the triage stats: after any mix of changes, by any path, every
figure equals a full count of the items; writers to one tenant do not wait on each other."""
from __future__ import annotations

import json
import random
import shutil
import uuid
from typing import Any

import pg8000.native
import pytest

from helpers import BASE, fresh_database, drop_database, manage, sql, submit

from shared import db, migrations, queries
from shared.tenants import create_tenant

# The statements the figures came from before the counts were kept: a scan of the items.
FULL_SCAN_STATS = """
WITH counts AS (
    SELECT f.type, f.status, f.priority, count(*)::int AS n
      FROM feedback f WHERE <scope> GROUP BY 1, 2, 3
)
SELECT json_build_object(
    'total', (SELECT coalesce(sum(n), 0) FROM counts),
    'by_type', (SELECT coalesce(json_object_agg(type, n), '{}')
                  FROM (SELECT type, sum(n)::int AS n FROM counts GROUP BY 1) t),
    'by_status', (SELECT coalesce(json_object_agg(status, n), '{}')
                    FROM (SELECT status, sum(n)::int AS n FROM counts GROUP BY 1) s),
    'by_priority', (SELECT coalesce(json_object_agg(priority, n), '{}')
                      FROM (SELECT priority, sum(n)::int AS n FROM counts GROUP BY 1) p),
    'avg_response_time_hours', (
        SELECT round(CAST(avg(extract(epoch FROM f.acknowledged_at - f.created_at)) / 3600 AS numeric), 2)
          FROM feedback f WHERE <scope> AND f.acknowledged_at IS NOT NULL),
    'open_count', (SELECT coalesce(sum(n), 0) FROM counts
                    WHERE status NOT IN ('completed', 'declined', 'duplicate')),
    'resolved_count', (SELECT coalesce(sum(n), 0) FROM counts
                        WHERE status IN ('completed', 'declined', 'duplicate'))
)::text"""

FULL_SCAN_TRIAGE_COUNTS = """
WITH kinds AS (
    SELECT f.tenant_id, f.type, f.status, f.priority,
           count(*) AS n,
           count(*) FILTER (WHERE f.status NOT IN ('completed', 'declined', 'duplicate')) AS open,
           count(*) FILTER (WHERE f.acknowledged_at <= f.sla_due_at) AS met,
           count(*) FILTER (WHERE f.acknowledged_at > f.sla_due_at
                               OR (f.acknowledged_at IS NULL AND now() > f.sla_due_at)) AS breached,
           count(f.acknowledged_at) AS answered,
           sum(extract(epoch FROM f.acknowledged_at - f.created_at)) AS response_seconds
      FROM feedback f WHERE <scope>
     GROUP BY 1, 2, 3, 4
), assignees AS (
    SELECT f.tenant_id, f.assignee_id, count(*) AS open
      FROM feedback f WHERE <scope> AND f.status NOT IN ('completed', 'declined', 'duplicate')
     GROUP BY 1, 2
), counts AS (
    SELECT tenant_id, type, status, priority, NULL::uuid AS assignee_id, true AS by_kind,
           n, open, met, breached, answered, response_seconds FROM kinds
    UNION ALL
    SELECT tenant_id, NULL, NULL, NULL, assignee_id, false, 0, open, 0, 0, 0, 0 FROM assignees
)"""

FULL_SCAN_STATUS_COUNTS = """
SELECT coalesce(json_object_agg(status, n), '{}')::text
  FROM (SELECT f.status, count(*) AS n FROM feedback f WHERE <scope> GROUP BY 1) s"""


def _full_scans() -> dict[str, tuple[str, str]]:
    """Each figure's statement from kept counts and from a full scan: (kept, scanned)."""
    one, every = queries.TENANT_SCOPE, queries.ALL_TENANTS
    summary = queries._summary("TRUE")
    by_tenant = queries.TRIAGE_STATS_ALL_TENANTS.split(")\nSELECT ", 1)[1]
    return {
        "stats": (queries.STATS.tenant, FULL_SCAN_STATS.replace("<scope>", one)),
        "stats, every tenant": (queries.STATS.all_tenants, FULL_SCAN_STATS.replace("<scope>", every)),
        "status counts": (queries.STATUS_COUNTS.tenant, FULL_SCAN_STATUS_COUNTS.replace("<scope>", one)),
        "status counts, every tenant": (queries.STATUS_COUNTS.all_tenants,
                                        FULL_SCAN_STATUS_COUNTS.replace("<scope>", every)),
        "triage stats": (queries.TRIAGE_STATS,
                         FULL_SCAN_TRIAGE_COUNTS.replace("<scope>", one) + f"\nSELECT {summary}::text"),
        "triage stats, every tenant": (queries.TRIAGE_STATS_ALL_TENANTS,
                                       FULL_SCAN_TRIAGE_COUNTS.replace("<scope>", every) + "\nSELECT " + by_tenant),
    }


def assert_counts_agree(tenant_ids: list[uuid.UUID]) -> None:
    """Every kept-count figure equals the full scan's, on the service's role, each tenant's
    alone and every tenant's (as staff), read in one transaction (one now())."""
    with db.transaction() as tx:
        for tenant_id in tenant_ids:
            tx.set_tenant(tenant_id)
            for name, (kept, scanned) in _full_scans().items():
                if "every tenant" not in name:
                    assert json.loads(tx.scalar(kept, tenant=tenant_id)) == json.loads(
                        tx.scalar(scanned, tenant=tenant_id)), name
        tx.set_tenant(None, staff=True)
        for name, (kept, scanned) in _full_scans().items():
            if "every tenant" in name:
                assert json.loads(tx.scalar(kept)) == json.loads(tx.scalar(scanned)), name


class Mix:
    """Random changes to the items of some tenants, through the API as callers make them,
    and through the database as an operator would."""

    def __init__(self, rng: random.Random, client: Any, admin: Any, tenants: list[Any], database_url: str) -> None:
        self.rng, self.client, self.admin, self.tenants, self.url = rng, client, admin, tenants, database_url
        self.items: list[tuple[Any, str]] = []  # (tenant, item id)
        self.people = [str(uuid.uuid4()) for _ in range(3)]
        self.addresses = [f"submitter-{n}@example.com" for n in range(3)]

    def step(self) -> None:
        moves = [self.submit] * 3 + [self.move, self.move, self.edit, self.assign, self.merge, self.overdue]
        if len(self.items) > 5:
            moves.append(self.delete)
        (self.rng.choice(moves) if self.items else self.submit)()

    def pick(self) -> tuple[Any, str]:
        return self.rng.choice(self.items)

    def submit(self) -> None:
        tenant = self.rng.choice(self.tenants)
        body = {"feedback_type": self.rng.choice(["bug", "feature", "performance", "docs", "ux", "other"]),
                "priority": self.rng.choice(["low", "medium", "high", "urgent"])}
        if self.rng.random() < 0.5:
            body["submitter_email"] = self.rng.choice(self.addresses)
        self.items.append((tenant, submit(self.client, tenant, **body)["id"]))

    def move(self) -> None:
        tenant, item = self.pick()
        status = self.rng.choice(["acknowledged", "in_review", "planned", "in_progress", "completed", "declined"])
        body = {"status": status, **({"reason": "Out of scope"} if status == "declined" else {})}
        self.admin.post(BASE + item + "/status/", json=body, headers=tenant.auth("admin"))

    def edit(self) -> None:
        tenant, item = self.pick()
        change = self.rng.choice([{"priority": self.rng.choice(["low", "medium", "high", "urgent"])},
                                  {"feedback_type": self.rng.choice(["bug", "feature", "ux"])},
                                  {"summary": "Edited"}])
        self.client.patch(BASE + item + "/", json=change, headers=tenant.auth("admin"))

    def assign(self) -> None:
        tenant, item = self.pick()
        body = {"assignee_id": self.rng.choice(self.people + [None])}
        self.admin.post(BASE + item + "/assign/", json=body, headers=tenant.auth("admin"))

    def merge(self) -> None:
        tenant, item = self.pick()
        originals = [i for t, i in self.items if t is tenant and i != item]
        if originals:
            self.admin.post(BASE + item + "/status/", json={"status": "duplicate",
                            "duplicate_of": self.rng.choice(originals)}, headers=tenant.auth("admin"))

    def overdue(self) -> None:
        """An SLA due time passes (unanswered: breached now; answered later: late)."""
        _, item = self.pick()
        sql(self.url, "UPDATE feedback SET sla_due_at = now() - interval '1 hour' WHERE id = :id",
            id=uuid.UUID(item))

    def delete(self) -> None:
        """An operator removes an item none other names as its original."""
        named = {str(r[0]) for r in sql(self.url, "SELECT duplicate_of FROM feedback WHERE duplicate_of IS NOT NULL")}
        candidates = [(t, i) for t, i in self.items if i not in named]
        tenant, item = self.rng.choice(candidates)
        for table in ("feedback_audit", "feedback_notes", "outbox", "votes"):
            sql(self.url, f"DELETE FROM {table} WHERE feedback_id = :id", id=uuid.UUID(item))
        sql(self.url, "DELETE FROM feedback WHERE id = :id", id=uuid.UUID(item))
        self.items.remove((tenant, item))

    def erase(self) -> None:
        """A submitter asks to be forgotten (their items stay, anonymised)."""
        code, _ = manage(self.url, "submitters", "erase", "--email", self.rng.choice(self.addresses), "--json")
        assert code == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_every_figure_equals_a_full_count_after_a_random_mix(seed, client, admin, tenant, other_tenant,
                                                              database_url):
    mix = Mix(random.Random(seed), client, admin, [tenant, other_tenant], database_url)
    for n in range(1, 121):
        mix.step()
        if n % 40 == 0:
            mix.erase()
            assert_counts_agree([tenant.id, other_tenant.id])
    assert_counts_agree([tenant.id, other_tenant.id])


def test_counts_of_items_there_before_the_migration(server_url, tmp_path, monkeypatch):
    """Upgrading a database that holds items counts them all."""
    url = fresh_database(server_url)
    monkeypatch.setenv("DATABASE_URL", url)
    db.reset_pools()
    try:
        older = tmp_path / "sql"
        older.mkdir()
        counting = next(m for m in migrations.discover() if m.name == "feedback_counts")
        for m in migrations.discover():
            if m.version < counting.version:
                shutil.copy(m.path, older)
        conn = db.pool(owner=True).acquire()
        migrations.migrate(conn, older)
        tenants = [uuid.UUID(create_tenant(f"before-{n}")["id"]) for n in range(2)]
        sql(url, """
            INSERT INTO feedback (tenant_id, type, summary, priority, status, submitter_email, assignee_id,
                                  created_at, acknowledged_at, sla_due_at)
            SELECT (CAST(:t AS uuid[]))[1 + i % 2], (ARRAY['bug','feature','ux'])[1 + i % 3], 'Item ' || i,
                   (ARRAY['low','medium','high','urgent'])[1 + i % 4],
                   (ARRAY['new','acknowledged','completed','declined'])[1 + i % 4], 'a@example.com',
                   CASE WHEN i % 5 = 0 THEN CAST(:person AS uuid) END, now() - make_interval(hours => i),
                   CASE WHEN i % 4 > 0 THEN now() - make_interval(hours => i - 2) END,
                   now() - make_interval(hours => i) + make_interval(hours => i % 7)
              FROM generate_series(1, 200) i""", t=[str(t) for t in tenants], person=str(uuid.uuid4()))
        migrations.migrate(conn)
        db.pool(owner=True).release(conn)
        assert_counts_agree(tenants)
        with db.transaction() as tx:
            tx.set_tenant(tenants[0])
            assert json.loads(tx.scalar(queries.STATS.tenant, tenant=tenants[0]))["total"] == 100
    finally:
        monkeypatch.undo()
        db.reset_pools()
        drop_database(server_url, url)


def test_writers_to_one_tenant_do_not_wait_on_each_other(connection, tenant):
    """Two transactions add items of the same kind to one tenant: the second commits while
    the first still holds its counter row."""
    insert = ("INSERT INTO feedback (tenant_id, type, summary, priority, submitter_email, sla_due_at)"
              " VALUES (:tenant, 'bug', 'Concurrent', 'medium', 'c@example.com', now() + interval '1 day')")
    first = connection()
    first.run("START TRANSACTION")
    first.run(insert, tenant=tenant.id)
    second = connection()
    second.run("SET lock_timeout = '2s'")
    second.run(insert, tenant=tenant.id)  # would time out on one row per tenant and kind
    first.run("COMMIT")
    assert_counts_agree([tenant.id])
    with db.transaction() as tx:
        tx.set_tenant(tenant.id)
        assert json.loads(tx.scalar(queries.STATUS_COUNTS.tenant, tenant=tenant.id)) == {"new": 2}


def test_the_service_reads_counts_of_its_tenant_only_and_writes_none(connection, tenant, other_tenant, client,
                                                                    database_url):
    for someone in (tenant, other_tenant):
        sql(database_url, "UPDATE feedback SET assignee_id = gen_random_uuid() WHERE id = :id",
            id=uuid.UUID(submit(client, someone)["id"]))
    service = connection()
    service.run("SET ROLE pilot_feedback_app")
    service.run("START TRANSACTION")
    service.run(queries.SET_TENANT, tenant=str(tenant.id), staff="")
    assert service.run("SELECT DISTINCT tenant_id FROM feedback_counts") == [[tenant.id]]
    assert service.run("SELECT DISTINCT tenant_id FROM feedback_assignee_counts") == [[tenant.id]]
    with pytest.raises(pg8000.native.DatabaseError) as refused:
        service.run("INSERT INTO feedback_counts VALUES (:t, 'bug', 'new', 'low', 0, 1000, 0, 0, 0, 0)",
                    t=tenant.id)
    assert refused.value.args[0]["C"] == "42501"  # insufficient privilege
