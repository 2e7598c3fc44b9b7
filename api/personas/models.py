"""A project's personas: the customer segments shoppers play and results can be filtered by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from api.common import UTCDateTime, created_at_field, json_field, utcnow

TraitValue = str | int | float | bool | list[str]
TRAITS_DESCRIPTION = (
    "Free-form traits of the segment, e.g. {'age': '30-45', 'household': 'family', "
    "'languages': ['nl', 'en']}: at most 50 keys of up to 64 characters."
)


class Persona(SQLModel, table=True):
    __tablename__ = "personas"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=4000)
    traits: dict[str, Any] = json_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _check_traits(value: dict[str, TraitValue] | None) -> dict[str, TraitValue] | None:
    if value is None:
        return value
    if len(value) > 50:
        raise ValueError("at most 50 traits")
    for key in value:
        if not 1 <= len(key) <= 64:
            raise ValueError(f"trait name {key[:70]!r} must have 1 to 64 characters")
    return value


class PersonaCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=4000)
    traits: dict[str, TraitValue] = Field(default_factory=dict, description=TRAITS_DESCRIPTION)

    @field_validator("traits")
    @classmethod
    def _traits(cls, value: dict[str, TraitValue]) -> dict[str, TraitValue]:
        return _check_traits(value) or {}


class PersonaUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=4000)
    traits: dict[str, TraitValue] | None = Field(default=None, description=TRAITS_DESCRIPTION)

    @field_validator("traits")
    @classmethod
    def _traits(cls, value: dict[str, TraitValue] | None) -> dict[str, TraitValue] | None:
        return _check_traits(value)


class PersonaBrief(SQLModel):
    """The persona an assignment asks the shopper to play."""

    id: int
    name: str
    description: str
    traits: dict[str, Any]


class PersonaPublic(PersonaBrief):
    project_id: int
    created_at: datetime
    updated_at: datetime
