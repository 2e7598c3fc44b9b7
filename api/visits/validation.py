"""Checking visit writes against their journey version: pure functions, errors as data.

A step write is checked for what it says (answer types, ranges, option keys, N/A only where
allowed, probes of the step); what it leaves out is only checked at submission, so the phone can
save a step half-way. Every error names ``step``, ``field`` and ``message``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from api.visits.models import StepWrite
from briefings import PROBE_FACES, JourneyDefinition, ProbeKind, Question, QuestionType, Step

TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_TEXT = 10_000
MAX_PHOTOS = 20

Error = dict[str, Any]


def error(step: str | None, field: str | None, message: str) -> Error:
    return {"step": step, "field": field, "message": message}


def is_na(value: Any) -> bool:
    return isinstance(value, dict) and value == {"na": True}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _uuid_list(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) > MAX_PHOTOS:
        return f"must be a list of at most {MAX_PHOTOS} media client_uuids"
    for item in value:
        try:
            UUID(str(item))
        except ValueError:
            return f"{item!r} is not a UUID"
    return None


def answer_problem(question: Question, value: Any) -> str | None:
    """Why ``value`` is not an answer to ``question``, or None when it is."""
    if isinstance(value, dict):
        if not is_na(value):
            return 'the only object answer is {"na": true}'
        return None if question.allow_na else "N/A is not allowed for this question"
    kind = question.type
    if kind is QuestionType.yes_no:
        return None if value in ("yes", "no") else 'must be "yes" or "no"'
    if kind is QuestionType.scale:
        assert question.scale is not None
        low, high = question.scale.min, question.scale.max
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else f"must be a whole number from {low} to {high}"
    if kind is QuestionType.single_choice:
        keys = [option.key for option in question.options or ()]
        return None if value in keys else f"must be one of: {', '.join(keys)}"
    if kind is QuestionType.multi_choice:
        keys = [option.key for option in question.options or ()]
        ok = (
            isinstance(value, list)
            and all(isinstance(v, str) and v in keys for v in value)
            and len(set(value)) == len(value)
        )
        return None if ok else f"must be a list of distinct option keys from: {', '.join(keys)}"
    if kind is QuestionType.number:
        if not _is_number(value) or not math.isfinite(value):
            return "must be a number"
        bounds = question.number
        if bounds is not None and (
            (bounds.min is not None and value < bounds.min)
            or (bounds.max is not None and value > bounds.max)
        ):
            low = "…" if bounds.min is None else f"{bounds.min:g}"
            high = "…" if bounds.max is None else f"{bounds.max:g}"
            return f"must be between {low} and {high}"
        return None
    if kind is QuestionType.text:
        ok = isinstance(value, str) and len(value) <= MAX_TEXT
        return None if ok else f"must be text of at most {MAX_TEXT} characters"
    if kind is QuestionType.photo:
        return _uuid_list(value)
    if kind is QuestionType.time:
        ok = isinstance(value, str) and TIME_PATTERN.match(value) is not None
        return None if ok else 'must be a time "HH:MM"'
    return f"unknown question type {kind}"


def step_write_errors(definition: JourneyDefinition, step_key: str, data: StepWrite) -> list[Error]:
    """Everything in ``data`` that the journey version does not allow."""
    try:
        step = definition.step(step_key)
    except KeyError:
        return [error(step_key, "step_key", "is not a step of this journey version")]
    questions = {question.key: question for question in step.questions}
    errors: list[Error] = []
    for key, value in data.answers.items():
        question = questions.get(key)
        if question is None:
            errors.append(error(step_key, f"answers.{key}", "is not a question of this step"))
        elif (problem := answer_problem(question, value)) is not None:
            errors.append(error(step_key, f"answers.{key}", problem))
    for key in data.evidence:
        if key not in questions:
            errors.append(error(step_key, f"evidence.{key}", "is not a question of this step"))
    errors.extend(_probe_errors(step, data))
    return errors


def _probe_errors(step: Step, data: StepWrite) -> Iterable[Error]:
    configured = {probe.stimulus: probe for probe in step.emotions.probes}
    for index, probe in enumerate(data.probes):
        field = f"probes[{index}]"
        spec = configured.get(probe.stimulus)
        if spec is None:
            offered = ", ".join(configured) or "none"
            yield error(step.key, f"{field}.stimulus", f"is not a probe of this step ({offered})")
            continue
        if probe.kind != spec.kind:
            yield error(step.key, f"{field}.kind", f"this probe is a {spec.kind} probe")
        elif probe.choice is not None:
            if probe.kind is ProbeKind.valence and (
                not isinstance(probe.choice, int) or probe.choice not in (-1, 0, 1)
            ):
                yield error(step.key, f"{field}.choice", "must be -1, 0 or 1 (or null: timeout)")
            if probe.kind is ProbeKind.face and probe.choice not in PROBE_FACES:
                yield error(
                    step.key, f"{field}.choice", f"must be one of: {', '.join(PROBE_FACES)}"
                )


@dataclass(frozen=True)
class ObservedStep:
    """What submission needs of a stored step observation."""

    answers: Mapping[str, Any]
    evidence: Mapping[str, list[str]]
    has_conscious: bool


def referenced_media(observation: ObservedStep, step: Step) -> dict[str, list[str]]:
    """Question key → media client_uuids the step's answers and evidence point at."""
    refs: dict[str, list[str]] = {}
    for question in step.questions:
        found: list[str] = []
        value = observation.answers.get(question.key)
        if question.type is QuestionType.photo and isinstance(value, list):
            found.extend(str(v) for v in value)
        found.extend(str(v) for v in observation.evidence.get(question.key, ()))
        if found:
            refs[question.key] = found
    return refs


def completeness_errors(
    definition: JourneyDefinition,
    observations: Mapping[str, ObservedStep],
    uploaded: Mapping[str, tuple[str, str | None]],
) -> tuple[list[Error], list[str]]:
    """What keeps a visit from submission, and the referenced media not uploaded yet.

    ``uploaded`` maps each uploaded media client_uuid to its (step_key, question_key).
    """
    errors: list[Error] = []
    missing_media: list[str] = []
    for _, step in definition.steps():
        observation = observations.get(step.key)
        if observation is None:
            errors.append(error(step.key, None, "the step has no observation"))
            continue
        refs = referenced_media(observation, step)
        attached = {
            question_key
            for step_key, question_key in uploaded.values()
            if step_key == step.key and question_key
        }
        for question in step.questions:
            value = observation.answers.get(question.key)
            field = f"answers.{question.key}"
            if question.required and value in (None, "", []):
                errors.append(error(step.key, field, "is required"))
            for uuid in refs.get(question.key, ()):
                if uuid not in uploaded:
                    missing_media.append(uuid)
                    errors.append(error(step.key, field, f"media {uuid} is not uploaded yet"))
            # A referenced photo that has not arrived is reported above, once.
            has_evidence = question.key in attached or bool(refs.get(question.key))
            if question.evidence_required and not is_na(value) and not has_evidence:
                errors.append(error(step.key, field, "needs a photo as evidence"))
        if step.emotions.conscious and not observation.has_conscious:
            errors.append(error(step.key, "conscious.valence", "is required for this step"))
    return errors, missing_media
