"""One source cannot shut off a tenant's anonymous intake: an attempt refused by a narrow
limit (its address, its submitter) spends nothing of the tenant's allowance, a source may
take only a small share of it, and mail and web intake each have their own."""
from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage

import httpx
import pytest
from helpers import BASE, item_body, sql
from live import LiveServer, free_port

from shared import tenants


@pytest.fixture(scope="module")
def served(database_url, tmp_path_factory):
    """The local server with the deployment's default limits and its SMTP listener."""
    port = free_port()
    server = LiveServer(database_url, tmp_path_factory.mktemp("limits") / "server.log",
                        ANON_LIMIT_PER_IP="20", ANON_LIMIT_PER_EMAIL="5", ANON_LIMIT_PER_TENANT_HOUR="200",
                        INTAKE_SMTP_PORT=str(port))
    yield server, port
    assert server.stop() == 0


def _client(server: LiveServer, source: str) -> httpx.Client:
    return httpx.Client(base_url=server.base, transport=httpx.HTTPTransport(local_address=source), timeout=10)


def _post(client: httpx.Client, tenant: dict, n: int) -> int:
    return client.post(BASE + "/", json=item_body(submitter_email=f"s{n}@customer.example"),
                       headers={"X-Tenant-Key": tenant["intake_key"]}).status_code


def _mail(port: int, tenant: dict, sender: str) -> int:
    message = EmailMessage()
    message["From"], message["To"] = sender, f"feedback+{tenant['slug']}@localhost"
    message["Subject"], message["Message-ID"] = "[Bug] Export fails", f"<{uuid.uuid4().hex}@customer.example>"
    message.set_content("It fails every time.")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        return smtp.sendmail(sender, [str(message["To"])], message.as_bytes()) and 550 or 250


def test_one_loud_address_leaves_the_tenant_open_to_everyone_else(served, database_url):
    server, smtp_port = served
    tenant = tenants.create_tenant(f"Flooded {uuid.uuid4().hex[:4]}")
    with _client(server, "127.0.0.1") as loud:
        codes = [_post(loud, tenant, n) for n in range(500)]
    assert codes.count(201) == 20 and codes[20:] == [429] * 480
    with _client(server, "127.0.0.2") as fresh:
        assert _post(fresh, tenant, 1000) == 201
    assert _mail(smtp_port, tenant, "fresh@customer.example") == 250
    [[web, mailed]] = sql(database_url, "SELECT count(*) FILTER (WHERE source <> 'email'),"
                                        " count(*) FILTER (WHERE source = 'email') FROM feedback WHERE tenant_id = :t",
                          t=tenant["id"])
    assert (web, mailed) == (21, 1)


def test_a_refused_attempt_spends_nothing_of_the_tenants_allowance(served, database_url):
    server, _ = served
    tenant = tenants.create_tenant(f"Counted {uuid.uuid4().hex[:4]}")
    with _client(server, "127.0.0.3") as loud:
        [_post(loud, tenant, n) for n in range(60)]
    [[spent]] = sql(database_url, "SELECT hits FROM rate_counters WHERE tenant_id = :t AND bucket = 'tenant:web'",
                    t=tenant["id"])
    assert spent == 20
