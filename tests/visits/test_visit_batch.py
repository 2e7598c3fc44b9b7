"""A whole visit in one request: POST /assignments/{id}/visit/batch (check-in, photos, steps,
submit), as the outbox sends a visit that was queued offline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import select

from api.accounts.models import User
from api.audit.models import AuditEntry
from api.visits import service
from api.visits.models import (
    Media,
    MediaFields,
    StepObservation,
    StepWrite,
    ValidVisitBatch,
    Visit,
    VisitBatchRequest,
    VisitStart,
    VisitSubmit,
)
from tests.visits.conftest import Field, entrance_body, new_uuid, now_iso, photo_bytes, till_body


def start_op(**overrides: Any) -> dict[str, Any]:
    body = {"client_uuid": new_uuid(), "started_at": now_iso(-15), "latitude": 52.0}
    return {"op": "start", "body": body | overrides}


def media_op(uuid: str, part: str, *, question: str = "receipt_photo") -> dict[str, Any]:
    body = {"client_uuid": uuid, "step_key": "till", "question_key": question}
    return {"op": "media", "file": part, "body": body}


def submit_op() -> dict[str, Any]:
    return {"op": "submit", "body": {"client_uuid": new_uuid(), "ended_at": now_iso()}}


def whole_visit() -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    receipt, evidence = new_uuid(), new_uuid()
    # A phone in another zone: the answer must hold the times as the database hands them back.
    amsterdam = datetime.now(timezone(timedelta(hours=2)))
    entrance = entrance_body(
        started_at=(amsterdam - timedelta(minutes=9)).isoformat(),
        ended_at=(amsterdam - timedelta(minutes=8)).isoformat(),
    )
    operations = [
        start_op(),
        media_op(receipt, "p0"),
        {"op": "step", "step_key": "entrance", "body": entrance},
        media_op(evidence, "p1", question="price_correct"),
        {
            "op": "step",
            "step_key": "till",
            "body": till_body(receipt, evidence={"price_correct": [evidence]}),
        },
        submit_op(),
    ]
    return operations, {"p0": photo_bytes(), "p1": photo_bytes("PNG")}


def send(
    field: Field,
    assignment_id: int,
    operations: list[dict[str, Any]],
    files: dict[str, bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    url = f"/api/v1/assignments/{assignment_id}/visit/batch"
    headers = headers or field.shopper
    if files is None:
        return field.client.post(url, json={"operations": operations}, headers=headers)
    return field.client.post(
        url,
        data={"operations": json.dumps({"operations": operations})},
        files={name: (f"{name}.jpg", data, "image/jpeg") for name, data in files.items()},
        headers=headers,
    )


def statuses(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(len(results)))
    return [r["status"] for r in results]


def test_a_whole_visit_is_stored_from_one_request_and_a_resend_changes_nothing(
    field: Field,
) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    operations, files = whole_visit()

    response = send(field, assignment_id, operations, files)
    assert statuses(response) == [201, 201, 200, 201, 200, 200]
    data = response.json()
    results = data["results"]
    assert results[0]["body"]["status"] == "in_progress"
    assert results[1]["body"]["content_type"] == "image/jpeg"
    assert results[3]["body"]["content_type"] == "image/png"
    assert results[2]["body"]["conscious"]["valence"] == 2
    submitted = results[5]["body"]
    stored = field.client.get(f"/api/v1/visits/{data['visit_id']}", headers=field.shopper)
    assert submitted == stored.json()
    assert submitted["status"] == "submitted"
    assert [s["step_key"] for s in submitted["steps"]] == ["entrance", "till"]
    assert len(submitted["media"]) == 2 and submitted["missing_media"] == []
    assert submitted["steps"][0]["probes"][1]["fixation_ms"] == 500  # raw probes kept

    # The response was lost: the outbox sends the same request again.
    again = send(field, assignment_id, operations, files)
    assert statuses(again) == [200, 200, 200, 200, 200, 200]
    assert again.json()["visit_id"] == data["visit_id"]
    assert again.json()["results"][5]["body"] == submitted
    assert (field.count(Visit), field.count(StepObservation), field.count(Media)) == (1, 2, 2)
    with field.db.session() as session:
        actions = session.exec(
            select(AuditEntry.action).where(
                AuditEntry.entity == "assignment", AuditEntry.entity_id == assignment_id
            )
        ).all()
    assert actions.count("visit_started") == 1
    assert actions.count("submitted") == 1


def test_json_batch_and_writes_before_a_started_visit_are_404(field: Field) -> None:
    assignment_id = field.assignment()  # the briefing quiz is not passed
    step = {"op": "step", "step_key": "entrance", "body": entrance_body()}
    response = send(field, assignment_id, [start_op(), step, submit_op()])
    assert statuses(response) == [409, 404, 404]
    results = response.json()["results"]
    assert results[0]["problem"]["rule"] == "briefing_quiz"
    assert "no visit yet" in results[1]["problem"]["detail"]
    assert response.json()["visit_id"] is None

    field.pass_quiz(assignment_id)
    started = send(field, assignment_id, [start_op(), step])
    assert statuses(started) == [201, 200]
    # The visit exists now: later batches need no start, and a second check-in is refused.
    till = {"op": "step", "step_key": "till", "body": till_body(new_uuid())}
    later = send(field, assignment_id, [till, start_op()])
    assert statuses(later) == [200, 409]
    assert later.json()["results"][1]["problem"]["type"].endswith("invalid-transition")
    assert later.json()["visit_id"] == started.json()["visit_id"]
    assert field.count(StepObservation) == 2


def test_photo_refusals_are_per_operation_and_store_nothing(field: Field) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    field.client.app.state.settings.max_upload_bytes = 4096  # type: ignore[attr-defined]
    big = photo_bytes("PNG", size=(64, 64), noise=True)
    assert len(big) > 4096
    operations = [
        start_op(),
        media_op(new_uuid(), "pdf"),
        media_op(new_uuid(), "big"),
        media_op(new_uuid(), "nowhere"),
        {
            "op": "media",
            "file": "ok",
            "body": {"client_uuid": new_uuid(), "step_key": "lobby"},
        },
        {"op": "media", "file": "ok", "body": {"client_uuid": "x", "step_key": "till"}},
        media_op(new_uuid(), "ok"),
    ]
    files = {"pdf": b"%PDF-1.4\n%%EOF\n", "big": big, "ok": photo_bytes()}
    response = send(field, assignment_id, operations, files)
    assert statuses(response) == [201, 422, 413, 422, 422, 422, 201]
    problems = [r["problem"] for r in response.json()["results"]]
    assert problems[1]["errors"][0]["field"] == "file"
    assert problems[2]["limit"] == 4096
    assert problems[3]["errors"][0] == {
        "step": "till",
        "field": "file",
        "message": "'nowhere' is not a file part of this request",
    }
    assert problems[4]["errors"][0]["field"] == "step_key"
    assert problems[5]["errors"][0]["field"] == "client_uuid"
    assert field.count(Media) == 1
    media_dir = field.client.app.state.settings.data_dir / "media"  # type: ignore[attr-defined]
    assert len([p for p in media_dir.rglob("*") if p.is_file()]) == 1


def test_conflicting_resends_and_an_incomplete_submit_are_refused(field: Field) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    start, photo = start_op(), new_uuid()
    first = send(field, assignment_id, [start, media_op(photo, "p")], {"p": photo_bytes()})
    assert statuses(first) == [201, 201]

    other_start = {"op": "start", "body": start["body"] | {"latitude": 10.0}}
    other_photo = media_op(photo, "p")
    entrance = {"op": "step", "step_key": "entrance", "body": entrance_body()}
    response = send(
        field,
        assignment_id,
        [other_start, other_photo, entrance, submit_op()],
        {"p": photo_bytes("PNG")},
    )
    assert statuses(response) == [409, 409, 200, 422]
    results = response.json()["results"]
    assert results[0]["problem"]["type"].endswith("idempotency-conflict")
    assert results[1]["problem"]["client_uuid"] == photo
    assert ("till", None) in {(e["step"], e["field"]) for e in results[3]["problem"]["errors"]}
    visit = field.client.get(f"/api/v1/assignments/{assignment_id}/visit", headers=field.shopper)
    assert visit.json()["status"] == "in_progress"
    assert visit.json()["checkin"]["latitude"] == 52.0


def test_bad_requests_are_refused_whole(field: Field) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    url = f"/api/v1/assignments/{assignment_id}/visit/batch"
    post = field.client.post

    other = send(field, assignment_id, [start_op()], headers=field.other)
    assert other.status_code == 404

    plain = post(url, content=b"operations", headers=field.shopper | {"content-type": "text/plain"})
    assert plain.status_code == 415
    broken = post(
        url, content=b"{not json", headers=field.shopper | {"content-type": "application/json"}
    )
    assert broken.status_code == 422
    unknown = post(url, json={"operations": [{"op": "approve", "body": {}}]}, headers=field.shopper)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "operations.0.op"
    no_ops = post(url, files={"p": ("p.jpg", photo_bytes(), "image/jpeg")}, headers=field.shopper)
    assert no_ops.status_code == 422
    assert no_ops.json()["errors"][0]["field"] == "operations"
    stray = post(
        url,
        data={"operations": json.dumps({"operations": [start_op()]}), "note": "hi"},
        files={"p": ("p.jpg", photo_bytes(), "image/jpeg")},
        headers=field.shopper,
    )
    assert stray.status_code == 422
    assert stray.json()["errors"][0]["field"] == "note"
    many = post(
        url,
        data={"operations": json.dumps({"operations": [start_op()]})},
        files=[(f"p{i}", ("p.jpg", b"x", "image/jpeg")) for i in range(21)],
        headers=field.shopper,
    )
    assert many.status_code == 400
    field.client.app.state.settings.max_upload_bytes = 1024  # type: ignore[attr-defined]
    huge = post(
        url,
        content=b"x" * (30 * 1024 * 1024),
        headers=field.shopper | {"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert field.count(Visit) == 0


MINIMAL = {"Prefer": "return=minimal"}


def test_prefer_return_minimal_answers_the_statuses_without_the_bodies(field: Field) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    operations, files = whole_visit()

    # A fresh whole visit (stored the short way), as the outbox sends it.
    response = send(field, assignment_id, operations, files, headers=field.shopper | MINIMAL)
    assert statuses(response) == [201, 201, 200, 201, 200, 200]
    assert response.headers["preference-applied"] == "return=minimal"
    assert [r["body"] for r in response.json()["results"]] == [None] * 6
    visit_id = response.json()["visit_id"]
    stored = field.client.get(f"/api/v1/visits/{visit_id}", headers=field.shopper).json()
    assert stored["status"] == "submitted" and len(stored["steps"]) == 2
    assert len(stored["media"]) == 2 and stored["missing_media"] == []

    # A resend goes the general way; a refusal keeps its problem.
    conflicting = [{"op": "start", "body": operations[0]["body"] | {"latitude": 1.0}}]
    conflicting += operations[1:]
    prefer = {"Prefer": 'respond-async, return="minimal"; lenient'}
    again = send(field, assignment_id, conflicting, files, headers=field.shopper | prefer)
    assert statuses(again) == [409, 200, 200, 200, 200, 200]
    assert again.headers["preference-applied"] == "return=minimal"
    results = again.json()["results"]
    assert [r["body"] for r in results] == [None] * 6
    assert results[0]["problem"]["type"].endswith("idempotency-conflict")
    assert again.json()["visit_id"] == visit_id
    assert (field.count(Visit), field.count(StepObservation), field.count(Media)) == (1, 2, 2)


def test_without_return_minimal_every_result_carries_its_body(field: Field) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    start = send(field, assignment_id, [start_op()], headers=field.shopper | MINIMAL)
    assert statuses(start) == [201]
    visit_id = start.json()["visit_id"]
    url = f"/api/v1/visits/{visit_id}/batch"
    step = {"op": "step", "step_key": "entrance", "body": entrance_body()}

    full = field.client.post(
        url,
        json={"operations": [step]},
        headers=field.shopper | {"Prefer": "return=representation"},
    )
    assert statuses(full) == [200]
    assert "preference-applied" not in full.headers
    assert full.json()["results"][0]["body"]["step_key"] == "entrance"

    brief = field.client.post(url, json={"operations": [step]}, headers=field.shopper | MINIMAL)
    assert statuses(brief) == [200]
    assert brief.headers["preference-applied"] == "return=minimal"
    assert brief.json()["results"] == [{"index": 0, "status": 200, "body": None, "problem": None}]
    assert field.count(StepObservation) == 1


def test_who_may_send_a_batch_is_settled_before_its_body(field: Field) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    url = f"/api/v1/assignments/{assignment_id}/visit/batch"
    post = field.client.post
    junk = {"content": b"{not json", "headers": {"content-type": "application/json"}}

    # No token, or one that is not ours: 401 whatever the body holds.
    assert post(url, content=b"x", headers={"content-type": "text/plain"}).status_code == 401
    forged = {"Authorization": "Bearer not.a.token"}
    assert post(url, **junk | {"headers": junk["headers"] | forged}).status_code == 401
    # A signed-in manager: 403, before the body is looked at.
    refused = post(url, **junk | {"headers": junk["headers"] | field.manager})
    assert refused.status_code == 403, refused.text
    assert post(url, json={"operations": [start_op()]}, headers=field.manager).status_code == 403
    # A shopper's malformed batch is 422; once the account is disabled, 401.
    assert post(url, **junk | {"headers": junk["headers"] | field.shopper}).status_code == 422
    with field.db.session() as session:
        shopper = session.get(User, field.world.ids["shopper-1"])
        assert shopper is not None
        shopper.is_active = False
    disabled = send(field, assignment_id, [start_op()])
    assert disabled.status_code == 401, disabled.text
    assert field.count(Visit) == 0


def test_a_valid_batch_read_in_one_pass_parses_as_each_operation_would() -> None:
    """A batch whose operations are all valid is read as ValidVisitBatch (bodies validated as
    the JSON is parsed); it must give what reading each operation's body on its own gives."""
    operations, files = whole_visit()
    operations[2]["body"]["answers"] |= {"big": 2**70, "small": 1e-05, "text": "één ☕"}
    text = json.dumps({"operations": operations})
    one_pass = ValidVisitBatch.model_validate_json(text).operations
    each = VisitBatchRequest.model_validate_json(text).operations
    assert [type(op.body) for op in one_pass] == [
        VisitStart,
        MediaFields,
        StepWrite,
        MediaFields,
        StepWrite,
        VisitSubmit,
    ]
    assert all(isinstance(op.body, dict) for op in each)
    parsed = service.parse_visit_operations(one_pass, files, limit=10**6)
    assert parsed == service.parse_visit_operations(each, files, limit=10**6)
    assert not any(isinstance(item, Exception) for item in parsed)
    step = parsed[2]
    assert isinstance(step, service.StepInput) and step.body["answers"]["big"] == 2**70


def test_a_batch_that_does_not_fit_in_one_pass_is_read_operation_by_operation(
    field: Field,
) -> None:
    """Fields the one-pass reading does not take (a step_key on a check-in, a file on a step)
    are ignored as before, and a bad operation is refused on its own."""
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    operations, files = whole_visit()
    operations[0]["step_key"] = "entrance"
    operations[4]["body"]["conscious"] = {"valence": 9}  # out of range: till refused
    with pytest.raises(ValidationError):
        ValidVisitBatch.model_validate_json(json.dumps({"operations": operations}))
    response = send(field, assignment_id, operations, files)
    assert statuses(response) == [201, 201, 200, 201, 422, 422]
    problem = response.json()["results"][4]["problem"]
    assert ("till", "conscious.valence") in {(e["step"], e["field"]) for e in problem["errors"]}
