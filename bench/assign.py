"""Assigning visits: bulk creation with every cap checked, and claim latency under concurrency.

    python bench/assign.py [--n 10000] [--database-url URL] [--profile]

On a fresh database (a SQLite file in a temporary directory unless --database-url names a new
SQLite file; PostgreSQL too when --database-url or FIELDWORK_BENCH_POSTGRES_URL is a postgresql://
URL — its public schema is dropped, so only a database named "test" or "...bench" is accepted):

- bulk: N assignments over 400 qualified shoppers, 500 locations and the days they need, shaped so
  that every cap is checked and none refuses: once through ``create_assignments`` in one
  transaction, once as one POST /projects/{id}/assignments/bulk to the API under uvicorn;
- claim: 20 shoppers in threads, each with its own keep-alive connection, claim 5 distinct open
  job-board visits each, all released at once; median and p95 of one claim.

The API runs under uvicorn in a process of its own, so the client threads do not share its GIL.
Aim on SQLite: bulk >= 2,000 assignments/s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.accounts.models import Role, User, UserCreate
from api.accounts.security import use_hash_cost
from api.accounts.service import create_user
from api.assignments.models import AssignmentCreate
from api.assignments.service import create_assignments
from api.clients.models import Client
from api.db import Database, make_engine, normalise_url
from api.journeys.service import load_version
from api.locations.models import Location, LocationCreate
from api.migrate import upgrade
from api.projects.models import Project, ProjectCaps, ProjectMember
from api.shoppers.models import ShopperRegister
from api.shoppers.service import register, set_qualified
from bench._server import start_server

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "x" * 40
PASSWORD = "bench-password"
AIM_PER_SECOND = 2_000

# No briefing, hence no persona traits: every shopper is eligible.
JOURNEY = """\
key: bench
name: Bench store visit
phases:
  - key: orientation
    name: Orientation
    steps:
      - key: entrance
        name: Entering the store
        touchpoint: store
        channel: physical
        questions:
          - {key: greeted, text: "Were you greeted within a minute?", type: yes_no}
"""


@dataclass
class Figures:
    database: str
    bulk_service: float = 0.0  # assignments/s
    bulk_http: float = 0.0
    refused: int = 0
    claim_median_ms: float = 0.0
    claim_p95_ms: float = 0.0
    claims_ok: int = 0
    claims: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Seeded:
    manager_id: int
    bulk_project: int
    http_project: int
    claim_project: int
    locations: dict[int, list[int]]
    shoppers: list[int]
    claimers: list[str]
    open_ids: list[int]


# ---------------------------------------------------------------- database


def refuse_unsafe(url: str) -> None:
    """Exit unless ``url`` is a new SQLite file or a PostgreSQL database meant for throwing away."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and Path(parsed.database).exists():
            sys.exit(f"refusing to reuse {parsed.database}: give the path of a new SQLite file")
        return
    name = parsed.database or ""
    if not (name.endswith("bench") or name == "test"):
        sys.exit(
            f"refusing to drop the schema of database {name!r}: "
            "use one named 'test' or ending in 'bench'"
        )


def fresh_database(url: str) -> Database:
    """An empty database at ``url`` with the schema of the migrations."""
    refuse_unsafe(url)
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        _create_if_missing(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return Database(url)


def _create_if_missing(url: str) -> None:
    parsed = make_url(url)
    engine = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if not exists and (parsed.database or "").endswith("bench"):
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        engine.dispose()


# ---------------------------------------------------------------- seeding


def loose_caps(*, per_shopper: int, per_day: int, lockout_days: int) -> ProjectCaps:
    """Caps every row of the bench passes, each still checked."""
    return ProjectCaps(
        max_open_per_shopper=per_shopper + 1,
        max_visits_per_shopper_per_day=max(2, per_day),
        max_visits_per_shopper_per_period=per_shopper + 1,
        location_lockout_days=lockout_days,
        max_visits_per_location_per_day=2,
    )


def seed(
    db: Database,
    *,
    n: int,
    shoppers: int,
    locations: int,
    claimers: int,
    claims: int,
    open_visits: int,
) -> Seeded:
    per_shopper = math.ceil(n / shoppers)
    per_day = min(shoppers, locations) // 2
    # A shopper meets the same location again every lcm(shoppers, locations) rows.
    lockout = max(1, min(90, math.lcm(shoppers, locations) // per_day - 1))
    bulk_caps = loose_caps(per_shopper=per_shopper, per_day=1, lockout_days=lockout)
    # Claimers take visits at distinct locations, several on one day.
    board_caps = loose_caps(per_shopper=claims, per_day=claims, lockout_days=7)
    with db.session() as session:
        admin = create_user(
            session,
            data=UserCreate(username="bench-admin", password=PASSWORD, role=Role.admin),
            actor=None,
        )
        manager = create_user(
            session,
            data=UserCreate(username="bench-manager", password=PASSWORD, role=Role.manager),
            actor=admin,
        )
        client = Client(name="Bench client")
        session.add(client)
        session.flush()
        assert client.id is not None and manager.id is not None
        projects: dict[str, int] = {}
        location_ids: dict[int, list[int]] = {}
        for name, caps, count in (
            ("Bulk via the service", bulk_caps, locations),
            ("Bulk via HTTP", bulk_caps, locations),
            ("Job board", board_caps, 50),
        ):
            project = Project(client_id=client.id, name=name, caps=caps.model_dump(mode="json"))
            session.add(project)
            session.flush()
            assert project.id is not None
            session.add(ProjectMember(project_id=project.id, user_id=manager.id))
            load_version(
                session,
                project=project,
                source=JOURNEY,
                filename="bench.yaml",
                publish=True,
                actor=manager,
            )
            rows = [
                Location.model_validate(
                    LocationCreate(
                        code=f"L{i:04d}",
                        name=f"Shop {i}",
                        latitude=52 + i / 10_000,
                        longitude=4.5,
                        region="north",
                    ),
                    update={"project_id": project.id},
                )
                for i in range(count)
            ]
            session.add_all(rows)
            session.flush()
            projects[name] = project.id
            location_ids[project.id] = [row.id for row in rows if row.id is not None]

        shopper_ids = [_shopper(session, f"shopper-{i:04d}") for i in range(shoppers)]
        claimer_names = [f"claimer-{i:02d}" for i in range(claimers)]
        for name in claimer_names:
            _shopper(session, name)

        board = session.get(Project, projects["Job board"])
        assert board is not None
        board_locations = location_ids[projects["Job board"]]
        start = date.today() + timedelta(days=1)
        result = create_assignments(
            session,
            project=board,
            items=[
                AssignmentCreate(
                    location_id=board_locations[j % len(board_locations)],
                    **visit_window(start + timedelta(days=j // len(board_locations))),
                )
                for j in range(open_visits)
            ],
            actor=manager,
        )
        open_ids = [row.assignment_id for row in result.rows if row.assignment_id is not None]
    return Seeded(
        manager_id=manager.id,
        bulk_project=projects["Bulk via the service"],
        http_project=projects["Bulk via HTTP"],
        claim_project=projects["Job board"],
        locations=location_ids,
        shoppers=shopper_ids,
        claimers=claimer_names,
        open_ids=open_ids,
    )


def _shopper(session: Any, username: str) -> int:
    user, profile = register(
        session,
        data=ShopperRegister(
            username=username,
            password=PASSWORD,
            date_of_birth=date(1990, 1, 1),
            region="north",
            languages=["nl"],
        ),
    )
    set_qualified(session, profile=profile, qualified=True, actor_id=None, reason="bench")
    assert user.id is not None
    return user.id


def visit_window(day: date) -> dict[str, datetime]:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    return {"window_start": start, "window_end": start + timedelta(days=2)}


def bulk_rows(n: int, shoppers: list[int], locations: list[int]) -> list[dict[str, Any]]:
    """Row i: shopper i mod S, location i mod L, one day per min(S, L)/2 rows, so no shopper or
    location has two visits a day and a shopper meets a location again only lcm(S, L) rows on."""
    per_day = min(len(shoppers), len(locations)) // 2
    start = date.today() + timedelta(days=1)
    return [
        {
            "location_id": locations[i % len(locations)],
            "shopper_id": shoppers[i % len(shoppers)],
            **visit_window(start + timedelta(days=i // per_day)),
        }
        for i in range(n)
    ]


# ---------------------------------------------------------------- (a) bulk


def bulk_via_service(
    db: Database, seeded: Seeded, rows: list[dict[str, Any]], profile: bool
) -> tuple[float, int]:
    items = [AssignmentCreate.model_validate(row) for row in rows]
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    with db.session() as session:
        project = session.get(Project, seeded.bulk_project)
        manager = session.get(User, seeded.manager_id)
        assert project is not None and manager is not None
        result = create_assignments(
            session, project=project, items=items, actor=manager, all_or_nothing=False
        )
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    print(
        f"bulk: {result.created} assignments in {elapsed:.2f} s = "
        f"{result.created / elapsed:,.0f} assignments/s (caps checked, {result.refused} refused)"
    )
    return result.created / elapsed, result.refused


def bulk_via_http(base_url: str, seeded: Seeded, rows: list[dict[str, Any]]) -> tuple[float, int]:
    body = {
        "items": [
            {
                **row,
                "window_start": row["window_start"].isoformat(),
                "window_end": row["window_end"].isoformat(),
            }
            for row in rows
        ],
        "all_or_nothing": False,
    }
    with httpx.Client(base_url=base_url, timeout=600) as http:
        headers = sign_in(http, "bench-manager")
        started = time.perf_counter()
        response = http.post(
            f"/api/v1/projects/{seeded.http_project}/assignments/bulk", json=body, headers=headers
        )
        elapsed = time.perf_counter() - started
    response.raise_for_status()
    created, refused = response.json()["created"], response.json()["refused"]
    print(
        f"bulk (HTTP): {created} assignments in {elapsed:.2f} s = "
        f"{created / elapsed:,.0f} assignments/s (caps checked, {refused} refused)"
    )
    return created / elapsed, refused


# ---------------------------------------------------------------- (b) claims


def claims(base_url: str, seeded: Seeded, per_claimer: int) -> tuple[list[float], int]:
    """Each claimer takes every len(claimers)-th open visit, so no two want the same one."""
    count = len(seeded.claimers)
    if count * per_claimer > len(seeded.open_ids):
        sys.exit("not enough open visits for the claimers")
    barrier = threading.Barrier(count)
    latencies: list[float] = []
    ok = 0
    lock = threading.Lock()

    def claimer(index: int) -> None:
        nonlocal ok
        mine = seeded.open_ids[index::count][:per_claimer]
        with httpx.Client(base_url=base_url, timeout=60) as http:
            headers = sign_in(http, seeded.claimers[index])
            barrier.wait()
            for assignment_id in mine:
                started = time.perf_counter()
                response = http.post(f"/api/v1/assignments/{assignment_id}/claim", headers=headers)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    ok += response.status_code == 200
                    if response.status_code != 200:
                        print(
                            f"  claim {assignment_id}: {response.status_code} {response.text[:200]}"
                        )

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    median, p95 = statistics.median(latencies), percentile(latencies, 95)
    print(
        f"claim: {ok}/{len(latencies)} claims by {count} concurrent shoppers, "
        f"median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms ({len(latencies) / wall:.0f} claims/s)"
    )
    return latencies, ok


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)]


# ---------------------------------------------------------------- server


def sign_in(http: httpx.Client, username: str) -> dict[str, str]:
    response = http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# ---------------------------------------------------------------- main


def run(url: str, label: str, args: argparse.Namespace, work_dir: Path) -> Figures:
    print(f"\n== {label}: {make_url(normalise_url(url)).render_as_string(hide_password=True)}")
    figures = Figures(database=label)
    db = fresh_database(url)
    started = time.perf_counter()
    seeded = seed(
        db,
        n=args.n,
        shoppers=args.shoppers,
        locations=args.locations,
        claimers=args.claimers,
        claims=args.claims,
        open_visits=args.open,
    )
    print(
        f"seeded {args.shoppers + args.claimers} shoppers, {2 * args.locations + 50} locations, "
        f"{len(seeded.open_ids)} open visits in {time.perf_counter() - started:.1f} s"
    )
    rate, refused = bulk_via_service(
        db,
        seeded,
        bulk_rows(args.n, seeded.shoppers, seeded.locations[seeded.bulk_project]),
        args.profile,
    )
    figures.bulk_service, figures.refused = rate, refused
    db.dispose()

    server, port = start_server(url, work_dir / f"data-{label}", secret=SECRET)
    base_url = f"http://127.0.0.1:{port}"
    try:
        rows = bulk_rows(args.n, seeded.shoppers, seeded.locations[seeded.http_project])
        figures.bulk_http, refused = bulk_via_http(base_url, seeded, rows)
        figures.refused += refused
        latencies, figures.claims_ok = claims(base_url, seeded, args.claims)
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures.claims = len(latencies)
    figures.claim_median_ms = statistics.median(latencies) * 1000
    figures.claim_p95_ms = percentile(latencies, 95) * 1000
    return figures


def summary(results: list[Figures], n: int) -> None:
    print(f"\nsummary (n = {n:,}; aim: bulk >= {AIM_PER_SECOND:,} assignments/s on SQLite)")
    header = f"{'database':<12}{'bulk service/s':>16}{'bulk HTTP/s':>14}{'refused':>9}"
    header += f"{'claims ok':>11}{'claim p50 ms':>14}{'claim p95 ms':>14}"
    print(header)
    print("-" * len(header))
    for f in results:
        print(
            f"{f.database:<12}{f.bulk_service:>16,.0f}{f.bulk_http:>14,.0f}{f.refused:>9}"
            f"{f'{f.claims_ok}/{f.claims}':>11}{f.claim_median_ms:>14.1f}{f.claim_p95_ms:>14.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", help="a new SQLite file, or PostgreSQL (schema dropped)")
    parser.add_argument("--n", type=int, default=10_000, help="assignments in the bulk request")
    parser.add_argument("--shoppers", type=int, default=400)
    parser.add_argument("--locations", type=int, default=500)
    parser.add_argument("--claimers", type=int, default=20)
    parser.add_argument("--claims", type=int, default=5, help="claims per claimer")
    parser.add_argument("--open", type=int, default=200, help="open job-board visits")
    parser.add_argument("--profile", action="store_true", help="cProfile the service bulk call")
    args = parser.parse_args()
    use_hash_cost(time_cost=1, memory_cost=1024)  # seeding hundreds of accounts

    given = args.database_url or ""
    postgres = given if given.startswith("postgres") else ""
    postgres = postgres or os.environ.get("FIELDWORK_BENCH_POSTGRES_URL", "")
    with tempfile.TemporaryDirectory(prefix="fieldwork-bench-") as tmp:
        work_dir = Path(tmp)
        sqlite = given if given.startswith("sqlite") else f"sqlite:///{work_dir / 'bench.sqlite3'}"
        targets = [(sqlite, "SQLite")] + ([(postgres, "PostgreSQL")] if postgres else [])
        for url, _ in targets:
            refuse_unsafe(url)
        results = [run(url, label, args, work_dir) for url, label in targets]
    summary(results, args.n)


if __name__ == "__main__":
    main()
