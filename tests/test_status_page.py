"""A submitter's read-only status page: a signed link in the answer to a submission and in
every mail; its status, the public response and the dates of its changes, and nothing
about the team or anyone's address."""
from __future__ import annotations

import contextlib
import html
import http.server
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest
import requests
from itsdangerous import TimestampSigner
from events import deliverer
from helpers import BASE, item_body, manage, outbox_rows, sql

from shared import db, opt_outs, team


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

    person = team.add_person(tenant.id, f"triager-{uuid.uuid4().hex[:6]}@example.com", "Tri Ager", "admin")
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
    assert client.get(after).status_code == 200


def test_a_retired_key_is_honoured_for_its_grace_period_and_no_longer(client, tenant, database_url, env):
    env(SECRET_TTL_SECONDS="3600")  # the grace: a process may go on signing with the old key that long
    before = _anonymous(client, tenant)["status_url"]
    code, rotated = manage(database_url, "signing-keys", "rotate", "--json")
    assert code == 0 and rotated["status_link"]["retired"]
    assert client.get(before).status_code == 200  # retired, still honoured
    sql(database_url, "UPDATE signing_keys SET retired_at = now() - make_interval(secs => 3601)"
                      " WHERE retired_at IS NOT NULL AND name LIKE 'status_link%'")
    assert client.get(before).status_code == 403  # past the grace
    env(SECRET_TTL_SECONDS="0")  # this process reads the newest key again
    assert client.get(_anonymous(client, tenant)["status_url"]).status_code == 200


@contextlib.contextmanager
def _signed_days_ago(days: int) -> Iterator[None]:
    """Links made inside are signed as if `days` days ago (itsdangerous reads the clock here)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - days * 86400)
        yield


def test_a_tenant_may_let_its_status_links_expire(client, tenant, other_tenant, database_url):
    code, shown = manage(database_url, "tenants", "show", str(tenant.id), "--json")
    assert code == 0 and shown["status_link_days"] is None  # the default: links work for good
    with _signed_days_ago(3):
        old = _anonymous(client, tenant, summary="Export crashes")["status_url"]
        theirs = _anonymous(client, other_tenant)["status_url"]
    fresh = _anonymous(client, tenant)["status_url"]
    assert client.get(old).status_code == 200

    code, shown = manage(database_url, "tenants", "configure", str(tenant.id), "--status-link-days", "2", "--json")
    assert code == 0 and shown["status_link_days"] == 2
    expired = client.get(old)
    assert expired.status_code == 410 and expired.mimetype == "text/html"
    _assert_page_headers(expired)
    shown_text = _text(expired)
    assert "This link has expired" in shown_text and "work for 2 days" in shown_text
    assert "carries a fresh link" in shown_text and "Export crashes" not in shown_text
    assert client.get(fresh).status_code == 200 and client.get(theirs).status_code == 200  # a tenant's own setting

    code, shown = manage(database_url, "tenants", "configure", str(tenant.id), "--status-link-days", "0", "--json")
    assert code == 0 and shown["status_link_days"] is None and client.get(old).status_code == 200


@pytest.mark.parametrize("days", ["-1", "3651"])
def test_a_status_link_expiry_out_of_range_is_refused_and_changes_nothing(tenant, database_url, days):
    manage(database_url, "tenants", "configure", str(tenant.id), "--status-link-days", "30", "--json")
    code, refused = manage(database_url, "tenants", "configure", str(tenant.id), "--status-link-days", days, "--json")
    assert code == 1 and "1 to 3650 days" in refused["error"]
    assert manage(database_url, "tenants", "show", str(tenant.id), "--json")[1]["status_link_days"] == 30


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


def _assert_page_headers(response) -> None:
    """What every page opened from a mail is answered with."""
    policy = response.headers["Content-Security-Policy"]
    assert {"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} <= set(
        policy.split("; ")) and re.search(r"style-src 'sha256-[A-Za-z0-9+/]+={0,2}'", policy)
    assert [response.headers[name] for name in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                                                 "Cache-Control")] == ["nosniff", "no-referrer", "DENY", "no-store"]


def test_the_pages_from_a_mail_forbid_framing_sniffing_and_referrers(client, tenant, database_url):
    item = _anonymous(client, tenant)
    with db.transaction() as tx:
        token = opt_outs.sign(tx, tenant.id, "ada@example.com")
    opt_out = BASE + "mail/opt-out/?token=" + urllib.parse.quote(token)
    for response in (client.get(item["status_url"]), client.get(opt_out), client.post(opt_out)):
        assert response.status_code == 200 and response.mimetype == "text/html"
        _assert_page_headers(response)
        assert " style=" not in response.get_data(as_text=True)  # the policy admits the one style sheet only


def test_every_answer_of_the_api_forbids_framing_and_sniffing(client, tenant):
    for response in (client.get(BASE, headers=tenant.auth()), client.get(BASE + "follow/?token=not.a.token"),
                     client.get(BASE + "widget.js"), client.get("/api/v1/nowhere")):
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert (response.headers["X-Content-Type-Options"], response.headers["Referrer-Policy"]) == (
            "nosniff", "no-referrer")


@contextlib.contextmanager
def _framing(url: str) -> Iterator[str]:
    """A page, served at another origin (localhost, not 127.0.0.1), that frames `url`; its address."""
    page = f'<!doctype html><title>Framer</title><iframe src="{html.escape(url)}"></iframe>'.encode()

    class Framer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Framer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def chromium():
    import browser

    browser.require_chromium()
    yield from browser.launch()


def test_in_a_browser_the_pages_keep_their_style_and_form_and_no_site_frames_them(chromium, live):
    made = requests.post(live.base + BASE, json=item_body(submitter_email="ada@example.com"),
                         headers={"X-Tenant-Key": live.intake_key}, timeout=5).json()
    with db.transaction() as tx:
        token = opt_outs.sign(tx, uuid.UUID(live.tenant_id), "ada@example.com")
    context = chromium.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)
    try:
        page.goto(made["status_url"])
        assert page.eval_on_selector("body", "b => getComputedStyle(b).maxWidth") == "576px"  # 36rem: styled
        page.goto(f"{live.base}{BASE}mail/opt-out/?token={urllib.parse.quote(token)}")
        page.click("button")
        assert page.text_content("h1") == "Done" and violations == []

        with _framing(made["status_url"]) as framer:  # a page of another site
            page.goto(framer)  # done when its frame is
        [framed] = page.frames[1:]
        assert "Your feedback" not in framed.content()
    finally:
        context.close()


def test_a_status_link_mailed_before_links_told_their_time_still_opens(client, tenant, database_url):
    """Links of the form before itsdangerous (BODY.HMAC.KEY) keep working while their key is
    honoured; where the tenant lets links expire, such a link (of unknown age) counts as old."""
    import base64
    import hashlib
    import hmac as hmac_

    item = _anonymous(client, tenant)
    [[name, key]] = sql(database_url, "SELECT name, key FROM signing_keys WHERE name LIKE 'status_link%'"
                                      " AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1")
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    body = b64(uuid.UUID(str(tenant.id)).bytes + uuid.UUID(item["id"]).bytes)
    earlier = f"{body}.{b64(hmac_.digest(bytes(key), body.encode(), hashlib.sha256))}.{name}"
    url = item["status_url"].split("?", 1)[0] + "?token=" + earlier
    assert client.get(url).status_code == 200
    forged = earlier[:len(body) + 1] + ("A" if earlier[len(body) + 1] != "A" else "B") + earlier[len(body) + 2:]
    assert client.get(url.replace(earlier, forged)).status_code == 403
    code, _ = manage(database_url, "tenants", "configure", str(tenant.id), "--status-link-days", "30", "--json")
    try:
        assert code == 0 and client.get(url).status_code == 410
    finally:
        manage(database_url, "tenants", "configure", str(tenant.id), "--status-link-days", "0", "--json")
