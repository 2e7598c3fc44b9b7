"""A fresh whole visit is checked and built before the write transaction (api/visits/fresh.py):
it must store and answer exactly what the general way, operation by operation, does; and when
what it was checked against changes before the write, it writes nothing and leaves the batch to
the general way."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from api.accounts.models import User
from api.audit.models import AuditEntry
from api.events import service as events
from api.qc.models import QcFlag, QcRun
from api.visits import fresh, service
from api.visits.media import LocalMediaStore
from api.visits.models import Media, StepObservation, Visit, VisitBatchOperation
from tests.visits.conftest import Field, photo_bytes
from tests.visits.test_visit_batch import send, statuses, whole_visit

# Differ between two sends of one visit: ids, times of writing, and the links to other rows.
VOLATILE = {"id", "visit_id", "assignment_id", "entity_id", "updated_at", "created_at", "at"}
VOLATILE |= {"submitted_at", "payload_hash", "checkout_hash", "storage_key", "sha256", "size"}


def renamed(operations: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The operations with every client UUID replaced, and the map back to the originals."""
    text = json.dumps(operations)
    back: dict[str, str] = {}
    for old in {op["body"]["client_uuid"] for op in operations}:
        new = str(uuid.uuid4())
        text = text.replace(old, new)
        back[new] = old
    return json.loads(text), back


def normal(value: Any, back: dict[str, str]) -> Any:
    """``value`` without its volatile fields, with UUIDs mapped back."""
    if isinstance(value, dict):
        return {k: normal(v, back) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normal(v, back) for v in value]
    if isinstance(value, str):
        for new, old in back.items():
            value = value.replace(new, old)
    return value


def stored_rows(field: Field, assignment_id: int) -> dict[str, Any]:
    """Every row the visit of ``assignment_id`` wrote, as plain data."""
    with field.db.session() as session:
        visit = session.exec(select(Visit).where(Visit.assignment_id == assignment_id)).one()

        def rows(model: Any, *where: Any) -> list[dict[str, Any]]:
            found = session.exec(select(model).where(*where).order_by(model.id)).all()
            return [row.model_dump(mode="json") for row in found]

        return {
            "visit": visit.model_dump(mode="json"),
            "steps": rows(StepObservation, StepObservation.visit_id == visit.id),
            "media": rows(Media, Media.visit_id == visit.id),
            "audit": rows(
                AuditEntry, AuditEntry.entity == "assignment", AuditEntry.entity_id == assignment_id
            ),
            "qc_runs": rows(QcRun, QcRun.visit_id == visit.id),
            "qc_flags": rows(QcFlag, QcFlag.visit_id == visit.id),
        }


def test_a_fresh_visit_stores_and_answers_what_the_general_way_does(
    field: Field, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned, stored_fresh = [], []
    monkeypatch.setattr(fresh, "plan", _recording(fresh.plan, planned))
    monkeypatch.setattr(fresh, "store_many", _recording(fresh.store_many, stored_fresh))
    emitted: list[Any] = []
    monkeypatch.setattr(events, "emit", _recording(events.emit, emitted, argument=1))
    first, second = field.assignment(), field.assignment()
    field.pass_quiz(first)
    field.pass_quiz(second)
    operations, files = whole_visit()
    operations[0]["body"]["latitude"] = -33.9  # far from the shop: QC flags the check-in
    emitted.clear()
    quick = send(field, first, operations, files)
    assert statuses(quick) == [201, 201, 200, 201, 200, 200]
    assert planned[-1] is not None and stored_fresh[-1] == [quick.json()["visit_id"]]
    fresh_events = list(emitted)

    monkeypatch.setattr(fresh, "looks_fresh", lambda operations: False)
    emitted.clear()
    again, back = renamed(operations)
    # Other photos: the same ones would be flagged as duplicates of the first visit's.
    other_photos = {"p0": photo_bytes(noise=True), "p1": photo_bytes("PNG", noise=True)}
    general = send(field, second, again, other_photos)
    assert len(stored_fresh) == 1  # the general way this time

    assert normal(general.json(), back) == normal(quick.json(), {})
    rows = stored_rows(field, first)
    assert rows["qc_flags"], "the check-in far from the shop should raise a flag"
    assert normal(stored_rows(field, second), back) == normal(rows, {})
    kinds = [(e.type, e.state, e.visit_id is None) for e in fresh_events]
    assert kinds == [(e.type, e.state, e.visit_id is None) for e in emitted]
    assert [kind[0] for kind in kinds] == [
        "assignment.changed",
        "assignment.changed",
        "visit.submitted",
    ]


def _recording(function: Any, calls: list[Any], argument: int | None = None) -> Any:
    """``function``, keeping its results (or its positional ``argument``) in ``calls``."""

    def recorded(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        calls.append(result if argument is None else args[argument])
        return result

    return recorded


def _plan(
    field: Field,
    assignment_id: int,
    store: LocalMediaStore,
    visit: tuple[list[dict[str, Any]], dict[str, bytes]] | None = None,
) -> fresh.FreshVisit:
    operations, files = visit or whole_visit()
    parsed = service.parse_visit_operations(
        [VisitBatchOperation.model_validate(op) for op in operations], files, limit=10**6
    )
    assert fresh.looks_fresh(parsed)
    with field.db.session(read_only=True) as session:
        shopper = session.get(User, field.world.ids["shopper-1"])
        assert shopper is not None
        assignment = service.own_assignment(session, shopper=shopper, assignment_id=assignment_id)
        planned = fresh.plan(
            session, assignment=assignment, operations=parsed, actor=shopper, store=store
        )
    assert planned is not None
    return planned


def _nothing_written(session: Session) -> None:
    for model in (Visit, StepObservation, Media, QcRun):
        assert session.exec(select(model)).first() is None, model


def test_a_plan_whose_assignment_changed_writes_nothing(field: Field, tmp_path: Path) -> None:
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    planned = _plan(field, assignment_id, LocalMediaStore(tmp_path))
    cancelled = field.client.post(
        f"/api/v1/assignments/{assignment_id}/cancel",
        json={"comment": "shop closed"},
        headers=field.manager,
    )
    assert cancelled.status_code == 200, cancelled.text
    with field.db.session() as session:
        assert fresh.store_many(session, [planned]) == [None]
        _nothing_written(session)


def test_a_plan_whose_photo_turned_up_elsewhere_writes_nothing(
    field: Field, tmp_path: Path
) -> None:
    """QC flags a photo that another visit holds too; one stored after the plan was checked
    must not slip past it."""
    assignment_id, other = field.assignment(), field.assignment()
    field.pass_quiz(assignment_id)
    field.pass_quiz(other)
    planned = _plan(field, assignment_id, LocalMediaStore(tmp_path))
    operations, files = whole_visit()  # the same photo bytes
    assert files["p0"] == photo_bytes()
    assert statuses(send(field, other, operations, files))[-1] == 200
    with field.db.session() as session:
        assert fresh.store_many(session, [planned]) == [None]
        assert (
            session.exec(select(Visit).where(Visit.assignment_id == assignment_id)).first() is None
        )


def test_a_fresh_visit_reusing_a_stored_uuid_keeps_nothing_and_gets_409(
    field: Field, caplog: pytest.LogCaptureFixture
) -> None:
    """The unique indexes refuse a client UUID that another assignment's visit holds: the short
    write keeps nothing, and the general way answers the step that reused it with 409."""
    first, second = field.assignment(), field.assignment()
    field.pass_quiz(first)
    field.pass_quiz(second)
    operations, files = whole_visit()
    assert statuses(send(field, first, operations, files)) == [201, 201, 200, 201, 200, 200]
    taken = operations[2]["body"]["client_uuid"]  # the entrance step's

    reusing, _ = whole_visit()
    assert reusing[2]["op"] == "step" and reusing[2]["body"]["client_uuid"] != taken
    reusing[2]["body"]["client_uuid"] = taken
    other_photos = {"p0": photo_bytes(noise=True), "p1": photo_bytes("PNG", noise=True)}
    with caplog.at_level("INFO", logger="api.visits.fresh"):
        response = send(field, second, reusing, other_photos)
    assert "client UUID of 1 fresh visits was taken" in caplog.text
    assert statuses(response) == [201, 201, 409, 201, 200, 422]
    problem = response.json()["results"][2]["problem"]
    assert problem["type"].endswith("idempotency-conflict") and problem["client_uuid"] == taken
    with field.db.session() as session:
        holders = session.exec(
            select(StepObservation.visit_id).where(StepObservation.client_uuid == taken)
        ).all()
        visits = session.exec(select(Visit.assignment_id, Visit.submitted_at)).all()
    assert holders == [_visit_id(field, first)]
    assert sorted((a, s is not None) for a, s in visits) == [(first, True), (second, False)]


def _visit_id(field: Field, assignment_id: int) -> int | None:
    with field.db.session() as session:
        return session.exec(select(Visit.id).where(Visit.assignment_id == assignment_id)).one()


def test_plans_stored_together_keep_apart_what_clashes(field: Field, tmp_path: Path) -> None:
    """One group transaction stores the plans that still hold; a second plan of the same
    assignment (the same visit sent twice at once) and a plan whose photo another plan of the
    group holds go the general way, which answers them."""
    store = LocalMediaStore(tmp_path)
    first, second, third = field.assignment(), field.assignment(), field.assignment()
    for assignment_id in (first, second, third):
        field.pass_quiz(assignment_id)
    visit, same_photos = whole_visit(), whole_visit()
    others = whole_visit()
    others[1].update({"p0": photo_bytes(noise=True), "p1": photo_bytes("PNG", noise=True)})
    plans = [
        _plan(field, first, store, visit),
        _plan(field, first, store, visit),
        _plan(field, second, store, same_photos),
        _plan(field, third, store, others),
    ]
    with field.db.session() as session:
        stored = fresh.store_many(session, plans)
    assert stored[0] is not None and stored[3] is not None
    assert stored[1:3] == [None, None]
    assert field.count(Visit) == 2

    resend = send(field, first, *visit)
    assert statuses(resend) == [200] * 6
    assert resend.json()["visit_id"] == stored[0]
    duplicate = send(field, second, *same_photos)
    assert statuses(duplicate) == [201, 201, 200, 201, 200, 200]
    assert "duplicate_photo" in {flag["rule"] for flag in stored_rows(field, second)["qc_flags"]}


def test_a_failed_group_write_leaves_its_visits_to_the_general_way(
    field: Field, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session: Session, plans: list[fresh.FreshVisit]) -> list[int | None]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(fresh, "store_many", broken)
    assignment_id = field.assignment()
    field.pass_quiz(assignment_id)
    response = send(field, assignment_id, *whole_visit())
    assert statuses(response) == [201, 201, 200, 201, 200, 200]
    assert (field.count(Visit), field.count(StepObservation), field.count(Media)) == (1, 2, 2)


def test_the_group_writer_answers_every_thread_with_its_own_visit(
    field: Field, tmp_path: Path
) -> None:
    store = LocalMediaStore(tmp_path)
    plans = []
    for _ in range(6):
        assignment_id = field.assignment()
        field.pass_quiz(assignment_id)
        operations, _ = whole_visit()
        photos = {"p0": photo_bytes(noise=True), "p1": photo_bytes("PNG", noise=True)}
        plans.append(_plan(field, assignment_id, store, (operations, photos)))
    writer = fresh.GroupWriter(field.db)
    start = threading.Barrier(len(plans))
    answers: dict[int, int | None] = {}

    def write(n: int) -> None:
        start.wait()
        answers[n] = writer.store_all([plans[n]])[0]

    threads = [threading.Thread(target=write, args=(n,)) for n in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == list(range(len(plans)))
    with field.db.session() as session:
        for n, plan in enumerate(plans):
            visit = session.get(Visit, answers[n])
            assert visit is not None and visit.assignment_id == plan.assignment.id
