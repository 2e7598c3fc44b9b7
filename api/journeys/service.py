from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from api.accounts.models import User
from api.common import utcnow
from api.errors import Conflict, Invalid, NotFound
from api.journeys.models import (
    Journey,
    JourneyVersion,
    JourneyVersionPublic,
    JourneyVersionSummary,
    VersionChanges,
    VersionStatus,
)
from api.projects.models import Project
from briefings import DefinitionError, JourneyDefinition, compare_versions, load_definition


def definition_problem(err: DefinitionError) -> Invalid:
    """A journey or quiz file's issues as one 422 problem, each with file, line and field."""
    errors = [
        {
            "file": issue.file,
            "line": issue.line,
            "column": issue.column,
            "field": issue.field,
            "message": issue.message,
        }
        for issue in err.issues
    ]
    return Invalid(f"The file has {len(errors)} problem(s); nothing was loaded.", errors)


def parse(source: str, *, filename: str) -> JourneyDefinition:
    try:
        return load_definition(source, filename=filename)
    except DefinitionError as err:
        raise definition_problem(err) from None


def load_version(
    session: Session,
    *,
    project: Project,
    source: str,
    filename: str,
    publish: bool,
    actor: User | None,
) -> JourneyVersion:
    """Store a journey file: it replaces the journey's draft, or starts the next version."""
    definition = parse(source, filename=filename)
    journey = session.exec(
        select(Journey).where(Journey.project_id == project.id, Journey.key == definition.key)
    ).first()
    if journey is None:
        assert project.id is not None
        journey = Journey(project_id=project.id, key=definition.key, name=definition.name)
        session.add(journey)
        session.flush()
    journey.name = definition.name
    latest = _latest_version(session, journey_id=journey.id)
    payload = definition.model_dump(mode="json")
    if latest is not None and latest.status == VersionStatus.draft:
        version = latest
        version.definition = payload
        version.source = source
    else:
        assert journey.id is not None
        version = JourneyVersion(
            journey_id=journey.id,
            version=(latest.version + 1) if latest else 1,
            definition=payload,
            source=source,
            created_by=actor.id if actor else None,
        )
    session.add(version)
    session.flush()
    if publish:
        publish_version(session, project=project, version=version)
    return version


def _latest_version(session: Session, *, journey_id: int | None) -> JourneyVersion | None:
    return session.exec(
        select(JourneyVersion)
        .where(JourneyVersion.journey_id == journey_id)
        .order_by(col(JourneyVersion.version).desc())
    ).first()


def get_version(session: Session, *, version_id: int) -> tuple[JourneyVersion, Journey]:
    row = session.exec(
        select(JourneyVersion, Journey)
        .join(Journey, col(Journey.id) == JourneyVersion.journey_id)
        .where(JourneyVersion.id == version_id)
    ).first()
    if row is None:
        raise NotFound(f"No journey version {version_id}.")
    return row[0], row[1]


def replace_draft(
    session: Session, *, version: JourneyVersion, journey: Journey, source: str, filename: str
) -> JourneyVersion:
    if version.status != VersionStatus.draft:
        raise Conflict(
            f"Version {version.version} is published and cannot change; load the file again to start version {version.version + 1}."
        )
    definition = parse(source, filename=filename)
    if definition.key != journey.key:
        raise Invalid(
            f"The file is journey {definition.key!r}, this version belongs to {journey.key!r}.",
            [{"field": "key", "location": "body", "message": "journey key differs"}],
        )
    version.definition = definition.model_dump(mode="json")
    version.source = source
    session.add(version)
    session.flush()
    return version


def publish_version(
    session: Session, *, project: Project, version: JourneyVersion
) -> JourneyVersion:
    if version.status == VersionStatus.published:
        raise Conflict(f"Version {version.version} is published already.")
    version.status = VersionStatus.published
    version.published_at = utcnow()
    session.add(version)
    current = (
        session.get(JourneyVersion, project.journey_version_id)
        if project.journey_version_id
        else None
    )
    # A newer version of the project's current journey takes over; another journey does not.
    if current is None or current.journey_id == version.journey_id:
        project.journey_version_id = version.id
        session.add(project)
    session.flush()
    return version


def list_versions(session: Session, *, project: Project) -> list[tuple[JourneyVersion, Journey]]:
    rows = session.exec(
        select(JourneyVersion, Journey)
        .join(Journey, col(Journey.id) == JourneyVersion.journey_id)
        .where(Journey.project_id == project.id)
        .order_by(col(Journey.id), col(JourneyVersion.version))
    )
    return [(v, j) for v, j in rows]


def definition_of(version: JourneyVersion) -> JourneyDefinition:
    return JourneyDefinition.model_validate(version.definition)


def _changes(session: Session, version: JourneyVersion) -> VersionChanges | None:
    previous = session.exec(
        select(JourneyVersion).where(
            JourneyVersion.journey_id == version.journey_id,
            JourneyVersion.version == version.version - 1,
        )
    ).first()
    if previous is None:
        return None
    diff = compare_versions(definition_of(previous), definition_of(version))
    return VersionChanges.model_validate(diff, from_attributes=True)


def summary(
    session: Session, *, version: JourneyVersion, journey: Journey
) -> JourneyVersionSummary:
    return JourneyVersionSummary(**_summary_fields(session, version, journey))


def detail(session: Session, *, version: JourneyVersion, journey: Journey) -> JourneyVersionPublic:
    return JourneyVersionPublic(
        **_summary_fields(session, version, journey), definition=version.definition
    )


def _summary_fields(session: Session, version: JourneyVersion, journey: Journey) -> dict[str, Any]:
    definition = definition_of(version)
    return {
        "id": version.id,
        "journey_id": journey.id,
        "project_id": journey.project_id,
        "key": journey.key,
        "name": journey.name,
        "version": version.version,
        "status": version.status,
        "created_at": version.created_at,
        "published_at": version.published_at,
        "steps": len(definition.steps()),
        "questions": len(definition.questions()),
        "changes": _changes(session, version),
    }


def count_versions(session: Session, *, project: Project) -> int:
    return session.exec(
        select(func.count())
        .select_from(JourneyVersion)
        .join(Journey, col(Journey.id) == JourneyVersion.journey_id)
        .where(Journey.project_id == project.id)
    ).one()
