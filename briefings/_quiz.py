"""Grading a quiz: the briefing quiz before a visit and the shoppers' qualification test."""

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from briefings._briefing import Quiz


class QuizResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    score_percent: float
    passed: bool
    correct: int
    total: int
    wrong: list[str]
    """Keys of the questions answered wrongly or not at all, in quiz order."""


def grade_quiz(quiz: Quiz, answers: Mapping[str, str]) -> QuizResult:
    """Grade answers (question key → option key); unanswered is wrong, unknown keys are ignored."""
    wrong = [q.key for q in quiz.questions if answers.get(q.key) != q.correct]
    total = len(quiz.questions)
    correct = total - len(wrong)
    return QuizResult(
        score_percent=100 * correct / total,
        # Compared without division so that e.g. 4 of 5 meets a pass mark of exactly 80.
        passed=correct * 100 >= quiz.pass_mark * total,
        correct=correct,
        total=total,
        wrong=wrong,
    )
