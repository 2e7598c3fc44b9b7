from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, status

from api.common import Page, paginate
from api.deps import PageDep, SessionDep, ShopperUser, StaffUser
from api.errors import Invalid
from api.journeys.service import definition_problem
from api.shoppers import service
from api.shoppers.models import (
    AttemptPublic,
    QualificationTestPublic,
    QualificationTestSet,
    QuizAnswers,
    ShopperProfileUpdate,
    ShopperPublic,
    ShopperRegister,
    ShopperStaffUpdate,
)
from briefings import DefinitionError, Quiz, load_quiz

router = APIRouter(tags=["shoppers"])


@router.post("/shoppers/register", status_code=status.HTTP_201_CREATED)
def register(data: ShopperRegister, session: SessionDep) -> ShopperPublic:
    """Sign up as a mystery shopper (18 or older)."""
    return service.to_public(*service.register(session, data=data))


@router.post("/shoppers", status_code=status.HTTP_201_CREATED)
def create_shopper(data: ShopperRegister, session: SessionDep, _: StaffUser) -> ShopperPublic:
    """Register a shopper on their behalf."""
    return service.to_public(*service.register(session, data=data))


@router.get("/shoppers")
def list_shoppers(
    session: SessionDep,
    _: StaffUser,
    page: PageDep,
    region: str | None = None,
    qualified: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of username or name.")] = None,
) -> Page[ShopperPublic]:
    """Shoppers with their qualification and rating, oldest first."""
    rows = service.list_shoppers(session, page=page, region=region, qualified=qualified, search=q)
    return paginate(rows, page, lambda row: service.to_public(*row), key=lambda row: row[0].id)


@router.get("/shoppers/{shopper_id}")
def read_shopper(shopper_id: int, session: SessionDep, _: StaffUser) -> ShopperPublic:
    """One shopper."""
    return service.to_public(*service.get_shopper(session, shopper_id=shopper_id))


@router.patch("/shoppers/{shopper_id}")
def update_shopper(
    shopper_id: int, data: ShopperStaffUpdate, session: SessionDep, actor: StaffUser
) -> ShopperPublic:
    """Change a shopper's profile, or qualify/disqualify them by hand."""
    user, profile = service.get_shopper(session, shopper_id=shopper_id)
    changes = ShopperProfileUpdate.model_validate(
        data.model_dump(exclude_unset=True, exclude={"qualified", "reason"})
    )
    service.update_profile(session, profile=profile, data=changes)
    if data.qualified is not None:
        service.set_qualified(
            session,
            profile=profile,
            qualified=data.qualified,
            actor_id=actor.id,
            reason=data.reason,
        )
    return service.to_public(user, profile)


@router.get("/me/profile")
def my_profile(session: SessionDep, user: ShopperUser) -> ShopperPublic:
    """Your shopper profile."""
    return service.to_public(*service.get_shopper(session, shopper_id=user.id or 0))


@router.patch("/me/profile")
def update_my_profile(
    data: ShopperProfileUpdate, session: SessionDep, user: ShopperUser
) -> ShopperPublic:
    """Change your region, languages and persona fields."""
    user, profile = service.get_shopper(session, shopper_id=user.id or 0)
    return service.to_public(user, service.update_profile(session, profile=profile, data=data))


@router.put("/qualification-test")
def set_qualification_test(
    data: QualificationTestSet, session: SessionDep, _: StaffUser
) -> QualificationTestPublic:
    """Replace the qualification test shoppers must pass before they can be assigned."""
    try:
        if data.source is not None:
            quiz = load_quiz(data.source, filename="qualification-test")
        elif data.quiz is not None:
            quiz = load_quiz(json.dumps(data.quiz), filename="quiz", fmt="json")
        else:
            raise Invalid("Send the quiz as 'quiz' (JSON) or 'source' (YAML/JSON text).")
    except DefinitionError as err:
        raise definition_problem(err) from None
    test = service.set_test(session, title=data.title, quiz=quiz)
    assert test.id is not None
    return QualificationTestPublic(id=test.id, title=test.title, quiz=service.public_quiz(quiz))


@router.get("/qualification-test")
def read_qualification_test(session: SessionDep, user: ShopperUser) -> QualificationTestPublic:
    """The qualification test without its answers, and how many attempts you used."""
    test = service.active_test(session)
    assert test.id is not None
    used = service.attempts_used(session, test_id=test.id, shopper_id=user.id or 0)
    return QualificationTestPublic(
        id=test.id,
        title=test.title,
        quiz=service.public_quiz(Quiz.model_validate(test.quiz)),
        attempts_used=used,
    )


@router.post("/qualification-test/attempts", status_code=status.HTTP_201_CREATED)
def attempt_qualification_test(
    data: QuizAnswers, session: SessionDep, user: ShopperUser
) -> AttemptPublic:
    """Answer the qualification test; passing qualifies you for assignments."""
    shopper, profile = service.get_shopper(session, shopper_id=user.id or 0)
    attempt, result = service.attempt_test(
        session, shopper=shopper, profile=profile, answers=data.answers
    )
    return AttemptPublic.model_validate(attempt, update={"wrong": result.wrong})


@router.get("/me/qualification-attempts")
def my_attempts(session: SessionDep, user: ShopperUser) -> list[AttemptPublic]:
    """Your attempts at the qualification test, newest first."""
    rows = service.list_attempts(session, shopper_id=user.id or 0)
    return [AttemptPublic.model_validate(a) for a in rows]
