"""Identity-Aware Proxy in front of the console: who IAP says is calling.

IAP signs each request it lets through with an ES256 JWT in `x-goog-iap-jwt-assertion`
(issuer https://cloud.google.com/iap, audience the backend service's, the caller's
`email`), verified here against Google's published keys (IAP_JWKS_URL). With
IAP_AUDIENCE set, the console takes no page without a valid assertion, and the
session it keeps belongs to the person IAP names.
"""
from __future__ import annotations

from typing import Any

from shared import auth, errors
from shared.config import settings

HEADER = "x-goog-iap-jwt-assertion"
ISSUER = "https://cloud.google.com/iap"


def enabled() -> bool:
    return bool(settings().iap_audience)


def verified_email(headers: Any) -> str:
    """The caller's address, from a valid assertion; Forbidden with the reason otherwise."""
    import jwt

    token = headers.get(HEADER)
    if not token:
        raise errors.Forbidden("This console is reached through Identity-Aware Proxy, and the request"
                               " carried no IAP assertion.")
    cfg = settings()
    try:
        key = auth.jwks_client(cfg.iap_jwks_url).get_signing_key_from_jwt(token).key
        claims = jwt.decode(token, key, algorithms=["ES256"], audience=cfg.iap_audience, issuer=ISSUER,
                            options={"require": ["exp", "iat", "aud", "iss"]})
    except jwt.PyJWTError as exc:
        raise errors.Forbidden(f"The IAP assertion is not valid: {exc}.") from None
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise errors.Forbidden("The IAP assertion names no address.")
    return email.lower()
