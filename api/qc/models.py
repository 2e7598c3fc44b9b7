"""QC runs of a visit (one per submission) and the flags each run raised."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.common import created_at_field, enum_field
from scoring import Severity


class QcFlag(SQLModel, table=True):
    """One flag of one QC run; every (re)submission adds a run and keeps the earlier ones."""

    __tablename__ = "qc_flags"
    __table_args__ = (Index("ix_qc_flags_visit_run", "visit_id", "run"),)

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visits.id")
    run: int = Field(ge=1)
    rule: str = Field(max_length=40)
    severity: Severity = enum_field(Severity)
    step_key: str | None = Field(default=None, max_length=64)
    question_key: str | None = Field(default=None, max_length=64)
    message: str = Field(max_length=2000)
    created_at: datetime = created_at_field()


class QcRun(SQLModel, table=True):
    """One QC run of a visit; ``current`` marks the latest, which the review queue looks at."""

    __tablename__ = "qc_runs"
    __table_args__ = (
        UniqueConstraint("visit_id", "run"),
        Index("ix_qc_runs_current_visit", "current", "visit_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visits.id")
    run: int = Field(ge=1)
    current: bool = True
    worst_severity: Severity | None = enum_field(Severity, None, nullable=True)
    info_count: int = 0
    warn_count: int = 0
    fail_count: int = 0
    created_at: datetime = created_at_field()


class FlagPublic(SQLModel):
    run: int
    rule: str
    severity: Severity
    step_key: str | None
    question_key: str | None
    message: str
    created_at: datetime


class FlagCounts(SQLModel):
    info: int = 0
    warn: int = 0
    fail: int = 0


class QcRunPublic(SQLModel):
    run: int
    checked_at: datetime
    worst_severity: Severity | None
    counts: FlagCounts
    flags: list[FlagPublic]
