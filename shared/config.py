"""Settings read from the environment, once per process.

Every variable the code reads is named here, so the deployment (Terraform) and the
local server can be checked against one list.
"""
from __future__ import annotations

import datetime
import functools
import os
import uuid
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    return raw in ("1", "true", "yes") if raw else default


def _uuid_or_none(name: str) -> uuid.UUID | None:
    raw = os.environ.get(name, "").strip()
    return uuid.UUID(raw) if raw else None


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
    # Role the service assumes on every connection: owns nothing, cannot bypass RLS.
    db_service_role: str
    # The functions' database users, granted that role by `manage.py migrate`.
    db_service_users: tuple[str, ...]
    db_pool_size: int
    # Anonymous submissions.
    default_tenant_id: uuid.UUID | None
    anon_limit_per_ip: int
    anon_limit_per_email: int
    anon_window_seconds: int
    anon_limit_per_tenant_hour: int  # anonymous submissions a tenant takes an hour, all callers together
    # How many X-Forwarded-For entries, from the right, trusted proxies wrote (0: none).
    forwarded_hops: int
    # JWTs from the platform's identity provider.
    jwt_issuer: str
    jwt_audience: str
    jwt_algorithm: str
    jwt_secret: str
    jwt_jwks_url: str
    jwt_tenant_claim: str
    jwt_role_claim: str
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
    # Without SMTP, whole mails go to the log only when this asks for it (the local demo).
    mail_log_bodies: bool
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
    # Retention: idempotency records (hours, at least 24); finished outbox events and
    # webhook deliveries (days, at least 2).
    idempotency_retention_hours: int
    retention_days: int
    # The local server's own event functions, which the relay posts CloudEvents to,
    # and how often its sweeper publishes due events again.
    events_push_url: str
    local_sweep_seconds: int


@functools.cache
def settings() -> Settings:
    env = os.environ.get
    return Settings(
        database_url=env("DATABASE_URL", ""),
        migration_database_url=env("MIGRATION_DATABASE_URL", "") or env("DATABASE_URL", ""),
        db_migration_user=env("DB_MIGRATION_USER", ""),
        instance_connection_name=env("INSTANCE_CONNECTION_NAME", ""),
        db_user=env("DB_USER", ""),
        db_password=env("DB_PASSWORD", ""),
        db_name=env("DB_NAME", "pilot_feedback"),
        db_iam_auth=_flag("DB_IAM_AUTH", True),
        db_ip_type=env("DB_IP_TYPE", "PRIVATE"),
        sqladmin_api_endpoint=env("SQLADMIN_API_ENDPOINT", ""),
        db_host=env("DB_HOST", ""),
        db_port=_int("DB_PORT", 5432),
        db_server_ca=env("DB_SERVER_CA", ""),
        gce_metadata_host=env("GCE_METADATA_HOST", "metadata.google.internal"),
        db_service_role=env("DB_SERVICE_ROLE", "pilot_feedback_app"),
        db_service_users=tuple(u.strip() for u in env("DB_SERVICE_USERS", "").split(",") if u.strip()),
        db_pool_size=_int("DB_POOL_SIZE", 8),
        default_tenant_id=_uuid_or_none("DEFAULT_TENANT_ID"),
        anon_limit_per_ip=_int("ANON_LIMIT_PER_IP", 20),
        anon_limit_per_email=_int("ANON_LIMIT_PER_EMAIL", 5),
        anon_window_seconds=_int("ANON_WINDOW_SECONDS", 3600),
        anon_limit_per_tenant_hour=_int("ANON_LIMIT_PER_TENANT_HOUR", 200),
        forwarded_hops=_int("FORWARDED_HOPS", 0),
        jwt_issuer=env("JWT_ISSUER", ""),
        jwt_audience=env("JWT_AUDIENCE", ""),
        jwt_algorithm=env("JWT_ALGORITHM", "RS256"),
        jwt_secret=env("JWT_SECRET", ""),
        jwt_jwks_url=env("JWT_JWKS_URL", ""),
        jwt_tenant_claim=env("JWT_TENANT_CLAIM", "tenant_id"),
        jwt_role_claim=env("JWT_ROLE_CLAIM", "role"),
        api_base_path=env("API_BASE_PATH", "/api/v1").rstrip("/"),
        sla_timezone=env("SLA_TIMEZONE", "UTC"),
        sla_holidays=frozenset(
            datetime.date.fromisoformat(d.strip()) for d in env("SLA_HOLIDAYS", "").split(",") if d.strip()
        ),
        public_base_url=env("PUBLIC_BASE_URL", "").rstrip("/"),
        smtp_host=env("SMTP_HOST", ""),
        smtp_port=_int("SMTP_PORT", 587),
        smtp_starttls=_flag("SMTP_STARTTLS", True),
        smtp_user=env("SMTP_USER", ""),
        smtp_password=env("SMTP_PASSWORD", ""),
        smtp_password_secret=env("SMTP_PASSWORD_SECRET", ""),
        smtp_ca_file=env("SMTP_CA_FILE", ""),
        mail_from=env("MAIL_FROM", "Pilot Feedback <feedback@localhost>"),
        mail_log_bodies=_flag("MAIL_LOG_BODIES", False),
        secret_ttl_seconds=_int("SECRET_TTL_SECONDS", 300),
        secret_manager_endpoint=env("SECRET_MANAGER_ENDPOINT", ""),
        events_topic=env("EVENTS_TOPIC", ""),
        pubsub_endpoint=env("PUBSUB_ENDPOINT", ""),
        github_api_url=env("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        github_repository=env("GITHUB_REPOSITORY", ""),
        github_token=env("GITHUB_TOKEN", ""),
        github_token_secret=env("GITHUB_TOKEN_SECRET", ""),
        github_priorities=frozenset(
            p.strip() for p in env("GITHUB_PRIORITIES", "high,urgent").split(",") if p.strip()
        ),
        github_hourly_cap=_int("GITHUB_HOURLY_CAP", 30),
        github_seconds_between_writes=float(env("GITHUB_SECONDS_BETWEEN_WRITES", "") or 1.0),
        github_webhook_key=env("GITHUB_WEBHOOK_KEY", ""),
        github_webhook_key_secret=env("GITHUB_WEBHOOK_KEY_SECRET", ""),
        github_webhook_max_age_seconds=_int("GITHUB_WEBHOOK_MAX_AGE_SECONDS", 86400),
        idempotency_retention_hours=_int("IDEMPOTENCY_RETENTION_HOURS", 72),
        retention_days=_int("RETENTION_DAYS", 30),
        events_push_url=env("EVENTS_PUSH_URL", "").rstrip("/"),
        local_sweep_seconds=_int("LOCAL_SWEEP_SECONDS", 30),
        cors_allowed_origins=frozenset(o.strip().rstrip("/") for o in env("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip()),
    )
