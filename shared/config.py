"""Settings read from the environment, once per process.

Every variable the code reads is named here, so the deployment (Terraform) and the
local server can be checked against one list.
"""
from __future__ import annotations

import datetime
import functools
import os
import re
import uuid
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from shared.choices import PRIORITIES

T = TypeVar("T")
JWT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                  "HS256", "HS384", "HS512")
SECRET_VERSION = re.compile(r"projects/[^/]+/secrets/[^/]+/versions/[^/]+")
TOPIC = re.compile(r"projects/[^/]+/topics/[^/]+")
REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
ORIGIN = re.compile(r"\*|https?://[^/\s:]+(:([0-9]+|\*))?")
URL = re.compile(r"https?://[^\s/]+(/\S*)?")
DATABASE_URL = re.compile(r"postgres(ql)?://\S*")
INSTANCE = re.compile(r"[^:\s]+:[^:\s]+:[^:\s]+")
BASE_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)*/?")
DOMAIN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")


class SettingError(ValueError):
    """Settings that cannot be used; the message names each variable and what it takes."""


class _Reader:
    """Reads variables, noting every unusable one rather than stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def text(self, name: str, default: str = "") -> str:
        return self.environ.get(name, "").strip() or default

    def _parsed(self, name: str, default: T, parse: Callable[[str], T], wants: str) -> T:
        raw = self.text(name)
        if not raw:
            return default
        try:
            return parse(raw)
        except (ValueError, KeyError, zoneinfo.ZoneInfoNotFoundError):
            self.problems.append(f"{name} must be {wants}, not {raw!r}")
            return default

    def int(self, name: str, default: int, minimum: int = 0, maximum: int = 10**9) -> int:
        def parse(raw: str) -> int:
            value = int(raw)
            if not minimum <= value <= maximum:
                raise ValueError
            return value
        return self._parsed(name, default, parse, f"a whole number from {minimum} to {maximum}")

    def number(self, name: str, default: float, minimum: float = 0) -> float:
        def parse(raw: str) -> float:
            value = float(raw)
            if not value >= minimum:  # NaN fails too
                raise ValueError
            return value
        return self._parsed(name, default, parse, f"a number of at least {minimum}")

    def flag(self, name: str, default: bool) -> bool:
        words = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
                 "off": False}
        return self._parsed(name, default, lambda raw: words[raw.lower()], "true or false")

    def uuid(self, name: str) -> uuid.UUID | None:
        return self._parsed(name, None, uuid.UUID, "a UUID")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        def parse(raw: str) -> str:
            if raw not in choices:
                raise ValueError
            return raw
        return self._parsed(name, default, parse, "one of " + ", ".join(choices))

    def matching(self, name: str, pattern: re.Pattern[str], wants: str, default: str = "") -> str:
        def parse(raw: str) -> str:
            if not pattern.fullmatch(raw):
                raise ValueError
            return raw
        return self._parsed(name, default, parse, wants)

    def url(self, name: str, default: str = "") -> str:
        return self.matching(name, URL, "an http(s):// URL", default).rstrip("/")

    def secret_version(self, name: str) -> str:
        return self.matching(name, SECRET_VERSION, "a secret version: projects/P/secrets/S/versions/V")

    def items(self, name: str, default: str, check: Callable[[str], bool], wants: str) -> tuple[str, ...]:
        def parse(raw: str) -> tuple[str, ...]:
            found = tuple(item.strip() for item in raw.split(",") if item.strip())
            if not all(check(item) for item in found):
                raise ValueError
            return found
        return self._parsed(name, tuple(i.strip() for i in default.split(",") if i.strip()), parse, wants)

    def timezone(self, name: str, default: str) -> str:
        def parse(raw: str) -> str:
            zoneinfo.ZoneInfo(raw)
            return raw
        return self._parsed(name, default, parse, "a time zone such as Europe/Berlin")

    def dates(self, name: str) -> frozenset[datetime.date]:
        return self._parsed(name, frozenset(), lambda raw: frozenset(
            datetime.date.fromisoformat(d.strip()) for d in raw.split(",") if d.strip()), "dates such as 2026-12-25")

    def database_url(self, name: str) -> str:
        return self.matching(name, DATABASE_URL, "a postgresql:// URL")


@dataclass(frozen=True)
class Settings:
    # Database: the Cloud SQL connector when an instance is named, a private IP
    # when DB_HOST is, else a URL.
    database_url: str
    # Owner connection for migrations and operator commands (defaults to the above).
    migration_database_url: str
    db_migration_user: str
    instance_connection_name: str
    db_user: str
    db_password: str
    db_name: str
    db_iam_auth: bool
    db_ip_type: str
    sqladmin_api_endpoint: str  # another Cloud SQL Admin API (a local stand-in)
    # Or straight to a private IP over TLS, verified against the instance's CA (PEM).
    db_host: str
    db_port: int
    db_server_ca: str
    gce_metadata_host: str  # where the function's access token comes from (IAM auth)
    # The functions' database users, granted that role by `manage.py migrate`.
    db_service_users: tuple[str, ...]
    db_pool_size: int
    # Anonymous submissions.
    default_tenant_id: uuid.UUID | None
    anon_limit_per_ip: int
    signin_limit_per_ip: int  # console sign-in links one source may ask for in 15 minutes
    anon_limit_per_email: int
    anon_window_seconds: int
    anon_limit_per_tenant_hour: int  # anonymous submissions a tenant takes an hour, all callers together
    # How many X-Forwarded-For entries, from the right, trusted proxies wrote (0: none).
    forwarded_hops: int
    # Where a caller's credentials arrive: API Gateway puts its own token for the function
    # in Authorization and moves the caller's to X-Forwarded-Authorization.
    authorization_header: str
    # JWTs from the platform's identity provider.
    jwt_issuer: str
    jwt_audience: str
    jwt_algorithm: str
    jwt_secret: str  # an HS256 key, locally; deployed, the version below names it
    jwt_secret_secret: str
    jwt_jwks_url: str
    jwt_tenant_claim: str
    jwt_role_claim: str
    # Identity-Aware Proxy in front of the console: the audience its assertions must carry
    # (none: no IAP), and where Google publishes the keys that sign them.
    iap_audience: str
    iap_jwks_url: str
    # The project the deployment runs in: log lines name their trace in it.
    google_cloud_project: str
    # Base path the public URL serves the API under.
    api_base_path: str
    # Browser origins allowed to call the API ("*" for any); none by default.
    cors_allowed_origins: frozenset[str]
    # Where business days are counted for SLAs, and which dates are not business days.
    sla_timezone: str
    sla_holidays: frozenset[datetime.date]
    # Where the public API is reached from outside (links in mails).
    public_base_url: str
    # Mail to submitters: without SMTP_HOST mails are written to the log.
    smtp_host: str
    smtp_port: int
    smtp_starttls: bool
    smtp_user: str
    smtp_password: str  # local stand-in for the secret below
    smtp_password_secret: str  # projects/P/secrets/S/versions/latest
    smtp_ca_file: str  # a private relay's CA; the system's CAs otherwise
    mail_from: str
    # Without SMTP, mails are written to this folder as .eml files (the local demo's mailbox).
    mail_dir: str
    # Feedback by mail: tenants' addresses are feedback+<slug>@INTAKE_DOMAIN; a larger mail
    # is refused. Mailgun's inbound webhook is verified with its signing key (the Secret
    # Manager version deployed; the value locally), and may be this old.
    intake_domain: str
    intake_max_mail_bytes: int
    mailgun_signing_key: str
    mailgun_signing_key_secret: str
    mailgun_max_age_seconds: int
    intake_smtp_port: int  # the local server's SMTP listener (0: none)
    # The hour of a tenant's working morning from which its admins' digests go (24: never).
    digest_hour: int
    # Secret Manager: how long a read value is trusted; a stand-in's URL for tests.
    secret_ttl_seconds: int
    secret_manager_endpoint: str
    # Outbox events are published to this Pub/Sub topic (projects/P/topics/T);
    # PUBSUB_ENDPOINT names a stand-in, reached without credentials.
    events_topic: str
    pubsub_endpoint: str
    # GitHub issues from feedback.
    github_api_url: str
    github_repository: str  # owner/name; a tenant may name its own
    github_token: str  # local stand-in for the secret below
    github_token_secret: str
    github_priorities: frozenset[str]
    github_hourly_cap: int  # issues per tenant per hour
    github_seconds_between_writes: float  # GitHub asks for at least one second
    # The webhook's shared secret (its Secret Manager version, or the value locally),
    # and how old an issue event may be when it arrives.
    github_webhook_key: str
    github_webhook_key_secret: str
    github_webhook_max_age_seconds: int
    # Retention: idempotency records (hours, at least 49: shared/retention.py); finished outbox events and
    # webhook deliveries (days, at least 2).
    idempotency_retention_hours: int
    retention_days: int
    # The local server's own event functions, which the relay posts CloudEvents to,
    # and how often its sweeper publishes due events again.
    events_push_url: str
    local_sweep_seconds: int

    @property
    def database(self) -> str:
        """Which database the service uses, decided here alone: the Cloud SQL connector when
        an instance is named, a private IP when DB_HOST is, else DATABASE_URL ("" when none)."""
        if self.instance_connection_name:
            return "cloud_sql"
        if self.db_host:
            return "private_ip"
        return "url" if self.database_url else ""


def start() -> Settings:
    """What every function does as it starts: its log lines made JSON, its settings checked
    (a setting it cannot use stops it there, naming the variable)."""
    from shared import logs

    logs.configure()
    return settings()


@functools.cache
def settings() -> Settings:
    """The settings, read once per process; SettingError names every unusable variable."""
    return read(os.environ)


def read(environ: Mapping[str, str]) -> Settings:
    r = _Reader(environ)
    database_url = r.database_url("DATABASE_URL")
    found = Settings(
        database_url=database_url,
        migration_database_url=r.database_url("MIGRATION_DATABASE_URL") or database_url,
        db_migration_user=r.text("DB_MIGRATION_USER"),
        instance_connection_name=r.matching("INSTANCE_CONNECTION_NAME", INSTANCE, "project:region:instance"),
        db_user=r.text("DB_USER"),
        db_password=r.text("DB_PASSWORD"),
        db_name=r.text("DB_NAME", "pilot_feedback"),
        db_iam_auth=r.flag("DB_IAM_AUTH", True),
        db_ip_type=r.choice("DB_IP_TYPE", "PRIVATE", ("PRIVATE", "PUBLIC", "PSC")),
        sqladmin_api_endpoint=r.url("SQLADMIN_API_ENDPOINT"),
        db_host=r.text("DB_HOST"),
        db_port=r.int("DB_PORT", 5432, 1, 65535),
        db_server_ca=r.text("DB_SERVER_CA"),
        gce_metadata_host=r.text("GCE_METADATA_HOST", "metadata.google.internal"),
        db_service_users=r.items("DB_SERVICE_USERS", "", bool, "database user names, comma-separated"),
        db_pool_size=r.int("DB_POOL_SIZE", 8, 1, 100),
        default_tenant_id=r.uuid("DEFAULT_TENANT_ID"),
        anon_limit_per_ip=r.int("ANON_LIMIT_PER_IP", 20, 1),
        signin_limit_per_ip=r.int("SIGNIN_LIMIT_PER_IP", 10, 1),
        anon_limit_per_email=r.int("ANON_LIMIT_PER_EMAIL", 5, 1),
        anon_window_seconds=r.int("ANON_WINDOW_SECONDS", 3600, 1),
        anon_limit_per_tenant_hour=r.int("ANON_LIMIT_PER_TENANT_HOUR", 200, 1),
        forwarded_hops=r.int("FORWARDED_HOPS", 0, 0, 10),
        authorization_header=r.choice("AUTHORIZATION_HEADER", "Authorization",
                                      ("Authorization", "X-Forwarded-Authorization")),
        jwt_issuer=r.text("JWT_ISSUER"),
        jwt_audience=r.text("JWT_AUDIENCE"),
        jwt_algorithm=r.choice("JWT_ALGORITHM", "RS256", JWT_ALGORITHMS),
        jwt_secret=r.text("JWT_SECRET"),
        jwt_secret_secret=r.secret_version("JWT_SECRET_SECRET"),
        jwt_jwks_url=r.url("JWT_JWKS_URL"),
        jwt_tenant_claim=r.text("JWT_TENANT_CLAIM", "tenant_id"),
        jwt_role_claim=r.text("JWT_ROLE_CLAIM", "role"),
        iap_audience=r.text("IAP_AUDIENCE"),
        iap_jwks_url=r.url("IAP_JWKS_URL", "https://www.gstatic.com/iap/verify/public_key-jwk"),
        google_cloud_project=r.text("GOOGLE_CLOUD_PROJECT"),
        api_base_path=r.matching("API_BASE_PATH", BASE_PATH, "a path such as /api/v1", "/api/v1").rstrip("/"),
        sla_timezone=r.timezone("SLA_TIMEZONE", "UTC"),
        sla_holidays=r.dates("SLA_HOLIDAYS"),
        public_base_url=r.url("PUBLIC_BASE_URL"),
        smtp_host=r.text("SMTP_HOST"),
        smtp_port=r.int("SMTP_PORT", 587, 1, 65535),
        smtp_starttls=r.flag("SMTP_STARTTLS", True),
        smtp_user=r.text("SMTP_USER"),
        smtp_password=r.text("SMTP_PASSWORD"),
        smtp_password_secret=r.secret_version("SMTP_PASSWORD_SECRET"),
        smtp_ca_file=r.text("SMTP_CA_FILE"),
        mail_from=r.text("MAIL_FROM", "Pilot Feedback <feedback@localhost>"),
        mail_dir=r.text("MAIL_DIR"),
        intake_domain=r.matching("INTAKE_DOMAIN", DOMAIN, "a mail domain such as feedback.example.com", "localhost"),
        intake_max_mail_bytes=r.int("INTAKE_MAX_MAIL_BYTES", 10 * 1024 * 1024, 1024),
        mailgun_signing_key=r.text("MAILGUN_SIGNING_KEY"),
        mailgun_signing_key_secret=r.secret_version("MAILGUN_SIGNING_KEY_SECRET"),
        mailgun_max_age_seconds=r.int("MAILGUN_MAX_AGE_SECONDS", 900, 60),
        intake_smtp_port=r.int("INTAKE_SMTP_PORT", 0),
        digest_hour=r.int("DIGEST_HOUR", 8, 0, 24),
        secret_ttl_seconds=r.int("SECRET_TTL_SECONDS", 300),
        secret_manager_endpoint=r.url("SECRET_MANAGER_ENDPOINT"),
        events_topic=r.matching("EVENTS_TOPIC", TOPIC, "a topic: projects/P/topics/T"),
        pubsub_endpoint=r.url("PUBSUB_ENDPOINT"),
        github_api_url=r.url("GITHUB_API_URL", "https://api.github.com"),
        github_repository=r.matching("GITHUB_REPOSITORY", REPOSITORY, "a repository: owner/name"),
        github_token=r.text("GITHUB_TOKEN"),
        github_token_secret=r.secret_version("GITHUB_TOKEN_SECRET"),
        github_priorities=frozenset(r.items("GITHUB_PRIORITIES", "high,urgent", PRIORITIES.__contains__,
                                            "priorities among " + ", ".join(PRIORITIES))),
        github_hourly_cap=r.int("GITHUB_HOURLY_CAP", 30, 1),
        github_seconds_between_writes=r.number("GITHUB_SECONDS_BETWEEN_WRITES", 1.0),
        github_webhook_key=r.text("GITHUB_WEBHOOK_KEY"),
        github_webhook_key_secret=r.secret_version("GITHUB_WEBHOOK_KEY_SECRET"),
        github_webhook_max_age_seconds=r.int("GITHUB_WEBHOOK_MAX_AGE_SECONDS", 86400, 60),
        idempotency_retention_hours=r.int("IDEMPOTENCY_RETENTION_HOURS", 72),
        retention_days=r.int("RETENTION_DAYS", 30),
        events_push_url=r.url("EVENTS_PUSH_URL"),
        local_sweep_seconds=r.int("LOCAL_SWEEP_SECONDS", 30, 1),
        cors_allowed_origins=frozenset(o.rstrip("/") for o in r.items(
            "CORS_ALLOWED_ORIGINS", "", lambda o: bool(ORIGIN.fullmatch(o.rstrip("/"))),
            "origins such as https://app.example.com or http://localhost:* (any port), comma-separated, or *")),
    )
    if r.problems:
        raise SettingError("; ".join(r.problems))
    return found
