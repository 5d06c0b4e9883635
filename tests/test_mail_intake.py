"""Feedback by mail: real SMTP mails to the local server's listener, and posts signed as
Mailgun's inbound webhook signs them, to the email_intake function."""
from __future__ import annotations

import hashlib
import hmac
import io
import re
import smtplib
import time
import uuid
from email.message import EmailMessage

import pytest
import requests
from helpers import SMTP_PASSWORD, manage, sql, wait_until
from live import LiveServer, free_port
from standins.smtp import Mailbox

from shared import signin, tenancy

MAX_MAIL = 40_000
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
    tenant = tenancy.create_tenant(f"Acme Intake {uuid.uuid4().hex[:4]}")
    yield server, box, port, tenant
    assert server.stop() == 0
    box.stop()


def _mail(to: str, subject: str = "[Bug] Export crashes on save", body: str = "It fails every time.",
          sender: str = "Ana Pereira <ana@customer.example>", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _send(port: int, message: EmailMessage | bytes, to: str | None = None) -> tuple[int, str]:
    """The listener's answer to the mail's DATA: (code, text)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        # SMTP ends lines with CRLF (smtplib leaves bytes as they are).
        raw = message if isinstance(message, bytes) else message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
        recipient = to or str(message["To"])
        smtp.mail("ana@customer.example")
        smtp.rcpt(recipient)
        return smtp.data(raw)


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
    person = tenancy.add_person(uuid.UUID(tenant["id"]), f"t-{uuid.uuid4().hex[:6]}@example.com", "Tri", "admin")
    session = signin.start_session(signin.operator_link(person["email"]).rsplit("/", 1)[1])
    page = requests.get(f"{server.base}/console/items/{item['id']}/", cookies={"pf_console": session}, timeout=10)
    assert page.status_code == 200
    shown = re.sub(r"<[^>]+>", " ", page.text)
    assert "From the submitter" in shown and "It also happens with 5 MB." in shown


def _admin_key(tenant) -> str:
    return tenancy.create_key(uuid.UUID(tenant["id"]), "admin")["token"]


def test_a_reply_from_someone_else_is_new_feedback_not_a_message(served, database_url):
    server, box, port, tenant = served
    address = tenant["intake_email"]
    summary = f"Original {uuid.uuid4().hex[:4]}"
    _send(port, _mail(address, subject=summary))
    [ack] = wait_until(lambda: [m for m in box.messages if summary in str(m["Subject"])], what="the acknowledgement")
    other = _mail(address, subject=f"Re: {summary}", sender="mallory@elsewhere.example", In_Reply_To=ack["Message-ID"])
    code, text = _send(port, other)
    assert code == 250 and b"created" in text
    assert len(_items(database_url, tenant, f"Re: {summary}")) == 1


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
    for headers in ({"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"X_Autoreply": "yes"}):
        code, text = _send(port, _mail(address, **headers))
        assert code == 250 and b"dropped" in text, headers
    code, text = _send(port, _mail(address, sender="Pilot Feedback <feedback@example.com>"))  # our MAIL_FROM
    assert code == 250 and b"loop" in text
    assert len(_items(database_url, tenant)) == before

    message = _mail(address, subject=f"Once {uuid.uuid4().hex[:4]}")
    assert b"created" in _send(port, message)[1]
    assert b"duplicate" in _send(port, message)[1]
    assert len(_items(database_url, tenant, str(message["Subject"]))) == 1


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
    tenant = tenancy.create_tenant(f"Hook {uuid.uuid4().hex[:4]}")
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
    tenant = tenancy.create_tenant(f"Strict {uuid.uuid4().hex[:4]}")
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
    tenant = tenancy.create_tenant(f"Limited {uuid.uuid4().hex[:4]}")
    address = f"feedback+{tenant['slug']}@in.example.com"
    assert webhook.post(URL, data=_signed(_mail(address).as_bytes(), address)).status_code == 200
    again = webhook.post(URL, data=_signed(_mail(address).as_bytes(), address))
    assert again.status_code == 429 and "Retry-After" in again.headers  # Mailgun posts it again later


def test_a_large_mail_posted_as_multipart_is_taken(webhook, env, database_url):
    """Mailgun posts a mail with attachments as multipart/form-data: its message is one field,
    larger than Flask's default limit for a field (500 KB)."""
    env(INTAKE_MAX_MAIL_BYTES=str(2 * 1024 * 1024))
    tenant = tenancy.create_tenant(f"Large {uuid.uuid4().hex[:4]}")
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
