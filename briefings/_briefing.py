"""The briefing a shopper studies before a visit, and the quiz that checks it was understood."""

from collections.abc import Iterator

from pydantic import Field

from briefings._base import (
    DefinitionModel,
    LanguageCode,
    OptionKey,
    Problem,
    Slug,
    Text,
    above,
    duplicates,
    keyed,
)


class QuizOption(DefinitionModel):
    key: OptionKey
    label: Text


class QuizQuestion(DefinitionModel):
    key: Slug
    text: Text
    options: list[QuizOption] = Field(min_length=2)
    correct: OptionKey

    def _problems(self) -> Iterator[Problem]:
        yield from duplicates("option", keyed("options", self.options))
        keys = list(dict.fromkeys(option.key for option in self.options))
        if self.correct not in keys:
            yield ("correct",), f"must be one of the option keys: {', '.join(keys)}"


class Quiz(DefinitionModel):
    pass_mark: float = Field(
        default=80, ge=0, le=100, description="Percentage of correct answers needed."
    )
    max_attempts: int | None = Field(default=3, ge=1, description="None means unlimited.")
    questions: list[QuizQuestion] = Field(min_length=1)

    def _problems(self) -> Iterator[Problem]:
        yield from duplicates("quiz question", keyed("questions", self.questions))


class PersonaTraits(DefinitionModel):
    """What an eligible shopper must match to play the persona."""

    age_min: int | None = Field(default=None, ge=18, le=120)
    age_max: int | None = Field(default=None, ge=18, le=120)
    gender: Text | None = None
    languages: list[LanguageCode] = []
    region: Text | None = None

    _max_not_below_min = above("age_max", "age_min", or_equal=True)


class Persona(DefinitionModel):
    name: Text
    description: Text
    traits: PersonaTraits = PersonaTraits()


class Attachment(DefinitionModel):
    name: Text
    url: Text


class Briefing(DefinitionModel):
    scenario: Text
    persona: Persona | None = None
    dos: list[Text] = []
    donts: list[Text] = []
    step_instructions: dict[Slug, Text] = Field(
        default={}, description="Extra instructions per step key, shown with that step."
    )
    attachments: list[Attachment] = []
    quiz: Quiz
