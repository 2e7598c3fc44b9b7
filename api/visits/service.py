"""Field capture: briefing quiz gate, check-in, step writes, media, submission, batches.

Idempotency: every write carries the phone's ``client_uuid``; the SHA-256 of its canonical JSON
(``payload_hash``) is stored beside it. The same UUID with the same hash returns what is stored
and changes nothing; the same UUID with another hash is an ``IdempotencyConflict``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Row, bindparam, case, insert, update
from sqlmodel import Session, col, func, select

from api.accounts.models import Role, User
from api.assignments.models import Assignment, AssignmentStatus
from api.assignments.service import get_assignment
from api.assignments.states import transition
from api.audit.models import AuditEntry
from api.audit.service import record
from api.common import utcnow
from api.db import CACHE
from api.errors import (
    Conflict,
    FieldworkError,
    Invalid,
    NotFound,
    PayloadTooLarge,
    error_field,
)
from api.journeys.models import JourneyVersion, VersionStatus
from api.personas.models import Persona, PersonaBrief
from api.qc.service import run_qc_on_submit
from api.reviews.models import Review, ReviewAction
from api.visits.media import CleanImage, MediaStore, NotAnImage, clean_image
from api.visits.models import (
    BatchOperation,
    BriefingAttempt,
    BriefingPublic,
    GeoPublic,
    Media,
    MediaFields,
    MediaPublic,
    QuizResultPublic,
    StepObservation,
    StepObservationPublic,
    StepWrite,
    ValidOperation,
    Visit,
    VisitBatchOperation,
    VisitPublic,
    VisitStart,
    VisitSubmit,
)
from api.visits.validation import (
    ObservedStep,
    completeness_errors,
    referenced_media,
    step_write_errors,
)
from briefings import JourneyDefinition, grade_quiz

S = AssignmentStatus
EDITABLE = frozenset({S.in_progress, S.returned})


class IdempotencyConflict(Conflict):
    """A client_uuid seen before, now with other content."""

    slug, title = "idempotency-conflict", "This client_uuid was used for other content"


# The canonical form of a payload; made once (``json.dumps`` with these options makes an encoder
# per call). Stored hashes depend on it: keep it as it is.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(_CANONICAL.encode(payload).encode()).hexdigest()


def _conflict(kind: str, uuid: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"The {kind} with client_uuid {uuid} was stored with other content; "
        "send changes with a new client_uuid.",
        client_uuid=uuid,
    )


def _lock(session: Session, model: type[Visit] | type[Assignment], row_id: int | None) -> None:
    """Serialise writes to one visit; SQLite holds the database write lock already."""
    if session.get_bind().dialect.name != "sqlite":
        session.exec(
            select(model)
            .where(model.id == row_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()


# ---------------------------------------------------------------- journey


# Validating a journey definition costs more than the rest of a step write; published versions
# never change, so each is validated once. The key includes created_at because ids repeat when a
# database is rebuilt (tests).
_definitions: dict[tuple[int, datetime], JourneyDefinition] = {}


def journey_of(session: Session, *, version_id: int) -> JourneyDefinition:
    """The journey version's definition."""
    # Sessions of a Database share its cache: a published version found there needs no query.
    shared: dict[Any, Any] | None = session.info.get(CACHE)
    if shared is not None and (found := shared.get(("journey", version_id))) is not None:
        return found  # type: ignore[no-any-return]
    stamp = session.exec(
        select(JourneyVersion.created_at, JourneyVersion.status).where(
            JourneyVersion.id == version_id
        )
    ).first()
    if stamp is None:
        raise NotFound(f"No journey version {version_id}.")
    key = (version_id, stamp[0])
    cached = _definitions.get(key)
    if cached is not None:
        if shared is not None:
            shared[("journey", version_id)] = cached
        return cached
    version = session.get(JourneyVersion, version_id)
    assert version is not None
    definition = JourneyDefinition.model_validate(version.definition)
    if stamp[1] == VersionStatus.published:
        if len(_definitions) >= 256:
            _definitions.clear()
        _definitions[key] = definition
        if shared is not None:
            shared[("journey", version_id)] = definition
    return definition


# ---------------------------------------------------------------- access


def own_assignment(session: Session, *, shopper: User, assignment_id: int) -> Assignment:
    return get_assignment(session, user=shopper, assignment_id=assignment_id)


def get_visit(session: Session, *, user: User, visit_id: int) -> tuple[Visit, Assignment]:
    """The visit if ``user`` may see it (its shopper or the project's managers), else 404."""
    missing = NotFound(f"No visit {visit_id}.")
    row = session.exec(
        select(Visit, Assignment)
        .join(Assignment, col(Assignment.id) == Visit.assignment_id)
        .where(Visit.id == visit_id)
    ).first()
    if row is None:
        raise missing
    visit, assignment = row
    if user.role == Role.shopper:
        if assignment.shopper_id != user.id:
            raise missing
        return visit, assignment
    try:
        get_assignment(session, user=user, assignment_id=visit.assignment_id)
    except NotFound:
        raise missing from None
    return visit, assignment


def own_visit(session: Session, *, shopper: User, visit_id: int) -> tuple[Visit, Assignment]:
    if shopper.role != Role.shopper:
        raise NotFound(f"No visit {visit_id}.")
    return get_visit(session, user=shopper, visit_id=visit_id)


def visit_of_assignment(session: Session, *, assignment: Assignment) -> Visit:
    visit = session.exec(select(Visit).where(Visit.assignment_id == assignment.id)).first()
    if visit is None:
        raise NotFound(f"Assignment {assignment.id} has no visit yet.")
    return visit


# ---------------------------------------------------------------- briefing and quiz


def _attempts(session: Session, assignment_id: int | None) -> tuple[int, bool]:
    used, passed = session.exec(
        select(func.count(), func.count(case((col(BriefingAttempt.passed), 1)))).where(
            BriefingAttempt.assignment_id == assignment_id
        )
    ).one()
    return int(used), bool(passed)


def briefing(session: Session, *, assignment: Assignment) -> BriefingPublic:
    definition = journey_of(session, version_id=assignment.journey_version_id)
    journey = definition.model_dump(mode="json")
    if journey.get("briefing"):
        for question in journey["briefing"]["quiz"]["questions"]:
            question.pop("correct", None)
    used, passed = _attempts(session, assignment.id)
    assert assignment.id is not None
    persona = session.get(Persona, assignment.persona_id) if assignment.persona_id else None
    return BriefingPublic(
        assignment_id=assignment.id,
        journey_version_id=assignment.journey_version_id,
        journey=journey,
        briefing=journey.get("briefing"),
        quiz_passed=passed or definition.briefing is None,
        attempts_used=used,
        persona=None if persona is None else PersonaBrief.model_validate(persona),
    )


def attempt_quiz(
    session: Session, *, assignment: Assignment, shopper: User, answers: dict[str, str]
) -> QuizResultPublic:
    definition = journey_of(session, version_id=assignment.journey_version_id)
    if definition.briefing is None:
        raise Conflict("This journey has no briefing quiz.", rule="briefing_quiz")
    if assignment.status not in (S.offered, S.accepted):
        raise Conflict(
            f"The quiz is taken before the visit; the assignment is {assignment.status}.",
            rule="briefing_quiz",
        )
    _lock(session, Assignment, assignment.id)
    quiz = definition.briefing.quiz
    used, passed = _attempts(session, assignment.id)
    if passed:
        raise Conflict("You passed this briefing's quiz already.", rule="briefing_quiz")
    if quiz.max_attempts is not None and used >= quiz.max_attempts:
        raise Conflict(
            f"All {quiz.max_attempts} attempts are used; ask your project manager.",
            rule="max_attempts",
        )
    result = grade_quiz(quiz, answers)
    assert assignment.id is not None and shopper.id is not None
    session.add(
        BriefingAttempt(
            assignment_id=assignment.id,
            shopper_id=shopper.id,
            answers=answers,
            score_percent=result.score_percent,
            passed=result.passed,
        )
    )
    session.flush()
    return QuizResultPublic(
        passed=result.passed,
        score_percent=result.score_percent,
        wrong=result.wrong,
        attempts_used=used + 1,
    )


# ---------------------------------------------------------------- check-in


def check_start(session: Session, *, assignment: Assignment, now: datetime) -> None:
    """The rules of checking in on an accepted assignment: inside its visit window, and with the
    briefing's quiz passed (Conflict)."""
    if now < assignment.window_start or now > assignment.window_end:
        raise Conflict(
            f"The visit window is {assignment.window_start.isoformat()} to "
            f"{assignment.window_end.isoformat()}.",
            rule="visit_window",
        )
    definition = journey_of(session, version_id=assignment.journey_version_id)
    if definition.briefing is not None and not _attempts(session, assignment.id)[1]:
        raise Conflict("Pass the briefing's quiz before you start the visit.", rule="briefing_quiz")


def checkin_fields(data: VisitStart) -> dict[str, Any]:
    """A new visit's columns from its check-in."""
    return {
        "client_uuid": str(data.client_uuid),
        "payload_hash": payload_hash(data.model_dump(mode="json")),
        "started_at": data.started_at,
        "checkin_latitude": data.latitude,
        "checkin_longitude": data.longitude,
        "checkin_accuracy_m": data.accuracy_m,
        "device": data.device,
    }


def start_visit(
    session: Session,
    *,
    assignment: Assignment,
    shopper: User,
    data: VisitStart,
    now: datetime | None = None,
) -> tuple[Visit, bool]:
    """Check in; returns the visit and whether it was created (False: a resend)."""
    fields = checkin_fields(data)
    uuid, digest = fields["client_uuid"], fields["payload_hash"]
    _lock(session, Assignment, assignment.id)
    seen = session.exec(select(Visit).where(Visit.client_uuid == uuid)).first()
    if seen is not None:
        if seen.assignment_id != assignment.id or seen.payload_hash != digest:
            raise _conflict("visit", uuid)
        return seen, False
    if assignment.status == S.accepted:
        check_start(session, assignment=assignment, now=now or utcnow())
    transition(session, assignment, S.in_progress, actor_id=shopper.id, action="visit_started")
    assert assignment.id is not None
    visit = Visit(assignment_id=assignment.id, **fields)
    session.add(visit)
    session.flush()
    return visit, True


# ---------------------------------------------------------------- steps


@dataclass(frozen=True)
class VisitRef:
    """What a step write reads of its visit and assignment, without building ORM objects."""

    id: int
    status: AssignmentStatus
    journey_version_id: int

    @classmethod
    def of(cls, visit: Visit, assignment: Assignment) -> VisitRef:
        assert visit.id is not None
        return cls(visit.id, assignment.status, assignment.journey_version_id)


_visits, _assignments = Visit.__table__, Assignment.__table__  # type: ignore[attr-defined]
_VISIT_REF = (
    select(
        _visits.c.id,
        _assignments.c.status,
        _assignments.c.journey_version_id,
        _assignments.c.shopper_id,
    )
    .join(_assignments, _assignments.c.id == _visits.c.assignment_id)
    .where(_visits.c.id == bindparam("visit_id"))
    .with_for_update(of=_visits)  # PostgreSQL; SQLite's writer holds the database already
)


def own_visit_ref(session: Session, *, shopper: User, visit_id: int) -> VisitRef:
    """``own_visit`` and ``_lock`` of the visit for a step write: the same refusals, one query."""
    row = session.execute(_VISIT_REF, {"visit_id": visit_id}).first()
    if shopper.role != Role.shopper or row is None or row.shopper_id != shopper.id:
        raise NotFound(f"No visit {visit_id}.")
    return VisitRef(row.id, row.status, row.journey_version_id)


def _editable(assignment: Assignment | VisitRef, what: str) -> None:
    if assignment.status not in EDITABLE:
        raise Conflict(
            f"The visit is {assignment.status}; {what} only while it is in progress or returned.",
            rule="visit_editable",
        )


_step_rows = StepObservation.__table__  # type: ignore[attr-defined]
_media_rows = Media.__table__  # type: ignore[attr-defined]
# Statements built once: building one per request (values, IN lists) cost more than running it.
_STEPS_TOUCHED = select(_step_rows).where(
    _step_rows.c.client_uuid.in_(bindparam("uuids", expanding=True))
    | (
        (_step_rows.c.visit_id == bindparam("visit_id"))
        & _step_rows.c.step_key.in_(bindparam("step_keys", expanding=True))
    )
)
_UPDATE_STEP = update(_step_rows).where(
    _step_rows.c.visit_id == bindparam("b_visit_id"),
    _step_rows.c.step_key == bindparam("b_step_key"),
)
_NOT_UPDATED = frozenset({"id", "visit_id", "step_key", "created_at", "stored"})
# StepObservationPublic's fields, read straight from a row's mapping to build responses.
PUBLIC_STEP_FIELDS = tuple(StepObservationPublic.model_fields)


@dataclass(frozen=True)
class StepInput:
    """A parsed step write and its payload hash, computed before the database is touched."""

    step_key: str
    data: StepWrite
    uuid: str
    body: dict[str, Any]
    digest: str


def step_input(step_key: str, data: StepWrite) -> StepInput:
    body = data.model_dump(mode="json")
    digest = payload_hash({"step_key": step_key, **body})
    return StepInput(step_key, data, str(data.client_uuid), body, digest)


def step_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """A step row (a mapping of its columns) as StepObservationPublic's fields."""
    return {name: row[name] for name in PUBLIC_STEP_FIELDS}


def _snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    return StepObservationPublic.model_validate(step_body(row)).model_dump(
        mode="json", exclude={"updated_at"}
    )


def _step_fields(write: StepInput, now: datetime) -> dict[str, Any]:
    """The columns a step write sets."""
    data, body = write.data, write.body
    return {
        "client_uuid": write.uuid,
        "payload_hash": write.digest,
        "answers": body["answers"],
        "evidence": body["evidence"],
        "notes": data.notes,
        "started_at": _utc(data.started_at),
        "ended_at": _utc(data.ended_at),
        "latitude": data.latitude,
        "longitude": data.longitude,
        "accuracy_m": data.accuracy_m,
        "conscious": body["conscious"],
        "probes": body["probes"],
        "updated_at": now,
    }


def new_step_row(visit_id: int | None, write: StepInput, now: datetime) -> dict[str, Any]:
    """The row of a step's first write (every column but the id)."""
    return {
        "visit_id": visit_id,
        "step_key": write.step_key,
        "revision": 1,
        "replaced_writes": {},
        "created_at": now,
        **_step_fields(write, now),
    }


class _Steps:
    """The step rows that a set of writes touches, as mutable dicts; Core statements store them.

    Building ORM objects for a visit's twenty steps cost more than the rest of a batch, and
    only a few columns of a row are ever read back here.
    """

    def __init__(self, session: Session, *, visit_id: int | None, writes: list[StepInput]) -> None:
        self.by_uuid: dict[str, dict[str, Any]] = {}
        self.by_step: dict[str, dict[str, Any]] = {}
        self._new: list[dict[str, Any]] = []
        self._changed: dict[str, dict[str, Any]] = {}  # step_key → stored row, changed
        self._definition: JourneyDefinition | None = None
        if not writes:
            return
        # One query finds both resends (same UUID, maybe of another visit) and the steps written.
        rows = session.execute(
            _STEPS_TOUCHED,
            {
                "uuids": [w.uuid for w in writes],
                "visit_id": visit_id,
                "step_keys": list({w.step_key: None for w in writes}),
            },
        ).mappings()
        for found in rows:
            row = {**found, "stored": True}
            self.by_uuid[row["client_uuid"]] = row
            if row["visit_id"] == visit_id:
                self.by_step[row["step_key"]] = row

    def definition(self, session: Session, visit: VisitRef) -> JourneyDefinition:
        if self._definition is None:
            self._definition = journey_of(session, version_id=visit.journey_version_id)
        return self._definition

    def apply(
        self,
        session: Session,
        *,
        visit: VisitRef,
        write: StepInput,
        actor: User,
    ) -> tuple[dict[str, Any], bool]:
        """Stage one step write; every refusal is raised before anything changes."""
        uuid, digest, step_key = write.uuid, write.digest, write.step_key
        seen = self.by_uuid.get(uuid)
        if seen is not None:
            if (
                seen["visit_id"] != visit.id
                or seen["step_key"] != step_key
                or seen["payload_hash"] != digest
            ):
                raise _conflict("step observation", uuid)
            return seen, False
        row = self.by_step.get(step_key)
        if row is not None and uuid in row["replaced_writes"]:
            # A late resend of a write that a newer one replaced: it was applied, keep the newer.
            if row["replaced_writes"][uuid] != digest:
                raise _conflict("step observation", uuid)
            return row, False
        _editable(visit, "steps can be written")
        errors = step_write_errors(self.definition(session, visit), step_key, write.data)
        if errors:
            raise Invalid(_summary(errors), errors)
        before = None
        if row is None:
            row = {**new_step_row(visit.id, write, utcnow()), "stored": False}
            self._new.append(row)
        else:
            before = _snapshot(row) if visit.status == S.returned else None
            row["replaced_writes"] = {
                **row["replaced_writes"],
                row["client_uuid"]: row["payload_hash"],
            }
            row["revision"] += 1
            row.update(_step_fields(write, utcnow()))
            if row["stored"]:
                self._changed[step_key] = row
        self.by_uuid[uuid] = self.by_step[step_key] = row
        if visit.status == S.returned:
            record(
                session,
                actor_id=actor.id,
                entity="visit",
                entity_id=visit.id,
                action="step_edited",
                comment=step_key,
                data={"step_key": step_key, "before": before, "after": _snapshot(row)},
            )
        return row, True

    def store(self, session: Session) -> None:
        """Write the staged rows: new ones in one multi-row insert."""
        if self._new:
            session.execute(
                insert(_step_rows),
                [{k: v for k, v in row.items() if k != "stored"} for row in self._new],
            )
            for row in self._new:
                row["stored"] = True
        if self._changed:
            # The SET clause is the columns named in the parameters; one statement, compiled once.
            session.execute(
                _UPDATE_STEP,
                [
                    {
                        **{k: v for k, v in row.items() if k not in _NOT_UPDATED},
                        "b_visit_id": row["visit_id"],
                        "b_step_key": row["step_key"],
                    }
                    for row in self._changed.values()
                ],
            )
        self._new, self._changed = [], {}


def write_step(
    session: Session, *, visit: VisitRef, write: StepInput, actor: User
) -> tuple[dict[str, Any], bool]:
    """Create or replace one step's observation; returns its row and whether anything changed.

    ``visit`` comes from ``own_visit_ref``, which locked it."""
    steps = _Steps(session, visit_id=visit.id, writes=[write])
    row, changed = steps.apply(session, visit=visit, write=write, actor=actor)
    steps.store(session)
    session.flush()
    return row, changed


def _utc(value: datetime | None) -> datetime | None:
    """An aware time in UTC, as the database hands it back."""
    return None if value is None else value.astimezone(UTC)


def _summary(errors: list[dict[str, Any]]) -> str:
    parts = [
        ": ".join(str(p) for p in (e.get("step"), e.get("field"), e["message"]) if p)
        for e in errors[:5]
    ]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


# ---------------------------------------------------------------- media


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"A file may be at most {limit:,} bytes.", limit=limit)


def read_photo(raw: bytes, *, limit: int) -> tuple[str, CleanImage | NotAnImage]:
    """An uploaded file's SHA-256 and the image re-encoded from it, or why it is not one (for
    ``store_media``, which refuses it with the request's other errors); pure, so it runs
    before the write transaction. Larger than ``limit`` bytes: PayloadTooLarge."""
    if len(raw) > limit:
        raise too_large(limit)
    try:
        image: CleanImage | NotAnImage = clean_image(raw)
    except NotAnImage as refusal:
        image = refusal
    return hashlib.sha256(raw).hexdigest(), image


def store_media(
    session: Session,
    *,
    visit: Visit,
    assignment: Assignment,
    client_uuid: str,
    step_key: str,
    question_key: str | None,
    upload_sha256: str,
    image: CleanImage | NotAnImage,
    store: MediaStore,
) -> tuple[Media, bool]:
    """Keep an uploaded photo, or say why the bytes were refused (``NotAnImage``)."""
    digest = media_digest(step_key, question_key, upload_sha256)
    _lock(session, Visit, visit.id)
    seen = session.exec(select(Media).where(Media.client_uuid == client_uuid)).first()
    if seen is not None:
        if seen.visit_id != visit.id or seen.payload_hash != digest:
            raise _conflict("media", client_uuid)
        return seen, False
    _editable(assignment, "photos can be uploaded")
    definition = journey_of(session, version_id=assignment.journey_version_id)
    errors = media_errors(definition, step_key, question_key, image)
    if errors:
        raise Invalid(_summary(errors), errors)
    assert isinstance(image, CleanImage) and visit.id is not None
    media = Media(
        **media_row(
            visit.id,
            client_uuid=client_uuid,
            step_key=step_key,
            question_key=question_key,
            digest=digest,
            image=image,
            storage_key=store.put(image.data),
            now=utcnow(),
        )
    )
    session.add(media)
    session.flush()
    return media, True


def media_digest(step_key: str, question_key: str | None, upload_sha256: str) -> str:
    """A photo upload's payload hash: its form fields and the SHA-256 of the bytes sent."""
    return payload_hash(
        {"step_key": step_key, "question_key": question_key, "sha256": upload_sha256}
    )


def media_errors(
    definition: JourneyDefinition,
    step_key: str,
    question_key: str | None,
    image: CleanImage | NotAnImage,
) -> list[dict[str, Any]]:
    """Why a photo cannot be kept: a step or question not of the journey, or not an image."""
    errors = []
    try:
        step = definition.step(step_key)
    except KeyError:
        errors.append(
            {"step": step_key, "field": "step_key", "message": "is not a step of this journey"}
        )
    else:
        if question_key is not None and question_key not in {q.key for q in step.questions}:
            errors.append(
                {
                    "step": step_key,
                    "field": "question_key",
                    "message": "is not a question of this step",
                }
            )
    if isinstance(image, NotAnImage):
        errors.append({"step": step_key, "field": "file", "message": str(image)})
    return errors


def media_row(
    visit_id: int | None,
    *,
    client_uuid: str,
    step_key: str,
    question_key: str | None,
    digest: str,
    image: CleanImage,
    storage_key: str,
    now: datetime,
) -> dict[str, Any]:
    """A kept photo's row (every column but the id)."""
    return {
        "client_uuid": client_uuid,
        "visit_id": visit_id,
        "step_key": step_key,
        "question_key": question_key,
        "payload_hash": digest,
        "sha256": image.sha256,
        "content_type": image.content_type,
        "size": len(image.data),
        "width": image.width,
        "height": image.height,
        "storage_key": storage_key,
        "created_at": now,
    }


def media_for_download(session: Session, *, user: User, client_uuid: str) -> Media:
    media = session.exec(select(Media).where(Media.client_uuid == client_uuid)).first()
    if media is None:
        raise NotFound(f"No media {client_uuid}.")
    try:
        get_visit(session, user=user, visit_id=media.visit_id)
    except NotFound:
        raise NotFound(f"No media {client_uuid}.") from None
    return media


# ---------------------------------------------------------------- submission


@dataclass(frozen=True)
class VisitRows:
    """A visit's step and media rows, read by attribute (Core rows; or, for a visit started in
    the same batch, the rows just written), loaded once per request."""

    steps: Sequence[Any]
    media: Sequence[Any]


_VISIT_STEPS = select(_step_rows).where(_step_rows.c.visit_id == bindparam("visit_id"))
_VISIT_MEDIA = (
    select(_media_rows)
    .where(_media_rows.c.visit_id == bindparam("visit_id"))
    .order_by(_media_rows.c.id)
)


def visit_rows(session: Session, *, visit_id: int | None) -> VisitRows:
    steps = session.execute(_VISIT_STEPS, {"visit_id": visit_id}).all()
    media = session.execute(_VISIT_MEDIA, {"visit_id": visit_id}).all()
    return VisitRows(steps, media)


def completeness(
    definition: JourneyDefinition, rows: VisitRows
) -> tuple[list[dict[str, Any]], list[str]]:
    observed = {
        row.step_key: ObservedStep(row.answers, row.evidence, row.conscious is not None)
        for row in rows.steps
    }
    uploaded = {row.client_uuid: (row.step_key, row.question_key) for row in rows.media}
    return completeness_errors(definition, observed, uploaded)


def checkout_fields(data: VisitSubmit, now: datetime) -> dict[str, Any]:
    """The visit's columns that its check-out sets, submitted at ``now``."""
    return {
        "checkout_client_uuid": str(data.client_uuid),
        "checkout_hash": payload_hash(data.model_dump(mode="json")),
        "ended_at": data.ended_at,
        "submitted_at": now,
        "checkout_latitude": data.latitude,
        "checkout_longitude": data.longitude,
        "checkout_accuracy_m": data.accuracy_m,
        "updated_at": now,
    }


def submit(
    session: Session,
    *,
    visit: Visit,
    assignment: Assignment,
    data: VisitSubmit,
    actor: User,
    rows: VisitRows | None = None,
) -> tuple[Visit, bool]:
    """Check out: the visit must be complete against its journey version.

    ``rows``: the visit's rows if the caller loaded them already, after locking the visit (they
    are read, not changed).
    """
    fields = checkout_fields(data, utcnow())
    uuid, digest = fields["checkout_client_uuid"], fields["checkout_hash"]
    _lock(session, Visit, visit.id)
    if visit.checkout_client_uuid == uuid:
        if visit.checkout_hash != digest:
            raise _conflict("submission", uuid)
        return visit, False
    _editable(assignment, "it can be submitted")
    definition = journey_of(session, version_id=assignment.journey_version_id)
    if rows is None:
        rows = visit_rows(session, visit_id=visit.id)
    errors, missing_media = completeness(definition, rows)
    if errors:
        raise Invalid(
            f"The visit is not complete: {len(errors)} problem(s). {_summary(errors)}",
            errors,
            missing_media=missing_media,
        )
    action = "resubmitted" if assignment.status == S.returned else "submitted"
    transition(
        session, assignment, S.submitted, actor_id=actor.id, action=action, visit_id=visit.id
    )
    for name, value in fields.items():
        setattr(visit, name, value)
    session.add(visit)
    session.flush()
    run_qc_on_submit(
        session,
        visit=visit,
        assignment=assignment,
        journey=definition,
        steps=rows.steps,
        media=[(row.client_uuid, row.sha256) for row in rows.media],
    )
    return visit, True


# ---------------------------------------------------------------- batch


def _parse(model: type[BaseModel], body: Any, step: str | None) -> Any:
    if isinstance(body, model):  # read as ValidVisitBatch: validated already
        return body
    try:
        return model.model_validate(body)
    except ValidationError as err:
        errors = [
            {
                "step": step,
                "field": error_field(e) or None,
                "message": e["msg"],
            }
            for e in err.errors()
        ]
        raise Invalid(_summary(errors), errors) from None


@dataclass(frozen=True)
class MediaInput:
    """A photo of a whole-visit batch, read and re-encoded before the write transaction."""

    fields: MediaFields
    upload_sha256: str
    image: CleanImage | NotAnImage


Parsed = StepInput | VisitSubmit | VisitStart | MediaInput | FieldworkError


def _step_operation(step_key: str | None, body: dict[str, Any]) -> StepInput:
    if not step_key:
        raise Invalid(
            "A step operation needs step_key.",
            [{"step": None, "field": "step_key", "message": "is required"}],
        )
    return step_input(step_key, _parse(StepWrite, body, step_key))


def parse_operations(operations: list[BatchOperation]) -> list[Parsed]:
    """Parse and hash a batch's operations; pure, so it runs before the write transaction."""
    parsed: list[Parsed] = []
    for op in operations:
        try:
            if op.op == "submit":
                parsed.append(_parse(VisitSubmit, op.body, None))
            else:
                parsed.append(_step_operation(op.step_key, op.body))
        except FieldworkError as err:
            parsed.append(err)
    return parsed


def parse_visit_operations(
    operations: Sequence[VisitBatchOperation | ValidOperation],
    files: Mapping[str, bytes],
    *,
    limit: int,
) -> list[Parsed]:
    """``parse_operations`` for a whole-visit batch: also check-in and photos, whose bytes
    (``files``: multipart part name → bytes) are verified and re-encoded here, before the write
    transaction. A photo larger than ``limit`` bytes is refused (413) on its own."""
    parsed: list[Parsed] = []
    for op in operations:
        try:
            if op.op == "start":
                parsed.append(_parse(VisitStart, op.body, None))
            elif op.op == "submit":
                parsed.append(_parse(VisitSubmit, op.body, None))
            elif op.op == "step":
                parsed.append(_step_operation(op.step_key, op.body))
            else:
                # The step named in a refusal; a body read as ValidVisitBatch is valid already.
                step = op.body.get("step_key") if isinstance(op.body, dict) else None
                fields: MediaFields = _parse(MediaFields, op.body, step)
                raw = files.get(op.file or "")
                if raw is None:
                    raise Invalid(
                        "A media operation names the part that holds its file.",
                        [
                            {
                                "step": fields.step_key,
                                "field": "file",
                                "message": f"{op.file!r} is not a file part of this request",
                            }
                        ],
                    )
                parsed.append(MediaInput(fields, *read_photo(raw, limit=limit)))
        except FieldworkError as err:
            parsed.append(err)
    return parsed


def run_batch(
    session: Session,
    *,
    visit: Visit,
    assignment: Assignment,
    operations: list[Parsed],
    actor: User,
) -> list[dict[str, Any]]:
    """Apply queued writes of a started visit in order, each with its own result."""
    _lock(session, Visit, visit.id)
    return apply_operations(
        session, assignment=assignment, visit=visit, operations=operations, actor=actor
    )[1]


def run_visit_batch(
    session: Session,
    *,
    assignment: Assignment,
    operations: list[Parsed],
    actor: User,
    store: MediaStore,
) -> tuple[Visit | None, list[dict[str, Any]]]:
    """Apply a whole-visit batch to the assignment: its visit (if started) and the results."""
    _lock(session, Assignment, assignment.id)
    visit = session.exec(select(Visit).where(Visit.assignment_id == assignment.id)).first()
    return apply_operations(
        session,
        assignment=assignment,
        visit=visit,
        operations=operations,
        actor=actor,
        store=store,
    )


def operation_result(index: int, status: int, body: Any) -> dict[str, Any]:
    return {"index": index, "status": status, "body": body, "problem": None}


def apply_operations(
    session: Session,
    *,
    assignment: Assignment,
    visit: Visit | None,
    operations: list[Parsed],
    actor: User,
    store: MediaStore | None = None,
) -> tuple[Visit | None, list[dict[str, Any]]]:
    """Apply queued writes in order, each with its own result (BatchResult's fields); the
    caller has locked the visit or the assignment.

    Each result's status is what the single request would have answered. Every operation checks
    everything before it changes anything, so a refused one leaves nothing to undo; step writes
    are staged in memory and stored together (before a submit, and at the end).
    """
    step_writes = [item for item in operations if isinstance(item, StepInput)]
    steps: _Steps | None = None
    # A visit started by this batch has only the rows the batch writes: they are kept here
    # rather than read back for the submission.
    started: list[Media] | None = None
    results: list[dict[str, Any]] = []
    for index, item in enumerate(operations):
        try:
            if isinstance(item, FieldworkError):
                raise item
            if isinstance(item, VisitStart):
                visit, created = start_visit(
                    session, assignment=assignment, shopper=actor, data=item
                )
                started = [] if created else None
                rows = VisitRows((), ()) if created else None
                public = visit_public(session, visit=visit, assignment=assignment, rows=rows)
                results.append(operation_result(index, 201 if created else 200, public))
                continue
            if visit is None:
                raise NotFound(f"Assignment {assignment.id} has no visit yet; start it first.")
            if isinstance(item, StepInput):
                if steps is None:
                    steps = _Steps(session, visit_id=visit.id, writes=step_writes)
                ref = VisitRef.of(visit, assignment)  # its status changes with a submit
                row, _ = steps.apply(session, visit=ref, write=item, actor=actor)
                results.append(operation_result(index, 200, step_body(row)))
            elif isinstance(item, MediaInput):
                assert store is not None
                media, created = store_media(
                    session,
                    visit=visit,
                    assignment=assignment,
                    client_uuid=str(item.fields.client_uuid),
                    step_key=item.fields.step_key,
                    question_key=item.fields.question_key or None,
                    upload_sha256=item.upload_sha256,
                    image=item.image,
                    store=store,
                )
                if created and started is not None:
                    started.append(media)
                results.append(
                    operation_result(index, 201 if created else 200, media_public(media))
                )
            else:
                if steps is not None:
                    steps.store(session)
                session.flush()
                if started is None:
                    rows = visit_rows(session, visit_id=visit.id)
                else:
                    staged = steps.by_step.values() if steps is not None else ()
                    rows = VisitRows([SimpleNamespace(**row) for row in staged], started)
                # A refused submission raises before it changes anything.
                submit(
                    session, visit=visit, assignment=assignment, data=item, actor=actor, rows=rows
                )
                public = visit_public(session, visit=visit, assignment=assignment, rows=rows)
                results.append(operation_result(index, 200, public))
        except FieldworkError as err:
            results.append(
                {"index": index, "status": err.status, "body": None, "problem": err.problem()}
            )
    if steps is not None:
        steps.store(session)
    session.flush()
    return visit, results


# ---------------------------------------------------------------- reading


def step_public(row: StepObservation | Row[Any]) -> StepObservationPublic:
    return StepObservationPublic.model_validate(row, from_attributes=True)


def media_public(row: Media | Row[Any]) -> MediaPublic:
    return MediaPublic.model_validate(row, from_attributes=True)


def _return_note(session: Session, assignment: Assignment) -> tuple[str | None, datetime | None]:
    """The reviewer's comment and resubmit deadline while the visit is returned."""
    if assignment.status != S.returned:
        return None, None
    review = session.exec(
        select(Review)
        .where(Review.assignment_id == assignment.id, Review.action == ReviewAction.return_)
        .order_by(col(Review.id).desc())
    ).first()
    if review is None:  # returned outside the review API (e.g. by hand): the audit keeps why
        comment = session.exec(
            select(AuditEntry.comment)
            .where(
                AuditEntry.entity == "assignment",
                AuditEntry.entity_id == assignment.id,
                AuditEntry.to_state == S.returned,
            )
            .order_by(col(AuditEntry.id).desc())
        ).first()
        return comment, None
    return review.comment, review.resubmit_by


def visit_public(
    session: Session, *, visit: Visit, assignment: Assignment, rows: VisitRows | None = None
) -> VisitPublic:
    note = _return_note(session, assignment)
    definition = journey_of(session, version_id=assignment.journey_version_id)
    if rows is None:
        rows = visit_rows(session, visit_id=visit.id)
    return visit_body(
        visit,
        status=assignment.status,
        journey_version_id=assignment.journey_version_id,
        definition=definition,
        rows=rows,
        return_note=note,
    )


def visit_body(
    visit: Any,
    *,
    status: AssignmentStatus,
    journey_version_id: int,
    definition: JourneyDefinition,
    rows: VisitRows,
    return_note: tuple[str | None, datetime | None] = (None, None),
) -> VisitPublic:
    """A visit as the API answers it; ``visit`` is its row read by attribute (a Visit, or the
    columns of one about to be inserted)."""
    note = return_note
    order = {step.key: i for i, (_, step) in enumerate(definition.steps())}
    steps = sorted(rows.steps, key=lambda row: order.get(row.step_key, len(order)))
    media = rows.media
    uploaded = {m.client_uuid for m in media}
    missing: list[str] = []
    for row in steps:
        try:
            step = definition.step(row.step_key)
        except KeyError:
            continue
        for refs in referenced_media(
            ObservedStep(row.answers, row.evidence, row.conscious is not None), step
        ).values():
            missing.extend(uuid for uuid in refs if uuid not in uploaded and uuid not in missing)
    assert visit.id is not None
    checked_out = visit.checkout_client_uuid is not None
    return VisitPublic(
        id=visit.id,
        client_uuid=visit.client_uuid,
        assignment_id=visit.assignment_id,
        status=status,
        journey_version_id=journey_version_id,
        started_at=visit.started_at,
        checkin=GeoPublic(
            latitude=visit.checkin_latitude,
            longitude=visit.checkin_longitude,
            accuracy_m=visit.checkin_accuracy_m,
        ),
        device=visit.device,
        submitted_at=visit.submitted_at,
        ended_at=visit.ended_at,
        checkout=GeoPublic(
            latitude=visit.checkout_latitude,
            longitude=visit.checkout_longitude,
            accuracy_m=visit.checkout_accuracy_m,
        )
        if checked_out
        else None,
        steps=[step_public(row) for row in steps],
        media=[media_public(row) for row in media],
        missing_media=missing,
        return_comment=note[0],
        return_deadline=note[1],
    )
