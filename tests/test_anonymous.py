"""Anonymous callers: what they may do, and limits they cannot talk their way round."""
from __future__ import annotations

import json
import uuid

import pytest
from helpers import BASE, item_body, manage, sql


def _anonymous(tenant, **headers: str) -> dict[str, str]:
    return {"X-Tenant-Key": tenant.intake_key, **headers}


def _items(database_url, tenant) -> int:
    return sql(database_url, "SELECT count(*) FROM feedback WHERE tenant_id = :t", t=tenant.id)[0][0]


def test_forwarded_addresses_are_not_trusted_unless_configured(client, tenant, env, database_url):
    env(ANON_LIMIT_PER_IP="2", ANON_LIMIT_PER_EMAIL="100")
    codes = [client.post(BASE, json=item_body(submitter_email=f"u{n}@example.com"),
                         headers=_anonymous(tenant, **{"X-Forwarded-For": f"198.51.100.{n}"})).status_code
             for n in range(1, 61)]
    assert codes == [201, 201] + [429] * 58
    assert _items(database_url, tenant) == 2


def test_plus_addresses_and_case_share_one_submitter_limit(client, tenant, env, database_url):
    env(ANON_LIMIT_PER_IP="100", ANON_LIMIT_PER_EMAIL="2")
    local = uuid.uuid4().hex[:8]
    addresses = [f"{local}+1@example.com", f"{local.upper()}+2@Example.com", f"{local}@example.com"]
    codes = [client.post(BASE, json=item_body(submitter_email=a), headers=_anonymous(tenant)).status_code
             for a in addresses]
    assert codes == [201, 201, 429]


def test_a_tenant_takes_a_bounded_number_of_anonymous_submissions_an_hour(client, tenant, other_tenant, env):
    env(ANON_LIMIT_PER_IP="100", ANON_LIMIT_PER_EMAIL="100", ANON_LIMIT_PER_TENANT_HOUR="3")
    codes = [client.post(BASE, json=item_body(submitter_email=f"s{n}@example.com"), headers=_anonymous(tenant),
                         environ_base={"REMOTE_ADDR": f"192.0.2.{n}"}).status_code for n in range(1, 5)]
    assert codes == [201, 201, 201, 429]
    limited = client.post(BASE, json=item_body(submitter_email="late@example.com"), headers=_anonymous(tenant))
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    # Signed-in members are not anonymous, and other tenants have their own count.
    assert client.post(BASE, json=item_body(), headers=tenant.auth()).status_code == 201
    assert client.post(BASE, json=item_body(submitter_email="a@example.com"),
                       headers=_anonymous(other_tenant)).status_code == 201


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_refused_attempts_count_toward_the_limits(client, tenant, env, database_url, bad):
    env(ANON_LIMIT_PER_IP="3", ANON_LIMIT_PER_EMAIL="100")
    body = json.dumps(item_body(submitter_email="n@example.com"))[:-1] + f', "context": {{"x": {bad}}}}}'
    codes = [client.post(BASE, data=body, content_type="application/json", headers=_anonymous(tenant)).status_code
             for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    assert client.post(BASE, json=item_body(submitter_email="n@example.com"),
                       headers=_anonymous(tenant)).status_code == 429
    assert _items(database_url, tenant) == 0


def test_high_and_urgent_need_a_signed_in_caller_unless_the_tenant_allows_them(client, tenant, database_url):
    for priority in ("high", "urgent"):
        refused = client.post(BASE, json=item_body(submitter_email="p@example.com", priority=priority),
                              headers=_anonymous(tenant))
        assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "priority"
    assert _items(database_url, tenant) == 0
    assert client.post(BASE, json=item_body(submitter_email="p@example.com", priority="medium"),
                       headers=_anonymous(tenant)).status_code == 201
    assert client.post(BASE, json=item_body(priority="urgent"), headers=tenant.auth()).status_code == 201
    code, shown = manage(database_url, "tenants", "configure", str(tenant.id), "--anonymous-priority", "--json")
    assert code == 0 and shown["anonymous_priority"] is True
    assert client.post(BASE, json=item_body(submitter_email="p@example.com", priority="urgent"),
                       headers=_anonymous(tenant)).status_code == 201
    code, shown = manage(database_url, "tenants", "configure", str(tenant.id), "--no-anonymous-priority", "--json")
    assert code == 0 and shown["anonymous_priority"] is False


def test_anonymous_idempotency_keys_belong_to_their_submitter(client, tenant, database_url):
    key = {"Idempotency-Key": "checkout-form-1"}
    first = client.post(BASE, json=item_body(submitter_email="ann@example.com"), headers=_anonymous(tenant, **key))
    again = client.post(BASE, json=item_body(submitter_email="ann@example.com"), headers=_anonymous(tenant, **key))
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    # Another submitter with the same key gets an item of its own, never the first one's answer.
    other = client.post(BASE, json=item_body(submitter_email="bob@example.com"), headers=_anonymous(tenant, **key))
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    assert _items(database_url, tenant) == 2


def test_a_long_forwarded_header_is_refused_by_name_before_the_database(client, tenant, env, database_url):
    env(FORWARDED_HOPS="1")
    response = client.post(BASE, json=item_body(submitter_email="f@example.com"),
                           headers=_anonymous(tenant, **{"X-Forwarded-For": "x" * 400}))
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "X-Forwarded-For"
    assert "varying" not in response.get_data(as_text=True)
    assert _items(database_url, tenant) == 0


@pytest.mark.parametrize("address", ["a\u0085x@b.c", "\u03a9@example.com", "a@localhost", "a@x.invalid",
                                     "a..b@example.com", ("l" * 65) + "@example.com"])
def test_addresses_a_mailer_cannot_send_to_are_refused(client, tenant, database_url, address):
    response = client.post(BASE, json=item_body(submitter_email=address), headers=_anonymous(tenant))
    assert response.status_code == 422, address
    assert response.get_json()["errors"][0]["field"] == "submitter_email"
    assert _items(database_url, tenant) == 0


def test_an_internationalised_domain_is_taken_in_its_ascii_form(client, tenant):
    """Every address is sendable without SMTPUTF8: a domain such as b\u00fccher.example is
    given as its punycode; the domain is kept lower-cased, the local part as written."""
    written = client.post(BASE, json=item_body(submitter_email="Ann@B\u00fccher.example.com"),
                          headers=tenant.auth("admin"))
    assert written.status_code == 422 and written.get_json()["errors"][0]["field"] == "submitter_email"
    made = client.post(BASE, json=item_body(submitter_email="Ann@XN--BCHER-KVA.example.com"),
                       headers=tenant.auth("admin"))
    assert made.status_code == 201
    assert made.get_json()["submitter_email"] == "Ann@xn--bcher-kva.example.com"


def test_bodies_refused_before_reading_count_too(client, tenant, env, database_url):
    env(ANON_LIMIT_PER_IP="2", ANON_LIMIT_PER_EMAIL="100")
    codes = [client.post(BASE, data="summary=x", content_type="text/plain", headers=_anonymous(tenant)).status_code
             for _ in range(2)]
    too_large = client.post(BASE, data=b"{" + b" " * (70 * 1024) + b"}", content_type="application/json",
                            headers=_anonymous(tenant))
    assert codes == [415, 415] and too_large.status_code == 429
    assert _items(database_url, tenant) == 0


def test_the_schema_refuses_the_special_use_domains_the_validator_refuses():
    import email_validator

    from shared.models import SPECIAL_USE_DOMAINS

    assert list(SPECIAL_USE_DOMAINS) == email_validator.SPECIAL_USE_DOMAIN_NAMES


def test_mail_and_web_intake_each_have_their_own_allowance(client, env, database_url):
    from shared import errors, feedback, tenants

    env(ANON_LIMIT_PER_TENANT_HOUR="20")
    tenant = tenants.create_tenant(f"Both ways {uuid.uuid4().hex[:4]}")
    for n in range(20):
        feedback.meter_mail(tenant["slug"], f"m{n}@customer.example")
    with pytest.raises(errors.RateLimited):
        feedback.meter_mail(tenant["slug"], "one-more@customer.example")
    codes = [client.post(BASE, json=item_body(submitter_email=f"w{n}@example.com"),
                         headers={"X-Tenant-Key": tenant["intake_key"]},
                         environ_base={"REMOTE_ADDR": f"192.0.2.{n}"}).status_code for n in range(1, 22)]
    assert codes == [201] * 20 + [429]
    # The web's allowance spent, mail still has none left of its own, and no more.
    with pytest.raises(errors.RateLimited):
        feedback.meter_mail(tenant["slug"], "later@customer.example")


def test_one_ipv6_host_is_one_source_whatever_address_of_its_network_it_uses(client, tenant, env):
    env(ANON_LIMIT_PER_IP="2", ANON_LIMIT_PER_EMAIL="100")
    codes = [client.post(BASE, json=item_body(submitter_email=f"v{n}@example.com"), headers=_anonymous(tenant),
                         environ_base={"REMOTE_ADDR": f"2001:db8:5:6::{n:x}"}).status_code for n in range(1, 5)]
    assert codes == [201, 201, 429, 429]
    assert client.post(BASE, json=item_body(submitter_email="w@example.com"), headers=_anonymous(tenant),
                       environ_base={"REMOTE_ADDR": "2001:db8:5:7::1"}).status_code == 201
