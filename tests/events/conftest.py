"""A live server (real uvicorn), visits of project Alpha submitted over HTTP, and an SSE reader."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.db import Database
from api.projects.models import ProjectCaps
from tests.conftest import LiveServer
from tests.helpers import World, login, standard_world

API = "/api/v1"
CAPS = ProjectCaps(
    max_open_per_shopper=500,
    max_visits_per_shopper_per_day=500,
    max_visits_per_shopper_per_period=500,
    location_lockout_days=0,
    max_visits_per_location_per_day=500,
)


def _iso(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


@dataclass
class SseEvent:
    type: str
    id: str | None
    data: dict[str, Any]


def parse_stream(lines: Iterator[str]) -> Iterator[SseEvent | str]:
    """SSE blocks as events; comment-only blocks as their text (``heartbeat``, ``connected``)."""
    kind, event_id, data, comments = "message", None, [], []
    for line in lines:
        if line == "":
            if data:
                yield SseEvent(kind, event_id, json.loads("\n".join(data)))
            elif comments:
                yield " ".join(comments)
            kind, event_id, data, comments = "message", None, [], []
            continue
        field_name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field_name == "":
            comments.append(value)
        elif field_name == "event":
            kind = value
        elif field_name == "id":
            event_id = value
        elif field_name == "data":
            data.append(value)


@dataclass
class Stream:
    """An open event stream read by a thread; events land in ``received`` as they arrive."""

    response: httpx.Response
    received: queue.Queue[tuple[float, SseEvent | str]] = field(default_factory=queue.Queue)
    seen: list[SseEvent] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)  # the server closed it

    def next_event(self, timeout: float = 5.0) -> SseEvent | None:
        """The next event (comments skipped), or None if none arrives within ``timeout``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                _, item = self.received.get(timeout=left)
            except queue.Empty:
                return None
            if isinstance(item, SseEvent):
                self.seen.append(item)
                return item
        return None

    def wait_for(self, kind: str, timeout: float = 5.0, **data: Any) -> SseEvent:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            event = self.next_event(left)
            if (
                event
                and event.type == kind
                and all(event.data.get(k) == v for k, v in data.items())
            ):
                return event
        raise AssertionError(f"no {kind} {data} within {timeout}s; saw {self.seen}")

    def drain(self, quiet: float = 0.5) -> list[SseEvent]:
        """Every event that arrives until none has for ``quiet`` seconds."""
        got = []
        while (event := self.next_event(quiet)) is not None:
            got.append(event)
        return got


@contextmanager
def open_stream(
    base_url: str, project_id: int, headers: dict[str, str], **params: Any
) -> Iterator[Stream]:
    """Opens the stream, waits for its first block (the server subscribed), then reads on."""
    with (
        httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=30)) as http,
        http.stream(
            "GET", f"{API}/projects/{project_id}/events", headers=headers, params=params
        ) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        items = parse_stream(response.iter_lines())
        first = next(items)
        assert first == "connected", first

        def read() -> None:
            try:
                for item in items:
                    stream.received.put((time.monotonic(), item))
                stream.ended.set()
            except (httpx.HTTPError, RuntimeError, ValueError):
                pass  # the test closed the stream

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            yield stream
        finally:
            # Closing a socket another thread reads from sends nothing until that read returns:
            # shut it down, so the server sees the client leave now (not at the next heartbeat).
            sock = response.extensions["network_stream"].get_extra_info("socket")
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            reader.join(timeout=5)


@dataclass
class Live:
    """Project Alpha's visits of shopper-1, driven over real HTTP against ``server``."""

    server: LiveServer
    db: Database
    world: World
    http: httpx.Client
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = login(self.http, username)  # type: ignore[arg-type]
        return self.tokens[username]

    @property
    def project_id(self) -> int:
        return self.world.ids["Alpha"]

    def call(self, method: str, path: str, *, as_: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(method, API + path, headers=self.headers(as_), **kwargs)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    def submitted_visit(self) -> tuple[int, int]:
        """(visit id, assignment id) of a visit of shopper-1 submitted through the API."""
        assignment = self.call(
            "POST",
            f"/projects/{self.project_id}/assignments",
            as_="mgr-a",
            expect=201,
            json={
                "location_id": self.world.ids["Alpha/loc0"],
                "shopper_id": self.world.ids["shopper-1"],
                "window_start": _iso(-60),
                "window_end": _iso(24 * 60),
            },
        )
        assignment_id = assignment["id"]
        self.call("POST", f"/assignments/{assignment_id}/accept", as_="shopper-1")
        self.call(
            "POST",
            f"/assignments/{assignment_id}/briefing/quiz",
            as_="shopper-1",
            expect=201,
            json={"answers": {"when": "a"}},
        )
        visit = self.call(
            "POST",
            f"/assignments/{assignment_id}/visit",
            as_="shopper-1",
            expect=201,
            # At the shop (Alpha/loc0), so QC raises no flag and bulk approval takes it.
            json={
                "client_uuid": str(uuid.uuid4()),
                "started_at": _iso(-15),
                "latitude": 52.0,
                "longitude": 4.0,
                "accuracy_m": 5,
            },
        )
        self.call(
            "PUT",
            f"/visits/{visit['id']}/steps/entrance",
            as_="shopper-1",
            json={
                "client_uuid": str(uuid.uuid4()),
                "started_at": _iso(-10),
                "ended_at": _iso(-8),
                "answers": {"greeted": "yes"},
                "conscious": {"valence": 2},
            },
        )
        self.submit(visit["id"])
        return visit["id"], assignment_id

    def submit(self, visit_id: int) -> None:
        self.call(
            "POST",
            f"/visits/{visit_id}/submit",
            as_="shopper-1",
            json={"client_uuid": str(uuid.uuid4()), "ended_at": _iso()},
        )

    def review(self, visit_id: int, action: str, *, as_: str = "mgr-a", expect: int = 200) -> Any:
        return self.call(
            "POST",
            f"/visits/{visit_id}/review",
            as_=as_,
            expect=expect,
            json={"action": action, "comment": "checked"},
        )

    def approved_visit(self) -> int:
        visit_id, _ = self.submitted_visit()
        self.review(visit_id, "approve")
        return visit_id

    def file_appeal(self, visit_id: int, *, as_: str = "acme-viewer", expect: int = 201) -> Any:
        return self.call(
            "POST",
            f"/visits/{visit_id}/appeals",
            as_=as_,
            expect=expect,
            json={"reason": "The shop was closed that day."},
        )

    def decide_appeal(
        self, appeal_id: int, *, as_: str = "mgr-a", expect: int = 200, **decision: Any
    ) -> Any:
        body = {"outcome": "dismissed", "comment": "The photos show the shop open."} | decision
        return self.call(
            "POST", f"/appeals/{appeal_id}/decision", as_=as_, expect=expect, json=body
        )

    def stream(self, username: str, project: str = "Alpha", **params: Any) -> Any:
        return self.stream_with(self.headers(username), project, **params)

    def stream_with(self, headers: dict[str, str], project: str = "Alpha", **params: Any) -> Any:
        return open_stream(self.server.url, self.world.ids[project], headers, **params)


@pytest.fixture
def live(live_server: LiveServer, db: Database) -> Iterator[Live]:
    world = standard_world(db, caps=CAPS)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield Live(server=live_server, db=db, world=world, http=http)
