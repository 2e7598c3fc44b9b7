"""Per-location figures from outside the platform, their import batches, and the API schemas.

A figure is one value of one metric for one location, optionally for one period (a free label
such as ``2026-Q3`` or a date; ``""`` means no period). (location, metric, period) is unique
within a project: importing it again replaces the value and points the figure at the new batch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.common import created_at_field

METRIC_LENGTH = 64
PERIOD_LENGTH = 32


class OutsideImport(SQLModel, table=True):
    """One uploaded file: who sent it, when, and how many figures it held."""

    __tablename__ = "outside_imports"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    imported_by: int | None = Field(default=None, foreign_key="users.id")
    filename: str = Field(default="", max_length=200)
    rows: int
    imported_at: datetime = created_at_field()


class OutsideFigure(SQLModel, table=True):
    __tablename__ = "outside_figures"
    __table_args__ = (
        UniqueConstraint("project_id", "location_id", "metric", "period"),
        Index("ix_outside_figures_project_metric", "project_id", "metric", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id")
    location_id: int = Field(foreign_key="locations.id")
    metric: str = Field(max_length=METRIC_LENGTH)
    period: str = Field(default="", max_length=PERIOD_LENGTH)
    value: float
    import_id: int = Field(foreign_key="outside_imports.id")
    imported_at: datetime = created_at_field()


class FigurePublic(SQLModel):
    id: int
    location_id: int
    location_code: str
    metric: str
    period: str | None = Field(description="Null when the figure has no period.")
    value: float
    import_id: int
    imported_at: datetime


class OutsideImportReport(SQLModel):
    import_id: int
    imported: int = Field(description="New (location, metric, period) figures.")
    replaced: int = Field(description="Figures that existed and now hold the file's value.")
    metrics: list[str]


class MetricPublic(SQLModel):
    metric: str
    locations: int = Field(description="Locations with a value of the metric.")
    figures: int
    periods: list[str] = Field(description="Period labels used, '' left out.")


class CorrelationRow(SQLModel):
    location_id: int
    code: str
    name: str
    visits: int = Field(description="Approved visits matching the filters.")
    mean_score: float | None = Field(description="Mean visit score of those visits.")
    value: float = Field(description="The metric's value (mean over periods when not filtered).")
    periods: int = Field(description="How many period values the value is made of.")


class CorrelationPublic(SQLModel):
    metric: str
    period: str | None
    n: int = Field(description="Locations with both a metric value and a scored visit.")
    pearson: float | None = Field(description="Pearson's r, −1…+1; null when undefined.")
    spearman: float | None = Field(description="Spearman's rho, −1…+1; null when undefined.")
    note: str | None = Field(description="Why the figures may not tell (too few locations …).")
    locations: list[CorrelationRow]
