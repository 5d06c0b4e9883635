"""Request models: what the API validates bodies and query strings with."""
from __future__ import annotations

import datetime
import json
import os
import uuid
from typing import Annotated, Any, Literal, Union

# No pydantic plugins are used; without this, building the first validator scans
# every installed distribution's entry points for them (about 9 ms of a cold start).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from pydantic import (  # noqa: E402
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
)
from typing_extensions import TypeAliasType  # noqa: E402

from shared import errors  # noqa: E402
from shared.choices import DEFAULT_PRIORITY, FeedbackType, Priority, SlaStatus, Source, Status  # noqa: E402

SortOrder = Literal["newest", "oldest", "votes", "priority", "sla"]


def _iso_day(value: Any) -> Any:
    """A day only as YYYY-MM-DD (pydantic alone would also read a number as a timestamp)."""
    if not (isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-"):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = Annotated[datetime.date, BeforeValidator(_iso_day)]

MAX_CONTEXT_BYTES = 16 * 1024
MAX_TAGS = 20

# Patterns use explicit character classes, not \s, so that the regex engines of
# pydantic, Python and JSON Schema clients all read them alike; nothing is stripped,
# so what the schema accepts is exactly what the API accepts and stores.
def _pattern(regex: str, meaning: str) -> str:
    """A pattern, and what it asks for in words: a person is told this, not the expression."""
    errors.PATTERN_MEANINGS[regex] = meaning
    return regex


# PostgreSQL text and jsonb cannot hold NUL; refuse it rather than fail at the database.
_NO_NUL = _pattern(r"^[^\x00]*$", "Must not contain NUL characters")
# At least one character that is not NUL or ASCII white space.
_NOT_BLANK = _pattern(r"^[^\x00]*[^\x00\x09-\x0d ][^\x00]*$",
                      "Must contain a character other than white space (and no NUL)")
# Query parameters people send under the body's name.
errors.FIELD_HINTS.update({"feedback_type": "the list filters by type with `type`"})


def _text(max_length: int, pattern: str, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern)]


Summary = _text(255, _NOT_BLANK, 1)
Description = _text(20_000, _NO_NUL)
Name = _text(200, _NOT_BLANK, 1)
# A mail address as a mail system takes it without SMTPUTF8: ASCII before the @ (64
# characters at most), a domain of dotted labels (an internationalised one written as
# punycode) that is not a special-use name, which can receive no mail. The schema says all
# of it, so that what it allows, email-validator allows too.
SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")  # as email-validator's
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SPECIAL = "|".join("".join(f"[{c}{c.upper()}]" for c in name) for name in SPECIAL_USE_DOMAINS)
EMAIL_PATTERN = (rf"^(?=[^@]{{1,64}}@)(?!.*\.({_SPECIAL})$){_ATOM}(\.{_ATOM})*@({_LABEL}\.)+"
                 rf"[A-Za-z]([A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?$")


def _mail_address(value: str) -> str:
    """Checked by email-validator as well (lengths, reserved domains), imported only when
    an address is given; the address kept is its ASCII form with the domain lower-cased."""
    if not value.isascii():
        raise ValueError("not a mail address this service can send to: write it in ASCII (an"
                         " internationalised domain as its xn-- form)")
    import email_validator

    try:
        found = email_validator.validate_email(value, check_deliverability=False, allow_smtputf8=False, strict=True)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"not a mail address: {exc}") from None
    if found.ascii_email is None:  # needs SMTPUTF8, refused above: never here
        raise ValueError("not a mail address this service can send to")
    return found.ascii_email


MAX_EMAIL = 254
# The pattern (with look-arounds pydantic's engine lacks) is the schema's; email-validator
# checks the same and more.
Email = Annotated[
    str,
    StringConstraints(max_length=MAX_EMAIL),
    AfterValidator(_mail_address),
    Field(json_schema_extra={"format": "email", "pattern": EMAIL_PATTERN}),
]
Tag = _text(50, _pattern(r"^[^\x00-\x1f]*[^\x00-\x20][^\x00-\x1f]*$",
                         "Must contain a visible character and no control characters"), 1)


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


# Any JSON whose strings (keys included) hold no NUL, which jsonb cannot store.
_JsonText = Annotated[str, StringConstraints(pattern=_NO_NUL)]
MAX_CONTEXT_KEYS = 50
# A context value nests arrays and objects this deep at most. The schema spells each
# level out rather than refer to itself: code generators cannot follow a recursive union.
MAX_CONTEXT_DEPTH = 3


def _context_value_type() -> Any:
    scalar = Union[_JsonText, int, float, bool, None]  # noqa: UP007
    value: Any = TypeAliasType("ContextScalar", scalar)
    for depth in range(1, MAX_CONTEXT_DEPTH + 1):
        value = TypeAliasType(f"ContextValue{depth}", Union[scalar, list[value], dict[_JsonText, value]])  # noqa: UP007
    return value


ContextValue = _context_value_type()


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


def _valid_context(value: Any) -> dict[str, Any]:
    """Checked by hand rather than as the recursive union it is documented as: the
    union's errors would name every member instead of the field."""
    if not isinstance(value, dict):
        raise ValueError("context must be a JSON object")
    if len(value) > MAX_CONTEXT_KEYS:
        raise ValueError(f"context may have at most {MAX_CONTEXT_KEYS} keys")
    if any(_depth(v) > MAX_CONTEXT_DEPTH for v in value.values()):
        raise ValueError(f"context values may nest arrays and objects {MAX_CONTEXT_DEPTH} deep at most")
    if _has_nul(value):
        raise ValueError("context must not contain NUL characters")
    try:
        encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        # NaN, Infinity and numbers too large for a double (1e400): JSON has no such numbers.
        raise ValueError("context numbers must be finite (no NaN, Infinity or 1e400)") from None
    if len(encoded.encode()) > MAX_CONTEXT_BYTES:
        raise ValueError(f"context must encode to at most {MAX_CONTEXT_BYTES} bytes of JSON")
    return value


Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]
Context = Annotated[
    dict[str, Any],
    PlainValidator(_valid_context, json_schema_input_type=dict[_JsonText, ContextValue]),
    Field(
        description=f"A JSON object of at most {MAX_CONTEXT_KEYS} keys and {MAX_CONTEXT_BYTES} bytes.",
        json_schema_extra={"maxProperties": MAX_CONTEXT_KEYS},
    ),
]
def _integral_float(value: Any) -> Any:
    """JSON Schema counts 2.0 as an integer; so does the API (but not "2" or true)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Rating = Annotated[int, Field(ge=1, le=5), BeforeValidator(_integral_float)]


class _Model(BaseModel):
    # Validators are built on first use: a cold start pays only for the models its
    # first request needs (the response models serve the OpenAPI document alone).
    model_config = ConfigDict(defer_build=True)


class _Body(_Model):
    # Unknown fields are an error; JSON types are not coerced ("3" is not a rating).
    model_config = ConfigDict(extra="forbid", strict=True)


class FeedbackCreate(_Body):
    """The guide's submission body."""

    feedback_type: FeedbackType
    summary: Summary
    description: Description = ""
    priority: Priority = DEFAULT_PRIORITY
    source: Source = "api"
    context: Context = Field(default_factory=dict)
    tags: Tags = Field(default_factory=list)
    rating: Rating | None = None
    submitter_email: Email | None = None
    submitter_name: Name | None = None


class FeedbackUpdate(_Body):
    """PATCH body: only the fields present are changed; null is refused except for rating."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    feedback_type: FeedbackType = None  # type: ignore[assignment]
    priority: Priority = None  # type: ignore[assignment]
    summary: Summary = None
    description: Description = None
    tags: Tags = None  # type: ignore[assignment]
    context: Context = None  # type: ignore[assignment]
    rating: Rating | None = None


# Fields a submitter may change while the item is new; the rest need admin or staff.
SUBMITTER_FIELDS = frozenset({"summary", "description", "tags", "context", "rating"})
TRIAGE_FIELDS = frozenset({"feedback_type", "priority", "tags"})


class ListQuery(_Model):
    """Query parameters of GET /feedback/ (strings from the URL, so not strict)."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    type: FeedbackType | None = None
    priority: Priority | None = None
    source: Source | None = None
    tag: Tag | None = None
    q: _text(200, _NO_NUL) | None = None
    mine: bool = False
    assignee: uuid.UUID | Literal["me", "none"] | None = Field(
        None, description="A team member's id, `me` (the caller), or `none` (unassigned).")
    sla_status: SlaStatus | None = None
    created_after: Day | None = Field(None, description="Created on this day (UTC) or later.")
    created_before: Day | None = Field(None, description="Created before this day (UTC).")
    sort: SortOrder = "newest"
    limit: int = Field(20, ge=1, le=100)
    cursor: uuid.UUID | None = Field(None, description="The `next` of the previous page.")
    tenant_id: uuid.UUID | None = Field(None, description="Staff only: one tenant's items.")


class StatsQuery(_Model):
    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID | None = Field(None, description="Staff only: one tenant's numbers.")


class SignedLinkQuery(_Model):
    # Extra parameters are ignored: mail clients and scanners add their own.
    token: str = Field(min_length=3, max_length=1000, description="The signed token from the link.")


PublicResponse = _text(10_000, _NOT_BLANK, 1)
Reason = _text(2_000, _NOT_BLANK, 1)


class RespondBody(_Body):
    """The public response to the submitter, and optionally a new status."""

    response: PublicResponse
    status: Status | None = None


class CompleteBody(_Body):
    response: PublicResponse | None = None


class StatusBody(_Body):
    """A status change: declining needs a reason, a duplicate names its original."""

    status: Status
    reason: Reason | None = None
    duplicate_of: uuid.UUID | None = None


class AssignBody(_Body):
    """Who works on the item: a user id, an email, or both; neither unassigns."""

    assignee_id: uuid.UUID | None = None
    assignee_email: Email | None = None


NoteText = _text(10_000, _NOT_BLANK, 1)


class NoteBody(_Body):
    body: NoteText


# An issue page on GitHub (or GitHub Enterprise Server): https://host/owner/repo/issues/N
GitHubIssueUrl = _text(500, _pattern(
    r"^https://[A-Za-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/issues/[1-9][0-9]{0,9}$",
    "Must be an issue's page: https://HOST/OWNER/REPOSITORY/issues/NUMBER"))


class GitHubLinkBody(_Body):
    """The linked GitHub issue; null unlinks."""

    url: GitHubIssueUrl | None


class BulkBody(_Body):
    """One change to each of up to 100 items, each checked and audited on its own."""

    ids: list[uuid.UUID] = Field(min_length=1, max_length=100)
    action: Literal["acknowledge", "assign", "priority", "status"]
    assignee_id: uuid.UUID | None = Field(None, description="assign: whom (neither field: unassign)")
    assignee_email: Email | None = None
    priority: Priority | None = Field(None, description="priority: the new priority")
    status: Status | None = Field(None, description="status: where to move them")
    reason: Reason | None = Field(None, description="status declined: why, for the submitters")
