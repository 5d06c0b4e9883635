"""What is kept only for a while is purged by the sweep; a submitter's data is exported
and erased on request."""
from __future__ import annotations

import json
import uuid

import pytest
from helpers import BASE, item_body, manage, outbox_rows, sql, submit

from shared import team


@pytest.fixture
def sweep_app(function_app):
    return function_app("sweep")


def _count(database_url, table: str, where: str, **params) -> int:
    return sql(database_url, f"SELECT count(*) FROM {table} WHERE {where}", **params)[0][0]


def test_the_sweep_purges_expired_records_and_keeps_the_rest(client, admin, tenant, database_url, sweep_app, env):
    env(IDEMPOTENCY_RETENTION_HOURS="72", RETENTION_DAYS="30")
    for key in ("old-request", "new-request"):
        assert client.post(BASE, json=item_body(), headers={**tenant.auth(), "Idempotency-Key": key}).status_code == 201
    sql(database_url, "UPDATE idempotency_keys SET created_at = now() - interval '73 hours'"
         " WHERE tenant_id = :t AND key = 'old-request'", t=tenant.id)
    sql(database_url, "INSERT INTO rate_counters (tenant_id, bucket, window_start, hits) VALUES"
         " (:t, 'ip:old', now() - interval '2 days', 1), (:t, 'ip:new', now(), 1)", t=tenant.id)
    old_delivery, new_delivery = f"old-{uuid.uuid4()}", f"new-{uuid.uuid4()}"
    sql(database_url, "INSERT INTO github_deliveries (delivery_id, received_at) VALUES"
         " (:o, now() - interval '31 days'), (:n, now() - interval '29 days')", o=old_delivery, n=new_delivery)
    done, pending = (submit(client, tenant, submitter_email=f"{n}@example.com") for n in ("done", "pending"))
    for item in (done, pending):
        admin.post(f"{BASE}{item['id']}/respond/", json={"response": "Seen."}, headers=tenant.auth("admin"))
    sql(database_url, "UPDATE outbox SET created_at = now() - interval '40 days',"
         " done_at = CASE WHEN feedback_id = :done THEN now() - interval '31 days' END,"
         " outcome = CASE WHEN feedback_id = :done THEN 'sent' END"
         " WHERE feedback_id IN (:done, :pending)", done=uuid.UUID(done["id"]), pending=uuid.UUID(pending["id"]))

    for age, message_id in (("31 days", f"<old-{uuid.uuid4()}@x>"), ("29 days", f"<new-{uuid.uuid4()}@x>")):
        sql(database_url, "INSERT INTO inbound_mails (tenant_id, message_id, feedback_id, outcome, received_at)"
             f" VALUES (:t, :m, :f, 'created', now() - interval '{age}')", t=tenant.id, m=message_id,
            f=uuid.UUID(done["id"]))

    response = sweep_app.test_client().post("/")
    assert response.status_code == 200
    assert all(response.get_json()["purged"][table] >= 1 for table in ("idempotency_keys", "rate_counters",
               "github_deliveries", "outbox", "inbound_mails")), response.get_json()
    assert set(response.get_json()["purged"]) >= {"idempotency_keys", "rate_counters", "github_deliveries", "outbox",
                                                   "inbound_mails"}
    assert _count(database_url, "inbound_mails", "tenant_id = :t", t=tenant.id) == 1

    assert _count(database_url, "idempotency_keys", "tenant_id = :t AND key = 'old-request'", t=tenant.id) == 0
    assert _count(database_url, "idempotency_keys", "tenant_id = :t AND key = 'new-request'", t=tenant.id) == 1
    assert _count(database_url, "rate_counters", "tenant_id = :t", t=tenant.id) == 1
    assert _count(database_url, "github_deliveries", "delivery_id IN (:o, :n)", o=old_delivery, n=new_delivery) == 1
    assert outbox_rows(database_url, done["id"], "mail") == []
    assert len(outbox_rows(database_url, pending["id"], "mail")) == 1  # never purged until finished


def test_spent_sign_in_links_sessions_and_throttles_are_purged(database_url, tenant, sweep_app):
    from shared import signin

    person = team.add_person(tenant.id, f"leaver-{uuid.uuid4().hex[:6]}@example.com", "Lee Vance", "admin")
    for _ in range(3):
        signin.operator_link(person["email"])
    sessions = [signin.session_for(person["email"]) for _ in range(3)]
    where = "person_id = CAST(:p AS uuid)"
    # One link expired two days ago, one a few hours ago (kept a day), one live; the same for
    # sessions, one of which ended two days ago.
    sql(database_url, f"""UPDATE signin_links SET expires_at = now() + CASE
          WHEN token_hash = (SELECT token_hash FROM signin_links WHERE {where} ORDER BY 1 LIMIT 1) THEN interval '-2 days'
          WHEN token_hash = (SELECT token_hash FROM signin_links WHERE {where} ORDER BY 1 DESC LIMIT 1) THEN interval '-3 hours'
          ELSE interval '10 minutes' END WHERE {where}""", p=person["id"])
    sql(database_url, f"""UPDATE console_sessions SET ended_at = CASE
          WHEN id_hash = (SELECT id_hash FROM console_sessions WHERE {where} ORDER BY 1 LIMIT 1) THEN now() - interval '2 days' END,
          expires_at = CASE WHEN id_hash = (SELECT id_hash FROM console_sessions WHERE {where} ORDER BY 1 DESC LIMIT 1)
          THEN now() - interval '3 days' ELSE expires_at END WHERE {where}""", p=person["id"])
    sql(database_url, "INSERT INTO signin_throttle (bucket, window_start, hits) VALUES"
                      " (:old, now() - interval '2 days', 3), (:new, now(), 3)",
        old=f"ip:old-{uuid.uuid4().hex[:6]}", new=f"ip:new-{uuid.uuid4().hex[:6]}")
    purged = sweep_app.test_client().post("/").get_json()["purged"]
    assert purged["signin_links"] >= 1 and purged["console_sessions"] >= 2 and purged["signin_throttle"] >= 1
    assert _count(database_url, "signin_links", where, p=person["id"]) == 2
    assert _count(database_url, "console_sessions", where, p=person["id"]) == 1
    assert len(sessions) == 3 and _count(database_url, "signin_throttle", "bucket LIKE 'ip:old-%'") == 0


def test_retention_has_floors_whatever_the_settings_say(client, tenant, database_url, sweep_app, env):
    env(IDEMPOTENCY_RETENTION_HOURS="0", RETENTION_DAYS="0")
    assert client.post(BASE, json=item_body(), headers={**tenant.auth(), "Idempotency-Key": "fresh"}).status_code == 201
    sql(database_url, "UPDATE idempotency_keys SET created_at = now() - interval '23 hours'"
         " WHERE tenant_id = :t", t=tenant.id)
    recent = f"recent-{uuid.uuid4()}"
    sql(database_url, "INSERT INTO github_deliveries (delivery_id, received_at) VALUES (:d, now() - interval '1 day')",
         d=recent)
    item = submit(client, tenant)
    sql(database_url, "INSERT INTO inbound_mails (tenant_id, message_id, feedback_id, outcome, received_at)"
         " VALUES (:t, '<m@x>', :f, 'created', now() - interval '6 days')", t=tenant.id, f=uuid.UUID(item["id"]))
    assert sweep_app.test_client().post("/").status_code == 200
    assert _count(database_url, "idempotency_keys", "tenant_id = :t", t=tenant.id) == 1
    assert _count(database_url, "github_deliveries", "delivery_id = :d", d=recent) == 1
    assert _count(database_url, "inbound_mails", "tenant_id = :t", t=tenant.id) == 1  # kept a week at least


def test_the_service_cannot_delete_what_it_purges(database_url):
    for table in ("idempotency_keys", "rate_counters", "github_deliveries", "outbox", "inbound_mails",
                  "signin_throttle", "signin_links", "console_sessions"):
        sql(database_url, "BEGIN")
        sql(database_url, "SET LOCAL ROLE pilot_feedback_app")
        sql(database_url, "SELECT set_config('app.staff', 'on', true)")
        with pytest.raises(Exception, match="permission denied"):
            sql(database_url, f"DELETE FROM {table}")
        sql(database_url, "ROLLBACK")


def test_a_submitters_data_is_exported_and_erased_across_tenants(client, admin, tenant, other_tenant, database_url):
    address = f"Erin.{uuid.uuid4().hex[:6]}@Example.com"
    anonymous = {"X-Tenant-Key": tenant.intake_key, "Idempotency-Key": "erin-1"}
    ours = client.post(BASE, json=item_body(submitter_email=address, submitter_name="Erin",
                                            context={"account": "erin-42"}), headers=anonymous).get_json()
    theirs = submit(client, other_tenant, role="admin", submitter_email=address.lower())
    bystander = submit(client, tenant, role="admin", submitter_email="someone@example.com")
    admin.post(f"{BASE}{ours['id']}/respond/", json={"response": "Thanks."}, headers=tenant.auth("admin"))
    sql(database_url, "INSERT INTO mail_opt_outs (tenant_id, email) VALUES (:t, :e)", t=other_tenant.id,
         e=address.lower())

    code, found = manage(database_url, "submitters", "export", "--email", address, "--json")
    assert code == 0 and found["email"] == address.lower()
    assert {i["id"] for i in found["items"]} == {ours["id"], theirs["id"]}
    assert any(i["context"] == {"account": "erin-42"} and i["submitter_name"] == "Erin" for i in found["items"])
    assert [m["notice"] for m in found["mails"]] == ["response"]
    assert [o["tenant_id"] for o in found["mail_opt_outs"]] == [str(other_tenant.id)]

    code, erased = manage(database_url, "submitters", "erase", "--email", address, "--json")
    assert code == 0 and set(erased["items_anonymised"]) == {ours["id"], theirs["id"]}
    for item, owner in ((ours, tenant), (theirs, other_tenant)):
        shown = client.get(f"{BASE}{item['id']}/", headers=owner.auth("admin")).get_json()
        assert shown["submitter_email"] is None and shown["submitter_name"] is None and shown["context"] == {}
        assert shown["summary"] == item["summary"]  # the feedback itself stays for the team
        history = admin.get(f"{BASE}{item['id']}/history/", headers=owner.auth("admin")).get_json()["items"]
        assert history[-1]["action"] == "erase" and history[-1]["actor_role"] == "system"
    mails = sql(database_url, "SELECT payload::text, outcome FROM outbox WHERE feedback_id = :i",
                 i=uuid.UUID(ours["id"]))
    assert mails and all(outcome for _, outcome in mails)  # given up if still pending
    assert address.lower() not in json.dumps(mails).lower()
    for table, where in (("mail_opt_outs", "email = :e"), ("idempotency_keys", "principal = 'anonymous:' || :e"),
                         ("rate_counters", "bucket = 'email:' || :e"), ("feedback", "lower(submitter_email) = :e")):
        assert _count(database_url, table, where, e=address.lower()) == 0, table
    assert client.get(f"{BASE}{bystander['id']}/", headers=tenant.auth("admin")).get_json()["submitter_email"] == (
        "someone@example.com")
    code, again = manage(database_url, "submitters", "export", "--email", address, "--json")
    assert again["items"] == [] and again["mails"] == [] and again["mail_opt_outs"] == []
