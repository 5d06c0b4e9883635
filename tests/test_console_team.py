"""The console's Team page: an admin removes a colleague, changes a role or signs someone
out everywhere, within their own tenant; staff over everyone; nobody over themselves."""
from __future__ import annotations

import uuid

import pytest
from helpers import sql

from shared import signin, team
from shared.console_session import csrf_token

TEAM = "/console/team"


@pytest.fixture
def console(function_app):
    return function_app("console").test_client()


def _person(tenant, role: str = "admin", name: str = "Ada Lovelace") -> dict:
    return team.add_person(tenant.id, f"{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}@example.com", name, role)


def _signed_in(console, person: dict) -> str:
    token = signin.operator_link(person["email"]).rsplit("/", 1)[1]
    assert console.post(f"/console/signin/{token}").status_code == 303
    return csrf_token(console.get_cookie("pf_console", path="/console/").value)


def _post(console, csrf: str, action: str, email: str, **form: str):
    return console.post(f"{TEAM}/{action}", data={"csrf": csrf, "email": email, **form})


def test_an_admin_removes_a_colleague_who_is_signed_out_at_once(console, tenant, database_url, function_app):
    admin, leaver = _person(tenant), _person(tenant, name="Lee Vance")
    theirs = function_app("console").test_client()
    _signed_in(theirs, leaver)
    assert theirs.get("/console/").status_code == 200
    csrf = _signed_in(console, admin)
    page = console.get(TEAM)
    assert page.status_code == 200 and "Lee Vance" in page.text and "(you)" in page.text
    done = _post(console, csrf, "remove", leaver["email"])
    assert done.status_code == 303 and done.headers["Location"] == TEAM
    assert "Lee Vance was removed" in console.get(TEAM).text
    assert "Lee Vance" not in console.get(TEAM).text.split("</p>", 1)[1].split("<table", 1)[1]
    assert theirs.get("/console/").status_code == 303  # their session ended
    assert sql(database_url, "SELECT removed_at IS NOT NULL FROM people WHERE id = :p", p=leaver["id"]) == [[True]]


def test_roles_and_sign_out_everywhere(console, tenant, database_url):
    admin, colleague = _person(tenant), _person(tenant, name="Cole Lee")
    csrf = _signed_in(console, admin)
    signin.session_for(colleague["email"])
    assert _post(console, csrf, "signout", colleague["email"]).status_code == 303
    assert "Cole Lee was signed out everywhere (1 session)" in console.get(TEAM).text
    # An admin makes nobody staff; a bad role changes nothing.
    assert _post(console, csrf, "role", colleague["email"], role="staff").status_code == 403
    assert _post(console, csrf, "role", colleague["email"], role="owner").status_code == 422
    assert sql(database_url, "SELECT role FROM people WHERE id = :p", p=colleague["id"]) == [["admin"]]


def test_nobody_changes_their_own_access_or_another_tenants_people(console, tenant, other_tenant, database_url):
    admin = _person(tenant)
    stranger, staff = _person(other_tenant, name="Stan Ger"), _person(tenant, role="staff", name="Sta Ff")
    csrf = _signed_in(console, admin)
    assert _post(console, csrf, "remove", admin["email"]).status_code == 403
    assert _post(console, csrf, "role", admin["email"], role="admin").status_code == 403
    assert _post(console, csrf, "remove", stranger["email"]).status_code == 404  # not theirs to see
    assert _post(console, csrf, "remove", staff["email"]).status_code == 403
    assert _post(console, csrf, "remove", "not-an-address").status_code == 404
    assert "Stan Ger" not in console.get(TEAM).text
    assert sql(database_url, "SELECT count(*) FROM people WHERE id IN (:a, :b, :c) AND removed_at IS NULL",
               a=admin["id"], b=stranger["id"], c=staff["id"]) == [[3]]


def test_staff_manage_everyone(console, tenant, other_tenant, database_url):
    staff, far = _person(tenant, role="staff", name="Sta Ff"), _person(other_tenant, name="Far Away")
    csrf = _signed_in(console, staff)
    assert "Far Away" in console.get(TEAM).text
    assert _post(console, csrf, "role", far["email"], role="staff").status_code == 303
    assert sql(database_url, "SELECT role FROM people WHERE id = :p", p=far["id"]) == [["staff"]]
    assert _post(console, csrf, "remove", far["email"]).status_code == 303


def test_the_team_page_in_a_browser(function_app, tenant, live, tmp_path):
    """Looked at in Chromium: axe finds nothing serious, and Remove works by its button."""
    import browser
    from playwright.sync_api import expect

    browser.require_chromium()
    admin, _ = _person(tenant, name="Ada Lovelace"), _person(tenant, name="Lee Vance")
    for chromium in browser.launch():
        page = chromium.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        page.goto(live.base + "/console/signin/" + signin.operator_link(admin["email"]).rsplit("/", 1)[1])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Team").click()
        expect(page.get_by_role("heading", name="Team")).to_be_visible()
        assert browser.axe_violations(page) == []
        page.get_by_role("button", name="Remove Lee Vance").click()
        expect(page.get_by_role("status")).to_contain_text("Lee Vance was removed")
        page.screenshot(path=str(tmp_path / "team.png"), full_page=True)
        expect(page.get_by_role("button", name="Remove Lee Vance")).to_have_count(0)
