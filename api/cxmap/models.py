"""Desired-journey versions and action plans (tables), and the CX map's public schemas."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.common import UTCDateTime, created_at_field, enum_field, json_field, utcnow

Score = Annotated[float, Field(ge=0, le=100)]


class Level(StrEnum):
    basis = "basis"
    ease = "ease"
    emotion = "emotion"


# ---------------------------------------------------------------- desired journey


class DesiredJourney(SQLModel, table=True):
    """One version of a project's desired journey; the highest version is the current one and
    its step targets are mirrored into ``projects.targets`` (which the results' gaps read)."""

    __tablename__ = "desired_journeys"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    version: int
    step_targets: dict[str, float] = json_field()
    level_targets: dict[str, float] = json_field()
    note: str = Field(default="", max_length=2000)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()


class DesiredJourneyIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    step_targets: dict[str, Score] = Field(
        default_factory=dict, description="Step key → target step score (0–100)."
    )
    level_targets: dict[Level, Score] = Field(
        default_factory=dict, description="Pyramid level (basis, ease, emotion) → target (0–100)."
    )
    note: str = Field(default="", max_length=2000, description="Why this version.")


class DesiredJourneyPublic(SQLModel):
    project_id: int
    version: int = Field(description="0: targets set before versions were kept (or none yet).")
    step_targets: dict[str, float]
    level_targets: dict[str, float]
    note: str
    created_by: int | None
    created_at: datetime | None


# ---------------------------------------------------------------- action plans


class ActionStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    dropped = "dropped"


class SourceKind(StrEnum):
    gap = "gap"
    pain_point = "pain_point"
    manual = "manual"


class ActionPlan(SQLModel, table=True):
    __tablename__ = "action_plans"
    __table_args__ = (
        Index("ix_action_plans_project_status", "project_id", "status"),
        Index("ix_action_plans_project_recheck", "project_id", "recheck_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id")
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    source_kind: SourceKind = enum_field(SourceKind)
    step_keys: list[str] = json_field(list)
    # What the source looked like when the plan was made (mean score, target, gap, reasons).
    baseline: dict[str, Any] = json_field()
    owner: str = Field(default="", max_length=200)
    due_on: date | None = None
    status: ActionStatus = enum_field(ActionStatus, ActionStatus.open)
    completed_on: date | None = None
    recheck_on: date
    recheck_auto: bool = Field(
        default=True, description="recheck_on follows completion until someone sets it."
    )
    rechecked_on: date | None = None
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ActionSource(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    kind: SourceKind = Field(
        description="gap: steps below their desired target; pain_point: steps the CX map flags "
        "as pain points; manual: any steps of the journey."
    )
    step_keys: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=50
    )


class ActionPlanCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    source: ActionSource
    owner: str = Field(default="", max_length=200, description="Who carries the action out.")
    due_on: date | None = None
    recheck_on: date | None = Field(
        default=None, description="Default: completion (until then creation) day + 182 days."
    )


class ActionPlanUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    owner: str | None = Field(default=None, max_length=200)
    due_on: date | None = None
    status: ActionStatus | None = None
    completed_on: date | None = Field(
        default=None, description="Default when the status becomes done: today."
    )
    recheck_on: date | None = None
    rechecked_on: date | None = Field(
        default=None, description="The day the journey was measured again; ends 'due for re-check'."
    )


class ActionPlanPublic(SQLModel):
    id: int
    project_id: int
    title: str
    description: str
    source_kind: SourceKind
    step_keys: list[str]
    baseline: dict[str, Any]
    owner: str
    due_on: date | None
    status: ActionStatus
    completed_on: date | None
    recheck_on: date
    rechecked_on: date | None
    due_for_recheck: bool = Field(description="recheck_on has passed and no re-check is recorded.")
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class SideFigures(SQLModel):
    visits: int
    mean_score: float | None
    sd: float | None


class StepImpact(SQLModel):
    step_key: str
    name: str | None
    before: SideFigures = Field(description="Visits before the completion day.")
    after: SideFigures = Field(description="Visits on or after the completion day.")
    change: float | None = Field(description="after − before mean step score.")
    t: float | None = Field(description="Welch's t of the change.")
    verdict: str = Field(description="improved, worsened, no_clear_change or too_few_visits.")
    note: str | None


class ActionImpact(SQLModel):
    action_plan_id: int
    completed_on: date | None
    min_visits: int = Field(description="Visits needed on each side to tell.")
    significant_t: float
    note: str | None
    steps: list[StepImpact]


# ---------------------------------------------------------------- the CX map document


class MomentOfTruthFlag(SQLModel):
    rank: int
    r: float = Field(description="Pearson r of step score vs visit score.")
    r_squared: float
    n: int


class StepFlags(SQLModel):
    pain_point: bool
    pain_reasons: list[str] = Field(description="score and/or emotion.")
    moment_of_truth: MomentOfTruthFlag | None
    opportunity: bool


class CxStep(SQLModel):
    step_key: str
    name: str | None
    touchpoint: str | None
    channel: str | None
    weight: float | None
    visits: int
    score: float | None = Field(description="Mean step score, 0–100.")
    desired: float | None = Field(description="The desired journey's target for the step.")
    gap: float | None = Field(description="desired − score.")
    conscious: float | None = Field(description="Mean conscious index, −1…+1.")
    implicit: float | None = Field(description="Mean implicit index, −1…+1.")
    emotion: float | None = Field(description="Mean of conscious and implicit (those present).")
    emotion_gap: float | None = Field(description="Mean per-visit implicit − conscious.")
    basis: float | None = Field(description="Mean of the step's basis questions, 0–100.")
    ease: float | None
    r: float | None = Field(description="Pearson r with the visit score (n ≥ minimum).")
    r_n: int = Field(description="Visits with both a step and a visit score.")
    flags: StepFlags


class CxPhase(SQLModel):
    phase_key: str
    name: str | None
    steps: list[CxStep]


class CxLevel(SQLModel):
    level: str
    score: float | None
    desired: float | None
    gap: float | None


class CxStatistics(SQLModel):
    moment_of_truth: str
    min_correlation_visits: int
    moment_of_truth_r: float
    moments_of_truth_max: int
    pain_point: str
    pain_points_max: int
    negative_emotion: float
    opportunity: str
    neutral_emotion: float
    good_level: float
    pass_mark: float


class CxMap(SQLModel):
    project_id: int
    visits: int
    desired_journey_version: int
    levels: list[CxLevel]
    phases: list[CxPhase]
    statistics: CxStatistics
