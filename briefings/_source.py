"""Parse YAML or JSON text into plain data plus the position of every node, for error messages."""

import bisect
import json
import re
from dataclasses import dataclass, field

import yaml

from briefings._base import Loc

Position = tuple[int, int]
"""1-based line and column."""


@dataclass
class Source:
    data: object
    positions: dict[Loc, Position] = field(default_factory=dict)
    """Where each path starts: a mapping entry at its key, a list item at the item."""
    repeated_keys: list[Loc] = field(default_factory=list)
    """Mapping keys given twice; the later value wins, so this is reported as a mistake."""


class SourceSyntaxError(Exception):
    def __init__(self, message: str, position: Position | None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def parse_yaml(text: str) -> Source:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # the reader checks for unprintable characters first
        at = exc.position
        position = (text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at))
        message = f"invalid YAML: character #x{exc.character:04x} is not allowed"
        raise SourceSyntaxError(message, position) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return Source(None)
        source = Source(None, {(): _mark(root.start_mark)})
        _walk_yaml(loader, root, (), source, set())
        source.data = loader.construct_document(root)
        return source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"{exc.problem} ({exc.context})" if exc.context else str(exc.problem)
        raise SourceSyntaxError(f"invalid YAML: {message}", _mark(mark) if mark else None) from None
    finally:
        loader.dispose()


def _mark(mark: yaml.Mark) -> Position:
    return mark.line + 1, mark.column + 1


def _walk_yaml(
    loader: yaml.SafeLoader, node: yaml.Node, path: Loc, source: Source, active: set[int]
) -> None:
    if id(node) in active:  # a recursive alias
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            # Merge keys (<<) and complex keys have no path of their own; their values are
            # reported at the enclosing mapping.
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = loader.construct_object(key_node)
            child = (*path, key)
            if key in seen:
                source.repeated_keys.append(child)
            seen.add(key)
            source.positions[child] = _mark(key_node.start_mark)
            _walk_yaml(loader, value_node, child, source, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            source.positions[(*path, index)] = _mark(item.start_mark)
            _walk_yaml(loader, item, (*path, index), source, active)
    active.discard(id(node))


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def parse_json(text: str) -> Source:
    # The json module gives exact JSON semantics and syntax errors; PyYAML would misread some
    # valid JSON (1e5 is a string in YAML 1.1, surrogate pairs stay split). Positions come from a
    # small scanner that may assume the text is valid, because json.loads accepted it.
    try:
        source = Source(json.loads(text))
    except json.JSONDecodeError as exc:
        raise SourceSyntaxError(f"invalid JSON: {exc.msg}", (exc.lineno, exc.colno)) from None
    line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
    decode = json.JSONDecoder().raw_decode

    def position(index: int) -> Position:
        line = bisect.bisect_right(line_starts, index)
        return line, index - line_starts[line - 1] + 1

    def skip(index: int) -> int:
        return _WHITESPACE.match(text, index).end()  # type: ignore[union-attr]  # always matches

    def scan(index: int, path: Loc) -> int:
        """Record positions inside the value at `index`; return the index after it."""
        if text[index] == "{":
            index, seen = skip(index + 1), set()
            while text[index] != "}":
                key, end = decode(text, index)
                child = (*path, key)
                if key in seen:
                    source.repeated_keys.append(child)
                seen.add(key)
                source.positions[child] = position(index)
                index = skip(scan(skip(skip(end) + 1), child))  # past the ':' and the value
                if text[index] == ",":
                    index = skip(index + 1)
            return index + 1
        if text[index] == "[":
            index, count = skip(index + 1), 0
            while text[index] != "]":
                source.positions[(*path, count)] = position(index)
                index = skip(scan(index, (*path, count)))
                count += 1
                if text[index] == ",":
                    index = skip(index + 1)
            return index + 1
        return int(decode(text, index)[1])

    start = skip(0)
    if start < len(text):
        source.positions[()] = position(start)
        scan(start, ())
    return source
