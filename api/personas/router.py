"""A project's personas: managers write them, the project's readers (staff and client) read them."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.common import Page, paginate
from api.deps import PageDep, ProjectReader, SessionDep, StaffUser
from api.personas import service
from api.personas.models import Persona, PersonaCreate, PersonaPublic, PersonaUpdate
from api.projects.access import get_project

router = APIRouter(prefix="/projects/{project_id}/personas", tags=["personas"])


def _public(persona: Persona) -> PersonaPublic:
    return PersonaPublic.model_validate(persona)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_persona(
    project_id: int, data: PersonaCreate, session: SessionDep, user: StaffUser
) -> PersonaPublic:
    """Add a persona (customer segment) to the project; names are unique per project."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    return _public(service.create_persona(session, project=project, data=data))


@router.get("")
def list_personas(
    project_id: int, session: SessionDep, user: ProjectReader, page: PageDep
) -> Page[PersonaPublic]:
    """The project's personas, oldest first."""
    project = get_project(session, user=user, project_id=project_id)
    return paginate(service.list_personas(session, project=project, page=page), page, _public)


@router.get("/{persona_id}")
def read_persona(
    project_id: int, persona_id: int, session: SessionDep, user: ProjectReader
) -> PersonaPublic:
    """One persona of the project."""
    project = get_project(session, user=user, project_id=project_id)
    return _public(service.get_persona(session, project=project, persona_id=persona_id))


@router.patch("/{persona_id}")
def update_persona(
    project_id: int, persona_id: int, data: PersonaUpdate, session: SessionDep, user: StaffUser
) -> PersonaPublic:
    """Change a persona's name, description or traits."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    persona = service.get_persona(session, project=project, persona_id=persona_id)
    return _public(service.update_persona(session, persona=persona, data=data))


@router.delete("/{persona_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_persona(
    project_id: int, persona_id: int, session: SessionDep, user: StaffUser
) -> Response:
    """Delete a persona that no assignment or result uses (409 otherwise)."""
    project = get_project(session, user=user, project_id=project_id, manage=True)
    persona = service.get_persona(session, project=project, persona_id=persona_id)
    service.delete_persona(session, persona=persona)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
