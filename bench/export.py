"""Exports at scale: CSV and XLSX of 100,000 approved visits downloaded over HTTP.

    python bench/export.py [--visits 100000] [--database-url URL] [--long] [--keep FILE]

Seeds a project with N approved visits of bench/results.py's 20-step journey (its seeding, reused)
plus each visit's answers (one step observation per step, one yes/no answer each), starts the API
under uvicorn in its own process and downloads /exports/visits.csv and /exports/visits.xlsx
(wide: one row per visit, 15 + 40 columns) as a client would, reading the body in 64 KiB pieces.
--long adds the long CSV (one row per answer: 20 × N rows). Seeding takes minutes: --keep FILE
keeps the seeded SQLite file at FILE, and a later run with the same --keep FILE reuses it.

Prints per download: seconds, visits/s, the time to the first byte, the size, the server
process's CPU seconds (user + system, from /proc/<pid>/stat: on a busy machine a steadier figure
than the wall clock) and its peak resident memory during the download (VmHWM of
/proc/<pid>/status, reset before each download through /proc/<pid>/clear_refs; where that is
refused the peak since start is shown, marked "*").

Databases as in bench/results.py: a fresh SQLite file in a temporary directory (or --database-url
sqlite:///new-file); PostgreSQL when --database-url or FIELDWORK_BENCH_POSTGRES_URL is a
postgresql:// URL whose database name ends in "bench" (its public schema is dropped).

Aims at 100,000 visits: CSV < 30 s, XLSX < 120 s, server peak < 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import os
import random
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, text

from api.accounts.security import issue_token
from api.db import make_engine
from api.visits.models import StepObservation
from bench._server import start_server
from bench.results import SECRET, Seeded, fresh_engine, generate, refuse_unsafe, seed_project

STEPS = 20
CHUNK_VISITS = 2_000
AIMS = {"csv": 30.0, "xlsx": 120.0}
PEAK_AIM_MB = 300.0


def seed_answers(engine: Engine, seeded: Seeded) -> int:
    """One observation per visit and step with its yes/no answer and conscious valence."""
    rng = random.Random(5)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        visit_ids = [
            row[0]
            for row in conn.execute(
                text("SELECT visit_id FROM result_visits WHERE project_id = :p ORDER BY visit_id"),
                {"p": seeded.project_id},
            )
        ]
    for start in range(0, len(visit_ids), CHUNK_VISITS):
        rows = [
            {
                "visit_id": visit_id,
                "step_key": f"step_{n:02d}",
                "client_uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                "payload_hash": "0" * 64,
                "revision": 1,
                "replaced_writes": {},
                "answers": {f"q{n}": rng.choice(("yes", "no"))},
                "evidence": {},
                "notes": "",
                "conscious": {"valence": rng.randint(-3, 3)},
                "probes": [],
                "created_at": now,
                "updated_at": now,
            }
            for visit_id in visit_ids[start : start + CHUNK_VISITS]
            for n in range(STEPS)
        ]
        with engine.begin() as conn:
            conn.execute(insert(StepObservation), rows)
        print(f"  {start + CHUNK_VISITS:>9,} visits' answers", end="\r", flush=True)
    print()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return len(visit_ids)


# ---------------------------------------------------------------- measuring


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM (Linux ≥ 4.0); False where that is not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Figure:
    database: str
    export: str  # "csv wide", "xlsx wide", "csv long"
    visits: int
    rows: int | None
    seconds: float
    first_byte_seconds: float
    server_cpu_seconds: float
    megabytes: float
    peak_mb: float
    peak_since_start: bool

    @property
    def visits_per_second(self) -> float:
        return self.visits / self.seconds if self.seconds else float("inf")

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"visits_per_second": self.visits_per_second}


def download(port: int, path: str, token: str, target: Path) -> tuple[float, float, int]:
    """Seconds in all, seconds to the first byte, and bytes written to ``target``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.read(300)!r}")
    first = None
    size = 0
    with target.open("wb") as out:
        while piece := response.read(65536):
            if first is None:
                first = time.perf_counter() - started
            out.write(piece)
            size += len(piece)
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, first or seconds, size


def count_csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def seed(url: str, visits: int) -> tuple[int, int]:
    """A fresh database with the bench project; its id and its manager's."""
    engine = fresh_engine(url)
    seeded = seed_project(engine, locations=500)
    generate(engine, seeded, visits=visits)
    seed_answers(engine, seeded)
    engine.dispose()
    return seeded.project_id, seeded.manager_id


def seeded_ids(url: str) -> tuple[int, int, int]:
    """Project id, manager id and approved visits of a database seeded before."""
    engine = make_engine(url)
    with engine.connect() as conn:
        project_id, manager_id, visits = conn.execute(
            text(
                "SELECT p.id, u.id, (SELECT count(*) FROM result_visits r WHERE r.project_id = p.id)"
                " FROM projects p, users u"
                " WHERE p.name = 'Results bench' AND u.username = 'bench-manager'"
            )
        ).one()
    engine.dispose()
    return project_id, manager_id, visits


def run(
    *,
    visits: int = 100_000,
    database_url: str | None = None,
    label: str = "SQLite",
    long: bool = False,
    keep: Path | None = None,
) -> list[Figure]:
    """Seed, serve and download; the figures of each download. Without ``database_url``, a new
    SQLite file in a temporary directory, or ``keep`` (reused when it exists)."""
    with tempfile.TemporaryDirectory(prefix="fieldwork-export-bench-") as tmp:
        base = Path(tmp)
        url = database_url or f"sqlite:///{keep or base / 'export.sqlite3'}"
        if keep is not None and keep.exists():
            project_id, manager_id, visits = seeded_ids(url)
            print(f"{label}: reusing {keep} ({visits:,} approved visits)")
        else:
            refuse_unsafe(url)
            print(f"{label}: seeding {visits:,} approved visits x {STEPS} steps with answers")
            started = time.perf_counter()
            project_id, manager_id = seed(url, visits)
            print(f"  seeded in {time.perf_counter() - started:.0f} s")
        token = issue_token(user_id=manager_id, secret=SECRET, lifetime_minutes=600)[0]
        process, port = start_server(url, base / "data", secret=SECRET)
        exports = [("csv", "wide"), ("xlsx", "wide")] + ([("csv", "long")] if long else [])
        figures = []
        try:
            for fmt, layout in exports:
                reset = reset_peak(process.pid)
                cpu = cpu_seconds(process.pid)
                target = base / f"export-{layout}.{fmt}"
                path = f"/api/v1/projects/{project_id}/exports/visits.{fmt}?layout={layout}"
                seconds, first, size = download(port, path, token, target)
                cpu = cpu_seconds(process.pid) - cpu
                peak = peak_mb(process.pid)
                if fmt == "csv":
                    rows: int | None = count_csv_rows(target)
                    expected = visits if layout == "wide" else visits * STEPS
                    assert rows == expected, f"{fmt} {layout}: {rows} rows, expected {expected}"
                else:
                    assert zipfile.is_zipfile(target), "the XLSX is not a zip file"
                    rows = None
                target.unlink()
                figures.append(
                    Figure(
                        label,
                        f"{fmt} {layout}",
                        visits,
                        rows,
                        seconds,
                        first,
                        cpu,
                        size / 1e6,
                        peak,
                        not reset,
                    )
                )
        finally:
            process.terminate()
            process.wait(timeout=30)
    return figures


def report(figures: list[Figure]) -> str:
    out = io.StringIO()
    out.write(
        f"\n{'database':<11}{'export':<11}{'visits':>9}{'seconds':>9}{'visits/s':>10}"
        f"{'1st byte':>9}{'CPU s':>8}{'MB':>8}{'peak MB':>9}  aim\n"
    )
    for f in figures:
        aim = AIMS.get(f.export.split()[0], float("inf"))
        ok = "ok" if f.seconds < aim and f.peak_mb < PEAK_AIM_MB else "MISSED"
        star = "*" if f.peak_since_start else ""
        out.write(
            f"{f.database:<11}{f.export:<11}{f.visits:>9,}{f.seconds:>9.1f}"
            f"{f.visits_per_second:>10,.0f}{f.first_byte_seconds:>9.1f}"
            f"{f.server_cpu_seconds:>8.1f}{f.megabytes:>8.1f}"
            f"{f.peak_mb:>8.0f}{star:1}  {ok}\n"
        )
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", help="a new SQLite file, or PostgreSQL (…bench)")
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--long", action="store_true", help="also the long CSV")
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the seeded SQLite file here")
    args = parser.parse_args()
    given = args.database_url or ""
    postgres = given if given.startswith("postgres") else ""
    postgres = postgres or os.environ.get("FIELDWORK_BENCH_POSTGRES_URL", "")
    targets = [(given if given.startswith("sqlite") else None, "SQLite")]
    targets += [(postgres, "PostgreSQL")] if postgres else []
    figures = []
    for url, label in targets:
        keep = args.keep if label == "SQLite" and url is None else None
        figures += run(visits=args.visits, database_url=url, label=label, long=args.long, keep=keep)
    print(report(figures))


if __name__ == "__main__":
    main()
