"""A whole visit walked offline, stored with a short write transaction.

The usual whole-visit batch is a check-in, photos, steps and the check-out of an assignment that
has no visit yet, every operation valid. It is checked and built in full against a read
snapshot, outside the write transaction: the rules, QC and every row, its values made ready for
the database driver. The write transaction then re-reads only what the plan depended on (the
assignment's state, other visits' photos) and, if it is unchanged, inserts the rows with a
handful of statements; a client UUID that another visit holds already fails the insert on its
unique index, and nothing is kept. On SQLite every writer of the deployment takes turns, so this
keeps each turn short.

Anything else goes the general way, operation by operation (``service.apply_operations``), with
the same results: a resend, a refusal, a visit already started, a project that auto-approves,
or a snapshot that changed before the write.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api.accounts.models import User
from api.assignments.models import Assignment, AssignmentStatus
from api.audit.models import AuditEntry
from api.common import utcnow
from api.db import Database, DriverInsert, detached
from api.errors import FieldworkError
from api.events.service import assignment_transitioned
from api.qc.models import QcFlag, QcRun
from api.qc.service import check_visit, hashes_elsewhere, run_rows, visit_data
from api.visits import service
from api.visits.media import CleanImage, MediaStore
from api.visits.models import Media, StepObservation, Visit, VisitStart, VisitSubmit
from api.visits.validation import step_write_errors
from briefings import JourneyDefinition
from scoring import Flag

S = AssignmentStatus
logger = logging.getLogger(__name__)
_assignments = Assignment.__table__  # type: ignore[attr-defined]
_visits = Visit.__table__  # type: ignore[attr-defined]

# Built once.
_ASSIGNMENTS = (
    select(_assignments.c.id, _assignments.c.status, _assignments.c.updated_at)
    .where(_assignments.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_assignments.c.id)
    .with_for_update()  # PostgreSQL; SQLite's writer holds the database already
)
_SUBMITTED = (
    update(_assignments)
    .where(_assignments.c.id == bindparam("b_id"))
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)
_ASSIGNMENT = select(_assignments).where(_assignments.c.id == bindparam("id"))
_NEW_VISITS = insert(_visits).returning(_visits.c.id, sort_by_parameter_order=True)


def _rows_of(model: Any) -> DriverInsert:
    """Insert rows of every column of ``model``'s table but the id."""
    table = model.__table__
    return DriverInsert(table, [column.name for column in table.c if column.name != "id"])


_NEW_AUDIT, _NEW_MEDIA, _NEW_STEPS = (
    _rows_of(AuditEntry),
    _rows_of(Media),
    _rows_of(StepObservation),
)
_NEW_RUN, _NEW_FLAGS = _rows_of(QcRun), _rows_of(QcFlag)


@dataclass
class _DriverRows:
    """A fresh visit's rows as the driver takes them (``DriverInsert.prepare``), made in the
    plan; the visit's id is filled in once it is known."""

    audit: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    media: list[dict[str, Any]]
    run: dict[str, Any]
    flags: list[dict[str, Any]]

    def of_visit(self, visit_id: int) -> None:
        for row in (*self.steps, *self.media, self.run, *self.flags):
            row["visit_id"] = visit_id


@dataclass
class FreshVisit:
    """Everything a fresh whole visit writes, built against a snapshot of its assignment."""

    assignment: Assignment  # as read; detached
    actor: User
    operations: list[service.Parsed]
    definition: JourneyDefinition
    checkin: dict[str, Any]  # the visit's columns set by its check-in and its check-out
    checkout: dict[str, Any]
    steps: list[dict[str, Any]]  # in the batch's order
    media: list[dict[str, Any]]
    now: datetime
    flags: list[Flag] = field(default_factory=list)
    driver: _DriverRows | None = None  # set by ``plan`` once the rows are final

    @property
    def prepared(self) -> _DriverRows:
        """The rows as the driver takes them."""
        assert self.driver is not None, "plan() prepares the rows"
        return self.driver

    @property
    def visit(self) -> dict[str, Any]:
        """The visit's row (every column but the id)."""
        return {
            "assignment_id": self.assignment.id,
            **self.checkin,
            **self.checkout,
            "created_at": self.now,
        }


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


def own_assignment(session: Session, *, shopper: User, assignment_id: int) -> Assignment | None:
    """The shopper's assignment, detached, or None (the general way then answers 404). A Core
    read: the plan only reads the assignment, and the ORM's identity map costs more than the
    query."""
    row = session.connection().execute(_ASSIGNMENT, {"id": assignment_id}).first()
    if row is None or row.shopper_id != shopper.id:
        return None
    return detached(Assignment, row)


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
    definition = service.journey_of(session, version_id=assignment.journey_version_id)
    for write in steps:
        if step_write_errors(definition, write.step_key, write.data):
            return None
    media_rows = []
    for photo in photos:
        fields, image = photo.fields, photo.image
        assert isinstance(image, CleanImage)
        question_key = fields.question_key or None
        if service.media_errors(definition, fields.step_key, question_key, image):
            return None
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
    fresh = FreshVisit(
        assignment=assignment,
        actor=actor,
        operations=operations,
        definition=definition,
        checkin=checkin,
        checkout=service.checkout_fields(last, now),
        steps=step_rows,
        media=media_rows,
        now=now,
    )
    data = visit_data(
        session,
        visit=SimpleNamespace(id=0, **fresh.visit),  # type: ignore[arg-type]
        assignment=assignment,
        steps=rows.steps,
        media=[(row["client_uuid"], row["sha256"]) for row in media_rows],
    )
    # Checked as if its photos were in no other visit; the write makes sure of that.
    fresh.flags, auto_approve = check_visit(
        session, data=data, journey=definition, other_visit_hashes={}
    )
    if auto_approve:
        return None  # approving also materialises results: the general way does all of it
    for row, photo in zip(media_rows, photos, strict=True):
        assert isinstance(photo.image, CleanImage)
        row["storage_key"] = store.put(photo.image.data)
    fresh.driver = _driver_rows(session, fresh)
    return fresh


def _driver_rows(session: Session, fresh: FreshVisit) -> _DriverRows:
    dialect = session.get_bind().dialect
    audit = [
        {
            "at": fresh.now,
            "actor_id": fresh.actor.id,
            "entity": "assignment",
            "entity_id": fresh.assignment.id,
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
    ]
    run, flags = run_rows(None, 1, fresh.flags, fresh.now)
    return _DriverRows(
        audit=[_NEW_AUDIT.prepare(dialect, row) for row in audit],
        steps=[_NEW_STEPS.prepare(dialect, row) for row in fresh.steps],
        media=[_NEW_MEDIA.prepare(dialect, row) for row in fresh.media],
        run=_NEW_RUN.prepare(dialect, run),
        flags=[_NEW_FLAGS.prepare(dialect, row) for row in flags],
    )


def store_many(session: Session, plans: list[FreshVisit]) -> list[int | None]:
    """Insert the planned visits whose snapshot still holds, all with the same few statements;
    the visits' ids, or None for a plan that changed (it wrote nothing): another visit was
    started on its assignment, or one of its photos turned up in another visit (QC must see
    that), meanwhile or earlier in ``plans``. A client UUID stored already (by another
    assignment's visit: a resend of this one finds its assignment changed) is left to the
    unique indexes: the insert fails with ``IntegrityError`` and nothing is kept."""
    # Core statements on the session's connection: the ORM adds nothing to these.
    db = session.connection()
    ids = sorted({plan.assignment.id for plan in plans})
    found = {row.id: row for row in db.execute(_ASSIGNMENTS, {"ids": ids})}
    hashes = sorted({row["sha256"] for plan in plans for row in plan.media})
    elsewhere = hashes_elsewhere(session, visit_id=0, hashes=hashes)
    kept: list[FreshVisit] = []
    taken_assignments: set[int | None] = set()
    taken_hashes: set[str] = set()
    for plan in plans:
        assignment = plan.assignment
        row = found.get(assignment.id)
        own_hashes = {media["sha256"] for media in plan.media}
        if (
            row is None
            or (row.status, row.updated_at) != (S.accepted, assignment.updated_at)
            or assignment.id in taken_assignments
            or not own_hashes.isdisjoint(elsewhere)
            or not taken_hashes.isdisjoint(own_hashes)
        ):
            continue
        kept.append(plan)
        taken_assignments.add(assignment.id)
        taken_hashes |= own_hashes
    stored = _insert(session, kept) if kept else {}
    return [stored.get(id(plan)) for plan in plans]


def _insert(session: Session, plans: list[FreshVisit]) -> dict[int, int]:
    """Write checked plans: id(plan) → its visit's id."""
    db = session.connection()
    db.execute(
        _SUBMITTED,
        [{"b_id": p.assignment.id, "status": S.submitted, "updated_at": p.now} for p in plans],
    )
    prepared = [plan.prepared for plan in plans]
    _NEW_AUDIT.execute(db, [row for rows in prepared for row in rows.audit])
    visit_ids = db.execute(_NEW_VISITS, [plan.visit for plan in plans]).scalars().all()
    pairs = list(zip(plans, visit_ids, strict=True))
    for plan, visit_id in pairs:
        for row in (*plan.steps, *plan.media):
            row["visit_id"] = visit_id
        plan.prepared.of_visit(visit_id)
    media = [row for rows in prepared for row in rows.media]
    if media:
        _NEW_MEDIA.execute(db, media)
    _NEW_STEPS.execute(db, [row for rows in prepared for row in rows.steps])
    _NEW_RUN.execute(db, [rows.run for rows in prepared])
    flags = [row for rows in prepared for row in rows.flags]
    if flags:
        _NEW_FLAGS.execute(db, flags)
    for plan, visit_id in pairs:
        assignment = plan.assignment
        assignment.updated_at = plan.now
        # The events of the two transitions, as the general way sends them (check-in's before
        # the visit has an id).
        for before, after, of_visit in (
            (S.accepted, S.in_progress, None),
            (S.in_progress, S.submitted, visit_id),
        ):
            assignment.status = after
            assignment_transitioned(
                session, assignment=assignment, before=before, visit_id=of_visit
            )
    return {id(plan): visit_id for plan, visit_id in pairs}


class GroupWriter:
    """Stores the fresh visits of one process's threads together (group commit).

    A thread (a lane, with its group's plans) queues its plans; if no other thread is writing,
    it takes the write slot and stores everything queued by then in one transaction,
    ``store_many``. Plans queued meanwhile wait for that transaction, and the next writer stores
    them. On SQLite, where the writers of all processes take turns, a turn then stores several
    visits for little more than the cost of one.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._turn = threading.Condition()
        self._queue: list[_Job] = []
        self._writing = False

    def store_all(self, plans: list[FreshVisit]) -> list[int | None]:
        """Each plan's stored visit id; None for a plan that no longer holds (it wrote
        nothing)."""
        jobs = [_Job(plan) for plan in plans]
        with self._turn:
            self._queue.extend(jobs)
            while self._writing and not all(job.done for job in jobs):
                self._turn.wait()
            if all(job.done for job in jobs):
                return [job.visit_id for job in jobs]
            self._writing = True
            queued, self._queue = self._queue, []
        try:
            self._write(queued)
        finally:
            with self._turn:
                self._writing = False
                self._turn.notify_all()
        return [job.visit_id for job in jobs]

    def _write(self, jobs: list[_Job]) -> None:
        try:
            with self._db.session() as session:
                visit_ids = store_many(session, [job.plan for job in jobs])
        except IntegrityError as err:
            # A client UUID stored already: the general way answers each plan (409 for the
            # one that reused it). The constraint is logged in case it was another one.
            logger.info(
                "a client UUID of %d fresh visits was taken; none was kept (%s)",
                len(jobs),
                err.orig,
            )
            visit_ids = [None] * len(jobs)
        except Exception:
            # Each plan goes the general way in a transaction of its own, which answers (or
            # fails) for itself; nothing of this one was kept.
            logger.exception("storing %d fresh visits together failed", len(jobs))
            visit_ids = [None] * len(jobs)
        for job, visit_id in zip(jobs, visit_ids, strict=True):
            job.visit_id, job.done = visit_id, True


@dataclass
class _Job:
    plan: FreshVisit
    visit_id: int | None = None
    done: bool = False


def results(fresh: FreshVisit, visit_id: int, *, minimal: bool = False) -> list[dict[str, Any]]:
    """What each operation's single request would have answered (after ``store_many``): a
    check-in or photo 201, a step or the check-out 200; with ``minimal`` (``Prefer:
    return=minimal``) without the bodies, which are then not built."""
    bodies = [None] * len(fresh.operations) if minimal else _bodies(fresh, visit_id)
    return [
        service.operation_result(
            index, 201 if isinstance(item, (VisitStart, service.MediaInput)) else 200, body
        )
        for index, (item, body) in enumerate(zip(fresh.operations, bodies, strict=True))
    ]


def _bodies(fresh: FreshVisit, visit_id: int) -> list[Any]:
    """Each operation's answer: the started visit, each step and photo, the submitted visit."""
    journey_version_id = fresh.assignment.journey_version_id
    started = SimpleNamespace(
        id=visit_id,
        assignment_id=fresh.assignment.id,
        **fresh.checkin,
        **dict.fromkeys(fresh.checkout),
    )
    bodies: list[Any] = [
        service.visit_body(
            started,
            status=S.in_progress,
            journey_version_id=journey_version_id,
            definition=fresh.definition,
            rows=service.VisitRows((), ()),
        )
    ]
    steps = iter(fresh.steps)
    media = iter(fresh.media)
    for item in fresh.operations[1:-1]:
        if isinstance(item, service.StepInput):
            bodies.append(service.step_body(next(steps)))
        else:
            bodies.append(service.media_public(SimpleNamespace(**next(media))))
    rows = service.VisitRows(
        [SimpleNamespace(**row) for row in fresh.steps],
        [SimpleNamespace(**row) for row in fresh.media],
    )
    bodies.append(
        service.visit_body(
            SimpleNamespace(id=visit_id, **fresh.visit),
            status=S.submitted,
            journey_version_id=journey_version_id,
            definition=fresh.definition,
            rows=rows,
        )
    )
    return bodies
