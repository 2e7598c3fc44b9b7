"""Publishing events when their transaction commits, and the per-process hub that fans them out.

PostgreSQL: ``emit`` runs ``pg_notify('fieldwork_events', payload)`` inside the caller's
transaction. NOTIFY is transactional (a rolled-back transaction or savepoint sends nothing) and
every process LISTENs on one connection of its own, so every worker of every machine sees every
event, in commit order.

SQLite (one process): ``emit`` keeps the events in ``session.info``; an ``after_commit`` hook hands
them to the hubs of this process that serve the same database file, and a rollback (also of a
savepoint) drops them.

Subscribers are bounded asyncio queues: one that falls ``queue_size`` events behind is closed
(its client reconnects with ``Last-Event-ID`` and catches up from the hub's recent events) rather
than letting memory grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, SessionTransaction

from api.common import cancel_and_wait
from api.events.models import Event

log = logging.getLogger("fieldwork.events")

CHANNEL = "fieldwork_events"
_PENDING = "fieldwork_pending_events"
_ONCE = "fieldwork_emitted_once"


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _local_key(url: str | URL) -> str:
    return make_url(url).render_as_string(hide_password=True)


def emit(session: Session, event: Event, *, once: bool = False) -> None:
    """Publish ``event`` if and when the session's current transaction commits.

    ``once``: skip it when this transaction already emitted an event of the same type about the
    same project and visit (e.g. results re-materialised twice in one amendment).
    """
    tag = session.get_nested_transaction()
    if once:
        key = (event.type, event.project_id, event.visit_id)
        emitted: list[tuple[SessionTransaction | None, Any]] = session.info.setdefault(_ONCE, [])
        if any(k == key for _, k in emitted):
            return
        emitted.append((tag, key))
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": event.model_dump_json()},
        )
        return
    pending: list[tuple[SessionTransaction | None, Event]] = session.info.setdefault(_PENDING, [])
    pending.append((tag, event))


@sa_event.listens_for(Session, "after_commit")
def _publish_on_commit(session: Session) -> None:
    session.info.pop(_ONCE, None)
    pending = session.info.pop(_PENDING, None)
    if pending:
        _publish_local(_local_key(session.get_bind().url), [event for _, event in pending])


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous: SessionTransaction) -> None:
    for name in (_PENDING, _ONCE):
        entries = session.info.get(name)
        if not entries:
            continue
        if previous.nested:
            session.info[name] = [(tag, e) for tag, e in entries if not _within(tag, previous)]
        else:
            session.info.pop(name, None)


def _within(tag: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while tag is not None:
        if tag is savepoint:
            return True
        tag = tag.parent
    return False


# The hubs of this process by database URL: SQLite's commits are published to them directly.
_local_hubs: dict[str, set[Hub]] = {}
_local_lock = threading.Lock()


def _publish_local(key: str, events: list[Event]) -> None:
    with _local_lock:
        hubs = list(_local_hubs.get(key, ()))
    for hub in hubs:
        hub.publish_many(events)


class Subscriber:
    """One open stream: the project it follows, whether it may see staff-only events, its queue."""

    def __init__(
        self, *, project_id: int, staff: bool, loop: asyncio.AbstractEventLoop, size: int
    ) -> None:
        self.project_id = project_id
        self.staff = staff
        self.loop = loop
        # None closes the stream (overflow or shutdown).
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=size + 1)
        self.size = size
        self.closed: str | None = None

    def wants(self, event: Event) -> bool:
        return event.project_id == self.project_id and (self.staff or event.for_clients)

    def offer(self, event: Event) -> None:
        """Queue ``event`` (on the subscriber's loop); a subscriber that fell behind is closed."""
        if self.closed:
            return
        if self.queue.qsize() >= self.size:
            self.close("overflow")
            return
        self.queue.put_nowait(event)

    def offer_all(self, events: list[Event]) -> None:
        for event in events:
            self.offer(event)

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = reason
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class Hub:
    """Every event of the database this app serves, fanned out to this process's subscribers."""

    def __init__(self, *, database_url: str, queue_size: int = 4096, replay_size: int = 5000):
        self.database_url = database_url
        self._key = _local_key(database_url)
        self.queue_size = queue_size
        self._recent: deque[Event] = deque(maxlen=replay_size)
        self._subscribers: set[Subscriber] = set()
        self._watchers: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.running = False

    # ------------------------------------------------------------ lifecycle

    async def start(self, *, listen_timeout: float = 10.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._listening = asyncio.Event()
        if is_postgres(self.database_url):
            self._listener = asyncio.create_task(self._listen(), name="fieldwork-events-listen")
            # Events committed once the app serves requests must reach it: wait for LISTEN.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), listen_timeout)
        else:
            with _local_lock:
                _local_hubs.setdefault(self._key, set()).add(self)
        self.running = True

    async def stop(self) -> None:
        self.running = False
        with _local_lock:
            hubs = _local_hubs.get(self._key)
            if hubs is not None:
                hubs.discard(self)
                if not hubs:
                    del _local_hubs[self._key]
        if self._listener is not None:
            await cancel_and_wait(self._listener)
            self._listener = None
        with self._lock:
            subscribers = list(self._subscribers)
            self._subscribers.clear()
        for subscriber in subscribers:
            subscriber.loop.call_soon_threadsafe(subscriber.close, "shutdown")

    async def _listen(self) -> None:
        conninfo = make_url(self.database_url).set(drivername="postgresql")
        dsn = conninfo.render_as_string(hide_password=False)
        delay = 0.5
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    delay = 0.5
                    async for notify in conn.notifies():
                        self._receive(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: listen again, with backoff
                log.warning("event listener lost its connection; reconnecting", exc_info=True)
                self._listening.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _receive(self, payload: str) -> None:
        try:
            event = Event.model_validate_json(payload)
        except ValueError:
            log.warning("ignoring a malformed event: %.200s", payload)
            return
        self.publish(event)

    # ------------------------------------------------------------ fan-out (thread-safe)

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every subscriber that may see it (callable from any thread)."""
        self.publish_many([event])

    def publish_many(self, events: list[Event]) -> None:
        """``publish`` each of ``events`` in order, waking each loop once for all of them (a
        transaction's events: a visit's batch sends three)."""
        with self._lock:
            self._recent.extend(events)
            # Closed subscribers whose stream never started (the client left first) go here.
            self._subscribers = {s for s in self._subscribers if not s.closed}
            offers = [(s, [e for e in events if s.wants(e)]) for s in self._subscribers]
            watchers = list(self._watchers)
        for subscriber, wanted in offers:
            if wanted:
                _call_soon(subscriber.loop, subscriber.offer_all, wanted)
        if self._loop is not None and watchers:
            _call_soon(self._loop, _notify, watchers, events)

    def watch(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` on the hub's loop for every event (e.g. to wake a worker)."""
        with self._lock:
            self._watchers.append(callback)

    def subscribe(
        self, *, project_id: int, staff: bool, last_event_id: str | None = None
    ) -> Subscriber:
        """A new subscriber on the running loop; with ``last_event_id`` it first receives the
        recent events after that one (if the hub still holds it)."""
        subscriber = Subscriber(
            project_id=project_id,
            staff=staff,
            loop=asyncio.get_running_loop(),
            size=self.queue_size,
        )
        with self._lock:
            self._subscribers.add(subscriber)
            if last_event_id:
                recent = list(self._recent)
                ids = [event.id for event in recent]
                if last_event_id in ids:
                    for event in recent[ids.index(last_event_id) + 1 :]:
                        if subscriber.wants(event):
                            subscriber.offer(event)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)


def _notify(watchers: list[Callable[[Event], None]], events: list[Event]) -> None:
    for event in events:
        for watcher in watchers:
            watcher(event)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening any more
        loop.call_soon_threadsafe(callback, *args)
