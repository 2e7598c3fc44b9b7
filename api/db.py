"""Engine and sessions: one transaction per request.

On SQLite every writing transaction starts with ``BEGIN IMMEDIATE`` so that writers queue on the
database lock up front instead of failing halfway; reads use a deferred transaction and, in WAL
mode, never wait for writers. PostgreSQL runs at READ COMMITTED and services lock the rows they
check (``SELECT ... FOR UPDATE``) where a rule must hold under concurrency.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

READ_ONLY = {"sqlite_begin": "DEFERRED"}
WRITE_WAIT_SECONDS = 30


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=32,
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The engine of one deployment and the sessions made from it."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._read_engine = self.engine.execution_options(**READ_ONLY)
        # SQLite admits one writer at a time. Writers of this process queue on a lock instead of
        # polling the database lock, whose busy handler sleeps in growing steps (long tails).
        # A plain Lock, since FastAPI may enter and leave a dependency on different threads.
        self._write_lock = threading.Lock() if is_sqlite(self.engine) else None

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A session whose transaction commits when the block succeeds, else rolls back."""
        bind = self._read_engine if read_only else self.engine
        queue = (
            self._writer_turn() if self._write_lock is not None and not read_only else nullcontext()
        )
        with queue, Session(bind=bind, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        assert self._write_lock is not None
        if not self._write_lock.acquire(timeout=WRITE_WAIT_SECONDS):
            raise TimeoutError(f"no database write slot within {WRITE_WAIT_SECONDS} s")
        try:
            yield
        finally:
            self._write_lock.release()

    def dispose(self) -> None:
        self.engine.dispose()
