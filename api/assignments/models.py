from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import model_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from api.common import UTCDateTime, created_at_field, enum_field, utcnow
from api.errors import FieldProblem
from api.personas.models import PersonaBrief


class AssignmentStatus(StrEnum):
    open = "open"  # on the job board, no shopper yet
    offered = "offered"
    accepted = "accepted"
    in_progress = "in_progress"
    submitted = "submitted"
    returned = "returned"
    approved = "approved"
    rejected = "rejected"
    declined = "declined"
    expired = "expired"
    cancelled = "cancelled"


# States in which the shopper still has work to do: they count against max_open_per_shopper.
OPEN_STATES = frozenset(
    {
        AssignmentStatus.offered,
        AssignmentStatus.accepted,
        AssignmentStatus.in_progress,
        AssignmentStatus.returned,
    }
)
# States that never became (or will never become) a visit: they count against no cap.
VOID_STATES = frozenset(
    {
        AssignmentStatus.declined,
        AssignmentStatus.expired,
        AssignmentStatus.cancelled,
        AssignmentStatus.open,
    }
)


class Assignment(SQLModel, table=True):
    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_project_status", "project_id", "status"),
        Index("ix_assignments_shopper_day", "shopper_id", "visit_day"),
        Index("ix_assignments_location_day", "location_id", "visit_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id")
    location_id: int = Field(foreign_key="locations.id")
    shopper_id: int | None = Field(default=None, foreign_key="users.id")
    wave_id: int | None = Field(default=None, foreign_key="waves.id")
    persona_id: int | None = Field(default=None, foreign_key="personas.id")
    journey_version_id: int = Field(foreign_key="journey_versions.id")
    status: AssignmentStatus = enum_field(AssignmentStatus, AssignmentStatus.offered)
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_end: datetime = Field(sa_type=UTCDateTime, index=True)
    visit_day: date = Field(description="Day the visit counts on for daily and period caps.")
    job_board: bool = Field(default=False, description="Created without a shopper, for claiming.")
    notes: str = Field(default="", max_length=2000)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AssignmentCreate(SQLModel):
    location_id: int
    shopper_id: int | None = Field(
        default=None, description="Empty puts the assignment on the job board."
    )
    wave_id: int | None = None
    persona_id: int | None = Field(
        default=None, description="One of the project's personas for the shopper to play."
    )
    window_start: datetime
    window_end: datetime
    notes: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _window(self) -> AssignmentCreate:
        if self.window_start.tzinfo is None or self.window_end.tzinfo is None:
            raise FieldProblem(
                "window_start" if self.window_start.tzinfo is None else "window_end",
                "window_start and window_end need a time zone (e.g. 2026-12-01T09:00:00Z)",
            )
        if self.window_end <= self.window_start:
            raise FieldProblem("window_end", "window_end must be after window_start")
        return self


class BulkAssignmentCreate(SQLModel):
    items: list[AssignmentCreate] = Field(min_length=1, max_length=20_000)
    dry_run: bool = Field(
        default=False, description="Check every row against the caps, create nothing."
    )
    all_or_nothing: bool = Field(
        default=True, description="Refuse the whole batch when one row is refused."
    )


class RowVerdict(SQLModel):
    index: int
    ok: bool
    assignment_id: int | None = None
    rule: str | None = None
    detail: str | None = None


class BulkResult(SQLModel):
    created: int
    refused: int
    dry_run: bool
    rows: list[RowVerdict]


class OfferRequest(SQLModel):
    shopper_id: int


class CommentRequest(SQLModel):
    comment: str = Field(default="", max_length=2000)


class LocationBrief(SQLModel):
    id: int
    code: str
    name: str
    kind: str
    address: str
    city: str
    region: str
    latitude: float | None
    longitude: float | None
    url: str
    phone: str


class AssignmentPublic(SQLModel):
    id: int
    project_id: int
    project_name: str
    location: LocationBrief
    shopper_id: int | None
    wave_id: int | None
    persona_id: int | None = None
    persona: PersonaBrief | None = Field(
        default=None, description="The persona (customer segment) to play on this visit."
    )
    journey_version_id: int
    status: AssignmentStatus
    job_board: bool
    window_start: datetime
    window_end: datetime
    notes: str
    created_at: datetime
    updated_at: datetime
