"""Health of a deployment's database: reachable, migrated, isolated.

Used by `manage.py check` and by the test suite's catalog test, so the promise
the tests prove is the one operators verify.
"""
from __future__ import annotations

from typing import Any

from shared import db, migrations, queries

def _result(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "detail": detail}


def rls_problems(tx: db.Tx) -> list[str]:
    """Each tenant table that lacks enabled, forced and guarded row-level security."""
    problems = []
    for name, enabled, forced, guarded in tx.rows(queries.TENANT_TABLES_RLS):
        missing = [what for what, ok in (("enabled", enabled), ("forced", forced), ("policy", guarded)) if not ok]
        if missing:
            problems.append(f"{name}: {', '.join(missing)} missing")
    return problems


def service_role_problems(tx: db.Tx) -> list[str]:
    role, superuser, bypass, owned = tx.single(queries.SERVICE_ROLE_POWERS)
    problems = []
    if superuser:
        problems.append(f"{role} is a superuser")
    if bypass:
        problems.append(f"{role} has BYPASSRLS")
    if owned:
        problems.append(f"{role} owns (or may act as the owner of) {owned} relations")
    return problems


def run() -> list[dict[str, Any]]:
    results = []
    try:
        with db.transaction(owner=True) as tx:
            tx.rows("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure is the answer here
        return [_result("database", False, f"unreachable: {type(exc).__name__}")]
    results.append(_result("database", True, "reachable"))
    # Settings were read to get this far (manage.py answers a failed "settings" check otherwise).
    results.append(_result("settings", True, "every variable is usable"))

    owner = db.pool(owner=True).acquire()
    try:
        pending = migrations.verify(owner, migrations.discover())
        results.append(
            _result("migrations", not pending, "current" if not pending else
                    "pending: " + ", ".join(m.path.name for m in pending))
        )
    except migrations.MigrationError as exc:
        results.append(_result("migrations", False, str(exc)))
    finally:
        db.pool(owner=True).release(owner)

    with db.transaction(owner=True) as tx:
        problems = rls_problems(tx)
    results.append(_result("row_level_security", not problems, "; ".join(problems) or "forced on every tenant table"))

    try:
        with db.transaction() as tx:
            problems = service_role_problems(tx)
        results.append(_result("service_role", not problems, "; ".join(problems) or "owns nothing, cannot bypass RLS"))
    except Exception as exc:  # noqa: BLE001
        results.append(_result("service_role", False, f"cannot connect as the service: {exc}"))

    from shared import github_issues  # PyGithub only for this check

    results.append(_result("github", *github_issues.check()))
    return results
