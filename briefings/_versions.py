"""What a new version of a journey changes, e.g. a client's extra question."""

from pydantic import BaseModel, ConfigDict

from briefings._journey import JourneyDefinition, Question


class VersionDiff(BaseModel):
    """Keys of added, removed and changed steps and questions; lists follow journey order."""

    model_config = ConfigDict(frozen=True)

    added_steps: list[str] = []
    removed_steps: list[str] = []
    changed_steps: list[str] = []
    """Steps whose own settings, phase or order of questions changed."""
    added_questions: list[str] = []
    removed_questions: list[str] = []
    changed_questions: list[str] = []
    """Questions whose settings changed or that moved to another step."""
    changed_sections: list[str] = []
    """Other top-level parts that changed: name, description, language, phases (names, order),
    contradictions, briefing."""

    @property
    def has_changes(self) -> bool:
        return any(getattr(self, name) for name in type(self).model_fields)


def compare_versions(old: JourneyDefinition, new: JourneyDefinition) -> VersionDiff:
    """Compare two versions of a journey by step and question key."""
    old_steps = {step.key: (phase.key, step) for phase, step in old.steps()}
    new_steps = {step.key: (phase.key, step) for phase, step in new.steps()}
    old_questions = _questions_by_key(old)
    new_questions = _questions_by_key(new)
    kept_steps = old_steps.keys() & new_steps.keys()

    def step_changed(key: str) -> bool:
        (old_phase, old_step), (new_phase, new_step) = old_steps[key], new_steps[key]
        # Questions added, removed or moved are reported as such, not as a change of the step.
        staying = {q.key for q in old_step.questions} & {q.key for q in new_step.questions}
        return (
            old_phase != new_phase
            or old_step.model_dump(exclude={"questions"})
            != new_step.model_dump(exclude={"questions"})
            or [q.key for q in old_step.questions if q.key in staying]
            != [q.key for q in new_step.questions if q.key in staying]
        )

    def layout(journey: JourneyDefinition) -> object:
        return [
            (p.key, p.name, [s.key for s in p.steps if s.key in kept_steps]) for p in journey.phases
        ]

    sections = ["name", "description", "language", "contradictions", "briefing"]
    return VersionDiff(
        added_steps=[key for key in new_steps if key not in old_steps],
        removed_steps=[key for key in old_steps if key not in new_steps],
        changed_steps=[key for key in new_steps if key in kept_steps and step_changed(key)],
        added_questions=[key for key in new_questions if key not in old_questions],
        removed_questions=[key for key in old_questions if key not in new_questions],
        changed_questions=[
            key
            for key in new_questions
            if key in old_questions and old_questions[key] != new_questions[key]
        ],
        changed_sections=[
            *(name for name in sections if getattr(old, name) != getattr(new, name)),
            *(["phases"] if layout(old) != layout(new) else []),
        ],
    )


def _questions_by_key(journey: JourneyDefinition) -> dict[str, tuple[str, Question]]:
    return {q.key: (step.key, q) for _, step in journey.steps() for q in step.questions}
