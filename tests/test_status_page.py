"""A submitter's read-only status page: a signed link in the answer to a submission and in
every mail; its status, the public response and the dates of its changes, and nothing
about the team or anyone's address."""
from __future__ import annotations

import re
import urllib.parse
import uuid

import pytest
from events import deliverer
from helpers import BASE, item_body, manage, outbox_rows, sql

from shared import tenancy


@pytest.fixture
def notify(function_app):
    return deliverer(function_app("notify"), "mail")


def _anonymous(client, tenant, **fields) -> dict:
    body = item_body(submitter_email="ada@example.com", **fields)
    made = client.post(BASE, json=body, headers={"X-Tenant-Key": tenant.intake_key})
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def _text(page) -> str:
    """The page's words, without its markup."""
    return " ".join(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)).split())


def test_the_page_shows_status_response_and_dates_and_nothing_of_the_team(client, admin, tenant, database_url):
    item = _anonymous(client, tenant, summary="Export <b>crashes</b> on save")
    link = item["status_url"]
    assert link.startswith(BASE + "follow/?token=")
    page = client.get(link)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    assert "Export &lt;b&gt;crashes&lt;/b&gt; on save" in page.get_data(as_text=True)
    assert "Status: new" in _text(page)

    person = tenancy.add_person(tenant.id, f"triager-{uuid.uuid4().hex[:6]}@example.com", "Tri Ager", "admin")
    auth = tenant.auth("admin")
    url = BASE + item["id"]
    assert admin.post(url + "/acknowledge/", headers=auth).status_code == 200
    assert admin.post(url + "/assign/", json={"assignee_email": person["email"]}, headers=auth).status_code == 200
    assert admin.post(url + "/notes/", json={"body": "Internal: the customer is on the old plan"},
                      headers=auth).status_code == 201
    assert admin.post(url + "/respond/", json={"response": "We can reproduce it.\nA fix is coming.",
                                               "status": "in_progress"}, headers=auth).status_code == 200
    assert admin.post(url + "/status/", json={"status": "declined", "reason": "Replaced by the new exporter."},
                      headers=auth).status_code == 200

    shown = _text(client.get(link))
    assert "Status: declined" in shown
    assert "We can reproduce it. A fix is coming." in shown and "Replaced by the new exporter." in shown
    for change in ("Sent", "Acknowledged", "In progress", "Declined"):
        assert re.search(change + r": \d{2} \w+ \d{4}, \d{2}:\d{2} UTC", shown), change
    for secret in ("Internal", "old plan", person["email"], "Tri Ager", "ada@example.com", "@"):
        assert secret not in shown


def test_a_link_that_was_not_signed_here_is_refused(client, tenant):
    item = _anonymous(client, tenant)
    other = _anonymous(client, tenant)
    token = urllib.parse.unquote(item["status_url"].split("token=", 1)[1])
    body, signature, key_id = token.split(".")
    other_body = urllib.parse.unquote(other["status_url"].split("token=", 1)[1]).split(".")[0]
    for forged in (f"{other_body}.{signature}.{key_id}",  # another item's body under this signature
                   f"{body}.{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}.{key_id}",
                   f"{body}.{signature}.mail_link", f"{body}.{signature}.status_link-0", "not.a.token"):
        refused = client.get(BASE + "follow/?token=" + urllib.parse.quote(forged))
        assert refused.status_code == 403, forged
        assert "not valid" in refused.get_json()["detail"]
    assert client.get(BASE + "follow/").status_code == 422


def test_rotating_the_signing_key_ends_the_links(client, tenant, database_url, env):
    env(SECRET_TTL_SECONDS="0")  # every process reads the newest key at once
    before = _anonymous(client, tenant)["status_url"]
    assert client.get(before).status_code == 200
    code, rotated = manage(database_url, "signing-keys", "rotate", "--json")
    assert code == 0 and rotated["status_link"]["key_id"].startswith("status_link-")
    assert client.get(before).status_code == 403
    after = _anonymous(client, tenant)["status_url"]
    assert after.endswith("." + rotated["status_link"]["key_id"]) and client.get(after).status_code == 200


def test_every_mail_to_the_submitter_links_to_the_page(client, admin, tenant, database_url, mailbox, notify):
    item = _anonymous(client, tenant)
    admin.post(BASE + item["id"] + "/respond/", json={"response": "Seen, thanks."}, headers=tenant.auth("admin"))
    [event] = outbox_rows(database_url, item["id"], "mail")
    assert notify(event["id"]) == 200
    [message] = mailbox.wait_for(1)
    link = re.search(r"Follow your feedback: https://feedback\.example\.com(\S+)", message.get_content()).group(1)
    assert link.startswith(BASE + "follow/?token=")
    shown = _text(client.get(link))
    assert "Seen, thanks." in shown and "Status: new" in shown


def test_the_page_of_another_tenants_item_cannot_be_made_from_a_link(client, tenant, other_tenant, database_url):
    """The token binds tenant and item: an item id moved into another tenant's link fails its signature,
    and the item's row is read under its own tenant (row-level security)."""
    mine = _anonymous(client, tenant)
    theirs = _anonymous(client, other_tenant)
    assert "Status: new" in _text(client.get(theirs["status_url"]))
    sql(database_url, "UPDATE feedback SET summary = 'Changed' WHERE id = :id", id=mine["id"])
    assert "Changed" in _text(client.get(mine["status_url"])) and "Changed" not in _text(client.get(theirs["status_url"]))
