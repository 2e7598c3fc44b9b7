"""Whole-visit batches take turns in two lanes per process: a large one (many or large photos)
holds up no usual one (api/visits/router.py, LIGHT_BATCH_BYTES); the usual ones that wait run
as one group, each with the answer it would get alone."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from api.visits import fresh
from api.visits.fresh import store_many
from api.visits.media import LocalMediaStore
from api.visits.models import StepObservation, Visit
from api.visits.router import LIGHT_BATCH_BYTES
from tests.conftest import LiveServer
from tests.visits.conftest import Field, entrance_body, photo_bytes
from tests.visits.test_visit_batch import start_op, submit_op, whole_visit


class GatedStore(LocalMediaStore):
    """The real file store, except that storing a large file waits until the test opens the
    gate: the batch that sent it is then held inside its lane."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate, self.holding = threading.Event(), threading.Event()

    def put(self, data: bytes) -> str:
        if len(data) > 100_000:
            self.holding.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return super().put(data)


def post_batch(
    url: str,
    headers: dict[str, str],
    assignment_id: int,
    operations: list[dict[str, Any]],
    files: dict[str, bytes],
) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/assignments/{assignment_id}/visit/batch",
        data={"operations": json.dumps({"operations": operations})},
        files={name: (f"{name}.jpg", data, "image/jpeg") for name, data in files.items()},
        headers=headers,
        timeout=30,
    )


def test_a_large_batch_holds_up_no_usual_one(
    field: Field, live_server: LiveServer, tmp_path: Path
) -> None:
    store = GatedStore(tmp_path / "media")
    field.client.app.state.media_store = store  # type: ignore[attr-defined]
    large_id, usual_id = field.assignment(), field.assignment()
    field.pass_quiz(large_id)
    field.pass_quiz(usual_id)

    operations, files = whole_visit()
    files["p0"] = photo_bytes("JPEG", (1600, 1200), noise=True)  # about 1.1 MB
    assert sum(len(data) for data in files.values()) > LIGHT_BATCH_BYTES
    answers: list[httpx.Response] = []
    large = threading.Thread(
        target=lambda: answers.append(
            post_batch(live_server.url, field.shopper, large_id, operations, files)
        )
    )
    large.start()
    try:
        assert store.holding.wait(30), "the large batch never reached its photo"
        # The large batch is held in its lane; a usual one still goes through at once.
        usual_operations, usual_files = whole_visit()
        usual = post_batch(live_server.url, field.shopper, usual_id, usual_operations, usual_files)
        assert usual.status_code == 200, usual.text
        assert [r["status"] for r in usual.json()["results"]] == [201, 201, 200, 201, 200, 200]
        assert large.is_alive() and not answers
    finally:
        store.gate.set()
        large.join(30)
    assert answers and answers[0].status_code == 200, answers and answers[0].text
    results = answers[0].json()["results"]
    assert [r["status"] for r in results] == [201, 201, 200, 201, 200, 200]
    assert results[1]["body"]["width"] == 1600


class HeldStore(LocalMediaStore):
    """The real file store, except that the first photo stored waits until the test opens the
    gate (its batch's group is then held in the lane), and a 48x48 photo fails to store."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate, self.holding = threading.Event(), threading.Event()

    def put(self, data: bytes) -> str:
        if not self.holding.is_set():
            self.holding.set()
            assert self.gate.wait(30), "the test never opened the gate"
        if Image.open(io.BytesIO(data)).size == (48, 48):
            raise OSError("no space left on device")
        return super().put(data)


def own_visit(size: tuple[int, int] = (32, 24)) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """A whole visit whose photos are in no other visit."""
    operations, _ = whole_visit()
    return operations, {
        "p0": photo_bytes(size=size, noise=True),
        "p1": photo_bytes("PNG", noise=True),
    }


def test_batches_that_wait_run_as_one_group_each_with_its_own_answer(
    field: Field, live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = field.client.app
    store = HeldStore(tmp_path / "media")
    app.state.media_store = store  # type: ignore[attr-defined]
    stores: list[tuple[int, list[int | None]]] = []  # each group write: its plans, their visits

    def recorded(session: Any, plans: list[fresh.FreshVisit]) -> list[int | None]:
        ids = store_many(session, plans)
        stores.append((len(plans), ids))
        return ids

    monkeypatch.setattr(fresh, "store_many", recorded)
    first, a, c, e, f, g = (field.assignment() for _ in range(6))
    for assignment_id in (first, a, c, e, f, g):
        field.pass_quiz(assignment_id)
    visit_a, visit_f = own_visit(), own_visit()
    incomplete = [start_op(), {"op": "step", "step_key": "entrance", "body": entrance_body()}]
    batches = {
        "first": (field.shopper, first, *own_visit()),
        "A": (field.shopper, a, *visit_a),
        "B": (field.shopper, a, *visit_a),  # A's resend, in A's group
        "C": (field.other, c, *own_visit()),  # not the sender's assignment
        "D": (field.shopper, e, [{"op": "approve", "body": {}}], {}),
        "E": (field.shopper, e, [*incomplete, submit_op()], {}),
        "F": (field.shopper, f, *visit_f),
        "G": (field.shopper, g, *own_visit(size=(48, 48))),  # its photo cannot be stored
    }
    answers: dict[str, httpx.Response] = {}

    def post(name: str) -> None:
        headers, assignment_id, operations, files = batches[name]
        if files:
            answers[name] = post_batch(live_server.url, headers, assignment_id, operations, files)
            return
        answers[name] = httpx.post(
            f"{live_server.url}/api/v1/assignments/{assignment_id}/visit/batch",
            json={"operations": operations},
            headers=headers,
            timeout=30,
        )

    threads = {name: threading.Thread(target=post, args=(name,)) for name in batches}
    threads["first"].start()
    try:
        assert store.holding.wait(30), "the first batch never reached its photo"
        lane = app.state.batch_lanes["light"]  # type: ignore[attr-defined]
        deadline = time.monotonic() + 30
        for queued, name in enumerate("ABCDEFG", start=1):  # one after the other: in order
            threads[name].start()
            while lane.waiting < queued:
                assert time.monotonic() < deadline, f"{name} was not queued"
                time.sleep(0.005)
    finally:
        store.gate.set()
        for thread in threads.values():
            thread.join(30)

    assert (lane.groups, lane.jobs) == (2, 8)
    whole = [201, 201, 200, 201, 200, 200]
    for name in ("first", "A", "F"):
        assert answers[name].status_code == 200, answers[name].text
        assert [r["status"] for r in answers[name].json()["results"]] == whole
    resent = answers["B"].json()
    assert [r["status"] for r in resent["results"]] == [200] * 6
    assert resent["visit_id"] == answers["A"].json()["visit_id"]
    assert answers["C"].status_code == 404
    assert answers["D"].status_code == 422
    assert [r["status"] for r in answers["E"].json()["results"]] == [201, 200, 422]
    assert answers["G"].status_code == 500
    # A, its resend and F were written together; the resend then went the general way.
    visit_ids = [answers[name].json()["visit_id"] for name in ("first", "A", "F")]
    assert stores == [(1, visit_ids[:1]), (3, [visit_ids[1], None, visit_ids[2]])]
    assert field.count(Visit) == 4  # first, A, E and F
    assert field.count(StepObservation) == 3 * 2 + 1
    gone = field.client.get(f"/api/v1/assignments/{g}/visit", headers=field.shopper)
    assert gone.status_code == 404
