"""The web widget over HTTP: its script as served (current and versioned), how long its retries
are recognised, and the origins a tenant's intake key may be used from (CORS answers and
refusals follow the tenant's list)."""
from __future__ import annotations

import base64
import gzip
import hashlib
import re
from pathlib import Path

from helpers import BASE, item_body, manage, sql

from shared import retention

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "shared/widget/widget.js"
APP = "https://app.example.com"


def _version_and_integrity() -> tuple[str, str]:
    """The script's versioned name part and its Subresource Integrity value."""
    script = SCRIPT.read_bytes()
    return (hashlib.sha256(script).hexdigest()[:16],
            "sha384-" + base64.b64encode(hashlib.sha384(script).digest()).decode())


def _readme_tags() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r'<script src="https://HOST/api/v1/feedback/widget\.[^"]*"[^>]*>', readme)


def test_the_unversioned_script_is_the_current_one_cached_for_an_hour_and_not_pinned(client):
    served = client.get(BASE + "widget.js")
    assert served.status_code == 200 and served.mimetype == "text/javascript"
    assert served.get_data() == SCRIPT.read_bytes()
    assert served.headers["Cache-Control"] == "public, max-age=3600"
    assert served.headers["Access-Control-Allow-Origin"] == "*"
    assert len(gzip.compress(served.get_data(), 9)) < 15 * 1024
    # Its content changes with each deployment: pinned with integrity, pages would break at the next.
    [alias] = [tag for tag in _readme_tags() if "/widget.js" in tag]
    assert "integrity" not in alias


def test_the_versioned_script_is_immutable_and_as_the_readme_pins_it(client):
    version, integrity = _version_and_integrity()
    served = client.get(f"{BASE}widget.{version}.js")
    assert served.status_code == 200 and served.mimetype == "text/javascript"
    assert served.get_data() == SCRIPT.read_bytes()
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["Access-Control-Allow-Origin"] == "*"  # Subresource Integrity across origins needs CORS
    [pinned] = [tag for tag in _readme_tags() if "/widget.js" not in tag]
    assert f"/widget.{version}.js" in pinned and f'integrity="{integrity}"' in pinned, (
        f"README.md's widget tag pins another script: widget.{version}.js, {integrity}")
    assert 'crossorigin="anonymous"' in pinned

    other = client.get(f"{BASE}widget.{'0' * 16}.js")
    assert other.status_code == 404 and f"widget.{version}.js" in other.get_json()["detail"]


def test_the_widget_retries_a_send_only_while_its_idempotency_record_lives(client, tenant, function_app, database_url,
                                                                           env):
    window = re.search(r"var RETRY_WINDOW_HOURS = (\d+);", SCRIPT.read_text())
    assert window and int(window[1]) == retention.WIDGET_RETRY_HOURS
    env(IDEMPOTENCY_RETENTION_HOURS="24")  # shorter than the widget retries: the widget's window wins
    sent = {}
    for key, age in (("retried-last", retention.WIDGET_RETRY_HOURS), ("older", retention.WIDGET_RETRY_HOURS + 2)):
        sent[key] = client.post(BASE, json=item_body(summary=key), headers={**tenant.auth(), "Idempotency-Key": key})
        sql(database_url, f"UPDATE idempotency_keys SET created_at = now() - interval '{age} hours'"
            " WHERE tenant_id = :t AND key = :k", t=tenant.id, k=key)
    assert function_app("sweep").test_client().post("/").status_code == 200

    kept = sql(database_url, "SELECT key FROM idempotency_keys WHERE tenant_id = :t", t=tenant.id)
    assert [key for key, in kept] == ["retried-last"]
    again = client.post(BASE, json=item_body(summary="retried-last"),
                        headers={**tenant.auth(), "Idempotency-Key": "retried-last"})
    assert again.get_json()["id"] == sent["retried-last"].get_json()["id"]
    assert sql(database_url, "SELECT count(*) FROM feedback WHERE tenant_id = :t AND summary = 'retried-last'",
               t=tenant.id)[0][0] == 1


def _allow(database_url, tenant, *origins: str) -> dict:
    code, shown = manage(database_url, "tenants", "configure", str(tenant.id), "--json",
                         *[arg for o in origins for arg in ("--allowed-origin", o)])
    assert code == 0, shown
    return shown


def test_an_operator_lists_the_origins_a_tenant_key_may_be_used_from(database_url, tenant):
    shown = _allow(database_url, tenant, "https://App.Example.com/", "http://localhost:*")
    assert shown["allowed_origins"] == ["https://app.example.com", "http://localhost:*"]
    code, again = manage(database_url, "tenants", "show", str(tenant.id), "--json")
    assert code == 0 and again["allowed_origins"] == shown["allowed_origins"]
    code, refused = manage(database_url, "tenants", "configure", str(tenant.id), "--json", "--allowed-origin",
                           "https://app.example.com/feedback")
    assert code != 0 and "no origin" in refused["error"]
    code, cleared = manage(database_url, "tenants", "configure", str(tenant.id), "--no-allowed-origins", "--json")
    assert code == 0 and cleared["allowed_origins"] == []


def _preflight(client, tenant, origin: str):
    return client.options(f"{BASE}?tenant_key={tenant.intake_key}", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key"})


def _anonymous_post(client, tenant, origin: str):
    return client.post(BASE, json=item_body(submitter_email="ada@example.com"),
                       headers={"X-Tenant-Key": tenant.intake_key, "Origin": origin})


def _count(database_url, tenant) -> int:
    return sql(database_url, "SELECT count(*) FROM feedback WHERE tenant_id = :t", t=tenant.id)[0][0]


def test_cors_for_an_intake_key_follows_its_tenants_list(client, tenant, other_tenant, database_url, env):
    env(CORS_ALLOWED_ORIGINS="https://deployment.example.com")
    _allow(database_url, tenant, APP, "http://localhost:*")
    allowed = _preflight(client, tenant, APP)
    assert allowed.status_code == 204 and allowed.headers["Access-Control-Allow-Origin"] == APP
    assert "Idempotency-Key" in allowed.headers["Access-Control-Allow-Headers"]
    assert _preflight(client, tenant, "http://localhost:5173").headers["Access-Control-Allow-Origin"] == (
        "http://localhost:5173")

    made = _anonymous_post(client, tenant, APP)
    assert made.status_code == 201 and made.headers["Access-Control-Allow-Origin"] == APP

    # The tenant's list replaces the deployment's for its key.
    for origin in ("https://evil.example", "https://deployment.example.com"):
        refused = _preflight(client, tenant, origin)
        assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
        before = _count(database_url, tenant)
        post = _anonymous_post(client, tenant, origin)
        assert post.status_code == 403
        assert re.search(f"Pages at {re.escape(origin)} may not send feedback with this tenant key.*"
                         f"--allowed-origin {re.escape(origin)}", post.get_json()["detail"])
        assert _count(database_url, tenant) == before

    # A tenant without a list of its own: the deployment's origins.
    assert _preflight(client, other_tenant, "https://deployment.example.com").status_code == 204
    assert _anonymous_post(client, other_tenant, "https://deployment.example.com").status_code == 201
    assert _anonymous_post(client, other_tenant, APP).status_code == 403


def test_requests_without_an_origin_are_not_browsers_and_pass(client, tenant, database_url):
    _allow(database_url, tenant, APP)
    made = client.post(BASE, json=item_body(submitter_email="ada@example.com"), headers={"X-Tenant-Key": tenant.intake_key})
    assert made.status_code == 201


def test_an_unknown_key_with_an_origin_is_refused_as_unknown(client):
    response = client.post(BASE, json=item_body(submitter_email="ada@example.com"),
                           headers={"X-Tenant-Key": "pfi_unknown", "Origin": APP})
    assert response.status_code == 401 and response.get_json()["detail"] == "The tenant key is unknown."
