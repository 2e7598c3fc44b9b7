"""Loading journey definitions: the shipped examples, formats, defaults and lookups."""

import json
from pathlib import Path

import pytest
import yaml

from briefings import (
    JourneyDefinition,
    KnockoutScope,
    ProbeKind,
    QuestionType,
    load_definition,
    load_file,
    load_quiz,
)

EXAMPLES = Path(__file__).parents[2] / "briefings" / "examples"
JOURNEY_EXAMPLES = ["store_visit.yaml", "webshop_return.yaml"]

MINIMAL = """\
key: mini
name: Mini journey
phases:
  - key: visit
    name: Visit
    steps:
      - key: greeting
        name: Greeting
        touchpoint: store
        channel: physical
        questions:
          - key: greeted
            text: Were you greeted?
            type: yes_no
"""


@pytest.fixture(params=JOURNEY_EXAMPLES)
def example(request: pytest.FixtureRequest) -> Path:
    path: Path = EXAMPLES / request.param
    return path


def test_example_loads_without_issues(example: Path) -> None:
    definition = load_file(example)
    assert definition.briefing is not None
    assert 12 <= len(definition.steps()) <= 20


def test_example_uses_every_question_type_and_feature(example: Path) -> None:
    definition = load_file(example)
    questions = definition.questions()
    assert {q.type for q in questions} == set(QuestionType)
    assert any(q.knockout is KnockoutScope.visit for q in questions)
    assert any(q.bonus for q in questions)
    assert any(q.evidence_required and q.type is QuestionType.photo for q in questions)
    assert any(q.text_nl for q in questions)
    assert definition.contradictions
    probes = {p.kind for _, step in definition.steps() for p in step.emotions.probes}
    assert probes == set(ProbeKind)
    assert definition.briefing is not None
    assert definition.briefing.persona is not None
    assert 3 <= len(definition.briefing.quiz.questions) <= 5


def test_stored_json_revalidates_to_an_equal_definition(example: Path) -> None:
    definition = load_file(example)
    stored = json.loads(json.dumps(definition.model_dump(mode="json")))
    assert JourneyDefinition.model_validate(stored) == definition


def test_json_variant_of_an_example_loads_equal(example: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(example.read_text(encoding="utf-8"))
    json_file = tmp_path / example.with_suffix(".json").name
    json_file.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    assert load_file(json_file) == load_file(example)


def test_format_is_guessed_from_the_first_character() -> None:
    as_json = json.dumps(yaml.safe_load(MINIMAL))
    assert load_definition("\n  " + as_json) == load_definition(MINIMAL)
    assert load_definition(as_json, fmt="yaml") == load_definition(MINIMAL, fmt="yaml")


def test_defaults_fill_in_weights_levels_good_answer_and_a_valence_probe() -> None:
    definition = load_definition(MINIMAL)
    step = definition.step("greeting")
    question = definition.question("greeted")
    assert (step.weight, question.weight, question.level, question.good_answer) == (
        1,
        1,
        "basis",
        "yes",
    )
    assert (question.required, question.allow_na, question.knockout) == (True, False, None)
    assert step.emotions.conscious
    assert [(p.kind, p.deadline_ms) for p in step.emotions.probes] == [(ProbeKind.valence, 1500)]
    assert definition.language == "en"


def test_good_answer_is_only_set_for_yes_no_questions() -> None:
    text = MINIMAL + "          - {key: remark, text: 'Anything else?', type: text}\n"
    assert load_definition(text).question("remark").good_answer is None


@pytest.mark.parametrize("written", ["no", "'no'", "off", "false"])
def test_yaml_booleans_mean_yes_or_no(written: str) -> None:
    text = MINIMAL + f"            good_answer: {written}\n"
    text += "contradictions:\n"
    text += f"  - when: {{question: greeted, equals: {written}}}\n"
    text += "    then_not: {question: greeted, equals: yes}\n"
    text += "    message: Both.\n"
    definition = load_definition(text)
    assert definition.question("greeted").good_answer == "no"
    assert definition.contradictions[0].when.equals == "no"
    assert definition.contradictions[0].then_not.equals == "yes"


def test_lookups_follow_journey_order() -> None:
    definition = load_file(EXAMPLES / "store_visit.yaml")
    steps = definition.steps()
    assert steps[0][0].key == "orientation"
    assert steps[0][1].key == "website_research"
    assert steps[-1][0].key == "evaluation"
    assert definition.questions()[0].key == "stock_shown_per_store"
    assert definition.step("payment").questions[0].key == "price_correct_at_till"
    assert definition.question("receipt_photo").evidence_required
    assert definition.phase("purchase").name == "Purchase"


@pytest.mark.parametrize("lookup", ["phase", "step", "question"])
def test_lookup_of_an_unknown_key_raises_key_error(lookup: str) -> None:
    definition = load_definition(MINIMAL)
    with pytest.raises(KeyError, match="nope"):
        getattr(definition, lookup)("nope")


def test_definitions_are_immutable() -> None:
    definition = load_definition(MINIMAL)
    with pytest.raises(ValueError, match="frozen"):
        definition.name = "Changed"


def test_qualification_test_example_loads() -> None:
    path = EXAMPLES / "qualification_test.yaml"
    quiz = load_quiz(path.read_text(encoding="utf-8"), filename=str(path))
    assert len(quiz.questions) == 5
    assert quiz.pass_mark == 80


def test_json_schema_can_be_generated_for_openapi() -> None:
    schema = JourneyDefinition.model_json_schema()
    assert schema["additionalProperties"] is False
    assert "Question" in schema["$defs"]


def test_annotated_example_in_the_format_docs_loads() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "journey-format.md").read_text(encoding="utf-8")
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    definition = load_definition(example, filename="journey-format.md")
    assert {q.type for q in definition.questions()} == set(QuestionType)


def test_persona_age_range_may_be_a_single_age() -> None:
    text = MINIMAL + "briefing:\n  scenario: Buy.\n  persona:\n    name: P\n    description: D\n"
    text += "    traits: {age_min: 30, age_max: 30}\n  quiz:\n    questions:\n"
    text += (
        "      - {key: q, text: Q, options: [{key: a, label: A}, {key: b, label: B}], correct: a}\n"
    )
    briefing = load_definition(text).briefing
    assert briefing is not None and briefing.persona is not None
    assert briefing.persona.traits.age_max == 30
