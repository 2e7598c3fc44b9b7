"""Visits: check-in, step observations with emotions, media, check-out — tables and API schemas.

Every record the phone creates carries its client-generated UUID and the SHA-256 of the write's
canonical JSON (``payload_hash``), so a resend is recognised (same UUID, same hash) or refused
(same UUID, other hash) without comparing the stored fields one by one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator
from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.assignments.models import AssignmentStatus
from api.common import UTCDateTime, created_at_field, json_field, utcnow
from api.errors import FieldProblem
from api.personas.models import PersonaBrief
from briefings import NAMED_EMOTIONS, ProbeKind

UUID_LENGTH = 36
HASH_LENGTH = 64

Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Accuracy = Annotated[float, Field(ge=0, le=100_000)]


# ---------------------------------------------------------------- tables


class BriefingAttempt(SQLModel, table=True):
    """One try at an assignment's briefing quiz."""

    __tablename__ = "briefing_attempts"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignments.id", index=True)
    shopper_id: int = Field(foreign_key="users.id")
    answers: dict[str, str] = json_field()
    score_percent: float
    passed: bool
    created_at: datetime = created_at_field()


class Visit(SQLModel, table=True):
    """The shopper's execution of an assignment (at most one per assignment)."""

    __tablename__ = "visits"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignments.id", unique=True)
    client_uuid: str = Field(max_length=UUID_LENGTH, unique=True)
    payload_hash: str = Field(max_length=HASH_LENGTH)
    started_at: datetime = Field(sa_type=UTCDateTime)
    checkin_latitude: float | None = None
    checkin_longitude: float | None = None
    checkin_accuracy_m: float | None = None
    device: dict[str, Any] = json_field()
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkout_client_uuid: str | None = Field(default=None, max_length=UUID_LENGTH)
    checkout_hash: str | None = Field(default=None, max_length=HASH_LENGTH)
    checkout_latitude: float | None = None
    checkout_longitude: float | None = None
    checkout_accuracy_m: float | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StepObservation(SQLModel, table=True):
    """The latest write of one step of a visit; ``revision`` counts the writes."""

    __tablename__ = "step_observations"
    __table_args__ = (UniqueConstraint("visit_id", "step_key"),)

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visits.id")
    step_key: str = Field(max_length=64)
    client_uuid: str = Field(max_length=UUID_LENGTH, unique=True)
    payload_hash: str = Field(max_length=HASH_LENGTH)
    revision: int = 1
    # UUID → payload hash of the writes this one replaced, so a late resend is still recognised.
    replaced_writes: dict[str, str] = json_field()
    answers: dict[str, Any] = json_field()
    evidence: dict[str, list[str]] = json_field()
    notes: str = Field(default="", sa_type=Text)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    conscious: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    probes: list[dict[str, Any]] = json_field(list)
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Media(SQLModel, table=True):
    """A photo of a visit; the bytes live in the media store under ``storage_key``."""

    __tablename__ = "media"
    __table_args__ = (Index("ix_media_visit_step", "visit_id", "step_key"),)

    id: int | None = Field(default=None, primary_key=True)
    client_uuid: str = Field(max_length=UUID_LENGTH, unique=True)
    visit_id: int = Field(foreign_key="visits.id")
    step_key: str = Field(max_length=64)
    question_key: str | None = Field(default=None, max_length=64)
    payload_hash: str = Field(max_length=HASH_LENGTH)
    sha256: str = Field(max_length=HASH_LENGTH, index=True)
    content_type: str = Field(max_length=40)
    size: int
    width: int
    height: int
    storage_key: str = Field(max_length=200)
    created_at: datetime = created_at_field()


# ---------------------------------------------------------------- writes


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class VisitStart(_Strict):
    client_uuid: UUID
    started_at: AwareDatetime
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    accuracy_m: Accuracy | None = None
    device: dict[str, Any] = Field(
        default_factory=dict, description="user_agent, platform, app_version, …"
    )


NamedEmotion = Literal[NAMED_EMOTIONS]  # type: ignore[valid-type]


class ConsciousEmotion(_Strict):
    valence: int = Field(ge=-3, le=3)
    arousal: int | None = Field(default=None, ge=1, le=5)
    emotion: NamedEmotion | None = None
    intensity: int | None = Field(default=None, ge=1, le=5)
    note: str | None = Field(default=None, max_length=2000)


class Probe(BaseModel):
    """One speeded implicit reaction; fields beyond these are kept as sent."""

    model_config = ConfigDict(extra="allow")  # type: ignore[assignment]

    stimulus: str = Field(min_length=1, max_length=200)
    kind: ProbeKind = ProbeKind.valence
    choice: int | str | None = Field(description="-1/0/+1, a face, or null for a timeout.")
    latency_ms: int = Field(ge=0, le=600_000)
    deadline_ms: int = Field(ge=1, le=600_000)
    shown_at: AwareDatetime | None = None


class StepWrite(_Strict):
    client_uuid: UUID
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    accuracy_m: Accuracy | None = None
    answers: dict[str, Any] = Field(default_factory=dict, description="Question key → answer.")
    evidence: dict[str, list[UUID]] = Field(
        default_factory=dict,
        description="Question key → media client_uuids attached as evidence (non-photo questions).",
    )
    notes: str = Field(default="", max_length=10_000)
    conscious: ConsciousEmotion | None = None
    probes: list[Probe] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _order(self) -> StepWrite:
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise FieldProblem("ended_at", "ended_at is before started_at")
        return self


class VisitSubmit(_Strict):
    client_uuid: UUID
    ended_at: AwareDatetime
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    accuracy_m: Accuracy | None = None


class BatchOperation(_Strict):
    op: Literal["step", "submit"]
    step_key: str | None = Field(default=None, description="For op step.")
    body: dict[str, Any]


class BatchRequest(_Strict):
    operations: list[BatchOperation] = Field(min_length=1, max_length=200)


class VisitBatchOperation(_Strict):
    """One queued write of a whole-visit batch; ``body`` is the single request's body, and a
    ``media`` op's body holds its form fields (``client_uuid``, ``step_key``, ``question_key``)."""

    op: Literal["start", "step", "media", "submit"]
    step_key: str | None = Field(default=None, description="For op step.")
    file: str | None = Field(
        default=None, max_length=100, description="For op media: the multipart part with the bytes."
    )
    body: dict[str, Any]


class VisitBatchRequest(_Strict):
    operations: list[VisitBatchOperation] = Field(min_length=1, max_length=200)


class MediaFields(_Strict):
    """A photo's form fields, as a whole-visit batch sends them in a media op's body."""

    client_uuid: UUID
    step_key: str = Field(max_length=64)
    question_key: str | None = Field(default=None, max_length=64)


# A whole-visit batch whose every operation is valid, read in one pass from its JSON (bodies
# validated as they are parsed, not parsed into dicts and validated after): the usual batch.
# One that does not fit is read as VisitBatchRequest, which gives each operation its own
# refusal.
class _StartOp(_Strict):
    op: Literal["start"]
    step_key: None = None
    file: None = None
    body: VisitStart


class _StepOp(_Strict):
    op: Literal["step"]
    step_key: str = Field(min_length=1)
    file: None = None
    body: StepWrite


class _MediaOp(_Strict):
    op: Literal["media"]
    step_key: None = None
    file: str = Field(max_length=100)
    body: MediaFields


class _SubmitOp(_Strict):
    op: Literal["submit"]
    step_key: None = None
    file: None = None
    body: VisitSubmit


ValidOperation = _StartOp | _StepOp | _MediaOp | _SubmitOp


class ValidVisitBatch(_Strict):
    operations: list[Annotated[ValidOperation, Field(discriminator="op")]] = Field(
        min_length=1, max_length=200
    )


class QuizAttemptRequest(_Strict):
    answers: dict[str, str] = Field(description="Question key → chosen option key.")


# ---------------------------------------------------------------- reads


class GeoPublic(SQLModel):
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None


class StepObservationPublic(SQLModel):
    step_key: str
    client_uuid: str
    revision: int
    started_at: datetime | None
    ended_at: datetime | None
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    answers: dict[str, Any]
    evidence: dict[str, list[str]]
    notes: str
    conscious: dict[str, Any] | None
    probes: list[dict[str, Any]]
    updated_at: datetime


class MediaPublic(SQLModel):
    client_uuid: str
    sha256: str
    content_type: str
    size: int
    width: int
    height: int
    step_key: str
    question_key: str | None
    created_at: datetime


class VisitPublic(SQLModel):
    id: int
    client_uuid: str
    assignment_id: int
    status: AssignmentStatus
    journey_version_id: int
    started_at: datetime
    checkin: GeoPublic
    device: dict[str, Any]
    submitted_at: datetime | None
    ended_at: datetime | None
    checkout: GeoPublic | None
    steps: list[StepObservationPublic]
    media: list[MediaPublic]
    missing_media: list[str] = Field(description="Referenced by an answer, not uploaded yet.")
    return_comment: str | None
    return_deadline: datetime | None = Field(
        default=None, description="While returned: resubmit before this, or the visit is rejected."
    )


class QuizResultPublic(SQLModel):
    passed: bool
    score_percent: float
    wrong: list[str]
    attempts_used: int


class BriefingPublic(SQLModel):
    assignment_id: int
    journey_version_id: int
    journey: dict[str, Any]
    briefing: dict[str, Any] | None
    quiz_passed: bool
    attempts_used: int
    persona: PersonaBrief | None = Field(
        default=None, description="The project persona this assignment asks the shopper to play."
    )


class BatchResult(SQLModel):
    index: int
    status: int
    body: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None


class BatchResponse(SQLModel):
    results: list[BatchResult]


class VisitBatchResponse(SQLModel):
    visit_id: int | None = Field(description="The assignment's visit, once it is started.")
    results: list[BatchResult]
