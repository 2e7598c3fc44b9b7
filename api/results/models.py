"""Materialised scores of approved visits, and the results API's public schemas.

One ``VisitResult`` per approved visit, one ``StepResult`` per visit × journey step and one
``PhaseResult`` per visit × phase, written by ``materialise_visit`` when the visit is approved and
deleted when the approval is revoked. Every row carries the columns the results filters need
(project, wave, day, region, location, channel, persona), so each results query is one aggregate over one
table. ``shopper_id`` is kept for the agency's own analyses; no results schema exposes it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, PrimaryKeyConstraint
from sqlmodel import Field, SQLModel

from api.common import created_at_field

KEY_LENGTH = 64


class _Slice(SQLModel):
    """The columns every results filter reads, denormalised onto each materialised row."""

    project_id: int = Field(foreign_key="projects.id")
    location_id: int = Field(foreign_key="locations.id")
    region: str = Field(max_length=100)
    channel: str = Field(max_length=32, description="The location's kind.")
    wave_id: int | None = Field(default=None, foreign_key="waves.id")
    visit_day: date = Field(description="UTC date of the check-in.")
    week_start: date = Field(description="Monday of visit_day's ISO week.")
    persona_id: int | None = Field(
        default=None, foreign_key="personas.id", description="The persona the assignment asked for."
    )


def _slice_indexes(table: str, *leading: str) -> tuple[Index, ...]:
    """Indexes led by the project and one filter each (plus ``leading`` group keys)."""
    return (
        Index(f"ix_{table}_project_day", "project_id", *leading, "visit_day"),
        Index(f"ix_{table}_project_wave", "project_id", "wave_id", *leading),
        Index(f"ix_{table}_project_location", "project_id", "location_id", *leading),
        Index(f"ix_{table}_project_region", "project_id", "region", *leading),
        Index(f"ix_{table}_project_channel", "project_id", "channel", *leading),
    )


class VisitResult(_Slice, table=True):
    __tablename__ = "result_visits"
    __table_args__ = _slice_indexes("result_visits")

    visit_id: int = Field(foreign_key="visits.id", primary_key=True)
    shopper_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    journey_version_id: int = Field(foreign_key="journey_versions.id")
    score: float | None = Field(description="0–100 after knock-outs.")
    raw_score: float | None = Field(description="0–100 with no knock-out applied.")
    knocked_out: bool
    passed: bool | None = Field(description="score ≥ the project's pass mark at approval.")
    band: str | None = Field(max_length=32)
    basis: float | None
    ease: float | None
    emotion: float | None
    approved_at: datetime = created_at_field()


class StepResult(_Slice, table=True):
    __tablename__ = "result_steps"
    __table_args__ = (
        *_slice_indexes("result_steps", "step_key"),
        # The gaps count scores below each step's target: read from this index alone.
        Index("ix_result_steps_project_step_score", "project_id", "step_key", "score", "weight"),
    )

    visit_id: int = Field(foreign_key="visits.id", primary_key=True)
    step_key: str = Field(max_length=KEY_LENGTH, primary_key=True)
    phase_key: str = Field(max_length=KEY_LENGTH)
    position: int = Field(description="The step's place in its journey, from 0.")
    weight: float
    score: float | None
    raw_score: float | None
    knocked_out: bool
    conscious: float | None = Field(description="Conscious valence index, −1…+1.")
    implicit: float | None = Field(description="Latency-weighted implicit valence, −1…+1.")
    gap: float | None = Field(description="implicit − conscious.")
    probes_valid: int
    probes_excluded: int = Field(description="Anticipatory, timed out or invalid probes.")
    # The step's own pyramid levels (scoring.step_levels), for the CX map's opportunities.
    basis: float | None = None
    ease: float | None = None
    emotion: float | None = None


class PhaseResult(_Slice, table=True):
    __tablename__ = "result_phases"
    __table_args__ = _slice_indexes("result_phases", "phase_key")

    visit_id: int = Field(foreign_key="visits.id", primary_key=True)
    phase_key: str = Field(max_length=KEY_LENGTH, primary_key=True)
    position: int
    weight: float
    score: float | None
    raw_score: float | None
    knocked_out: bool


CELL = ("visit_day", "region", "channel", "wave_id")


class _Day(SQLModel):
    """One rollup cell: a project's approved visits of one day, region, channel and wave.

    Step and phase figures without a location filter are sums over these cells, which hold ~10×
    fewer rows than the per-visit tables. A cell is recomputed from the per-visit rows whenever a
    visit in it is materialised or removed, so its sums are always exact. ``wave_id`` 0 means no
    wave (a key column cannot be NULL). Stored in key order (WITHOUT ROWID on SQLite), so a
    project's cells are read in one ordered range scan with no sort for the GROUP BY.
    """

    project_id: int = Field(primary_key=True)
    visit_day: date = Field(primary_key=True)
    region: str = Field(max_length=100, primary_key=True)
    channel: str = Field(max_length=32, primary_key=True)
    wave_id: int = Field(default=0, primary_key=True)
    position: int
    visits: int
    scored: int
    score_sum: float
    raw_scored: int
    raw_sum: float
    knocked: int


class StepDay(_Day, table=True):
    __tablename__ = "result_step_days"
    __table_args__ = (
        PrimaryKeyConstraint("project_id", "step_key", *CELL),
        {"sqlite_with_rowid": False},
    )

    step_key: str = Field(max_length=KEY_LENGTH, primary_key=True)
    phase_key: str = Field(max_length=KEY_LENGTH)
    conscious_n: int
    conscious_sum: float
    implicit_n: int
    implicit_sum: float
    gap_n: int
    gap_sum: float
    probes_valid: int
    probes_excluded: int
    weight_sum: float = 0.0
    # Visits scoring below the project's target for the step, kept in step with the targets:
    # recounted for the whole project whenever the targets change.
    short: int = 0


class PhaseDay(_Day, table=True):
    __tablename__ = "result_phase_days"
    __table_args__ = (
        PrimaryKeyConstraint("project_id", "phase_key", *CELL),
        {"sqlite_with_rowid": False},
    )

    phase_key: str = Field(max_length=KEY_LENGTH, primary_key=True)


# ---------------------------------------------------------------- reads


class LevelScores(SQLModel):
    basis: float | None
    ease: float | None
    emotion: float | None
    focus: str | None = Field(
        description="The lowest level (basis → ease → emotion) below the focus threshold."
    )


class SummaryPublic(SQLModel):
    visits: int
    mean_score: float | None
    mean_raw_score: float | None
    pass_mark: float
    pass_rate: float | None = Field(description="Share 0…1 of visits scoring ≥ the pass mark.")
    knockout_pass_rate: float | None = Field(
        description="Share 0…1 of visits without a failed knock-out question."
    )
    levels: LevelScores
    focus_threshold: float


class PhasePublic(SQLModel):
    phase_key: str
    name: str | None
    visits: int
    mean_score: float | None
    mean_raw_score: float | None
    knockout_rate: float | None


class StepPublic(SQLModel):
    step_key: str
    phase_key: str
    name: str | None
    visits: int
    mean_score: float | None
    mean_raw_score: float | None
    knockout_rate: float | None
    conscious: float | None = Field(description="Mean conscious index, −1…+1.")
    implicit: float | None = Field(description="Mean implicit index, −1…+1.")
    gap: float | None = Field(description="Mean of the per-visit gaps implicit − conscious.")
    probes_valid: int
    probes_excluded: int


class LocationRank(SQLModel):
    rank: int
    location_id: int
    code: str
    name: str
    region: str
    channel: str
    visits: int
    mean_score: float | None
    pass_rate: float | None
    levels: LevelScores


class RegionPublic(SQLModel):
    rank: int
    region: str
    locations: int
    visits: int
    mean_score: float | None
    pass_rate: float | None
    levels: LevelScores


class TrendPoint(SQLModel):
    wave_id: int | None = None
    wave_name: str | None = None
    week: str | None = Field(default=None, description="ISO week, e.g. 2026-W48.")
    starts_on: date | None
    visits: int
    mean_score: float | None
    pass_rate: float | None
    knockout_pass_rate: float | None
    levels: LevelScores


class PainPoint(SQLModel):
    rank: int
    step_key: str
    phase_key: str
    name: str | None
    visits: int
    mean_score: float | None
    conscious: float | None
    implicit: float | None
    emotion: float | None = Field(
        description="Mean of the step's mean conscious and mean implicit index (those present)."
    )


class GapPublic(SQLModel):
    rank: int
    step_key: str
    name: str | None
    target: float
    mean_score: float
    gap: float = Field(description="target − mean score; negative when the step beats it.")
    share_short: float = Field(description="Share 0…1 of visits scoring below the target.")
    weight: float
    impact: float = Field(description="gap × weight × share_short.")
    visits: int
