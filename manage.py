#!/usr/bin/env python3
"""Operator commands: migrate, check, makemigrations, serve, tenants, keys, events.

Without a database configured (DATABASE_URL, INSTANCE_CONNECTION_NAME or DB_HOST) every command uses an
embedded PostgreSQL kept under .data/ (or PILOT_FEEDBACK_DATA_DIR), started for the
command and stopped after.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
# Where the embedded PostgreSQL keeps its data (PILOT_FEEDBACK_DATA_DIR overrides).
DATA_DIR = Path(os.environ.get("PILOT_FEEDBACK_DATA_DIR") or ROOT / ".data")
DEMO_TENANT = "Demo"

sys.path.insert(0, str(ROOT))

from shared import api_keys, auth, db, errors, migrations, operators, team, tenants  # noqa: E402
from shared.config import SettingError, settings  # noqa: E402


def use_embedded_database_if_unset() -> None:
    if settings().database:
        return
    from shared import embedded

    url = embedded.with_database(embedded.start(DATA_DIR / "postgres"), embedded.DATABASE)
    os.environ["DATABASE_URL"] = url
    db.reset_pools()


def emit(args: argparse.Namespace, doc: dict[str, Any], text: str) -> None:
    print(json.dumps(doc, default=str) if args.json else text)


def cmd_migrate(args: argparse.Namespace) -> int:
    applied = apply_migrations()
    emit(args, {"applied": applied}, "\n".join(f"applied {name}" for name in applied) or "no pending migrations")
    return 0


def apply_migrations() -> list[str]:
    cfg = settings()
    conn = db.pool(owner=True).acquire()
    try:
        applied = migrations.migrate(conn)
        migrations.grant_service_role(conn, db.SERVICE_ROLE, list(cfg.db_service_users))
        return applied
    finally:
        db.pool(owner=True).release(conn)


def cmd_check(args: argparse.Namespace) -> int:
    from shared import checks

    results = checks.run()
    ok = all(r["ok"] for r in results)
    text = "\n".join(f"{'ok  ' if r['ok'] else 'FAIL'} {r['name']}: {r['detail']}" for r in results)
    emit(args, {"ok": ok, "checks": results}, text)
    return 0 if ok else 1


def cmd_makemigrations(args: argparse.Namespace) -> int:
    path = migrations.make_next(args.name)
    emit(args, {"created": path.name}, f"created sql/{path.name}")
    return 0


def cmd_tenants_create(args: argparse.Namespace) -> int:
    tenant = tenants.create_tenant(args.name)
    emit(args, tenant, f"tenant {tenant['id']} ({tenant['name']})\nintake key: {tenant['intake_key']}\n"
                       f"feedback by mail: {tenant['intake_email']}")
    return 0


def cmd_tenants_configure(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {"anonymous_priority": args.anonymous_priority}
    if args.github_repository is not None:
        changes["github_repository"] = args.github_repository or None
    if args.allowed_origin is not None or args.no_allowed_origins:
        changes["allowed_origins"] = args.allowed_origin or []
    if args.alert_high is not None:
        changes["alert_high"] = args.alert_high
    if args.time_zone is not None:
        changes["time_zone"] = args.time_zone or None
    if args.status_link_days is not None:
        changes["status_link_days"] = args.status_link_days or None
    tenant = tenants.configure(args.id, **changes)
    emit(args, tenant, _tenant_text(tenant))
    return 0


def _tenant_text(tenant: dict[str, Any]) -> str:
    origins = ", ".join(tenant["allowed_origins"]) or "those of CORS_ALLOWED_ORIGINS (none of its own)"
    link_days = tenant["status_link_days"]
    return (f"tenant {tenant['id']} ({tenant['name']}), feedback by mail to {tenant['intake_email']}: GitHub issues go to "
            f"{tenant['github_repository'] or 'the deployment default (GITHUB_REPOSITORY)'}; anonymous callers "
            f"{'may' if tenant['anonymous_priority'] else 'may not'} ask for high or urgent priority; "
            f"pages that may use its intake key (the web widget): {origins}; high items "
            f"{'alert' if tenant['alert_high'] else 'do not alert'} its admins (urgent ones do); its mornings are in "
            f"{tenant['time_zone'] or 'SLA_TIMEZONE'}; its submitters' status links work "
            f"{f'for {link_days} days' if link_days else 'for good'}")


def cmd_tenants_show(args: argparse.Namespace) -> int:
    tenant = tenants.show_tenant(args.id)
    emit(args, tenant, _tenant_text(tenant))
    return 0


def cmd_tenants_rotate_intake_key(args: argparse.Namespace) -> int:
    tenant = tenants.rotate_intake_key(args.id)
    emit(args, tenant, f"tenant {tenant['id']}: new intake key (the old one no longer works): {tenant['intake_key']}")
    return 0


def cmd_signing_keys_rotate(args: argparse.Namespace) -> int:
    from shared import mail_ids, signing_keys, status_page

    done = {purpose: signing_keys.rotate(purpose) for purpose in (mail_ids.KEY, status_page.PURPOSE)}
    emit(args, done, f"mail links are now signed with {done[mail_ids.KEY]['key_id']}; opt-out links signed "
         f"before keep working for {mail_ids.GRACE_DAYS} days. Status page links are now signed with "
         f"{done[status_page.PURPOSE]['key_id']}; those made before stop working within SECRET_TTL_SECONDS.")
    return 0


def cmd_submitters_export(args: argparse.Namespace) -> int:
    from shared import submitters

    found = submitters.export(args.email)
    print(json.dumps(found, default=str, indent=None if args.json else 2))
    return 0


def cmd_submitters_erase(args: argparse.Namespace) -> int:
    from shared import submitters

    done = submitters.erase(args.email)
    emit(args, done, f"{len(done['items_anonymised'])} items anonymised; no record keeps {done['email']}")
    return 0


def cmd_events_dead(args: argparse.Namespace) -> int:
    from shared import outbox

    events = outbox.dead(args.limit)
    text = "\n".join(f"{e['id']} {e['kind']} item {e['feedback_id']} after {e['attempts']} attempts: {e['last_error']}"
                     for e in events)
    emit(args, {"events": events}, text or "no dead events")
    return 0


def cmd_events_replay(args: argparse.Namespace) -> int:
    from shared import outbox

    event = outbox.replay(args.id)
    emit(args, {"replayed": event.id, "kind": event.kind}, f"event {event.id} ({event.kind}) is pending again")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    expires_at = None
    if args.expires_in_days:
        expires_at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=args.expires_in_days)
    key = api_keys.create_key(args.tenant, args.role, args.user_id, label=args.label, expires_at=expires_at)
    until = f", until {key['expires_at']}" if key["expires_at"] else ""
    emit(args, key, f"{key['role']} key {key['id']} ({key['label'] or 'no label'}{until}) for tenant "
         f"{key['tenant_id']}\ntoken: {key['token']}")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    keys = api_keys.list_keys(args.tenant)
    text = "\n".join(f"{k['id']} {k['role']:<6} {k['label'] or '-'} tenant {k['tenant_id']}"
                     f"{' revoked' if k['revoked_at'] else ''}{' expires ' + str(k['expires_at']) if k['expires_at'] else ''}"
                     for k in keys)
    emit(args, {"keys": keys}, text or "no keys")
    return 0


def cmd_people_add(args: argparse.Namespace) -> int:
    person = team.add_person(args.tenant, args.email, args.name, args.role)
    emit(args, person, f"{person['id']} {person['name']} <{person['email']}> {person['role']}")
    return 0


def cmd_people_configure(args: argparse.Namespace) -> int:
    person = team.configure_person(args.email, alerts=args.alerts, digest=args.digest)
    emit(args, person, f"{person['name']} <{person['email']}>: alerts {'on' if person['alerts'] else 'off'},"
                       f" morning digest {'on' if person['digest'] else 'off'}")
    return 0


def cmd_people_list(args: argparse.Namespace) -> int:
    people = team.list_people(args.tenant)
    emit(args, {"people": people}, "\n".join(
        f"{p['id']} {p['role']:<5} {p['name']} <{p['email']}> tenant {p['tenant_id']}" for p in people) or "no people")
    return 0


def cmd_people_remove(args: argparse.Namespace) -> int:
    with operators.transaction() as tx:
        person = team.remove_person(tx, args.email, "operator")
    emit(args, person, f"{person['name']} <{person['email']}> removed: signed out, open items unassigned")
    return 0


def cmd_people_role(args: argparse.Namespace) -> int:
    with operators.transaction() as tx:
        person = team.set_role(tx, args.email, args.role)
    emit(args, person, f"{person['name']} <{person['email']}> is now {person['role']} (signed out: sign in again)")
    return 0


def cmd_people_signout(args: argparse.Namespace) -> int:
    with operators.transaction() as tx:
        ended = team.end_sessions(tx, args.email)
    emit(args, {"email": args.email, "sessions_ended": ended}, f"{ended} session(s) ended")
    return 0


def cmd_signin_link(args: argparse.Namespace) -> int:
    from shared import signin

    url = signin.operator_link(args.email)
    emit(args, {"url": url, "minutes": signin.LINK_MINUTES},
         f"{url}\n(works once, for {signin.LINK_MINUTES} minutes)")
    return 0


def cmd_tenants_list(args: argparse.Namespace) -> int:
    listed = tenants.list_tenants()
    emit(args, {"tenants": listed}, "\n".join(f"{t['id']} {t['name']}" for t in listed) or "no tenants")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    key = api_keys.revoke_key(args.key)
    emit(args, key, f"revoked key {key['id']} ({key['label'] or 'no label'})")
    return 0


def ensure_demo_tenant() -> uuid.UUID:
    """The demo tenant, made with its keys (shown this once) on the first run."""
    found = tenants.find_tenant(DEMO_TENANT)
    if found is not None:
        print(f"Demo tenant {found} (its keys were shown when it was made; "
              "'python manage.py keys create' makes more).")
        return found
    tenant = tenants.create_tenant(DEMO_TENANT)
    tenant_id = uuid.UUID(tenant["id"])
    member = api_keys.create_key(tenant_id, "member")
    admin = api_keys.create_key(tenant_id, "admin")
    print(
        f"Demo tenant {tenant_id}: these keys are shown once.\n"
        f"  member key: {member['token']}\n"
        f"  admin key:  {admin['token']}\n"
        f"  intake key: {tenant['intake_key']}  (X-Tenant-Key, for anonymous submission)"
    )
    return tenant_id


DEMO_ADMIN = ("demo-admin@example.com", "Demo Admin")


def demo_signin_link(tenant_id: uuid.UUID) -> str:
    """A fresh sign-in link for the demo's admin person, added on the first run."""
    from shared import signin

    email, name = DEMO_ADMIN
    if not any(p["email"] == email for p in team.list_people(tenant_id)):
        team.add_person(tenant_id, email, name, "admin")
    return signin.operator_link(email)


def cmd_serve(args: argparse.Namespace) -> int:
    from shared import devserver, logs

    apply_migrations()
    if args.demo:
        demo = ensure_demo_tenant()
        os.environ.setdefault("DEFAULT_TENANT_ID", str(demo))
        os.environ.setdefault("MAIL_DIR", str(DATA_DIR / "mail"))  # without SMTP, the demo's mailbox
        os.environ.setdefault("CORS_ALLOWED_ORIGINS", "http://localhost:*,http://127.0.0.1:*")  # local web apps
        os.environ.setdefault("INTAKE_SMTP_PORT", "2525")  # feedback by mail, from any mail client
    # The server's worker is forked from this process: it must not inherit connections.
    db.reset_pools()
    logs.configure()
    port = args.port or int(os.environ.get("PORT", "8080"))
    # Events go to this server's own event functions; mails link back to it.
    os.environ.setdefault("EVENTS_PUSH_URL", f"http://127.0.0.1:{port}{devserver.EVENTS_PREFIX.rstrip('/')}")
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{port}")
    settings.cache_clear()
    if args.demo:
        print(f"Triage console: {demo_signin_link(demo)}  (the demo admin's sign-in link: once, 15 minutes)")
        print(f"Feedback by mail: {tenants.show_tenant(demo)['intake_email']}  "
              f"(SMTP on {args.host}:{settings().intake_smtp_port})")
    print(f"Serving on http://{args.host}:{port}/api/v1/feedback/ (Ctrl-C stops)", flush=True)
    devserver.serve(args.host, port)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from shared import embedded, schema_dump

    sys.stdout.write(schema_dump.fresh(embedded.start(DATA_DIR / "postgres")))
    return 0


def cmd_gateway_spec(args: argparse.Namespace) -> int:
    from shared import api_gateway, devserver

    groups = [(name, api) for name, api, _ in devserver.http_groups()]
    sys.stdout.write(api_gateway.text(groups))
    return 0


def cmd_client_values(args: argparse.Namespace) -> int:
    from shared import client_values

    for path in client_values.write():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object")
    p = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", parents=[common], help="apply pending SQL migrations").set_defaults(func=cmd_migrate)
    check = sub.add_parser("check", parents=[common], help="database reachable, migrated, RLS forced")
    check.add_argument("app", nargs="?", choices=["feedback"], help="accepted for the guide's spelling")
    check.set_defaults(func=cmd_check)
    make = sub.add_parser("makemigrations", parents=[common], help="create the next numbered, empty SQL file")
    make.add_argument("name")
    make.set_defaults(func=cmd_makemigrations)

    sub.add_parser("schema", help="print the schema the migrations produce (sql/schema.sql)").set_defaults(
        func=cmd_schema)
    sub.add_parser("gateway-spec", help="print API Gateway's OpenAPI 2.0 routes (terraform/api_gateway.json.tftpl)"
                   ).set_defaults(func=cmd_gateway_spec)
    sub.add_parser("client-values", help="write the clients' copies of shared/choices.py (CLI, VS Code, widget)"
                   ).set_defaults(func=cmd_client_values)
    serve = sub.add_parser("serve", parents=[common], help="run every function group on one port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="default: $PORT or 8080")
    serve.add_argument("--demo", action="store_true", help="make a demo tenant and default to it")
    serve.set_defaults(func=cmd_serve)

    tenants = sub.add_parser("tenants").add_subparsers(dest="action", required=True)
    create = tenants.add_parser("create", parents=[common])
    create.add_argument("--name", required=True)
    create.set_defaults(func=cmd_tenants_create)

    configure = tenants.add_parser("configure", parents=[common])
    configure.add_argument("id", type=uuid.UUID)
    configure.add_argument("--github-repository",
                           help="owner/name for this tenant's issues; an empty value restores the default")
    configure.add_argument("--anonymous-priority", action=argparse.BooleanOptionalAction,
                           help="whether anonymous callers may ask for high and urgent priority (each opens"
                                " a GitHub issue); off for a new tenant")
    configure.add_argument("--allowed-origin", action="append", metavar="ORIGIN",
                           help="an origin whose pages may use the tenant's intake key (the web widget), such as"
                                " https://app.example.com; repeat for several: the list replaces the one before")
    configure.add_argument("--no-allowed-origins", action="store_true",
                           help="clear the list: CORS_ALLOWED_ORIGINS decides alone")
    configure.add_argument("--alert-high", action=argparse.BooleanOptionalAction,
                           help="whether high items mail the tenant's admins at once, as urgent ones do; off for a"
                                " new tenant")
    configure.add_argument("--time-zone", help="the IANA time zone of the tenant's mornings (digests), such as"
                                               " Europe/Berlin; an empty value restores SLA_TIMEZONE")
    configure.add_argument("--status-link-days", type=int, metavar="N",
                           help="how many days a submitter's status link works after it was made (every mail carries"
                                " a fresh one); 0: for good, as for a new tenant")
    configure.set_defaults(func=cmd_tenants_configure)

    show = tenants.add_parser("show", parents=[common], help="a tenant's settings")
    show.add_argument("id", type=uuid.UUID)
    show.set_defaults(func=cmd_tenants_show)

    tenants.add_parser("list", parents=[common]).set_defaults(func=cmd_tenants_list)

    rotate = tenants.add_parser("rotate-intake-key", parents=[common],
                                help="a new intake key for the tenant; the old one stops working")
    rotate.add_argument("id", type=uuid.UUID)
    rotate.set_defaults(func=cmd_tenants_rotate_intake_key)

    signing = sub.add_parser("signing-keys", help="the keys that sign the links in mails and status pages").add_subparsers(
        dest="action", required=True)
    signing.add_parser("rotate", parents=[common], help="sign new links with a new key").set_defaults(
        func=cmd_signing_keys_rotate)

    submitters = sub.add_parser("submitters", help="a submitter's data, on their request").add_subparsers(
        dest="action", required=True)
    export = submitters.add_parser("export", parents=[common], help="everything held under an address, as JSON")
    export.add_argument("--email", required=True)
    export.set_defaults(func=cmd_submitters_export)
    erase = submitters.add_parser("erase", parents=[common], help="anonymise the address's items and forget it")
    erase.add_argument("--email", required=True)
    erase.set_defaults(func=cmd_submitters_erase)

    people = sub.add_parser("people", help="the team: who signs in to the console").add_subparsers(
        dest="action", required=True)
    pa = people.add_parser("add", parents=[common], help="a team member (admin of a tenant, or staff)")
    pa.add_argument("--tenant", required=True, type=uuid.UUID)
    pa.add_argument("--email", required=True)
    pa.add_argument("--name", required=True)
    pa.add_argument("--role", required=True, choices=team.PERSON_ROLES)
    pa.set_defaults(func=cmd_people_add)
    pc = people.add_parser("configure", parents=[common], help="which mails a team member gets")
    pc.add_argument("--email", required=True)
    pc.add_argument("--alerts", action=argparse.BooleanOptionalAction,
                    help="a mail at once about each urgent item (and high, where the tenant asks); on for a new person")
    pc.add_argument("--digest", action=argparse.BooleanOptionalAction,
                    help="the working-morning digest: due today, breached, new; on for a new person")
    pc.set_defaults(func=cmd_people_configure)
    pl = people.add_parser("list", parents=[common], help="every team member")
    pl.add_argument("--tenant", type=uuid.UUID)
    pl.set_defaults(func=cmd_people_list)
    pr = people.add_parser("remove", parents=[common],
                           help="a team member leaves: signed out, no more links or mail, open items unassigned")
    pr.add_argument("--email", required=True)
    pr.set_defaults(func=cmd_people_remove)
    pro = people.add_parser("role", parents=[common], help="make a team member admin or staff (ends their sessions)")
    pro.add_argument("--email", required=True)
    pro.add_argument("--role", required=True, choices=team.PERSON_ROLES)
    pro.set_defaults(func=cmd_people_role)
    ps = people.add_parser("signout", parents=[common], help="end every console session of a team member")
    ps.add_argument("--email", required=True)
    ps.set_defaults(func=cmd_people_signout)
    link = sub.add_parser("signin-link", parents=[common], help="a one-time console sign-in link for a team member")
    link.add_argument("--email", required=True)
    link.set_defaults(func=cmd_signin_link)

    events = sub.add_parser("events", help="the outbox's dead letters").add_subparsers(dest="action", required=True)
    dead = events.add_parser("dead", parents=[common], help="events given up on, newest first")
    dead.add_argument("--limit", type=int, default=100)
    dead.set_defaults(func=cmd_events_dead)
    replay = events.add_parser("replay", parents=[common], help="make a dead event pending again and publish it")
    replay.add_argument("id", type=int)
    replay.set_defaults(func=cmd_events_replay)

    keys = sub.add_parser("keys").add_subparsers(dest="action", required=True)
    kc = keys.add_parser("create", parents=[common])
    kc.add_argument("--tenant", required=True, type=uuid.UUID)
    kc.add_argument("--role", required=True, choices=auth.ROLES)
    kc.add_argument("--user-id", type=uuid.UUID)
    kc.add_argument("--label", help="who holds the key (shown in the audit trail and notes)")
    kc.add_argument("--expires-in-days", type=int, help="the key stops working after this many days")
    kc.set_defaults(func=cmd_keys_create)
    kr = keys.add_parser("revoke", parents=[common])
    kr.add_argument("key", help="the key's id, or the key itself (pfk_...)")
    kr.set_defaults(func=cmd_keys_revoke)
    kl = keys.add_parser("list", parents=[common], help="every key without its secret: holder, role, expiry")
    kl.add_argument("--tenant", type=uuid.UUID)
    kl.set_defaults(func=cmd_keys_list)
    return p


NO_DATABASE = ("makemigrations", "gateway-spec", "schema")  # commands that write files (schema: its own)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command not in NO_DATABASE:
            use_embedded_database_if_unset()
        return args.func(args)
    except SettingError as exc:
        if args.command == "check":  # answered as a failed check, like any other
            failed = {"name": "settings", "ok": False, "detail": str(exc)}
            emit(args, {"ok": False, "checks": [failed]}, f"FAIL settings: {exc}")
        else:
            emit(args, {"error": str(exc)}, f"error: {exc}")
        return 1
    except (errors.ApiError, migrations.MigrationError) as exc:
        message = getattr(exc, "detail", str(exc))
        if type(exc) is errors.ApiError and args.command not in NO_DATABASE:  # the database refused unexpectedly
            message += _pending_hint()
        emit(args, {"error": message}, f"error: {message}")
        return 1


def _pending_hint() -> str:
    """Why a command may have failed: a database behind this code's migrations."""
    try:
        conn = db.pool(owner=True).acquire()
        try:
            pending = migrations.verify(conn, migrations.discover())
        finally:
            db.pool(owner=True).release(conn)
    except Exception:  # the hint is a courtesy: the error stands without it
        return ""
    names = ", ".join(m.path.name for m in pending)
    return f" The database is behind this code (pending: {names}): run `python manage.py migrate`." if pending else ""


if __name__ == "__main__":
    sys.exit(main())
