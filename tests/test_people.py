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


def _requests(database_url, email: str) -> list[int]:
    return [r[0] for r in sql(database_url, "SELECT id FROM outbox WHERE payload->>'notice' = 'signin_request'"
                                            " AND payload->>'to' = :e ORDER BY id", e=email.lower())]


def _link_mails(database_url, email: str) -> list[int]:
    return [r[0] for r in sql(database_url, "SELECT id FROM outbox WHERE payload->>'notice' = 'signin'"
                                            " AND payload->>'to' = :e ORDER BY id", e=email.lower())]


def test_a_link_asked_for_is_mailed_and_only_to_a_team_member(database_url, tenant, mailbox, function_app):
    deliver = deliverer(function_app("notify"), "mail")
    person = _person(database_url, tenant, name="Grace Hopper")
    nobody = "nobody-" + person["email"]
    signin.request_link(nobody, "192.0.2.1")
    signin.request_link(person["email"].upper(), "192.0.2.1")
    # Both requests are the same row, and the answer to both is the same: nothing tells them apart.
    [unknown], [known] = _requests(database_url, nobody), _requests(database_url, person["email"])
    assert deliver(unknown) == 200 and deliver(known) == 200
    assert sql(database_url, "SELECT outcome FROM outbox WHERE id IN (:a, :b) ORDER BY id", a=unknown, b=known) \
        == [["skipped"], ["sent"]]
    [mail] = _link_mails(database_url, person["email"])
    assert deliver(mail) == 200
    [message] = mailbox.wait_for(1)
    assert message["To"] == f"Grace Hopper <{person['email']}>"
    assert message["Subject"] == "Your sign-in link to Pilot Feedback"
    url = next(line for line in message.get_content().splitlines() if "/console/signin/" in line)
    assert url.startswith("https://feedback.example.com/console/signin/") and "List-Unsubscribe" not in message
    assert signin.start_session(url.rsplit("/", 1)[1])


def test_known_and_unknown_addresses_meet_the_same_limit_per_source(database_url, tenant):
    person = _person(database_url, tenant)
    source = f"198.51.100.{uuid.uuid4().int % 250}"
    for n in range(signin.settings().signin_limit_per_ip):
        signin.request_link(f"stranger-{n}@example.com", source)
    for address in (person["email"], "stranger-x@example.com"):
        with pytest.raises(errors.RateLimited) as refused:
            signin.request_link(address, source)
        assert 0 < int(refused.value.headers["Retry-After"]) <= signin.LINK_WINDOW_SECONDS
    assert _requests(database_url, person["email"]) == []
    signin.request_link(person["email"], "203.0.113.9")  # another source is not held back
    assert len(_requests(database_url, person["email"])) == 1


def test_nobody_locks_a_team_member_out_by_asking_for_links_in_their_name(database_url, tenant, function_app):
    deliver = deliverer(function_app("notify"), "mail")
    person = _person(database_url, tenant)
    # An attacker asks from many sources, well past the mails an address gets in a window.
    for n in range(3 * signin.LINKS_PER_WINDOW):
        signin.request_link(person["email"], f"203.0.113.{n}")
    signin.request_link(person["email"], "192.0.2.200")  # the person, who is not refused
    outcomes = [deliver(event) for event in _requests(database_url, person["email"])]
    assert outcomes == [200] * (3 * signin.LINKS_PER_WINDOW + 1)
    assert len(_link_mails(database_url, person["email"])) == signin.LINKS_PER_WINDOW
    # The mails stop there, but the last link mailed is good until past the window's end,
    # when the address may be mailed again: the person's mailbox always holds one that works.
    assert signin.LINK_MINUTES * 60 >= signin.LINK_WINDOW_SECONDS
    [[link]] = sql(database_url, "SELECT payload->>'link' FROM outbox WHERE id = :id",
                   id=_link_mails(database_url, person["email"])[-1])
    assert signin.start_session(link.rsplit("/", 1)[1])


def test_a_person_who_leaves_is_signed_out_unassigned_and_mailed_no_more(database_url, tenant, client, admin):
    from helpers import BASE, submit

    person = _person(database_url, tenant)
    session = signin.session_for(person["email"])
    link = signin.operator_link(person["email"]).rsplit("/", 1)[1]
    item = submit(client, tenant, priority="low")
    assigned = admin.post(f"{BASE}{item['id']}/assign/", json={"assignee_id": person["id"]},
                          headers=tenant.auth("admin"))
    assert assigned.status_code == 200, assigned.get_json()
    code, removed = manage(database_url, "people", "remove", "--email", person["email"].upper(), "--json")
    assert code == 0 and removed["id"] == person["id"]
    with db.transaction() as tx:
        assert signin.session_principal(tx, session) is None
    with pytest.raises(errors.Unauthorized):
        signin.start_session(link)
    with pytest.raises(errors.NotFound):
        signin.operator_link(person["email"])
    [[assignee, history]] = sql(database_url, "SELECT f.assignee_id, (SELECT actor FROM feedback_audit e"
                                              " WHERE e.feedback_id = f.id ORDER BY e.id DESC LIMIT 1)"
                                              " FROM feedback f WHERE f.id = CAST(:i AS uuid)", i=item["id"])
    assert assignee is None and history == "operator"
    code, people = manage(database_url, "people", "list", "--tenant", str(tenant.id), "--json")
    assert person["email"] not in [p["email"] for p in people["people"]]
    # The address may join again, as a new person.
    again = _rejoin(database_url, tenant, person["email"])
    assert again["id"] != person["id"]
    code, missing = manage(database_url, "people", "remove", "--email", "nobody@example.com", "--json")
    assert code == 1 and "No team member" in missing["error"]


def _rejoin(database_url, tenant, email: str) -> dict:
    code, person = manage(database_url, "people", "add", "--tenant", str(tenant.id), "--email", email,
                          "--name", "Ada Again", "--role", "admin", "--json")
    assert code == 0, person
    return person


def test_a_role_change_and_a_sign_out_end_the_persons_sessions(database_url, tenant):
    person = _person(database_url, tenant)
    sessions = [signin.session_for(person["email"]) for _ in range(2)]
    code, changed = manage(database_url, "people", "role", "--email", person["email"], "--role", "staff", "--json")
    assert code == 0 and changed["role"] == "staff"
    with db.transaction() as tx:
        assert [signin.session_principal(tx, s) for s in sessions] == [None, None]
    fresh = signin.session_for(person["email"])
    code, ended = manage(database_url, "people", "signout", "--email", person["email"], "--json")
    assert code == 0 and ended["sessions_ended"] == 1
    with db.transaction() as tx:
        assert signin.session_principal(tx, fresh) is None
