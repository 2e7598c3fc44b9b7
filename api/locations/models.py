from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import model_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from api.common import created_at_field, enum_field, json_field
from api.errors import FieldProblem


class LocationKind(StrEnum):
    physical = "physical"
    online = "online"
    phone = "phone"


class LocationBase(SQLModel):
    code: str = Field(
        min_length=1, max_length=64, description="The client's own id of the location."
    )
    name: str = Field(min_length=1, max_length=200)
    kind: LocationKind = enum_field(LocationKind, LocationKind.physical)
    address: str = Field(default="", max_length=300)
    postcode: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    country: str = Field(default="", max_length=2, description="ISO 3166-1 alpha-2.")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    geofence_radius_m: int = Field(default=150, ge=10, le=50_000)
    region: str = Field(default="", max_length=100)
    url: str = Field(default="", max_length=500, description="For online locations.")
    phone: str = Field(default="", max_length=50, description="For phone locations.")
    tags: list[str] = json_field(list)
    active: bool = True

    @model_validator(mode="after")
    def _channel_fields(self) -> LocationBase:
        if self.kind == LocationKind.physical:
            if self.latitude is None or self.longitude is None:
                raise FieldProblem(
                    "latitude" if self.latitude is None else "longitude",
                    "a physical location needs latitude and longitude",
                )
        elif self.kind == LocationKind.online and not self.url:
            raise FieldProblem("url", "an online location needs a url")
        elif self.kind == LocationKind.phone and not self.phone:
            raise FieldProblem("phone", "a phone location needs a phone number")
        return self


class Location(LocationBase, table=True):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("project_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    created_at: datetime = created_at_field()


class LocationCreate(LocationBase):
    pass


class LocationUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    postcode: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=2)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    geofence_radius_m: int | None = Field(default=None, ge=10, le=50_000)
    region: str | None = Field(default=None, max_length=100)
    url: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=50)
    tags: list[str] | None = None
    active: bool | None = None


class LocationPublic(LocationBase):
    id: int
    project_id: int


class ImportReport(SQLModel):
    imported: int
    updated: int
