"""Grading the briefing quiz and the qualification test, and loading standalone quizzes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from briefings import DefinitionError, Quiz, grade_quiz, load_quiz

QUIZ_SOURCE = """\
pass_mark: 80
questions:
  - {key: q1, text: One, options: [{key: a, label: A}, {key: b, label: B}], correct: a}
  - {key: q2, text: Two, options: [{key: a, label: A}, {key: b, label: B}], correct: b}
  - {key: q3, text: Three, options: [{key: a, label: A}, {key: b, label: B}], correct: a}
  - {key: q4, text: Four, options: [{key: a, label: A}, {key: b, label: B}], correct: b}
  - {key: q5, text: Five, options: [{key: a, label: A}, {key: b, label: B}], correct: a}
"""
ALL_RIGHT = {"q1": "a", "q2": "b", "q3": "a", "q4": "b", "q5": "a"}


@pytest.fixture
def quiz() -> Quiz:
    return load_quiz(QUIZ_SOURCE, filename="quiz.yaml")


@pytest.mark.parametrize(
    ("answers", "score", "passed", "wrong"),
    [
        (ALL_RIGHT, 100, True, []),
        ({**ALL_RIGHT, "q5": "b"}, 80, True, ["q5"]),  # exactly at the pass mark
        ({**ALL_RIGHT, "q4": "a", "q5": "b"}, 60, False, ["q4", "q5"]),
        ({}, 0, False, ["q1", "q2", "q3", "q4", "q5"]),
    ],
    ids=["all right", "at the pass mark", "below the pass mark", "nothing answered"],
)
def test_pass_mark_boundary(
    quiz: Quiz, answers: dict[str, str], score: float, passed: bool, wrong: list[str]
) -> None:
    result = grade_quiz(quiz, answers)
    assert (result.score_percent, result.passed, result.wrong) == (score, passed, wrong)
    assert (result.correct, result.total) == (5 - len(wrong), 5)


def test_unanswered_is_wrong_and_unknown_keys_are_ignored(quiz: Quiz) -> None:
    answers = {key: value for key, value in ALL_RIGHT.items() if key != "q2"} | {"extra": "a"}
    result = grade_quiz(quiz, answers)
    assert (result.correct, result.wrong, result.passed) == (4, ["q2"], True)


def test_pass_mark_that_is_not_a_whole_fraction(quiz: Quiz) -> None:
    strict = quiz.model_copy(update={"pass_mark": 80.01})
    assert not grade_quiz(strict, {**ALL_RIGHT, "q5": "b"}).passed


@given(st.dictionaries(st.sampled_from(["q1", "q2", "q3", "q4", "q5", "x"]), st.sampled_from("ab")))
def test_score_agrees_with_the_count_of_correct_answers(answers: dict[str, str]) -> None:
    result = grade_quiz(load_quiz(QUIZ_SOURCE), answers)
    assert result.correct + len(result.wrong) == result.total == 5
    assert result.score_percent == pytest.approx(100 * result.correct / 5)
    assert result.passed == (result.correct >= 4)


def test_quiz_defaults() -> None:
    quiz = load_quiz(QUIZ_SOURCE.replace("pass_mark: 80\n", ""))
    assert (quiz.pass_mark, quiz.max_attempts) == (80, 3)
    unlimited = load_quiz("max_attempts: null\n" + QUIZ_SOURCE)
    assert unlimited.max_attempts is None


def test_quiz_problems_are_reported_with_lines() -> None:
    source = QUIZ_SOURCE.replace("pass_mark: 80", "pass_mark: 180")
    source += (
        "  - {key: q6, text: Six, options: [{key: a, label: A}, {key: a, label: B}], correct: c}\n"
    )
    with pytest.raises(DefinitionError) as caught:
        load_quiz(source, filename="test.yaml")
    assert [(i.line, i.column, i.field, i.message) for i in caught.value.issues] == [
        (1, 1, "pass_mark", "input should be less than or equal to 100, found 180"),
        (
            8,
            57,
            "questions[5].options[1].key",
            "duplicate option key 'a' (first used at options[0].key)",
        ),
        (8, 77, "questions[5].correct", "must be one of the option keys: a"),
    ]


def test_duplicate_quiz_question_keys_are_reported_at_the_second() -> None:
    with pytest.raises(DefinitionError) as caught:
        load_quiz(QUIZ_SOURCE.replace("key: q4,", "key: q2,"))
    assert [(i.line, i.field) for i in caught.value.issues] == [(6, "questions[3].key")]


def test_empty_quiz_file_names_what_was_expected() -> None:
    with pytest.raises(DefinitionError, match="expected a quiz"):
        load_quiz("\n")
