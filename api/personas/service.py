from __future__ import annotations

from sqlmodel import Session, col, select

from api.assignments.models import Assignment
from api.common import PageParams, utcnow
from api.errors import Conflict, NotFound
from api.personas.models import Persona, PersonaCreate, PersonaUpdate
from api.projects.models import Project
from api.results.models import VisitResult


def _name_taken(session: Session, *, project: Project, name: str, other_than: int | None) -> None:
    clash = session.exec(
        select(Persona.id).where(Persona.project_id == project.id, Persona.name == name)
    ).first()
    if clash is not None and clash != other_than:
        raise Conflict(f"The project has a persona named {name!r}.", field="name")


def create_persona(session: Session, *, project: Project, data: PersonaCreate) -> Persona:
    _name_taken(session, project=project, name=data.name, other_than=None)
    persona = Persona.model_validate(data, update={"project_id": project.id})
    session.add(persona)
    session.flush()
    return persona


def list_personas(session: Session, *, project: Project, page: PageParams) -> list[Persona]:
    query = (
        select(Persona)
        .where(Persona.project_id == project.id)
        .order_by(col(Persona.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(Persona.id) > page.after_id)
    return list(session.exec(query))


def get_persona(session: Session, *, project: Project, persona_id: int) -> Persona:
    persona = session.get(Persona, persona_id)
    if persona is None or persona.project_id != project.id:
        raise NotFound(f"No persona {persona_id} in project {project.id}.")
    return persona


def update_persona(session: Session, *, persona: Persona, data: PersonaUpdate) -> Persona:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes:
        project = session.get(Project, persona.project_id)
        assert project is not None
        _name_taken(session, project=project, name=changes["name"], other_than=persona.id)
    persona.sqlmodel_update(changes | {"updated_at": utcnow()})
    session.add(persona)
    session.flush()
    return persona


def delete_persona(session: Session, *, persona: Persona) -> None:
    """Delete a persona no assignment and no result refers to."""
    for table in (Assignment, VisitResult):
        used = session.exec(select(table.persona_id).where(table.persona_id == persona.id)).first()
        if used is not None:
            raise Conflict(
                f"Persona {persona.id} is used by assignments or results; rename it instead.",
                rule="persona_in_use",
            )
    session.delete(persona)
    session.flush()
