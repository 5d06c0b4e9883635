"""Feedback by mail: real SMTP mails to the local server's listener, and posts signed as
Mailgun's inbound webhook signs them, to the email_intake function."""
from __future__ import annotations

import hashlib
import hmac
import io
import re
import smtplib
import time
import urllib.parse
import uuid
from email.message import EmailMessage

import corpora
import pytest
import requests
from helpers import SMTP_PASSWORD, manage, outbox_rows, sql, wait_until
from live import LiveServer, free_port
from standins.smtp import Mailbox

from shared import api_keys, signin, team, tenants

MAX_MAIL = 64_000  # over the real bounces the tests send, which return the whole failed mail
SIGNING_KEY = "mailgun-signing-key-for-tests"


@pytest.fixture(scope="module")
def served(database_url, secret_store, tmp_path_factory):
    """The local server listening for SMTP, mailing its acknowledgements to a live SMTP server."""
    directory = tmp_path_factory.mktemp("intake")
    box = Mailbox(directory, SMTP_PASSWORD).start()
    name = secret_store.add_version("p", f"intake-{uuid.uuid4().hex[:6]}", SMTP_PASSWORD)
    port = free_port()
    server = LiveServer(database_url, directory / "server.log", **box.env(), SMTP_PASSWORD_SECRET=name,
                        SECRET_MANAGER_ENDPOINT=secret_store.url, INTAKE_SMTP_PORT=str(port),
                        INTAKE_MAX_MAIL_BYTES=str(MAX_MAIL))
    tenant = tenants.create_tenant(f"Acme Intake {uuid.uuid4().hex[:4]}")
    wait_until(lambda: _listening(port), what="the SMTP listener")  # started in the worker, after the HTTP server
    yield server, box, port, tenant
    assert server.stop() == 0
    box.stop()


def _listening(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5):
            return True
    except OSError:
        return False


def _mail(to: str, subject: str = "[Bug] Export crashes on save", body: str = "It fails every time.",
          sender: str = "Ana Pereira <ana@customer.example>", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _send(port: int, message: EmailMessage | bytes, to: str | None = None,
          mail_from: str = "ana@customer.example") -> tuple[int, str]:
    """The listener's answer to the mail's DATA: (code, text)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        # SMTP ends lines with CRLF (smtplib leaves bytes as they are).
        raw = message if isinstance(message, bytes) else message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        recipient = to or str(message["To"])
        smtp.mail(mail_from)
        smtp.rcpt(recipient)
        return smtp.data(raw)


def _crlf(raw: bytes) -> bytes:
    """A mail file's lines as SMTP sends them."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _items(database_url, tenant, summary: str | None = None) -> list[dict]:
    rows = sql(database_url, "SELECT id, type, summary, description, source, submitter_email, context"
                                    " FROM feedback WHERE tenant_id = :t ORDER BY created_at", t=tenant["id"])
    found = [dict(zip(("id", "type", "summary", "description", "source", "email", "context"), r)) for r in rows]
    return [f for f in found if summary is None or f["summary"] == summary]


def test_a_mail_becomes_feedback_and_its_sender_one_acknowledgement(served, database_url):
    server, box, port, tenant = served
    address = tenant["intake_email"]
    assert re.fullmatch(r"feedback\+acme-intake-[0-9a-f]{4}@localhost", address)
    code, shown = manage(database_url, "tenants", "show", tenant["id"], "--json")
    assert code == 0 and shown["intake_email"] == address

    summary = f"Export crashes on save {uuid.uuid4().hex[:4]}"
    message = _mail(address.upper(), subject=f"Bug: {summary}", body=(
        "Export stops at 10 MB.\n\nSteps: open, export.\n\n"
        "On Mon, 2 Mar 2026 at 10:00, Team <feedback@example.com> wrote:\n> an older message\n\n-- \nAna\nACME Corp\n"))
    message.add_attachment(b"x" * 1234, maintype="image", subtype="png", filename="screen.png")
    code, text = _send(port, message)
    assert code == 250 and b"created" in text, text
    [item] = _items(database_url, tenant, summary)
    assert (item["type"], item["source"], item["email"]) == ("bug", "email", "ana@customer.example")
    assert item["description"] == "Export stops at 10 MB.\n\nSteps: open, export."
    assert item["context"]["attachments"] == [{"name": "screen.png", "type": "image/png", "size": 1234}]

    [ack] = wait_until(lambda: [m for m in box.messages if summary in str(m["Subject"])], what="the acknowledgement")
    assert ack["Subject"] == f"We received your feedback: {summary}"
    assert ack["In-Reply-To"] == message["Message-ID"] and ack["Reply-To"] == address
    assert re.search(r"Follow your feedback: http://\S+/api/v1/feedback/follow/\?token=\S+", ack.get_content())
    time.sleep(0.5)
    assert len([m for m in box.messages if summary in str(m["Subject"])]) == 1

    # The submitter answers the acknowledgement, after the retention sweep has purged its outbox
    # row: a message on the item (which our Message-ID names), no new item.
    sql(database_url, "DELETE FROM outbox WHERE feedback_id = :id", id=item["id"])
    reply = _mail(address, subject=f"Re: {ack['Subject']}", body="It also happens with 5 MB.\n\n> quoted ack",
                  In_Reply_To=ack["Message-ID"], References=f"{message['Message-ID']} {ack['Message-ID']}")
    code, text = _send(port, reply)
    assert code == 250 and b"reply" in text
    assert len(_items(database_url, tenant, summary)) == 1 and len(_items(database_url, tenant, f"Re: {ack['Subject']}")) == 0
    history = requests.get(f"{server.base}/api/v1/feedback/{item['id']}/history/", timeout=10,
                           headers={"Authorization": f"Bearer {_admin_key(tenant)}"}).json()["items"]
    [said] = [e for e in history if e["action"] == "submitter_message"]
    assert said["new"]["message"] == "It also happens with 5 MB." and said["actor"] == "mail:ana@customer.example"
    # The console shows it to the team.
    person = team.add_person(uuid.UUID(tenant["id"]), f"t-{uuid.uuid4().hex[:6]}@example.com", "Tri", "admin")
    session = signin.start_session(signin.operator_link(person["email"]).rsplit("/", 1)[1])
    page = requests.get(f"{server.base}/console/items/{item['id']}/", cookies={"pf_console": session}, timeout=10)
    assert page.status_code == 200
    shown = re.sub(r"<[^>]+>", " ", page.text)
    assert "From the submitter" in shown and "It also happens with 5 MB." in shown


def _admin_key(tenant) -> str:
    return api_keys.create_key(uuid.UUID(tenant["id"]), "admin")["token"]


def test_a_reply_from_someone_else_is_new_feedback_not_a_message(served, database_url):
    server, box, port, tenant = served
    address = tenant["intake_email"]
    summary = f"Original {uuid.uuid4().hex[:4]}"
    _send(port, _mail(address, subject=summary))
    [ack] = wait_until(lambda: [m for m in box.messages if summary in str(m["Subject"])], what="the acknowledgement")
    other = _mail(address, subject=f"Re: {summary}", sender="mallory@elsewhere.example", In_Reply_To=ack["Message-ID"])
    code, text = _send(port, other)
    assert code == 250 and b"created" in text
    [item] = _items(database_url, tenant, f"Re: {summary}")
    assert item["context"]["claimed_reply"] == "it does not come from the address of the item it answers"


def test_a_reply_naming_an_item_without_our_secret_is_new_feedback(served, database_url):
    """What a status link shows (the item's id) is not enough to speak for its submitter."""
    server, box, port, tenant = served
    address = tenant["intake_email"]
    summary = f"Guarded {uuid.uuid4().hex[:4]}"
    _send(port, _mail(address, subject=summary))
    [ack] = wait_until(lambda: [m for m in box.messages if summary in str(m["Subject"])], what="the acknowledgement")
    event, item22, tag = re.fullmatch(r"<feedback-event-(\d+)\.([\w-]{22})\.([\w-]{16})@example\.com>",
                                      ack["Message-ID"]).groups()
    forged_tag = ("A" if tag[0] != "A" else "B") + tag[1:]
    for n, named in enumerate((f"<feedback-event-1.{item22}@anything.example>",  # the form of before
                               f"<feedback-event-{event}.{item22}.{forged_tag}@example.com>")):
        forged = _mail(address, subject=f"Re: {summary} {n}", In_Reply_To=named, References=named)
        code, text = _send(port, forged)
        assert code == 250 and b"created" in text, text
        [item] = _items(database_url, tenant, f"Re: {summary} {n}")
        assert item["context"]["claimed_reply"] == "it names a Message-ID of ours that was not minted here"
    history = sql(database_url, "SELECT count(*) FROM feedback_audit WHERE tenant_id = :t AND action = 'submitter_message'"
                  " AND new_value::text LIKE '%Guarded%'", t=tenant["id"])
    assert history == [[0]]


def test_prefixes_choose_the_type_and_html_becomes_text(served, database_url):
    server, _, port, tenant = served
    address = tenant["intake_email"]
    tag = uuid.uuid4().hex[:4]
    for subject, expected in ((f"[feature] Dark mode {tag}", "feature"), (f"Feature: Export {tag}", "feature"),
                              (f"Performance: Slow {tag}", "performance"), (f"Hello there {tag}", "other")):
        assert _send(port, _mail(address, subject=subject))[0] == 250
        assert [i["type"] for i in _items(database_url, tenant) if i["summary"].endswith(tag)][-1] == expected
    html = _mail(address, subject=f"Html {tag}")
    html.set_content("<html><body><p>First <b>point</b>.</p><script>alert(1)</script><p>Second&nbsp;one.</p>"
                     "<blockquote>quoted</blockquote></body></html>", subtype="html")
    assert _send(port, html)[0] == 250
    [item] = _items(database_url, tenant, f"Html {tag}")
    assert item["description"] == "First point.\n\nSecond one."


def test_what_is_refused_says_why(served, database_url):
    server, _, port, tenant = served
    before = len(_items(database_url, tenant))
    code, text = _send(port, _mail("feedback+no-such-tenant@localhost"))
    assert code == 550 and b"No feedback address" in text
    code, text = _send(port, _mail("someone@elsewhere.example"))
    assert code == 550 and b"feedback+NAME@localhost" in text
    big = _mail(tenant["intake_email"], body="x" * (MAX_MAIL + 10))
    code, text = _send(port, big)
    assert code == 552 and b"feedback mails may be at most" in text
    code, text = _send(port, b"\x00\x01 not a mail at all", to=tenant["intake_email"])
    assert code == 550 and b"could not be read as MIME" in text
    assert len(_items(database_url, tenant)) == before


def test_auto_replies_loops_and_redeliveries_make_nothing(served, database_url):
    server, box, port, tenant = served
    address = tenant["intake_email"]
    before = len(_items(database_url, tenant))
    for headers in ({"Auto_Submitted": "auto-replied"}, {"Auto_Submitted": "auto-generated; type=ooo"},
                    {"Precedence": "bulk"}, {"Precedence": "junk"}, {"X_Autoreply": "yes"}, {"X_Autorespond": "x"},
                    {"X_MS_Exchange_Generated_Message_Source": "Mailbox Rules Agent"}, {"Return_Path": "<>"},
                    {"Return_Path": "<MAILER-DAEMON@mx.customer.example>"},
                    {"sender": "MAILER-DAEMON@mx.customer.example"}, {"sender": "Mail Delivery System <>"}):
        code, text = _send(port, _mail(address, **headers))
        assert code == 250 and b"dropped" in text, headers
    code, text = _send(port, _mail(address), mail_from="")  # MAIL FROM:<>, the null sender of bounces
    assert code == 250 and b"null sender" in text, text
    code, text = _send(port, _mail(address, sender="Pilot Feedback <feedback@example.com>"))  # our MAIL_FROM
    assert code == 250 and b"loop" in text
    assert len(_items(database_url, tenant)) == before

    message = _mail(address, subject=f"Once {uuid.uuid4().hex[:4]}")
    assert b"created" in _send(port, message)[1]
    assert b"duplicate" in _send(port, message)[1]
    assert len(_items(database_url, tenant, str(message["Subject"]))) == 1


def test_list_mail_and_mail_asking_for_no_auto_reply_are_taken_unanswered(served, database_url):
    """A mailing list's mail is feedback, but an answer would go to the list (RFC 3834);
    X-Auto-Response-Suppress asks for no automatic answer (our acknowledgement is one)."""
    server, box, port, tenant = served
    address = tenant["intake_email"]
    tag = uuid.uuid4().hex[:4]
    for n, headers in enumerate(({"Precedence": "list"}, {"X_Auto_Response_Suppress": "All"},
                                 {"X_Auto_Response_Suppress": "DR, OOF, AutoReply"})):
        code, text = _send(port, _mail(address, subject=f"Quiet {tag} {n}", **headers))
        assert code == 250 and b"created" in text and b"not acknowledged" in text, (headers, text)
        [item] = _items(database_url, tenant, f"Quiet {tag} {n}")
        assert item["context"]["not_acknowledged"]
        assert outbox_rows(database_url, str(item["id"]), "mail") == []
    # Only these kinds ask that: a mail suppressing out-of-office notices alone is acknowledged.
    assert b"created" in _send(port, _mail(address, subject=f"Loud {tag}", X_Auto_Response_Suppress="OOF"))[1]
    wait_until(lambda: [m for m in box.messages if f"Loud {tag}" in str(m["Subject"])], what="the acknowledgement")


def test_a_redelivered_mail_does_not_spend_the_senders_allowance(served, database_url):
    server, _, port, tenant = served
    message = _mail(tenant["intake_email"], subject=f"Again {uuid.uuid4().hex[:4]}",
                    sender=f"r-{uuid.uuid4().hex[:6]}@customer.example")
    assert b"created" in _send(port, message)[1]
    for _ in range(7):  # past ANON_LIMIT_PER_EMAIL (5): a server retrying its delivery is no new sender's mail
        code, text = _send(port, message)
        assert code == 250 and b"duplicate" in text, text


def test_real_replies_with_long_lines_are_taken(served, database_url):
    """Outlook writes lines of well over RFC 5321's 1000 characters (tests/corpora.py). Mails
    people wrote that sit among bounces are taken too: an Outlook reply asking for a read
    receipt, a Gmail mail."""
    server, _, port, tenant = served
    replies = corpora.talon() / "standard_replies"
    mails = [*(replies / f"{name}.eml" for name in ("outlook", "apple_mail_2", "iphone", "thunderbird", "gmail")),
             *corpora.written_by_people()]
    for path in mails:
        code, text = _send(port, _crlf(path.read_bytes()), to=tenant["intake_email"], mail_from="someone@example.com")
        assert code == 250 and b"created" in text, (path.name, code, text)
    assert max(len(line) for line in (replies / "outlook.eml").read_bytes().split(b"\n")) > 1000


def test_refusals_speak_of_the_mail_not_of_fields(served, database_url):
    server, _, port, tenant = served
    code, text = _send(port, _mail(tenant["intake_email"], sender="Ana <ana@localhost>"))
    assert code == 550 and b"the sender's address (From) is not accepted" in text, text
    assert b"submitter_email" not in text and b"It should have a period" in text


# --- Mailgun's inbound webhook


def _signed(body_mime: bytes, recipient: str, key: str = SIGNING_KEY, age: int = 0) -> dict[str, str]:
    timestamp, token = str(int(time.time()) - age), uuid.uuid4().hex + uuid.uuid4().hex[:18]
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature, "recipient": recipient,
            "sender": "ana@customer.example", "body-mime": body_mime.decode()}


@pytest.fixture
def webhook(function_app, env):
    env(MAILGUN_SIGNING_KEY=SIGNING_KEY, INTAKE_DOMAIN="in.example.com", INTAKE_MAX_MAIL_BYTES=str(MAX_MAIL))
    return function_app("email_intake").test_client()


URL = "/api/v1/email/inbound/mime"


def test_a_signed_post_becomes_feedback_once(webhook, database_url):
    tenant = tenants.create_tenant(f"Hook {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    message = _mail(address, subject="Docs: Pagination is missing")
    taken = webhook.post(URL, data=_signed(message.as_bytes(), address))
    assert taken.status_code == 200 and taken.get_json()["outcome"] == "created"
    again = webhook.post(URL, data=_signed(message.as_bytes(), address))  # Mailgun posts again
    assert again.get_json()["outcome"] == "duplicate"
    rows = sql(database_url, "SELECT type, summary, source FROM feedback WHERE tenant_id = :t", t=tenant["id"])
    assert rows == [["docs", "Pagination is missing", "email"]]


def test_posts_not_signed_by_the_key_or_stale_are_401(webhook):
    address = "feedback+x@in.example.com"
    raw = _mail(address).as_bytes()
    assert webhook.post(URL, data=_signed(raw, address, key="another-key")).status_code == 401
    assert webhook.post(URL, data=_signed(raw, address, age=3600)).status_code == 401
    unsigned = _signed(raw, address)
    del unsigned["signature"]
    refused = webhook.post(URL, data=unsigned)
    assert refused.status_code == 401 and "signature" in refused.get_json()["detail"]


def test_failed_checks_oversized_and_unknown_mails_are_refused_for_good(webhook, database_url):
    tenant = tenants.create_tenant(f"Strict {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    for headers, why in (({"X_Mailgun_Spf": "Fail"}, "SPF Fail"), ({"X_Mailgun_Dkim_Check_Result": "Fail"}, "DKIM")):
        refused = webhook.post(URL, data=_signed(_mail(address, **headers).as_bytes(), address))
        assert refused.status_code == 406 and why in refused.get_json()["detail"]
    big = webhook.post(URL, data=_signed(_mail(address, body="y" * (MAX_MAIL + 1)).as_bytes(), address))
    assert big.status_code == 406 and big.get_json()["smtp"].startswith("552 5.3.4")
    unknown = webhook.post(URL, data=_signed(_mail("feedback+nobody@in.example.com").as_bytes(),
                                             "feedback+nobody@in.example.com"))
    assert unknown.status_code == 406 and "No feedback address" in unknown.get_json()["detail"]
    assert sql(database_url, "SELECT count(*) FROM feedback WHERE tenant_id = :t", t=tenant["id"]) == [[0]]


def test_a_sender_over_the_anonymous_limit_is_asked_to_come_back(webhook, env):
    env(ANON_LIMIT_PER_EMAIL="1")
    tenant = tenants.create_tenant(f"Limited {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    assert webhook.post(URL, data=_signed(_mail(address).as_bytes(), address)).status_code == 200
    again = webhook.post(URL, data=_signed(_mail(address).as_bytes(), address))
    assert again.status_code == 429 and "Retry-After" in again.headers  # Mailgun posts it again later


def test_a_large_mail_posted_as_multipart_is_taken(webhook, env, database_url):
    """Mailgun posts a mail with attachments as multipart/form-data: its message is one field,
    larger than Flask's default limit for a field (500 KB)."""
    env(INTAKE_MAX_MAIL_BYTES=str(2 * 1024 * 1024))
    tenant = tenants.create_tenant(f"Large {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    message = _mail(address, subject="Bug: Crash report attached")
    message.add_attachment(b"\x00" * 700_000, maintype="application", subtype="octet-stream", filename="core.dump")
    form = {**_signed(message.as_bytes(), address), "attachment-1": (io.BytesIO(b"x" * 10), "core.dump")}
    taken = webhook.post(URL, data=form, content_type="multipart/form-data")
    assert taken.status_code == 200, taken.get_json()
    [[context]] = sql(database_url, "SELECT context FROM feedback WHERE tenant_id = :t", t=tenant["id"])
    assert context["attachments"] == [{"name": "core.dump", "type": "application/octet-stream", "size": 700_000}]


def test_a_taken_smtp_port_leaves_the_api_serving_and_says_so(database_url, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = LiveServer(database_url, tmp_path / "server.log", INTAKE_SMTP_PORT=str(taken.getsockname()[1]))
        try:
            assert requests.get(f"{server.base}/api/v1/feedback/widget.js", timeout=10).status_code == 200
            log = wait_until(lambda: "feedback by mail is off" in (tmp_path / "server.log").read_text()
                             and (tmp_path / "server.log").read_text(), what="the warning")
            assert "set INTAKE_SMTP_PORT to a free port" in log
        finally:
            assert server.stop() == 0


# --- bounces and reports


def _dsn(to: str, recipient: str, returned_headers: bytes, status: str = "5.1.1") -> bytes:
    """A delivery report as RFC 3464 lays it out, returning the headers of the failed mail."""
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\nTo: {to}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{uuid.uuid4().hex}@mx.customer.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
            "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n").encode() + returned_headers + b"\r\n--B--\r\n"


def test_a_bounce_of_our_mail_stops_mail_to_the_address_and_the_console_shows_it(served, database_url):
    server, box, port, tenant = served
    address, sender = tenant["intake_email"], f"gone-{uuid.uuid4().hex[:6]}@customer.example"
    summary = f"Soon bouncing {uuid.uuid4().hex[:4]}"
    _send(port, _mail(address, subject=summary, sender=sender))
    [ack] = wait_until(lambda: [m for m in box.messages if summary in str(m["Subject"])], what="the acknowledgement")
    [item] = _items(database_url, tenant, summary)
    headers = ack.as_bytes().split(b"\n\n", 1)[0].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    # A report of a delay is no bounce; one naming a mail we never sent marks nobody.
    assert b"marked" not in _send(port, _dsn(address, sender, headers, status="4.4.7"), to=address, mail_from="")[1]
    stranger = f"stranger-{uuid.uuid4().hex[:6]}@customer.example"
    assert b"marked" not in _send(port, _dsn(address, stranger, b"Message-ID: <x@y>"), to=address, mail_from="")[1]
    code, text = _send(port, _dsn(address, sender, headers), to=address, mail_from="")
    assert code == 250 and b"dropped" in text and f"marked as bouncing: {sender}".encode() in text, text
    assert sql(database_url, "SELECT email, status FROM mail_bounces WHERE tenant_id = :t", t=tenant["id"]) == [
        [sender, "5.1.1"]]

    responded = requests.post(f"{server.base}/api/v1/feedback/{item['id']}/respond/", json={"response": "Fixed."},
                              headers={"Authorization": f"Bearer {_admin_key(tenant)}"}, timeout=10)
    assert responded.status_code == 200, responded.text
    wait_until(lambda: [r for r in outbox_rows(database_url, str(item["id"]), "mail") if r["outcome"] == "skipped"],
               what="the response's mail skipped")
    assert not [m for m in box.messages if m["Subject"] == f"Update on your feedback: {summary}"]

    person = team.add_person(uuid.UUID(tenant["id"]), f"t-{uuid.uuid4().hex[:6]}@example.com", "Tri", "admin")
    session = signin.start_session(signin.operator_link(person["email"]).rsplit("/", 1)[1])
    page = requests.get(f"{server.base}/console/items/{item['id']}/", cookies={"pf_console": session}, timeout=10)
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "Mail to this address bounces (5.1.1: smtp; 550 5.1.1 User unknown" in shown
    assert f"{sender} is not mailed: mail to it bounces." in shown


def _permanently_failed(raw: bytes) -> set[str]:
    """The recipients a delivery report (RFC 3464) says failed for good, read off its lines."""
    failed = {m.decode().lower() for m in re.findall(rb"(?im)^Final-Recipient:\s*rfc822;\s*<?([^\s<>]+@[^\s<>]+)", raw)}
    permanent = re.search(rb"(?im)^Action:\s*failed\s*$", raw) and re.search(rb"(?im)^Status:\s*5\.", raw)
    return failed if permanent else set()


@pytest.mark.parametrize(("package", "at_least_marked"), [("flufl.bounce", 4), ("bounced", 17), ("baunsu", 12)])
def test_real_bounces_are_dropped_and_bounces_marked(served, database_url, package, at_least_marked):
    """Every bounce a package of real mails holds (tests/corpora.py), sent as bounces are, from
    the null sender: none is feedback or answered; a report that a submitter's address failed
    for good marks it, whatever server wrote the report."""
    server, box, port, _ = served
    tenant = tenants.create_tenant(f"Bounced {uuid.uuid4().hex[:4]}")
    address = tenant["intake_email"]
    marked, unmailable = set(), set()
    for path in corpora.bounces(package):
        raw = path.read_bytes()
        for recipient in _permanently_failed(raw) - marked - unmailable:  # the submitter our mail went to
            code, text = _send(port, _mail(address, subject=f"From {recipient}", sender=recipient))
            if code == 550 and b"is not accepted" in text:  # no submitter can have it (a bare host name)
                unmailable.add(recipient)
            else:
                assert b"created" in text, (path.name, text)
        failed = _permanently_failed(raw) - unmailable
        code, text = _send(port, _crlf(raw), to=address, mail_from="")
        assert code == 250 and b"dropped" in text, (path.name, text)
        if failed:
            assert b"marked as bouncing" in text, (path.name, text)
            marked |= failed
    assert len(marked) >= at_least_marked
    rows = sql(database_url, "SELECT email FROM mail_bounces WHERE tenant_id = :t", t=tenant["id"])
    assert {r[0] for r in rows} == marked
    assert len(_items(database_url, tenant)) == len(marked)


def test_real_reports_and_auto_replies_are_dropped(served, database_url):
    """An abuse report, a read receipt and auto-replies as they were written (tests/corpora.py),
    from senders that are not the null sender: none is feedback or answered."""
    server, box, port, _ = served
    tenant = tenants.create_tenant(f"Reported {uuid.uuid4().hex[:4]}")
    reasons = []
    for path in [*corpora.reports(), *corpora.auto_replies()]:
        code, text = _send(port, _crlf(path.read_bytes()), to=tenant["intake_email"], mail_from="someone@example.org")
        assert code == 250 and b"dropped" in text, (path.name, text)
        reasons.append(text.decode())
    assert any("an abuse report (RFC 5965)" in r for r in reasons) and any("a read receipt (RFC 8098)" in r
                                                                           for r in reasons)
    assert _items(database_url, tenant) == []


# --- what Mailgun's posts are trusted with


def _outbox_mails(database_url, tenant) -> int:
    return sql(database_url, "SELECT count(*) FROM outbox WHERE tenant_id = :t AND kind = 'mail'", t=tenant["id"])[0][0]


def test_a_token_signs_one_post_and_a_retry_of_it_is_no_replay(webhook, database_url):
    tenant = tenants.create_tenant(f"Replay {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    post = _signed(_mail(address, subject="First").as_bytes(), address)
    assert webhook.post(URL, data=post).get_json()["outcome"] == "created"
    assert webhook.post(URL, data=post).get_json()["outcome"] == "duplicate"  # the same post again
    other = webhook.post(URL, data={**post, "body-mime": _mail(address, subject="Second").as_string()})
    assert other.status_code == 401 and "replay" in other.get_json()["detail"]
    elsewhere = tenants.create_tenant(f"Other {uuid.uuid4().hex[:4]}")
    moved = webhook.post(URL, data={**post, "recipient": f"feedback+{elsewhere['slug']}@in.example.com"})
    assert moved.status_code == 401
    assert sql(database_url, "SELECT summary FROM feedback WHERE tenant_id IN (:a, :b)", a=tenant["id"],
               b=elsewhere["id"]) == [["First"]]


def test_a_subaccounts_post_is_verified_by_its_parent_signature(webhook):
    tenant = tenants.create_tenant(f"Sub {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    post = _signed(_mail(address).as_bytes(), address, key="the-subaccounts-own-key")
    post["parent-signature"] = hmac.new(SIGNING_KEY.encode(), (post["timestamp"] + post["token"]).encode(),
                                        hashlib.sha256).hexdigest()
    assert webhook.post(URL, data=post).get_json()["outcome"] == "created"


def test_only_a_sender_whose_domain_vouches_for_the_mail_is_acknowledged(webhook, database_url):
    tenant = tenants.create_tenant(f"Vouch {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"

    def post(subject: str, envelope: str, *spf: str) -> dict:
        message = _mail(address, subject=subject)
        for verdict in spf:
            message["X-Mailgun-Spf"] = verdict
        return webhook.post(URL, data={**_signed(message.as_bytes(), address), "sender": envelope}).get_json()

    assert post("Aligned", "bounces@mail.customer.example", "Pass")["outcome"] == "created"
    assert _outbox_mails(database_url, tenant) == 1
    # SPF passed, but for another domain than From's; no verdict at all; a verdict the mail
    # brought itself beside Mailgun's.
    for subject, envelope, spf in (("Unaligned", "x@elsewhere.example", ("Pass",)),
                                   ("Unchecked", "ana@customer.example", ()),
                                   ("Two verdicts", "ana@customer.example", ("Neutral", "Pass"))):
        taken = post(subject, envelope, *spf)
        assert taken["outcome"] == "created" and "not acknowledged" in taken["detail"], (subject, taken)
        [[context]] = sql(database_url, "SELECT context FROM feedback WHERE tenant_id = :t AND summary = :s",
                          t=tenant["id"], s=subject)
        assert "unauthenticated_sender" in context
    assert _outbox_mails(database_url, tenant) == 1
    # Any failing verdict among several refuses the mail.
    refused = webhook.post(URL, data=_signed(_mail(address, X_Mailgun_Spf="Pass").as_bytes()
                                             .replace(b"X-Mailgun-Spf: Pass", b"X-Mailgun-Spf: Pass\nX-Mailgun-Spf: Fail"),
                                             address))
    assert refused.status_code == 406 and "SPF Fail" in refused.get_json()["detail"]


def test_8bit_mail_keeps_its_bytes(webhook, database_url):
    tenant = tenants.create_tenant(f"Bytes {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    raw = (f"From: ana@customer.example\r\nTo: {address}\r\nSubject: Accents\r\nMessage-ID: <{uuid.uuid4().hex}@c.example>"
           "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + "Le café est froid.\r\n".encode("latin-1")
    fields = {k: v.encode() for k, v in _signed(b"", address).items() if k != "body-mime"}
    body, boundary = b"", "b0undary"
    for name, value in [*fields.items(), ("body-mime", raw)]:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").encode() + value + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    taken = webhook.post(URL, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert taken.status_code == 200, taken.get_json()
    assert sql(database_url, "SELECT description FROM feedback WHERE tenant_id = :t", t=tenant["id"]) == [
        ["Le café est froid."]]


def test_a_route_posting_parsed_fields_is_taken_and_the_fix_logged(webhook, database_url, capfd):
    tenant = tenants.create_tenant(f"Parsed {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    for n in range(2):
        headers = [["From", "Ana <ana@customer.example>"], ["To", address], ["Subject", f"Bug: Parsed {n}"],
                   ["Message-Id", f"<{uuid.uuid4().hex}@customer.example>"], ["Content-Type", "multipart/mixed"]]
        form = {**_signed(b"", address), "body-plain": "It breaks.\n\n> quoted", "stripped-text": "It breaks.",
                "message-headers": __import__("json").dumps(headers), "attachment-count": "1",
                "attachment-1": (io.BytesIO(b"x" * 42), "log.txt", "text/plain")}
        del form["body-mime"]
        taken = webhook.post(URL, data=form, content_type="multipart/form-data")
        assert taken.status_code == 200 and taken.get_json()["outcome"] == "created", taken.get_json()
    rows = sql(database_url, "SELECT type, summary, description, context FROM feedback WHERE tenant_id = :t"
                             " ORDER BY summary", t=tenant["id"])
    assert [r[:3] for r in rows] == [["bug", "Parsed 0", "It breaks."], ["bug", "Parsed 1", "It breaks."]]
    assert rows[0][3]["attachments"] == [{"name": "log.txt", "type": "text/plain", "size": 42}]
    logged = capfd.readouterr()
    assert (logged.out + logged.err).count("forward to a URL ending in mime") == 1


def test_a_post_over_the_limit_gets_its_406_whole(served):
    """Over real HTTP: the answer comes after the upload, not as a reset connection mid-way."""
    server, _, _, tenant = served
    address = tenant["intake_email"]
    body = urllib.parse.urlencode({**_signed(b"", address), "body-mime": "x" * (4 * 1024 * 1024)}).encode()
    sized = requests.post(f"{server.base}{URL}", data=body, timeout=30,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    chunked = requests.post(f"{server.base}{URL}", data=(body[i:i + 65536] for i in range(0, len(body), 65536)),
                            timeout=30, headers={"Content-Type": "application/x-www-form-urlencoded"})
    for answer in (sized, chunked):
        assert answer.status_code == 406 and answer.json()["smtp"].startswith("552 5.3.4"), answer.text


def test_dkim_signatures_vouch_for_their_own_domain_only():
    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from shared import mail_intake

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    records = {b"s1._domainkey.customer.example.": b"v=DKIM1; k=rsa; p=" + __import__("base64").b64encode(public)}

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    message = _mail("feedback+x@in.example.com").as_bytes().replace(b"\n", b"\r\n")
    signed = dkim.sign(message, b"s1", b"customer.example", private, include_headers=[b"from", b"subject"]) + message
    assert mail_intake.dkim_domains(signed, dns) == ["customer.example"]
    assert mail_intake.dkim_domains(signed.replace(b"It fails", b"It works"), dns) == []  # altered on the way
    verdict = mail_intake.Verdict(spf=("None",), dns=dns)
    assert verdict.authenticates("ana@customer.example", signed)
    assert verdict.authenticates("ana@eu.customer.example", signed)  # a subdomain's mail, signed by its parent
    assert not verdict.authenticates("ana@victim.example", signed)  # a signature of another domain
    assert not verdict.authenticates("ana@customer.example", message)


def test_a_subject_and_sender_name_lose_the_controls_that_reorder_a_line(served, database_url):
    """A bidirectional control in a subject or a sender's name could make the console show
    the words in another order: the item keeps them as one plain line."""
    _, _, port, tenant = served
    tag = uuid.uuid4().hex[:4]
    message = _mail(tenant["intake_email"], subject=f"Export \u202ecrashes\u202c on save {tag}",
                    sender="Ana \u202ePereira <ana@customer.example>")
    assert _send(port, message)[0] == 250
    [item] = _items(database_url, tenant, f"Export crashes on save {tag}")
    [[name]] = sql(database_url, "SELECT submitter_name FROM feedback WHERE id = :id", id=item["id"])
    assert name == "Ana Pereira"
