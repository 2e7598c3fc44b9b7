from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status

from api.common import Page, paginate
from api.deps import PageDep, ProjectReader, SessionDep, SettingsDep, StaffUser
from api.errors import PayloadTooLarge
from api.locations import service
from api.locations.models import (
    ImportReport,
    LocationCreate,
    LocationKind,
    LocationPublic,
    LocationUpdate,
)
from api.projects.access import get_project

router = APIRouter(prefix="/projects/{project_id}/locations", tags=["locations"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_location(
    project_id: int, data: LocationCreate, session: SessionDep, user: StaffUser
) -> LocationPublic:
    """Add a location (a shop, a website or a phone line) to visit."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return LocationPublic.model_validate(
        service.create_location(session, project=project, data=data)
    )


@router.get("")
def list_locations(
    project_id: int,
    session: SessionDep,
    user: ProjectReader,
    page: PageDep,
    region: str | None = None,
    kind: LocationKind | None = None,
    tag: str | None = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of name, code or city.")
    ] = None,
) -> Page[LocationPublic]:
    """The project's locations, oldest first."""
    project = get_project(session, user=user, project_id=project_id)
    rows = service.list_locations(
        session, project=project, page=page, region=region, kind=kind, tag=tag, search=q
    )
    return paginate(rows, page, LocationPublic.model_validate)


@router.get("/{location_id}")
def read_location(
    project_id: int, location_id: int, session: SessionDep, user: ProjectReader
) -> LocationPublic:
    """One location."""
    project = get_project(session, user=user, project_id=project_id)
    return LocationPublic.model_validate(
        service.get_location(session, project=project, location_id=location_id)
    )


@router.patch("/{location_id}")
def update_location(
    project_id: int, location_id: int, data: LocationUpdate, session: SessionDep, user: StaffUser
) -> LocationPublic:
    """Change a location."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    location = service.get_location(session, project=project, location_id=location_id)
    return LocationPublic.model_validate(
        service.update_location(session, location=location, data=data)
    )


@router.post("/import")
def import_locations(
    project_id: int,
    file: Annotated[UploadFile, File(description="CSV, comma or semicolon separated, UTF-8.")],
    session: SessionDep,
    user: StaffUser,
    settings: SettingsDep,
) -> ImportReport:
    """Import locations from a CSV file; all rows or none.

    Columns: code and name are required; the others are the fields of a location, tags separated
    by ';'. Existing codes are updated: the file's columns replace their values (a blank cell
    clears one), columns the file leaves out keep theirs. Every bad row is reported with its
    line number.
    """
    project = get_project(session, user=user, project_id=project_id, manage=True)
    content = file.file.read(settings.max_upload_bytes + 1)
    if len(content) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"The file is larger than {settings.max_upload_bytes} bytes.")
    return service.import_locations(session, project=project, content=content)
