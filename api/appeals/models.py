"""Appeals against approved visits, and the appeals API's schemas.

No schema here names or identifies a shopper except the staff-only statistics per shopper: a
client's user files and follows appeals by visit id and location.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, model_validator
from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel

from api.common import UTCDateTime, created_at_field, enum_field
from api.errors import FieldProblem


class AppealStatus(StrEnum):
    open = "open"
    upheld = "upheld"
    dismissed = "dismissed"


class AppealAction(StrEnum):
    void = "void"
    """The visit leaves the results: its approval is revoked and it is rejected."""
    amend = "amend"
    """Named answers are corrected and the visit is re-scored."""


class Appeal(SQLModel, table=True):
    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_project_status", "project_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id")
    visit_id: int = Field(foreign_key="visits.id", index=True)
    location_id: int = Field(foreign_key="locations.id")
    # The visit's id while the appeal is open, else NULL: the unique index lets a visit have at
    # most one open appeal in the database itself (NULLs never clash, on SQLite and PostgreSQL).
    open_visit_id: int | None = Field(default=None, unique=True)
    status: AppealStatus = enum_field(AppealStatus, AppealStatus.open)
    reason: str = Field(sa_type=Text)
    filed_by: int = Field(foreign_key="users.id")
    filed_at: datetime = created_at_field()
    approved_at: datetime = Field(sa_type=UTCDateTime, description="When the visit was approved.")
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_comment: str = Field(default="", sa_type=Text)
    action: AppealAction | None = enum_field(AppealAction, None, nullable=True)
    amendments: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    score_before: float | None = None
    score_after: float | None = None


# ---------------------------------------------------------------- requests


class _Strict(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class AppealCreate(_Strict):
    reason: str = Field(min_length=1, max_length=4000, description="What is wrong with the visit.")

    @model_validator(mode="after")
    def _says_why(self) -> AppealCreate:
        if not self.reason.strip():
            raise FieldProblem("reason", "an appeal needs a reason")
        return self


Amendments = dict[str, dict[str, Any]]


class AppealDecision(_Strict):
    outcome: Literal["upheld", "dismissed"]
    comment: str = Field(min_length=1, max_length=4000, description="Why; the client reads it.")
    action: AppealAction | None = Field(
        default=None, description="Required when upheld: void the visit or amend its answers."
    )
    amendments: Amendments | None = Field(
        default=None,
        description="For amend: step key → {question key: corrected answer}; other answers stay.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> AppealDecision:
        if not self.comment.strip():
            raise FieldProblem("comment", "a decision needs a comment")
        if self.outcome == "dismissed":
            if self.action is not None or self.amendments:
                raise FieldProblem(
                    "action" if self.action is not None else "amendments",
                    "a dismissed appeal changes nothing: no action or amendments",
                )
            return self
        if self.action is None:
            raise FieldProblem("action", "an upheld appeal needs an action: void or amend")
        if self.action == AppealAction.amend:
            if not self.amendments or not all(self.amendments.values()):
                raise FieldProblem(
                    "amendments", "amend needs at least one corrected answer per named step"
                )
        elif self.amendments:
            raise FieldProblem("amendments", "void takes no amendments")
        return self


# ---------------------------------------------------------------- reads


class AppealPublic(SQLModel):
    id: int
    project_id: int
    visit_id: int
    location_id: int
    location_code: str
    location_name: str
    status: AppealStatus
    reason: str
    filed_by: int
    filed_at: datetime
    approved_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    decision_comment: str
    action: AppealAction | None
    amendments: dict[str, Any]
    score_before: float | None = Field(description="The visit score before an amendment.")
    score_after: float | None = Field(description="The re-scored visit score after it.")


class AppealableVisit(SQLModel):
    """An approved visit the client may still appeal (no shopper identity)."""

    visit_id: int
    location_id: int
    location_code: str
    location_name: str
    visit_day: date
    score: float | None
    approved_at: datetime
    appeal_until: datetime
    open_appeal_id: int | None


class AppealRate(SQLModel):
    approved_visits: int = Field(
        description="Visits approved now, plus visits voided on appeal (approved when appealed)."
    )
    appeals: int
    open: int
    upheld: int
    dismissed: int
    appeal_rate: float | None = Field(description="appeals / approved_visits.")
    upheld_rate: float | None = Field(description="upheld / decided (upheld + dismissed).")


class LocationAppealRate(AppealRate):
    location_id: int
    code: str
    name: str


class ShopperAppealRate(AppealRate):
    shopper_id: int | None
    username: str | None


class AppealStats(SQLModel):
    total: AppealRate
    locations: list[LocationAppealRate] = Field(description="Most appeals first.")
    shoppers: list[ShopperAppealRate] = Field(description="Most appeals first.")
