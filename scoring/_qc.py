"""Quality-control rules run on a submitted visit; each yields flags (rule, severity, step, message).

A visit needs review when any flag is ``warn`` or ``fail``; ``info`` flags are notes for the
reviewer only. Rule ids are stable (stored with the flags, filtered on in the review queue):

| rule              | fires when                                                        | severity   |
| ----------------- | ----------------------------------------------------------------- | ---------- |
| completeness      | a step has no observation; a required question is unanswered;     | fail       |
|                   | a step's required conscious emotion is missing                    |            |
| visit_window      | check-in outside [window_start − grace, window_end + grace]       | fail       |
| geofence          | physical location: e = haversine(check-in, location) − accuracy;  |            |
|                   | e > radius → warn, e > radius · geofence_fail_factor (2) → fail;  | warn/fail  |
|                   | no GPS fix → warn; accuracy > geofence_max_accuracy_m (500) → info |           |
| step_duration     | ended − started outside the step's [min_seconds, max_seconds]     | warn       |
| total_duration    | first start (check-in) → last end (submit) outside the project's  | warn       |
|                   | [min_total_seconds, max_total_seconds] (both off by default)      |            |
| evidence          | an evidence_required question (not N/A) has no uploaded photo     | fail       |
| duplicate_photo   | a photo's sha256 is also in another visit → fail;                 | fail/warn  |
|                   | twice within this visit → warn                                    |            |
| straight_lining   | ≥ straight_lining_run (6) consecutive answered scale questions at | warn       |
|                   | the same scale position (v − min) / (max − min)                   |            |
| implicit_speed    | share of anticipatory (< 150 ms) or timed-out probes among ≥ 4    | warn/fail  |
|                   | probes > 0.25 → warn, > 0.5 → fail                                |            |
| text_too_short    | a text answer (stripped) shorter than the question's min_length   | warn       |
| contradiction     | a journey-declared contradiction holds (when … and then_not …)    | warn       |

Thresholds live in ``QcSettings``; a project stores only its overrides and passes them to
``QcSettings.from_mapping``. Rules named in ``disabled_rules`` do not run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from briefings import Contradiction, JourneyDefinition, Question, QuestionType
from scoring._emotions import ANTICIPATION_MS, ProbeStatus, probe_status, visit_probes
from scoring._geo import haversine_m
from scoring._inputs import (
    AnswerStatus,
    LocationData,
    LocationKind,
    StepObservation,
    VisitData,
    answer_status,
    is_na,
    observations_by_step,
)


class QcRule(StrEnum):
    completeness = "completeness"
    visit_window = "visit_window"
    geofence = "geofence"
    step_duration = "step_duration"
    total_duration = "total_duration"
    evidence = "evidence"
    duplicate_photo = "duplicate_photo"
    straight_lining = "straight_lining"
    implicit_speed = "implicit_speed"
    text_too_short = "text_too_short"
    contradiction = "contradiction"


class Severity(StrEnum):
    info = "info"
    warn = "warn"
    fail = "fail"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.info: 0, Severity.warn: 1, Severity.fail: 2}


@dataclass(frozen=True, slots=True)
class Flag:
    rule: QcRule
    severity: Severity
    step_key: str | None
    message: str
    question_key: str | None = None


@dataclass(frozen=True, slots=True)
class QcSettings:
    """Thresholds of the QC rules; every field can be overridden per project."""

    window_grace_minutes: float = 0.0
    geofence_fail_factor: float = 2.0
    geofence_max_accuracy_m: float = 500.0
    min_total_seconds: float | None = None
    max_total_seconds: float | None = None
    straight_lining_run: int = 6
    anticipation_ms: float = ANTICIPATION_MS
    implicit_min_probes: int = 4
    implicit_warn_share: float = 0.25
    implicit_fail_share: float = 0.5
    disabled_rules: frozenset[QcRule] = field(default_factory=frozenset)

    @classmethod
    def from_mapping(cls, overrides: Mapping[str, Any] | None = None) -> QcSettings:
        """Defaults with a project's overrides; ValueError names an unknown or mistyped setting."""
        overrides = dict(overrides or {})
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ValueError(f"unknown QC settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in overrides.items():
            if name == "disabled_rules":
                try:
                    values[name] = frozenset(QcRule(rule) for rule in value)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"disabled_rules: {exc}") from None
            elif value is None and name in ("min_total_seconds", "max_total_seconds"):
                values[name] = None
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            elif name in ("straight_lining_run", "implicit_min_probes"):
                if value != int(value) or value < 1:
                    raise ValueError(f"{name} must be a whole number of at least 1")
                values[name] = int(value)
            else:
                if value < 0:
                    raise ValueError(f"{name} must not be negative")
                values[name] = float(value)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class QcContext:
    """Everything a rule may look at."""

    journey: JourneyDefinition
    visit: VisitData
    location: LocationData | None
    settings: QcSettings
    other_visit_hashes: Mapping[str, int]
    # Derived once, for the rules that all walk them: the observations by step key, and
    # (step key, question, answer) of every question in journey order.
    by_step: Mapping[str, StepObservation] = field(init=False)
    questions: tuple[tuple[str, Question, Any], ...] = field(init=False)

    def __post_init__(self) -> None:
        by_step = observations_by_step(self.visit.observations)
        questions = []
        for _, step in self.journey.steps():
            observation = by_step.get(step.key)
            answers = observation.answers if observation is not None else {}
            questions += [(step.key, q, answers.get(q.key)) for q in step.questions]
        object.__setattr__(self, "by_step", by_step)
        object.__setattr__(self, "questions", tuple(questions))


Rule = Callable[[QcContext], Iterable[Flag]]


def check_completeness(ctx: QcContext) -> Iterator[Flag]:
    by_step = ctx.by_step
    for _, step in ctx.journey.steps():
        observation = by_step.get(step.key)
        if observation is None:
            yield Flag(QcRule.completeness, Severity.fail, step.key, "step not observed")
            continue
        for question in step.questions:
            status = answer_status(question, observation.answers.get(question.key))
            if status is AnswerStatus.missing:
                yield Flag(
                    QcRule.completeness,
                    Severity.fail,
                    step.key,
                    f"required question '{question.key}' unanswered",
                    question.key,
                )
        conscious = observation.conscious or {}
        if step.emotions.conscious and conscious.get("valence") is None:
            yield Flag(
                QcRule.completeness, Severity.fail, step.key, "conscious emotion not recorded"
            )


def check_visit_window(ctx: QcContext) -> Iterator[Flag]:
    visit = ctx.visit
    if visit.checkin_at is None:
        return
    grace = timedelta(minutes=ctx.settings.window_grace_minutes)
    if visit.window_start is not None and visit.checkin_at < visit.window_start - grace:
        yield Flag(
            QcRule.visit_window,
            Severity.fail,
            None,
            f"checked in {_span(visit.window_start - visit.checkin_at)} before the visit window opened",
        )
    if visit.window_end is not None and visit.checkin_at > visit.window_end + grace:
        yield Flag(
            QcRule.visit_window,
            Severity.fail,
            None,
            f"checked in {_span(visit.checkin_at - visit.window_end)} after the visit window closed",
        )


def check_geofence(ctx: QcContext) -> Iterator[Flag]:
    location, visit, settings = ctx.location, ctx.visit, ctx.settings
    if location is None or str(location.kind) != LocationKind.physical.value:
        return
    if location.latitude is None or location.longitude is None:
        return
    if visit.checkin_lat is None or visit.checkin_lon is None:
        yield Flag(QcRule.geofence, Severity.warn, None, "check-in has no GPS position")
        return
    distance = haversine_m(
        visit.checkin_lat, visit.checkin_lon, location.latitude, location.longitude
    )
    accuracy = visit.checkin_accuracy_m or 0.0
    beyond = distance - accuracy
    radius = location.geofence_radius_m
    where = f"checked in {distance:.0f} m from the location (±{accuracy:.0f} m, geofence {radius:.0f} m)"
    if beyond > radius * settings.geofence_fail_factor:
        yield Flag(QcRule.geofence, Severity.fail, None, where)
    elif beyond > radius:
        yield Flag(QcRule.geofence, Severity.warn, None, where)
    if accuracy > settings.geofence_max_accuracy_m:
        yield Flag(
            QcRule.geofence,
            Severity.info,
            None,
            f"GPS accuracy ±{accuracy:.0f} m is too coarse to verify the geofence",
        )


def check_step_duration(ctx: QcContext) -> Iterator[Flag]:
    by_step = ctx.by_step
    for _, step in ctx.journey.steps():
        observation = by_step.get(step.key)
        if observation is None or observation.started_at is None or observation.ended_at is None:
            continue
        seconds = (observation.ended_at - observation.started_at).total_seconds()
        if step.min_seconds is not None and seconds < step.min_seconds:
            yield Flag(
                QcRule.step_duration,
                Severity.warn,
                step.key,
                f"step took {seconds:.0f} s, at least {step.min_seconds} s expected",
            )
        if step.max_seconds is not None and seconds > step.max_seconds:
            yield Flag(
                QcRule.step_duration,
                Severity.warn,
                step.key,
                f"step took {seconds:.0f} s, at most {step.max_seconds} s expected",
            )


def check_total_duration(ctx: QcContext) -> Iterator[Flag]:
    settings, visit = ctx.settings, ctx.visit
    if settings.min_total_seconds is None and settings.max_total_seconds is None:
        return
    starts = [o.started_at for o in visit.observations if o.started_at is not None]
    ends = [o.ended_at for o in visit.observations if o.ended_at is not None]
    start = visit.checkin_at or _earliest(starts)
    end = visit.submitted_at or _latest(ends)
    if start is None or end is None:
        return
    seconds = (end - start).total_seconds()
    if settings.min_total_seconds is not None and seconds < settings.min_total_seconds:
        yield Flag(
            QcRule.total_duration,
            Severity.warn,
            None,
            f"visit took {_span(end - start)}, at least {settings.min_total_seconds:.0f} s expected",
        )
    if settings.max_total_seconds is not None and seconds > settings.max_total_seconds:
        yield Flag(
            QcRule.total_duration,
            Severity.warn,
            None,
            f"visit took {_span(end - start)}, at most {settings.max_total_seconds:.0f} s expected",
        )


def check_evidence(ctx: QcContext) -> Iterator[Flag]:
    uploaded = ctx.visit.media_hashes
    by_step = ctx.by_step
    for step_key, question, answer in ctx.questions:
        if not question.evidence_required or step_key not in by_step:
            continue
        if answer_status(question, answer) in (AnswerStatus.na, AnswerStatus.skipped):
            continue
        referenced = [
            *_photo_refs(question, answer),
            *by_step[step_key].evidence.get(question.key, ()),
        ]
        if not any(uuid in uploaded for uuid in referenced):
            detail = "not uploaded" if referenced else "missing"
            yield Flag(
                QcRule.evidence,
                Severity.fail,
                step_key,
                f"evidence photo for '{question.key}' {detail}",
                question.key,
            )


def check_duplicate_photo(ctx: QcContext) -> Iterator[Flag]:
    visit = ctx.visit
    steps = _media_steps(ctx)
    seen: dict[str, str] = {}
    for uuid, sha in sorted(visit.media_hashes.items()):
        step_key, question_key = steps.get(uuid, (None, None))
        other = ctx.other_visit_hashes.get(sha)
        if other is not None and other != visit.visit_id:
            yield Flag(
                QcRule.duplicate_photo,
                Severity.fail,
                step_key,
                f"photo {uuid} is identical to a photo of visit {other}",
                question_key,
            )
        if sha in seen:
            yield Flag(
                QcRule.duplicate_photo,
                Severity.warn,
                step_key,
                f"photo {uuid} is identical to photo {seen[sha]} of this visit",
                question_key,
            )
        else:
            seen[sha] = uuid


def check_straight_lining(ctx: QcContext) -> Iterator[Flag]:
    run_length = ctx.settings.straight_lining_run
    run: list[tuple[str, Question, float]] = []

    def flag_for(run: list[tuple[str, Question, float]]) -> Iterator[Flag]:
        if len(run) >= run_length:
            first_step, first, position = run[0]
            last = run[-1][1]
            yield Flag(
                QcRule.straight_lining,
                Severity.warn,
                first_step,
                f"{len(run)} scale answers in a row at the same position ({position:.0%} of the "
                f"scale), from '{first.key}' to '{last.key}'",
                first.key,
            )

    for step_key, question, answer in ctx.questions:
        if question.type is not QuestionType.scale or question.scale is None:
            continue
        if answer_status(question, answer) is not AnswerStatus.answered or not _is_number(answer):
            continue
        scale = question.scale
        position = (float(answer) - scale.min) / (scale.max - scale.min)
        if run and run[-1][2] != position:
            yield from flag_for(run)
            run = []
        run.append((step_key, question, position))
    yield from flag_for(run)


def check_implicit_speed(ctx: QcContext) -> Iterator[Flag]:
    settings = ctx.settings
    probes = visit_probes(ctx.journey, ctx.visit.observations)
    if not probes or len(probes) < settings.implicit_min_probes:
        return
    statuses = [probe_status(p, anticipation_ms=settings.anticipation_ms) for p in probes]
    fast = statuses.count(ProbeStatus.anticipatory)
    late = statuses.count(ProbeStatus.timed_out)
    share = (fast + late) / len(probes)
    message = (
        f"{fast} anticipatory (< {settings.anticipation_ms:.0f} ms) and {late} timed-out of "
        f"{len(probes)} implicit probes ({share:.0%})"
    )
    if share > settings.implicit_fail_share:
        yield Flag(QcRule.implicit_speed, Severity.fail, None, message)
    elif share > settings.implicit_warn_share:
        yield Flag(QcRule.implicit_speed, Severity.warn, None, message)


def check_text_too_short(ctx: QcContext) -> Iterator[Flag]:
    for step_key, question, answer in ctx.questions:
        if question.type is not QuestionType.text or question.min_length is None:
            continue
        if not isinstance(answer, str) or not answer.strip():
            continue
        length = len(answer.strip())
        if length < question.min_length:
            yield Flag(
                QcRule.text_too_short,
                Severity.warn,
                step_key,
                f"answer to '{question.key}' has {length} characters, at least "
                f"{question.min_length} expected",
                question.key,
            )


def check_contradiction(ctx: QcContext) -> Iterator[Flag]:
    answers: dict[str, tuple[str, Any]] = {
        question.key: (step_key, answer) for step_key, question, answer in ctx.questions
    }
    for contradiction in ctx.journey.contradictions:
        if _holds(ctx, answers, contradiction, "when") and _holds(
            ctx, answers, contradiction, "then_not"
        ):
            key = contradiction.then_not.question
            yield Flag(
                QcRule.contradiction, Severity.warn, answers[key][0], contradiction.message, key
            )


RULES: Mapping[QcRule, Rule] = {
    QcRule.completeness: check_completeness,
    QcRule.visit_window: check_visit_window,
    QcRule.geofence: check_geofence,
    QcRule.step_duration: check_step_duration,
    QcRule.total_duration: check_total_duration,
    QcRule.evidence: check_evidence,
    QcRule.duplicate_photo: check_duplicate_photo,
    QcRule.straight_lining: check_straight_lining,
    QcRule.implicit_speed: check_implicit_speed,
    QcRule.text_too_short: check_text_too_short,
    QcRule.contradiction: check_contradiction,
}
"""Every rule in the order ``run_qc`` applies them."""


def run_qc(
    journey: JourneyDefinition,
    visit: VisitData,
    location: LocationData | None,
    *,
    settings: QcSettings | None = None,
    other_visit_hashes: Mapping[str, int] | None = None,
) -> list[Flag]:
    """Run every enabled rule; flags come rule by rule, each rule's in journey order.

    ``other_visit_hashes`` maps the sha256 of photos in *other* visits to one such visit's id; the
    API can fill it with the hashes of this visit's media that also occur elsewhere.
    """
    ctx = QcContext(
        journey=journey,
        visit=visit,
        location=location,
        settings=settings or QcSettings(),
        other_visit_hashes=other_visit_hashes or {},
    )
    return [
        flag
        for rule, check in RULES.items()
        if rule not in ctx.settings.disabled_rules
        for flag in check(ctx)
    ]


def worst_severity(flags: Iterable[Flag]) -> Severity | None:
    """The most severe flag's severity (fail > warn > info), or None without flags."""
    return max((flag.severity for flag in flags), key=lambda severity: severity.rank, default=None)


def needs_review(flags: Iterable[Flag]) -> bool:
    """Whether a person must look at the visit: any flag is warn or fail."""
    return any(flag.severity is not Severity.info for flag in flags)


def _holds(
    ctx: QcContext, answers: Mapping[str, tuple[str, Any]], contradiction: Contradiction, side: str
) -> bool:
    condition = contradiction.when if side == "when" else contradiction.then_not
    if condition.question not in answers:
        return False
    answer = answers[condition.question][1]
    if answer is None or is_na(answer):
        return False
    question = ctx.journey.question(condition.question)
    expected = condition.equals
    if question.type is QuestionType.yes_no and isinstance(answer, bool):
        answer = "yes" if answer else "no"
    if question.type is QuestionType.multi_choice:
        return isinstance(answer, Sequence) and not isinstance(answer, str) and expected in answer
    if question.type in (QuestionType.scale, QuestionType.number):
        return _is_number(answer) and _is_number(expected) and float(answer) == float(expected)
    return bool(answer == expected)


def _photo_refs(question: Question, answer: Any) -> list[str]:
    if (
        question.type is QuestionType.photo
        and isinstance(answer, Sequence)
        and not isinstance(answer, str)
    ):
        return [str(item) for item in answer]
    return []


def _media_steps(ctx: QcContext) -> dict[str, tuple[str, str]]:
    """Media uuid → (step key, question key) of the answer or evidence that refers to it."""
    found: dict[str, tuple[str, str]] = {}
    by_step = ctx.by_step
    for step_key, question, answer in ctx.questions:
        refs = _photo_refs(question, answer)
        observation = by_step.get(step_key)
        if observation is not None:
            refs += [str(uuid) for uuid in observation.evidence.get(question.key, ())]
        for uuid in refs:
            found.setdefault(uuid, (step_key, question.key))
    return found


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _earliest(times: Sequence[datetime]) -> datetime | None:
    return min(times) if times else None


def _latest(times: Sequence[datetime]) -> datetime | None:
    return max(times) if times else None


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
