"""The per-process hub without a server: bounded subscribers, replay, visibility, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.events import bus
from api.events.bus import Hub
from api.events.models import Event, EventType

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def event(kind: EventType = EventType.visit_approved, project_id: int = 1, n: int = 0) -> Event:
    return Event(type=kind, project_id=project_id, visit_id=n, at=NOW)


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """asyncio.run in a thread of its own: another test (Playwright) may leave a loop running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result(timeout=30)


def test_a_subscriber_that_falls_behind_is_closed_not_buffered() -> None:
    async def scenario() -> None:
        hub = Hub(database_url="sqlite:////tmp/fw-hub-test.sqlite3", queue_size=3)
        await hub.start()
        slow = hub.subscribe(project_id=1, staff=True)
        for n in range(10):
            hub.publish(event(n=n))
        await asyncio.sleep(0.05)  # let the loop run the queued hand-overs
        assert slow.closed == "overflow"
        assert slow.queue.qsize() == 1 and slow.queue.get_nowait() is None
        await hub.stop()

    run(scenario())


def test_clients_receive_only_approvals_revocations_results_and_appeals_of_their_project() -> None:
    async def scenario() -> None:
        hub = Hub(database_url="sqlite:////tmp/fw-hub-test.sqlite3")
        await hub.start()
        client = hub.subscribe(project_id=1, staff=False)
        staff = hub.subscribe(project_id=1, staff=True)
        for kind in EventType:
            hub.publish(event(kind))
        hub.publish(event(EventType.visit_approved, project_id=2))
        await asyncio.sleep(0.05)
        got_client = [client.queue.get_nowait().type for _ in range(client.queue.qsize())]  # type: ignore[union-attr]
        got_staff = [staff.queue.get_nowait().type for _ in range(staff.queue.qsize())]  # type: ignore[union-attr]
        assert got_client == [
            EventType.visit_approved,
            EventType.visit_revoked,
            EventType.results_changed,
            EventType.appeal_changed,
        ]
        assert got_staff == list(EventType)
        await hub.stop()

    run(scenario())


def test_last_event_id_replays_the_events_after_it() -> None:
    async def scenario() -> None:
        hub = Hub(database_url="sqlite:////tmp/fw-hub-test.sqlite3", replay_size=5)
        await hub.start()
        events = [event(n=n) for n in range(8)]
        for e in events:
            hub.publish(e)
        again = hub.subscribe(project_id=1, staff=True, last_event_id=events[4].id)
        assert [again.queue.get_nowait().visit_id for _ in range(3)] == [5, 6, 7]  # type: ignore[union-attr]
        forgotten = hub.subscribe(project_id=1, staff=True, last_event_id=events[1].id)
        assert forgotten.queue.empty()  # beyond the replay window: nothing to replay
        await hub.stop()

    run(scenario())


def test_shutdown_ends_streams_and_unregisters_the_hub(app: FastAPI) -> None:
    with TestClient(app):
        hub: Hub = app.state.events
        assert hub.running
        subscriber = None

        async def subscribe() -> None:
            nonlocal subscriber
            subscriber = hub.subscribe(project_id=1, staff=True)

        # Subscribe on the app's own loop (the TestClient's portal).
        assert hub._loop is not None
        asyncio.run_coroutine_threadsafe(subscribe(), hub._loop).result(5)
        assert hub.subscriber_count == 1
    assert not hub.running and hub.subscriber_count == 0
    assert subscriber is not None and subscriber.closed == "shutdown"
    assert all(hub not in hubs for hubs in bus._local_hubs.values())


def test_a_transactions_events_reach_subscribers_and_watchers_in_order_in_one_wake_up() -> None:
    """publish_many (a committed transaction's events, from a worker thread) hands each loop
    all of them at once: in order, only those a subscriber may see."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        hub = Hub(database_url="sqlite:////tmp/fw-hub-test.sqlite3")
        await hub.start()
        client = hub.subscribe(project_id=1, staff=False)
        other = hub.subscribe(project_id=2, staff=True)
        watched: list[int | None] = []
        hub.watch(lambda e: watched.append(e.visit_id))
        wake_ups: list[object] = []
        call_soon = loop.call_soon_threadsafe

        def counted(callback: Any, *args: Any) -> Any:
            wake_ups.append(callback)
            return call_soon(callback, *args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        events = [
            event(EventType.assignment_changed, n=1),  # staff only
            event(EventType.visit_approved, n=2),
            event(EventType.results_changed, n=3),
        ]
        await asyncio.to_thread(hub.publish_many, events)
        await asyncio.sleep(0.05)
        loop.call_soon_threadsafe = call_soon  # type: ignore[method-assign]
        got = [client.queue.get_nowait().visit_id for _ in range(client.queue.qsize())]  # type: ignore[union-attr]
        assert got == [2, 3]
        assert other.queue.empty()
        assert watched == [1, 2, 3]
        # One for the client's stream, one for the watchers, none for the other stream (the
        # rest are asyncio.to_thread's own).
        ours = [
            c
            for c in wake_ups
            if c is bus._notify or getattr(c, "__self__", None) in (client, other)
        ]
        assert ours == [client.offer_all, bus._notify]
        await hub.stop()

    run(scenario())
