"""The visit API end to end: briefing quiz, check-in, steps, photos, submission."""

from __future__ import annotations

import hashlib
import io

from PIL import Image
from sqlmodel import select

from api.assignments.models import Assignment
from api.visits.models import Media, StepObservation, Visit
from tests.visits.conftest import (
    QUIZ_WRONG,
    Field,
    entrance_body,
    new_uuid,
    now_iso,
    photo_bytes,
    till_body,
)


def test_full_visit_from_briefing_to_submission(field: Field) -> None:
    client, shopper = field.client, field.shopper
    assignment_id = field.assignment()
    brief = client.get(f"/api/v1/assignments/{assignment_id}/briefing", headers=shopper)
    assert brief.status_code == 200, brief.text
    assert brief.json()["quiz_passed"] is False
    quiz = brief.json()["briefing"]["quiz"]
    assert quiz["questions"][0]["key"] == "when"
    assert "correct" not in quiz["questions"][0]
    assert "correct" not in brief.json()["journey"]["briefing"]["quiz"]["questions"][0]

    visit = field.start(assignment_id)
    assert visit["status"] == "in_progress"
    assert visit["checkin"] == {"latitude": 52.0, "longitude": 4.0, "accuracy_m": 8.0}
    visit_id = visit["id"]

    entrance = entrance_body()
    written = field.put_step(visit_id, "entrance", entrance)
    assert written.status_code == 200, written.text
    step = written.json()
    assert step["revision"] == 1
    assert step["answers"] == entrance["answers"]
    assert step["probes"][1]["fixation_ms"] == 500  # raw probes kept as sent

    receipt, evidence = new_uuid(), new_uuid()
    till = till_body(receipt, evidence={"price_correct": [evidence]})
    assert field.put_step(visit_id, "till", till).status_code == 200
    jpeg = photo_bytes()
    uploaded = field.upload(visit_id, receipt, jpeg)
    assert uploaded.status_code == 201, uploaded.text
    media = uploaded.json()
    assert media["content_type"] == "image/jpeg"
    assert (media["width"], media["height"]) == (32, 24)
    png = field.upload(
        visit_id, evidence, photo_bytes("PNG"), question="price_correct", content_type="image/png"
    )
    assert png.status_code == 201, png.text
    assert png.json()["content_type"] == "image/png"

    downloaded = client.get(f"/api/v1/media/{receipt}", headers=shopper)
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(downloaded.content).hexdigest() == media["sha256"]
    assert Image.open(io.BytesIO(downloaded.content)).size == (32, 24)

    submitted = field.submit(visit_id)
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["status"] == "submitted"
    assert body["submitted_at"] is not None
    assert [s["step_key"] for s in body["steps"]] == ["entrance", "till"]
    assert body["missing_media"] == []
    assert {m["client_uuid"] for m in body["media"]} == {receipt, evidence}

    again = client.get(f"/api/v1/assignments/{assignment_id}/visit", headers=field.manager)
    assert again.status_code == 200
    assert again.json()["steps"][0]["conscious"]["valence"] == 2
    assert client.get(f"/api/v1/media/{receipt}", headers=field.manager).status_code == 200


def test_photo_is_stored_without_its_exif(field: Field) -> None:
    visit_id = field.start()["id"]
    image = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° when shown
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    media_uuid = new_uuid()
    response = field.upload(visit_id, media_uuid, out.getvalue())
    assert response.status_code == 201, response.text
    assert (response.json()["width"], response.json()["height"]) == (20, 40)
    stored = field.client.get(f"/api/v1/media/{media_uuid}", headers=field.shopper).content
    assert b"SecretCam" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()


def test_quiz_gate_blocks_start_until_passed(field: Field) -> None:
    assignment_id = field.assignment()
    start = {"client_uuid": new_uuid(), "started_at": now_iso()}
    url = f"/api/v1/assignments/{assignment_id}/visit"
    refused = field.client.post(url, json=start, headers=field.shopper)
    assert refused.status_code == 409
    assert refused.json()["rule"] == "briefing_quiz"
    wrong = field.client.post(
        f"/api/v1/assignments/{assignment_id}/briefing/quiz",
        json={"answers": QUIZ_WRONG},
        headers=field.shopper,
    )
    assert wrong.status_code == 201
    assert wrong.json() == {
        "passed": False,
        "score_percent": 0.0,
        "wrong": ["when"],
        "attempts_used": 1,
    }
    assert field.client.post(url, json=start, headers=field.shopper).status_code == 409
    field.pass_quiz(assignment_id)
    assert field.client.post(url, json=start, headers=field.shopper).status_code == 201


def test_quiz_refused_after_max_attempts(field: Field) -> None:
    assignment_id = field.assignment()
    url = f"/api/v1/assignments/{assignment_id}/briefing/quiz"
    for _ in range(3):  # the quiz's default max_attempts
        assert (
            field.client.post(url, json={"answers": QUIZ_WRONG}, headers=field.shopper).status_code
            == 201
        )
    refused = field.client.post(url, json={"answers": {"when": "a"}}, headers=field.shopper)
    assert refused.status_code == 409
    assert refused.json()["rule"] == "max_attempts"
    brief = field.client.get(f"/api/v1/assignments/{assignment_id}/briefing", headers=field.shopper)
    assert brief.json()["attempts_used"] == 3


def test_someone_elses_assignment_visit_and_media_are_not_found(field: Field) -> None:
    visit_id = field.start()["id"]
    media_uuid = new_uuid()
    assert field.upload(visit_id, media_uuid).status_code == 201
    other, client = field.other, field.client
    assignment_id = field.assignment(accept=False)
    for response in (
        client.get(f"/api/v1/assignments/{assignment_id}/briefing", headers=other),
        client.post(
            f"/api/v1/assignments/{assignment_id}/visit",
            json={"client_uuid": new_uuid(), "started_at": now_iso()},
            headers=other,
        ),
        client.get(f"/api/v1/visits/{visit_id}", headers=other),
        client.put(
            f"/api/v1/visits/{visit_id}/steps/entrance", json=entrance_body(), headers=other
        ),
        client.post(
            f"/api/v1/visits/{visit_id}/media",
            data={"client_uuid": new_uuid(), "step_key": "till"},
            files={"file": ("a.jpg", photo_bytes(), "image/jpeg")},
            headers=other,
        ),
        client.post(
            f"/api/v1/visits/{visit_id}/submit",
            json={"client_uuid": new_uuid(), "ended_at": now_iso()},
            headers=other,
        ),
        client.get(f"/api/v1/media/{media_uuid}", headers=other),
        client.get(f"/api/v1/visits/{visit_id}", headers=field.world_login("mgr-b")),
    ):
        assert response.status_code == 404, response.text
    assert field.count(StepObservation) == 0
    assert field.count(Media) == 1


def test_start_refused_in_the_wrong_state(field: Field) -> None:
    offered = field.assignment(accept=False)
    response = field.client.post(
        f"/api/v1/assignments/{offered}/visit",
        json={"client_uuid": new_uuid(), "started_at": now_iso()},
        headers=field.shopper,
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/invalid-transition")
    assert field.count(Visit) == 0


def test_start_refused_outside_the_visit_window(field: Field) -> None:
    later = field.assignment(start_offset_h=30)
    field.pass_quiz(later)
    response = field.client.post(
        f"/api/v1/assignments/{later}/visit",
        json={"client_uuid": new_uuid(), "started_at": now_iso()},
        headers=field.shopper,
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "visit_window"

    ended = field.assignment(start_offset_h=-2)
    field.pass_quiz(ended)
    with field.db.session() as session:
        row = session.get(Assignment, ended)
        assert row is not None
        row.window_end = row.window_start + (row.window_end - row.window_start) / 100
        session.add(row)
    response = field.client.post(
        f"/api/v1/assignments/{ended}/visit",
        json={"client_uuid": new_uuid(), "started_at": now_iso()},
        headers=field.shopper,
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "visit_window"
    assert field.count(Visit) == 0
    with field.db.session() as session:
        statuses = session.exec(select(Assignment.status).where(Assignment.id.in_([later, ended])))
        assert set(statuses) == {"accepted"}
