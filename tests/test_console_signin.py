"""Signing in to the console by link cannot be forced on a browser by another site (login
CSRF): the link's form is taken only from the console's own pages."""
from __future__ import annotations

import uuid

import pytest

from shared import signin, team

CONSOLE = "/console/"


@pytest.fixture
def console(function_app):
    return function_app("console").test_client()


def _session_cookie(response) -> bool:
    return any(c.startswith("pf_console=") for c in response.headers.getlist("Set-Cookie"))


def _token(tenant) -> str:
    person = team.add_person(tenant.id, f"csrf-{uuid.uuid4().hex[:6]}@example.com", "Cass Ref", "admin")
    return signin.operator_link(person["email"]).rsplit("/", 1)[1]


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "https://evil.example"}, {"Origin": "null"}])
def test_a_sign_in_posted_from_another_site_is_refused_and_the_link_kept(console, tenant, headers):
    token = _token(tenant)
    refused = console.post(f"{CONSOLE}signin/{token}", headers=headers)
    assert refused.status_code == 403 and not _session_cookie(refused)
    assert "another site" in refused.text
    assert refused.headers["Content-Security-Policy"].startswith("default-src 'none'")
    # The link is not spent: its owner can still use it from the console's own page.
    used = console.post(f"{CONSOLE}signin/{token}", headers={"Sec-Fetch-Site": "same-origin",
                                                            "Origin": "http://localhost"})
    assert used.status_code == 303 and _session_cookie(used)


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://localhost"}, {}])
def test_a_sign_in_from_the_consoles_own_page_or_no_browser_is_taken(console, tenant, headers):
    used = console.post(f"{CONSOLE}signin/{_token(tenant)}", headers=headers)
    assert used.status_code == 303 and _session_cookie(used)
