"""Invariants under random journeys, answers, probes and orderings (hypothesis)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from briefings import JourneyDefinition, Question, QuestionType
from scoring import (
    StepObservation,
    aggregate,
    conscious_index,
    implicit_index,
    is_scored,
    question_fraction,
    score_visit,
    shopper_latency_baseline,
    step_emotions,
    step_gaps,
)
from tests.scoring._build import example, journey, phase, q, step

EXAMPLES = [example("store_visit.yaml"), example("webshop_return.yaml")]
OPTIONS = [{"key": f"o{i}", "label": f"O{i}", "score": s} for i, s in enumerate([0, 0.3, 0.5, 1])]
PROPERTY = settings(deadline=None, max_examples=150)


def answer_for(question: Question) -> st.SearchStrategy[Any]:
    kind = question.type
    keys = [option.key for option in question.options or ()]
    given_answer: st.SearchStrategy[Any]
    if kind is QuestionType.yes_no:
        given_answer = st.sampled_from(["yes", "no"])
    elif kind is QuestionType.scale and question.scale is not None:
        given_answer = st.integers(question.scale.min, question.scale.max)
    elif kind is QuestionType.single_choice:
        given_answer = st.sampled_from(keys)
    elif kind is QuestionType.multi_choice:
        given_answer = st.lists(st.sampled_from(keys), unique=True)
    elif kind is QuestionType.number:
        given_answer = st.floats(-100, 1000, allow_nan=False)
    elif kind is QuestionType.photo:
        given_answer = st.lists(st.uuids().map(str), max_size=2)
    elif kind is QuestionType.time:
        given_answer = st.sampled_from(["09:00", "14:05"])
    else:
        given_answer = st.text(max_size=30)
    choices = [given_answer, st.none()]
    if question.allow_na:
        choices.append(st.just({"na": True}))
    return st.one_of(*choices)


@st.composite
def visits(draw: st.DrawFn, definition: JourneyDefinition) -> list[StepObservation]:
    observations = []
    for _, journey_step in definition.steps():
        if draw(st.integers(0, 9)) == 0:
            continue  # a step left out now and then
        answers = {question.key: draw(answer_for(question)) for question in journey_step.questions}
        observations.append(StepObservation(journey_step.key, answers))
    return observations


@st.composite
def random_journeys(draw: st.DrawFn) -> JourneyDefinition:
    """Journeys of scored questions that all allow N/A."""
    counter = iter(range(1000))
    phases = []
    for p in range(draw(st.integers(1, 3))):
        steps = []
        for s in range(draw(st.integers(1, 3))):
            questions = []
            for _ in range(draw(st.integers(1, 4))):
                key = f"q{next(counter)}"
                kind = draw(
                    st.sampled_from(["yes_no", "scale", "single_choice", "multi_choice", "number"])
                )
                extra: dict[str, Any] = {
                    "weight": draw(st.sampled_from([0, 0.5, 1, 2, 3.5])),
                    "level": draw(st.sampled_from(["basis", "ease", "emotion"])),
                    "allow_na": True,
                }
                if kind == "scale":
                    low = draw(st.integers(-3, 5))
                    extra["scale"] = {"min": low, "max": low + draw(st.integers(1, 10))}
                elif kind in ("single_choice", "multi_choice"):
                    extra["options"] = OPTIONS
                elif kind == "number":
                    extra["number"] = {"min": 0, "max": 100}
                role = draw(st.sampled_from(["plain", "plain", "bonus", "knockout"]))
                if role == "bonus":
                    extra["bonus"] = True
                elif role == "knockout":
                    extra["knockout"] = draw(st.sampled_from(["step", "phase", "visit"]))
                    extra["knockout_threshold"] = draw(st.sampled_from([0, 0.5, 1]))
                questions.append(q(key, kind, **extra))
            weight = draw(st.sampled_from([0.5, 1, 1.5, 2, 4]))
            steps.append(step(f"s{p}_{s}", *questions, weight=weight))
        phases.append(phase(f"p{p}", *steps))
    return journey(*phases)


def in_range(value: float | None, low: float = 0.0, high: float = 100.0) -> bool:
    return value is None or low <= value <= high


def assert_scores_in_range(result: Any) -> None:
    assert in_range(result.score) and in_range(result.raw_score)
    for item in (*result.steps, *result.phases):
        assert in_range(item.score) and in_range(item.raw_score)
    assert all(in_range(value) for value in result.levels.values())
    for question in result.questions:
        assert question.fraction is None or 0 <= question.fraction <= 1
        assert 0 <= question.earned <= question.weight
        assert question.possible in (0, question.weight)


@PROPERTY
@given(st.data())
def test_example_journey_scores_stay_within_0_and_100(data: st.DataObject) -> None:
    definition = data.draw(st.sampled_from(EXAMPLES))
    assert_scores_in_range(score_visit(definition, data.draw(visits(definition))))


@PROPERTY
@given(st.data())
def test_random_journey_scores_stay_within_0_and_100(data: st.DataObject) -> None:
    definition = data.draw(random_journeys())
    assert_scores_in_range(score_visit(definition, data.draw(visits(definition))))


@PROPERTY
@given(st.data())
def test_marking_questions_na_keeps_scores_on_the_0_to_100_scale(data: st.DataObject) -> None:
    definition = data.draw(random_journeys())
    observations = data.draw(visits(definition))
    marked = []
    for observation in observations:
        answers = {
            key: {"na": True} if data.draw(st.booleans()) else value
            for key, value in observation.answers.items()
        }
        marked.append(StepObservation(observation.step_key, answers))
    assert_scores_in_range(score_visit(definition, marked))


@PROPERTY
@given(st.data())
def test_all_na_but_one_question_scores_that_questions_fraction(data: st.DataObject) -> None:
    definition = data.draw(random_journeys())
    candidates = [
        (journey_step.key, question)
        for _, journey_step in definition.steps()
        for question in journey_step.questions
        if is_scored(question) and question.weight > 0 and not question.bonus
    ]
    if not candidates:
        return
    step_key, kept = data.draw(st.sampled_from(candidates))
    answer = data.draw(answer_for(kept).filter(lambda a: a is not None and a != {"na": True}))
    observations = [
        StepObservation(
            journey_step.key,
            {
                question.key: answer if question.key == kept.key else {"na": True}
                for question in journey_step.questions
            },
        )
        for _, journey_step in definition.steps()
    ]
    result = score_visit(definition, observations)
    fraction = question_fraction(kept, answer)
    assert fraction is not None
    assert math.isclose(result.raw_score or 0.0, 100 * fraction, abs_tol=1e-9)
    if not result.knocked_out:
        assert math.isclose(result.score or 0.0, 100 * fraction, abs_tol=1e-9)
    assert [s.key for s in result.steps if s.score is not None] == [step_key]


probe_strategy = st.fixed_dictionaries(
    {
        "stimulus": st.just("step"),
        "kind": st.just("valence"),
        "choice": st.one_of(st.none(), st.sampled_from([-1, 0, 1, "happy", "sad", "surprised"])),
        "latency_ms": st.integers(0, 3000),
        "deadline_ms": st.sampled_from([1200, 1500, 2000]),
    }
)


@PROPERTY
@given(
    st.lists(probe_strategy, max_size=12),
    st.randoms(use_true_random=False),
    st.floats(4, 8),
    st.floats(0, 2),
)
def test_implicit_index_is_in_range_and_ignores_probe_order(
    probes: list[dict[str, Any]], rnd: Any, mean_ln: float, sd_ln: float
) -> None:
    shuffled = list(probes)
    rnd.shuffle(shuffled)
    first = implicit_index(probes, mean_ln, sd_ln)
    assert first == implicit_index(shuffled, mean_ln, sd_ln)
    assert first.value is None or -1 <= first.value <= 1
    assert first.valid + first.excluded == len(probes)
    assert shopper_latency_baseline(probes) == shopper_latency_baseline(shuffled)


@PROPERTY
@given(st.lists(probe_strategy, max_size=8), st.integers(-3, 3))
def test_step_emotion_indices_stay_in_range(probes: list[dict[str, Any]], valence: int) -> None:
    definition = journey(phase("p", step("s", q("x", "yes_no"))))
    (emotion,) = step_emotions(
        definition, [StepObservation("s", {}, None, None, {"valence": valence}, probes)]
    )
    assert -1 <= conscious_index(valence) <= 1
    assert emotion.gap is None or -2 <= emotion.gap <= 2


scores = st.one_of(st.none(), st.floats(0, 100))


@PROPERTY
@given(st.lists(scores, max_size=30), st.randoms(use_true_random=False))
def test_order_of_visits_never_changes_an_aggregate(values: list[float | None], rnd: Any) -> None:
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert aggregate(values) == aggregate(shuffled)


@PROPERTY
@given(
    st.lists(st.fixed_dictionaries({}, optional={"a": scores, "b": scores}), max_size=20),
    st.randoms(use_true_random=False),
)
def test_order_of_visits_never_changes_the_gaps(
    visits_: list[dict[str, float | None]], rnd: Any
) -> None:
    shuffled = list(visits_)
    rnd.shuffle(shuffled)
    targets, weights = {"a": 80.0, "b": 60.0}, {"a": 2.0, "b": 1.0}
    assert step_gaps(targets, visits_, weights) == step_gaps(targets, shuffled, weights)
