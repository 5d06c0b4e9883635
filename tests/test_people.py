"""The team: people an operator adds, one-time sign-in links (mailed through the outbox
to a real SMTP server, or printed for an operator) and the server-side sessions they open."""
from __future__ import annotations

import uuid

import pytest
from helpers import manage, sql

from shared import db, errors, signin

from events import deliverer


def _person(database_url, tenant, role: str = "admin", name: str = "Ada Lovelace") -> dict:
    email = f"ada-{uuid.uuid4().hex[:6]}@Example.com"
    code, person = manage(database_url, "people", "add", "--tenant", str(tenant.id), "--email", email,
                          "--name", name, "--role", role, "--json")
    assert code == 0, person
    return person


def test_people_are_added_and_listed_by_an_operator(database_url, tenant):
    person = _person(database_url, tenant)
    assert set(person) == {"id", "email", "name", "role", "tenant_id"}
    assert person["email"].endswith("@example.com") and person["tenant_id"] == str(tenant.id)
    code, again = manage(database_url, "people", "add", "--tenant", str(tenant.id), "--email",
                         person["email"].upper(), "--name", "Twin", "--role", "staff", "--json")
    assert code == 1 and "already a team member" in again["error"]
    code, bad = manage(database_url, "people", "add", "--tenant", str(tenant.id), "--email", "not-an-address",
                       "--name", "X", "--role", "admin", "--json")
    assert code == 1 and bad["error"].startswith("email:")
    code, listed = manage(database_url, "people", "list", "--tenant", str(tenant.id), "--json")
    assert code == 0 and [p["email"] for p in listed["people"]] == [person["email"]]


def test_a_link_opens_one_session_once_and_sign_out_ends_it(database_url, tenant):
    person = _person(database_url, tenant)
    code, link = manage(database_url, "signin-link", "--email", person["email"], "--json")
    assert code == 0 and link["minutes"] == 15 and "/console/signin/" in link["url"]
    token = link["url"].rsplit("/", 1)[1]
    session = signin.start_session(token)
    with pytest.raises(errors.Unauthorized, match="used or expired"):
        signin.start_session(token)  # once only
    with db.transaction() as tx:
        principal = signin.session_principal(tx, session)
        assert principal is not None
        assert (principal.role, principal.tenant_id, principal.actor) == ("admin", tenant.id, "Ada Lovelace")
        signin.end_session(tx, session)
    with pytest.raises(errors.Unauthorized, match="ended"):  # remembered, and refused with its next statement
        with db.transaction() as tx:
            signin.session_principal(tx, session)
            tx.scalar("SELECT 1")
    # Only hashes are kept.
    assert not sql(database_url, "SELECT 1 FROM console_sessions WHERE id_hash = convert_to(:s, 'UTF8')", s=session)


def test_an_expired_link_opens_nothing(database_url, tenant):
    person = _person(database_url, tenant)
    token = signin.operator_link(person["email"]).rsplit("/", 1)[1]
    sql(database_url, "UPDATE signin_links SET expires_at = now() - interval '1 second'"
                      " WHERE person_id = CAST(:p AS uuid)", p=person["id"])
    with pytest.raises(errors.Unauthorized):
        signin.start_session(token)


def test_a_link_asked_for_is_mailed_and_only_to_a_team_member(database_url, tenant, mailbox, function_app):
    person = _person(database_url, tenant, name="Grace Hopper")
    signin.request_link("nobody-" + person["email"])  # the same answer, and nothing queued
    signin.request_link(person["email"].upper())
    [event] = sql(database_url, "SELECT id FROM outbox WHERE feedback_id IS NULL AND payload->>'to' = :e",
                  e=person["email"])
    assert deliverer(function_app("notify"), "mail")(event[0]) == 200
    [message] = mailbox.wait_for(1)
    assert message["To"] == f"Grace Hopper <{person['email']}>"
    assert message["Subject"] == "Your sign-in link to Pilot Feedback"
    url = next(line for line in message.get_content().splitlines() if "/console/signin/" in line)
    assert url.startswith("https://feedback.example.com/console/signin/") and "List-Unsubscribe" not in message
    assert signin.start_session(url.rsplit("/", 1)[1])


def test_sign_in_requests_are_limited_per_address(database_url, tenant):
    person = _person(database_url, tenant)
    for _ in range(signin.LINKS_PER_WINDOW):
        signin.request_link(person["email"])
    with pytest.raises(errors.RateLimited):
        signin.request_link(person["email"])
    assert len(sql(database_url, "SELECT 1 FROM signin_links WHERE person_id = CAST(:p AS uuid)",
                   p=person["id"])) == signin.LINKS_PER_WINDOW
