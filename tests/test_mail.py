"""Mails to submitters: written to the outbox with the change, sent once over real SMTP."""
from __future__ import annotations

import concurrent.futures
import hashlib
import email
import email.policy
import hmac
import json
import re
import time
import urllib.parse
import uuid

import pytest
import requests
from helpers import BASE, SMTP_PASSWORD, make_due, manage, outbox_rows, sql, submit, wait_until
from events import deliverer, push
from live import LiveServer
from standins.smtp import Mailbox

from shared import db, mail_delivery, mail_ids, outbox, signing, tenants



@pytest.fixture(scope="module")
def notify_app(function_app):
    return function_app("notify")


@pytest.fixture
def notify(notify_app):
    """Deliver an outbox event to the notify function as Pub/Sub would; the status."""
    return deliverer(notify_app, "mail")


def _events(database_url, item_id: str) -> list[dict]:
    return outbox_rows(database_url, item_id, "mail")


def _anonymous_item(client, tenant, email: str = "ada@example.com") -> dict:
    return submit(client, tenant, role="admin", submitter_email=email, submitter_name="Ada")


def _one_event(database_url, item_id: str) -> dict:
    events = _events(database_url, item_id)
    assert len(events) == 1, events
    return events[0]


def test_a_public_response_mails_the_submitter_exactly_once(client, admin, tenant, database_url, mailbox, notify):
    item = _anonymous_item(client, tenant)
    response = admin.post(BASE + item["id"] + "/respond/", json={"response": "Fixed in 2.4.1."},
                          headers=tenant.auth("admin"))
    assert response.status_code == 200
    event = _one_event(database_url, item["id"])
    assert (event["kind"], event["outcome"]) == ("mail", None)

    assert notify(event["id"]) == 200
    assert notify(event["id"]) == 200  # redelivered: nothing left to send
    [message] = mailbox.wait_for(1)
    assert mailbox.wait_for(2, timeout=0.5) == [message]
    assert message["To"] == "Ada <ada@example.com>"
    assert message["Subject"] == "Update on your feedback: Login fails with SAML SSO"
    # The item, named so that a reply finds it, with a tag only our key makes.
    item_in_22 = signing.b64(uuid.UUID(item["id"]).bytes)
    assert re.fullmatch(rf"<feedback-event-{event['id']}\.{re.escape(item_in_22)}\.[\w-]{{16}}@example\.com>",
                        message["Message-ID"]), message["Message-ID"]
    with db.transaction() as tx:
        assert mail_ids.items_named(tx, message["Message-ID"]) == [uuid.UUID(item["id"])]
        forged = message["Message-ID"].replace(f"feedback-event-{event['id']}.", f"feedback-event-{event['id'] + 1}.")
        assert mail_ids.items_named(tx, forged) == []  # the tag covers the mail too
    body = message.get_content()
    assert "Fixed in 2.4.1." in body and "Status: new" in body
    assert message["List-Unsubscribe"].startswith("<https://feedback.example.com/api/v1/feedback/mail/opt-out/?token=")
    assert _one_event(database_url, item["id"])["outcome"] == "sent"


@pytest.mark.parametrize("path, body, subject, text", [
    ("/complete/", {"response": "Shipped."}, "Done: ", "Shipped."),
    ("/complete/", {}, "Done: ", "Status: completed"),
    ("/status/", {"status": "declined", "reason": "Out of scope for the pilot."}, "Not planned: ",
     "Out of scope for the pilot."),
    ("/respond/", {"response": "Planned for May.", "status": "planned"}, "Update on your feedback: ",
     "Planned for May."),
])
def test_each_telling_change_writes_one_mail(client, admin, tenant, database_url, mailbox, notify,
                                             path, body, subject, text):
    item = _anonymous_item(client, tenant)
    assert admin.post(BASE + item["id"] + path, json=body, headers=tenant.auth("admin")).status_code == 200
    event = _one_event(database_url, item["id"])
    assert notify(event["id"]) == 200
    [message] = mailbox.wait_for(1)
    assert message["Subject"].startswith(subject)
    assert text in message.get_content()


@pytest.mark.parametrize("path, body", [
    ("/acknowledge/", None),
    ("/status/", {"status": "in_review"}),
    ("/assign/", {"assignee_email": "dev@example.com"}),
    ("/notes/", {"body": "internal"}),
    ("/github/", {"url": "https://github.com/acme/app/issues/7"}),
])
def test_changes_the_submitter_is_not_told_of_write_no_mail(client, admin, tenant, database_url, path, body):
    tenants.configure(tenant.id, github_repository="acme/app")  # the repository its admins may link
    item = _anonymous_item(client, tenant)
    response = admin.post(BASE + item["id"] + path, json=body, headers=tenant.auth("admin"))
    assert response.status_code in (200, 201)
    assert _events(database_url, item["id"]) == []


def test_an_item_without_an_address_gets_no_mail(client, admin, tenant, database_url):
    item = submit(client, tenant)  # an API key carries no address
    assert item["submitter_email"] is None
    admin.post(BASE + item["id"] + "/complete/", json={"response": "ok"}, headers=tenant.auth("admin"))
    assert _events(database_url, item["id"]) == []


def test_a_refused_change_writes_no_mail(client, admin, tenant, database_url):
    item = _anonymous_item(client, tenant)
    auth = tenant.auth("admin")
    assert admin.post(BASE + item["id"] + "/status/", json={"status": "declined"}, headers=auth).status_code == 422
    assert admin.post(BASE + item["id"] + "/complete/", json={}, headers=auth).status_code == 200
    assert admin.post(BASE + item["id"] + "/respond/", json={"response": "again", "status": "planned"},
                      headers=auth).status_code == 409
    assert [e["payload"]["notice"] for e in _events(database_url, item["id"])] == ["completed"]


def test_a_failed_send_is_retried_and_sent_once(client, admin, tenant, database_url, mailbox, notify):
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/respond/", json={"response": "Soon."}, headers=tenant.auth("admin"))
    event = _one_event(database_url, item["id"])
    mailbox.stop()
    assert notify(event["id"]) == 500  # Pub/Sub will deliver it again
    failed = _one_event(database_url, item["id"])
    assert (failed["attempts"], failed["outcome"]) == (1, None)
    assert "ConnectionRefusedError" in failed["last_error"]

    mailbox.start()
    assert notify(event["id"]) == 200  # redelivered within its backoff: left for later
    assert mailbox.wait_for(1, timeout=0.3) == []
    make_due(database_url, event["id"])
    assert notify(event["id"]) == 200
    assert notify(event["id"]) == 200
    assert len(mailbox.wait_for(2, timeout=1)) == 1
    assert _one_event(database_url, item["id"])["outcome"] == "sent"


def test_concurrent_deliveries_send_one_mail(client, admin, tenant, database_url, mailbox, notify):
    mailbox.data_delay = 0.5
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/respond/", json={"response": "Soon."}, headers=tenant.auth("admin"))
    event = _one_event(database_url, item["id"])
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: notify(event["id"]), range(8)))
    assert statuses == [200] * 8
    assert len(mailbox.wait_for(2, timeout=1)) == 1


def test_a_refused_address_is_given_up_not_retried(client, admin, tenant, database_url, mailbox, notify):
    mailbox.rcpt_reply = "550 5.1.1 No such user"
    item = _anonymous_item(client, tenant, "nobody@example.com")
    admin.post(BASE + item["id"] + "/complete/", json={}, headers=tenant.auth("admin"))
    event = _one_event(database_url, item["id"])
    assert notify(event["id"]) == 200  # acknowledged: retrying cannot help
    dead = _one_event(database_url, item["id"])
    assert dead["outcome"] == "dead" and "550" in dead["last_error"]
    assert mailbox.messages == []


def test_the_opt_out_link_stops_further_mail(client, admin, tenant, other_tenant, database_url, mailbox, notify):
    item = _anonymous_item(client, tenant, "Grace@Example.com")
    auth = tenant.auth("admin")
    admin.post(BASE + item["id"] + "/respond/", json={"response": "Looking."}, headers=auth)
    notify(_one_event(database_url, item["id"])["id"])
    [message] = mailbox.wait_for(1)
    link = re.search(r"<https://feedback\.example\.com(\S+)>", message["List-Unsubscribe"]).group(1)

    page = client.get(link)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "grace@example.com" in page.get_data(as_text=True) and 'method="post"' in page.get_data(as_text=True)
    assert _opted_out(database_url) == []  # opening the link (or a scanner fetching it) changes nothing

    token = link.split("token=", 1)[1]
    body, signature, key_id = urllib.parse.unquote(token).split(".")
    tampered = f"{body}.{signature[:-2] + ('AA' if not signature.endswith('AA') else 'BB')}.{key_id}"
    assert client.post(BASE + "mail/opt-out/?token=" + tampered).status_code == 403
    assert client.post(BASE + "mail/opt-out/?token=forged.token").status_code == 403
    # One-click, as a mail client sends it (RFC 8058).
    done = client.post(link, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200
    assert client.post(link).status_code == 200  # again: still opted out, once
    assert _opted_out(database_url) == [[tenant.id, "grace@example.com"]]

    done = admin.post(BASE + item["id"] + "/complete/", json={"response": "Done."}, headers=auth)
    assert done.headers["X-Submitter-Mail"] == "none: the submitter opted out of these mails"
    assert len(_events(database_url, item["id"])) == 1  # no mail row is written for an opted-out address
    assert len(mailbox.wait_for(2, timeout=0.5)) == 1

    # The opt-out is the tenant's: the same address still hears from another tenant.
    other = _anonymous_item(client, other_tenant, "grace@example.com")
    admin.post(BASE + other["id"] + "/complete/", json={}, headers=other_tenant.auth("admin"))
    notify(_one_event(database_url, other["id"])["id"])
    assert len(mailbox.wait_for(2)) == 2


def _opted_out(database_url) -> list[list]:
    return sql(database_url, "SELECT tenant_id, email FROM mail_opt_outs WHERE email = 'grace@example.com'"
                             " ORDER BY created_at")


def test_a_rotated_signing_key_keeps_earlier_links_working_for_a_grace_period(client, admin, tenant, database_url,
                                                                             mailbox, notify, env):
    env(SECRET_TTL_SECONDS="0")  # every process reads the newest key at once

    def mailed_link() -> str:
        item = _anonymous_item(client, tenant, f"{uuid.uuid4().hex[:8]}@example.com")
        admin.post(BASE + item["id"] + "/respond/", json={"response": "Seen."}, headers=tenant.auth("admin"))
        notify(_one_event(database_url, item["id"])["id"])
        message = mailbox.wait_for(len(mailbox.messages) + 1)[-1]
        return re.search(r"<https://feedback\.example\.com(\S+)>", message["List-Unsubscribe"]).group(1)

    before = mailed_link()
    code, rotated = manage(database_url, "signing-keys", "rotate", "--json")
    new_key = rotated["mail_link"]["key_id"]
    assert code == 0 and new_key.startswith("mail_link-")
    after = mailed_link()
    # Links mailed before itsdangerous signed them: from before key ids (body.signature), signed
    # with the first key, and naming the key that signed them (body.signature.key_id).
    first_key = bytes(sql(database_url, "SELECT key FROM signing_keys WHERE name = 'mail_link'")[0][0])
    body = signing.b64(f"{tenant.id}\nold@example.com".encode())
    legacy = f"{BASE}mail/opt-out/?token={body}.{signing.b64(hmac.new(first_key, body.encode(), hashlib.sha256).digest())}"
    named = legacy + ".mail_link"
    for link in (before, after, legacy, named):
        assert client.get(link).status_code == 200, link
    assert "old@example.com" in client.get(named).get_data(as_text=True)
    assert client.get(legacy + ".mail_link-0").status_code == 403  # a key that never was
    sql(database_url, "UPDATE signing_keys SET retired_at = now() - make_interval(days => :d)"
                      " WHERE retired_at IS NOT NULL", d=mail_ids.GRACE_DAYS + 1)
    for link in (before, legacy, named):
        assert client.get(link).status_code == 403, link
    assert client.get(after).status_code == 200


def test_without_smtp_the_mail_is_written_to_the_log(client, admin, tenant, database_url, env, notify, capfd):
    env(SMTP_HOST="", PUBLIC_BASE_URL="https://feedback.example.com")
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/respond/", json={"response": "Logged answer."}, headers=tenant.auth("admin"))
    event = _one_event(database_url, item["id"])
    capfd.readouterr()
    assert notify(event["id"]) == 200
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    [logged] = [line for line in lines if line["message"] == "mail (no SMTP configured)"]
    # Neither the address nor a working opt-out link reaches the log; the subject tells mails apart.
    assert logged["to"] == "a***@example.com" and logged["subject"].startswith("Update on your feedback")
    assert "body" not in logged and "ada@" not in json.dumps(lines) and "token=" not in json.dumps(lines)
    assert _one_event(database_url, item["id"])["outcome"] == "sent"


def test_the_demos_mailbox_is_a_folder_the_log_names(client, admin, tenant, database_url, env, notify, capfd,
                                                    tmp_path):
    env(SMTP_HOST="", PUBLIC_BASE_URL="https://feedback.example.com", MAIL_DIR=str(tmp_path / "mail"))
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/respond/", json={"response": "Kept answer."}, headers=tenant.auth("admin"))
    capfd.readouterr()
    event = _one_event(database_url, item["id"])
    assert notify(event["id"]) == 200
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    [logged] = [line for line in lines if line["message"] == "mail (no SMTP configured)"]
    kept = email.message_from_bytes((tmp_path / "mail" / f"{event['id']}.eml").read_bytes(),
                                    policy=email.policy.default)
    assert logged["file"] == str(tmp_path / "mail" / f"{event['id']}.eml") and "body" not in logged
    assert kept["To"] == "Ada <ada@example.com>" and "Kept answer." in kept.get_content()
    assert "token=" in kept.get_content() and "token=" not in json.dumps(lines)  # the links, in the file only


def test_without_a_public_url_mail_waits_rather_than_go_without_its_link(client, admin, tenant, database_url,
                                                                         env, notify):
    env(PUBLIC_BASE_URL="")
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/respond/", json={"response": "x"}, headers=tenant.auth("admin"))
    event = _one_event(database_url, item["id"])
    assert notify(event["id"]) == 500
    assert "PUBLIC_BASE_URL" in _one_event(database_url, item["id"])["last_error"]


def test_the_smtp_password_is_read_from_secret_manager_and_cached(client, admin, tenant, database_url, mailbox,
                                                                   notify, secret_store, env, capfd):
    name = mail_delivery.settings().smtp_password_secret.removesuffix("/versions/latest")
    for _ in range(2):
        item = _anonymous_item(client, tenant)
        admin.post(BASE + item["id"] + "/complete/", json={}, headers=tenant.auth("admin"))
        assert notify(_one_event(database_url, item["id"])["id"]) == 200
    assert len(mailbox.wait_for(2)) == 2 and mailbox.logins == 2
    assert secret_store.reads[name] == 1  # one read serves both, within the TTL

    # Rotated on the server only: the login is refused, the cached value dropped,
    # and the next attempt reads the new version.
    mailbox.password = "rotated-pass"
    secret_store.add_version("p", name.rsplit("/", 1)[1], "rotated-pass")
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/complete/", json={}, headers=tenant.auth("admin"))
    event = _one_event(database_url, item["id"])
    assert notify(event["id"]) == 500
    make_due(database_url, event["id"])
    assert notify(event["id"]) == 200
    assert len(mailbox.wait_for(3)) == 3 and secret_store.reads[name] == 2
    # Neither value reached a log line or the outbox.
    logged = capfd.readouterr().err
    assert SMTP_PASSWORD not in logged and "rotated-pass" not in logged
    assert "rotated-pass" not in str(_events(database_url, item["id"]))


def test_a_missing_secret_is_a_retried_failure_that_names_no_value(client, admin, tenant, database_url, mailbox,
                                                                    notify, env):
    env(SMTP_PASSWORD_SECRET="projects/p/secrets/missing/versions/latest")
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/complete/", json={}, headers=tenant.auth("admin"))
    assert notify(_one_event(database_url, item["id"])["id"]) == 500
    error = _one_event(database_url, item["id"])["last_error"]
    assert "projects/p/secrets/missing/versions/latest could not be read (404)" in error
    assert mailbox.messages == []


def test_the_sweep_republishes_what_was_not_delivered(client, admin, tenant, database_url, mailbox, env):
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/respond/", json={"response": "Swept."}, headers=tenant.auth("admin"))
    event = _one_event(database_url, item["id"])
    assert outbox.sweep() == [] or all(e.id != event["id"] for e in outbox.sweep())  # not due yet
    make_due(database_url, event["id"])
    swept = outbox.sweep()
    assert outbox.Event(event["id"], "mail") in swept
    assert event["id"] not in [e.id for e in outbox.sweep()]  # pushed back by its backoff
    # What the event function then does with it:
    assert outbox.deliver(event["id"], {"mail": mail_delivery.send_notice}) == "sent"
    assert outbox.deliver(event["id"], {"mail": mail_delivery.send_notice}) == "none"
    assert len(mailbox.wait_for(2, timeout=0.5)) == 1


def test_an_event_too_old_to_send_is_given_up(client, admin, tenant, database_url, mailbox):
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/respond/", json={"response": "Late."}, headers=tenant.auth("admin"))
    event = _one_event(database_url, item["id"])
    sql(database_url, "UPDATE outbox SET created_at = now() - interval '4 days' WHERE id = :id", id=event["id"])
    assert event["id"] not in [e.id for e in outbox.sweep()]
    expired = _one_event(database_url, item["id"])
    assert expired["outcome"] == "dead" and expired["last_error"].startswith("expired")
    assert outbox.deliver(event["id"], {"mail": mail_delivery.send_notice}) == "none"
    assert mailbox.messages == []


def test_the_local_server_delivers_each_mail_once_and_retries_by_its_sweep(database_url, tmp_path, secret_store):
    """`manage.py serve`: the admin's answer over HTTP reaches a real SMTP server
    through the relay and the notify function; a mail that failed is sent by the sweep."""
    box = Mailbox(tmp_path, SMTP_PASSWORD).start()
    name = secret_store.add_version("p", f"live-{uuid.uuid4().hex[:6]}", SMTP_PASSWORD)
    server = LiveServer(database_url, tmp_path / "server.log", **box.env(), SMTP_PASSWORD_SECRET=name,
                        SECRET_MANAGER_ENDPOINT=secret_store.url, LOCAL_SWEEP_SECONDS="1")
    try:
        admin = {"Authorization": f"Bearer {server.tokens['admin']}"}
        # The server's sweep sends any due mail of the session's database: only this one's count.
        submitter = f"lin-{uuid.uuid4().hex[:6]}@example.com"

        def mine() -> list:
            return [m for m in box.messages if m["To"] == submitter]

        item = requests.post(server.base + BASE, json={
            "feedback_type": "bug", "summary": "Export hangs", "description": "...",
            "submitter_email": submitter}, headers=admin, timeout=10).json()
        answered = requests.post(f"{server.base}{BASE}{item['id']}/respond/", json={"response": "On it."},
                                 headers=admin, timeout=10)
        assert answered.status_code == 200
        [message] = wait_until(mine, what="the answer's mail")
        assert "On it." in message.get_content()
        # The row is marked in the transaction that sent the mail, which commits just after.
        wait_until(lambda: _one_event(database_url, item["id"])["outcome"] == "sent", what="the row marked sent")

        box.stop()
        requests.post(f"{server.base}{BASE}{item['id']}/complete/", json={}, headers=admin, timeout=10)
        pending = _events(database_url, item["id"])[1]
        deadline = time.monotonic() + 15
        while _events(database_url, item["id"])[1]["attempts"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _events(database_url, item["id"])[1]["outcome"] is None
        box.start()
        make_due(database_url, pending["id"])
        wait_until(lambda: len(mine()) >= 2, what="the retried mail")
        time.sleep(2)  # and no copy of it
        assert [m["Subject"] for m in mine()][1:] == ["Done: Export hangs"]
    finally:
        assert server.stop() == 0
        box.stop()


@pytest.mark.parametrize("statement", [
    "DELETE FROM outbox",
    "UPDATE outbox SET payload = '{}'",
    "UPDATE outbox SET kind = 'github'",
    "DELETE FROM mail_opt_outs",
    "UPDATE signing_keys SET key = key",
])
def test_the_service_can_record_delivery_but_not_rewrite_or_remove_events(connection, statement):
    conn = connection()
    conn.run("BEGIN")
    conn.run("SET LOCAL ROLE pilot_feedback_app")
    conn.run("SELECT set_config('app.staff', 'on', true)")
    with pytest.raises(Exception, match="permission denied"):
        conn.run(statement)


def test_a_push_subscriptions_delivery_reaches_notify(client, admin, tenant, database_url, mailbox, notify_app):
    """What the deployment's filtered push subscription sends (tests/events.py)."""
    item = _anonymous_item(client, tenant)
    admin.post(BASE + item["id"] + "/respond/", json={"response": "Pushed."}, headers=tenant.auth("admin"))
    assert push(notify_app, _one_event(database_url, item["id"])["id"], "mail") == 200
    [message] = mailbox.wait_for(1)
    assert "Pushed." in message.get_content()
