"""QC rules, table-driven: a clean visit raises no flag; each change raises exactly the flags listed."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from scoring import (
    EARTH_RADIUS_M,
    RULES,
    Flag,
    LocationData,
    QcRule,
    QcSettings,
    Severity,
    StepObservation,
    VisitData,
    haversine_m,
    needs_review,
    run_qc,
    worst_severity,
)
from tests.scoring._build import T0, at, journey, obs, phase, q, step

SHOP = journey(
    phase(
        "visit",
        step(
            "door",
            q("greeted", "yes_no"),
            q("friendly", "yes_no", allow_na=True),
            q("r1", "scale", scale={"min": 1, "max": 5}),
            min_seconds=10,
            max_seconds=300,
        ),
        step(
            "talk",
            q("description", "text", min_length=20, weight=0),
            q("r2", "scale", scale={"min": 1, "max": 5}),
            q("r3", "scale", scale={"min": 1, "max": 5}),
            q("r4", "scale", scale={"min": 0, "max": 8}),
            min_seconds=60,
            max_seconds=600,
        ),
        step(
            "pay",
            q("price_ok", "yes_no", evidence_required=True),
            q("receipt", "photo", evidence_required=True),
            q("r5", "scale", scale={"min": 1, "max": 5}),
            q("r6", "scale", scale={"min": 1, "max": 5}),
            q("shelf_photo", "photo", evidence_required=True, required=False, allow_na=True),
            min_seconds=30,
        ),
    ),
    contradictions=[
        {
            "when": {"question": "greeted", "equals": "no"},
            "then_not": {"question": "friendly", "equals": "yes"},
            "message": "Friendly greeting without a greeting.",
        }
    ],
)
STORE = LocationData(latitude=52.0, longitude=4.0, geofence_radius_m=100, kind="physical")
METRES_PER_DEGREE_LAT = EARTH_RADIUS_M * math.pi / 180  # 111 195 m


def probes(*latencies: float | None) -> list[dict[str, Any]]:
    """Valence probes; None is a timeout (no choice)."""
    return [
        {"stimulus": "step", "kind": "valence", "choice": None if ms is None else 1,
         "latency_ms": 1500 if ms is None else ms, "deadline_ms": 1500}
        for ms in latencies
    ]  # fmt: skip


CLEAN = VisitData(
    visit_id=7,
    shopper_id=3,
    location_id=11,
    observations=[
        obs(
            "door",
            {"greeted": "yes", "friendly": "yes", "r1": 4},
            started_at=at(0),
            ended_at=at(60),
            conscious={"valence": 2},
            probes=probes(600, 700),
        ),
        obs(
            "talk",
            {"description": "Tall man, badge said Piet, blue shirt", "r2": 4, "r3": 4, "r4": 4},
            started_at=at(100),
            ended_at=at(300),
            conscious={"valence": 1},
            probes=probes(650, 800),
        ),
        obs(
            "pay",
            {
                "price_ok": "yes",
                "receipt": ["m-receipt"],
                "r5": 4,
                "r6": 4,
                "shelf_photo": {"na": True},
            },
            started_at=at(400),
            ended_at=at(500),
            conscious={"valence": 0},
            probes=probes(500, 900),
            evidence={"price_ok": ["m-label"]},
        ),
    ],
    checkin_at=T0,
    checkin_lat=52.0,
    checkin_lon=4.0,
    checkin_accuracy_m=15,
    submitted_at=at(600),
    window_start=T0 - timedelta(hours=1),
    window_end=T0 + timedelta(days=1),
    media_hashes={"m-receipt": "sha-receipt", "m-label": "sha-label"},
)


def step_change(step_key: str, **changes: Any) -> Callable[[VisitData], VisitData]:
    def change(visit: VisitData) -> VisitData:
        return replace(
            visit,
            observations=[
                replace(o, **changes) if o.step_key == step_key else o for o in visit.observations
            ],
        )

    return change


def answer_change(step_key: str, **answers: Any) -> Callable[[VisitData], VisitData]:
    def change(visit: VisitData) -> VisitData:
        observation = next(o for o in visit.observations if o.step_key == step_key)
        merged = {**observation.answers, **answers}
        return step_change(step_key, answers={k: v for k, v in merged.items() if v is not ...})(
            visit
        )

    return change


def visit_change(**changes: Any) -> Callable[[VisitData], VisitData]:
    return lambda visit: replace(visit, **changes)


def north(metres: float) -> float:
    return 52.0 + metres / METRES_PER_DEGREE_LAT


def drop_step(step_key: str) -> Callable[[VisitData], VisitData]:
    return lambda visit: replace(
        visit, observations=[o for o in visit.observations if o.step_key != step_key]
    )


Expected = list[tuple[QcRule, Severity, str | None]]
C, W, F, INFO = QcRule, Severity.warn, Severity.fail, Severity.info

CASES: list[tuple[str, Callable[[VisitData], VisitData], Expected]] = [
    ("clean visit", lambda v: v, []),
    # completeness
    ("step not observed", drop_step("door"), [(C.completeness, F, "door")]),
    ("required question unanswered", answer_change("door", greeted=...), [(C.completeness, F, "door")]),
    ("N/A where not allowed is unanswered", answer_change("door", greeted={"na": True}), [(C.completeness, F, "door")]),
    ("N/A where allowed is complete", answer_change("door", friendly={"na": True}), []),
    ("conscious emotion missing", step_change("talk", conscious=None), [(C.completeness, F, "talk")]),
    # visit window
    ("check-in before the window", visit_change(checkin_at=T0 - timedelta(hours=2)), [(C.visit_window, F, None)]),
    ("check-in after the window", visit_change(checkin_at=T0 + timedelta(days=2)), [(C.visit_window, F, None)]),
    ("check-in at the window's end", visit_change(checkin_at=T0 + timedelta(days=1)), []),
    # geofence: 150 m away ± 60 m → 90 m beyond the fix, inside the 100 m radius
    ("inside the geofence thanks to accuracy", visit_change(checkin_lat=north(150), checkin_accuracy_m=60), []),
    ("outside the geofence", visit_change(checkin_lat=north(150), checkin_accuracy_m=20), [(C.geofence, W, None)]),
    ("far outside the geofence", visit_change(checkin_lat=north(250), checkin_accuracy_m=20), [(C.geofence, F, None)]),
    ("no GPS fix", visit_change(checkin_lat=None, checkin_lon=None), [(C.geofence, W, None)]),
    ("coarse GPS fix", visit_change(checkin_accuracy_m=800), [(C.geofence, INFO, None)]),
    # step duration
    ("step too fast", step_change("talk", ended_at=at(159)), [(C.step_duration, W, "talk")]),
    ("step too slow", step_change("door", ended_at=at(301)), [(C.step_duration, W, "door")]),
    ("step exactly at its minimum", step_change("talk", ended_at=at(160)), []),
    ("step without times", step_change("talk", started_at=None, ended_at=None), []),
    # evidence
    ("photo evidence missing", answer_change("pay", receipt=[]), [(C.completeness, F, "pay"), (C.evidence, F, "pay")]),
    ("photo evidence not uploaded", answer_change("pay", receipt=["m-other"]), [(C.evidence, F, "pay")]),
    ("evidence on a yes/no answer missing", step_change("pay", evidence={}), [(C.evidence, F, "pay")]),
    # duplicate photo
    ("photo identical within the visit", visit_change(media_hashes={"m-receipt": "sha-x", "m-label": "sha-x"}), [(C.duplicate_photo, W, "pay")]),
    # straight-lining: r1–r3, r5, r6 answer 4 of 1–5 (position 0.75), r4 answers 4 of 0–8 (0.5)
    ("six in a row at the same position", answer_change("talk", r4=6), [(C.straight_lining, W, "door")]),
    ("five in a row at the same position", lambda v: answer_change("talk", r4=6)(answer_change("pay", r6=5)(v)), []),
    # implicit probes: 6 probes; > 25 % anticipatory or timed out warns, > 50 % fails
    ("one bad probe of six", step_change("door", probes=probes(100, 700)), []),
    ("two bad probes of six", step_change("door", probes=probes(100, None)), [(C.implicit_speed, W, None)]),
    # text
    ("text too short", answer_change("talk", description="Piet"), [(C.text_too_short, W, "talk")]),
    ("text of exactly the minimum length", answer_change("talk", description="  " + "x" * 20 + " "), []),
    # contradiction
    ("declared contradiction", answer_change("door", greeted="no"), [(C.contradiction, W, "door")]),
    ("no contradiction when N/A", answer_change("door", greeted="no", friendly={"na": True}), []),
]  # fmt: skip


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_qc_rule(change: Callable[[VisitData], VisitData], expected: Expected) -> None:
    flags = run_qc(SHOP, change(CLEAN), STORE)
    assert [(f.rule, f.severity, f.step_key) for f in flags] == expected


def test_many_bad_probes_fail() -> None:
    visit = step_change("door", probes=probes(100, None))(
        step_change("talk", probes=probes(90, 1501))(CLEAN)
    )
    # 4 of 6 bad: 67 % > 50 %
    (flag,) = run_qc(SHOP, visit, STORE)
    assert (flag.rule, flag.severity) == (QcRule.implicit_speed, Severity.fail)
    assert "2 anticipatory" in flag.message and "2 timed-out of 6" in flag.message


def test_duplicate_photo_in_another_visit_fails_and_names_it() -> None:
    (flag,) = run_qc(SHOP, CLEAN, STORE, other_visit_hashes={"sha-receipt": 99})
    assert (flag.rule, flag.severity, flag.step_key, flag.question_key) == (
        QcRule.duplicate_photo,
        Severity.fail,
        "pay",
        "receipt",
    )
    assert "visit 99" in flag.message
    assert run_qc(SHOP, CLEAN, STORE, other_visit_hashes={"sha-receipt": 7}) == []  # itself


def test_online_and_phone_locations_skip_the_geofence() -> None:
    far = replace(CLEAN, checkin_lat=10.0, checkin_lon=10.0)
    for kind in ("online", "phone"):
        assert run_qc(SHOP, far, replace(STORE, kind=kind)) == []
    assert run_qc(SHOP, far, None) == []


def test_total_duration_uses_project_bounds() -> None:
    # check-in T0 → submitted T0 + 600 s
    too_short = QcSettings(min_total_seconds=900)
    too_long = QcSettings(max_total_seconds=300)
    fits = QcSettings(min_total_seconds=600, max_total_seconds=600)
    assert [(f.rule, f.severity) for f in run_qc(SHOP, CLEAN, STORE, settings=too_short)] == [
        (QcRule.total_duration, Severity.warn)
    ]
    assert [f.rule for f in run_qc(SHOP, CLEAN, STORE, settings=too_long)] == [
        QcRule.total_duration
    ]
    assert run_qc(SHOP, CLEAN, STORE, settings=fits) == []


def test_settings_change_thresholds_and_switch_rules_off() -> None:
    short_run = QcSettings.from_mapping({"straight_lining_run": 2})
    assert [f.rule for f in run_qc(SHOP, CLEAN, STORE, settings=short_run)] == [
        QcRule.straight_lining,  # r1, r2, r3 at 4
        QcRule.straight_lining,  # r5, r6 at 4
    ]
    late = replace(CLEAN, checkin_at=T0 + timedelta(days=1, minutes=20))
    grace = QcSettings.from_mapping({"window_grace_minutes": 30})
    assert run_qc(SHOP, late, STORE, settings=grace) == []
    off = QcSettings.from_mapping({"disabled_rules": ["visit_window"]})
    assert run_qc(SHOP, late, STORE, settings=off) == []


@pytest.mark.parametrize(
    "overrides",
    [{"nonsense": 1}, {"straight_lining_run": 0}, {"geofence_fail_factor": "2"},
     {"implicit_warn_share": -1}, {"disabled_rules": ["no_such_rule"]}],
)  # fmt: skip
def test_invalid_settings_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        QcSettings.from_mapping(overrides)


def test_every_rule_is_listed_once() -> None:
    assert list(RULES) == list(QcRule)


def test_needs_review_on_warn_or_fail_only() -> None:
    info = Flag(QcRule.geofence, Severity.info, None, "coarse")
    warn = Flag(QcRule.text_too_short, Severity.warn, "talk", "short")
    fail = Flag(QcRule.evidence, Severity.fail, "pay", "missing")
    assert not needs_review([])
    assert not needs_review([info])
    assert needs_review([info, warn])
    assert worst_severity([info, fail, warn]) is Severity.fail
    assert worst_severity([]) is None


def test_haversine_matches_hand_computed_distances() -> None:
    # one degree along a meridian: R · π / 180 = 111 195.08 m
    assert haversine_m(52, 4, 53, 4) == pytest.approx(111_195.08, abs=0.01)
    # a quarter of the equator: R · π / 2
    assert haversine_m(0, 0, 0, 90) == pytest.approx(EARTH_RADIUS_M * math.pi / 2)
    assert haversine_m(52, 4, 52, 4) == 0


def test_observation_defaults_make_an_empty_step() -> None:
    assert StepObservation("door").answers == {}
