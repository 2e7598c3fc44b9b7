from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.accounts.models import Role
from api.common import created_at_field, enum_field, json_field
from api.errors import FieldProblem
from scoring import DEFAULT_PASS_MARK, QcSettings


class ProjectStatus(StrEnum):
    draft = "draft"
    active = "active"
    closed = "closed"


class CapPeriod(StrEnum):
    wave = "wave"
    month = "month"
    week = "week"


class ProjectCaps(BaseModel):
    """The rules every assignment of a project must pass; each has a stable rule id (its name)."""

    model_config = ConfigDict(extra="forbid")

    max_open_per_shopper: int = Field(
        default=3, ge=1, description="Offered, accepted, in progress or returned at once."
    )
    max_visits_per_shopper_per_day: int = Field(default=2, ge=1)
    max_visits_per_shopper_per_period: int = Field(default=8, ge=1)
    period: CapPeriod = Field(
        default=CapPeriod.month, description="'wave' falls back to month without a wave."
    )
    location_lockout_days: int = Field(
        default=90,
        ge=0,
        description="Days before the same shopper may visit the same location again.",
    )
    max_visits_per_location_per_day: int = Field(default=2, ge=1)
    min_rating_to_claim: float | None = Field(
        default=None, ge=0, le=100, description="Job board only."
    )
    min_experience_to_claim: int = Field(
        default=0, ge=0, description="Approved visits needed to claim from the job board."
    )
    require_region_match: bool = Field(
        default=False, description="Shopper's region must equal the location's."
    )
    job_board: bool = Field(
        default=True, description="Unassigned assignments may be claimed by eligible shoppers."
    )


# Results settings: the visit score a visit passes at, and the pyramid level score below which a
# level becomes the focus (the lowest such level of basis → ease → emotion).
PassMark = Annotated[float, Field(ge=0, le=100)]
DEFAULT_APPEAL_WINDOW_DAYS = 14
StepTargets = dict[str, Annotated[float, Field(ge=0, le=100)]]
TARGETS_DESCRIPTION = "Desired journey: step key → target step score (0–100)."


class QcConfig(BaseModel):
    """How submitted visits are checked and reviewed."""

    model_config = ConfigDict(extra="forbid")

    auto_approve: bool = Field(
        default=False, description="Approve a visit at once when QC raises no warn or fail flag."
    )
    return_deadline_hours: float = Field(
        default=48,
        gt=0,
        le=24 * 90,
        description="Hours a shopper has to resubmit a returned visit before it is rejected.",
    )
    thresholds: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the QC thresholds (docs/scoring.md), e.g. disabled_rules.",
    )

    @field_validator("thresholds")
    @classmethod
    def _known_thresholds(cls, value: dict[str, Any]) -> dict[str, Any]:
        QcSettings.from_mapping(value)  # its ValueError names the bad setting
        return value

    @property
    def settings(self) -> QcSettings:
        return QcSettings.from_mapping(self.thresholds)


class ProjectBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    status: ProjectStatus = enum_field(ProjectStatus, ProjectStatus.active)
    pass_mark: float = Field(
        default=DEFAULT_PASS_MARK,
        ge=0,
        le=100,
        description="A visit scoring at least this passes (results' pass rate).",
        sa_column_kwargs={"server_default": str(DEFAULT_PASS_MARK)},
    )
    focus_threshold: float = Field(
        default=DEFAULT_PASS_MARK,
        ge=0,
        le=100,
        description="The lowest pyramid level scoring below this is the focus level.",
        sa_column_kwargs={"server_default": str(DEFAULT_PASS_MARK)},
    )
    appeal_window_days: int = Field(
        default=DEFAULT_APPEAL_WINDOW_DAYS,
        ge=0,
        le=365,
        description="Days after a visit's approval in which the client may appeal it; 0: none.",
        sa_column_kwargs={"server_default": str(DEFAULT_APPEAL_WINDOW_DAYS)},
    )


class Project(ProjectBase, table=True):
    __tablename__ = "projects"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", index=True)
    caps: dict[str, Any] = json_field()
    qc: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=JSON,
        nullable=False,
        sa_column_kwargs={"server_default": "{}"},
    )
    targets: dict[str, float] = Field(
        default_factory=dict,
        sa_type=JSON,
        nullable=False,
        sa_column_kwargs={"server_default": "{}"},
    )
    # No foreign key: versions belong to journeys that belong to projects, and a key back would make
    # a cycle that SQLite cannot create; the service checks the id.
    journey_version_id: int | None = None
    created_at: datetime = created_at_field()

    @property
    def cap_rules(self) -> ProjectCaps:
        return ProjectCaps.model_validate(self.caps or {})

    @property
    def qc_config(self) -> QcConfig:
        return QcConfig.model_validate(self.qc or {})


class ProjectCreate(ProjectBase):
    client_id: int
    caps: ProjectCaps = Field(default_factory=ProjectCaps)
    qc: QcConfig = Field(default_factory=QcConfig)
    targets: StepTargets = Field(default_factory=dict, description=TARGETS_DESCRIPTION)


class ProjectUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    status: ProjectStatus | None = None
    caps: ProjectCaps | None = None
    qc: QcConfig | None = None
    journey_version_id: int | None = Field(
        default=None, description="A published version of this project's journeys."
    )
    pass_mark: PassMark | None = None
    focus_threshold: PassMark | None = None
    targets: StepTargets | None = Field(default=None, description=TARGETS_DESCRIPTION)
    appeal_window_days: int | None = Field(default=None, ge=0, le=365)


class ProjectPublic(ProjectBase):
    id: int
    client_id: int
    caps: ProjectCaps
    qc: QcConfig
    targets: dict[str, float]
    journey_version_id: int | None
    created_at: datetime


class ProjectMember(SQLModel, table=True):
    __tablename__ = "project_members"

    project_id: int = Field(foreign_key="projects.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    created_at: datetime = created_at_field()


class MemberCreate(SQLModel):
    user_id: int


class MemberPublic(SQLModel):
    user_id: int
    username: str
    full_name: str
    role: Role


class WaveBase(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _ordered(self) -> WaveBase:
        if self.ends_on < self.starts_on:
            raise FieldProblem("ends_on", "ends_on must not be before starts_on")
        return self


class Wave(WaveBase, table=True):
    __tablename__ = "waves"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    created_at: datetime = created_at_field()


class WaveCreate(WaveBase):
    pass


class WavePublic(WaveBase):
    id: int
    project_id: int
