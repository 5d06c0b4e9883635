"""Who is calling: API keys, JWTs from the identity provider, or anonymous by intake key.

`read_credentials` works on the request alone (a JWT is verified here, before any
database work); `authenticate` resolves the credential inside the request's
transaction and sets the tenant for row-level security in the same statement.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from shared import errors, logs, queries
from shared import secrets as secret_manager  # the standard library's `secrets` makes keys here
from shared.config import settings
from shared.db import Tx

API_KEY_PREFIX = "pfk_"
INTAKE_KEY_PREFIX = "pfi_"
ROLES = ("member", "admin", "staff")


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_intake_key() -> str:
    return INTAKE_KEY_PREFIX + secrets.token_urlsafe(24)


def key_hash(token: str) -> bytes:
    """Keys are 256 random bits, so a plain SHA-256 is a safe one-way store."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Principal:
    role: str  # anonymous, member, admin or staff
    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    # Stable name of the caller for idempotency records and logs (never a secret).
    subject: str
    email: str | None = None
    label: str | None = None  # an API key's, naming who holds it

    @property
    def actor(self) -> str:
        """Who acted, as the audit trail and notes name them: the key's label or the
        person's email where there is one, else the stable subject."""
        return self.label or self.email or self.subject

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    @property
    def can_triage(self) -> bool:
        return self.role in ("admin", "staff")


@dataclass(frozen=True)
class Credentials:
    kind: str  # api_key, jwt or anonymous
    api_key_hash: bytes | None = None
    claims: dict[str, Any] | None = None
    intake_key_hash: bytes | None = None


def read_credentials(headers: Any, args: Any) -> Credentials:
    header = headers.get(settings().authorization_header, "")
    intake = headers.get("X-Tenant-Key") or args.get("tenant_key")
    # A token sent with an intake key (the widget of a signed-in app) must be of that key's tenant.
    intake_hash = key_hash(intake) if intake else None
    if not header:
        return Credentials("anonymous", intake_key_hash=intake_hash)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise errors.Unauthorized("Use 'Authorization: Bearer <token>'.")
    if token.startswith(API_KEY_PREFIX):
        return Credentials("api_key", api_key_hash=key_hash(token), intake_key_hash=intake_hash)
    if token.count(".") == 2:
        return Credentials("jwt", claims=_verify_jwt(token), intake_key_hash=intake_hash)
    raise errors.Unauthorized("The bearer token is neither an API key nor a JWT.")


# What a key stands for never changes (a key's tenant, role and user are fixed;
# tenants are never deleted), so once seen it is remembered. Whether the key is
# still valid is proven on every request: the lookup statement goes out with the
# request's first statement and sets the tenant, so a revoked key's statement
# runs without one and row-level security gives it nothing.
_known_keys: dict[bytes, Principal] = {}
_known_intake: dict[bytes, uuid.UUID] = {}
MAX_KNOWN = 10_000

REVOKED = "The API key is unknown or revoked."
UNKNOWN_INTAKE = "The tenant key is unknown."
UNKNOWN_TENANT = "The token names a tenant that does not exist."


def remember(cache: dict, key: bytes, value: Any) -> None:
    """Keep what a credential stands for (a bounded cache; its validity is proven per request)."""
    if len(cache) >= MAX_KNOWN:
        cache.clear()
    cache[key] = value


def authenticate(tx: Tx, creds: Credentials) -> Principal:
    """Resolve the credentials and set the transaction's tenant.

    A credential seen before is checked together with the request's first
    statement (one round trip saved); a new one is looked up at once.
    """
    if creds.kind == "anonymous":
        return _anonymous(tx, creds)
    principal = _token_principal(tx, creds)
    if creds.intake_key_hash is not None and _intake_tenant(tx, creds.intake_key_hash) != principal.tenant_id:
        raise errors.Forbidden("The token and the tenant key belong to different tenants: send the token alone,"
                               " or the tenant key of the token's tenant.")
    return principal


def _token_principal(tx: Tx, creds: Credentials) -> Principal:
    if creds.api_key_hash is not None:  # an API key's credentials
        known = _known_keys.get(creds.api_key_hash)
        if known is not None:
            tx.defer_check(queries.AUTH_API_KEY, errors.Unauthorized(REVOKED), key_hash=creds.api_key_hash)
            return known
        row = tx.one(queries.AUTH_API_KEY, key_hash=creds.api_key_hash)
        if row is None:
            raise errors.Unauthorized(REVOKED)
        key_id, tenant_id, role, user_id, label = row[:5]
        principal = Principal(role, tenant_id, user_id or key_id, f"key:{key_id}", label=label)
        remember(_known_keys, creds.api_key_hash, principal)
        return principal
    return _jwt_principal(tx, creds.claims or {})


def _intake_tenant(tx: Tx, intake_key_hash: bytes) -> uuid.UUID | None:
    """The tenant an intake key names, without acting as it (the token's tenant is set)."""
    known = _known_intake.get(intake_key_hash)
    return known if known is not None else tx.scalar(queries.INTAKE_ORIGINS_TENANT, key_hash=intake_key_hash)


def _anonymous(tx: Tx, creds: Credentials) -> Principal:
    if creds.intake_key_hash is not None:
        tenant_id = _known_intake.get(creds.intake_key_hash)
        if tenant_id is not None:
            tx.defer_check(queries.AUTH_INTAKE_KEY, errors.Unauthorized(UNKNOWN_INTAKE), key_hash=creds.intake_key_hash)
        else:
            row = tx.one(queries.AUTH_INTAKE_KEY, key_hash=creds.intake_key_hash)
            if row is None:
                raise errors.Unauthorized(UNKNOWN_INTAKE)
            tenant_id = row[0]
            remember(_known_intake, creds.intake_key_hash, tenant_id)
        return Principal("anonymous", tenant_id, None, "anonymous")
    default = settings().default_tenant_id
    if default is None:
        raise errors.Unauthorized("Authentication required: a bearer token or a tenant key.")
    _check_tenant(tx, default, staff=False)
    return Principal("anonymous", default, None, "anonymous")


def _check_tenant(tx: Tx, tenant_id: uuid.UUID, *, staff: bool) -> None:
    tx.defer_check(queries.AUTH_TENANT, errors.Unauthorized(UNKNOWN_TENANT),
                   tenant=str(tenant_id), staff="on" if staff else "")


def _jwt_principal(tx: Tx, claims: dict[str, Any]) -> Principal:
    cfg = settings()
    role = claims.get(cfg.jwt_role_claim) or "member"
    if role not in ROLES:
        raise errors.Unauthorized("The token's role is not one this service knows.")
    try:
        tenant_id = uuid.UUID(str(claims.get(cfg.jwt_tenant_claim)))
    except ValueError:
        raise errors.Unauthorized("The token names no tenant.") from None
    subject = str(claims["sub"])
    try:
        user_id = uuid.UUID(subject)
    except ValueError:
        # A stable UUID for providers whose subjects are not UUIDs.
        user_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{cfg.jwt_issuer}#{subject}")
    _check_tenant(tx, tenant_id, staff=role == "staff")
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    return Principal(role, tenant_id, user_id, f"jwt:{user_id}", email)


def _verify_jwt(token: str) -> dict[str, Any]:
    cfg = settings()
    if not (cfg.jwt_issuer and cfg.jwt_audience and (cfg.jwt_secret or cfg.jwt_secret_secret or cfg.jwt_jwks_url)):
        raise errors.Unauthorized("This deployment does not accept JWTs.")
    import jwt  # only callers that present a JWT pay for the import

    try:
        if cfg.jwt_algorithm.startswith("HS"):
            key: Any = _hs_key()
        else:
            key = jwks_client(cfg.jwt_jwks_url).get_signing_key_from_jwt(token).key
        return jwt.decode(
            token,
            key,
            algorithms=[cfg.jwt_algorithm],
            audience=cfg.jwt_audience,
            issuer=cfg.jwt_issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
            leeway=30,
        )
    except jwt.PyJWTError:
        raise errors.Unauthorized("The token is invalid or expired.") from None


def _hs_key() -> str:
    """The shared key of HS256 tokens: read from Secret Manager when first needed (and
    every SECRET_TTL_SECONDS), so a deployment starts before the key's first version exists."""
    cfg = settings()
    try:
        return secret_manager.value(cfg.jwt_secret, cfg.jwt_secret_secret)
    except secret_manager.SecretUnavailable as exc:
        logs.log("ERROR", "the JWT key cannot be read", reason=str(exc))
        raise errors.ServiceUnavailable("Tokens cannot be verified right now; retry shortly.") from None


@functools.cache
def jwks_client(url: str) -> Any:
    """A key set's client, its keys kept for an hour (the identity provider's, or IAP's)."""
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600)
