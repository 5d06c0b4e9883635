"""The triage group: the workflow, answers to submitters, duplicates and the audit trail."""
from __future__ import annotations

import uuid

import pytest
from helpers import BASE, sql, submit

from shared import db, errors, tenants, workflow

STATUSES = ["new", "acknowledged", "in_review", "planned", "in_progress", "completed", "declined", "duplicate"]


def _force_status(database_url, item_id: str, status: str, original: str | None = None) -> None:
    sql(database_url, "UPDATE feedback SET status = CAST(:s AS text), duplicate_of = CAST(:o AS uuid) WHERE id = :id",
             s=status, o=original if status == "duplicate" else None, id=uuid.UUID(item_id))


def _audit(database_url, item_id: str) -> list[list]:
    return sql(database_url, "SELECT action, actor_role, old_value, new_value FROM feedback_audit"
                             " WHERE feedback_id = :id ORDER BY id", id=uuid.UUID(item_id))


@pytest.mark.parametrize("start", STATUSES)
def test_every_transition_is_allowed_or_refused_with_the_next_states(admin, client, tenant, database_url, start):
    original = submit(client, tenant)
    for target in STATUSES:
        item = submit(client, tenant)
        _force_status(database_url, item["id"], start, original["id"])
        body = {"status": target, "reason": "out of scope", "duplicate_of": original["id"]}
        if target != "declined":
            body.pop("reason")
        if target != "duplicate":
            body.pop("duplicate_of")
        response = admin.post(BASE + item["id"] + "/status/", json=body, headers=tenant.auth("admin"))
        if target in workflow.next_states(start):
            assert response.status_code == 200, (start, target, response.get_json())
            assert response.get_json()["status"] == target
        else:
            assert response.status_code == 409, (start, target)
            problem = response.get_json()
            assert (problem["current"], problem["allowed"]) == (start, workflow.next_states(start))
            assert _audit(database_url, item["id"]) == []


def test_the_guides_endpoints(admin, client, tenant, database_url):
    item = submit(client, tenant)
    acknowledged = admin.post(BASE + item["id"] + "/acknowledge/", headers=tenant.auth("admin")).get_json()
    assert acknowledged["status"] == "acknowledged" and acknowledged["acknowledged_at"]
    answered = admin.post(BASE + item["id"] + "/respond/", json={"response": "Looking into it", "status": "in_review"},
                          headers=tenant.auth("admin")).get_json()
    assert (answered["status"], answered["public_response"]) == ("in_review", "Looking into it")
    assert answered["acknowledged_at"] == acknowledged["acknowledged_at"]  # set once
    plain = admin.post(BASE + item["id"] + "/respond/", json={"response": "Planned for May"},
                       headers=tenant.auth("admin")).get_json()
    assert (plain["status"], plain["public_response"]) == ("in_review", "Planned for May")
    done = admin.post(BASE + item["id"] + "/complete/", json={"response": "Shipped in 2.4"},
                      headers=tenant.auth("admin")).get_json()
    assert (done["status"], done["public_response"]) == ("completed", "Shipped in 2.4") and done["completed_at"]
    # The submitter sees the answer.
    shown = client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json()
    assert (shown["status"], shown["public_response"]) == ("completed", "Shipped in 2.4")
    assert [row[0] for row in _audit(database_url, item["id"])] == [
        "status", "status", "response", "response", "status", "response"]


def test_acknowledging_twice_is_a_conflict(admin, client, tenant):
    item = submit(client, tenant)
    assert admin.post(BASE + item["id"] + "/acknowledge/", headers=tenant.auth("admin")).status_code == 200
    again = admin.post(BASE + item["id"] + "/acknowledge/", headers=tenant.auth("admin"))
    assert again.status_code == 409 and "in_review" in again.get_json()["allowed"]


def test_declining_needs_a_reason_the_submitter_sees(admin, client, tenant):
    item = submit(client, tenant)
    url = BASE + item["id"] + "/status/"
    missing = admin.post(url, json={"status": "declined"}, headers=tenant.auth("admin"))
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["field"] == "reason"
    declined = admin.post(url, json={"status": "declined", "reason": "Out of scope"}, headers=tenant.auth("admin"))
    assert declined.get_json()["decline_reason"] == "Out of scope"
    assert declined.get_json()["acknowledged_at"]  # leaving NEW answers the submitter


def test_a_duplicate_hands_its_voters_to_the_original_once_each(admin, client, tenant, database_url):
    original, duplicate = submit(client, tenant), submit(client, tenant)
    from shared import api_keys

    voters = [api_keys.create_key(tenant.id, "member")["token"] for _ in range(3)]
    for token, items in ((voters[0], [original]), (voters[1], [original, duplicate]), (voters[2], [duplicate])):
        for it in items:
            client.post(BASE + it["id"] + "/vote/", headers={"Authorization": f"Bearer {token}"})
    response = admin.post(BASE + duplicate["id"] + "/status/", json={"status": "duplicate",
                                                                      "duplicate_of": original["id"]},
                          headers=tenant.auth("admin"))
    assert response.status_code == 200
    assert (response.get_json()["duplicate_of"], response.get_json()["vote_count"]) == (original["id"], 0)
    assert client.get(BASE + original["id"] + "/", headers=tenant.auth()).get_json()["vote_count"] == 3
    rows = sql(database_url, "SELECT feedback_id::text, count(*) FROM votes WHERE feedback_id = ANY(CAST(:ids AS uuid[]))"
                             " GROUP BY 1", ids=[original["id"], duplicate["id"]])
    assert dict(rows) == {original["id"]: 3}
    # Voting is closed on the duplicate.
    assert client.post(BASE + duplicate["id"] + "/vote/", headers=tenant.auth()).status_code == 409


@pytest.mark.parametrize("case", ["missing", "itself", "unknown", "other tenant", "a duplicate"])
def test_a_bad_original_is_refused_and_changes_nothing(admin, client, tenant, other_tenant, database_url, case):
    item = submit(client, tenant)
    original = {
        "missing": None,
        "itself": item["id"],
        "unknown": str(uuid.uuid4()),
        "other tenant": submit(client, other_tenant)["id"],
        "a duplicate": None,
    }[case]
    if case == "a duplicate":
        first, second = submit(client, tenant), submit(client, tenant)
        _force_status(database_url, second["id"], "duplicate", first["id"])
        original = second["id"]
    body = {"status": "duplicate", **({"duplicate_of": original} if original else {})}
    response = admin.post(BASE + item["id"] + "/status/", json=body, headers=tenant.auth("admin"))
    assert response.status_code == 422
    assert client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json() == item
    assert _audit(database_url, item["id"]) == []


ADMIN_ROUTES = [("POST", "acknowledge/", None), ("POST", "respond/", {"response": "hi"}),
                ("POST", "complete/", {}), ("POST", "status/", {"status": "in_review"}), ("GET", "history/", None),
                ("POST", "assign/", {"assignee_email": "dev@example.com"}),
                ("POST", "github/", {"url": "https://github.com/acme/app/issues/7"}),
                ("POST", "notes/", {"body": "seen before"}), ("GET", "notes/", None)]
CHANGED_STATUS = {"acknowledge/": "acknowledged", "complete/": "completed", "status/": "in_review"}


def test_who_may_triage(admin, client, tenant, other_tenant):
    for method, path, body in ADMIN_ROUTES:
        item = submit(client, tenant)
        url = BASE + item["id"] + "/" + path
        assert admin.open(url, method=method, json=body).status_code == 401
        assert admin.open(url, method=method, json=body, headers={"X-Tenant-Key": tenant.intake_key}).status_code == 401
        assert admin.open(url, method=method, json=body, headers=tenant.auth("member")).status_code == 403
        for role in ("admin", "staff"):  # another tenant's admin never learns the item exists; staff see all
            code = admin.open(url, method=method, json=body, headers=other_tenant.auth(role)).status_code
            assert code == (404 if role == "admin" else 201 if path == "notes/" and method == "POST" else 200), (
                path, role)
        status = client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json()["status"]
        assert status == CHANGED_STATUS.get(path, "new")


def test_history_shows_every_change_with_actor_and_values(admin, client, tenant):
    item = submit(client, tenant)
    client.patch(BASE + item["id"] + "/", json={"summary": "Login fails with Okta"}, headers=tenant.auth())
    admin.post(BASE + item["id"] + "/status/", json={"status": "planned"}, headers=tenant.auth("admin"))
    entries = admin.get(BASE + item["id"] + "/history/", headers=tenant.auth("admin")).get_json()["items"]
    assert [(e["action"], e["actor_role"]) for e in entries] == [("edit", "member"), ("status", "admin")]
    assert entries[0]["old"] == {"summary": "Login fails with SAML SSO"}
    assert entries[0]["new"] == {"summary": "Login fails with Okta"}
    assert (entries[1]["old"], entries[1]["new"]) == ({"status": "new"}, {"status": "planned"})
    assert entries[0]["at"] <= entries[1]["at"]


def test_audit_rows_are_append_only_for_the_service(client, tenant, database_url):
    item = submit(client, tenant)
    client.patch(BASE + item["id"] + "/", json={"rating": 5}, headers=tenant.auth())
    for statement in ("UPDATE feedback_audit SET action = 'x'", "DELETE FROM feedback_audit"):
        with pytest.raises(errors.ApiError):
            with db.transaction() as tx:
                tx.set_tenant(tenant.id)
                tx.rows(statement)
    assert len(_audit(database_url, item["id"])) == 1


def test_an_audit_row_goes_with_its_change(client, tenant, database_url):
    """A change that fails leaves no audit row behind."""
    item = submit(client, tenant)
    response = client.patch(BASE + item["id"] + "/", json={"summary": "x" * 256}, headers=tenant.auth())
    assert response.status_code == 422
    with pytest.raises(errors.ValidationFailed):
        with db.transaction() as tx:
            tx.set_tenant(tenant.id)
            tx.rows("INSERT INTO feedback_audit (tenant_id, feedback_id, actor, actor_role, action)"
                    " VALUES (:t, :id, 'test', 'admin', 'edit')", t=tenant.id, id=uuid.UUID(item["id"]))
            tx.rows_and_commit("UPDATE feedback SET rating = 9 WHERE id = :id", id=uuid.UUID(item["id"]))
    assert _audit(database_url, item["id"]) == []


def test_assignment_is_visible_to_the_team_and_its_email_only_to_triage(admin, client, tenant, database_url):
    item = submit(client, tenant)
    user = str(uuid.uuid4())
    url = BASE + item["id"] + "/assign/"
    assigned = admin.post(url, json={"assignee_id": user, "assignee_email": "dev@example.com"},
                          headers=tenant.auth("admin")).get_json()
    assert (assigned["assignee_id"], assigned["assignee_email"]) == (user, "dev@example.com")
    seen_by_member = client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json()
    assert (seen_by_member["assignee_id"], seen_by_member["assignee_email"]) == (user, None)
    unassigned = admin.post(url, json={}, headers=tenant.auth("admin")).get_json()
    assert (unassigned["assignee_id"], unassigned["assignee_email"]) == (None, None)
    assert admin.post(url, json={"assignee_email": "not an email"}, headers=tenant.auth("admin")).status_code == 422
    changes = [(row[0], row[2], row[3]) for row in _audit(database_url, item["id"])]
    assert changes == [
        ("assignment", {"assignee_id": None, "assignee_email": None},
         {"assignee_id": user, "assignee_email": "dev@example.com"}),
        ("assignment", {"assignee_id": user, "assignee_email": "dev@example.com"},
         {"assignee_id": None, "assignee_email": None}),
    ]


def test_internal_notes_stay_internal(admin, client, tenant, database_url):
    item = submit(client, tenant)
    url = BASE + item["id"] + "/notes/"
    first = admin.post(url, json={"body": "Same as ticket 42"}, headers=tenant.auth("admin"))
    assert first.status_code == 201 and first.get_json()["body"] == "Same as ticket 42"
    admin.post(url, json={"body": "Customer is on the enterprise plan"}, headers=tenant.auth("staff"))
    notes = admin.get(url, headers=tenant.auth("admin")).get_json()["items"]
    assert [n["body"] for n in notes] == ["Same as ticket 42", "Customer is on the enterprise plan"]
    assert admin.get(url, headers=tenant.auth("member")).status_code == 403
    shown = client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_data(as_text=True)
    assert "ticket 42" not in shown and "enterprise plan" not in shown
    assert admin.post(url, json={"body": "  "}, headers=tenant.auth("admin")).status_code == 422
    assert [row[0] for row in _audit(database_url, item["id"])] == ["note", "note"]


@pytest.mark.parametrize("url, ok", [
    ("https://github.com/acme/app/issues/7", True),
    ("https://github.example.com:8443/acme/app/issues/123", True),  # GitHub Enterprise Server
    ("http://github.com/acme/app/issues/7", False),
    ("https://github.com/acme/app/pull/7", False),
    ("https://github.com/acme/app/issues/0", False),
    ("https://github.com/acme/issues/7", False),
    ("javascript:alert(1)", False),
])
def test_github_links_must_be_issue_pages(admin, client, tenant, url, ok):
    item = submit(client, tenant)
    # Staff may link an issue of any repository (an admin only its tenant's: test_github_webhook.py).
    response = admin.post(BASE + item["id"] + "/github/", json={"url": url}, headers=tenant.auth("staff"))
    assert response.status_code == (200 if ok else 422)
    shown = client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json()["github_issue_url"]
    assert shown == (url if ok else None)


def test_github_link_and_unlink_are_audited(admin, client, tenant, database_url):
    tenants.configure(tenant.id, github_repository="acme/app")
    item = submit(client, tenant)
    url = BASE + item["id"] + "/github/"
    link = "https://github.com/acme/app/issues/7"
    assert admin.post(url, json={"url": link}, headers=tenant.auth("admin")).get_json()["github_issue_url"] == link
    assert admin.post(url, json={"url": None}, headers=tenant.auth("admin")).get_json()["github_issue_url"] is None
    assert [(r[0], r[2], r[3]) for r in _audit(database_url, item["id"])] == [
        ("github_link", None, link), ("github_link", link, None)]


def test_stats_grow_the_triage_view(admin, client, tenant, other_tenant, database_url):
    on_time, late, overdue, waiting = (submit(client, tenant, priority=p) for p in ("high", "high", "low", "urgent"))
    user = str(uuid.uuid4())
    admin.post(BASE + on_time["id"] + "/acknowledge/", headers=tenant.auth("admin"))
    sql(database_url, "UPDATE feedback SET sla_due_at = now() - interval '1 hour' WHERE id = ANY(CAST(:ids AS uuid[]))",
             ids=[late["id"], overdue["id"]])
    admin.post(BASE + late["id"] + "/acknowledge/", headers=tenant.auth("admin"))
    admin.post(BASE + waiting["id"] + "/assign/", json={"assignee_id": user}, headers=tenant.auth("admin"))
    stats = admin.get(BASE + "triage/stats/", headers=tenant.auth("admin")).get_json()
    assert stats["sla_by_priority"] == {"high": {"met": 1, "breached": 1}, "low": {"met": 0, "breached": 1},
                                        "urgent": {"met": 0, "breached": 0}}
    assert stats["open_by_assignee"] == {"unassigned": 3, user: 1}
    assert stats["avg_response_time_hours"] is not None and "by_tenant" not in stats

    submit(client, other_tenant)
    everyone = admin.get(BASE + "triage/stats/", headers=tenant.auth("staff")).get_json()
    assert admin.get(BASE + "triage/stats/", headers=tenant.auth("member")).status_code == 403
    assert everyone["by_tenant"][str(tenant.id)]["sla_by_priority"] == stats["sla_by_priority"]
    assert everyone["by_tenant"][str(other_tenant.id)]["total"] == 1
    assert everyone["total"] == sum(t["total"] for t in everyone["by_tenant"].values())


def test_the_list_filters_by_assignee_sla_state_and_creation_day(client, admin, tenant, database_url):
    import datetime

    from shared import api_keys

    holder = api_keys.create_key(tenant.id, "admin", uuid.uuid4())
    mine = {"Authorization": f"Bearer {holder['token']}"}
    assigned, breached, other = (submit(client, tenant, summary=s) for s in ("assigned", "breached", "other"))
    assert admin.post(BASE + assigned["id"] + "/assign/", json={"assignee_id": holder["user_id"]},
                      headers=tenant.auth("admin")).status_code == 200
    sql(database_url, "UPDATE feedback SET sla_due_at = now() - interval '1 hour' WHERE id = :id",
        id=uuid.UUID(breached["id"]))

    def listed(query: str, headers=None) -> set[str]:
        page = client.get(BASE + "?limit=100&" + query, headers=headers or tenant.auth("admin"))
        assert page.status_code == 200, page.get_json()
        return {i["summary"] for i in page.get_json()["items"]}

    assert listed(f"assignee={holder['user_id']}") == {"assigned"}
    assert listed("assignee=me", mine) == {"assigned"}
    assert {"breached", "other"} <= listed("assignee=none") and "assigned" not in listed("assignee=none")
    assert listed("sla_status=breached") == {"breached"}
    # The day the first of them was made, by the clock that stamped it (not the test's).
    today = datetime.datetime.fromisoformat(assigned["created_at"]).astimezone(datetime.UTC).date()
    assert {"assigned", "breached", "other"} <= listed(f"created_after={today}")
    assert listed(f"created_before={today}") == set()
    refused = client.get(BASE + "?assignee=someone", headers=tenant.auth("admin"))
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"].startswith("assignee")


def test_the_team_lists_who_may_be_assigned(admin, tenant, other_tenant):
    from shared import team

    ada = team.add_person(tenant.id, f"ada-{uuid.uuid4().hex[:6]}@example.com", "Ada", "admin")
    team.add_person(other_tenant.id, f"eve-{uuid.uuid4().hex[:6]}@example.com", "Eve", "admin")
    shown = admin.get(BASE + "team/", headers=tenant.auth("admin"))
    assert shown.status_code == 200
    assert [p["email"] for p in shown.get_json()["items"]] == [ada["email"]]  # not another tenant's
    assert admin.get(BASE + "team/", headers=tenant.auth("member")).status_code == 403


def test_a_bulk_change_checks_and_audits_each_item_and_undoes_only_the_refused(client, admin, tenant, database_url):
    from helpers import outbox_rows

    ok1, closed, ok2 = (submit(client, tenant, role="admin", submitter_email=f"s{n}@example.com") for n in range(3))
    assert admin.post(BASE + closed["id"] + "/status/", json={"status": "declined", "reason": "no"},
                      headers=tenant.auth("admin")).status_code == 200
    ids = [ok1["id"], closed["id"], ok2["id"]]
    done = admin.post(BASE + "triage/bulk/", json={"ids": ids, "action": "status", "status": "declined",
                                                   "reason": "Out of scope for the pilot"},
                      headers=tenant.auth("admin"))
    assert done.status_code == 200, done.get_json()
    results = done.get_json()["results"]
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["status"] == 409 and "cannot become" in results[1]["detail"]
    for item, mails in ((ok1, 1), (closed, 1), (ok2, 1)):  # the closed one keeps only its first decline's mail
        assert len(outbox_rows(database_url, item["id"], "mail")) == mails
    audited = sql(database_url, "SELECT feedback_id FROM feedback_audit WHERE action = 'status'"
                                " AND new_value->>'reason' = 'Out of scope for the pilot'")
    assert {str(r[0]) for r in audited} == {ok1["id"], ok2["id"]}
    refused = admin.post(BASE + "triage/bulk/", json={"ids": ids, "action": "priority"},
                         headers=tenant.auth("admin"))
    assert [r["detail"] for r in refused.get_json()["results"]] == ["Setting the priority needs the priority."] * 3
    assert admin.post(BASE + "triage/bulk/", json={"ids": ids, "action": "acknowledge"},
                      headers=tenant.auth("member")).status_code == 403


def test_a_bulk_change_reaches_no_other_tenants_item(client, admin, tenant, other_tenant):
    ours, theirs = submit(client, tenant), submit(client, other_tenant)
    done = admin.post(BASE + "triage/bulk/", json={"ids": [ours["id"], theirs["id"]], "action": "acknowledge"},
                      headers=tenant.auth("admin")).get_json()["results"]
    assert [(r["ok"], r.get("status")) for r in done] == [(True, None), (False, 404)]
    assert client.get(BASE + theirs["id"] + "/", headers=other_tenant.auth()).get_json()["status"] == "new"
