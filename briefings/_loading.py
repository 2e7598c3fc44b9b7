"""Load definition files, turning every problem into a DefinitionIssue at its line and column."""

import difflib
import os
import types
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from briefings._base import LANGUAGE_PATTERN, PROBLEMS_ERROR, SLUG_PATTERN, Loc, format_loc
from briefings._briefing import Quiz
from briefings._errors import DefinitionError, DefinitionIssue
from briefings._journey import JourneyDefinition
from briefings._source import Source, SourceSyntaxError, parse_json, parse_yaml

Format = Literal["yaml", "json"]
_M = TypeVar("_M", bound=BaseModel)

_SUFFIX_FORMATS: dict[str, Format] = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
_PATTERN_MESSAGES = {
    SLUG_PATTERN: "must be a key of lowercase letters, digits, '_' and '-'",
    LANGUAGE_PATTERN: "must be a language code such as 'en', 'nl' or 'nl-BE'",
}


def load_definition(
    text: str, *, filename: str = "<input>", fmt: Format | None = None
) -> JourneyDefinition:
    """Parse and validate a journey definition; DefinitionError lists every problem found."""
    return _load(JourneyDefinition, text, filename=filename, fmt=fmt)


def load_quiz(text: str, *, filename: str = "<input>", fmt: Format | None = None) -> Quiz:
    """Parse and validate a standalone quiz, such as the shoppers' qualification test."""
    return _load(Quiz, text, filename=filename, fmt=fmt)


def load_file(path: str | os.PathLike[str]) -> JourneyDefinition:
    """Load a journey definition file; the format follows the suffix (.yaml, .yml or .json)."""
    filename = os.fspath(path)
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        issue = DefinitionIssue(
            file=filename, line=line, column=None, field="", message="not UTF-8 text"
        )
        raise DefinitionError([issue]) from None
    return load_definition(
        text, filename=filename, fmt=_SUFFIX_FORMATS.get(Path(path).suffix.lower())
    )


def _load(model: type[_M], text: str, *, filename: str, fmt: Format | None) -> _M:
    def issue(loc: Loc, message: str, position: tuple[int, int] | None = None) -> DefinitionIssue:
        line, column = position or (None, None)
        return DefinitionIssue(
            file=filename, line=line, column=column, field=format_loc(loc), message=message
        )

    empty = issue((), f"the file is empty; expected a {_noun(model)}")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DefinitionError([empty])
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    try:
        source = parse_json(text) if fmt == "json" else parse_yaml(text)
    except SourceSyntaxError as exc:
        raise DefinitionError([issue((), exc.message, exc.position)]) from None
    if () not in source.positions:  # only comments
        raise DefinitionError([empty])
    if not isinstance(source.data, dict):
        found = type(source.data).__name__ if source.data is not None else "nothing"
        message = f"expected a {_noun(model)} (a mapping of fields), found {found}"
        raise DefinitionError([issue((), message, source.positions[()])])

    issues = [
        issue(loc, f"'{loc[-1]}' is given twice; remove one", source.positions[loc])
        for loc in source.repeated_keys
    ]
    try:
        result = model.model_validate(source.data)
    except ValidationError as exc:
        issues += [
            issue(loc, msg, _position(source, loc)) for loc, msg in _explain(model, exc, source)
        ]
    if issues:
        raise DefinitionError(sorted(issues, key=lambda i: (i.line or 0, i.column or 0)))
    return result


def _noun(model: type[BaseModel]) -> str:
    return "quiz" if model is Quiz else "journey definition"


def _position(source: Source, loc: Loc) -> tuple[int, int] | None:
    """Where the node at `loc` is, or else its closest enclosing node (e.g. for a missing field)."""
    for end in range(len(loc), -1, -1):
        if (position := source.positions.get(loc[:end])) is not None:
            return position
    return None


def _explain(model: type[BaseModel], exc: ValidationError, source: Source) -> list[tuple[Loc, str]]:
    explained: list[tuple[Loc, str]] = []
    type_errors_at: set[Loc] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == PROBLEMS_ERROR:
            problems: list[tuple[Loc, str]] = error.get("ctx", {})["problems"]
            explained.extend(((*loc, *sub), message) for sub, message in problems)
        elif error["type"] == "missing":
            explained.append((loc, "is required"))
        else:
            # Beyond the nodes in the file, pydantic's loc names union members and dict-key
            # checks, which mean nothing to the author.
            while loc and loc not in source.positions:
                loc = loc[:-1]
            # A union reports one error per alternative; the first says enough.
            if loc not in type_errors_at:
                type_errors_at.add(loc)
                explained.append((loc, _message(model, error)))
    return explained


def _message(model: type[BaseModel], error: ErrorDetails) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error["input"]
    if kind == "extra_forbidden":
        return _unknown_field(model, tuple(error["loc"]))
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_MESSAGES:
        message = _PATTERN_MESSAGES[ctx["pattern"]]
    elif kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    else:
        message = error["msg"][:1].lower() + error["msg"][1:]
    if value is None:
        return f"{message}, found an empty value"
    if isinstance(value, str | int | float):
        return f"{message}, found {value!r}"
    return message


def _unknown_field(model: type[BaseModel], loc: Loc) -> str:
    name = str(loc[-1])
    fields = list(owner.model_fields) if (owner := _model_at(model, loc[:-1])) else []
    if close := difflib.get_close_matches(name, fields, n=1, cutoff=0.7):
        return f"unknown field '{name}' (did you mean '{close[0]}'?)"
    return f"unknown field '{name}'" + (f"; expected one of: {', '.join(fields)}" if fields else "")


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc`, if any."""
    annotation: Any = model
    for part in loc:
        annotation = _without_none(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return None
    annotation = _without_none(annotation)
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_model else None


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation
