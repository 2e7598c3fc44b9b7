"""Progress and shopper-load schemas (read-only views over assignments; no tables)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel

from api.assignments.models import AssignmentStatus
from api.projects.models import ProjectStatus


class StageCounts(SQLModel):
    """Assignments by fieldwork stage; every assignment is in exactly one of the stages below
    ``planned``, which sums the stages that will or did produce a visit."""

    planned: int = Field(
        description="Every assignment not declined, expired or cancelled: open + assigned + "
        "in_field + returned + submitted + approved + rejected."
    )
    open: int = Field(description="On the job board, no shopper yet (status open).")
    assigned: int = Field(description="A shopper holds it, visit not started (offered, accepted).")
    in_field: int = Field(description="Visit started, not submitted (in_progress).")
    returned: int = Field(description="Sent back to the shopper for correction (returned).")
    submitted: int = Field(description="Awaiting review (submitted).")
    approved: int
    rejected: int
    expired: int
    declined: int
    cancelled: int
    total: int = Field(description="Every assignment, whatever its state.")
    by_status: dict[AssignmentStatus, int] = Field(description="The raw count per state.")


class WaveProgress(SQLModel):
    wave_id: int | None = Field(description="Null: assignments without a wave.")
    name: str | None
    starts_on: date | None
    ends_on: date | None
    counts: StageCounts


class RegionProgress(SQLModel):
    region: str = Field(description="The location's region; empty when the location has none.")
    counts: StageCounts


class CellProgress(SQLModel):
    wave_id: int | None
    region: str
    counts: StageCounts


class ProjectProgress(SQLModel):
    project_id: int
    totals: StageCounts
    waves: list[WaveProgress] = Field(
        description="Every wave of the project (also those without assignments) by start date, "
        "then assignments without a wave when there are any."
    )
    regions: list[RegionProgress] = Field(description="Regions with assignments, by name.")
    cells: list[CellProgress] = Field(description="Wave × region, only combinations that occur.")
    targets: dict[str, float] = Field(
        description="The project's desired journey (step key → target score), empty when unset."
    )


class ProjectProgressItem(ProjectProgress):
    """A project of ``GET /projects/progress``: its name, status and client, and its progress."""

    name: str
    status: ProjectStatus
    client_id: int


class ShopperLoad(SQLModel):
    """A shopper's rating and their assignments in one project against its caps."""

    shopper_id: int
    username: str
    name: str
    region: str
    is_active: bool
    qualified: bool
    rating: float | None
    approved_visits: int
    open_assignments: int = Field(description="Offered, accepted, in progress or returned.")
    max_open: int = Field(description="The project's max_open_per_shopper.")
    period: str = Field(description="The current cap period, e.g. month 2026-11 or wave Spring.")
    visits_in_period: int = Field(description="Assignments (not void) counting on this period.")
    max_per_period: int = Field(description="The project's max_visits_per_shopper_per_period.")
    at_cap: bool = Field(description="No new assignment can be offered now (open or period cap).")
