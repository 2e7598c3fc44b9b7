"""Results API latency at scale: every results endpoint against one hand-written SQL query.

    python bench/results.py [--visits 100000] [--database-url URL] [--calls 5]

Generates a project with N approved visits of a 20-step, 5-phase journey over 500 locations in
10 regions, 3 channels and 4 waves spread over a year — straight into the materialised tables
with bulk inserts (plus the assignment and visit rows their keys point at). Then the API runs
under uvicorn in its own process on a loopback port and every results endpoint is called over
keep-alive HTTP by a manager: median of --calls calls after one warm-up. Each is set against the
same aggregate written by hand as one SQL statement (median of as many runs, in this process).

Databases: a fresh SQLite file in a temporary directory (or --database-url sqlite:///new-file);
PostgreSQL too when --database-url or FIELDWORK_BENCH_POSTGRES_URL is a postgresql:// URL whose
database name ends in "bench" (created through the "postgres" database if missing; its public
schema is dropped).

Aim: every endpoint < 200 ms at 100,000 visits, and within 2x of the hand-written query.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from api.accounts.models import Role, User
from api.accounts.security import issue_token
from api.assignments.models import Assignment, AssignmentStatus
from api.clients.models import Client
from api.db import make_engine, normalise_url
from api.journeys.service import load_version
from api.locations.models import Location
from api.migrate import upgrade
from api.projects.models import Project, ProjectMember, Wave
from api.results.materialise import rollup_select
from api.results.models import PhaseDay, PhaseResult, StepDay, StepResult, VisitResult
from api.visits.models import Visit
from bench._server import start_server

SECRET = "bench-secret-" + "x" * 40
PHASES = ("orientation", "weighing", "purchase", "use", "evaluation")
STEPS_PER_PHASE = 4
REGIONS = tuple(f"region-{i}" for i in range(10))
KINDS = ("physical", "online", "phone")
CHUNK = 20_000
FIRST_DAY = date(2026, 1, 1)


# Step targets of the bench project: 60 for step_00 up to 79 for step_19.
TARGETS = {f"step_{n:02d}": 60.0 + n for n in range(20)}


def journey_yaml() -> str:
    lines = ["key: bench", "name: Twenty-step results bench", "phases:"]
    for p, phase in enumerate(PHASES):
        lines += [f"  - key: {phase}", f"    name: {phase.title()}", "    steps:"]
        for s in range(STEPS_PER_PHASE):
            n = p * STEPS_PER_PHASE + s
            lines += [
                f"      - key: step_{n:02d}",
                f"        name: Step {n}",
                "        touchpoint: store",
                "        channel: physical",
                f"        weight: {1 + n % 3}",
                "        questions:",
                f"          - {{key: q{n}, text: Yes or no, type: yes_no}}",
            ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- database


def refuse_unsafe(url: str) -> None:
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and Path(parsed.database).exists():
            sys.exit(f"refusing to reuse {parsed.database}: give the path of a new SQLite file")
        return
    if not (parsed.database or "").endswith("bench"):
        sys.exit(f"refusing database {parsed.database!r}: its name must end in 'bench'")


def fresh_engine(url: str) -> Engine:
    refuse_unsafe(url)
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    engine = make_engine(url)
    upgrade(engine)
    return engine


# ---------------------------------------------------------------- seeding


@dataclass
class Seeded:
    project_id: int
    manager_id: int
    version_id: int
    waves: list[int]
    locations: list[tuple[int, str, str]]  # id, region, kind


def seed_project(engine: Engine, *, locations: int) -> Seeded:
    with Session(engine) as session:
        client = Client(name="Bench client")
        session.add(client)
        session.flush()
        assert client.id is not None
        project = Project(client_id=client.id, name="Results bench", caps={}, targets=TARGETS)
        session.add(project)
        manager = User(username="bench-manager", role=Role.manager, password_hash="!bench")
        session.add(manager)
        session.flush()
        assert project.id is not None and manager.id is not None
        session.add(ProjectMember(project_id=project.id, user_id=manager.id))
        version = load_version(
            session,
            project=project,
            source=journey_yaml(),
            filename="bench.yaml",
            publish=True,
            actor=None,
        )
        project.journey_version_id = version.id
        waves = []
        for quarter in range(4):
            wave = Wave(
                project_id=project.id,
                name=f"Q{quarter + 1}",
                starts_on=FIRST_DAY + timedelta(days=91 * quarter),
                ends_on=FIRST_DAY + timedelta(days=91 * quarter + 90),
            )
            session.add(wave)
            waves.append(wave)
        places = []
        for i in range(locations):
            kind = KINDS[0] if i % 5 else KINDS[1 + i // 5 % 2]
            place = Location(
                project_id=project.id,
                code=f"L{i:04d}",
                name=f"Location {i}",
                kind=kind,
                latitude=52.0 if kind == "physical" else None,
                longitude=5.0 if kind == "physical" else None,
                url="https://example.com" if kind == "online" else "",
                phone="+3112345678" if kind == "phone" else "",
                region=REGIONS[i % len(REGIONS)],
            )
            session.add(place)
            places.append(place)
        session.flush()
        seeded = Seeded(
            project_id=project.id,
            manager_id=manager.id,
            version_id=version.id or 0,
            waves=[wave.id for wave in waves if wave.id is not None],
            locations=[(p.id, p.region, str(p.kind)) for p in places if p.id is not None],
        )
        session.commit()
    return seeded


def generate(engine: Engine, seeded: Seeded, *, visits: int, shoppers: int = 400) -> None:
    """Shoppers, approved assignments and visits, and their materialised rows, in chunks."""
    rng = random.Random(20261123)
    weights = [float(1 + n % 3) for n in range(20)]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "username": f"bench-shopper-{i}",
                    "role": Role.shopper,
                    "password_hash": "!bench",
                    "full_name": "",
                    "email": None,
                    "is_active": True,
                    "created_at": now,
                }
                for i in range(shoppers)
            ],
        )
        shopper_ids = [
            row[0]
            for row in conn.execute(
                text("SELECT id FROM users WHERE username LIKE 'bench-shopper-%' ORDER BY id")
            )
        ]
    for start in range(0, visits, CHUNK):
        count = min(CHUNK, visits - start)
        assignments, visit_rows, visit_results, step_results, phase_results = [], [], [], [], []
        for i in range(start, start + count):
            location_id, region, kind = seeded.locations[i % len(seeded.locations)]
            day = FIRST_DAY + timedelta(days=rng.randrange(364))
            started = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
            shopper_id = shopper_ids[i % len(shopper_ids)]
            wave_id = seeded.waves[min(3, (day - FIRST_DAY).days // 91)]
            visit_id = i + 1
            assignments.append(
                {
                    "id": visit_id,
                    "project_id": seeded.project_id,
                    "location_id": location_id,
                    "shopper_id": shopper_id,
                    "wave_id": wave_id,
                    "journey_version_id": seeded.version_id,
                    "status": AssignmentStatus.approved,
                    "window_start": started,
                    "window_end": started + timedelta(days=1),
                    "visit_day": day,
                    "job_board": False,
                    "notes": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            visit_rows.append(
                {
                    "id": visit_id,
                    "assignment_id": visit_id,
                    "client_uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                    "payload_hash": "0" * 64,
                    "started_at": started,
                    "device": {},
                    "submitted_at": started + timedelta(hours=1),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            common = {
                "visit_id": visit_id,
                "project_id": seeded.project_id,
                "location_id": location_id,
                "region": region,
                "channel": kind,
                "wave_id": wave_id,
                "visit_day": day,
                "week_start": day - timedelta(days=day.weekday()),
            }
            quality = rng.random()
            scores = [
                min(100.0, max(0.0, round(100 * quality + rng.gauss(0, 20)) * 1.0))
                for _ in range(20)
            ]
            raw = sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)
            knocked_out = rng.random() < 0.03
            visit_score = 0.0 if knocked_out else raw
            for n, score in enumerate(scores):
                conscious = rng.choice((-3, -2, -1, 0, 1, 2, 3)) / 3
                implicit = rng.choice((-1.0, 0.0, 1.0, None))
                step_results.append(
                    {
                        **common,
                        "step_key": f"step_{n:02d}",
                        "phase_key": PHASES[n // STEPS_PER_PHASE],
                        "position": n,
                        "weight": weights[n],
                        "score": score,
                        "raw_score": score,
                        "knocked_out": False,
                        "conscious": conscious,
                        "implicit": implicit,
                        "gap": None if implicit is None else implicit - conscious,
                        "probes_valid": 0 if implicit is None else 1,
                        "probes_excluded": 1 if implicit is None else 0,
                        "basis": score,
                        "ease": score,
                        "visit_score": visit_score,
                    }
                )
            for p, phase in enumerate(PHASES):
                part = range(p * STEPS_PER_PHASE, (p + 1) * STEPS_PER_PHASE)
                weight = sum(weights[n] for n in part)
                phase_score = sum(weights[n] * scores[n] for n in part) / weight
                phase_results.append(
                    {
                        **common,
                        "phase_key": phase,
                        "position": p,
                        "weight": weight,
                        "score": phase_score,
                        "raw_score": phase_score,
                        "knocked_out": False,
                    }
                )
            score = visit_score
            visit_results.append(
                {
                    **common,
                    "shopper_id": shopper_id,
                    "journey_version_id": seeded.version_id,
                    "score": score,
                    "raw_score": raw,
                    "knocked_out": knocked_out,
                    "passed": score >= 70,
                    "band": "pass" if score >= 70 else "fail",
                    "basis": min(100.0, raw + rng.gauss(5, 10)),
                    "ease": min(100.0, max(0.0, raw + rng.gauss(-5, 10))),
                    "emotion": min(100.0, max(0.0, raw + rng.gauss(-10, 15))),
                    "approved_at": now,
                }
            )
        with engine.begin() as conn:
            for table, rows in (
                (Assignment, assignments),
                (Visit, visit_rows),
                (VisitResult, visit_results),
                (PhaseResult, phase_results),
                (StepResult, step_results),
            ):
                conn.execute(insert(table), rows)
        print(f"  {start + count:>9,} visits", end="\r", flush=True)
    print()
    with engine.begin() as conn:
        for rollup, source in ((StepDay, StepResult), (PhaseDay, PhaseResult)):
            names, query = rollup_select(
                rollup, source, [source.project_id == seeded.project_id], targets=TARGETS
            )
            conn.execute(insert(rollup).from_select(names, query))
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("SELECT setval('assignments_id_seq', (SELECT max(id) FROM assignments))")
            )
            conn.execute(text("SELECT setval('visits_id_seq', (SELECT max(id) FROM visits))"))
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))


# ---------------------------------------------------------------- the comparison


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    sql: str


def cases(seeded: Seeded) -> list[Case]:
    pid = seeded.project_id
    wave = seeded.waves[1]
    visits = f"FROM result_visits WHERE project_id = {pid}"
    steps = f"FROM result_steps WHERE project_id = {pid}"
    visit_columns = (
        "count(*), avg(score), "
        "avg(CASE WHEN score IS NULL THEN NULL WHEN score >= 70 - 1e-9 THEN 1.0 ELSE 0.0 END), "
        "avg(CASE WHEN knocked_out THEN 0.0 ELSE 1.0 END), avg(basis), avg(ease), avg(emotion)"
    )
    cells = f"FROM result_step_days WHERE project_id = {pid}"
    step_columns = (
        "step_key, min(phase_key), min(position), sum(visits), "
        "sum(score_sum) / nullif(sum(scored), 0), sum(raw_sum) / nullif(sum(raw_scored), 0), "
        "sum(knocked) * 1.0 / sum(visits), sum(conscious_sum) / nullif(sum(conscious_n), 0), "
        "sum(implicit_sum) / nullif(sum(implicit_n), 0), sum(gap_sum) / nullif(sum(gap_n), 0), "
        "sum(probes_valid), sum(probes_excluded)"
    )
    visit_step_columns = (
        "step_key, min(phase_key), min(position), count(*), avg(score), avg(raw_score), "
        "avg(CASE WHEN knocked_out THEN 1.0 ELSE 0.0 END), avg(conscious), avg(implicit), "
        "avg(gap), sum(probes_valid), sum(probes_excluded)"
    )
    location = seeded.locations[7][0]
    keys = ", ".join(f"'step_{n:02d}'" for n in range(20))
    targets = " ".join(f"WHEN 'step_{n:02d}' THEN {60.0 + n}" for n in range(20))
    base = f"/api/v1/projects/{pid}/results"
    cx_columns = (
        "step_key, min(phase_key), min(position), sum(visits), "
        "sum(score_sum) / nullif(sum(scored), 0), sum(weight_sum) / sum(visits), "
        "sum(conscious_sum) / nullif(sum(conscious_n), 0), "
        "sum(implicit_sum) / nullif(sum(implicit_n), 0), sum(gap_sum) / nullif(sum(gap_n), 0), "
        "sum(basis_sum) / nullif(sum(basis_n), 0), sum(ease_sum) / nullif(sum(ease_n), 0), "
        "sum(pair_n), sum(pair_x), sum(pair_y), sum(pair_xx), sum(pair_yy), sum(pair_xy)"
    )
    both = "CASE WHEN score IS NOT NULL AND visit_score IS NOT NULL THEN {} END"
    cx_visit_columns = ", ".join(
        [
            "step_key, min(phase_key), min(position), count(*), avg(score), avg(weight)",
            "avg(conscious), avg(implicit), avg(gap), avg(basis), avg(ease)",
            f"sum({both.format('1')})",
            *(
                f"sum({both.format(value)})"
                for value in ("score", "visit_score", "score * score", "visit_score * visit_score")
            ),
            f"sum({both.format('score * visit_score')})",
        ]
    )
    return [
        Case("summary", f"{base}/summary", f"SELECT {visit_columns}, avg(raw_score) {visits}"),
        Case(
            "summary ?wave",
            f"{base}/summary?wave_id={wave}",
            f"SELECT {visit_columns}, avg(raw_score) {visits} AND wave_id = {wave}",
        ),
        Case(
            "phases",
            f"{base}/phases",
            "SELECT phase_key, min(position), sum(visits), sum(score_sum) / nullif(sum(scored), 0), "
            "sum(raw_sum) / nullif(sum(raw_scored), 0), sum(knocked) * 1.0 / sum(visits) "
            f"FROM result_phase_days WHERE project_id = {pid} GROUP BY phase_key",
        ),
        Case("steps", f"{base}/steps", f"SELECT {step_columns} {cells} GROUP BY step_key"),
        Case(
            "steps ?region",
            f"{base}/steps?region=region-3",
            f"SELECT {step_columns} {cells} AND region = 'region-3' GROUP BY step_key",
        ),
        Case(
            "steps ?dates",
            f"{base}/steps?date_from=2026-03-01&date_to=2026-03-31",
            f"SELECT {step_columns} {cells} AND visit_day BETWEEN '2026-03-01' AND '2026-03-31' "
            "GROUP BY step_key",
        ),
        Case(
            "steps ?location",
            f"{base}/steps?location_id={location}",
            f"SELECT {visit_step_columns} {steps} AND location_id = {location} GROUP BY step_key",
        ),
        Case(
            "locations",
            f"{base}/locations?limit=50",
            f"SELECT location_id, {visit_columns} {visits} GROUP BY location_id "
            "ORDER BY coalesce(avg(score), -1) DESC, location_id LIMIT 51",
        ),
        Case(
            "regions",
            f"{base}/regions",
            f"SELECT region, count(DISTINCT location_id), {visit_columns} {visits} GROUP BY region",
        ),
        Case(
            "trend ?by=wave",
            f"{base}/trend?by=wave",
            f"SELECT wave_id, {visit_columns} {visits} GROUP BY wave_id",
        ),
        Case(
            "trend ?by=week",
            f"{base}/trend?by=week",
            f"SELECT week_start, {visit_columns} {visits} GROUP BY week_start",
        ),
        Case(
            "pain-points",
            f"{base}/pain-points?by=emotion",
            f"SELECT {step_columns} {cells} GROUP BY step_key",
        ),
        Case(
            "gaps",
            f"{base}/gaps",
            "SELECT step_key, count(score), avg(score), "
            f"sum(CASE WHEN score < CASE step_key {targets} END THEN 1 ELSE 0 END), avg(weight) "
            f"{steps} AND step_key IN ({keys}) "
            "GROUP BY step_key",
        ),
        Case(
            "cx-map",
            f"/api/v1/projects/{pid}/cx-map",
            f"SELECT {cx_columns} {cells} GROUP BY step_key",
        ),
        Case(
            "cx-map ?location",
            f"/api/v1/projects/{pid}/cx-map?location_id={location}",
            f"SELECT {cx_visit_columns} {steps} AND location_id = {location} GROUP BY step_key",
        ),
    ]


def median_ms(run: Callable[[], Any], calls: int) -> float:
    run()  # warm-up: plans, caches, the journey definition
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def http_get(conn: http.client.HTTPConnection, path: str, token: str) -> Any:
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
    return json.loads(body)


@dataclass
class Figure:
    case: str
    http_ms: float
    sql_ms: float


def run(url: str, label: str, args: argparse.Namespace, work_dir: Path) -> list[Figure]:
    print(f"{label}: generating {args.visits:,} approved visits x 20 steps")
    engine = fresh_engine(url)
    started = time.perf_counter()
    seeded = seed_project(engine, locations=args.locations)
    generate(engine, seeded, visits=args.visits)
    print(f"  generated in {time.perf_counter() - started:.0f} s")
    token = issue_token(user_id=seeded.manager_id, secret=SECRET, lifetime_minutes=600)[0]
    process, port = start_server(
        engine.url.render_as_string(hide_password=False), work_dir / label, secret=SECRET
    )
    figures = []
    try:
        with engine.connect() as sql:
            for case in cases(seeded):
                # A connection per endpoint: uvicorn drops keep-alives idle for 5 s.
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                http_ms = median_ms(
                    lambda case=case, conn=conn: http_get(conn, case.path, token), args.calls
                )
                sql_ms = median_ms(lambda case=case: sql.execute(text(case.sql)).all(), args.calls)
                figures.append(Figure(case.name, http_ms, sql_ms))
                conn.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        engine.dispose()
    return figures


def report(label: str, figures: list[Figure]) -> Iterator[str]:
    yield f"\n{label}: median of the calls, ms"
    yield f"{'endpoint':<18}{'HTTP':>10}{'SQL':>10}{'ratio':>8}  aim"
    for f in figures:
        ratio = f.http_ms / f.sql_ms if f.sql_ms else float("inf")
        ok = "ok" if f.http_ms < 200 and ratio <= 2 else "MISSED"
        yield f"{f.case:<18}{f.http_ms:>10.1f}{f.sql_ms:>10.1f}{ratio:>8.2f}  {ok}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", help="a new SQLite file, or PostgreSQL (…bench)")
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=500)
    parser.add_argument("--calls", type=int, default=5, help="timed calls per endpoint")
    args = parser.parse_args()
    given = args.database_url or ""
    postgres = given if given.startswith("postgres") else ""
    postgres = postgres or os.environ.get("FIELDWORK_BENCH_POSTGRES_URL", "")
    with tempfile.TemporaryDirectory(prefix="fieldwork-bench-") as tmp:
        work_dir = Path(tmp)
        sqlite = given if given.startswith("sqlite") else f"sqlite:///{work_dir / 'bench.sqlite3'}"
        targets = [(sqlite, "SQLite")] + ([(postgres, "PostgreSQL")] if postgres else [])
        for url, _ in targets:
            refuse_unsafe(url)
        results = [(label, run(url, label, args, work_dir)) for url, label in targets]
    for label, figures in results:
        for line in report(label, figures):
            print(line)


if __name__ == "__main__":
    main()
