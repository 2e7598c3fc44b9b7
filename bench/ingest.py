"""Field-capture ingest: N shoppers send complete 20-step visits through real HTTP.

    python bench/ingest.py [--shoppers 20] [--visits 5] [--batched-visits 20] [--workers 2]
                           [--pace-ms 200] [--full-results] [--keep-alive] [--database-url URL]

The API runs under uvicorn in its own process on a loopback port; the shoppers are threads in
this process. Every visit is a check-in, 20 steps with answers and both emotion measures, one
small photo and the check-out. It is sent three times over: as single step writes back to back on
keep-alive connections (the server's saturation: every shopper sends its next request the moment
the last one answers, so latency there is mostly queueing behind the other 19); as single step
writes paced at one request per shopper every --pace-ms (20 shoppers at 200 ms offer 100
requests/s, far more than real shoppers, who spend a minute or more on a step: this is the
latency a write sees under heavy but not saturating load); and batched as the outbox sends a
visit walked offline (visits/s): the whole visit in one multipart request to the whole-visit
batch endpoint with ``Prefer: return=minimal`` (each result's status without its body;
--full-results asks for the bodies), on a connection of its own, as a phone sends a visit minutes
after its last request (--keep-alive: each shopper keeps one), after a round of two visits per
shopper that is not timed (a server runs for hours: its first batches pay for caches the others
use). The same rows are then inserted with plain SQL in one process, for the ratio.

Aim on SQLite, two cores: p95 < 50 ms per single step write, >= 250 complete visits/s batched.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image
from sqlalchemy import text

from api.accounts.models import Role, User
from api.accounts.security import issue_token
from api.assignments.models import Assignment, AssignmentStatus
from api.clients.models import Client
from api.db import Database, make_engine
from api.journeys.service import load_version
from api.locations.models import Location
from api.migrate import upgrade
from api.projects.models import Project
from bench._server import cpu_seconds, start_server


def uuid7() -> str:
    """A version 7 UUID (RFC 9562), as the shopper app's outbox makes them: the millisecond,
    then random bits (Python has ``uuid.uuid7`` from 3.14)."""
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


SECRET = "bench-secret-" + "x" * 40
PHASES = ("orientation", "weighing", "purchase", "use", "evaluation")
STEPS_PER_PHASE = 4


def journey_yaml() -> str:
    lines = ["key: bench", "name: Twenty-step bench journey", "phases:"]
    for p, phase in enumerate(PHASES):
        lines += [f"  - key: {phase}", f"    name: {phase.title()}", "    steps:"]
        for s in range(STEPS_PER_PHASE):
            n = p * STEPS_PER_PHASE + s
            lines += [
                f"      - key: step_{n:02d}",
                f"        name: Step {n}",
                "        touchpoint: store",
                "        channel: physical",
                "        questions:",
                f"          - {{key: q{n}_yes, text: Yes or no, type: yes_no}}",
                f"          - {{key: q{n}_scale, text: Scale, type: scale, scale: {{min: 1, max: 5}}}}",
                f"          - key: q{n}_choice",
                "            text: Choice",
                "            type: single_choice",
                "            options: [{key: a, label: A, score: 1}, {key: b, label: B, score: 0}]",
                f"          - {{key: q{n}_count, text: Count, type: number, number: {{min: 0, max: 100}}}}",
            ]
            if n == 10:
                lines.append(
                    "          - {key: receipt, text: Receipt, type: photo, evidence_required: true}"
                )
            lines += [
                "        emotions:",
                "          probes: [{stimulus: step, kind: valence}, {stimulus: 'word:kind', kind: face}]",
            ]
    return "\n".join(lines) + "\n"


def step_body(n: int, photo: str | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    answers: dict[str, Any] = {
        f"q{n}_yes": "yes" if n % 3 else "no",
        f"q{n}_scale": 1 + n % 5,
        f"q{n}_choice": "a",
        f"q{n}_count": n,
    }
    if photo:
        answers["receipt"] = [photo]
    return {
        "client_uuid": uuid7(),
        "started_at": (now - timedelta(seconds=90)).isoformat(),
        "ended_at": now.isoformat(),
        "latitude": 52.09,
        "longitude": 5.12,
        "accuracy_m": 9.5,
        "answers": answers,
        "notes": "ok",
        "conscious": {"valence": n % 7 - 3, "arousal": 3, "emotion": "trust", "intensity": 2},
        "probes": [
            {
                "stimulus": "step",
                "kind": "valence",
                "choice": 1,
                "latency_ms": 540 + n,
                "deadline_ms": 1500,
                "shown_at": now.isoformat(),
            },
            {
                "stimulus": "word:kind",
                "kind": "face",
                "choice": "happy",
                "latency_ms": 610,
                "deadline_ms": 1500,
                "shown_at": now.isoformat(),
            },
        ],
    }


def small_jpeg(n: int = 0) -> bytes:
    """A 320x240 JPEG; each n gives other bytes, as every real photo differs."""
    out = io.BytesIO()
    colour = (180, 120 + n % 100, 60 + n // 100 % 100)
    image = Image.new("RGB", (320, 240), colour)
    image.putpixel((n % 320, 0), (n % 256, 0, 0))
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


# ---------------------------------------------------------------- seeding


def seed(
    db: Database, shoppers: int, visits: int, tag: str = ""
) -> tuple[list[str], list[list[int]]]:
    """Shoppers with a bearer token each, and accepted assignments: [shopper][visit]."""
    with db.session() as session:
        client = Client(name=f"Bench client{tag}")
        session.add(client)
        session.flush()
        project = Project(client_id=client.id, name="Bench", caps={})  # type: ignore[arg-type]
        session.add(project)
        session.flush()
        version = load_version(
            session,
            project=project,
            source=journey_yaml(),
            filename="bench.yaml",
            publish=True,
            actor=None,
        )
        location = Location(project_id=project.id, code="B-1", name="Bench shop")  # type: ignore[arg-type]
        session.add(location)
        session.flush()
        tokens, assignments = [], []
        start = datetime.now(UTC) - timedelta(hours=1)
        for i in range(shoppers):
            user = User(username=f"bench{tag}-{i}", role=Role.shopper, password_hash="!bench")
            session.add(user)
            session.flush()
            assert user.id is not None
            tokens.append(issue_token(user_id=user.id, secret=SECRET, lifetime_minutes=600)[0])
            rows = [
                Assignment(
                    project_id=project.id,  # type: ignore[arg-type]
                    location_id=location.id,  # type: ignore[arg-type]
                    shopper_id=user.id,
                    journey_version_id=version.id,  # type: ignore[arg-type]
                    status=AssignmentStatus.accepted,
                    window_start=start,
                    window_end=start + timedelta(days=2),
                    visit_day=date.today(),
                )
                for _ in range(visits)
            ]
            session.add_all(rows)
            session.flush()
            assignments.append([row.id for row in rows])  # type: ignore[misc]
    return tokens, assignments


# ---------------------------------------------------------------- HTTP client


class Shopper:
    def __init__(self, port: int, token: str, pace: float = 0.0) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.auth = f"Bearer {token}"
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.pace = pace  # seconds between the starts of two requests; 0 = back to back
        self.next_at = 0.0

    def call(self, kind: str, method: str, path: str, body: bytes, ctype: str, **extra: str) -> Any:
        headers = {"Authorization": self.auth, "Content-Type": ctype, **extra}
        if self.pace:
            now = time.perf_counter()
            if self.next_at > now:
                time.sleep(self.next_at - now)
            self.next_at = max(self.next_at, now) + self.pace
        t0 = time.perf_counter()
        self.conn.request(method, "/api/v1" + path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        self.timings[kind].append(time.perf_counter() - t0)
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data)

    def upload(self, visit_id: int, media_uuid: str, photo: bytes) -> Any:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in (
            ("client_uuid", media_uuid),
            ("step_key", "step_10"),
            ("question_key", "receipt"),
        ):
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode()
            + photo
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.call(
            "media",
            "POST",
            f"/visits/{visit_id}/media",
            b"".join(parts),
            f"multipart/form-data; boundary={boundary}",
        )

    def visit(self, planned: PlannedVisit, batching: Batching | None) -> None:
        if batching is not None:
            if not batching.keep_alive:
                # A phone sends a visit's batch minutes after its last request: on a connection
                # of its own (http.client opens it again).
                self.conn.close()
            # As the outbox sends it: the phone reads each result's status, not its body.
            prefer = {} if batching.full_results else {"Prefer": "return=minimal"}
            result = self.call(
                "visit", "POST", planned.batch_path, planned.batch, planned.batch_type, **prefer
            )
            bad = [r for r in result["results"] if r["status"] >= 300]
            if bad:
                raise RuntimeError(f"batch op failed: {bad[0]}")
            return
        started = self.call("start", "POST", planned.start_path, planned.start, JSON)
        visit_id = started["id"]
        self.upload(visit_id, planned.media_uuid, planned.photo)
        for key, body in planned.steps:
            self.call("step", "PUT", f"/visits/{visit_id}/steps/{key}", body, JSON)
        self.call("submit", "POST", f"/visits/{visit_id}/submit", planned.submit, JSON)


JSON = "application/json"


@dataclass(frozen=True)
class Batching:
    """How the batched phase sends a visit: by default as the outbox does, asking for statuses
    only (``Prefer: return=minimal``), on a connection of its own."""

    full_results: bool = False
    keep_alive: bool = False

    def __str__(self) -> str:
        answers = "every result's body" if self.full_results else "Prefer: return=minimal"
        connection = "keep-alive connections" if self.keep_alive else "a connection a visit"
        return f"{answers}, {connection}"


class PlannedVisit:
    """One visit's request bodies, built before the clock starts: phones build their own
    requests, so the bench's client should not take the server's CPU while it is measured."""

    def __init__(self, assignment_id: int, photo: bytes) -> None:
        now = datetime.now(UTC).isoformat()
        self.start_path = f"/assignments/{assignment_id}/visit"
        self.start = dumps(
            {
                "client_uuid": uuid7(),
                "started_at": now,
                "latitude": 52.09,
                "longitude": 5.12,
                "accuracy_m": 8,
                "device": {"user_agent": "bench", "platform": "linux", "app_version": "0"},
            }
        )
        self.media_uuid = uuid7()
        self.photo = photo
        bodies = [
            (f"step_{n:02d}", step_body(n, self.media_uuid if n == 10 else None)) for n in range(20)
        ]
        submit = {"client_uuid": uuid7(), "ended_at": now}
        self.steps = [(key, dumps(body)) for key, body in bodies]
        self.submit = dumps(submit)
        # The whole visit as the outbox sends a visit queued offline: one multipart request.
        media = {"client_uuid": self.media_uuid, "step_key": "step_10", "question_key": "receipt"}
        ops: list[dict[str, Any]] = [{"op": "start", "body": json.loads(self.start)}]
        ops.append({"op": "media", "file": "photo-0", "body": media})
        ops += [{"op": "step", "step_key": k, "body": b} for k, b in bodies]
        ops.append({"op": "submit", "body": submit})
        self.batch_path = f"/assignments/{assignment_id}/visit/batch"
        self.batch, self.batch_type = multipart(
            {"operations": dumps({"operations": ops})}, {"photo-0": photo}
        )


def multipart(fields: dict[str, bytes], files: dict[str, bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in files.items()
    ]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def dumps(payload: Any) -> bytes:
    return json.dumps(payload).encode()


class Phase:
    """Wall time, request timings and CPU seconds (server process tree, this client) of a run."""

    def __init__(self, elapsed: float, timings: dict[str, list[float]]) -> None:
        self.elapsed, self.timings = elapsed, timings
        self.server_cpu: float | None = None
        self.client_cpu = 0.0


def run_phase(
    port: int,
    server_pid: int,
    tokens: list[str],
    assignments: list[list[int]],
    batching: Batching | None = None,
    pace: float = 0.0,
) -> Phase:
    plans = [
        [PlannedVisit(assignment_id, small_jpeg(assignment_id)) for assignment_id in ids]
        for ids in assignments
    ]
    shoppers = [Shopper(port, token, pace) for token in tokens]
    for n, shopper in enumerate(shoppers):  # spread the paced shoppers over one interval
        shopper.next_at = time.perf_counter() + pace * n / len(shoppers)
    errors: list[BaseException] = []

    def work(shopper: Shopper, visits: list[PlannedVisit]) -> None:
        try:
            for planned in visits:
                shopper.visit(planned, batching)
        except BaseException as err:  # reported after the run
            errors.append(err)

    threads = [
        threading.Thread(target=work, args=(s, visits))
        for s, visits in zip(shoppers, plans, strict=True)
    ]
    server0, client0 = cpu_seconds(server_pid), time.process_time()
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    server1, client1 = cpu_seconds(server_pid), time.process_time()
    if errors:
        raise errors[0]
    timings: dict[str, list[float]] = defaultdict(list)
    for shopper in shoppers:
        for kind, values in shopper.timings.items():
            timings[kind].extend(values)
    phase = Phase(elapsed, timings)
    if server0 is not None and server1 is not None:
        phase.server_cpu = server1 - server0
    phase.client_cpu = client1 - client0
    return phase


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(label: str, visits: int, phase: Phase) -> float:
    elapsed, timings = phase.elapsed, phase.timings
    rate = visits / elapsed
    requests = sum(len(v) for v in timings.values())
    print(
        f"\n{label}: {visits} visits in {elapsed:.2f} s = {rate:.1f} visits/s, {requests / elapsed:.0f} requests/s"
    )
    if phase.server_cpu is not None:
        print(
            f"  server CPU {phase.server_cpu * 1000 / requests:.2f} ms/request, "
            f"{phase.server_cpu * 1000 / visits:.1f} ms/visit; "
            f"client CPU {phase.client_cpu * 1000 / visits:.1f} ms/visit"
        )
    for kind, values in timings.items():
        print(
            f"  {kind:7s} n={len(values):5d}  p50 {pct(values, 0.5):6.1f} ms  p95 {pct(values, 0.95):6.1f} ms"
            f"  mean {statistics.fmean(values) * 1000:6.1f} ms"
        )
    return rate


# ---------------------------------------------------------------- plain SQL


def plain_sql(url: str, visits: int) -> float:
    """The same rows (visit, 20 steps, media, assignment update, audit) with plain SQL."""
    engine = make_engine(url)
    photo = small_jpeg()
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        first = conn.execute(
            text("SELECT min(id) FROM assignments WHERE status = 'accepted'")
        ).scalar()
    ids = list(range(first, first + visits)) if first else []
    t0 = time.perf_counter()
    for assignment_id in ids:
        with engine.begin() as conn:
            visit_uuid, media_uuid = uuid7(), uuid7()
            visit_id = conn.execute(
                text(
                    "INSERT INTO visits (assignment_id, client_uuid, payload_hash, started_at, checkin_latitude,"
                    " checkin_longitude, checkin_accuracy_m, device, created_at, updated_at)"
                    " VALUES (:a, :u, :h, :t, 52.0, 5.0, 8, :d, :t, :t) RETURNING id"
                ),
                {
                    "a": assignment_id,
                    "u": visit_uuid,
                    "h": "0" * 64,
                    "t": now,
                    "d": '{"platform": "bench"}',
                },
            ).scalar_one()
            rows = []
            for n in range(20):
                body = step_body(n, media_uuid if n == 10 else None)
                rows.append(
                    {
                        "v": visit_id,
                        "k": f"step_{n:02d}",
                        "u": body["client_uuid"],
                        "h": "0" * 64,
                        "a": json.dumps(body["answers"]),
                        "c": json.dumps(body["conscious"]),
                        "p": json.dumps(body["probes"]),
                        "t": now,
                    }
                )
            conn.execute(
                text(
                    "INSERT INTO step_observations (visit_id, step_key, client_uuid, payload_hash, revision,"
                    " replaced_writes, answers, evidence, notes, started_at, ended_at, latitude, longitude,"
                    " accuracy_m, conscious, probes, created_at, updated_at) VALUES (:v, :k, :u, :h, 1, '{}',"
                    " :a, '{}', 'ok', :t, :t, 52.0, 5.0, 9.5, :c, :p, :t, :t)"
                ),
                rows,
            )
            conn.execute(
                text(
                    "INSERT INTO media (client_uuid, visit_id, step_key, question_key, payload_hash, sha256,"
                    " content_type, size, width, height, storage_key, created_at) VALUES (:u, :v, 'step_10',"
                    " 'receipt', :h, :h, 'image/jpeg', :s, 320, 240, :h, :t)"
                ),
                {"u": media_uuid, "v": visit_id, "h": "0" * 64, "s": len(photo), "t": now},
            )
            conn.execute(
                text("UPDATE assignments SET status = 'submitted' WHERE id = :a"),
                {"a": assignment_id},
            )
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, entity, entity_id, action, comment, data)"
                    " VALUES (:t, 'assignment', :a, 'submitted', '', '{}')"
                ),
                {"t": now, "a": assignment_id},
            )
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return len(ids) / elapsed if ids else 0.0


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=20)
    parser.add_argument(
        "--visits", type=int, default=5, help="per shopper, in each single-write phase"
    )
    parser.add_argument(
        "--batched-visits", type=int, default=20, help="per shopper, in the batched phase"
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument(
        "--pace-ms", type=float, default=200, help="per shopper, in the paced single-write phase"
    )
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="batched phase: each shopper keeps one connection (default: one per visit)",
    )
    parser.add_argument(
        "--full-results",
        action="store_true",
        help="batched phase: ask for every result's body (the outbox sends Prefer: return=minimal)",
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fieldwork-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    engine = make_engine(url)
    if args.database_url:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    db = Database(url)
    per_phase = args.shoppers * args.visits
    warm_up = 2
    tokens, assignments = seed(db, args.shoppers, args.visits * 2 + warm_up + args.batched_visits)
    db.dispose()
    print(
        f"database: {url.split('@')[-1]}; {args.shoppers} shoppers x {args.visits} visits per "
        f"single-write phase, x {args.batched_visits} batched; "
        f"20 steps + 1 photo per visit; {os.cpu_count()} CPUs; {args.workers} server worker(s)"
    )

    server, port = start_server(url, workdir, secret=SECRET, workers=args.workers)
    try:
        v = args.visits
        single = [ids[:v] for ids in assignments]
        paced = [ids[v : 2 * v] for ids in assignments]
        warm = [ids[2 * v : 2 * v + warm_up] for ids in assignments]
        batched = [ids[2 * v + warm_up :] for ids in assignments]
        phase = run_phase(port, server.pid, tokens, single)
        report("single step writes, back to back (saturation)", per_phase, phase)
        pace = args.pace_ms / 1000
        phase = run_phase(port, server.pid, tokens, paced, pace=pace)
        report(
            f"single step writes, paced: one request per shopper every {args.pace_ms:.0f} ms "
            f"(offered {args.shoppers / pace:.0f} requests/s)",
            per_phase,
            phase,
        )
        batching = Batching(full_results=args.full_results, keep_alive=args.keep_alive)
        run_phase(port, server.pid, tokens, warm, batching)
        phase = run_phase(port, server.pid, tokens, batched, batching)
        http_rate = report(
            f"batched (one request a visit: check-in, photo, 20 steps, submit; {batching})",
            args.shoppers * args.batched_visits,
            phase,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)

    # Fresh assignments for the plain-SQL run, on the same database.
    db = Database(url)
    sql_visits = args.shoppers * args.batched_visits
    seed(db, 1, sql_visits, tag="-sql")
    db.dispose()
    sql_rate = plain_sql(url, sql_visits)
    print(f"\nplain SQL, one process: {sql_rate:.1f} visits/s")
    print(
        f"HTTP batched / plain SQL: {http_rate / sql_rate:.2f} ({sql_rate / http_rate:.1f}x slower)"
    )
    counts = make_engine(url)
    with counts.begin() as conn:
        for table in ("visits", "step_observations", "media"):
            print(f"  {table}: {conn.execute(text(f'SELECT count(*) FROM {table}')).scalar()} rows")
    counts.dispose()
    if not args.database_url:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
