"""End to end on the shipped example journeys: every answer given, every score computed by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from briefings import PyramidLevel
from scoring import (
    LocationData,
    QcRule,
    StepObservation,
    VisitData,
    focus_level,
    run_qc,
    score_visit,
    step_emotions,
)
from tests.scoring._build import T0, at, example

STORE = example("store_visit.yaml")
WEBSHOP = example("webshop_return.yaml")

# step key → (answers, seconds taken, extra fields)
STORE_ANSWERS: dict[str, tuple[dict[str, Any], int, dict[str, Any]]] = {
    "website_research": ({"stock_shown_per_store": "yes", "website_findability": 4}, 300, {}),
    "store_exterior": ({"opening_hours_displayed": "no", "entrance_inviting": 5}, 60, {}),
    "entering_store": (
        {"greeted": "yes", "greeting_friendly": "yes", "seconds_until_greeted": 30}, 60, {}
    ),
    "finding_product": (
        {"product_found_unaided": "yes", "shelf_price_shown": "yes", "shelf_price": 99.95,
         "demo_model_available": "no"}, 120, {}
    ),
    "advice_conversation": (
        {"needs_asked": "yes", "alternatives_offered": "one",
         "advice_topics": ["noise_cancelling", "battery_life", "warranty"], "advice_quality": 7,
         "employee_description": "Young woman, badge 'Sanne', red company polo"}, 600, {}
    ),
    "queue_at_till": (
        {"people_in_queue": 2, "extra_till_opened": {"na": True}, "time_at_till": "14:05"}, 240, {}
    ),
    "payment": (
        {"price_correct_at_till": "yes", "payment_options": ["debit_card", "contactless"],
         "care_tip_unprompted": "yes"}, 90, {"evidence": {"price_correct_at_till": ["m-label"]}}
    ),
    "receipt": ({"receipt_photo": ["m-receipt"], "warranty_explained": "no"}, 30, {}),
    "order_confirmation_email": ({"digital_receipt_received": "yes", "email_clarity": 3}, 60, {}),
    "setup_at_home": ({"manual_found": "yes", "setup_minutes": 10}, 900, {}),
    "call_centre_question": (
        {"call_waiting_minutes": 5, "answer_correct": "yes", "agent_empathy": 3,
         "call_started_at": "19:30"}, 600, {}
    ),
    "return_at_counter": (
        {"return_accepted": "yes", "reason_asked_politely": 4, "refund_method": "original_payment",
         "return_receipt_photo": ["m-return"]}, 300, {}
    ),
    "refund_confirmation": ({"refund_email_received": "yes", "refund_days": 5}, 60, {}),
    "overall_impression": (
        {"recommend_store": 8,
         "memorable_moment": "The advice was patient and the return took two minutes, no questions."},
        120, {}
    ),
}  # fmt: skip


def store_observations(**changes: dict[str, Any]) -> list[StepObservation]:
    result, clock = [], 0
    for key, (answers, seconds, extra) in STORE_ANSWERS.items():
        probes = [{"stimulus": "step", "kind": "valence", "choice": 1, "latency_ms": 600 + clock % 7,
                   "deadline_ms": 1500}]  # fmt: skip
        result.append(
            StepObservation(
                key,
                {**answers, **changes.get(key, {})},
                started_at=at(clock),
                ended_at=at(clock + seconds),
                conscious={"valence": 1},
                probes=probes,
                **extra,
            )
        )
        clock += seconds + 60
    return result


def test_store_visit_scores_by_hand() -> None:
    result = score_visit(STORE, store_observations())
    steps = {s.key: s.score for s in result.steps}
    assert steps == {
        "website_research": pytest.approx(87.5),  # (1 + 0.75) / 2
        "store_exterior": 50,  # (0 + 1) / 2; the photo is not scored
        "entering_store": 100,  # (1 + 1) / 2; seconds_until_greeted weighs 0
        "finding_product": pytest.approx(200 / 3),  # (1 + 1 + 0) / 3; shelf_price weighs 0
        # 1 + 0.5 + (0.25 + 0.25 + 0.15) + 2·(7-1)/9 = 3.4833 of 1 + 1 + 1 + 2 = 5
        "advice_conversation": pytest.approx(209 / 3),
        "queue_at_till": None,  # N/A, a weight-0 number and a time: nothing to score
        "payment": 100,  # (2 + 0.8 + bonus 1) / 3 = 1.27, capped
        "receipt": 0,  # warranty not explained; the photo is not scored
        "order_confirmation_email": 75,  # (1 + 0.5) / 2
        "setup_at_home": 100,
        "call_centre_question": pytest.approx(250 / 3),  # (2 + 0.5) / 3
        "return_at_counter": pytest.approx(275 / 3),  # (1 + 0.75 + 1) / 3
        "refund_confirmation": 100,
        "overall_impression": 80,  # 8 / 10
    }
    phases = {p.key: p.score for p in result.phases}
    assert phases == pytest.approx(
        {
            "orientation": 287.5 / 3.5,  # (1·87.5 + 1·50 + 1.5·100) / 3.5
            "weighing_alternatives": 206 / 3,  # (1·200/3 + 2·209/3) / 3
            "purchase": 68.75,  # queue_at_till has no score: (2·100 + 1·0 + 1·75) / 4
            "use": 275 / 3,  # (100 + 250/3) / 2
            "evaluation": 1090 / 12,  # (2·275/3 + 100 + 80) / 4
        }
    )
    # each phase weighs the sum of its scored steps' weights
    assert [p.weight for p in result.phases] == [3.5, 3, 4, 2, 4]
    # (287.5 + 206 + 275 + 550/3 + 1090/3) / 16.5 = 1315.17 / 16.5 = 79.71
    total = 287.5 + 206 + 275 + 550 / 3 + 1090 / 3
    assert result.score == pytest.approx(total / 16.5)
    assert result.score == pytest.approx(79.7071, abs=1e-4)
    assert (result.band, result.passed, result.knocked_out) == ("pass", True, ())
    # basis: 15.5 / 17.5; ease: 9.15 / 13; emotion: (1 + 1.5 + 2·4/3 + 2 + 0.5 + 1.5 + 0.8) / 10.5
    assert result.levels[PyramidLevel.basis] == pytest.approx(100 * 15.5 / 17.5)
    assert result.levels[PyramidLevel.ease] == pytest.approx(100 * 9.15 / 13)
    assert result.levels[PyramidLevel.emotion] == pytest.approx(100 * (7.3 + 8 / 3) / 10.5)
    assert focus_level(result.levels, 75) is PyramidLevel.ease


def test_store_visit_refused_return_knocks_out_the_evaluation_phase() -> None:
    result = score_visit(STORE, store_observations(return_at_counter={"return_accepted": "no"}))
    evaluation = {p.key: p for p in result.phases}["evaluation"]
    # return_at_counter (0 + 0.75 + 1) / 3 = 58.33; the phase is knocked out
    assert {s.key: s.score for s in result.steps}["return_at_counter"] == pytest.approx(175 / 3)
    assert (evaluation.score, evaluation.knocked_out) == (0, True)
    assert evaluation.raw_score == pytest.approx((2 * 175 / 3 + 180) / 4)
    # (287.5 + 206 + 275 + 550/3 + 4·0) / 16.5 = 57.69; raw adds 2·175/3 + 180
    assert result.score == pytest.approx((768.5 + 550 / 3) / 16.5)
    assert result.raw_score == pytest.approx((768.5 + 550 / 3 + 350 / 3 + 180) / 16.5)
    assert (result.knocked_out, result.band) == (("return_accepted",), "fail")


def store_visit(observations: list[StepObservation]) -> VisitData:
    return VisitData(
        visit_id=1,
        shopper_id=2,
        location_id=3,
        observations=observations,
        checkin_at=T0,
        checkin_lat=52.3702,
        checkin_lon=4.8952,
        checkin_accuracy_m=12,
        submitted_at=at(5000),
        window_start=T0 - timedelta(days=1),
        window_end=T0 + timedelta(days=14),
        media_hashes={"m-label": "a1", "m-receipt": "b2", "m-return": "c3"},
    )


def test_store_visit_passes_qc_and_a_refused_return_contradicts_the_refund() -> None:
    location = LocationData(52.3702, 4.8952, 150, "physical")
    assert run_qc(STORE, store_visit(store_observations()), location) == []
    contradicting = store_observations(return_at_counter={"return_accepted": "no"})
    flags = run_qc(STORE, store_visit(contradicting), location)
    assert [(f.rule, f.step_key, f.question_key) for f in flags] == [
        (QcRule.contradiction, "return_at_counter", "refund_method")
    ]


def test_store_visit_emotions_are_all_positive() -> None:
    emotions = step_emotions(STORE, store_observations())
    assert len(emotions) == 14
    # every conscious valence is 1 → 1/3; every probe says +1 → implicit 1; gap 2/3
    assert all(e.conscious == pytest.approx(1 / 3) for e in emotions)
    assert all(e.implicit.value == 1 and e.gap == pytest.approx(2 / 3) for e in emotions)


WEBSHOP_BEST: dict[str, dict[str, Any]] = {
    "find_product": {"search_relevant": "yes", "filters_used": ["size", "price", "waterproof_rating"]},
    "product_page": {"size_guide_available": "yes", "delivery_promise_shown": "yes", "photos_helpful": 5,
                     "product_page_screenshot": ["m1"]},
    "checkout": {"checkout_steps": 3, "guest_checkout": "yes", "total_price_clear": "yes",
                 "delivery_choice": "with_time_slot"},
    "order_confirmation": {"confirmation_received": "yes", "confirmation_time": "20:15", "confirmation_tone": 5},
    "track_parcel": {"tracking_available": "yes", "tracking_clarity": 5},
    "delivery": {"delivered_on_promised_day": "yes", "delivery_time": "10:30", "courier_friendly": 5,
                 "parcel_condition": 5},
    "unboxing": {"right_product_undamaged": "yes", "unboxing_photo": ["m2"], "personal_touch": "no",
                 "return_label_included": "yes"},
    "customer_service_question": {"cs_waiting_minutes": 4, "cs_answer_correct": "yes",
                                  "cs_agent_name": "Joris; he summarised my question"},
    "return_request": {"return_form_easy": 5, "return_cost": 0, "exchange_offered": "no"},
    "drop_off_parcel": {"drop_off_receipt": ["m3"], "drop_off_waiting": "immediate"},
    "refund": {"refund_received": "yes", "refund_full": "yes", "refund_days": 3},
    "farewell_impression": {"would_order_again": 10},
}  # fmt: skip


def test_webshop_visit_at_its_best_scores_100_and_a_damaged_jacket_knocks_it_out() -> None:
    best = [StepObservation(key, answers) for key, answers in WEBSHOP_BEST.items()]
    result = score_visit(WEBSHOP, best)
    # every scored question earns its full fraction; missed bonuses cost nothing
    assert all(s.score == 100 for s in result.steps)
    assert (result.score, result.raw_score) == (100, 100)
    assert all(value == 100 for value in result.levels.values())

    damaged = [
        replace(o, answers={**o.answers, "right_product_undamaged": "no"})
        if o.step_key == "unboxing"
        else o
        for o in best
    ]
    result = score_visit(WEBSHOP, damaged)
    unboxing = {s.key: s for s in result.steps}["unboxing"]
    # unboxing: (2·0 + 0 bonus + 1) / 3 = 33.3; every step weighs 1 except checkout 1.5 and delivery 2
    assert unboxing.score == pytest.approx(100 / 3)
    weights = 10 * 1 + 1.5 + 2
    assert result.raw_score == pytest.approx((100 * (weights - 1) + 100 / 3) / weights)
    assert (result.score, result.knocked_out, result.passed) == (
        0,
        ("right_product_undamaged",),
        False,
    )
