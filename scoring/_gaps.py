"""Desired-journey gaps: where the measured journey falls short of the project's targets.

For a step s with target T_s (0–100), weight W_s and the scores x_1…x_n of the visits that scored it:

    mean_s   = Σ x_i / n
    gap_s    = T_s − mean_s                        (negative: the step beats its target)
    short_s  = #{i : x_i < T_s} / n                (share of visits that fall short)
    impact_s = gap_s · W_s · short_s

Gaps are ranked by impact, highest first (ties: larger gap, then step key). A step with a target
but no scored visit has no gap and is left out; a step missing from ``step_weights`` weighs 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from briefings import JourneyDefinition


@dataclass(frozen=True, slots=True)
class Gap:
    step_key: str
    target: float
    mean_score: float
    gap: float
    share_short: float
    weight: float
    impact: float
    visits: int


def step_gap(
    step_key: str,
    *,
    target: float,
    weight: float,
    mean_score: float,
    share_short: float,
    visits: int,
) -> Gap:
    """One step's gap from summary figures (e.g. AVG and a COUNT of scores below target in SQL)."""
    gap = target - mean_score
    return Gap(
        step_key=step_key,
        target=target,
        mean_score=mean_score,
        gap=gap,
        share_short=share_short,
        weight=weight,
        impact=gap * weight * share_short,
        visits=visits,
    )


def rank_gaps(gaps: Iterable[Gap]) -> list[Gap]:
    """Highest impact first; ties by larger gap, then step key."""
    return sorted(gaps, key=lambda gap: (-gap.impact, -gap.gap, gap.step_key))


def step_gaps(
    targets: Mapping[str, float],
    step_scores_per_visit: Sequence[Mapping[str, float | None]],
    step_weights: Mapping[str, float],
) -> list[Gap]:
    """Gap, share short and impact per targeted step over the visits' step scores, ranked."""
    gaps: list[Gap] = []
    for step_key, target in targets.items():
        scores = [
            float(score)
            for visit in step_scores_per_visit
            if (score := visit.get(step_key)) is not None
        ]
        if not scores:
            continue
        gaps.append(
            step_gap(
                step_key,
                target=float(target),
                weight=float(step_weights.get(step_key, 1.0)),
                mean_score=math.fsum(scores) / len(scores),
                share_short=sum(score < target for score in scores) / len(scores),
                visits=len(scores),
            )
        )
    return rank_gaps(gaps)


def journey_step_weights(journey: JourneyDefinition) -> dict[str, float]:
    """Step key → weight, as ``step_gaps`` takes them."""
    return {step.key: float(step.weight) for _, step in journey.steps()}
