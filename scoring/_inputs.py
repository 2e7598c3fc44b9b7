"""Plain-data inputs: what the API hands to scoring and QC, read straight from its stored rows.

Answers keep the shapes of the visit API (docs/visit-api.md): yes_no ``"yes"|"no"``, scale an int,
single_choice an option key, multi_choice a list of option keys, number a number, text a string,
photo a list of media client_uuids, time ``"HH:MM"``, and ``{"na": true}`` for not applicable.
A question whose key is absent (or whose answer is ``None``) is *unanswered*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from briefings import Question, QuestionType


@dataclass(frozen=True, slots=True)
class StepObservation:
    """One step as the shopper recorded it."""

    step_key: str
    answers: Mapping[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    conscious: Mapping[str, Any] | None = None
    """``{"valence": -3..3, "arousal": 1..5, ...}`` or None when not recorded."""
    probes: Sequence[Mapping[str, Any]] = ()
    """Raw probes as sent: ``{stimulus, kind, choice, latency_ms, deadline_ms, ...}``."""
    notes: str = ""
    evidence: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Question key → media client_uuids attached as evidence to a non-photo question."""


@dataclass(frozen=True, slots=True)
class VisitData:
    """A submitted visit with everything QC looks at."""

    visit_id: int
    shopper_id: int
    location_id: int | None
    observations: Sequence[StepObservation]
    checkin_at: datetime | None = None
    checkin_lat: float | None = None
    checkin_lon: float | None = None
    checkin_accuracy_m: float | None = None
    submitted_at: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    media_hashes: Mapping[str, str] = field(default_factory=dict)
    """Uploaded media of this visit: client_uuid → sha256."""


class LocationKind(StrEnum):
    physical = "physical"
    online = "online"
    phone = "phone"


@dataclass(frozen=True, slots=True)
class LocationData:
    """Where the visit took place; only physical locations have a geofence."""

    latitude: float | None
    longitude: float | None
    geofence_radius_m: float
    kind: LocationKind | str = LocationKind.physical


class AnswerStatus(StrEnum):
    answered = "answered"
    na = "na"
    """Explicitly not applicable (``{"na": true}`` on a question that allows it)."""
    skipped = "skipped"
    """Unanswered and not required: treated like N/A."""
    missing = "missing"
    """Unanswered although required: counts 0 earned of its full weight."""


def is_na(answer: object) -> bool:
    """Whether an answer is the not-applicable marker ``{"na": true}``."""
    return isinstance(answer, Mapping) and answer.get("na") is True


def observations_by_step(observations: Sequence[StepObservation]) -> dict[str, StepObservation]:
    """Observations keyed by step; if a step was sent twice the last one counts."""
    return {observation.step_key: observation for observation in observations}


def answer_status(question: Question, answer: object) -> AnswerStatus:
    """How an answer counts.

    Blank text and an empty photo list are unanswered; an empty multi_choice list is an answer
    ("none of these"). An N/A on a question that does not allow N/A counts as unanswered.
    """
    if is_na(answer):
        if question.allow_na:
            return AnswerStatus.na
        answer = None
    if isinstance(answer, str) and not answer.strip():
        answer = None
    if question.type is QuestionType.photo and isinstance(answer, Sequence) and not answer:
        answer = None
    if answer is None:
        return AnswerStatus.missing if question.required else AnswerStatus.skipped
    return AnswerStatus.answered
