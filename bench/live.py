"""Live-update latency: from a reviewer's approve request to the event on an open SSE stream.

    python bench/live.py [--visits 200] [--database-url URL] [--workers 2]

Seeds a project with N submitted visits (through the API, in process), starts the app under
uvicorn in its own process, opens GET /projects/{id}/events as the manager, then approves the
visits one by one over HTTP (a new connection per request, so with several workers requests land
on any of them). For each visit: latency = time the visit.approved event reached the subscriber
− time just before the approve request was sent. Prints p50/p95/max, and the approve call alone.

Databases: a fresh SQLite file (one worker: SQLite events stay in their process); PostgreSQL too
when --database-url or FIELDWORK_BENCH_POSTGRES_URL is a postgresql:// URL whose database name
ends in "bench" (created if missing; its public schema is dropped), run with --workers uvicorn
workers (default 2; events cross workers through LISTEN/NOTIFY).

Aim: p95 < 500 ms (the dashboards promise an update within 2 s of an approval).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.accounts.models import Role, User
from api.accounts.security import issue_token
from api.clients.models import Client
from api.config import Settings
from api.db import Database
from api.journeys.service import load_version
from api.locations.models import LocationCreate
from api.locations.service import create_location
from api.main import create_app
from api.projects.models import Project, ProjectCaps, ProjectMember
from api.shoppers.models import ShopperRegister
from api.shoppers.service import register, set_qualified
from bench._server import start_server
from bench.results import fresh_engine, refuse_unsafe

SECRET = "bench-secret-" + "x" * 40
API = "/api/v1"
JOURNEY = """\
key: live
name: Live bench journey
phases:
  - key: visit
    name: Visit
    steps:
      - key: entrance
        name: Entrance
        touchpoint: store
        channel: physical
        questions:
          - {key: greeted, text: "Greeted?", type: yes_no}
briefing:
  scenario: Buy a phone.
  quiz:
    pass_mark: 100
    questions:
      - key: when
        text: When do you visit?
        options: [{key: a, label: On a weekday}, {key: b, label: On Sunday}]
        correct: a
"""


@dataclass
class Seeded:
    project_id: int
    visit_ids: list[int]
    manager_token: str


def _iso(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def seed(url: str, data_dir: Path, *, visits: int) -> Seeded:
    """A client, project, manager and shopper, then ``visits`` visits submitted through the API."""
    engine = fresh_engine(url)
    with Session(engine) as session:
        client = Client(name="Live bench client")
        session.add(client)
        session.flush()
        assert client.id is not None
        many = visits + 10
        caps = ProjectCaps(
            max_open_per_shopper=many,
            max_visits_per_shopper_per_day=many,
            max_visits_per_shopper_per_period=many,
            location_lockout_days=0,
            max_visits_per_location_per_day=many,
        )
        project = Project(client_id=client.id, name="Live bench", caps=caps.model_dump(mode="json"))
        session.add(project)
        manager = User(username="bench-manager", role=Role.manager, password_hash="!bench")
        session.add(manager)
        session.flush()
        assert project.id is not None and manager.id is not None
        session.add(ProjectMember(project_id=project.id, user_id=manager.id))
        load_version(
            session, project=project, source=JOURNEY, filename="live.yaml", publish=True, actor=None
        )
        location = create_location(
            session,
            project=project,
            data=LocationCreate(code="LIVE-1", name="Shop", latitude=52.0, longitude=4.0),
        )
        shopper, profile = register(
            session,
            data=ShopperRegister(
                username="bench-shopper",
                password="bench-shopper-pass",
                date_of_birth=datetime(1990, 1, 1).date(),
                region="north",
            ),
        )
        set_qualified(session, profile=profile, qualified=True, actor_id=None, reason="bench")
        session.commit()
        ids = (project.id, manager.id, shopper.id, location.id)
    engine.dispose()
    project_id, manager_id, shopper_id, location_id = ids
    assert shopper_id is not None and location_id is not None

    def bearer(user_id: int) -> dict[str, str]:
        token = issue_token(user_id=user_id, secret=SECRET, lifetime_minutes=600)[0]
        return {"Authorization": f"Bearer {token}"}

    settings = Settings(data_dir=data_dir, secret_key=SECRET, expiry_interval_seconds=0)
    db = Database(url)
    client_app = TestClient(create_app(settings, database=db))
    mgr, shop = bearer(manager_id), bearer(shopper_id)

    def call(method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
        response = client_app.request(method, API + path, json=body, headers=headers)
        if not response.is_success:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    visit_ids = []
    for n in range(visits):
        assignment = call(
            "POST",
            f"/projects/{project_id}/assignments",
            mgr,
            {
                "location_id": location_id,
                "shopper_id": shopper_id,
                "window_start": _iso(-60),
                "window_end": _iso(24 * 60),
            },
        )
        aid = assignment["id"]
        call("POST", f"/assignments/{aid}/accept", shop)
        call("POST", f"/assignments/{aid}/briefing/quiz", shop, {"answers": {"when": "a"}})
        visit = call(
            "POST",
            f"/assignments/{aid}/visit",
            shop,
            {"client_uuid": str(uuid.uuid4()), "started_at": _iso(-15)},
        )
        call(
            "PUT",
            f"/visits/{visit['id']}/steps/entrance",
            shop,
            {
                "client_uuid": str(uuid.uuid4()),
                "started_at": _iso(-10),
                "ended_at": _iso(-8),
                "answers": {"greeted": "yes" if n % 3 else "no"},
                "conscious": {"valence": 2},
            },
        )
        call(
            "POST",
            f"/visits/{visit['id']}/submit",
            shop,
            {"client_uuid": str(uuid.uuid4()), "ended_at": _iso()},
        )
        visit_ids.append(visit["id"])
    client_app.close()
    db.dispose()
    return Seeded(project_id, visit_ids, mgr["Authorization"])


class Subscriber(threading.Thread):
    """Reads the event stream; notes when each visit.approved arrived (perf_counter)."""

    def __init__(self, port: int, project_id: int, authorization: str) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request(
            "GET",
            f"{API}/projects/{project_id}/events",
            headers={"Authorization": authorization, "Accept": "text/event-stream"},
        )
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        assert self.response.readline().startswith(b"retry:")  # subscribed
        self.arrived: dict[int, float] = {}
        self.changed = threading.Condition()

    def run(self) -> None:
        kind = ""
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "visit.approved":
                    now = time.perf_counter()
                    with self.changed:
                        self.arrived[json.loads(line[6:])["visit_id"]] = now
                        self.changed.notify_all()
        except (OSError, ValueError, AttributeError):
            pass  # closed at the end (http.client may trip over its own closed socket)

    def wait_for(self, visit_id: int, timeout: float = 10.0) -> float | None:
        with self.changed:
            self.changed.wait_for(lambda: visit_id in self.arrived, timeout)
            return self.arrived.get(visit_id)

    def close(self) -> None:
        self.conn.sock and self.conn.sock.shutdown(2)
        self.conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(url: str, label: str, *, visits: int, workers: int, work_dir: Path) -> list[str]:
    data_dir = work_dir / f"data-{label}"
    started = time.perf_counter()
    seeded = seed(url, data_dir, visits=visits)
    seeding = time.perf_counter() - started
    process, port = start_server(url, data_dir, secret=SECRET, workers=workers)
    latencies: list[float] = []
    calls: list[float] = []
    after_answer: list[float] = []
    missed = 0
    try:
        subscriber = Subscriber(port, seeded.project_id, seeded.manager_token)
        subscriber.start()
        body = json.dumps({"action": "approve", "comment": "bench"})
        for visit_id in seeded.visit_ids:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            sent = time.perf_counter()
            conn.request(
                "POST",
                f"{API}/visits/{visit_id}/review",
                body=body,
                headers={
                    "Authorization": seeded.manager_token,
                    "Content-Type": "application/json",
                },
            )
            response = conn.getresponse()
            response.read()
            answered = time.perf_counter()
            conn.close()
            if response.status != 200:
                raise RuntimeError(f"approve {visit_id}: HTTP {response.status}")
            calls.append(answered - sent)
            arrived = subscriber.wait_for(visit_id)
            if arrived is None:
                missed += 1
            else:
                latencies.append(arrived - sent)
                after_answer.append(arrived - answered)
        subscriber.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    ms = [v * 1000 for v in latencies]
    call_ms = [v * 1000 for v in calls]
    tail_ms = [v * 1000 for v in after_answer]
    return [
        f"{label} ({workers} worker{'s' if workers > 1 else ''}, {visits} visits, "
        f"seeded in {seeding:.0f} s):",
        f"  approve → visit.approved on the stream: p50 {percentile(ms, 0.5):.1f} ms, "
        f"p95 {percentile(ms, 0.95):.1f} ms, max {max(ms):.1f} ms, "
        f"mean {statistics.fmean(ms):.1f} ms; missed {missed}",
        f"  the approve call alone:                 p50 {percentile(call_ms, 0.5):.1f} ms, "
        f"p95 {percentile(call_ms, 0.95):.1f} ms",
        f"  event after the approve answer:         p50 {percentile(tail_ms, 0.5):.1f} ms, "
        f"p95 {percentile(tail_ms, 0.95):.1f} ms (negative: the event came first)",
        f"  aim p95 < 500 ms: {'met' if percentile(ms, 0.95) < 500 and not missed else 'NOT met'}",
    ]


def export_figures(*, visits: int, postgres: str) -> None:
    """The export half of the issue's aims: bench/export.py on the same databases."""
    from bench import export

    figures = export.run(visits=visits)
    if postgres:
        figures += export.run(visits=visits, database_url=postgres, label="PostgreSQL")
    print(export.report(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", help="a new SQLite file, or PostgreSQL (…bench)")
    parser.add_argument("--visits", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers on PostgreSQL")
    parser.add_argument("--no-export", action="store_true", help="skip the export figures")
    parser.add_argument(
        "--export-visits", type=int, default=100_000, help="approved visits to export"
    )
    args = parser.parse_args()
    given = args.database_url or ""
    postgres = given if given.startswith("postgres") else ""
    postgres = postgres or os.environ.get("FIELDWORK_BENCH_POSTGRES_URL", "")
    with tempfile.TemporaryDirectory(prefix="fieldwork-live-") as tmp:
        work_dir = Path(tmp)
        sqlite = given if given.startswith("sqlite") else f"sqlite:///{work_dir / 'live.sqlite3'}"
        targets = [(sqlite, "SQLite", 1)]
        if postgres:
            targets.append((postgres, "PostgreSQL", args.workers))
        for url, _, _ in targets:
            refuse_unsafe(url)
        lines = []
        for url, label, workers in targets:
            lines += run(url, label, visits=args.visits, workers=workers, work_dir=work_dir)
    for line in lines:
        print(line)
    if not args.no_export:
        export_figures(visits=args.export_visits, postgres=postgres)


if __name__ == "__main__":
    main()
