"""A whole visit walked offline, stored with a short write transaction.

The usual whole-visit batch is a check-in, photos, steps and the check-out of an assignment that
has no visit yet, every operation valid. It is checked and built in full against a read
snapshot, outside the write transaction: the rules, QC and every row. The write transaction then
re-reads only what the plan depended on and, if it is unchanged, inserts the rows with a handful
of statements. On SQLite every writer of the deployment takes turns, so this keeps each turn
short.

Anything else goes the general way, operation by operation (``service.apply_operations``), with
the same results: a resend, a refusal, a visit already started, a project that auto-approves,
or a snapshot that changed before the write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, literal, select, union_all, update
from sqlmodel import Session

from api.accounts.models import User
from api.assignments.models import Assignment, AssignmentStatus
from api.audit.models import AuditEntry
from api.common import utcnow
from api.errors import FieldworkError
from api.events.service import assignment_transitioned
from api.qc.service import check_visit, hashes_elsewhere, store_run, visit_data
from api.visits import service
from api.visits.media import CleanImage, MediaStore
from api.visits.models import Media, StepObservation, Visit, VisitStart, VisitSubmit
from api.visits.validation import step_write_errors
from briefings import JourneyDefinition
from scoring import Flag

S = AssignmentStatus
_assignments = Assignment.__table__  # type: ignore[attr-defined]
_visits = Visit.__table__  # type: ignore[attr-defined]
_steps = StepObservation.__table__  # type: ignore[attr-defined]
_media = Media.__table__  # type: ignore[attr-defined]
_audit = AuditEntry.__table__  # type: ignore[attr-defined]

# Built once: any client_uuid of the batch already stored (a resend, or a clash).
_SEEN = union_all(
    select(literal(1)).where(_visits.c.client_uuid == bindparam("visit_uuid")),
    select(literal(1)).where(_steps.c.client_uuid.in_(bindparam("step_uuids", expanding=True))),
    select(literal(1)).where(_media.c.client_uuid.in_(bindparam("media_uuids", expanding=True))),
).limit(1)
_ASSIGNMENT = (
    select(_assignments.c.status, _assignments.c.updated_at)
    .where(_assignments.c.id == bindparam("id"))
    .with_for_update()  # PostgreSQL; SQLite's writer holds the database already
)
_SUBMITTED = (
    update(_assignments)
    .where(_assignments.c.id == bindparam("b_id"))
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)
_NEW_VISIT = insert(_visits).returning(_visits.c.id)
_NEW_AUDIT, _NEW_MEDIA, _NEW_STEPS = insert(_audit), insert(_media), insert(_steps)


@dataclass
class FreshVisit:
    """Everything a fresh whole visit writes, built against a snapshot of its assignment."""

    assignment: Assignment  # as read; detached
    actor: User
    operations: list[service.Parsed]
    definition: JourneyDefinition
    checkin: dict[str, Any]  # the visit's columns: check-in, check-out and the rest
    checkout: dict[str, Any]
    visit: dict[str, Any]
    steps: list[dict[str, Any]]  # in the batch's order
    media: list[dict[str, Any]]
    hashes_elsewhere: dict[str, int]
    flags: list[Flag]
    now: datetime


def looks_fresh(operations: list[service.Parsed]) -> bool:
    """Whether a batch has the shape of a whole visit with nothing refused while parsing: a
    check-in first, a check-out last, steps and photos between, each step and UUID once."""
    if len(operations) < 2:
        return False
    first, middle, last = operations[0], operations[1:-1], operations[-1]
    if not isinstance(first, VisitStart) or not isinstance(last, VisitSubmit):
        return False
    step_keys, uuids = set(), set()
    for item in middle:
        if isinstance(item, service.StepInput):
            if item.step_key in step_keys:
                return False
            step_keys.add(item.step_key)
            uuids.add(item.uuid)
        elif isinstance(item, service.MediaInput) and isinstance(item.image, CleanImage):
            uuids.add(str(item.fields.client_uuid))
        else:
            return False
    return len(uuids) == len(middle)


def plan(
    session: Session,
    *,
    assignment: Assignment,
    operations: list[service.Parsed],
    actor: User,
    store: MediaStore,
) -> FreshVisit | None:
    """The rows of a fresh whole visit (``looks_fresh``), or None when any operation would not
    simply succeed on a new visit: that batch goes the general way. Reads only, apart from
    putting the photos' bytes in the media store (content-addressed, so harmless if the batch
    then goes the general way)."""
    start, last = operations[0], operations[-1]
    assert isinstance(start, VisitStart) and isinstance(last, VisitSubmit)
    steps = [op for op in operations if isinstance(op, service.StepInput)]
    photos = [op for op in operations if isinstance(op, service.MediaInput)]
    if assignment.status != S.accepted:
        return None
    now = utcnow()
    try:
        service.check_start(session, assignment=assignment, now=now)
    except FieldworkError:
        return None
    checkin = service.checkin_fields(start)
    seen = session.execute(_SEEN, _seen_params(checkin["client_uuid"], steps, photos)).first()
    if seen is not None:
        return None
    definition = service.journey_of(session, version_id=assignment.journey_version_id)
    for write in steps:
        if step_write_errors(definition, write.step_key, write.data):
            return None
    media_rows = []
    for photo in photos:
        fields, image = photo.fields, photo.image
        assert isinstance(image, CleanImage)
        if service.media_errors(definition, fields.step_key, fields.question_key or None, image):
            return None
        question_key = fields.question_key or None
        media_rows.append(
            service.media_row(
                None,
                client_uuid=str(fields.client_uuid),
                step_key=fields.step_key,
                question_key=question_key,
                digest=service.media_digest(fields.step_key, question_key, photo.upload_sha256),
                image=image,
                storage_key="",
                now=now,
            )
        )
    step_rows = [service.new_step_row(None, write, now) for write in steps]
    rows = service.VisitRows(
        [SimpleNamespace(**row) for row in step_rows],
        [SimpleNamespace(**row) for row in media_rows],
    )
    if service.completeness(definition, rows)[0]:
        return None
    checkout = service.checkout_fields(last, now)
    visit = {"assignment_id": assignment.id, **checkin, **checkout, "created_at": now}
    data = visit_data(
        session,
        visit=SimpleNamespace(id=0, **visit),  # type: ignore[arg-type]
        assignment=assignment,
        steps=rows.steps,
        media=[(row["client_uuid"], row["sha256"]) for row in media_rows],
    )
    flags, auto_approve = check_visit(session, data=data, journey=definition)
    if auto_approve:
        return None  # approving also materialises results: the general way does all of it
    for row, photo in zip(media_rows, photos, strict=True):
        assert isinstance(photo.image, CleanImage)
        row["storage_key"] = store.put(photo.image.data)
    return FreshVisit(
        assignment=assignment,
        actor=actor,
        operations=operations,
        definition=definition,
        checkin=checkin,
        checkout=checkout,
        visit=visit,
        steps=step_rows,
        media=media_rows,
        hashes_elsewhere=hashes_elsewhere(
            session, visit_id=0, hashes=[row["sha256"] for row in media_rows]
        ),
        flags=flags,
        now=now,
    )


def _seen_params(
    visit_uuid: str, steps: list[service.StepInput], photos: list[service.MediaInput]
) -> dict[str, Any]:
    return {
        "visit_uuid": visit_uuid,
        "step_uuids": [write.uuid for write in steps],
        "media_uuids": [str(photo.fields.client_uuid) for photo in photos],
    }


def store(session: Session, fresh: FreshVisit) -> int | None:
    """Insert the planned visit if nothing it was checked against changed since, and return its
    id; else None, having written nothing."""
    assignment = fresh.assignment
    # Core statements on the session's connection: the ORM adds nothing to these.
    db = session.connection()
    found = db.execute(_ASSIGNMENT, {"id": assignment.id}).first()
    if found is None or (found.status, found.updated_at) != (S.accepted, assignment.updated_at):
        return None
    steps = [op for op in fresh.operations if isinstance(op, service.StepInput)]
    photos = [op for op in fresh.operations if isinstance(op, service.MediaInput)]
    params = _seen_params(fresh.visit["client_uuid"], steps, photos)
    if db.execute(_SEEN, params).first() is not None:
        return None
    hashes = [row["sha256"] for row in fresh.media]
    if hashes_elsewhere(session, visit_id=0, hashes=hashes) != fresh.hashes_elsewhere:
        return None  # a photo became a duplicate meanwhile: QC must see it
    now, actor_id = fresh.now, fresh.actor.id
    db.execute(_SUBMITTED, {"b_id": assignment.id, "status": S.submitted, "updated_at": now})
    db.execute(
        _NEW_AUDIT,
        [
            {
                "at": now,
                "actor_id": actor_id,
                "entity": "assignment",
                "entity_id": assignment.id,
                "action": action,
                "from_state": before,
                "to_state": after,
                "comment": "",
                "data": {},
            }
            for action, before, after in (
                ("visit_started", S.accepted, S.in_progress),
                ("submitted", S.in_progress, S.submitted),
            )
        ],
    )
    visit_id: int = db.execute(_NEW_VISIT, fresh.visit).scalar_one()
    for row in (*fresh.steps, *fresh.media):
        row["visit_id"] = visit_id
    if fresh.media:
        db.execute(_NEW_MEDIA, fresh.media)
    db.execute(_NEW_STEPS, fresh.steps)
    store_run(session, visit_id=visit_id, flags=fresh.flags, first=True)
    assignment.updated_at = now
    # The events of the two transitions, as the general way sends them (check-in's before the
    # visit has an id).
    for before, after, of_visit in (
        (S.accepted, S.in_progress, None),
        (S.in_progress, S.submitted, visit_id),
    ):
        assignment.status = after
        assignment_transitioned(session, assignment=assignment, before=before, visit_id=of_visit)
    return visit_id


def results(fresh: FreshVisit, visit_id: int) -> list[dict[str, Any]]:
    """What each operation's single request would have answered (after ``store``)."""
    journey_version_id = fresh.assignment.journey_version_id
    started = SimpleNamespace(
        id=visit_id,
        assignment_id=fresh.assignment.id,
        **fresh.checkin,
        **dict.fromkeys(fresh.checkout),
    )
    body = service.visit_body(
        started,
        status=S.in_progress,
        journey_version_id=journey_version_id,
        definition=fresh.definition,
        rows=service.VisitRows((), ()),
    )
    answers = [service.operation_result(0, 201, body.model_dump())]
    steps = iter(fresh.steps)
    media = iter(fresh.media)
    for index, item in enumerate(fresh.operations[1:-1], start=1):
        if isinstance(item, service.StepInput):
            answers.append(service.operation_result(index, 200, service.step_body(next(steps))))
        else:
            photo = service.media_public(SimpleNamespace(**next(media)))
            answers.append(service.operation_result(index, 201, photo))
    rows = service.VisitRows(
        [SimpleNamespace(**row) for row in fresh.steps],
        [SimpleNamespace(**row) for row in fresh.media],
    )
    body = service.visit_body(
        SimpleNamespace(id=visit_id, **fresh.visit),
        status=S.submitted,
        journey_version_id=journey_version_id,
        definition=fresh.definition,
        rows=rows,
    )
    answers.append(service.operation_result(len(fresh.operations) - 1, 200, body.model_dump()))
    return answers
