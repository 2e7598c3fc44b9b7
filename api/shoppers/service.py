from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, func, select

from api.accounts.models import Role, User
from api.accounts.security import hash_password
from api.accounts.service import ensure_username_free
from api.audit.service import record
from api.common import PageParams, utcnow
from api.errors import Conflict, Invalid, NotFound
from api.shoppers.models import (
    ADULT_AGE,
    QualificationAttempt,
    QualificationTest,
    ShopperProfile,
    ShopperProfileUpdate,
    ShopperPublic,
    ShopperRegister,
    age_on,
)
from briefings import Quiz, QuizResult, grade_quiz


def to_public(user: User, profile: ShopperProfile, today: date | None = None) -> ShopperPublic:
    return ShopperPublic.model_validate(
        profile,
        update={
            "username": user.username,
            "full_name": user.full_name,
            "email": user.email,
            "is_active": user.is_active,
            "age": age_on(profile.date_of_birth, today or date.today()),
        },
    )


def register(session: Session, *, data: ShopperRegister) -> tuple[User, ShopperProfile]:
    if age_on(data.date_of_birth, date.today()) < ADULT_AGE:
        raise Invalid(
            f"Shoppers must be {ADULT_AGE} or older.",
            [{"field": "date_of_birth", "location": "body", "message": f"under {ADULT_AGE}"}],
        )
    ensure_username_free(session, data.username)
    user = User(
        username=data.username,
        full_name=data.full_name,
        email=data.email,
        role=Role.shopper,
        password_hash=hash_password(data.password),
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    profile = ShopperProfile.model_validate(data, update={"user_id": user.id})
    session.add(profile)
    session.flush()
    return user, profile


def get_shopper(session: Session, *, shopper_id: int) -> tuple[User, ShopperProfile]:
    profile = session.get(ShopperProfile, shopper_id)
    user = session.get(User, shopper_id)
    if profile is None or user is None:
        raise NotFound(f"No shopper {shopper_id}.")
    return user, profile


def list_shoppers(
    session: Session,
    *,
    page: PageParams,
    region: str | None,
    qualified: bool | None,
    search: str | None,
) -> list[tuple[User, ShopperProfile]]:
    query = (
        select(User, ShopperProfile)
        .join(ShopperProfile, col(ShopperProfile.user_id) == User.id)
        .order_by(col(User.id))
        .limit(page.limit + 1)
    )
    if page.after_id is not None:
        query = query.where(col(User.id) > page.after_id)
    if region:
        query = query.where(ShopperProfile.region == region)
    if qualified is not None:
        query = query.where(ShopperProfile.qualified == qualified)
    if search:
        pattern = f"%{search}%"
        query = query.where(col(User.username).ilike(pattern) | col(User.full_name).ilike(pattern))
    return [(u, p) for u, p in session.exec(query)]


def update_profile(
    session: Session, *, profile: ShopperProfile, data: ShopperProfileUpdate
) -> ShopperProfile:
    profile.sqlmodel_update(data.model_dump(exclude_unset=True))
    session.add(profile)
    session.flush()
    return profile


def set_qualified(
    session: Session, *, profile: ShopperProfile, qualified: bool, actor_id: int | None, reason: str
) -> ShopperProfile:
    if profile.qualified != qualified:
        record(
            session,
            actor_id=actor_id,
            entity="shopper",
            entity_id=profile.user_id,
            action="qualified" if qualified else "disqualified",
            from_state=str(profile.qualified).lower(),
            to_state=str(qualified).lower(),
            comment=reason,
        )
        profile.qualified = qualified
        profile.qualified_at = utcnow() if qualified else None
        session.add(profile)
        session.flush()
    return profile


def active_test(session: Session) -> QualificationTest:
    test = session.exec(
        select(QualificationTest)
        .where(col(QualificationTest.active).is_(True))
        .order_by(col(QualificationTest.id).desc())
    ).first()
    if test is None:
        raise NotFound("No qualification test is set up yet.")
    return test


def set_test(session: Session, *, title: str, quiz: Quiz) -> QualificationTest:
    for old in session.exec(
        select(QualificationTest).where(col(QualificationTest.active).is_(True))
    ):
        old.active = False
        session.add(old)
    test = QualificationTest(title=title, quiz=quiz.model_dump(mode="json"))
    session.add(test)
    session.flush()
    return test


def attempts_used(session: Session, *, test_id: int, shopper_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(QualificationAttempt)
        .where(
            QualificationAttempt.test_id == test_id, QualificationAttempt.shopper_id == shopper_id
        )
    ).one()


def attempt_test(
    session: Session, *, shopper: User, profile: ShopperProfile, answers: dict[str, str]
) -> tuple[QualificationAttempt, QuizResult]:
    test = active_test(session)
    quiz = Quiz.model_validate(test.quiz)
    assert test.id is not None and shopper.id is not None
    if profile.qualified:
        raise Conflict("You are qualified already.")
    used = attempts_used(session, test_id=test.id, shopper_id=shopper.id)
    if quiz.max_attempts is not None and used >= quiz.max_attempts:
        raise Conflict(
            f"All {quiz.max_attempts} attempts are used; ask your agency for another chance.",
            rule="max_attempts",
        )
    result = grade_quiz(quiz, answers)
    attempt = QualificationAttempt(
        test_id=test.id,
        shopper_id=shopper.id,
        answers=answers,
        score_percent=result.score_percent,
        passed=result.passed,
    )
    session.add(attempt)
    if result.passed:
        set_qualified(
            session,
            profile=profile,
            qualified=True,
            actor_id=shopper.id,
            reason="passed the qualification test",
        )
    session.flush()
    return attempt, result


def public_quiz(quiz: Quiz) -> dict[str, Any]:
    """The quiz without its answers."""
    return {
        "pass_mark": quiz.pass_mark,
        "max_attempts": quiz.max_attempts,
        "questions": [
            {
                "key": q.key,
                "text": q.text,
                "options": [{"key": o.key, "label": o.label} for o in q.options],
            }
            for q in quiz.questions
        ],
    }


def list_attempts(session: Session, *, shopper_id: int) -> list[QualificationAttempt]:
    query = (
        select(QualificationAttempt)
        .where(QualificationAttempt.shopper_id == shopper_id)
        .order_by(col(QualificationAttempt.id).desc())
    )
    return list(session.exec(query))
