"""``GET /projects/{project_id}/events``: the project's live events as server-sent events."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.accounts.models import Role, User
from api.config import Settings
from api.db import Database
from api.deps import Credential, CredentialDep, ProjectReader, get_db
from api.errors import FieldworkError
from api.events.access import access_refusal
from api.events.bus import Hub, Subscriber
from api.events.models import Event
from api.projects.access import get_project

router = APIRouter(tags=["events"])
log = logging.getLogger("fieldwork.events")

# Events already waiting are sent in one write, up to this many.
BATCH = 64


def format_event(event: Event) -> str:
    return f"id: {event.id}\nevent: {event.type.value}\ndata: {event.data()}\n\n"


async def _stream(
    hub: Hub,
    subscriber: Subscriber,
    settings: Settings,
    max_seconds: float | None,
    refusal: Callable[[], Awaitable[FieldworkError | None]],
) -> AsyncIterator[str]:
    """The stream: events as they come, a heartbeat after ``events_heartbeat_seconds`` of silence,
    and every ``events_access_check_seconds`` the reader's access checked again: once it is gone
    the stream ends with an ``error`` event carrying the problem a new request would get."""
    loop = asyncio.get_running_loop()
    limits = [s for s in (settings.events_max_stream_seconds, max_seconds) if s]
    deadline = loop.time() + min(limits) if limits else math.inf
    heartbeat = settings.events_heartbeat_seconds
    try:
        yield f"retry: {settings.events_retry_ms}\n: connected\n\n"
        written = loop.time()
        next_check = written + settings.events_access_check_seconds
        while True:
            now = loop.time()
            if now >= deadline:
                return
            if now >= next_check:
                try:
                    refused = await refusal()
                except Exception:  # the database away for a moment: the client reconnects
                    log.exception("access check of an event stream failed")
                    yield ": access check failed; reconnect\n\n"
                    return
                if refused is not None:
                    yield f"event: error\ndata: {json.dumps(refused.problem())}\n\n"
                    return
                next_check = loop.time() + settings.events_access_check_seconds
            if now - written >= heartbeat:
                yield ": heartbeat\n\n"
                written = now
            wait = min(written + heartbeat, next_check, deadline) - loop.time()
            try:
                event = await asyncio.wait_for(subscriber.queue.get(), max(wait, 0))
            except TimeoutError:
                continue
            if event is None:
                if subscriber.closed == "overflow":
                    yield ": fell behind; reconnect with Last-Event-ID\n\n"
                return
            chunk = [format_event(event)]
            while len(chunk) < BATCH and not subscriber.queue.empty():
                following = subscriber.queue.get_nowait()
                if following is None:
                    subscriber.queue.put_nowait(None)
                    break
                chunk.append(format_event(following))
            yield "".join(chunk)
            written = loop.time()
    finally:
        hub.unsubscribe(subscriber)


def _check_access(request: Request, user: User, project_id: int) -> None:
    with get_db(request).session(read_only=True) as session:
        get_project(session, user=user, project_id=project_id)


def _recheck(
    db: Database, settings: Settings, credential: Credential, project_id: int, role: Role
) -> Callable[[], Awaitable[FieldworkError | None]]:
    """The stream's access check: one short read transaction in the thread pool."""

    def check() -> FieldworkError | None:
        with db.session(read_only=True) as session:
            return access_refusal(
                session,
                credential=credential,
                secret=settings.resolved_secret_key,
                project_id=project_id,
                role=role,
            )

    async def refusal() -> FieldworkError | None:
        return await run_in_threadpool(check)

    return refusal


class EventsUnavailable(FieldworkError):
    status, slug, title = 503, "events-unavailable", "Live events are not running"


@router.get(
    "/projects/{project_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "An endless text/event-stream; see docs/live-updates.md.",
        }
    },
)
async def project_events(
    project_id: int,
    request: Request,
    user: ProjectReader,
    credential: CredentialDep,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
    max_seconds: Annotated[
        float | None, Query(gt=0, le=86400, description="End the stream after this long.")
    ] = None,
) -> StreamingResponse:
    """Live events of the project as server-sent events (clients: approvals, results, appeals)."""
    await run_in_threadpool(_check_access, request, user, project_id)
    hub: Hub | None = getattr(request.app.state, "events", None)
    if hub is None or not hub.running:
        raise EventsUnavailable("The event hub starts with the application; try again shortly.")
    # Subscribed before the response starts, so nothing committed after the headers is missed.
    subscriber = hub.subscribe(
        project_id=project_id, staff=user.role != Role.client, last_event_id=last_event_id
    )
    settings: Settings = request.app.state.settings
    assert credential is not None  # ProjectReader signed someone in
    refusal = _recheck(get_db(request), settings, credential, project_id, user.role)
    return StreamingResponse(
        _stream(hub, subscriber, settings, max_seconds, refusal),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
