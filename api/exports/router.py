"""Exports of a project's approved visits (CSV and XLSX), for its managers and its client."""

from __future__ import annotations

import os
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from api.deps import ProjectReader, SessionDep, get_db
from api.exports import service
from api.exports.service import Layout
from api.projects.access import get_project
from api.results.router import FiltersDep

router = APIRouter(prefix="/projects/{project_id}/exports", tags=["exports"])

LayoutQuery = Annotated[
    Layout,
    Query(description="wide: one row per visit; long: one row per answer."),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _disposition(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get(
    "/visits.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The CSV file."}},
)
def export_csv(
    project_id: int,
    request: Request,
    session: SessionDep,
    user: ProjectReader,
    filters: FiltersDep,
    layout: LayoutQuery = "wide",
) -> StreamingResponse:
    """Approved visits as CSV, streamed (columns: docs/client-api.md)."""
    project = get_project(session, user=user, project_id=project_id)
    chunks = service.csv_chunks(get_db(request), project=project, filters=filters, layout=layout)
    name = service.filename(project, layout, "csv", today=date.today())
    return StreamingResponse(
        chunks, media_type="text/csv; charset=utf-8", headers=_disposition(name)
    )


@router.get(
    "/visits.xlsx",
    response_class=FileResponse,
    responses={200: {"content": {XLSX: {}}, "description": "The Excel workbook."}},
)
def export_xlsx(
    project_id: int,
    request: Request,
    session: SessionDep,
    user: ProjectReader,
    filters: FiltersDep,
    layout: LayoutQuery = "wide",
) -> FileResponse:
    """Approved visits as an Excel workbook (columns: docs/client-api.md)."""
    project = get_project(session, user=user, project_id=project_id)
    path = service.write_xlsx(get_db(request), project=project, filters=filters, layout=layout)
    return FileResponse(
        path,
        media_type=XLSX,
        filename=service.filename(project, layout, "xlsx", today=date.today()),
        background=BackgroundTask(os.unlink, path),
    )
