"""CX map rules with hand-computed values (scoring/_cxmap.py states the formulas)."""

from __future__ import annotations

import math
import statistics
from datetime import date

import pytest

from scoring import (
    MIN_CORRELATION_VISITS,
    MIN_IMPACT_VISITS,
    PYRAMID_ORDER,
    Moments,
    PainReason,
    Sample,
    StepMeans,
    Verdict,
    correlations,
    impact,
    is_opportunity,
    moments_of_truth,
    pain_points,
    pearson,
    recheck_date,
    score_visit,
    step_emotion,
    step_levels,
)
from tests.scoring._build import journey, obs, phase, q, step


@pytest.mark.parametrize(
    ("xs", "ys", "expected"),
    [
        ([1, 2, 3], [2, 4, 6], 1.0),
        ([1, 2, 3], [6, 4, 2], -1.0),
        # x̄ = 2, ȳ = 3: Σdxdy = 2, Σdx² = 2, Σdy² = 8 → r = 2 / √16 = 0.5
        ([1, 2, 3], [1, 5, 3], 0.5),
        (
            [10, 20, 30, 40],
            [15, 10, 40, 35],
            statistics.correlation([10, 20, 30, 40], [15, 10, 40, 35]),
        ),
        ([5, 5, 5], [1, 2, 3], None),  # constant x
        ([1, 2, 3], [7, 7, 7], None),  # constant y
        ([1], [1], None),  # one pair
        ([], [], None),
    ],
)
def test_pearson_from_sums(xs: list[float], ys: list[float], expected: float | None) -> None:
    r = pearson(Moments.of(zip(xs, ys, strict=True)))
    assert r == (None if expected is None else pytest.approx(expected, abs=1e-12))


def _moments(kind: str, n: int) -> Moments:
    """n pairs whose correlation is exactly 1 ("up") or −1 ("down")."""
    xs = [float(i) for i in range(n)]
    ys = xs if kind == "up" else [-x for x in xs]
    return Moments.of(zip(xs, ys, strict=True))


@pytest.mark.parametrize(
    ("steps", "flagged"),
    [
        ({"a": ("up", 10), "b": ("down", 10)}, ["a"]),
        ({"a": ("up", 9)}, []),  # below the minimum visits
        ({"a": ("up", 12), "b": ("up", 10), "c": ("up", 11), "d": ("up", 30)}, ["d", "a", "c"]),
        ({"a": ("down", 20)}, []),
    ],
)
def test_moments_of_truth_need_min_visits_r_threshold_and_rank(
    steps: dict[str, tuple[str, int]], flagged: list[str]
) -> None:
    sums = {key: _moments(kind, n) for key, (kind, n) in steps.items()}
    truths = moments_of_truth(sums)
    assert sorted(truths, key=lambda key: truths[key].rank) == flagged
    for truth in truths.values():
        assert truth.r_squared == pytest.approx(truth.r**2)


def test_correlations_hide_r_below_the_minimum_visits() -> None:
    sums = {"few": _moments("up", MIN_CORRELATION_VISITS - 1), "enough": _moments("up", 10)}
    assert correlations(sums) == {"few": None, "enough": pytest.approx(1.0)}


def test_moment_of_truth_threshold_is_inclusive_at_half() -> None:
    # r = 0.5 exactly (see the pearson table), repeated to reach the minimum visits.
    pairs = [(1.0, 1.0), (2.0, 5.0), (3.0, 3.0)] * 4
    assert pearson(Moments.of(pairs)) == pytest.approx(0.5)
    assert list(moments_of_truth({"s": Moments.of(pairs)})) == ["s"]


@pytest.mark.parametrize(
    ("conscious", "implicit", "expected"),
    [(0.5, -0.1, 0.2), (None, -0.4, -0.4), (0.3, None, 0.3), (None, None, None)],
)
def test_step_emotion_is_the_mean_of_what_was_measured(
    conscious: float | None, implicit: float | None, expected: float | None
) -> None:
    assert step_emotion(conscious, implicit) == (
        None if expected is None else pytest.approx(expected)
    )


def _step(key: str, position: int, score: float | None, emotion: float | None) -> StepMeans:
    return StepMeans(step_key=key, position=position, mean_score=score, emotion=emotion)


def test_pain_points_by_score_and_by_emotion() -> None:
    steps = [
        _step("a", 0, 40, 0.5),
        _step("b", 1, 69.9, -0.21),
        _step("c", 2, 70, -0.2),  # at the pass mark; emotion exactly −0.2 is not below it
        _step("d", 3, 10, -0.9),
        _step("e", 4, 30, None),
        _step("f", 5, None, -0.5),
    ]
    assert pain_points(steps, pass_mark=70) == {
        "d": [PainReason.score, PainReason.emotion],
        "e": [PainReason.score],
        "a": [PainReason.score],  # b (69.9) is the 4th lowest below 70: left out
        "f": [PainReason.emotion],
        "b": [PainReason.emotion],
    }


@pytest.mark.parametrize(
    ("emotion", "basis", "ease", "expected"),
    [
        (0.0, 90, 80, True),
        (0.19, 70, 70, True),  # good is ≥ the mark
        (-0.19, 90, None, True),  # no ease questions: basis alone decides
        (0.2, 90, 90, False),  # not neutral
        (-0.2, 90, 90, False),
        (0.0, 69.9, 90, False),  # basis not good
        (0.0, 90, 60, False),  # ease not good
        (0.0, None, None, False),  # nothing to call good
        (None, 90, 90, False),  # no emotion measured
    ],
)
def test_opportunity_is_neutral_emotion_on_good_basis_and_ease(
    emotion: float | None, basis: float | None, ease: float | None, expected: bool
) -> None:
    step = StepMeans("s", 0, 80, emotion, basis=basis, ease=ease)
    assert is_opportunity(step, good=70) is expected


def test_sample_mean_and_sd() -> None:
    sample = Sample.of([2, 4, 4, 4, 5, 5, 7, 9])
    assert sample.mean == 5
    assert sample.sd == pytest.approx(statistics.stdev([2, 4, 4, 4, 5, 5, 7, 9]))
    assert Sample().mean is None and Sample.of([3]).sd is None


@pytest.mark.parametrize(
    ("before", "after", "verdict", "t"),
    [
        # means 50 → 60, sd √(10·… ) equal spread: t = 10 / √(s²/10 + s²/10)
        ([45, 55] * 5, [55, 65] * 5, Verdict.improved, 10 / math.sqrt(2 * (250 / 9) / 10)),
        ([55, 65] * 5, [45, 55] * 5, Verdict.worsened, -10 / math.sqrt(2 * (250 / 9) / 10)),
        ([40, 60] * 5, [42, 62] * 5, Verdict.no_clear_change, 2 / math.sqrt(2 * (1000 / 9) / 10)),
        ([50] * 10, [50] * 10, Verdict.no_clear_change, None),
        ([50] * 10, [60] * 10, Verdict.improved, None),  # no spread: any change is clear
        ([50] * 9, [90] * 30, Verdict.too_few_visits, None),
        ([50] * 30, [], Verdict.too_few_visits, None),
    ],
)
def test_impact_verdicts(
    before: list[float], after: list[float], verdict: Verdict, t: float | None
) -> None:
    result = impact(Sample.of(before), Sample.of(after))
    assert result.verdict is verdict
    assert result.t == (None if t is None else pytest.approx(t))
    if before and after:
        assert result.change == pytest.approx(statistics.mean(after) - statistics.mean(before))
    else:
        assert result.change is None
    assert (result.note is not None) is (verdict is Verdict.too_few_visits)


def test_too_few_visits_note_names_the_short_side() -> None:
    result = impact(Sample.of([1.0] * MIN_IMPACT_VISITS), Sample.of([2.0]))
    assert result.note == "Too few visits to tell: 1 visit after (at least 10 on each side)."


def test_recheck_is_six_months_later() -> None:
    assert recheck_date(date(2026, 1, 10)) == date(2026, 7, 11)


def test_step_levels_score_each_level_within_the_step() -> None:
    definition = journey(
        phase(
            "p",
            step(
                "s",
                q("right", "yes_no"),
                q("stock", "yes_no", weight=3),
                q("quick", "scale", scale={"min": 1, "max": 5}, level="ease"),
            ),
            step("t", q("smile", "yes_no", level="emotion")),
        )
    )
    scores = score_visit(
        definition,
        [obs("s", {"right": "yes", "stock": "no", "quick": 4}), obs("t", {"smile": "yes"})],
    )
    first, second = (step_levels(s) for s in scores.steps)
    # basis: (1·1 + 3·0) / 4 = 25 %; ease: (4 − 1) / 4 = 75 %; no emotion question in s.
    assert [first[level] for level in PYRAMID_ORDER] == [25.0, 75.0, None]
    assert [second[level] for level in PYRAMID_ORDER] == [None, None, 100.0]
