"""Response models: the shapes the OpenAPI document promises.

Kept apart from the request models so that serving a request never pays for
building them: PostgreSQL writes the JSON, and only the OpenAPI route reads these.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.choices import FeedbackType, Priority, SlaStatus, Source, Status


class FeedbackOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    feedback_type: FeedbackType
    summary: str
    description: str
    priority: Priority
    status: Status
    source: Source
    context: dict[str, Any]
    tags: list[str]
    rating: int | None
    submitted_by: uuid.UUID | None
    submitter_email: str | None = Field(
        description="Shown to admins, staff and the submitter; null for everyone else."
    )
    submitter_name: str | None
    github_issue_url: str | None
    github_sync_error: str | None = Field(
        description="Why no GitHub issue could be made (admins and staff only); null otherwise."
    )
    public_response: str | None
    decline_reason: str | None
    duplicate_of: uuid.UUID | None
    assignee_id: uuid.UUID | None
    assignee_email: str | None = Field(description="Shown to admins and staff only; null for everyone else.")
    vote_count: int
    voted: bool = Field(description="Whether the caller has voted for this item.")
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    sla_due_at: datetime = Field(description="When the first response is due.")
    sla_status: SlaStatus
    status_url: str | None = Field(
        None, description="In the answer to a submission only: the submitter's read-only status page (a signed link).")


class FeedbackPage(BaseModel):
    items: list[FeedbackOut]
    next: str | None = Field(description="Cursor of the next page; null on the last page.")


class VoteResult(BaseModel):
    id: uuid.UUID
    vote_count: int
    voted: bool


class SlaCounts(BaseModel):
    met: int
    breached: int


class Stats(BaseModel):
    total: int
    by_type: dict[str, int]
    by_status: dict[str, int]
    by_priority: dict[str, int]
    avg_response_time_hours: float | None = Field(
        description="Mean hours from submission to acknowledgement; null before any."
    )
    open_count: int
    resolved_count: int = Field(description="Items completed, declined or marked duplicate.")


class TriageStats(Stats):
    sla_by_priority: dict[str, SlaCounts] = Field(
        description="Per priority: answered within the SLA (met), and answered late or overdue (breached).")
    open_by_assignee: dict[str, int] = Field(description="Open items per assignee id ('unassigned' for none).")
    by_tenant: dict[str, TriageStats] | None = Field(
        None, description="Staff looking at every tenant: the same figures per tenant.")


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


class AuditEntry(BaseModel):
    id: int
    action: str
    actor: str
    actor_role: str
    old: Any
    new: Any
    at: datetime


class History(BaseModel):
    items: list[AuditEntry]


class Note(BaseModel):
    id: uuid.UUID
    author: str
    body: str
    created_at: datetime


class Notes(BaseModel):
    items: list[Note]


class BulkOutcome(BaseModel):
    id: uuid.UUID
    ok: bool
    status: int | None = Field(None, description="Refused: the status the change alone would have had.")
    detail: str | None = Field(None, description="Refused: why.")


class BulkResults(BaseModel):
    results: list[BulkOutcome]


class TeamMember(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    role: Literal["admin", "staff"]


class Team(BaseModel):
    items: list[TeamMember]
