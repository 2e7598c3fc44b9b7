from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Field, SQLModel

from api.accounts.models import USERNAME_PATTERN
from api.common import UTCDateTime, created_at_field, json_field

ADULT_AGE = 18


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class ShopperProfileBase(SQLModel):
    date_of_birth: date
    region: str = Field(default="", max_length=100)
    languages: list[str] = json_field(list)
    gender: str | None = Field(default=None, max_length=30)
    postcode: str = Field(default="", max_length=20)
    traits: dict[str, Any] = json_field(dict)


class ShopperProfile(ShopperProfileBase, table=True):
    __tablename__ = "shopper_profiles"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    qualified: bool = Field(default=False, index=True)
    qualified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rating: float | None = Field(default=None, description="0–100 from QC and review outcomes.")
    approved_visits: int = 0
    created_at: datetime = created_at_field()


class ShopperRegister(ShopperProfileBase):
    username: str = Field(min_length=3, max_length=64, schema_extra={"pattern": USERNAME_PATTERN})
    password: str = Field(min_length=8, max_length=256)
    full_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)


class ShopperProfileUpdate(SQLModel):
    region: str | None = Field(default=None, max_length=100)
    languages: list[str] | None = None
    gender: str | None = Field(default=None, max_length=30)
    postcode: str | None = Field(default=None, max_length=20)
    traits: dict[str, Any] | None = None


class ShopperPublic(ShopperProfileBase):
    """What a manager (and the shopper) sees; clients never see shoppers."""

    user_id: int
    username: str
    full_name: str
    email: str | None
    is_active: bool
    qualified: bool
    qualified_at: datetime | None
    rating: float | None
    approved_visits: int
    age: int


class QualificationTest(SQLModel, table=True):
    __tablename__ = "qualification_tests"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    quiz: dict[str, Any] = json_field()
    active: bool = Field(default=True, index=True)
    created_at: datetime = created_at_field()


class QualificationAttempt(SQLModel, table=True):
    __tablename__ = "qualification_attempts"

    id: int | None = Field(default=None, primary_key=True)
    test_id: int = Field(foreign_key="qualification_tests.id", index=True)
    shopper_id: int = Field(foreign_key="users.id", index=True)
    answers: dict[str, str] = json_field()
    score_percent: float
    passed: bool
    created_at: datetime = created_at_field()


class QuizOptionPublic(SQLModel):
    key: str
    label: str


class QuizQuestionPublic(SQLModel):
    key: str
    text: str
    options: list[QuizOptionPublic]


class QuizPublic(SQLModel):
    """A quiz as a shopper sees it: no correct answers."""

    pass_mark: float
    max_attempts: int | None
    questions: list[QuizQuestionPublic]


class QualificationTestPublic(SQLModel):
    id: int
    title: str
    quiz: QuizPublic
    attempts_used: int | None = None


class QuizAnswers(SQLModel):
    answers: dict[str, str] = Field(description="Question key → chosen option key.")


class AttemptPublic(SQLModel):
    id: int
    score_percent: float
    passed: bool
    wrong: list[str] = Field(default_factory=list)
    created_at: datetime


class ShopperStaffUpdate(ShopperProfileUpdate):
    qualified: bool | None = Field(default=None, description="Qualify or disqualify by hand.")
    reason: str = Field(default="", max_length=500)


class QualificationTestSet(SQLModel):
    """A qualification test as a quiz (JSON) or as the text of a YAML/JSON quiz file."""

    title: str = Field(min_length=1, max_length=200)
    quiz: dict[str, Any] | None = None
    source: str | None = Field(default=None, max_length=500_000)
