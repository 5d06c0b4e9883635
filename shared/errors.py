"""Domain errors, each rendered as an RFC 9457 problem document.

One class per failure a caller handles differently; the HTTP layer only reads
`status`, `title`, `problem_type`, `headers` and `body()`.
"""
from __future__ import annotations

from typing import Any

PROBLEM_BASE = "urn:pilot-feedback:problem:"


class ApiError(Exception):
    status = 500
    title = "Internal Server Error"
    slug = "internal"

    def __init__(
        self,
        detail: str = "",
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    @property
    def problem_type(self) -> str:
        return PROBLEM_BASE + self.slug

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": self.problem_type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            doc["instance"] = instance
        if self.errors:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


class BadRequest(ApiError):
    status, title, slug = 400, "Bad Request", "bad-request"


class Unauthorized(ApiError):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str = "", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="pilot-feedback"'})
        super().__init__(detail, **kw)


class Forbidden(ApiError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(ApiError):
    status, title, slug = 404, "Not Found", "not-found"


class MethodNotAllowed(ApiError):
    status, title, slug = 405, "Method Not Allowed", "method-not-allowed"


class MailRefused(ApiError):
    """A mail refused for good (Mailgun posts a mail again on any other answer but 200)."""
    status, title, slug = 406, "Mail Refused", "mail-refused"


class Conflict(ApiError):
    status, title, slug = 409, "Conflict", "conflict"


class IdempotencyInFlight(Conflict):
    slug = "idempotency-in-flight"


class PayloadTooLarge(ApiError):
    status, title, slug = 413, "Payload Too Large", "payload-too-large"


class UnsupportedMediaType(ApiError):
    status, title, slug = 415, "Unsupported Media Type", "unsupported-media-type"


class ValidationFailed(ApiError):
    status, title, slug = 422, "Unprocessable Content", "validation"


class IdempotencyMismatch(ValidationFailed):
    slug = "idempotency-key-reused"


class RateLimited(ApiError):
    status, title, slug = 429, "Too Many Requests", "rate-limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(ApiError):
    status, title, slug = 503, "Service Unavailable", "unavailable"

    def __init__(self, detail: str = "The database is unavailable; retry shortly.") -> None:
        super().__init__(detail, headers={"Retry-After": "5"})


# What a pattern asks for, in words (shared.models registers its patterns), and what a
# field sent under another name is called: a person reads these, not regular expressions.
PATTERN_MEANINGS: dict[str, str] = {}
FIELD_HINTS: dict[str, str] = {}


def field_errors(validation_error: Any) -> list[dict[str, Any]]:
    """Pydantic's errors as `{field, message, type}` items, without echoing input values."""
    out = []
    for err in validation_error.errors(include_input=False, include_url=False):
        message = err["msg"]
        name = str(err["loc"][-1]) if err["loc"] else ""
        if err["type"] == "string_pattern_mismatch":
            message = PATTERN_MEANINGS.get(err.get("ctx", {}).get("pattern"), "Has characters that are not allowed")
        elif err["type"] == "extra_forbidden" and name in FIELD_HINTS:
            message = f"{message}: {FIELD_HINTS[name]}"
        out.append({"field": ".".join(str(p) for p in err["loc"]) or "body", "message": message, "type": err["type"]})
    return out
