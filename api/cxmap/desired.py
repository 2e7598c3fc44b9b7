"""The desired journey: step and pyramid-level targets, kept as numbered versions.

Each change adds a version; the newest is current. Its step targets are copied into
``projects.targets`` (what the results' gaps and the rollups' short counts read), and the short
counts are recounted when they change — the same path as a PATCH of the project's targets, which
in turn records a version here.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.audit.service import record
from api.common import PageParams
from api.cxmap.models import DesiredJourney, DesiredJourneyIn, DesiredJourneyPublic
from api.errors import Invalid
from api.projects.models import Project
from api.results.materialise import recount_short
from api.visits.service import journey_of


def _latest(session: Session, *, project: Project) -> DesiredJourney | None:
    return session.exec(
        select(DesiredJourney)
        .where(DesiredJourney.project_id == project.id)
        .order_by(col(DesiredJourney.version).desc())
        .limit(1)
    ).first()


def to_public(row: DesiredJourney) -> DesiredJourneyPublic:
    return DesiredJourneyPublic.model_validate(row, from_attributes=True)


def current(session: Session, *, project: Project) -> DesiredJourneyPublic:
    """The newest version, or version 0 made of the project's targets when none was recorded."""
    latest = _latest(session, project=project)
    if latest is not None:
        return to_public(latest)
    assert project.id is not None
    return DesiredJourneyPublic(
        project_id=project.id,
        version=0,
        step_targets=dict(project.targets or {}),
        level_targets={},
        note="",
        created_by=None,
        created_at=None,
    )


def _add_version(
    session: Session,
    *,
    project: Project,
    step_targets: dict[str, float],
    level_targets: dict[str, float],
    note: str,
    actor_id: int | None,
) -> DesiredJourney:
    top = session.exec(
        select(func.max(DesiredJourney.version)).where(DesiredJourney.project_id == project.id)
    ).one()
    assert project.id is not None
    row = DesiredJourney(
        project_id=project.id,
        version=(top or 0) + 1,
        step_targets=step_targets,
        level_targets=level_targets,
        note=note,
        created_by=actor_id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor_id=actor_id,
        entity="desired_journey",
        entity_id=row.id or 0,
        action="version_created",
        comment=note,
        data={
            "project_id": project.id,
            "version": row.version,
            "step_targets": step_targets,
            "level_targets": level_targets,
        },
    )
    return row


def set_desired(
    session: Session, *, project: Project, data: DesiredJourneyIn, actor_id: int | None
) -> DesiredJourney:
    """Add a version and make it current; step keys must be steps of the current journey."""
    if project.journey_version_id is not None:
        journey = journey_of(session, version_id=project.journey_version_id)
        known = {step.key for _, step in journey.steps()}
        unknown = sorted(set(data.step_targets) - known)
        if unknown:
            raise Invalid(
                f"Not steps of the project's current journey: {', '.join(unknown)}.",
                [
                    {"field": f"step_targets.{key}", "location": "body", "message": "unknown step"}
                    for key in unknown
                ],
            )
    step_targets = {key: float(value) for key, value in data.step_targets.items()}
    row = _add_version(
        session,
        project=project,
        step_targets=step_targets,
        level_targets={str(level): float(value) for level, value in data.level_targets.items()},
        note=data.note,
        actor_id=actor_id,
    )
    if step_targets != (project.targets or {}):
        project.targets = step_targets
        session.add(project)
        session.flush()
        recount_short(session, project=project)
    return row


def targets_changed(session: Session, *, project: Project, actor_id: int | None) -> None:
    """Record the project's new step targets (set through the project) as a version."""
    latest = _latest(session, project=project)
    _add_version(
        session,
        project=project,
        step_targets={key: float(value) for key, value in (project.targets or {}).items()},
        level_targets=dict(latest.level_targets) if latest is not None else {},
        note="Step targets changed on the project.",
        actor_id=actor_id,
    )


def list_versions(session: Session, *, project: Project, page: PageParams) -> list[DesiredJourney]:
    query = (
        select(DesiredJourney)
        .where(DesiredJourney.project_id == project.id)
        .order_by(col(DesiredJourney.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(DesiredJourney.id) > page.after_id)
    return list(session.exec(query))
