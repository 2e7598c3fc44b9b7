"""SQLite writers of several server processes queue on one file lock, not in the busy handler."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from api.db import Database
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="the writer queue is SQLite's")


def _hold_write_slot(url: str, holding: object, release: object) -> None:
    database = Database(url)
    with database.session() as session:
        session.execute(text("INSERT INTO scratch (name) VALUES ('first')"))
        holding.set()  # type: ignore[attr-defined]
        release.wait(10)  # type: ignore[attr-defined]
    database.dispose()


def _lock_is_free(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops a lock taken here
    return True


def test_a_write_in_another_process_waits_for_the_write_slot(database_url: str) -> None:
    lock_file = Path(database_url.removeprefix("sqlite:///") + "-writers")
    setup = Database(database_url)
    with setup.session() as session:
        session.execute(text("CREATE TABLE scratch (name TEXT)"))
    setup.dispose()
    context = multiprocessing.get_context("spawn")
    holding, release = context.Event(), context.Event()
    child = context.Process(target=_hold_write_slot, args=(database_url, holding, release))
    child.start()
    try:
        assert holding.wait(30)
        assert not _lock_is_free(lock_file)  # the other process's transaction holds the slot

        database = Database(database_url)
        started = time.monotonic()
        threading.Timer(0.3, release.set).start()
        with database.session() as session:
            session.execute(text("INSERT INTO scratch (name) VALUES ('second')"))
        waited = time.monotonic() - started
        with database.session(read_only=True) as session:
            names = session.execute(text("SELECT name FROM scratch ORDER BY rowid")).scalars().all()
        database.dispose()
    finally:
        release.set()
        child.join(10)
    assert waited >= 0.25  # it began only when the other process committed
    assert names == ["first", "second"]
    assert _lock_is_free(lock_file)


def test_the_write_slot_is_held_until_commit_has_run(database_url: str) -> None:
    lock_file = Path(database_url.removeprefix("sqlite:///") + "-writers")
    database = Database(database_url)
    with database.session() as session:
        session.execute(text("CREATE TABLE scratch (name TEXT)"))
    seen: list[tuple[str, bool]] = []

    def trace(statement: str) -> None:
        if statement in ("COMMIT", "ROLLBACK"):
            seen.append((statement, _lock_is_free(lock_file)))

    for outcome in ("commit", "rollback"):
        try:
            with database.session() as session:
                session.execute(text("INSERT INTO scratch (name) VALUES (:n)"), {"n": outcome})
                raw = session.connection().connection.driver_connection
                raw.set_trace_callback(trace)  # type: ignore[union-attr]
                if outcome == "rollback":
                    raise RuntimeError("undo")
        except RuntimeError:
            pass
        raw.set_trace_callback(None)  # type: ignore[union-attr]
        assert _lock_is_free(lock_file)  # freed afterwards
    with database.session(read_only=True) as session:
        names = session.execute(text("SELECT name FROM scratch")).scalars().all()
    database.dispose()
    # While SQLite ran COMMIT and ROLLBACK, no other process could take the write slot.
    assert seen == [("COMMIT", False), ("ROLLBACK", False)]
    assert names == ["commit"]
