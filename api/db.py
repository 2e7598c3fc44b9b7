"""Engine and sessions: one transaction per request.

On SQLite every writing transaction starts with ``BEGIN IMMEDIATE`` so that writers queue on the
database lock up front instead of failing halfway; reads use a deferred transaction and, in WAL
mode, never wait for writers. Writers queue in Python rather than in SQLite's busy handler, which
sleeps in growing steps (long tails): on a lock in the process, then on a file lock shared by every
process of the deployment (several server workers), which the kernel hands on at once.
PostgreSQL runs at READ COMMITTED and services lock the rows they check (``SELECT ... FOR
UPDATE``) where a rule must hold under concurrency.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic_core import to_json
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Table,
    create_engine,
    event,
    insert,
)
from sqlalchemy.engine import Row, make_url
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

try:
    import fcntl
except ImportError:  # Windows: the workers of one process still queue on the thread lock
    fcntl = None  # type: ignore[assignment]

M = TypeVar("M")
READ_ONLY = {"sqlite_begin": "DEFERRED"}
WRITE_WAIT_SECONDS = 30
_HOLDS_WRITE_LOCK = "fieldwork_holds_write_lock"
CACHE = "fieldwork_cache"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def json_text(value: Any) -> str:
    """JSON columns' text: compact, UTF-8 as is; several times faster than ``json.dumps``, and a
    whole visit stores about a hundred of them."""
    return to_json(value).decode()


def detached(model: type[M], row: Row[Any]) -> M:
    """A table model built from a Core row, as if loaded by a session that has closed: for hot
    reads where the ORM's identity map costs more than the query. Built the way the ORM loads a
    row (a new instance, its columns set in its ``__dict__``, no validation: the values come
    from the database), a quarter of the cost of ``model(**row)``."""
    instance = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    instance.__dict__.update(row._mapping)
    make_transient_to_detached(instance)
    return cast(M, instance)


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
            # As many as the thread pool's requests (40) and then some: a connection opened
            # beyond the pool is closed on return, and opening one costs more than a request.
            pool_size=48,
            max_overflow=16,
            json_serializer=json_text,
            **kwargs,
        )
        lock_path = None
        if parsed.database and parsed.database != ":memory:" and "mode=memory" not in url:
            lock_path = Path(f"{parsed.database}-writers")
        _configure_sqlite(engine, _WriterQueue(lock_path))
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        json_serializer=json_text,
        **kwargs,
    )


class _WriterQueue:
    """SQLite admits one writer at a time: the writers of all processes queue here.

    A plain Lock for the threads of this process (FastAPI may begin and end one request's
    transaction on different threads), then an exclusive ``flock`` on a file beside the database
    for the other processes; a process that dies drops its file lock with it. The thread lock
    gives up after ``WRITE_WAIT_SECONDS``; the file lock waits for the other process's
    transaction, as long as that takes.
    """

    def __init__(self, path: Path | None) -> None:
        self._threads = threading.Lock()
        self._path = path
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int | None:
        if self._path is None or fcntl is None:
            return None
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> None:
        if not self._threads.acquire(timeout=WRITE_WAIT_SECONDS):
            raise TimeoutError(f"no database write slot within {WRITE_WAIT_SECONDS} s")
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None and self._pid == os.getpid() and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def _configure_sqlite(engine: Engine, writers: _WriterQueue) -> None:
    # The write slot is taken when a writing transaction really begins (its first statement) and
    # freed when it ends, so work before the first statement never holds it.
    def release(info: dict[str, Any]) -> None:
        if info.pop(_HOLDS_WRITE_LOCK, False):
            writers.release()

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
        if mode == "IMMEDIATE":
            writers.acquire()
            connection.info[_HOLDS_WRITE_LOCK] = True
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            release(connection.info)
            raise

    # Freed once COMMIT or ROLLBACK has run: SQLAlchemy's "commit" and "rollback" events come
    # before them, and a writer let in then would find SQLite still locked and sleep in its busy
    # handler. The dialect's calls get the pooled connection, whose ``info`` is the one above.
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def held(dbapi_connection: Any) -> dict[str, Any]:
        try:
            return dbapi_connection.info  # type: ignore[no-any-return]
        except NotImplementedError:  # the dialect's first look at a new connection, unpooled
            return {}

    def do_commit(dbapi_connection: Any) -> None:
        commit(dbapi_connection)
        release(held(dbapi_connection))

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            release(held(dbapi_connection))

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        release(record.info)  # a connection returned without commit or rollback


class Database:
    """The engine of one deployment and the sessions made from it."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._read_engine = self.engine.execution_options(**READ_ONLY)
        # Immutable rows parsed once per deployment (published journey versions), shared by the
        # sessions of this database through ``session.info[CACHE]``.
        self.cache: dict[Any, Any] = {}

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A session whose transaction commits when the block succeeds, else rolls back."""
        bind = self._read_engine if read_only else self.engine
        with Session(bind=bind, expire_on_commit=False, info={CACHE: self.cache}) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def read_connection(self) -> Connection:
        """A Core connection for a short read (deferred transaction, rolled back on close)."""
        return self._read_engine.connect()

    def dispose(self) -> None:
        self.engine.dispose()


class DriverInsert:
    """An INSERT of many rows sent to the database driver as it is (``exec_driver_sql``).

    The statement is compiled once per dialect by SQLAlchemy (with PostgreSQL's casts), and
    ``prepare`` turns a row into the driver's parameters with the columns' own bind processors,
    so that can happen before the write transaction: a writer holding SQLite's one write slot
    then spends its turn in the database, not in building parameters.
    """

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.table, self.columns = table, tuple(columns)
        self._compiled: dict[str, _DriverSQL] = {}

    def _for(self, dialect: Dialect) -> _DriverSQL:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = insert(self.table).compile(dialect=dialect, column_keys=list(self.columns))
            if set(compiled.params) != set(self.columns):  # a column default would need a value
                raise ValueError(f"{self.table.name}: the insert binds {sorted(compiled.params)}")
            processors = []
            for name in self.columns:
                column_type = self.table.c[name].type.dialect_impl(dialect)
                process = column_type.bind_processor(dialect)
                if process is not None:
                    processors.append((name, process))
            positions = compiled.positiontup if compiled.positional else None
            found = self._compiled[dialect.name] = _DriverSQL(
                str(compiled),
                itemgetter(*positions) if positions else None,
                tuple(processors),
            )
        return found

    def prepare(self, dialect: Dialect, row: dict[str, Any]) -> dict[str, Any]:
        """The row's values as the driver takes them (a new dict; ``row`` is left as is)."""
        prepared = dict(row)
        for name, process in self._for(dialect).processors:
            prepared[name] = process(prepared[name])
        return prepared

    def execute(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``prepare``d rows."""
        sql = self._for(connection.dialect)
        if sql.positions is None:
            connection.exec_driver_sql(sql.text, list(rows))
        elif len(self.columns) == 1:
            connection.exec_driver_sql(sql.text, [(sql.positions(row),) for row in rows])
        else:
            connection.exec_driver_sql(sql.text, [sql.positions(row) for row in rows])


@dataclass(frozen=True)
class _DriverSQL:
    text: str
    positions: Callable[[dict[str, Any]], Any] | None  # a row's values in the driver's order
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
