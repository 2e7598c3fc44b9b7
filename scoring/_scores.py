"""Scores of one visit: question → step → phase → visit, per pyramid level, knock-outs and bands.

Question fraction f ∈ [0, 1] by type (answers as in docs/visit-api.md):

- yes_no: f = 1 when the answer is the question's ``good_answer`` (default "yes"), else 0;
- scale: f = (v − min) / (max − min), clamped into [0, 1];
- single_choice: f = the chosen option's ``score`` (an unknown key earns 0);
- multi_choice: f = min(1, Σ scores of the distinct ticked options) — a capped sum, because
  journeys give each option its share of the weight (the options of one question add up to 1);
  an empty list is the answer "none of these" and earns 0;
- number: scored only when the question has a ``number`` range: f = 1 inside it, 0 outside;
  without a range the number is only recorded;
- text, photo, time: only recorded, never scored.

Points of a scored question with weight w (status from ``answer_status``):

- answered: earned = w·f, possible = w;
- missing (required but unanswered): earned = 0, possible = w — a gap in the record costs points;
- N/A (``{"na": true}`` where allowed) or skipped (unanswered and not required): earned = possible
  = 0, i.e. the question leaves the denominator;
- bonus question: earned = w·f, possible = 0 — it can only add.

Step s with weight W_s, earned E_s = Σ earned, possible P_s = Σ possible over its questions:

    raw_s = 100 · min(1, E_s / P_s)            (None when P_s = 0: nothing to score)

The cap is per step, so a bonus makes up for points lost in its own step only.

Phase p and visit v are step-weighted means over the steps that have a score:

    phase_p = Σ_{s∈p} W_s · step_s / Σ_{s∈p} W_s
    visit   = Σ_p Wp · phase_p / Σ_p Wp,  with Wp = Σ W_s over p's scored steps

so without knock-outs visit = Σ_s W_s · step_s / Σ_s W_s over every scored step of the journey.

Knock-outs: a knock-out question fails when it was answered and f < its ``knockout_threshold``
(default 0.5; an N/A or unanswered knock-out never fails — completeness QC reports the latter).
A failed knock-out sets the score of its scope (step, phase or visit) to 0; scores computed from that
scope (its phase, the visit) take the 0 in, scores inside it (the steps of a knocked-out phase) keep
theirs, so per-step results still show how each step went. A knocked-out scope counts with its full
weight even if nothing else in it was scored. Every level also reports ``raw_score``: the same
formula with no knock-out applied.

Pyramid level L (basis, ease, emotion), over the scored questions of that level, each weighted by
its step's weight; knock-outs do not apply (the failed question already counts at its level):

    level_L = 100 · min(1, Σ W_s·earned_q / Σ W_s·possible_q)   (None when the denominator is 0)

Outcome band: the label of the highest band whose lower bound ≤ visit score (default bands
``[(0, "fail"), (pass_mark, "pass")]``, pass mark 70); ``passed`` is score ≥ pass mark. Bounds are
compared with a 1e-9 tolerance so that, e.g., 7 of 10 points reaches a pass mark of 70.

Focus level: the first of basis → ease → emotion whose score is below the project's threshold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from briefings import JourneyDefinition, KnockoutScope, PyramidLevel, Question, QuestionType
from scoring._inputs import AnswerStatus, StepObservation, answer_status, observations_by_step

DEFAULT_PASS_MARK = 70.0
TOLERANCE = 1e-9
PYRAMID_ORDER = (PyramidLevel.basis, PyramidLevel.ease, PyramidLevel.emotion)

Bands = Sequence[tuple[float, str]]


@dataclass(frozen=True, slots=True)
class QuestionScore:
    key: str
    step_key: str
    level: PyramidLevel
    weight: float
    status: AnswerStatus
    fraction: float | None
    """f ∈ [0, 1] when answered, 0 when missing, None when N/A or skipped."""
    earned: float
    possible: float
    bonus: bool
    knockout: KnockoutScope | None
    knockout_failed: bool

    @property
    def na(self) -> bool:
        """Whether the question left the denominator (N/A or skipped)."""
        return self.status in (AnswerStatus.na, AnswerStatus.skipped)


@dataclass(frozen=True, slots=True)
class StepScore:
    key: str
    phase_key: str
    weight: float
    score: float | None
    """0–100 after a step knock-out; None when nothing in the step was scored."""
    raw_score: float | None
    earned: float
    possible: float
    knocked_out: bool
    questions: tuple[QuestionScore, ...]


@dataclass(frozen=True, slots=True)
class PhaseScore:
    key: str
    weight: float
    """Σ weights of the phase's scored steps: the phase's weight in the visit score."""
    score: float | None
    raw_score: float | None
    knocked_out: bool


@dataclass(frozen=True, slots=True)
class VisitScore:
    score: float | None
    """0–100 after knock-outs; None when no question was scored."""
    raw_score: float | None
    band: str | None
    passed: bool | None
    knocked_out: tuple[str, ...]
    """Keys of the knock-out questions that failed, in journey order."""
    steps: tuple[StepScore, ...]
    phases: tuple[PhaseScore, ...]
    levels: Mapping[PyramidLevel, float | None]

    @property
    def questions(self) -> tuple[QuestionScore, ...]:
        return tuple(question for step in self.steps for question in step.questions)

    def step_scores(self) -> dict[str, float | None]:
        """Step key → score, the shape ``step_gaps`` takes per visit."""
        return {step.key: step.score for step in self.steps}


def question_fraction(question: Question, answer: Any) -> float | None:
    """The fraction f ∈ [0, 1] an answer earns; None when the question type is not scored."""
    kind = question.type
    if kind is QuestionType.yes_no:
        given = ("yes" if answer else "no") if isinstance(answer, bool) else answer
        return 1.0 if given == question.good_answer else 0.0
    if kind is QuestionType.scale:
        scale = question.scale
        if scale is None or not _is_number(answer):
            return 0.0
        return _clamp((float(answer) - scale.min) / (scale.max - scale.min), 0.0, 1.0)
    if kind in (QuestionType.single_choice, QuestionType.multi_choice):
        scores = {option.key: option.score for option in question.options or ()}
        if kind is QuestionType.single_choice:
            return float(scores.get(answer, 0.0)) if isinstance(answer, str) else 0.0
        chosen = {answer} if isinstance(answer, str) else set(_strings(answer))
        return min(1.0, math.fsum(scores.get(key, 0.0) for key in chosen))
    if kind is QuestionType.number:
        bounds = question.number
        if bounds is None or (bounds.min is None and bounds.max is None):
            return None
        if not _is_number(answer):
            return 0.0
        value = float(answer)
        low = -math.inf if bounds.min is None else bounds.min
        high = math.inf if bounds.max is None else bounds.max
        return 1.0 if low <= value <= high else 0.0
    return None


def is_scored(question: Question) -> bool:
    """Whether a question earns points (text, photo, time and range-less numbers do not)."""
    if question.type is QuestionType.number:
        bounds = question.number
        return bounds is not None and (bounds.min is not None or bounds.max is not None)
    return question.type.scored


def score_question(question: Question, answer: Any, *, step_key: str) -> QuestionScore:
    """Points for one scored question (see the module docstring)."""
    status = answer_status(question, answer)
    weight = float(question.weight)
    fraction: float | None
    if status is AnswerStatus.answered:
        fraction = question_fraction(question, answer)
        if fraction is None:
            raise ValueError(f"question '{question.key}' ({question.type}) is not scored")
    elif status is AnswerStatus.missing:
        fraction = 0.0
    else:
        fraction = None
    counted = fraction is not None
    failed = (
        question.knockout is not None
        and status is AnswerStatus.answered
        and fraction is not None
        and fraction < question.knockout_threshold
    )
    return QuestionScore(
        key=question.key,
        step_key=step_key,
        level=question.level,
        weight=weight,
        status=status,
        fraction=fraction,
        earned=weight * fraction if fraction is not None else 0.0,
        possible=weight if counted and not question.bonus else 0.0,
        bonus=question.bonus,
        knockout=question.knockout,
        knockout_failed=failed,
    )


def pass_fail_bands(pass_mark: float = DEFAULT_PASS_MARK) -> tuple[tuple[float, str], ...]:
    return ((0.0, "fail"), (pass_mark, "pass"))


def outcome_band(score: float | None, bands: Bands) -> str | None:
    """The label of the highest band whose lower bound the score reaches."""
    if score is None:
        return None
    label: str | None = None
    for lower, name in sorted(bands, key=lambda band: band[0]):
        if score >= lower - TOLERANCE:
            label = name
    return label


def focus_level(
    level_scores: Mapping[PyramidLevel, float | None] | Mapping[str, float | None],
    threshold: float,
) -> PyramidLevel | None:
    """The lowest pyramid level (basis → ease → emotion) scoring below the threshold, if any.

    Levels without a score (nothing measured) are passed over.
    """
    scores: Mapping[str, float | None] = {str(key): value for key, value in level_scores.items()}
    for level in PYRAMID_ORDER:
        value = scores.get(level.value)
        if value is not None and value < threshold - TOLERANCE:
            return level
    return None


def score_visit(
    journey: JourneyDefinition,
    observations: Sequence[StepObservation],
    *,
    pass_mark: float = DEFAULT_PASS_MARK,
    bands: Bands | None = None,
) -> VisitScore:
    """Score a visit's observations against its journey (formulas in the module docstring).

    Observations of unknown steps are ignored; a step without an observation has every question
    unanswered (so its required questions count as missing).
    """
    by_step = observations_by_step(observations)
    failed_phases: set[str] = set()
    visit_failed = False
    knocked_out: list[str] = []
    step_scores: list[StepScore] = []
    for phase, step in journey.steps():
        answers = by_step.get(step.key, StepObservation(step.key)).answers
        questions = tuple(
            score_question(question, answers.get(question.key), step_key=step.key)
            for question in step.questions
            if is_scored(question)
        )
        step_failed = False
        for question in questions:
            if question.knockout_failed:
                knocked_out.append(question.key)
                step_failed |= question.knockout is KnockoutScope.step
                visit_failed |= question.knockout is KnockoutScope.visit
                if question.knockout is KnockoutScope.phase:
                    failed_phases.add(phase.key)
        earned = math.fsum(question.earned for question in questions)
        possible = math.fsum(question.possible for question in questions)
        raw = _percent(earned, possible)
        step_scores.append(
            StepScore(
                key=step.key,
                phase_key=phase.key,
                weight=float(step.weight),
                score=0.0 if step_failed else raw,
                raw_score=raw,
                earned=earned,
                possible=possible,
                knocked_out=step_failed,
                questions=questions,
            )
        )

    phases = tuple(
        _phase_score(
            phase.key,
            [step for step in step_scores if step.phase_key == phase.key],
            knocked_out=phase.key in failed_phases,
        )
        for phase in journey.phases
    )
    raw_score = _weighted_mean((step.weight, step.raw_score) for step in step_scores)
    score = 0.0 if visit_failed else _weighted_mean((phase.weight, phase.score) for phase in phases)
    chosen_bands = pass_fail_bands(pass_mark) if bands is None else bands
    return VisitScore(
        score=score,
        raw_score=raw_score,
        band=outcome_band(score, chosen_bands),
        passed=None if score is None else score >= pass_mark - TOLERANCE,
        knocked_out=tuple(knocked_out),
        steps=tuple(step_scores),
        phases=phases,
        levels=_level_scores(step_scores),
    )


def _phase_score(key: str, steps: list[StepScore], *, knocked_out: bool) -> PhaseScore:
    weight = math.fsum(step.weight for step in steps if step.score is not None)
    if knocked_out and weight == 0:
        weight = math.fsum(step.weight for step in steps)
    return PhaseScore(
        key=key,
        weight=weight,
        score=0.0 if knocked_out else _weighted_mean((s.weight, s.score) for s in steps),
        raw_score=_weighted_mean((s.weight, s.raw_score) for s in steps),
        knocked_out=knocked_out,
    )


def _level_scores(steps: Sequence[StepScore]) -> dict[PyramidLevel, float | None]:
    result: dict[PyramidLevel, float | None] = {}
    for level in PYRAMID_ORDER:
        pairs = [
            (step.weight * question.earned, step.weight * question.possible)
            for step in steps
            for question in step.questions
            if question.level is level
        ]
        result[level] = _percent(
            math.fsum(earned for earned, _ in pairs), math.fsum(possible for _, possible in pairs)
        )
    return result


def _percent(earned: float, possible: float) -> float | None:
    if possible <= 0:
        return None
    return 100.0 * min(1.0, earned / possible)


def _weighted_mean(pairs: Iterable[tuple[float, float | None]]) -> float | None:
    scored = [(weight, value) for weight, value in pairs if value is not None]
    total_weight = math.fsum(weight for weight, _ in scored)
    if total_weight <= 0:
        return None
    mean = math.fsum(weight * value for weight, value in scored) / total_weight
    return _clamp(mean, 0.0, 100.0)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _strings(value: object) -> list[str]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [item for item in value if isinstance(item, str)]
    return []
