"""Shared pieces of the definition models: the base model, common field types, problem reporting."""

from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]
"""A semantic problem: where (relative to the model that found it) and what."""

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Z]{2})?$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
LanguageCode = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN)]

PROBLEMS_ERROR = "definition"
"""The pydantic error type that carries a model's semantic problems in its ctx["problems"]."""


def yaml_bool_as_word(value: object) -> object:
    # YAML 1.1 reads yes/no/on/off as booleans; an author writing `good_answer: no` means the word.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


OptionKey = Annotated[Slug, BeforeValidator(yaml_bool_as_word)]


def format_loc(loc: Iterable[str | int]) -> str:
    """`('phases', 1, 'steps', 0, 'key')` → `phases[1].steps[0].key`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def duplicates(kind: str, keyed: Iterable[tuple[Loc, str]]) -> Iterator[Problem]:
    """A problem at every repeat of a key, pointing back at the first use."""
    first: dict[str, Loc] = {}
    for loc, key in keyed:
        if key in first:
            yield loc, f"duplicate {kind} key '{key}' (first used at {format_loc(first[key])})"
        else:
            first[key] = loc


def keyed(field: str, items: Iterable[object], attribute: str = "key") -> Iterator[tuple[Loc, str]]:
    """`(('options', 0, 'key'), 'a'), ...` for the items of a list field, to find duplicates in."""
    for index, item in enumerate(items):
        yield (field, index, attribute), getattr(item, attribute)


def problems_error(problems: list[Problem]) -> PydanticCustomError:
    """One pydantic error carrying several problems, so loaders can point each at its own line."""
    summary = "; ".join(f"{format_loc(loc) or '(top)'}: {message}" for loc, message in problems)
    return PydanticCustomError(
        PROBLEMS_ERROR, "{summary}", {"summary": summary, "problems": problems}
    )


def above(field: str, lower_field: str, *, or_equal: bool = False) -> Any:
    """A validator for a model: `field`, when set, must exceed `lower_field`, when set.

    A field validator rather than a model check, so that it reports even when other fields of the
    model have errors of their own.
    """

    def check(cls: type[BaseModel], value: float | None, info: ValidationInfo) -> float | None:
        lower = info.data.get(lower_field)
        if value is None or lower is None or value > lower or (or_equal and value == lower):
            return value
        relation = "at least" if or_equal else "greater than"
        raise problems_error([((), f"must be {relation} {lower_field} ({lower:g})")])

    return field_validator(field)(check)


class DefinitionModel(BaseModel):
    """Base of every definition model: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def _problems(self) -> Iterator[Problem]:
        """Checks beyond the field types; locations are relative to this model."""
        return iter(())

    @model_validator(mode="after")
    def _report_problems(self) -> Self:
        problems = list(self._problems())
        if problems:
            raise problems_error(problems)
        return self
