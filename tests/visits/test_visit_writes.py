"""Resends, validation against the journey, uploads, completeness, batches and returned visits."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from api.assignments.models import Assignment, AssignmentStatus
from api.assignments.states import transition
from api.audit.models import AuditEntry
from api.visits.models import Media, StepObservation, Visit
from tests.visits.conftest import Field, entrance_body, new_uuid, now_iso, photo_bytes, till_body


def complete_visit(field: Field, visit_id: int) -> None:
    """Write every step and upload every photo the field journey needs."""
    receipt, evidence = new_uuid(), new_uuid()
    assert field.put_step(visit_id, "entrance", entrance_body()).status_code == 200
    till = till_body(receipt, evidence={"price_correct": [evidence]})
    assert field.put_step(visit_id, "till", till).status_code == 200
    assert field.upload(visit_id, receipt).status_code == 201
    assert field.upload(visit_id, evidence, question="price_correct").status_code == 201


def test_resent_writes_are_stored_once(field: Field) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    start = {"client_uuid": new_uuid(), "started_at": now_iso(), "device": {"ua": "x"}}
    url = f"/api/v1/assignments/{assignment_id}/visit"
    first = field.client.post(url, json=start, headers=field.shopper)
    again = field.client.post(url, json=start, headers=field.shopper)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    visit_id = first.json()["id"]

    body = entrance_body()
    responses = [field.put_step(visit_id, "entrance", body) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert {r.json()["revision"] for r in responses} == {1}

    media_uuid, jpeg = new_uuid(), photo_bytes()
    assert field.upload(visit_id, media_uuid, jpeg).status_code == 201
    assert field.upload(visit_id, media_uuid, jpeg).status_code == 200

    complete_visit(field, visit_id)
    submit = {"client_uuid": new_uuid(), "ended_at": now_iso()}
    assert field.submit(visit_id, submit).status_code == 200
    resent = field.submit(visit_id, submit)
    assert resent.status_code == 200
    assert resent.json()["status"] == "submitted"

    assert field.count(Visit) == 1
    assert field.count(StepObservation) == 2
    assert field.count(Media) == 3
    with field.db.session() as session:
        actions = session.exec(
            select(AuditEntry.action).where(AuditEntry.entity == "assignment")
        ).all()
    assert actions.count("submitted") == 1
    assert actions.count("visit_started") == 1


def test_conflicting_resends_are_refused_with_409(field: Field) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    start = {"client_uuid": new_uuid(), "started_at": now_iso()}
    url = f"/api/v1/assignments/{assignment_id}/visit"
    visit_id = field.client.post(url, json=start, headers=field.shopper).json()["id"]
    changed = field.client.post(url, json={**start, "latitude": 1.0}, headers=field.shopper)
    assert changed.status_code == 409
    assert changed.json()["type"].endswith("/idempotency-conflict")

    body = entrance_body()
    assert field.put_step(visit_id, "entrance", body).status_code == 200
    conflict = field.put_step(visit_id, "entrance", {**body, "notes": "other"})
    assert conflict.status_code == 409
    assert conflict.json()["type"].endswith("/idempotency-conflict")
    assert conflict.json()["client_uuid"] == body["client_uuid"]
    assert field.put_step(visit_id, "till", {**body, "answers": {}}).status_code == 409

    media_uuid = new_uuid()
    assert field.upload(visit_id, media_uuid, photo_bytes(size=(10, 10))).status_code == 201
    other_bytes = field.upload(visit_id, media_uuid, photo_bytes(size=(11, 10)))
    assert other_bytes.status_code == 409

    stored = field.client.get(f"/api/v1/visits/{visit_id}", headers=field.shopper).json()
    assert stored["steps"][0]["notes"] == "busy"
    assert stored["checkin"]["latitude"] is None
    assert stored["media"][0]["width"] == 10


def test_a_newer_write_replaces_a_step_and_a_late_resend_of_the_old_one_changes_nothing(
    field: Field,
) -> None:
    visit_id = field.start()["id"]
    old, new = entrance_body(), entrance_body(notes="second thoughts")
    assert field.put_step(visit_id, "entrance", old).status_code == 200
    replaced = field.put_step(visit_id, "entrance", new)
    assert replaced.json()["revision"] == 2
    late = field.put_step(visit_id, "entrance", old)
    assert late.status_code == 200
    assert late.json()["notes"] == "second thoughts"
    assert late.json()["revision"] == 2
    assert field.put_step(visit_id, "entrance", {**old, "notes": "x"}).status_code == 409


BAD_STEP_WRITES: list[tuple[str, str, dict[str, Any], str]] = [
    ("unknown step", "checkout", {}, "step_key"),
    ("unknown question", "entrance", {"answers": {"smiled": "yes"}}, "answers.smiled"),
    ("yes/no as bool", "entrance", {"answers": {"greeted": True}}, "answers.greeted"),
    ("scale out of range", "entrance", {"answers": {"friendliness": 6}}, "answers.friendliness"),
    ("scale as text", "entrance", {"answers": {"friendliness": "4"}}, "answers.friendliness"),
    ("unknown option", "entrance", {"answers": {"extras": ["bag", "car"]}}, "answers.extras"),
    ("N/A not allowed", "entrance", {"answers": {"greeted": {"na": True}}}, "answers.greeted"),
    ("number out of range", "till", {"answers": {"wait_minutes": 61}}, "answers.wait_minutes"),
    ("bad time", "till", {"answers": {"served_at": "25:00"}}, "answers.served_at"),
    ("photo not uuids", "till", {"answers": {"receipt_photo": ["x"]}}, "answers.receipt_photo"),
    ("valence too high", "entrance", {"conscious": {"valence": 4}}, "conscious.valence"),
    (
        "arousal too low",
        "entrance",
        {"conscious": {"valence": 1, "arousal": 0}},
        "conscious.arousal",
    ),
    (
        "unknown emotion",
        "entrance",
        {"conscious": {"valence": 1, "emotion": "glee"}},
        "conscious.emotion",
    ),
    (
        "probe of another step",
        "till",
        {"probes": [{"stimulus": "step", "choice": 1, "latency_ms": 5, "deadline_ms": 1500}]},
        "probes[0].stimulus",
    ),
    (
        "valence probe answered with a face",
        "entrance",
        {"probes": [{"stimulus": "step", "choice": "happy", "latency_ms": 5, "deadline_ms": 1500}]},
        "probes[0].choice",
    ),
    (
        "negative latency",
        "entrance",
        {"probes": [{"stimulus": "step", "choice": 1, "latency_ms": -1, "deadline_ms": 1500}]},
        "probes.0.latency_ms",
    ),
    ("time without zone", "entrance", {"started_at": "2026-01-01T10:00:00"}, "started_at"),
    (
        "ends before it starts",
        "entrance",
        {"started_at": "2026-01-01T10:05:00Z", "ended_at": "2026-01-01T10:00:00Z"},
        "ended_at",
    ),
]


@pytest.mark.parametrize(
    ("step", "changes", "field_name"),
    [case[1:] for case in BAD_STEP_WRITES],
    ids=[case[0] for case in BAD_STEP_WRITES],
)
def test_step_write_refused_naming_step_and_field(
    field: Field, step: str, changes: dict[str, Any], field_name: str
) -> None:
    visit_id = field.start()["id"]
    body = {"client_uuid": new_uuid(), **changes}
    response = field.put_step(visit_id, step, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert {"step": step, "field": field_name} in [
        {"step": e["step"], "field": e["field"]} for e in errors
    ], errors
    assert field.count(StepObservation) == 0


def test_oversize_upload_is_refused_with_413(field: Field) -> None:
    visit_id = field.start()["id"]
    field.client.app.state.settings.max_upload_bytes = 2048  # type: ignore[attr-defined]
    big = photo_bytes("PNG", size=(64, 64), noise=True)
    assert len(big) > 2048
    assert field.upload(visit_id, new_uuid(), big).status_code == 413
    huge = field.upload(visit_id, new_uuid(), b"\xff" * 200_000)  # refused by Content-Length
    assert huge.status_code == 413
    assert huge.json()["limit"] == 2048
    assert field.count(Media) == 0


def _png_with_bad_idat_checksum() -> bytes:
    """A PNG that decodes, but whose pixel chunk's CRC is wrong (only ``verify`` sees it)."""
    png = photo_bytes("PNG")
    at = png.index(b"IDAT")
    crc_at = at + 4 + int.from_bytes(png[at - 4 : at], "big")
    return png[:crc_at] + bytes([png[crc_at] ^ 0xFF]) + png[crc_at + 1 :]


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("receipt.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
        ("receipt.jpg", b"just some text pretending to be a photo"),
        ("receipt.png", photo_bytes("PNG")[:60]),  # truncated
        ("receipt.png", _png_with_bad_idat_checksum()),
        ("receipt.jpg", photo_bytes()[:400]),  # cut off in the middle of its pixels
    ],
    ids=["pdf", "text", "truncated-png", "png-bad-checksum", "truncated-jpeg"],
)
def test_non_image_upload_is_refused_with_422(field: Field, filename: str, data: bytes) -> None:
    visit_id = field.start()["id"]
    response = field.upload(visit_id, new_uuid(), data, filename=filename)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert field.count(Media) == 0
    media_dir = field.client.app.state.settings.data_dir / "media"  # type: ignore[attr-defined]
    assert not media_dir.exists() or not any(p.is_file() for p in media_dir.rglob("*"))


def test_incomplete_submit_lists_what_is_missing_and_changes_nothing(field: Field) -> None:
    visit_id = field.start()["id"]
    body = entrance_body(conscious=None)
    del body["answers"]["friendliness"]
    assert field.put_step(visit_id, "entrance", body).status_code == 200
    response = field.submit(visit_id)
    assert response.status_code == 422, response.text
    missing = {(e["step"], e["field"]) for e in response.json()["errors"]}
    assert missing == {
        ("entrance", "answers.friendliness"),
        ("entrance", "conscious.valence"),
        ("till", None),
    }
    visit = field.client.get(f"/api/v1/visits/{visit_id}", headers=field.shopper).json()
    assert visit["status"] == "in_progress"
    assert visit["submitted_at"] is None

    receipt = new_uuid()
    assert field.put_step(visit_id, "entrance", entrance_body()).status_code == 200
    assert field.put_step(visit_id, "till", till_body(receipt)).status_code == 200
    evidence = {
        (e["step"], e["field"], e["message"]) for e in field.submit(visit_id).json()["errors"]
    }
    assert ("till", "answers.price_correct", "needs a photo as evidence") in evidence


def test_media_referenced_before_upload_blocks_submit_until_uploaded(field: Field) -> None:
    visit_id = field.start()["id"]
    receipt, evidence = new_uuid(), new_uuid()
    assert field.put_step(visit_id, "entrance", entrance_body()).status_code == 200
    till = till_body(receipt, evidence={"price_correct": [evidence]})
    assert field.put_step(visit_id, "till", till).status_code == 200
    assert field.upload(visit_id, evidence, question="price_correct").status_code == 201

    visit = field.client.get(f"/api/v1/visits/{visit_id}", headers=field.shopper).json()
    assert visit["missing_media"] == [receipt]
    refused = field.submit(visit_id)
    assert refused.status_code == 422
    assert refused.json()["missing_media"] == [receipt]
    assert refused.json()["errors"] == [
        {
            "step": "till",
            "field": "answers.receipt_photo",
            "message": f"media {receipt} is not uploaded yet",
        }
    ]

    assert field.upload(visit_id, receipt).status_code == 201
    assert field.submit(visit_id).status_code == 200


def test_batch_applies_each_operation_with_its_own_result(field: Field) -> None:
    visit_id = field.start()["id"]
    receipt, evidence = new_uuid(), new_uuid()
    assert field.upload(visit_id, receipt).status_code == 201
    assert field.upload(visit_id, evidence, question="price_correct").status_code == 201
    operations = [
        {"op": "step", "step_key": "entrance", "body": entrance_body()},
        {
            "op": "step",
            "step_key": "entrance",
            "body": {"client_uuid": new_uuid(), "answers": {"greeted": "maybe"}},
        },
        {"op": "step", "step_key": "till", "body": {"client_uuid": "not-a-uuid"}},
        {
            "op": "step",
            "step_key": "till",
            "body": till_body(receipt, evidence={"price_correct": [evidence]}),
        },
        {"op": "submit", "body": {"client_uuid": new_uuid(), "ended_at": now_iso()}},
    ]
    url = f"/api/v1/visits/{visit_id}/batch"
    response = field.client.post(url, json={"operations": operations}, headers=field.shopper)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, 200),
        (1, 422),
        (2, 422),
        (3, 200),
        (4, 200),
    ]
    assert results[1]["problem"]["errors"][0] == {
        "step": "entrance",
        "field": "answers.greeted",
        "message": 'must be "yes" or "no"',
    }
    assert results[2]["problem"]["errors"][0]["field"] == "client_uuid"
    assert results[0]["body"]["notes"] == "busy"
    assert results[4]["body"]["status"] == "submitted"

    resent = field.client.post(url, json={"operations": operations}, headers=field.shopper)
    assert [r["status"] for r in resent.json()["results"]] == [200, 409, 422, 200, 200]
    assert field.count(StepObservation) == 2
    with field.db.session() as session:
        entrance = session.exec(
            select(StepObservation).where(StepObservation.step_key == "entrance")
        ).one()
        assert entrance.revision == 1


def test_batch_op_refusal_names_the_field_a_two_field_check_blames(field: Field) -> None:
    visit_id = field.start()["id"]
    body = entrance_body() | {
        "started_at": "2026-01-01T10:05:00Z",
        "ended_at": "2026-01-01T10:00:00Z",
    }
    response = field.client.post(
        f"/api/v1/visits/{visit_id}/batch",
        json={"operations": [{"op": "step", "step_key": "entrance", "body": body}]},
        headers=field.shopper,
    )
    [result] = response.json()["results"]
    assert result["status"] == 422
    assert [(e["step"], e["field"]) for e in result["problem"]["errors"]] == [
        ("entrance", "ended_at")
    ]
    assert field.count(StepObservation) == 0


def test_batch_ops_after_a_failed_submit_still_run(field: Field) -> None:
    visit_id = field.start()["id"]
    operations = [
        {"op": "submit", "body": {"client_uuid": new_uuid(), "ended_at": now_iso()}},
        {"op": "step", "step_key": "entrance", "body": entrance_body()},
    ]
    response = field.client.post(
        f"/api/v1/visits/{visit_id}/batch", json={"operations": operations}, headers=field.shopper
    )
    assert [r["status"] for r in response.json()["results"]] == [422, 200]
    assert field.count(StepObservation) == 1


def test_returned_visit_is_edited_with_audit_and_resubmitted(field: Field) -> None:
    visit = field.start()
    visit_id, assignment_id = visit["id"], visit["assignment_id"]
    complete_visit(field, visit_id)
    assert field.submit(visit_id).status_code == 200
    locked = field.put_step(visit_id, "entrance", entrance_body())
    assert locked.status_code == 409
    assert locked.json()["rule"] == "visit_editable"

    with field.db.session() as session:
        assignment = session.get(Assignment, assignment_id)
        assert assignment is not None
        transition(
            session,
            assignment,
            AssignmentStatus.returned,
            actor_id=field.world.ids["mgr-a"],
            action="returned",
            comment="Please add the waiting time you noted.",
        )
    returned = field.client.get(f"/api/v1/visits/{visit_id}", headers=field.shopper).json()
    assert returned["status"] == "returned"
    assert returned["return_comment"] == "Please add the waiting time you noted."
    before = returned["steps"][1]

    edit = {**till_body(before["answers"]["receipt_photo"][0]), "evidence": before["evidence"]}
    edit["answers"]["wait_minutes"] = 12
    edited = field.put_step(visit_id, "till", edit)
    assert edited.status_code == 200, edited.text
    assert edited.json()["revision"] == 2
    assert field.put_step(visit_id, "till", edit).status_code == 200  # resend: no second entry

    with field.db.session() as session:
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.entity == "visit", AuditEntry.entity_id == visit_id)
            .order_by(col(AuditEntry.id))
        ).all()
    assert [(e.action, e.actor_id) for e in entries] == [
        ("step_edited", field.world.ids["shopper-1"])
    ]
    data = entries[0].data
    assert data["step_key"] == "till"
    assert data["before"]["answers"]["wait_minutes"] == 3
    assert data["after"]["answers"]["wait_minutes"] == 12
    assert data["before"]["revision"] == 1

    resubmitted = field.submit(visit_id)
    assert resubmitted.status_code == 200
    assert resubmitted.json()["status"] == "submitted"
    assert resubmitted.json()["return_comment"] is None
