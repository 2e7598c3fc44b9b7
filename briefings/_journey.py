"""The customer journey: phases → steps → questions and emotion probes; answer contradictions."""

import math
from collections.abc import Iterable, Iterator
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal, Protocol, TypeVar

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

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
    yaml_bool_as_word,
)
from briefings._briefing import Briefing

NAMED_EMOTIONS = (
    "joy",
    "trust",
    "relief",
    "surprise",
    "neutral",
    "boredom",
    "irritation",
    "disappointment",
    "anger",
    "anxiety",
    "confusion",
)
"""The named emotions a shopper may pick for the conscious measure."""

PROBE_FACES = ("happy", "neutral", "sad", "angry", "surprised")
"""The faces a shopper may pick in a `face` implicit probe."""


class QuestionType(StrEnum):
    yes_no = "yes_no"
    scale = "scale"
    single_choice = "single_choice"
    multi_choice = "multi_choice"
    number = "number"
    text = "text"
    photo = "photo"
    time = "time"

    @property
    def scored(self) -> bool:
        """Whether answers earn points; text, photo and time answers are only recorded."""
        return self not in (QuestionType.text, QuestionType.photo, QuestionType.time)


class PyramidLevel(StrEnum):
    basis = "basis"
    ease = "ease"
    emotion = "emotion"


class Touchpoint(StrEnum):
    store = "store"
    website = "website"
    call_centre = "call_centre"
    email = "email"
    social = "social"
    app = "app"
    third_party = "third_party"
    other = "other"


class Channel(StrEnum):
    physical = "physical"
    online = "online"
    phone = "phone"


class KnockoutScope(StrEnum):
    visit = "visit"
    phase = "phase"
    step = "step"


class ProbeKind(StrEnum):
    valence = "valence"
    """Answered with -1, 0 or +1."""
    face = "face"
    """Answered with one of PROBE_FACES."""


YesNo = Annotated[Literal["yes", "no"], BeforeValidator(yaml_bool_as_word)]
AnswerValue = Annotated[str | int | float, BeforeValidator(yaml_bool_as_word)]


class ScaleSpec(DefinitionModel):
    min: int
    max: int
    labels: dict[int, Text] = {}

    _max_above_min = above("max", "min")

    def _problems(self) -> Iterator[Problem]:
        for value in self.labels:
            if not self.min <= value <= self.max:
                yield ("labels", value), f"is outside the scale {self.min}..{self.max}"


class NumberRange(DefinitionModel):
    min: float | None = None
    max: float | None = None

    _max_above_min = above("max", "min")


class ChoiceOption(DefinitionModel):
    key: OptionKey
    label: Text
    label_nl: Text | None = None
    score: float = Field(
        default=0, ge=0, le=1, description="Fraction of the question's weight earned."
    )


_CHOICE_TYPES = (QuestionType.single_choice, QuestionType.multi_choice)
# Fields that only make sense for some question types.
_TYPE_FIELDS: dict[str, tuple[QuestionType, ...]] = {
    "scale": (QuestionType.scale,),
    "options": _CHOICE_TYPES,
    "number": (QuestionType.number,),
    "min_length": (QuestionType.text,),
    "good_answer": (QuestionType.yes_no,),
}


class Question(DefinitionModel):
    key: Slug
    text: Text
    text_nl: Text | None = None
    type: QuestionType
    weight: float = Field(default=1, ge=0)
    level: PyramidLevel = PyramidLevel.basis
    allow_na: bool = False
    required: bool = True
    knockout: KnockoutScope | None = None
    knockout_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A knock-out fails when its earned fraction is below this.",
    )
    bonus: bool = Field(default=False, description="Bonus points add to the earned score only.")
    evidence_required: bool = Field(
        default=False, description="A photo must be attached to the answer."
    )
    help: Text | None = None
    scale: ScaleSpec | None = None
    options: list[ChoiceOption] | None = Field(default=None, min_length=2)
    number: NumberRange | None = None
    min_length: int | None = Field(default=None, ge=1)
    good_answer: YesNo | None = Field(default=None, validate_default=True)

    @field_validator("good_answer")
    @classmethod
    def _yes_by_default(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("type") is QuestionType.yes_no:
            return "yes"
        return value

    def _problems(self) -> Iterator[Problem]:
        kind = self.type
        for name, types in _TYPE_FIELDS.items():
            if getattr(self, name) is not None and kind not in types:
                yield (name,), f"only applies to {' and '.join(types)} questions, not {kind}"
        if kind is QuestionType.scale and self.scale is None:
            yield ("scale",), "is required for a scale question"
        yield from duplicates("option", keyed("options", self.options or ()))
        if kind in _CHOICE_TYPES:
            if self.options is None:
                yield ("options",), f"are required for a {kind} question"
            elif self.weight > 0 and not any(option.score > 0 for option in self.options):
                yield ("options",), "no option scores above 0, so the question never earns"
        if self.knockout is not None and not kind.scored:
            yield ("knockout",), f"a {kind} question is not scored, so it cannot be a knock-out"
        if self.bonus and not kind.scored:
            yield ("bonus",), f"a {kind} question is not scored, so it cannot be a bonus"
        if self.bonus and self.knockout is not None:
            yield ("bonus",), "a question cannot be both a knock-out and a bonus"


class ImplicitProbe(DefinitionModel):
    stimulus: Text = Field(description="What is shown, e.g. 'step', 'step_photo', 'word:friendly'.")
    kind: ProbeKind = ProbeKind.valence
    deadline_ms: int = Field(default=1500, ge=300, le=5000)


class EmotionConfig(DefinitionModel):
    conscious: bool = True
    probes: list[ImplicitProbe] = [ImplicitProbe(stimulus="step")]

    def _problems(self) -> Iterator[Problem]:
        if not self.conscious and not self.probes:
            yield ("probes",), "a step must measure emotions: enable conscious or add a probe"
        yield from duplicates("probe stimulus", keyed("probes", self.probes, "stimulus"))


class Step(DefinitionModel):
    key: Slug
    name: Text
    touchpoint: Touchpoint
    channel: Channel
    instructions: Text | None = None
    min_seconds: int | None = Field(
        default=None, ge=0, description="Faster than this is implausible."
    )
    max_seconds: int | None = Field(
        default=None, gt=0, description="Slower than this is implausible."
    )
    weight: float = Field(default=1, gt=0)
    questions: list[Question] = []
    emotions: EmotionConfig = EmotionConfig()

    _max_above_min = above("max_seconds", "min_seconds")


class Phase(DefinitionModel):
    key: Slug
    name: Text
    steps: list[Step] = Field(min_length=1)


class AnswerCondition(DefinitionModel):
    question: Slug
    equals: AnswerValue = Field(
        description="yes/no, an option key (for multi_choice: that option is ticked), or a number."
    )


class Contradiction(DefinitionModel):
    """Answers that cannot both be true: if `when` holds, `then_not` must not."""

    when: AnswerCondition
    then_not: AnswerCondition
    message: Text


def _impossible_answer(question: Question, value: str | int | float) -> Problem | None:
    """Why a contradiction can never match `value` as an answer to `question`, if it cannot."""
    kind = question.type
    if not kind.scored:
        return ("question",), f"contradictions cannot compare {kind} answers ('{question.key}')"
    if kind is QuestionType.yes_no:
        allowed, expected = value in ("yes", "no"), "yes or no"
    elif kind in _CHOICE_TYPES:
        keys = [option.key for option in question.options or ()]
        allowed, expected = value in keys, f"one of the option keys: {', '.join(keys)}"
    elif kind is QuestionType.scale and question.scale is not None:
        low, high = question.scale.min, question.scale.max
        allowed = isinstance(value, int) and low <= value <= high
        expected = f"a whole number from {low} to {high}"
    else:
        bounds = question.number or NumberRange()
        bottom = -math.inf if bounds.min is None else bounds.min
        top = math.inf if bounds.max is None else bounds.max
        allowed = isinstance(value, int | float) and bottom <= value <= top
        expected = "a number within the question's range"
    return None if allowed else (("equals",), f"must be {expected} (question '{question.key}')")


class JourneyDefinition(DefinitionModel):
    """A journey definition file: the journey, its declared contradictions and its briefing."""

    key: Slug
    name: Text
    description: Text | None = None
    language: LanguageCode = "en"
    phases: list[Phase] = Field(min_length=1)
    contradictions: list[Contradiction] = []
    briefing: Briefing | None = None

    def steps(self) -> list[tuple[Phase, Step]]:
        """Every step in journey order, with its phase."""
        return [(phase, step) for phase in self.phases for step in phase.steps]

    def questions(self) -> list[Question]:
        """Every question in journey order."""
        return [question for _, step in self.steps() for question in step.questions]

    def phase(self, key: str) -> Phase:
        """The phase with this key; KeyError if there is none."""
        return _find(self.phases, key, "phase")

    def step(self, key: str) -> Step:
        """The step with this key; KeyError if there is none."""
        found = self._steps_by_key.get(key)
        if found is None:
            raise KeyError(f"no step with key '{key}'")
        return found

    @cached_property
    def _steps_by_key(self) -> dict[str, Step]:
        # Looked up for every answer a visit sends; the definition is immutable (frozen).
        index: dict[str, Step] = {}
        for _, step in self.steps():
            index.setdefault(step.key, step)
        return index

    def question(self, key: str) -> Question:
        """The question with this key; KeyError if there is none."""
        return _find(self.questions(), key, "question")

    def _problems(self) -> Iterator[Problem]:
        yield from duplicates("phase", keyed("phases", self.phases))
        step_locs = [
            (("phases", i, "steps", j), step)
            for i, phase in enumerate(self.phases)
            for j, step in enumerate(phase.steps)
        ]
        yield from duplicates("step", (((*loc, "key"), step.key) for loc, step in step_locs))
        question_keys = [
            ((*loc, "questions", k, "key"), question.key)
            for loc, step in step_locs
            for k, question in enumerate(step.questions)
        ]
        yield from duplicates("question", question_keys)

        questions = {question.key: question for question in self.questions()}
        for i, contradiction in enumerate(self.contradictions):
            for side, condition in (
                ("when", contradiction.when),
                ("then_not", contradiction.then_not),
            ):
                loc = ("contradictions", i, side)
                question = questions.get(condition.question)
                if question is None:
                    yield (*loc, "question"), f"unknown question '{condition.question}'"
                elif problem := _impossible_answer(question, condition.equals):
                    yield (*loc, *problem[0]), problem[1]

        if self.briefing is not None:
            step_keys = {step.key for _, step in step_locs}
            for key in self.briefing.step_instructions:
                if key not in step_keys:
                    yield ("briefing", "step_instructions", key), f"unknown step '{key}'"


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


_K = TypeVar("_K", bound=_Keyed)


def _find(items: Iterable[_K], key: str, kind: str) -> _K:
    for item in items:
        if item.key == key:
            return item
    raise KeyError(f"no {kind} with key '{key}'")
