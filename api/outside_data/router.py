"""Outside data: staff upload per-location figures; the agency and the client read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status

from api.common import Page, paginate
from api.deps import PageDep, ProjectReader, SessionDep, SettingsDep, StaffUser
from api.errors import PayloadTooLarge
from api.outside_data import service
from api.outside_data.models import (
    METRIC_LENGTH,
    PERIOD_LENGTH,
    CorrelationPublic,
    FigurePublic,
    MetricPublic,
    OutsideFigure,
    OutsideImportReport,
)
from api.projects.access import get_project
from api.results.router import FiltersDep

router = APIRouter(prefix="/projects/{project_id}/outside-data", tags=["outside data"])

Metric = Annotated[str, Query(min_length=1, max_length=METRIC_LENGTH)]
Period = Annotated[
    str | None,
    Query(max_length=PERIOD_LENGTH, description="Only this period ('' for figures without)."),
]


@router.post("", status_code=status.HTTP_201_CREATED)
def import_figures(
    project_id: int,
    file: Annotated[UploadFile, File(description="CSV, comma or semicolon separated, UTF-8.")],
    session: SessionDep,
    user: StaffUser,
    settings: SettingsDep,
) -> OutsideImportReport:
    """Import per-location figures from a CSV file; all rows or none.

    Columns: location_code, metric and value are required, period is optional. A figure of the
    same location, metric and period is replaced. Every bad row is reported with its line number.
    """
    project = get_project(session, user=user, project_id=project_id, manage=True)
    content = file.file.read(settings.max_upload_bytes + 1)
    if len(content) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"The file is larger than {settings.max_upload_bytes} bytes.")
    return service.import_figures(
        session, project=project, content=content, filename=file.filename or "", actor=user
    )


def _public(row: tuple[OutsideFigure, str]) -> FigurePublic:
    figure, code = row
    assert figure.id is not None
    return FigurePublic(
        id=figure.id,
        location_id=figure.location_id,
        location_code=code,
        metric=figure.metric,
        period=figure.period or None,
        value=figure.value,
        import_id=figure.import_id,
        imported_at=figure.imported_at,
    )


@router.get("")
def list_figures(
    project_id: int,
    session: SessionDep,
    user: ProjectReader,
    page: PageDep,
    metric: Annotated[str | None, Query(max_length=METRIC_LENGTH)] = None,
    period: Period = None,
    location_id: int | None = None,
) -> Page[FigurePublic]:
    """The project's imported figures, oldest first."""
    project = get_project(session, user=user, project_id=project_id)
    rows = service.list_figures(
        session, project=project, page=page, metric=metric, period=period, location_id=location_id
    )
    return paginate(rows, page, _public, key=lambda row: row[0].id)


@router.get("/metrics")
def list_metrics(project_id: int, session: SessionDep, user: ProjectReader) -> list[MetricPublic]:
    """The metrics imported for the project, by name, with their periods."""
    project = get_project(session, user=user, project_id=project_id)
    return service.list_metrics(session, project=project)


@router.get("/correlation")
def correlation(
    project_id: int,
    session: SessionDep,
    user: ProjectReader,
    filters: FiltersDep,
    metric: Metric,
    period: Period = None,
) -> CorrelationPublic:
    """How a metric goes with the mean mystery-visit score across locations.

    Per location with a value of the metric: its approved visits matching the results filters,
    their mean score and the value (mean over its periods unless one is asked for). pearson =
    Pearson's r and spearman = Spearman's rho (Pearson of average ranks) over the locations with
    both; null below 3 such locations or when a figure is constant; note when fewer than 5.
    """
    project = get_project(session, user=user, project_id=project_id)
    return service.correlation(
        session, project=project, metric=metric, period=period, filters=filters
    )
