from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.common import UTCDateTime, created_at_field, enum_field, json_field


class VersionStatus(StrEnum):
    draft = "draft"
    published = "published"


class Journey(SQLModel, table=True):
    __tablename__ = "journeys"
    __table_args__ = (UniqueConstraint("project_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    created_at: datetime = created_at_field()


class JourneyVersion(SQLModel, table=True):
    """A journey with its briefing; immutable once published."""

    __tablename__ = "journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    journey_id: int = Field(foreign_key="journeys.id", index=True)
    version: int
    status: VersionStatus = enum_field(VersionStatus, VersionStatus.draft)
    definition: dict[str, Any] = json_field()
    source: str = Field(default="", sa_type=Text)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class VersionChanges(SQLModel):
    added_steps: list[str] = Field(default_factory=list)
    removed_steps: list[str] = Field(default_factory=list)
    changed_steps: list[str] = Field(default_factory=list)
    added_questions: list[str] = Field(default_factory=list)
    removed_questions: list[str] = Field(default_factory=list)
    changed_questions: list[str] = Field(default_factory=list)


class JourneyVersionSummary(SQLModel):
    id: int
    journey_id: int
    project_id: int
    key: str
    name: str
    version: int
    status: VersionStatus
    created_at: datetime
    published_at: datetime | None
    steps: int
    questions: int
    changes: VersionChanges | None = Field(
        default=None, description="Against the previous version."
    )


class JourneyVersionPublic(JourneyVersionSummary):
    definition: dict[str, Any]


class JourneyUpload(SQLModel):
    """A journey file's text (YAML or JSON) as a JSON body; multipart upload works too."""

    source: str = Field(min_length=1, max_length=2_000_000)
    filename: str = Field(default="journey.yaml", max_length=200)
    publish: bool = False
