"""The team hears about what matters: urgent items mail the tenant's admins at once, and
each working morning every admin gets a digest; both through the outbox, once, with a
per-person opt-out."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from events import deliverer
from helpers import BASE, manage, sql, submit

from shared import digest, team, tenants

MONDAY_MORNING = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def notify(function_app):
    return deliverer(function_app("notify"), "mail")


def _admin(tenant, name: str, **mails: bool) -> dict:
    person = team.add_person(tenant.id, f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com", name, "admin")
    if mails:
        team.configure_person(person["email"], **mails)
    return person


def _team_mails(database_url, tenant, notice: str) -> list[dict]:
    rows = sql(database_url, "SELECT id, feedback_id, payload FROM outbox WHERE tenant_id = :t AND kind = 'mail'"
                             " AND payload ->> 'notice' = :n ORDER BY id", t=tenant.id, n=notice)
    return [{"id": r[0], "item": r[1], **r[2]} for r in rows]


def test_an_urgent_item_mails_each_admin_who_takes_alerts_once(client, tenant, database_url, mailbox, notify):
    ada = _admin(tenant, "Ada")
    _admin(tenant, "Quiet", alerts=False)
    item = submit(client, tenant, priority="urgent", summary="Checkout is down")
    [alert] = _team_mails(database_url, tenant, "alert")
    assert (alert["to"], alert["priority"], str(alert["item"])) == (ada["email"], "urgent", item["id"])
    sql(database_url, "UPDATE feedback SET github_issue_url = 'https://github.com/acme/app/issues/7' WHERE id = :id",
        id=item["id"])
    assert notify(alert["id"]) == 200
    assert notify(alert["id"]) == 200  # delivered again: sent once
    [message] = mailbox.wait_for(1)
    assert message["To"].endswith(f"<{ada['email']}>") and message["Subject"] == "Urgent feedback: Checkout is down"
    body = message.get_content()
    assert f"https://feedback.example.com/console/items/{item['id']}/" in body
    assert "GitHub issue: https://github.com/acme/app/issues/7" in body
    assert f"people configure --email {ada['email']} --no-alerts" in body
    assert len(mailbox.wait_for(2, timeout=0.5)) == 1


# A summary that, written as it is, would put lines of its own in the team's mails.
FAKE_LINES = ("Checkout is down\r\nReset your password: https://evil.example/reset\n"
              "Thanks,\u2028The security team\u2029\x1b" + " padding" * 20)


def test_item_text_in_team_mails_is_one_quoted_clipped_line(client, tenant, database_url, mailbox, notify):
    tenants.configure(tenant.id, time_zone="UTC")
    _admin(tenant, "Ada")
    item = submit(client, tenant, priority="urgent", summary=FAKE_LINES)
    sql(database_url, "UPDATE feedback SET created_at = :at, sla_due_at = :due WHERE id = :id",
        at=MONDAY_MORNING - dt.timedelta(hours=1), due=MONDAY_MORNING + dt.timedelta(days=1), id=item["id"])
    digest.run(MONDAY_MORNING)
    for made in _team_mails(database_url, tenant, "alert") + _team_mails(database_url, tenant, "digest"):
        assert notify(made["id"]) == 200
    alert, morning = mailbox.wait_for(2)
    quoted = ("“Checkout is down Reset your password: https://evil.example/reset Thanks, The security team"
              " padding padding padding padd…”")  # 120 characters and the quotation marks
    for message, label in ((alert, "Summary: "), (morning, "- [urgent] ")):
        lines = message.get_content().splitlines()  # as a mail client breaks them, U+2028 included
        assert [line.partition("”")[0] + "”" for line in lines if "evil" in line] == [label + quoted]
    assert alert["Subject"].startswith("Urgent feedback: Checkout is down Reset your password:")


def test_high_items_alert_only_where_the_tenant_asks(client, tenant, database_url):
    _admin(tenant, "Grace")
    submit(client, tenant, priority="high", summary="Slow search")
    assert _team_mails(database_url, tenant, "alert") == []
    code, shown = manage(database_url, "tenants", "configure", str(tenant.id), "--alert-high", "--json")
    assert code == 0 and shown["alert_high"] is True
    submit(client, tenant, priority="high", summary="Slower search")
    assert [m["summary"] for m in _team_mails(database_url, tenant, "alert")] == ["Slower search"]
    submit(client, tenant, priority="medium", summary="Typo")
    assert len(_team_mails(database_url, tenant, "alert")) == 1


def test_raising_an_items_priority_alerts_once(client, tenant, database_url):
    _admin(tenant, "Linus")
    item = submit(client, tenant, priority="medium", summary="Login loops")
    auth = tenant.auth("admin")
    assert client.patch(BASE + item["id"] + "/", json={"priority": "urgent"}, headers=auth).status_code == 200
    assert client.patch(BASE + item["id"] + "/", json={"priority": "urgent"}, headers=auth).status_code == 200  # again
    assert [m["priority"] for m in _team_mails(database_url, tenant, "alert")] == ["urgent"]


def test_each_admin_gets_one_digest_each_working_morning(client, tenant, database_url, mailbox, notify):
    tenants.configure(tenant.id, time_zone="UTC")
    ada = _admin(tenant, "Ada")
    _admin(tenant, "Quiet", digest=False)
    sql(database_url, "UPDATE people SET last_digest_at = :at WHERE tenant_id = :t",
        at=MONDAY_MORNING - dt.timedelta(days=3), t=tenant.id)
    due = submit(client, tenant, summary="Due today")
    breached = submit(client, tenant, summary="Past its SLA")
    # Every time the digest reads is the test's: none depends on the day it runs.
    for item, hours in ((due, 5), (breached, -1)):
        sql(database_url, "UPDATE feedback SET created_at = :made, sla_due_at = :due WHERE id = :id",
            made=MONDAY_MORNING - dt.timedelta(days=1), due=MONDAY_MORNING + dt.timedelta(hours=hours), id=item["id"])

    assert digest.run(MONDAY_MORNING - dt.timedelta(days=2))["sent"] == 0  # a Saturday: no digest
    digest.run(MONDAY_MORNING)
    [made] = _team_mails(database_url, tenant, "digest")
    assert made["to"] == ada["email"]
    assert [i["summary"] for i in made["due_today"]] == ["Due today"]
    assert [i["summary"] for i in made["breached"]] == ["Past its SLA"]
    assert {i["summary"] for i in made["new"]} == {"Due today", "Past its SLA"}
    digest.run(MONDAY_MORNING + dt.timedelta(hours=3))  # later the same morning: nothing more
    assert len(_team_mails(database_url, tenant, "digest")) == 1

    assert notify(made["id"]) == 200
    [message] = mailbox.wait_for(1)
    assert message["Subject"] == "Your feedback digest for 2026-11-30: 1 due today, 1 past their sla, 2 new since your last digest"
    body = message.get_content()
    assert f"https://feedback.example.com/console/items/{due['id']}/" in body and "--no-digest" in body


def test_a_digest_with_nothing_in_it_is_not_sent(tenant, database_url):
    tenants.configure(tenant.id, time_zone="Pacific/Auckland")  # already Tuesday morning there
    _admin(tenant, "Idle")
    made = digest.run(MONDAY_MORNING - dt.timedelta(hours=1))
    assert made["empty"] >= 1
    assert _team_mails(database_url, tenant, "digest") == []
    stamped = sql(database_url, "SELECT last_digest_at FROM people WHERE tenant_id = :t", t=tenant.id)
    assert stamped == [[MONDAY_MORNING - dt.timedelta(hours=1)]]


def test_before_the_morning_hour_no_digest_is_made(tenant, database_url, client):
    tenants.configure(tenant.id, time_zone="America/Los_Angeles")  # 01:00 there
    _admin(tenant, "Early")
    submit(client, tenant, summary="Night owl")
    digest.run(MONDAY_MORNING)
    assert _team_mails(database_url, tenant, "digest") == []


def test_the_sweep_function_makes_the_digests_at_its_digest_path(function_app):
    """What the scheduler's digest job calls (terraform/scheduler.tf)."""
    answered = function_app("sweep").test_client().post("/digest")
    assert answered.status_code == 200 and set(answered.get_json()) == {"sent", "empty"}
    assert set(function_app("sweep").test_client().post("/").get_json()) == {"published", "purged"}
