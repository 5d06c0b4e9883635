"""Errors a client can act on: each says what was wrong and what to send instead."""
from __future__ import annotations

import json

from helpers import BASE, item_body, outbox_rows, sql, submit

from shared import tenants


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    return response.get_json()


def test_a_pattern_is_explained_in_words_never_as_an_expression(client, admin, tenant):
    doc = _problem(client.post(BASE, json=item_body(summary="   "), headers=tenant.auth()), 422)
    assert doc["errors"][0]["message"] == "Must contain a character other than white space (and no NUL)"
    item = submit(client, tenant)
    doc = _problem(admin.post(f"{BASE}{item['id']}/github/", json={"url": "https://github.com/acme/app/pull/7"},
                              headers=tenant.auth("staff")), 422)
    assert doc["errors"][0]["message"].startswith("Must be an issue's page: https://HOST/")
    doc = _problem(client.post(BASE, json=item_body(submitter_email="not an address"), headers=tenant.auth()), 422)
    for answer in (doc, _problem(client.post(BASE, json=item_body(tags=["\x01"]), headers=tenant.auth()), 422)):
        assert "^" not in json.dumps(answer) and "[A-Za-z" not in json.dumps(answer)


def test_invalid_json_says_where(client, tenant):
    doc = _problem(client.post(BASE, data='{"feedback_type": "bug", "summary": }', content_type="application/json",
                               headers=tenant.auth()), 400)
    assert doc["detail"].startswith("The body is not valid JSON:") and "line 1 column 37" in doc["detail"]


def test_an_id_that_is_not_a_uuid_is_named(client, admin, tenant):
    doc = _problem(client.get(BASE + "123/", headers=tenant.auth()), 404)
    assert "must be a UUID" in doc["detail"] and doc["errors"][0]["field"] == "id"
    _problem(admin.post(BASE + "123/acknowledge/", headers=tenant.auth("admin")), 404)
    doc = _problem(client.get("/api/v1/nothing/here/", headers=tenant.auth()), 404)
    assert doc["detail"] == "No route for /api/v1/nothing/here/."


def test_the_bodys_name_for_a_filter_hints_at_the_lists(client, tenant):
    doc = _problem(client.get(BASE + "?feedback_type=bug", headers=tenant.auth()), 422)
    assert "`type`" in doc["errors"][0]["message"]


def test_an_optional_body_may_be_left_out(client, admin, tenant):
    item = submit(client, tenant)
    done = admin.post(f"{BASE}{item['id']}/complete/", headers=tenant.auth("admin"))
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    other = submit(client, tenant)
    assert admin.post(f"{BASE}{other['id']}/assign/", headers=tenant.auth("admin")).status_code == 200
    # A body that is required still is.
    _problem(admin.post(f"{BASE}{other['id']}/respond/", headers=tenant.auth("admin")), 415)


def test_a_preflight_from_an_origin_not_allowed_says_which_setting_allows_it(client, env):
    env(CORS_ALLOWED_ORIGINS="https://app.example.com")
    doc = _problem(client.options(BASE, headers={"Origin": "https://evil.example.com",
                                                 "Access-Control-Request-Method": "POST"}), 403)
    assert "CORS_ALLOWED_ORIGINS" in doc["detail"] and "https://evil.example.com" in doc["detail"]


def test_localhost_on_any_port_may_be_allowed_as_the_demo_does(client, env):
    env(CORS_ALLOWED_ORIGINS="http://localhost:*,http://127.0.0.1:*")
    for origin in ("http://localhost:5173", "http://127.0.0.1:3000"):
        response = client.options(BASE, headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert response.status_code == 204 and response.headers["Access-Control-Allow-Origin"] == origin
    refused = client.options(BASE, headers={"Origin": "http://localhost.evil.com:80",
                                            "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 403


def test_asking_for_a_github_issue_with_no_repository_is_409_with_the_reason(client, admin, tenant, env,
                                                                               database_url):
    env(GITHUB_REPOSITORY="")
    item = submit(client, tenant)
    doc = _problem(admin.post(f"{BASE}{item['id']}/github/issue/", headers=tenant.auth("admin")), 409)
    assert "--github-repository" in doc["detail"] and "GITHUB_REPOSITORY" in doc["detail"]
    assert outbox_rows(database_url, item["id"], "github") == []
    tenants.configure(tenant.id, github_repository="acme/app")
    assert admin.post(f"{BASE}{item['id']}/github/issue/", headers=tenant.auth("admin")).status_code == 202


def test_each_triage_change_says_whether_it_mailed_the_submitter(client, admin, tenant, database_url, env):
    env(CORS_ALLOWED_ORIGINS="https://app.example.com")  # and a browser may read it
    auth = tenant.auth("admin")
    with_address = submit(client, tenant, role="admin", submitter_email="ada@example.com")
    without = submit(client, tenant)  # a member's key: no address
    mail = "X-Submitter-Mail"
    assert admin.post(f"{BASE}{with_address['id']}/acknowledge/", headers=auth).headers[mail] == (
        "none: this change is not mailed")
    answered = admin.post(f"{BASE}{with_address['id']}/respond/", json={"response": "On it."},
                          headers={**auth, "Origin": "https://app.example.com"})
    assert answered.headers[mail] == "queued" and mail in answered.headers["Access-Control-Expose-Headers"]
    assert admin.post(f"{BASE}{without['id']}/respond/", json={"response": "On it."}, headers=auth).headers[mail] == (
        "none: the item has no submitter address")


def test_a_mail_queued_before_an_opt_out_is_not_sent(client, admin, tenant, database_url):
    from shared import mail_delivery, outbox

    item = submit(client, tenant, role="admin", submitter_email="late@example.com")
    admin.post(f"{BASE}{item['id']}/respond/", json={"response": "Seen."}, headers=tenant.auth("admin"))
    sql(database_url, "INSERT INTO mail_opt_outs (tenant_id, email) VALUES (:t, 'late@example.com')", t=tenant.id)
    [row] = outbox_rows(database_url, item["id"], "mail")
    assert outbox.deliver(row["id"], {"mail": mail_delivery.send_notice}) == "skipped"
