"""Conscious and implicit emotion indices and their gap, with hand-computed values."""

from __future__ import annotations

import math
from typing import Any

import pytest

from scoring import (
    LatencyBaseline,
    ProbeStatus,
    conscious_index,
    emotion_gap,
    implicit_index,
    probe_status,
    probe_valence,
    probe_weight,
    shopper_latency_baseline,
    step_emotions,
)
from tests.scoring._build import example, journey, obs, phase, q, step

LN500 = math.log(500)
LN2 = math.log(2)


def probe(
    latency: float, choice: Any = 1, deadline: float | None = 1500, kind: str = "valence"
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "stimulus": "step",
        "kind": kind,
        "choice": choice,
        "latency_ms": latency,
    }
    if deadline is not None:
        result["deadline_ms"] = deadline
    return result


@pytest.mark.parametrize(
    ("valence", "index"), [(3, 1.0), (-3, -1.0), (0, 0.0), (-2, -2 / 3), (1, 1 / 3), (5, 1.0)]
)
def test_conscious_index_is_valence_over_three(valence: int, index: float) -> None:
    assert conscious_index(valence) == pytest.approx(index)


@pytest.mark.parametrize(
    ("choice", "valence"),
    [(1, 1.0), (0, 0.0), (-1, -1.0), ("happy", 1.0), ("surprised", 0.0), ("neutral", 0.0),
     ("sad", -1.0), ("angry", -1.0), ("confused", None), (2, None), (None, None), (True, None)],
)  # fmt: skip
def test_probe_choice_maps_to_valence(choice: Any, valence: float | None) -> None:
    assert probe_valence({"choice": choice}) == valence


@pytest.mark.parametrize(
    ("probe_", "status"),
    [
        (probe(600), ProbeStatus.valid),
        (probe(150), ProbeStatus.valid),  # at the anticipation bound
        (probe(149), ProbeStatus.anticipatory),
        (probe(1500), ProbeStatus.valid),  # at the deadline
        (probe(1501), ProbeStatus.timed_out),
        (probe(1501, deadline=2000), ProbeStatus.valid),  # the deadline in force counts
        (probe(1600, deadline=None), ProbeStatus.timed_out),  # default deadline 1500
        (probe(900, choice=None), ProbeStatus.timed_out),
        (probe(900, choice="confused", kind="face"), ProbeStatus.invalid),
    ],
)
def test_probe_status(probe_: dict[str, Any], status: ProbeStatus) -> None:
    assert probe_status(probe_) is status


def test_probe_weight_is_logistic_in_the_shoppers_log_latency_z_score() -> None:
    # mean ln 500 ms, sd ln 2: z = log2(L / 500)
    assert probe_weight(500, LN500, LN2) == pytest.approx(0.5)  # z = 0
    assert probe_weight(250, LN500, LN2) == pytest.approx(1 / (1 + math.exp(-1)))  # z = -1: 0.7311
    assert probe_weight(1000, LN500, LN2) == pytest.approx(1 / (1 + math.exp(1)))  # z = +1: 0.2689
    assert probe_weight(1000, LN500, 0.0) == 0.5  # no speed correction
    assert probe_weight(10**9, LN500, 0.01) == pytest.approx(0.0)  # no overflow far out


def test_implicit_index_weighs_fast_answers_more_and_counts_exclusions() -> None:
    probes = [
        probe(250, 1),  # z = -1, w = 0.7311
        probe(500, 0),  # z = 0,  w = 0.5
        probe(1000, -1),  # z = +1, w = 0.2689
        probe(100, -1),  # anticipatory
        probe(1600, -1),  # past the deadline
        probe(700, None),  # no choice: timed out
        probe(700, "confused", kind="face"),  # invalid
    ]
    result = implicit_index(probes, LN500, LN2)
    # (0.7311·1 + 0.5·0 + 0.2689·(-1)) / (0.7311 + 0.5 + 0.2689) = 0.4621 / 1.5 = 0.3081
    w_fast, w_slow = 1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))
    assert result.value == pytest.approx((w_fast - w_slow) / 1.5)
    assert result.value == pytest.approx(0.30808, abs=1e-5)
    assert (result.valid, result.anticipatory, result.timed_out, result.invalid) == (3, 1, 2, 1)
    assert result.excluded == 4


def test_implicit_index_without_speed_correction_is_the_plain_mean() -> None:
    result = implicit_index([probe(250, 1), probe(500, 1), probe(1000, -1)], LN500, 0.0)
    assert result.value == pytest.approx(1 / 3)  # (1 + 1 - 1) / 3


def test_implicit_index_without_valid_probes_is_none() -> None:
    result = implicit_index([probe(100), probe(900, None)], LN500, LN2)
    assert (result.value, result.valid, result.excluded) == (None, 0, 2)


def test_latency_baseline_is_mean_and_sample_sd_of_log_latency_over_valid_probes() -> None:
    probes = [
        probe(250),
        probe(500),
        probe(500),
        probe(500),
        probe(1000),
        probe(90),
        probe(700, None),
    ]
    mean_ln, sd_ln = shopper_latency_baseline(probes)
    # ln: ln500 - ln2, ln500, ln500, ln500, ln500 + ln2 → mean ln500; Σ dev² = 2·ln2²; / (5 - 1)
    assert mean_ln == pytest.approx(LN500)
    assert sd_ln == pytest.approx(math.sqrt(2 * LN2**2 / 4))  # ln2 / √2 = 0.4901


def test_latency_baseline_falls_back_to_no_correction_below_five_valid_probes() -> None:
    baseline = shopper_latency_baseline([probe(500), probe(1000), probe(80)])
    assert baseline.mean_ln == pytest.approx((LN500 + math.log(1000)) / 2)
    assert baseline.sd_ln == 0
    assert shopper_latency_baseline([]) == LatencyBaseline(0.0, 0.0)


def test_gap_is_implicit_minus_conscious() -> None:
    assert emotion_gap(0.25, -0.5) == 0.75
    assert emotion_gap(None, 0.5) is None
    assert emotion_gap(0.5, None) is None


def test_step_emotions_per_step_with_a_given_baseline() -> None:
    shop = journey(phase("p", step("a", q("x", "yes_no")), step("b", q("y", "yes_no"))))
    observations = [
        obs(
            "a",
            {"x": "yes"},
            conscious={"valence": 2},
            probes=[probe(250, 1), probe(500, 0), probe(1000, -1)],
        ),
        obs("b", {"y": "yes"}, conscious=None, probes=[probe(100, 1)]),
    ]
    a, b = step_emotions(shop, observations, baseline=LatencyBaseline(LN500, LN2))
    # a: conscious 2/3; implicit 0.3081 (as above); gap 0.3081 - 0.6667 = -0.3586
    assert a.conscious == pytest.approx(2 / 3)
    assert a.implicit.value == pytest.approx(0.30808, abs=1e-5)
    assert a.gap == pytest.approx(0.30808 - 2 / 3, abs=1e-5)
    # b: no conscious report, the only probe was anticipatory
    assert (b.conscious, b.implicit.value, b.implicit.anticipatory, b.gap) == (None, None, 1, None)


def test_step_emotions_compute_the_baseline_from_the_visit_when_none_is_given() -> None:
    shop = journey(phase("p", step("a", q("x", "yes_no"))))
    probes = [probe(250, 1), probe(500, 0), probe(500, 0), probe(500, 0), probe(1000, -1)]
    (a,) = step_emotions(shop, [obs("a", {"x": "yes"}, probes=probes)])
    # baseline ln500 ± ln2/√2: z(250) = -√2, z(1000) = +√2; w = 1/(1 + e^z)
    w_fast, w_slow = 1 / (1 + math.exp(-math.sqrt(2))), 1 / (1 + math.exp(math.sqrt(2)))
    assert a.implicit.value == pytest.approx((w_fast - w_slow) / (w_fast + w_slow + 3 * 0.5))


def test_missing_deadline_is_taken_from_the_steps_probe_definition() -> None:
    store = example("store_visit.yaml")
    # website_research declares word:reliable with a 1200 ms deadline
    late = {"stimulus": "word:reliable", "kind": "valence", "choice": 1, "latency_ms": 1300}
    on_time = {"stimulus": "step", "kind": "valence", "choice": 1, "latency_ms": 1300}
    emotions = step_emotions(store, [obs("website_research", probes=[late, on_time])])
    implicit = emotions[0].implicit
    assert (implicit.valid, implicit.timed_out, implicit.value) == (1, 1, 1.0)
