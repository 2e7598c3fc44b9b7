"""Review decisions on visits, and the review API's schemas."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, model_validator
from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from api.assignments.models import AssignmentStatus, LocationBrief
from api.common import UTCDateTime, created_at_field, enum_field
from api.errors import FieldProblem
from api.qc.models import FlagCounts, FlagPublic, QcRunPublic
from api.visits.models import VisitPublic
from scoring import Severity


class ReviewAction(StrEnum):
    approve = "approve"
    reject = "reject"
    return_ = "return"
    revoke = "revoke"
    auto_approve = "auto_approve"
    """QC found nothing to review and the project approves such visits by itself."""
    deadline_reject = "deadline_reject"
    """A returned visit was not resubmitted before its deadline."""


class Review(SQLModel, table=True):
    """One decision on a visit: who (None: the system), what, from which state to which, why."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_visit", "visit_id"),
        Index("ix_reviews_action_deadline", "action", "resubmit_by"),
    )

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visits.id")
    assignment_id: int = Field(foreign_key="assignments.id")
    reviewer_id: int | None = Field(default=None, foreign_key="users.id")
    action: ReviewAction = enum_field(ReviewAction)
    from_state: AssignmentStatus = enum_field(AssignmentStatus)
    to_state: AssignmentStatus = enum_field(AssignmentStatus)
    comment: str = Field(default="", sa_type=Text)
    qc_run: int | None = Field(default=None, description="The QC run the reviewer saw.")
    resubmit_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


# ---------------------------------------------------------------- requests


class _Strict(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class ReviewRequest(_Strict):
    action: Literal["approve", "reject", "return", "revoke"]
    comment: str = Field(
        default="", max_length=4000, description="Required for return: what to fix."
    )
    resubmit_by: AwareDatetime | None = Field(
        default=None,
        description="Return only: the resubmission deadline (default: now plus the project's "
        "qc.return_deadline_hours).",
    )

    @model_validator(mode="after")
    def _return_says_why(self) -> ReviewRequest:
        if self.action == "return" and not self.comment.strip():
            raise FieldProblem(
                "comment", "a return needs a comment that tells the shopper what to fix"
            )
        if self.resubmit_by is not None and self.action != "return":
            raise FieldProblem("resubmit_by", "resubmit_by goes with a return only")
        return self


class BulkApproveRequest(_Strict):
    """Approve every clean (no warn or fail flag) submitted visit that matches the filters."""

    location_id: int | None = None
    rule: str | None = Field(
        default=None, description="Only visits with an info flag of this rule."
    )
    visit_ids: list[int] | None = Field(
        default=None, max_length=1000, description="Only these visits."
    )
    submitted_before: datetime | None = None
    limit: int = Field(default=500, ge=1, le=1000)
    comment: str = Field(default="", max_length=4000)
    dry_run: bool = Field(default=False, description="List the visits, approve nothing.")


# ---------------------------------------------------------------- reads


class ReviewPublic(SQLModel):
    id: int
    visit_id: int
    reviewer_id: int | None
    action: ReviewAction
    from_state: AssignmentStatus
    to_state: AssignmentStatus
    comment: str
    qc_run: int | None
    resubmit_by: datetime | None
    created_at: datetime


class QueueItem(SQLModel):
    visit_id: int
    assignment_id: int
    location: LocationBrief
    shopper_id: int
    shopper_name: str
    submitted_at: datetime
    waited_seconds: int = Field(description="Since the (latest) submission.")
    worst_severity: Severity | None = Field(description="Of the current QC run; null when clean.")
    flag_counts: FlagCounts
    qc_run: int | None
    returns: int = Field(description="How often this visit was returned before.")


class ShopperBrief(SQLModel):
    id: int
    name: str
    rating: float | None
    approved_visits: int


class VisitReviewPublic(SQLModel):
    visit: VisitPublic
    project_id: int
    location: LocationBrief
    shopper: ShopperBrief
    worst_severity: Severity | None
    current_flags: list[FlagPublic]
    qc_runs: list[QcRunPublic] = Field(description="Every QC run, the latest first.")
    reviews: list[ReviewPublic] = Field(description="Every decision, oldest first.")
    resubmit_by: datetime | None = Field(description="While returned: the resubmission deadline.")


class BulkApproveResult(SQLModel):
    dry_run: bool
    count: int
    visit_ids: list[int]


class ReturnNoticePublic(SQLModel):
    """What the shopper must fix in a returned visit, and by when (nulls unless returned)."""

    visit_id: int
    status: AssignmentStatus
    comment: str | None
    returned_at: datetime | None
    resubmit_by: datetime | None
