"""Desired-journey gaps and materialisable aggregates, with hand-computed values."""

from __future__ import annotations

import pytest

from scoring import (
    Aggregate,
    aggregate,
    combine,
    group_aggregates,
    journey_step_weights,
    mean,
    pass_rate,
    step_gap,
    step_gaps,
)
from tests.scoring._build import example


def test_step_gaps_rank_by_gap_times_weight_times_share_short() -> None:
    visits: list[dict[str, float | None]] = [
        {"greet": 60.0, "advice": 90.0, "pay": 100.0},
        {"greet": 80.0, "advice": 50.0, "pay": None},
        {"greet": 100.0, "advice": 70.0},
        {"greet": 40.0},
    ]
    targets = {"greet": 90.0, "advice": 80.0, "pay": 90.0, "never": 50.0}
    gaps = step_gaps(targets, visits, {"greet": 1.0, "advice": 2.0})
    by_key = {gap.step_key: gap for gap in gaps}
    greet, advice, pay = by_key["greet"], by_key["advice"], by_key["pay"]
    # greet: mean (60 + 80 + 100 + 40) / 4 = 70, gap 20, short 3/4, weight 1 → impact 15
    assert (greet.mean_score, greet.gap, greet.share_short, greet.impact) == (70, 20, 0.75, 15)
    # advice: mean (90 + 50 + 70) / 3 = 70, gap 10, short 2/3, weight 2 → impact 13.33
    assert (advice.mean_score, advice.gap, advice.visits) == (70, 10, 3)
    assert advice.impact == pytest.approx(10 * 2 * 2 / 3)
    # 15 > 13.33 > 0
    assert [g.step_key for g in gaps] == ["greet", "advice", "pay"]
    # pay: one visit at 100 beats the target: gap -10, nobody short, weight 1 (default) → impact 0
    assert (pay.gap, pay.share_short, pay.weight, pay.impact) == (-10, 0, 1, 0)
    assert "never" not in [g.step_key for g in gaps]  # no scored visit, no gap


def test_step_gap_from_summary_figures_matches() -> None:
    gap = step_gap("greet", target=90, weight=1.5, mean_score=75, share_short=0.4, visits=10)
    # (90 - 75) · 1.5 · 0.4 = 9
    assert gap.gap == 15
    assert gap.impact == pytest.approx(9)


def test_journey_step_weights() -> None:
    weights = journey_step_weights(example("store_visit.yaml"))
    assert (weights["entering_store"], weights["advice_conversation"], weights["receipt"]) == (
        1.5,
        2,
        1,
    )


def test_aggregate_counts_sums_and_squares_present_values() -> None:
    agg = aggregate([80.0, None, 60.0, 100.0])
    # n 3, Σ 240, Σx² 6400 + 3600 + 10000 = 20000; mean 80; var (20000 - 240²/3) / 2 = 400
    assert agg == Aggregate(3, 240.0, 20000.0)
    assert (agg.mean, agg.variance, agg.sd) == (80, 400, 20)
    assert aggregate([]) == Aggregate() and Aggregate().mean is None


def test_aggregates_of_groups_combine_to_the_aggregate_of_all() -> None:
    groups = group_aggregates([("north", 80.0), ("south", 50.0), ("north", 60.0), ("south", None)])
    assert groups == {"north": Aggregate(2, 140.0, 10000.0), "south": Aggregate(1, 50.0, 2500.0)}
    assert combine(groups.values()) == aggregate([80.0, 50.0, 60.0])
    assert groups["north"] + groups["south"] == Aggregate(3, 190.0, 12500.0)


def test_mean_and_pass_rate() -> None:
    assert mean([1.0, 2.0, None, 6.0]) == 3
    assert mean([None]) is None
    assert pass_rate([True, False, None, True, True]) == 0.75
    assert pass_rate([]) is None
