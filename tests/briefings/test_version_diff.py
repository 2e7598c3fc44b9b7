"""What a new version of a journey changes."""

from pathlib import Path
from typing import Any

from briefings import JourneyDefinition, compare_versions, load_file

STORE_VISIT = Path(__file__).parents[2] / "briefings" / "examples" / "store_visit.yaml"


def _edited(journey: JourneyDefinition, edit: Any) -> JourneyDefinition:
    data = journey.model_dump(mode="json")
    edit(data)
    return JourneyDefinition.model_validate(data)


def _step(data: dict[str, Any], phase: int, step: int) -> dict[str, Any]:
    found: dict[str, Any] = data["phases"][phase]["steps"][step]
    return found


def test_same_version_has_no_changes() -> None:
    journey = load_file(STORE_VISIT)
    assert not compare_versions(journey, load_file(STORE_VISIT)).has_changes


def test_a_clients_extra_question_is_an_added_question_only() -> None:
    old = load_file(STORE_VISIT)
    extra = {"key": "loyalty_offered", "text": "Was a loyalty card offered?", "type": "yes_no"}
    new = _edited(old, lambda d: _step(d, 2, 1)["questions"].append(extra))
    diff = compare_versions(old, new)
    assert diff.added_questions == ["loyalty_offered"]
    assert diff.model_dump(exclude={"added_questions"}) == {
        "added_steps": [],
        "removed_steps": [],
        "changed_steps": [],
        "removed_questions": [],
        "changed_questions": [],
        "changed_sections": [],
    }


def test_changed_removed_and_moved_items_are_listed() -> None:
    old = load_file(STORE_VISIT)

    def edit(data: dict[str, Any]) -> None:
        _step(data, 0, 0)["questions"][0]["weight"] = 3  # changed question
        _step(data, 0, 1)["name"] = "Walk up to the store"  # changed step
        del data["phases"][4]["steps"][2]  # removed step with its questions
        moved = _step(data, 0, 2)["questions"].pop()  # moved question
        _step(data, 1, 0)["questions"].append(moved)
        data["briefing"]["dos"].append("Smile.")

    diff = compare_versions(old, _edited(old, edit))
    assert diff.changed_questions == ["stock_shown_per_store", "seconds_until_greeted"]
    assert diff.changed_steps == ["store_exterior"]  # not the steps the question moved between
    assert diff.removed_steps == ["overall_impression"]
    assert diff.removed_questions == ["recommend_store", "memorable_moment"]
    assert diff.added_steps == diff.added_questions == []
    assert diff.changed_sections == ["briefing"]


def test_reordered_steps_change_the_phase_layout() -> None:
    old = load_file(STORE_VISIT)
    new = _edited(old, lambda d: d["phases"][0]["steps"].reverse())
    diff = compare_versions(old, new)
    assert diff.changed_sections == ["phases"]
    assert diff.changed_steps == diff.changed_questions == []
