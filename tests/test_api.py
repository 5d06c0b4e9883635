"""The client API's endpoints through functions-framework's test client, on real PostgreSQL."""
from __future__ import annotations

import re
import uuid

from helpers import BASE, sql, submit


def test_submit_returns_the_created_item(client, tenant):
    item = submit(client, tenant, priority="high", source="web_app", context={"browser": "Chrome 120"},
                  tags=["sso", "login", "sso"], rating=4)
    assert item["status"] == "new"
    assert item["tenant_id"] == str(tenant.id)
    assert item["feedback_type"] == "bug"
    assert item["priority"] == "high"
    assert item["context"] == {"browser": "Chrome 120"}
    assert item["tags"] == ["sso", "login"]
    assert item["rating"] == 4
    assert item["vote_count"] == 0
    assert item["submitted_by"] is not None
    fetched = client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json()
    assert fetched == item


def test_submit_defaults(client, tenant):
    item = submit(client, tenant)
    assert (item["priority"], item["source"], item["context"], item["tags"]) == ("medium", "api", {}, [])


def test_paths_work_without_trailing_slash(client, tenant):
    item = submit(client, tenant)
    assert client.get("/api/v1/feedback", headers=tenant.auth()).status_code == 200
    assert client.get(BASE + item["id"], headers=tenant.auth()).status_code == 200
    assert client.post(BASE + item["id"] + "/vote", headers=tenant.auth("admin")).status_code == 200


def test_list_filters(client, tenant):
    bug = submit(client, tenant, feedback_type="bug", priority="urgent", source="cli", tags=["auth"])
    feature = submit(client, tenant, feedback_type="feature", summary="Add dark mode support",
                     description="Please add a dark mode option")
    submit(client, tenant, role="admin", feedback_type="docs", summary="Typo in the guide")

    def ids(query: str, role: str = "member") -> set[str]:
        response = client.get(BASE + query, headers=tenant.auth(role))
        assert response.status_code == 200, response.get_json()
        return {i["id"] for i in response.get_json()["items"]}

    assert ids("?type=bug") == {bug["id"]}
    assert ids("?priority=urgent") == {bug["id"]}
    assert ids("?source=cli") == {bug["id"]}
    assert ids("?tag=auth") == {bug["id"]}
    assert ids("?tag=AUTH") == set()
    assert ids("?status=new") == ids("") and len(ids("")) == 3
    assert ids("?q=dark%20mo") == {feature["id"]}
    assert ids("?q=dark%20nothing") == set()
    assert ids("?mine=true") == {bug["id"], feature["id"]}
    assert len(ids("?mine=true", role="admin")) == 1


def test_list_sorts_and_paginates_without_gaps(client, tenant):
    made = [submit(client, tenant, summary=f"item {n}", priority=p)
            for n, p in enumerate(["low", "urgent", "medium", "high", "low", "urgent", "medium"])]
    client.post(BASE + made[2]["id"] + "/vote/", headers=tenant.auth("admin"))
    client.post(BASE + made[2]["id"] + "/vote/", headers=tenant.auth("member"))
    client.post(BASE + made[4]["id"] + "/vote/", headers=tenant.auth("member"))

    def walk(sort: str) -> list[dict]:
        seen, url = [], f"{BASE}?sort={sort}&limit=3"
        while url:
            response = client.get(url, headers=tenant.auth())
            page = response.get_json()
            assert len(page["items"]) <= 3
            seen += page["items"]
            if page["next"]:
                link = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["Link"]).group(1)
                assert f"cursor={page['next']}" in link and f"sort={sort}" in link
                url = link  # the Link header leads to the next page
            else:
                assert "Link" not in response.headers
                url = None
        return seen

    newest = walk("newest")
    assert [i["id"] for i in newest] == [i["id"] for i in reversed(made)]
    assert [i["id"] for i in walk("oldest")] == [i["id"] for i in made]
    votes = walk("votes")
    assert [i["vote_count"] for i in votes[:2]] == [2, 1] and votes[0]["id"] == made[2]["id"]
    ranks = {"urgent": 4, "high": 3, "medium": 2, "low": 1}
    by_priority = [ranks[i["priority"]] for i in walk("priority")]
    assert by_priority == sorted(by_priority, reverse=True) and len(by_priority) == 7


def test_list_rejects_bad_parameters(client, tenant):
    for query in ("?limit=0", "?limit=101", "?sort=random", "?status=open", "?bogus=1", "?cursor=abc",
                  "?tenant_id=not-a-uuid"):
        response = client.get(BASE + query, headers=tenant.auth())
        assert response.status_code == 422, query
        assert response.content_type == "application/problem+json"


def test_a_cursor_of_no_visible_item_is_422_and_the_same_for_another_tenants(client, tenant, other_tenant):
    submit(client, tenant)
    theirs = submit(client, other_tenant)
    answers = [client.get(BASE + f"?cursor={cursor}", headers=tenant.auth()) for cursor in (uuid.uuid4(), theirs["id"])]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].get_json()["detail"] == answers[1].get_json()["detail"]  # nothing tells the two apart
    assert answers[0].get_json()["errors"][0]["field"] == "cursor"


def test_submitter_edits_own_new_item(client, tenant):
    item = submit(client, tenant)
    response = client.patch(BASE + item["id"] + "/", headers=tenant.auth(),
                            json={"summary": "Login fails with Okta", "rating": 2, "tags": ["okta"],
                                  "context": {"os": "linux"}, "description": "More"})
    assert response.status_code == 200, response.get_json()
    edited = response.get_json()
    assert (edited["summary"], edited["rating"], edited["tags"]) == ("Login fails with Okta", 2, ["okta"])
    assert edited["updated_at"] > item["updated_at"]
    assert client.patch(BASE + item["id"] + "/", headers=tenant.auth(), json={"rating": None}).get_json()["rating"] is None


def test_submitter_may_not_change_triage_fields(client, tenant):
    item = submit(client, tenant)
    for field, value in (("priority", "urgent"), ("feedback_type", "ux")):
        response = client.patch(BASE + item["id"] + "/", headers=tenant.auth(), json={field: value})
        assert response.status_code == 403
        assert response.get_json()["errors"][0]["field"] == field
    assert client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json()["priority"] == "medium"


def test_other_member_may_not_edit(client, tenant):
    item = submit(client, tenant)
    other = {"Authorization": f"Bearer {tenant.other_member}"}
    assert client.patch(BASE + item["id"] + "/", headers=other, json={"summary": "mine now"}).status_code == 403


def test_admin_changes_type_priority_tags(client, tenant):
    item = submit(client, tenant)
    response = client.patch(BASE + item["id"] + "/", headers=tenant.auth("admin"),
                            json={"feedback_type": "performance", "priority": "urgent", "tags": ["p1"]})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["feedback_type"], body["priority"], body["tags"]) == ("performance", "urgent", ["p1"])
    # ...but not the submitter's words.
    assert client.patch(BASE + item["id"] + "/", headers=tenant.auth("admin"),
                        json={"summary": "x"}).status_code == 403


def test_submitter_edit_closes_once_item_moves_on(client, tenant, database_url):
    item = submit(client, tenant)

    sql(database_url, "UPDATE feedback SET status = 'acknowledged' WHERE id = :id", id=uuid.UUID(item["id"]))
    response = client.patch(BASE + item["id"] + "/", headers=tenant.auth(), json={"summary": "late"})
    assert response.status_code == 409
    assert client.patch(BASE + item["id"] + "/", headers=tenant.auth("admin"),
                        json={"priority": "low"}).status_code == 200


def test_patch_refuses_other_fields_and_changes_nothing(client, tenant):
    item = submit(client, tenant)
    for body in ({"status": "completed"}, {"tenant_id": str(uuid.uuid4())}, {"vote_count": 99},
                 {"github_issue_url": "https://github.com/a/b/issues/1"}, {"summary": "ok", "status": "new"},
                 {"summary": None}, {}, {"rating": 6}, {"rating": "3"}):
        response = client.patch(BASE + item["id"] + "/", headers=tenant.auth("admin"), json=body)
        assert response.status_code == 422, body
    assert client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json() == item


def test_votes_are_one_per_user_and_idempotent(client, tenant):
    item = submit(client, tenant)
    url = BASE + item["id"] + "/vote/"
    assert client.post(url, headers=tenant.auth()).get_json() == {"id": item["id"], "vote_count": 1, "voted": True}
    assert client.post(url, headers=tenant.auth()).get_json()["vote_count"] == 1
    assert client.post(url, headers=tenant.auth("admin")).get_json()["vote_count"] == 2
    assert client.get(BASE + item["id"] + "/", headers=tenant.auth()).get_json()["voted"] is True
    assert client.delete(url, headers=tenant.auth()).get_json() == {"id": item["id"], "vote_count": 1, "voted": False}
    assert client.delete(url, headers=tenant.auth()).get_json()["vote_count"] == 1


def test_votes_close_on_finished_items(client, tenant, database_url):

    original = submit(client, tenant)
    for status in ("completed", "declined", "duplicate"):
        item = submit(client, tenant)
        sql(database_url, "UPDATE feedback SET status = CAST(:s AS text), duplicate_of = CASE WHEN CAST(:s AS text) = 'duplicate' THEN CAST(:o AS uuid) END"
                          " WHERE id = :id", s=status, o=original["id"], id=uuid.UUID(item["id"]))
        response = client.post(BASE + item["id"] + "/vote/", headers=tenant.auth())
        assert response.status_code == 409
        assert client.delete(BASE + item["id"] + "/vote/", headers=tenant.auth()).status_code == 409


def test_anonymous_may_only_submit(client, tenant):
    item = submit(client, tenant)
    key = {"X-Tenant-Key": tenant.intake_key}
    assert client.get(BASE, headers=key).status_code == 401
    assert client.get(BASE + item["id"] + "/", headers=key).status_code == 401
    assert client.post(BASE + item["id"] + "/vote/", headers=key).status_code == 401
    assert client.get(BASE + "stats/", headers=key).status_code == 401


def test_stats_counts_the_callers_tenant(client, tenant, other_tenant, database_url):
    submit(client, tenant, feedback_type="bug")
    submit(client, tenant, feedback_type="bug")
    done = submit(client, tenant, feedback_type="feature", priority="high")
    submit(client, other_tenant, feedback_type="ux")

    sql(database_url, "UPDATE feedback SET status = 'completed', acknowledged_at = created_at + interval '3 hours'"
                      " WHERE id = :id", id=uuid.UUID(done["id"]))
    stats = client.get(BASE + "stats/", headers=tenant.auth()).get_json()
    assert stats == {
        "total": 3,
        "by_type": {"bug": 2, "feature": 1},
        "by_status": {"new": 2, "completed": 1},
        "by_priority": {"medium": 2, "high": 1},
        "avg_response_time_hours": 3.0,
        "open_count": 2,
        "resolved_count": 1,
    }


def test_staff_see_every_tenant_or_one(client, tenant, other_tenant):
    mine = submit(client, tenant)
    theirs = submit(client, other_tenant)
    staff = tenant.auth("staff")
    everything = {i["id"] for i in client.get(BASE + "?limit=100", headers=staff).get_json()["items"]}
    assert {mine["id"], theirs["id"]} <= everything
    one = client.get(BASE + f"?tenant_id={other_tenant.id}", headers=staff).get_json()["items"]
    assert {i["tenant_id"] for i in one} == {str(other_tenant.id)}
    assert client.get(BASE + theirs["id"] + "/", headers=staff).status_code == 200
    stats = client.get(BASE + f"stats/?tenant_id={other_tenant.id}", headers=staff).get_json()
    assert stats["total"] == 1
    # Nobody else may name a tenant.
    assert client.get(BASE + f"?tenant_id={other_tenant.id}", headers=tenant.auth("admin")).status_code == 403


def test_submitter_email_is_hidden_from_other_members(client, tenant):
    item = submit(client, tenant, role="admin", submitter_email="lead@example.com")
    assert item["submitter_email"] == "lead@example.com"
    other = {"Authorization": f"Bearer {tenant.other_member}"}
    assert client.get(BASE + item["id"] + "/", headers=other).get_json()["submitter_email"] is None
    assert client.get(BASE + item["id"] + "/", headers=tenant.auth("admin")).get_json()["submitter_email"] == "lead@example.com"


def test_openapi_lists_every_route(client):
    doc = client.get(BASE + "openapi.json").get_json()
    ops = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert ops == {
        ("/api/v1/feedback/", "get"), ("/api/v1/feedback/", "post"),
        ("/api/v1/feedback/stats/", "get"), ("/api/v1/feedback/openapi.json", "get"),
        ("/api/v1/feedback/{id}/", "get"), ("/api/v1/feedback/{id}/", "patch"),
        ("/api/v1/feedback/{id}/vote/", "post"), ("/api/v1/feedback/{id}/vote/", "delete"),
        ("/api/v1/feedback/mail/opt-out/", "get"), ("/api/v1/feedback/mail/opt-out/", "post"),
        ("/api/v1/feedback/follow/", "get"), ("/api/v1/feedback/widget.js", "get"),
        ("/api/v1/feedback/widget.{version}.js", "get"),
    }
    assert {"FeedbackCreate", "FeedbackUpdate", "FeedbackOut", "Problem"} <= set(doc["components"]["schemas"])
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_route_states_a_policy(client):
    """Each operation says who may call it; only the document and the widget's script are
    public, and the opt-out and status page links are authorized by the signed token they require."""
    doc = client.get(BASE + "openapi.json").get_json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert "security" in op, (method, path)
            if path.endswith(("openapi.json", ".js")):
                assert op["security"] == []
            elif path.endswith(("/mail/opt-out/", "/follow/")):
                assert op["security"] == []
                assert [(p["name"], p["in"], p["required"]) for p in op["parameters"]] == [("token", "query", True)]
            else:
                assert {"bearer": []} in op["security"], (method, path)
                assert ({} in op["security"]) == ((path, method) == ("/api/v1/feedback/", "post"))
