"""Customer-experience map maths: moments of truth, pain points, opportunities, action impact.

Every rule takes plain per-step figures (means and sums that SQL can aggregate) and returns flags
and values; the API attaches names and journey order.

**Emotion of a step** ``e_s``: the mean of the step's mean conscious index and its mean implicit
index, of those present (both −1…+1; None when neither was measured) — the measure the results'
pain points already rank by.

**Moment of truth** — the steps whose score best explains the overall visit score. Over the
approved visits that scored both the step (x = step score) and the visit (y = visit score after
knock-outs, what the client sees), Pearson's correlation coefficient

    r_s = (n·Σxy − Σx·Σy) / √((n·Σx² − (Σx)²) · (n·Σy² − (Σy)²))

(r_s² is the share of the visit score's variance a straight line in the step score explains). A
step is a moment of truth when n ≥ ``MIN_CORRELATION_VISITS`` (10), r_s ≥ ``MOMENT_OF_TRUTH_R``
(0.5) and it is among the ``MOMENTS_OF_TRUTH_MAX`` (3) highest r_s (ties: fewer visits last, then
step key). r is undefined (None) when either score never varies.

The step's own score is part of the visit score (a weighted mean of the step scores), so r_s
includes that part-whole share; it is kept on purpose: the question is which step's ups and downs
move the score the client reads, and a heavy, volatile step does move it. A step that swings the
visit score only through its own weight shows a high r_s with a low weight-adjusted effect on the
other steps; the CX map reports each step's weight beside r_s so the reader can tell them apart.

**Pain point** — a step is a pain point for its score when its mean score is below the project's
pass mark and it is among the ``PAIN_POINTS_MAX`` (3) lowest mean scores; for its emotion when
e_s < ``NEGATIVE_EMOTION`` (−0.2) and it is among the 3 most negative. Ties: journey position.

**Step pyramid levels** (materialised per visit): for level L of basis, ease, emotion,
level_L(s) = 100 · min(1, Σ earned_q / Σ possible_q) over the step's scored questions of level L
(None when the step has none) — the visit's level formula restricted to one step.

**Opportunity** — a step whose emotion is neutral though its basis and ease are good:
|e_s| < ``NEUTRAL_EMOTION`` (0.2), and of the step's mean basis and mean ease scores (the step's
questions of that pyramid level, 0–100) at least one exists and every one that exists is ≥ the
"good" mark (the project's focus threshold, 70 by default). Such a step works but leaves no warm
memory: the cheapest place to add emotion.

**Action impact** — for each step an action targets, the step scores of the approved visits
before the action's completion day (x_b, visit day < completion) and from it on (x_a, visit
day ≥ completion): n, mean and sample standard deviation on each side, change = mean_a − mean_b
and Welch's t = change / √(s_a²/n_a + s_b²/n_b). Verdict: ``too_few_visits`` when either side
has fewer than ``MIN_IMPACT_VISITS`` (10) visits, else ``improved`` when t ≥ ``SIGNIFICANT_T``
(1.96, about 95 % two-sided for large n), ``worsened`` when t ≤ −1.96, otherwise
``no_clear_change``. With no spread on either side (both standard deviations 0) any difference
counts as clear.

**Re-check date** ("best before"): the completion day (or, before completion, the creation day)
plus ``RECHECK_DAYS`` (182, about six months).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from briefings import PyramidLevel
from scoring._scores import PYRAMID_ORDER, StepScore

MIN_CORRELATION_VISITS = 10
MOMENT_OF_TRUTH_R = 0.5
MOMENTS_OF_TRUTH_MAX = 3
PAIN_POINTS_MAX = 3
NEGATIVE_EMOTION = -0.2
NEUTRAL_EMOTION = 0.2
MIN_IMPACT_VISITS = 10
SIGNIFICANT_T = 1.96
RECHECK_DAYS = 182


# ---------------------------------------------------------------- sums SQL can aggregate


@dataclass(frozen=True, slots=True)
class Moments:
    """n, Σx, Σy, Σx², Σy², Σxy over the pairs (x, y)."""

    n: int = 0
    sum_x: float = 0.0
    sum_y: float = 0.0
    sum_xx: float = 0.0
    sum_yy: float = 0.0
    sum_xy: float = 0.0

    @classmethod
    def of(cls, pairs: Iterable[tuple[float, float]]) -> Moments:
        items = list(pairs)
        return cls(
            n=len(items),
            sum_x=math.fsum(x for x, _ in items),
            sum_y=math.fsum(y for _, y in items),
            sum_xx=math.fsum(x * x for x, _ in items),
            sum_yy=math.fsum(y * y for _, y in items),
            sum_xy=math.fsum(x * y for x, y in items),
        )


def pearson(moments: Moments) -> float | None:
    """Pearson's r from the sums; None for fewer than 2 pairs or a constant x or y."""
    n = moments.n
    if n < 2:
        return None
    cov = n * moments.sum_xy - moments.sum_x * moments.sum_y
    var_x = n * moments.sum_xx - moments.sum_x**2
    var_y = n * moments.sum_yy - moments.sum_y**2
    # Sums of squares of 0–100 scores: anything this close to 0 is rounding, not spread.
    scale = 1e-9 * max(1.0, n * moments.sum_xx, n * moments.sum_yy)
    if var_x <= scale or var_y <= scale:
        return None
    return max(-1.0, min(1.0, cov / math.sqrt(var_x * var_y)))


@dataclass(frozen=True, slots=True)
class Sample:
    """n, Σx and Σx² of one side of a comparison."""

    n: int = 0
    sum_x: float = 0.0
    sum_xx: float = 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Sample:
        items = list(values)
        return cls(len(items), math.fsum(items), math.fsum(x * x for x in items))

    @property
    def mean(self) -> float | None:
        return self.sum_x / self.n if self.n else None

    @property
    def sd(self) -> float | None:
        """Sample standard deviation (n − 1 in the denominator); None below 2 values."""
        if self.n < 2:
            return None
        variance = (self.sum_xx - self.sum_x**2 / self.n) / (self.n - 1)
        return math.sqrt(max(0.0, variance))


# ---------------------------------------------------------------- per-step rules


def step_emotion(conscious: float | None, implicit: float | None) -> float | None:
    """Mean of the present conscious and implicit means."""
    felt = [value for value in (conscious, implicit) if value is not None]
    return math.fsum(felt) / len(felt) if felt else None


@dataclass(frozen=True, slots=True)
class MomentOfTruth:
    step_key: str
    r: float
    r_squared: float
    n: int
    rank: int


def correlations(moments: Mapping[str, Moments]) -> dict[str, float | None]:
    """Step key → r (None where undefined or n below the minimum)."""
    return {
        key: pearson(m) if m.n >= MIN_CORRELATION_VISITS else None for key, m in moments.items()
    }


def moments_of_truth(moments: Mapping[str, Moments]) -> dict[str, MomentOfTruth]:
    """The flagged steps (see the module docstring), keyed by step."""
    ranked = sorted(
        (
            (r, moments[key].n, key)
            for key, r in correlations(moments).items()
            if r is not None and r >= MOMENT_OF_TRUTH_R
        ),
        key=lambda item: (-item[0], -item[1], item[2]),
    )[:MOMENTS_OF_TRUTH_MAX]
    return {
        key: MomentOfTruth(step_key=key, r=r, r_squared=r * r, n=n, rank=index + 1)
        for index, (r, n, key) in enumerate(ranked)
    }


class PainReason(StrEnum):
    score = "score"
    emotion = "emotion"


@dataclass(frozen=True, slots=True)
class StepMeans:
    """One step's means over the selected approved visits."""

    step_key: str
    position: int
    mean_score: float | None
    emotion: float | None
    basis: float | None = None
    ease: float | None = None


def pain_points(steps: Sequence[StepMeans], *, pass_mark: float) -> dict[str, list[PainReason]]:
    """Step key → why it is a pain point (score, emotion or both); unflagged steps left out."""
    low_score = sorted(
        (s for s in steps if s.mean_score is not None and s.mean_score < pass_mark),
        key=lambda s: (s.mean_score, s.position, s.step_key),
    )[:PAIN_POINTS_MAX]
    negative = sorted(
        (s for s in steps if s.emotion is not None and s.emotion < NEGATIVE_EMOTION),
        key=lambda s: (s.emotion, s.position, s.step_key),
    )[:PAIN_POINTS_MAX]
    reasons: dict[str, list[PainReason]] = {}
    for step in low_score:
        reasons.setdefault(step.step_key, []).append(PainReason.score)
    for step in negative:
        reasons.setdefault(step.step_key, []).append(PainReason.emotion)
    return reasons


def step_levels(step: StepScore) -> dict[PyramidLevel, float | None]:
    """The step's score per pyramid level, 0–100 (None for a level it does not ask about)."""
    levels: dict[PyramidLevel, float | None] = {}
    for level in PYRAMID_ORDER:
        earned = math.fsum(q.earned for q in step.questions if q.level is level)
        possible = math.fsum(q.possible for q in step.questions if q.level is level)
        levels[level] = 100.0 * min(1.0, earned / possible) if possible > 0 else None
    return levels


def is_opportunity(step: StepMeans, *, good: float) -> bool:
    """Neutral emotion though the step's basis and ease (those measured) are at least ``good``."""
    if step.emotion is None or abs(step.emotion) >= NEUTRAL_EMOTION:
        return False
    levels = [value for value in (step.basis, step.ease) if value is not None]
    return bool(levels) and all(value >= good for value in levels)


# ---------------------------------------------------------------- action plans


class Verdict(StrEnum):
    improved = "improved"
    worsened = "worsened"
    no_clear_change = "no_clear_change"
    too_few_visits = "too_few_visits"


@dataclass(frozen=True, slots=True)
class Impact:
    change: float | None
    t: float | None
    verdict: Verdict
    note: str | None


def impact(before: Sample, after: Sample) -> Impact:
    """Before/after comparison of one step's scores (see the module docstring)."""
    change = None
    if before.mean is not None and after.mean is not None:
        change = after.mean - before.mean
    if before.n < MIN_IMPACT_VISITS or after.n < MIN_IMPACT_VISITS:
        short = ", ".join(
            f"{n} visit{'s' if n != 1 else ''} {side}"
            for side, n in (("before", before.n), ("after", after.n))
            if n < MIN_IMPACT_VISITS
        )
        return Impact(
            change=change,
            t=None,
            verdict=Verdict.too_few_visits,
            note=f"Too few visits to tell: {short} (at least {MIN_IMPACT_VISITS} on each side).",
        )
    assert change is not None and before.sd is not None and after.sd is not None
    spread = math.sqrt(before.sd**2 / before.n + after.sd**2 / after.n)
    if spread == 0.0:
        t = None
        verdict = (
            Verdict.no_clear_change
            if change == 0
            else Verdict.improved
            if change > 0
            else Verdict.worsened
        )
    else:
        t = change / spread
        verdict = (
            Verdict.improved
            if t >= SIGNIFICANT_T
            else Verdict.worsened
            if t <= -SIGNIFICANT_T
            else Verdict.no_clear_change
        )
    return Impact(change=change, t=t, verdict=verdict, note=None)


def recheck_date(start: date) -> date:
    """The default re-check ("best before") date of an action started or completed on ``start``."""
    return start + timedelta(days=RECHECK_DAYS)
