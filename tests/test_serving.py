"""How a serving process is set up and stopped: long-lived objects frozen, JSON columns written
compactly, background tasks stopped without hanging."""

from __future__ import annotations

import asyncio
import gc
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text

from api.audit.models import AuditEntry
from api.common import cancel_and_wait, utcnow
from api.config import Settings
from api.db import Database
from api.main import create_app, create_served_app

_audit = AuditEntry.__table__  # type: ignore[attr-defined]


def test_a_served_app_freezes_what_lives_as_long_as_the_process(
    settings: Settings, db: Database
) -> None:
    gc.unfreeze()
    try:
        create_app(settings, database=db)
        assert gc.get_freeze_count() == 0  # tests' apps stay collectable
        app = create_served_app(settings, database=db)
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # modules, models, schemas, the app
        with TestClient(app) as client:
            assert client.get("/api/v1/health").status_code == 200
    finally:
        gc.unfreeze()


def test_json_columns_are_stored_compact_in_utf8_and_read_back_whole(db: Database) -> None:
    data = {"naam": "café ☕", "n": [1, 2.5, None], "nested": {"ok": True}}
    with db.engine.begin() as conn:
        entry_id = conn.execute(
            insert(_audit).returning(_audit.c.id),
            {
                "at": utcnow(),
                "actor_id": None,
                "entity": "test",
                "entity_id": 1,
                "action": "json",
                "from_state": None,
                "to_state": None,
                "comment": "",
                "data": data,
            },
        ).scalar_one()
    with db.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT CAST(data AS TEXT) FROM audit_log WHERE id = :id"), {"id": entry_id}
        ).scalar_one()
        read = conn.execute(select(_audit.c.data).where(_audit.c.id == entry_id)).scalar_one()
    assert stored == '{"naam":"café ☕","n":[1,2.5,null],"nested":{"ok":true}}'
    assert read == data


def test_a_background_task_that_ignores_its_cancellation_does_not_hang_the_shutdown() -> None:
    async def stop_both() -> tuple[bool, bool, float]:
        release = asyncio.Event()

        async def stubborn() -> None:
            while not release.is_set():
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    continue  # as a driver that swallows the cancellation

        stuck = asyncio.create_task(stubborn(), name="stubborn")
        ends = asyncio.create_task(asyncio.sleep(10), name="polite")
        await asyncio.sleep(0)
        started = asyncio.get_running_loop().time()
        left = await cancel_and_wait(stuck, timeout=0.3)
        waited = asyncio.get_running_loop().time() - started
        ended = await cancel_and_wait(ends, timeout=5)
        release.set()  # the test's own clean-up
        stuck.cancel()
        await asyncio.wait({stuck}, timeout=5)
        return left, ended, waited

    # A loop of its own in a thread of its own: the browser tests leave one running in this one.
    with ThreadPoolExecutor(1) as pool:
        left, ended, waited = pool.submit(lambda: asyncio.run(stop_both())).result(timeout=30)
    assert (left, ended) == (False, True)
    assert 0.3 <= waited < 2
