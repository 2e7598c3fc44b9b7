"""Small journeys and observations for scoring tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from briefings import JourneyDefinition, load_file
from scoring import StepObservation

EXAMPLES = Path(__file__).parents[2] / "briefings" / "examples"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def example(name: str) -> JourneyDefinition:
    return load_file(EXAMPLES / name)


def journey(*phases: Mapping[str, Any], **extra: Any) -> JourneyDefinition:
    return JourneyDefinition.model_validate(
        {"key": "test", "name": "Test", "phases": list(phases), **extra}
    )


def phase(key: str, *steps: Mapping[str, Any]) -> dict[str, Any]:
    return {"key": key, "name": key, "steps": list(steps)}


def step(key: str, *questions: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": key,
        "touchpoint": "store",
        "channel": "physical",
        "questions": list(questions),
        **extra,
    }


def q(key: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "text": key, "type": kind, **extra}


def obs(step_key: str, answers: Mapping[str, Any] | None = None, **extra: Any) -> StepObservation:
    return StepObservation(step_key, answers or {}, **extra)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
