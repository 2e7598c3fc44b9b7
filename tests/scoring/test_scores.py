"""Question, step, phase, visit and pyramid scores with hand-computed values."""

from __future__ import annotations

from typing import Any

import pytest

from briefings import KnockoutScope, PyramidLevel, Question
from scoring import (
    AnswerStatus,
    focus_level,
    outcome_band,
    question_fraction,
    score_question,
    score_visit,
)
from tests.scoring._build import journey, obs, phase, q, step

CHOICES = [
    {"key": "clean", "label": "Clean", "score": 1},
    {"key": "ok", "label": "OK", "score": 0.5},
    {"key": "dirty", "label": "Dirty", "score": 0},
]
TOPICS = [
    {"key": "a", "label": "A", "score": 0.5},
    {"key": "b", "label": "B", "score": 0.3},
    {"key": "c", "label": "C", "score": 0.2},
    {"key": "d", "label": "D", "score": 0.4},
]


def question(kind: str, **extra: Any) -> Question:
    return Question.model_validate({"key": "x", "text": "x", "type": kind, **extra})


@pytest.mark.parametrize(
    ("spec", "answer", "expected"),
    [
        ({"kind": "yes_no"}, "yes", 1.0),
        ({"kind": "yes_no"}, "no", 0.0),
        ({"kind": "yes_no", "good_answer": "no"}, "no", 1.0),
        ({"kind": "yes_no", "good_answer": "no"}, "yes", 0.0),
        ({"kind": "yes_no"}, True, 1.0),
        ({"kind": "scale", "scale": {"min": 1, "max": 5}}, 1, 0.0),
        ({"kind": "scale", "scale": {"min": 1, "max": 5}}, 4, 0.75),  # (4-1)/(5-1)
        ({"kind": "scale", "scale": {"min": 0, "max": 10}}, 7, 0.7),  # (7-0)/(10-0)
        ({"kind": "scale", "scale": {"min": 1, "max": 5}}, 9, 1.0),  # clamped
        ({"kind": "single_choice", "options": CHOICES}, "ok", 0.5),
        ({"kind": "single_choice", "options": CHOICES}, "unknown", 0.0),
        ({"kind": "multi_choice", "options": TOPICS}, ["a", "c"], 0.7),  # 0.5 + 0.2
        ({"kind": "multi_choice", "options": TOPICS}, ["a", "b", "d"], 1.0),  # 1.2 capped at 1
        ({"kind": "multi_choice", "options": TOPICS}, ["b", "b"], 0.3),  # distinct keys
        ({"kind": "multi_choice", "options": TOPICS}, [], 0.0),  # "none of these"
        ({"kind": "number", "number": {"min": 0, "max": 10}}, 10, 1.0),
        ({"kind": "number", "number": {"min": 0, "max": 10}}, 11, 0.0),
        ({"kind": "number", "number": {"min": 5}}, 6.5, 1.0),
        ({"kind": "number"}, 3, None),  # no range: recorded only
        ({"kind": "text"}, "hello", None),
        ({"kind": "photo"}, ["uuid"], None),
        ({"kind": "time"}, "14:05", None),
    ],
)
def test_question_fraction_by_type(
    spec: dict[str, Any], answer: Any, expected: float | None
) -> None:
    kind = spec.pop("kind")
    fraction = question_fraction(question(kind, **spec), answer)
    assert fraction == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("spec", "answer", "status", "earned", "possible"),
    [
        ({"weight": 2}, "yes", AnswerStatus.answered, 2.0, 2.0),
        ({"weight": 2}, "no", AnswerStatus.answered, 0.0, 2.0),
        ({"weight": 2}, None, AnswerStatus.missing, 0.0, 2.0),  # required, unanswered
        ({"weight": 2, "required": False}, None, AnswerStatus.skipped, 0.0, 0.0),
        ({"weight": 2, "allow_na": True}, {"na": True}, AnswerStatus.na, 0.0, 0.0),
        ({"weight": 2}, {"na": True}, AnswerStatus.missing, 0.0, 2.0),  # N/A not allowed
        ({"weight": 2, "bonus": True}, "yes", AnswerStatus.answered, 2.0, 0.0),
        ({"weight": 2, "bonus": True}, "no", AnswerStatus.answered, 0.0, 0.0),
    ],
)
def test_question_points(
    spec: dict[str, Any], answer: Any, status: AnswerStatus, earned: float, possible: float
) -> None:
    scored = score_question(question("yes_no", **spec), answer, step_key="s")
    assert (scored.status, scored.earned, scored.possible) == (status, earned, possible)


# A journey small enough to score by hand.
SHOP = journey(
    phase(
        "arrival",
        step(
            "entry",
            q("greeted", "yes_no"),
            q(
                "friendly",
                "scale",
                scale={"min": 1, "max": 5},
                weight=2,
                level="emotion",
                allow_na=True,
            ),
            q("tidy", "single_choice", options=CHOICES, level="ease", required=False),
        ),
        step(
            "advice",
            q("needs", "yes_no"),
            q("topics", "multi_choice", options=TOPICS, level="ease"),
            q("tip", "yes_no", bonus=True, level="emotion"),
            weight=2,
        ),
    ),
    phase(
        "pay",
        step(
            "till",
            q("price_ok", "yes_no", weight=2, knockout="visit"),
            q("queue", "number", number={"min": 0, "max": 10}, level="ease"),
            q("note", "text", required=False),
            q("receipt", "photo", required=False),
        ),
    ),
)
GOOD: dict[str, dict[str, Any]] = {
    "entry": {"greeted": "yes", "friendly": 4, "tidy": "ok"},
    "advice": {"needs": "no", "topics": ["a", "c"], "tip": "yes"},
    "till": {"price_ok": "yes", "queue": 3, "note": "fine"},
}


def observations(answers: dict[str, dict[str, Any]]) -> list[Any]:
    return [obs(key, value) for key, value in answers.items()]


def with_answers(step_key: str, **changes: Any) -> dict[str, dict[str, Any]]:
    answers = {key: dict(value) for key, value in GOOD.items()}
    for key, value in changes.items():
        if value is ...:
            answers[step_key].pop(key, None)
        else:
            answers[step_key][key] = value
    return answers


def test_visit_score_weights_questions_within_steps_and_steps_within_phases() -> None:
    result = score_visit(SHOP, observations(GOOD))
    steps = {s.key: s for s in result.steps}
    # entry: greeted 1·1 + friendly 2·(4-1)/4 = 1.5 + tidy 1·0.5 → E = 3, P = 4 → 75
    assert (steps["entry"].earned, steps["entry"].possible, steps["entry"].score) == (3, 4, 75)
    # advice: needs 0 + topics 1·0.7 + bonus tip 1 → E = 1.7, P = 2 → 85
    assert steps["advice"].earned == pytest.approx(1.7)
    assert steps["advice"].possible == 2
    assert steps["advice"].score == pytest.approx(85)
    # till: price_ok 2·1 + queue 1·1 (inside 0..10); note and receipt are not scored → 100
    assert steps["till"].score == 100
    assert [qs.key for qs in steps["till"].questions] == ["price_ok", "queue"]
    phases = {p.key: p for p in result.phases}
    # arrival: (1·75 + 2·85) / 3 = 245 / 3
    assert phases["arrival"].score == pytest.approx(245 / 3)
    assert phases["arrival"].weight == 3
    assert phases["pay"].score == 100
    # visit: (3·245/3 + 1·100) / 4 = (245 + 100) / 4 = 86.25
    assert result.score == pytest.approx(86.25)
    assert result.raw_score == pytest.approx(86.25)
    assert (result.band, result.passed, result.knocked_out) == ("pass", True, ())


def test_pyramid_levels_weight_question_points_by_step_weight() -> None:
    levels = score_visit(SHOP, observations(GOOD)).levels
    # basis: greeted 1·1/1·1, needs 2·0/2·1, price_ok 1·2/1·2 → (1 + 0 + 2) / (1 + 2 + 2) = 60
    assert levels[PyramidLevel.basis] == pytest.approx(60)
    # ease: tidy 1·0.5/1, topics 2·0.7/2·1, queue 1·1/1 → 2.9 / 4 = 72.5
    assert levels[PyramidLevel.ease] == pytest.approx(72.5)
    # emotion: friendly 1·1.5/1·2, bonus tip 2·1/0 → min(1, 3.5 / 2) = 100
    assert levels[PyramidLevel.emotion] == 100
    assert focus_level(levels, 70) is PyramidLevel.basis
    assert focus_level(levels, 50) is None
    assert focus_level({"basis": 80.0, "ease": 40.0, "emotion": 10.0}, 50) is PyramidLevel.ease
    assert focus_level({"basis": None, "ease": 90.0, "emotion": 10.0}, 50) is PyramidLevel.emotion


def test_na_leaves_the_denominator() -> None:
    result = score_visit(
        SHOP, observations(with_answers("entry", friendly={"na": True}, tidy="dirty"))
    )
    entry = result.steps[0]
    # greeted 1 + tidy 0 → E = 1, P = 1 + 1 = 2 → 50 (friendly's weight 2 is gone)
    assert (entry.earned, entry.possible, entry.score) == (1, 2, 50)
    assert entry.questions[1].na


def test_unanswered_required_question_costs_its_points() -> None:
    entry = score_visit(SHOP, observations(with_answers("entry", greeted=...))).steps[0]
    # greeted missing 0/1 + friendly 1.5/2 + tidy 0.5/1 → 2 / 4 = 50
    assert (entry.earned, entry.possible, entry.score) == (2, 4, 50)
    assert entry.questions[0].status is AnswerStatus.missing


def test_unanswered_optional_question_counts_as_na() -> None:
    entry = score_visit(SHOP, observations(with_answers("entry", tidy=...))).steps[0]
    # greeted 1/1 + friendly 1.5/2 → 2.5 / 3
    assert entry.score == pytest.approx(250 / 3)
    assert entry.questions[2].status is AnswerStatus.skipped


def test_missing_step_counts_its_required_questions_as_missing() -> None:
    answers = with_answers("entry")
    del answers["advice"]
    advice = score_visit(SHOP, observations(answers)).steps[1]
    # needs 0/1 + topics 0/1; the bonus earns nothing → 0 of 2
    assert (advice.earned, advice.possible, advice.score) == (0, 2, 0)


def test_bonus_adds_to_earned_points_only_and_the_step_is_capped() -> None:
    answers = with_answers("advice", needs="yes", topics=["a", "b", "c"], tip="yes")
    advice = score_visit(SHOP, observations(answers)).steps[1]
    # needs 1 + topics 1 + bonus 1 = 3 earned of 2 possible → capped at 100
    assert (advice.earned, advice.possible, advice.score) == (3, 2, 100)


def test_failed_visit_knockout_zeroes_the_visit_and_keeps_the_raw_score() -> None:
    result = score_visit(SHOP, observations(with_answers("till", price_ok="no")))
    till = result.steps[2]
    # till: price_ok 0/2 + queue 1/1 → 1/3; the step itself is not knocked out
    assert till.score == pytest.approx(100 / 3)
    assert not till.knocked_out
    # raw visit: (1·75 + 2·85 + 1·100/3) / 4 = (245 + 33.33) / 4 = 69.583
    assert result.raw_score == pytest.approx((245 + 100 / 3) / 4)
    assert (result.score, result.band, result.passed) == (0, "fail", False)
    assert result.knocked_out == ("price_ok",)
    assert result.phases[0].score == pytest.approx(245 / 3)  # phases keep their scores


SCOPES = journey(
    phase(
        "p1",
        step("s1", q("k_step", "yes_no", knockout="step"), q("other", "yes_no")),
        step("s2", q("fine", "yes_no")),
    ),
    phase(
        "p2",
        step(
            "s3",
            q("k_phase", "scale", scale={"min": 1, "max": 5}, knockout="phase"),
            q("also", "yes_no"),
            weight=2,
        ),
        step("s4", q("last", "yes_no")),
    ),
)


def scopes_visit(k_step: str, k_phase: int) -> list[Any]:
    return observations(
        {
            "s1": {"k_step": k_step, "other": "yes"},
            "s2": {"fine": "yes"},
            "s3": {"k_phase": k_phase, "also": "yes"},
            "s4": {"last": "yes"},
        }
    )


def test_step_and_phase_knockouts_zero_their_scope() -> None:
    result = score_visit(SCOPES, scopes_visit("no", 2))
    s1, _, s3, _ = result.steps
    # s1: k_step 0 + other 1 → raw 50, knocked out → 0
    assert (s1.raw_score, s1.score, s1.knocked_out) == (50, 0, True)
    # s3: k_phase (2-1)/4 = 0.25 < 0.5 fails; 0.25 + 1 = 1.25 / 2 → 62.5, the step keeps it
    assert (s3.raw_score, s3.score) == (62.5, 62.5)
    p1, p2 = result.phases
    # p1: (1·0 + 1·100) / 2 = 50; raw (50 + 100) / 2 = 75
    assert (p1.score, p1.raw_score) == (50, 75)
    # p2: knocked out → 0 with weight 2 + 1 = 3; raw (2·62.5 + 100) / 3 = 75
    assert (p2.score, p2.raw_score, p2.weight, p2.knocked_out) == (0, 75, 3, True)
    # visit: (2·50 + 3·0) / 5 = 20; raw (50 + 100 + 2·62.5 + 100) / 5 = 75
    assert (result.score, result.raw_score) == (20, 75)
    assert result.knocked_out == ("k_step", "k_phase")
    assert {qs.key: qs.knockout for qs in result.questions if qs.knockout_failed} == {
        "k_step": KnockoutScope.step,
        "k_phase": KnockoutScope.phase,
    }


def test_knockout_at_its_threshold_passes() -> None:
    # k_phase 3 → (3-1)/4 = 0.5, not below the default threshold 0.5
    result = score_visit(SCOPES, scopes_visit("yes", 3))
    assert result.knocked_out == ()
    assert result.score == result.raw_score


def test_na_knockout_never_fails() -> None:
    shop = journey(
        phase("p", step("s", q("k", "yes_no", knockout="visit", allow_na=True), q("o", "yes_no")))
    )
    result = score_visit(shop, [obs("s", {"k": {"na": True}, "o": "yes"})])
    assert (result.score, result.knocked_out) == (100, ())


def test_nothing_scored_gives_no_score() -> None:
    shop = journey(phase("p", step("s", q("n", "text"), q("opt", "yes_no", required=False))))
    result = score_visit(shop, [obs("s", {"n": "words"})])
    assert (result.score, result.band, result.passed) == (None, None, None)
    assert result.levels == dict.fromkeys(PyramidLevel)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0.0, "poor"),
        (49.99, "poor"),
        (50.0, "fair"),
        (79.9, "fair"),
        (80.0, "good"),
        (100.0, "good"),
    ],
)
def test_outcome_bands_pick_the_highest_reached_lower_bound(score: float, band: str) -> None:
    bands = [(80, "good"), (0, "poor"), (50, "fair")]
    assert outcome_band(score, bands) == band


def test_custom_bands_and_pass_mark() -> None:
    result = score_visit(SHOP, observations(GOOD), pass_mark=90, bands=[(0, "low"), (85, "high")])
    assert (result.band, result.passed) == ("high", False)  # 86.25


def test_pass_mark_is_reached_despite_float_rounding() -> None:
    shop = journey(phase("p", step("s", q("r", "scale", scale={"min": 0, "max": 10}))))
    # 0.7 · 100 may land a hair below 70 in binary floating point
    result = score_visit(shop, [obs("s", {"r": 7})])
    assert result.score == pytest.approx(70)
    assert (result.passed, result.band) == (True, "pass")


def test_last_observation_of_a_step_wins_and_unknown_steps_are_ignored() -> None:
    answers = [*observations(GOOD), obs("entry", {"greeted": "no", "friendly": 1}), obs("ghost")]
    entry = score_visit(SHOP, answers).steps[0]
    # greeted 0/1 + friendly 0/2 + tidy skipped → 0 / 3
    assert (entry.earned, entry.possible) == (0, 3)
