"""Whole-visit batches take turns in two lanes per process: a large one (many or large photos)
holds up no usual one (api/visits/router.py, LIGHT_BATCH_BYTES)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx

from api.visits.media import LocalMediaStore
from api.visits.router import LIGHT_BATCH_BYTES
from tests.conftest import LiveServer
from tests.visits.conftest import Field, photo_bytes
from tests.visits.test_visit_batch import whole_visit


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
