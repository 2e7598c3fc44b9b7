"""The events a project streams (``GET /api/v1/projects/{id}/events``) and who may see them."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class EventType(StrEnum):
    assignment_changed = "assignment.changed"
    visit_submitted = "visit.submitted"
    visit_returned = "visit.returned"
    visit_rejected = "visit.rejected"
    visit_approved = "visit.approved"
    visit_revoked = "visit.revoked"
    results_changed = "results.changed"
    appeal_changed = "appeal.changed"


# Clients see only what QC approved: approvals, their revocation and the results they change,
# and the appeals their users file against approved visits.
CLIENT_EVENTS = frozenset(
    {
        EventType.visit_approved,
        EventType.visit_revoked,
        EventType.results_changed,
        EventType.appeal_changed,
    }
)


def new_event_id() -> str:
    """Unique across processes and roughly time-ordered: milliseconds, then randomness."""
    return f"{time.time_ns() // 1_000_000:x}-{secrets.token_hex(4)}"


class Event(BaseModel):
    """One event as the stream's ``data`` carries it (``id`` is also the SSE ``id:`` field)."""

    id: str = Field(default_factory=new_event_id)
    type: EventType
    project_id: int
    visit_id: int | None = None
    assignment_id: int | None = None
    state: str | None = Field(default=None, description="The assignment's state after the change.")
    appeal_id: int | None = None
    appeal_status: str | None = Field(
        default=None, description="The appeal's status after the change (appeal.changed)."
    )
    at: datetime

    @property
    def for_clients(self) -> bool:
        return self.type in CLIENT_EVENTS

    def data(self) -> str:
        return self.model_dump_json(exclude_none=True)
