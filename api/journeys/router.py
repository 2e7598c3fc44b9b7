from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status

from api.deps import ProjectReader, SessionDep, SettingsDep, StaffUser
from api.errors import Invalid, PayloadTooLarge
from api.journeys import service
from api.journeys.models import JourneyUpload, JourneyVersionPublic, JourneyVersionSummary
from api.projects.access import get_project

router = APIRouter(tags=["journeys"])


@router.post("/projects/{project_id}/journeys", status_code=status.HTTP_201_CREATED)
def load_journey(
    project_id: int, data: JourneyUpload, session: SessionDep, user: StaffUser
) -> JourneyVersionPublic:
    """Load a journey file (YAML or JSON text): it updates the draft or starts a new version."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    version = service.load_version(
        session,
        project=project,
        source=data.source,
        filename=data.filename,
        publish=data.publish,
        actor=user,
    )
    journey = service.get_version(session, version_id=version.id or 0)[1]
    return service.detail(session, version=version, journey=journey)


@router.post("/projects/{project_id}/journeys/upload", status_code=status.HTTP_201_CREATED)
def upload_journey(
    project_id: int,
    file: Annotated[UploadFile, File(description="A journey file, .yaml or .json.")],
    session: SessionDep,
    user: StaffUser,
    settings: SettingsDep,
    publish: Annotated[bool, Form()] = False,
) -> JourneyVersionPublic:
    """Load a journey file as a multipart upload."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    raw = file.file.read(settings.max_upload_bytes + 1)
    if len(raw) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"The file is larger than {settings.max_upload_bytes} bytes.")
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(
            "The file is not UTF-8 text.", [{"field": "file", "message": "not UTF-8"}]
        ) from None
    version = service.load_version(
        session,
        project=project,
        source=source,
        filename=file.filename or "journey.yaml",
        publish=publish,
        actor=user,
    )
    journey = service.get_version(session, version_id=version.id or 0)[1]
    return service.detail(session, version=version, journey=journey)


@router.get("/projects/{project_id}/journeys")
def list_journey_versions(
    project_id: int, session: SessionDep, user: StaffUser
) -> list[JourneyVersionSummary]:
    """Every version of the project's journeys, with what each changed."""
    project = get_project(session, user=user, project_id=project_id)
    return [
        service.summary(session, version=v, journey=j)
        for v, j in service.list_versions(session, project=project)
    ]


@router.get("/journey-versions/{version_id}")
def read_journey_version(
    version_id: int, session: SessionDep, user: ProjectReader
) -> JourneyVersionPublic:
    """One journey version with its full definition and briefing."""
    version, journey = service.get_version(session, version_id=version_id)
    get_project(session, user=user, project_id=journey.project_id)
    return service.detail(session, version=version, journey=journey)


@router.put("/journey-versions/{version_id}")
def replace_draft(
    version_id: int, data: JourneyUpload, session: SessionDep, user: StaffUser
) -> JourneyVersionPublic:
    """Replace a draft version's definition (published versions never change)."""
    version, journey = service.get_version(session, version_id=version_id)
    project = get_project(session, user=user, project_id=journey.project_id, manage=True)
    service.replace_draft(
        session, version=version, journey=journey, source=data.source, filename=data.filename
    )
    if data.publish:
        service.publish_version(session, project=project, version=version)
    return service.detail(session, version=version, journey=journey)


@router.post("/journey-versions/{version_id}/publish")
def publish(version_id: int, session: SessionDep, user: StaffUser) -> JourneyVersionSummary:
    """Publish a draft: it becomes immutable and the project's current version."""
    version, journey = service.get_version(session, version_id=version_id)
    project = get_project(session, user=user, project_id=journey.project_id, manage=True)
    service.publish_version(session, project=project, version=version)
    return service.summary(session, version=version, journey=journey)
