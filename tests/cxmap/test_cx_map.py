"""The CX map of a generated project flags exactly the steps the generation made special."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from tests.cxmap.conftest import PHASES, STEPS, CxWorld

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["step_key"]: step for phase in document["phases"] for step in phase["steps"]}


def _flagged(document: dict[str, Any], flag: str) -> set[str]:
    return {key for key, step in _steps(document).items() if step["flags"][flag]}


def test_map_lays_out_phases_steps_touchpoints_and_channels(cx: CxWorld) -> None:
    document = cx.get(f"/projects/{cx.project_id}/cx-map")
    assert document["visits"] == 40
    assert [phase["phase_key"] for phase in document["phases"]] == list(PHASES)
    assert [[s["step_key"] for s in p["steps"]] for p in document["phases"]] == list(
        map(list, PHASES.values())
    )
    advice = _steps(document)["advice"]
    assert (advice["name"], advice["touchpoint"], advice["channel"]) == (
        "Advice",
        "website",
        "online",
    )
    assert _steps(document)["greet"]["touchpoint"] == "store"


def test_step_scores_and_emotions_match_the_generated_visits(cx: CxWorld) -> None:
    steps = _steps(cx.get(f"/projects/{cx.project_id}/cx-map"))
    for key in STEPS:
        assert steps[key]["visits"] == 40
        assert steps[key]["score"] == pytest.approx(statistics.mean(cx.data.step_scores(key)))
    assert steps["pay"]["conscious"] == pytest.approx(-1.0)
    assert steps["pay"]["implicit"] == pytest.approx(-1.0)
    assert steps["pay"]["emotion"] == pytest.approx(-1.0)
    assert steps["greet"]["conscious"] == pytest.approx(2 / 3)
    assert steps["greet"]["emotion_gap"] == pytest.approx(1 - 2 / 3)
    assert steps["farewell"]["basis"] == pytest.approx(100.0)
    assert steps["farewell"]["ease"] == pytest.approx(90.0)


def test_advice_is_the_one_moment_of_truth_with_pearson_r_against_the_visit_score(
    cx: CxWorld,
) -> None:
    document = cx.get(f"/projects/{cx.project_id}/cx-map")
    steps = _steps(document)
    assert _flagged(document, "moment_of_truth") == {"advice"}
    visit_scores = cx.data.visit_scores()
    expected = statistics.correlation(cx.data.step_scores("advice"), visit_scores)
    truth = steps["advice"]["flags"]["moment_of_truth"]
    assert truth["rank"] == 1 and truth["n"] == 40
    assert truth["r"] == pytest.approx(expected, abs=1e-9)
    assert truth["r_squared"] == pytest.approx(expected**2, abs=1e-9)
    # Every other step's r is reported, below the 0.5 threshold; a constant step has none.
    for key in ("greet", "queue", "pay"):
        r = statistics.correlation(cx.data.step_scores(key), visit_scores)
        assert steps[key]["r"] == pytest.approx(r, abs=1e-9)
        assert steps[key]["r"] < document["statistics"]["moment_of_truth_r"]
    assert steps["farewell"]["r"] is None
    assert "Pearson" in document["statistics"]["moment_of_truth"]


def test_pain_points_are_the_low_scoring_steps_and_the_badly_felt_one(cx: CxWorld) -> None:
    steps = _steps(cx.get(f"/projects/{cx.project_id}/cx-map"))
    reasons = {key: step["flags"]["pain_reasons"] for key, step in steps.items()}
    assert reasons == {
        "greet": [],
        "advice": ["score"],  # mean ≈ 60 < pass mark 70
        "queue": ["score"],  # mean ≈ 34; its emotion −1/6 is not below −0.2
        "pay": ["emotion"],  # scores ≈ 81 but felt at −1
        "farewell": [],
    }


def test_farewell_is_the_opportunity_neutral_emotion_on_good_basis_and_ease(cx: CxWorld) -> None:
    document = cx.get(f"/projects/{cx.project_id}/cx-map")
    assert _flagged(document, "opportunity") == {"farewell"}
    assert document["statistics"]["good_level"] == 70.0


def test_desired_journey_sets_targets_and_gaps_on_the_map(cx: CxWorld) -> None:
    put = cx.send(
        "PUT",
        f"/projects/{cx.project_id}/desired-journey",
        {"step_targets": {"queue": 70, "advice": 80}, "level_targets": {"basis": 85}},
    )
    assert put.status_code == 200, put.text
    document = cx.get(f"/projects/{cx.project_id}/cx-map")
    steps = _steps(document)
    queue_mean = statistics.mean(cx.data.step_scores("queue"))
    assert steps["queue"]["desired"] == 70
    assert steps["queue"]["gap"] == pytest.approx(70 - queue_mean)
    assert steps["greet"]["desired"] is None and steps["greet"]["gap"] is None
    assert document["desired_journey_version"] == 1
    basis = next(level for level in document["levels"] if level["level"] == "basis")
    assert basis["desired"] == 85
    assert basis["gap"] == pytest.approx(85 - basis["score"])


def test_persona_filter_reads_only_that_personas_visits(cx: CxWorld) -> None:
    parent = cx.personas["Busy parent"]
    document = cx.get(f"/projects/{cx.project_id}/cx-map", persona_id=parent)
    assert document["visits"] == 20
    chosen = [i for i, name in enumerate(cx.data.personas) if name == "Busy parent"]
    queue = cx.data.step_scores("queue")
    assert _steps(document)["queue"]["score"] == pytest.approx(
        statistics.mean(queue[i] for i in chosen)
    )
    summary = cx.get(f"/projects/{cx.project_id}/results/summary", persona_id=parent)
    assert summary["visits"] == 20
    steps = cx.get(f"/projects/{cx.project_id}/results/steps", persona_id=parent)
    assert {s["step_key"]: s["visits"] for s in steps} == dict.fromkeys(STEPS, 20)
    everyone = cx.get(f"/projects/{cx.project_id}/results/steps")
    assert {s["step_key"]: s["visits"] for s in everyone} == dict.fromkeys(STEPS, 40)


def test_client_user_reads_the_map(cx: CxWorld) -> None:
    document = cx.get(f"/projects/{cx.project_id}/cx-map", headers=cx.viewer)
    assert _flagged(document, "moment_of_truth") == {"advice"}
