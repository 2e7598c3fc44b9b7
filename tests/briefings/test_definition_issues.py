"""Broken definition files: every problem is reported, each at its own line and field."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from briefings import (
    DefinitionError,
    DefinitionIssue,
    JourneyDefinition,
    load_definition,
    load_file,
)


@dataclass
class Case:
    id: str
    source: str
    issues: list[tuple[int | None, str, str]]
    """Expected (line, field, part of the message), in file order."""


def _head(*extra: str) -> str:
    """A valid journey up to its first question (lines 1-14), plus `extra` lines."""
    return "\n".join(
        [
            "key: mini",
            "name: Mini journey",
            "phases:",
            "  - key: visit",
            "    name: Visit",
            "    steps:",
            "      - key: greeting",
            "        name: Greeting",
            "        touchpoint: store",
            "        channel: physical",
            "        questions:",
            "          - key: greeted",
            "            text: Were you greeted?",
            "            type: yes_no",
            *extra,
            "",
        ]
    )


Q0 = "phases[0].steps[0].questions[0]"
Q1 = "phases[0].steps[0].questions[1]"
STEP = "phases[0].steps[0]"

QUIZ = [
    "briefing:",
    "  scenario: Buy something.",
    "  quiz:",
    "    questions:",
    "      - key: budget",
    "        text: What is your budget?",
    "        options: [{key: low, label: Low}, {key: high, label: High}]",
]

CASES = [
    Case(
        "unknown field with a suggestion, and the field it replaced is missing",
        _head().replace("touchpoint: store", "tuchpoint: store"),
        [
            (7, f"{STEP}.touchpoint", "is required"),
            (9, f"{STEP}.tuchpoint", "unknown field 'tuchpoint' (did you mean 'touchpoint'?)"),
        ],
    ),
    Case(
        "unknown field without a close match lists the allowed ones",
        _head("            colour: red"),
        [(15, f"{Q0}.colour", "unknown field 'colour'; expected one of: key, text, text_nl")],
    ),
    Case(
        "missing required field is reported at the enclosing mapping",
        _head().replace("            text: Were you greeted?\n", ""),
        [(12, f"{Q0}.text", "is required")],
    ),
    Case(
        "wrong type",
        _head("            weight: heavy"),
        [(15, f"{Q0}.weight", "input should be a valid number")],
    ),
    Case(
        "bad enum value",
        _head().replace("channel: physical", "channel: telepathy"),
        [(10, f"{STEP}.channel", "input should be 'physical', 'online' or 'phone'")],
    ),
    Case(
        "bad key characters",
        _head().replace("key: greeting", "key: Greeting Step"),
        [(7, f"{STEP}.key", "must be a key of lowercase letters, digits, '_' and '-'")],
    ),
    Case(
        "empty list of phases",
        "key: mini\nname: Mini\nphases: []\n",
        [(3, "phases", "list should have at least 1 item")],
    ),
    Case(
        "duplicate question key is reported at the second one",
        _head("          - key: greeted", "            text: Again?", "            type: yes_no"),
        [(15, f"{Q1}.key", f"duplicate question key 'greeted' (first used at {Q0}.key)")],
    ),
    Case(
        "duplicate step key across phases",
        _head(
            "  - key: leave",
            "    name: Leave",
            "    steps:",
            "      - {key: greeting, name: Again, touchpoint: store, channel: physical}",
        ),
        [(18, "phases[1].steps[0].key", "duplicate step key 'greeting'")],
    ),
    Case(
        "scale max not above min",
        _head(
            "          - key: mood",
            "            text: How was it?",
            "            type: scale",
            "            scale:",
            "              min: 5",
            "              max: 5",
        ),
        [(20, f"{Q1}.scale.max", "must be greater than min (5)")],
    ),
    Case(
        "scale label outside the scale",
        _head(
            "          - key: mood",
            "            text: How was it?",
            "            type: scale",
            "            scale: {min: 1, max: 5, labels: {0: awful, 5: great}}",
        ),
        [(18, f"{Q1}.scale.labels[0]", "is outside the scale 1..5")],
    ),
    Case(
        "choice question without options",
        _head(
            "          - key: how_paid", "            text: How?", "            type: single_choice"
        ),
        [(15, f"{Q1}.options", "are required for a single_choice question")],
    ),
    Case(
        "options on a question that is not a choice, and a duplicate option key",
        _head(
            "            options:",
            "              - {key: a, label: A, score: 1}",
            "              - {key: a, label: B}",
        ),
        [
            (15, f"{Q0}.options", "only applies to single_choice and multi_choice questions"),
            (17, f"{Q0}.options[1].key", "duplicate option key 'a'"),
        ],
    ),
    Case(
        "knock-out on a text question, knock-out and bonus together",
        _head(
            "            knockout: visit",
            "            bonus: true",
            "          - {key: remark, text: Remarks, type: text, knockout: step}",
        ),
        [
            (16, f"{Q0}.bonus", "a question cannot be both a knock-out and a bonus"),
            (17, f"{Q1}.knockout", "a text question is not scored, so it cannot be a knock-out"),
        ],
    ),
    Case(
        "step min_seconds not below max_seconds",
        _head().replace(
            "channel: physical",
            "channel: physical\n        min_seconds: 60\n        max_seconds: 60",
        ),
        [(12, f"{STEP}.max_seconds", "must be greater than min_seconds (60)")],
    ),
    Case(
        "contradiction to an unknown question and an impossible answer",
        _head(
            "contradictions:",
            "  - when: {question: greeted, equals: maybe}",
            "    then_not: {question: smiled, equals: yes}",
            "    message: Cannot be.",
        ),
        [
            (16, "contradictions[0].when.equals", "must be yes or no (question 'greeted')"),
            (17, "contradictions[0].then_not.question", "unknown question 'smiled'"),
        ],
    ),
    Case(
        "contradiction on a text question and with a scale value out of range",
        _head(
            "          - {key: mood, text: Mood, type: scale, scale: {min: 1, max: 5}}",
            "          - {key: remark, text: Remark, type: text}",
            "contradictions:",
            "  - when: {question: remark, equals: rude}",
            "    then_not: {question: mood, equals: 6}",
            "    message: Cannot be.",
        ),
        [
            (18, "contradictions[0].when.question", "cannot compare text answers ('remark')"),
            (19, "contradictions[0].then_not.equals", "must be a whole number from 1 to 5"),
        ],
    ),
    Case(
        "choice question whose options never score",
        _head(
            "          - key: paid_by",
            "            text: How did you pay?",
            "            type: single_choice",
            "            options: [{key: card, label: Card}, {key: cash, label: Cash}]",
        ),
        [(18, f"{Q1}.options", "no option scores above 0")],
    ),
    Case(
        "step without any emotion measure",
        _head("        emotions: {conscious: false, probes: []}"),
        [(15, f"{STEP}.emotions.probes", "a step must measure emotions")],
    ),
    Case(
        "step instructions for an unknown step",
        _head(
            *QUIZ,
            "        correct: low",
            "  step_instructions:",
            "    greeting: Smile.",
            "    checkout: Pay cash.",
        ),
        [(25, "briefing.step_instructions.checkout", "unknown step 'checkout'")],
    ),
    Case(
        "quiz answer that is not one of the options",
        _head(*QUIZ, "        correct: medium"),
        [(22, "briefing.quiz.questions[0].correct", "must be one of the option keys: low, high")],
    ),
    Case(
        "briefing without a quiz",
        _head("briefing:", "  scenario: Buy something."),
        [(15, "briefing.quiz", "is required")],
    ),
    Case(
        "persona age_max below age_min",
        _head(
            *QUIZ,
            "        correct: low",
            "  persona:",
            "    name: Student",
            "    description: Young.",
            "    traits: {age_min: 30, age_max: 25}",
        ),
        [(26, "briefing.persona.traits.age_max", "must be at least age_min (30)")],
    ),
    Case(
        "a key given twice in one mapping",
        _head("            text: Were you greeted by staff?"),
        [(15, f"{Q0}.text", "'text' is given twice; remove one")],
    ),
    Case(
        "several independent problems are all reported",
        _head(
            "            weight: -1",
            "          - key: mood",
            "            text: How?",
            "            type: scale",
            "            scale: {min: 3, max: 1}",
            "          - key: how_paid",
            "            txt: How did you pay?",
            "            type: multi_choice",
        ),
        [
            (15, f"{Q0}.weight", "input should be greater than or equal to 0"),
            (19, f"{Q1}.scale.max", "must be greater than min (3)"),
            (20, "phases[0].steps[0].questions[2].text", "is required"),
            (21, "phases[0].steps[0].questions[2].txt", "did you mean 'text'?"),
        ],
    ),
    Case(
        "YAML syntax error",
        _head("          - key: [unclosed", "            text: x"),
        [(16, "", "invalid YAML: ")],
    ),
    Case(
        "YAML tab indentation",
        "key: mini\nphases:\n\t- key: visit\n",
        [(3, "", "invalid YAML: found character '\\t' that cannot start any token")],
    ),
    Case(
        "JSON syntax error",
        '{\n  "key": "mini",\n  "name": "Mini"\n  "phases": []\n}\n',
        [(4, "", "invalid JSON: Expecting ',' delimiter")],
    ),
    Case(
        "JSON validation error points into the JSON text",
        '{\n  "key": "mini",\n  "name": "Mini",\n  "phases": [\n    {"key": "v", "nmae": "V"}\n  ]\n}',
        [
            (5, "phases[0].name", "is required"),
            (5, "phases[0].steps", "is required"),
            (5, "phases[0].nmae", "did you mean 'name'?"),
        ],
    ),
    Case("empty file", "", [(None, "", "the file is empty")]),
    Case("only comments", "# nothing yet\n\n", [(None, "", "the file is empty")]),
    Case(
        "top level is not a mapping",
        "\n- key: mini\n",
        [(2, "", "expected a journey definition (a mapping of fields), found list")],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_issue_is_reported_at_its_line_and_field(case: Case) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_definition(case.source, filename="broken.yaml")
    found = [(i.line, i.field) for i in caught.value.issues]
    assert found == [(line, field) for line, field, _ in case.issues], str(caught.value)
    for issue, (_, _, message) in zip(caught.value.issues, case.issues, strict=True):
        assert message in issue.message
        assert issue.file == "broken.yaml"


def test_error_text_has_one_line_per_issue_with_file_line_column_and_field() -> None:
    source = _head("          - key: mood", "            text: How?", "            type: scale")
    source += "            scale: {min: 1, max: 1}\n"
    with pytest.raises(DefinitionError) as caught:
        load_definition(source, filename="store_visit.yaml")
    assert str(caught.value) == (
        f"store_visit.yaml:18:29: {Q1}.scale.max: must be greater than min (1)"
    )
    assert caught.value.issues == [
        DefinitionIssue(
            file="store_visit.yaml",
            line=18,
            column=29,
            field=f"{Q1}.scale.max",
            message="must be greater than min (1)",
        )
    ]


def test_definition_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="the file is empty"):
        load_definition("   \n")


def test_load_file_names_the_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"key": "mini"', encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert str(caught.value).startswith(f"{path}:1:15: invalid JSON")


def test_load_file_reports_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("key: mini\nname: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert [(i.line, i.message) for i in caught.value.issues] == [(2, "not UTF-8 text")]


def test_direct_model_validation_enforces_the_same_checks() -> None:
    data = {
        "key": "mini",
        "name": "Mini",
        "phases": [
            {
                "key": "p",
                "name": "P",
                "steps": [
                    {"key": "s", "name": "S", "touchpoint": "app", "channel": "online"},
                    {"key": "s", "name": "S2", "touchpoint": "app", "channel": "online"},
                ],
            }
        ],
    }
    with pytest.raises(ValueError, match=r"phases\[0\]\.steps\[1\]\.key: duplicate step key 's'"):
        JourneyDefinition.model_validate(data)
