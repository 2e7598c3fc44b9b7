"""The briefings package's boundaries: its public names and what it may import."""

import ast
import sys
from pathlib import Path

import briefings

PACKAGE = Path(briefings.__file__).parent
ALLOWED_THIRD_PARTY = {"pydantic", "pydantic_core", "yaml"}


def test_imports_only_pydantic_yaml_the_stdlib_and_itself() -> None:
    imported: set[str] = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    foreign = imported - ALLOWED_THIRD_PARTY - set(sys.stdlib_module_names) - {"briefings"}
    assert not foreign


def test_public_names_are_exported() -> None:
    expected = {
        "JourneyDefinition", "Phase", "Step", "Question", "QuestionType", "PyramidLevel",
        "Touchpoint", "Channel", "ChoiceOption", "KnockoutScope", "EmotionConfig",
        "ImplicitProbe", "Contradiction", "Briefing", "Persona", "Quiz", "QuizQuestion",
        "NAMED_EMOTIONS", "PROBE_FACES", "load_definition", "load_file", "load_quiz",
        "DefinitionError", "DefinitionIssue", "grade_quiz", "QuizResult", "compare_versions",
        "VersionDiff",
    }  # fmt: skip
    assert expected <= set(briefings.__all__)
    assert all(hasattr(briefings, name) for name in briefings.__all__)


def test_enum_values_are_the_file_format_words() -> None:
    assert [t.value for t in briefings.QuestionType] == [
        "yes_no", "scale", "single_choice", "multi_choice", "number", "text", "photo", "time"
    ]  # fmt: skip
    assert [t.value for t in briefings.Touchpoint] == [
        "store", "website", "call_centre", "email", "social", "app", "third_party", "other"
    ]  # fmt: skip
    assert {"neutral", "joy", "irritation"} <= set(briefings.NAMED_EMOTIONS)
    assert "neutral" in briefings.PROBE_FACES
