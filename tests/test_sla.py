"""Response SLAs: due times across weekends, holidays, time zones and priority changes."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from helpers import BASE, sql, submit

from shared import sla

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "priority, submitted, zone, holidays, due",
    [
        # 2026-11-23 is a Monday.
        ("high", "2026-11-23T10:00:00+00:00", "UTC", "", "2026-11-24T10:00:00+00:00"),
        ("high", "2026-11-27T15:00:00+00:00", "UTC", "", "2026-11-30T15:00:00+00:00"),  # Friday -> Monday
        ("medium", "2026-11-26T09:00:00+00:00", "UTC", "", "2026-12-01T09:00:00+00:00"),
        ("low", "2026-11-25T12:00:00+00:00", "UTC", "", "2026-12-02T12:00:00+00:00"),
        ("high", "2026-11-28T10:00:00+00:00", "UTC", "", "2026-12-01T00:00:00+00:00"),  # Saturday: from Monday
        ("urgent", "2026-11-27T22:00:00+00:00", "UTC", "", "2026-11-28T02:00:00+00:00"),  # clock hours
        ("urgent", "2026-11-28T10:00:00+00:00", "UTC", "2026-11-28", "2026-11-28T14:00:00+00:00"),
        ("high", "2026-11-27T15:00:00+00:00", "UTC", "2026-11-30", "2026-12-01T15:00:00+00:00"),  # Monday off
        ("high", "2026-12-25T10:00:00+00:00", "UTC", "2026-12-25,2026-12-28", "2026-12-30T00:00:00+00:00"),
        ("medium", "2026-12-23T16:00:00+00:00", "UTC", "2026-12-24,2026-12-25", "2026-12-30T16:00:00+00:00"),
        # Friday 20:00 in New York is Saturday in UTC: the local day counts.
        ("high", "2026-11-28T01:00:00+00:00", "America/New_York", "", "2026-12-01T01:00:00+00:00"),
        # Across the spring change in Berlin: same wall-clock time, one hour less offset.
        ("medium", "2026-03-27T09:00:00+00:00", "Europe/Berlin", "", "2026-04-01T08:00:00+00:00"),
    ],
)
def test_due_times(env, priority, submitted, zone, holidays, due):
    env(SLA_TIMEZONE=zone, SLA_HOLIDAYS=holidays)
    assert sla.due_at(priority, at(submitted)) == at(due)


def _force(database_url, item_id: str, **columns: str) -> None:
    sets = ", ".join(f"{name} = {value}" for name, value in columns.items())
    sql(database_url, f"UPDATE feedback SET {sets} WHERE id = :id", id=uuid.UUID(item_id))


def test_every_item_carries_its_due_time_and_state(client, tenant):
    before = dt.datetime.now(UTC)
    item = submit(client, tenant, priority="urgent")
    due = at(item["sla_due_at"])
    assert before + dt.timedelta(hours=4) <= due <= dt.datetime.now(UTC) + dt.timedelta(hours=4)
    assert item["sla_status"] == "on_track"


def test_a_new_priority_brings_a_new_due_time_from_submission(client, tenant):
    item = submit(client, tenant, priority="low")
    changed = client.patch(BASE + item["id"] + "/", json={"priority": "urgent"}, headers=tenant.auth("admin"))
    assert changed.status_code == 200
    assert at(changed.get_json()["sla_due_at"]) == at(item["created_at"]) + dt.timedelta(hours=4)


def test_states_on_track_due_soon_breached_met(client, tenant, database_url):
    items = [submit(client, tenant) for _ in range(4)]
    _force(database_url, items[1]["id"], created_at="now() - interval '3 hours'",
           sla_due_at="now() + interval '10 minutes'")
    _force(database_url, items[2]["id"], sla_due_at="now() - interval '1 minute'")
    _force(database_url, items[3]["id"], sla_due_at="now() - interval '1 minute'",
           acknowledged_at="now() - interval '2 minutes'")
    states = [client.get(BASE + i["id"] + "/", headers=tenant.auth()).get_json()["sla_status"] for i in items]
    assert states == ["on_track", "due_soon", "breached", "met"]


def test_answering_meets_the_sla(client, admin, tenant, database_url):
    item = submit(client, tenant)
    answered = admin.post(BASE + item["id"] + "/status/", json={"status": "declined", "reason": "no"},
                          headers=tenant.auth("admin")).get_json()
    assert answered["sla_status"] == "met"
    late = submit(client, tenant)
    _force(database_url, late["id"], sla_due_at="now() - interval '1 hour'")
    assert admin.post(BASE + late["id"] + "/acknowledge/", headers=tenant.auth("admin")).get_json()["sla_status"] == (
        "breached")


def test_the_triage_queue_lists_what_is_due_first(client, tenant):
    low, urgent, high = (submit(client, tenant, priority=p) for p in ("low", "urgent", "high"))
    queue = client.get(BASE + "?sort=sla&status=new", headers=tenant.auth("admin")).get_json()["items"]
    assert [i["id"] for i in queue] == [urgent["id"], high["id"], low["id"]]
    page = client.get(BASE + "?sort=sla&limit=1", headers=tenant.auth("admin")).get_json()
    rest = client.get(BASE + f"?sort=sla&limit=5&cursor={page['next']}", headers=tenant.auth("admin")).get_json()
    assert [i["id"] for i in page["items"] + rest["items"]] == [urgent["id"], high["id"], low["id"]]
