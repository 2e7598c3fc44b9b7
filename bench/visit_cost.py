"""What one whole-visit batch costs the server, measured in one process, without the network.

    python bench/visit_cost.py [--visits 200] [--group 1] [--full-results]  # CPU ms per visit
    python bench/visit_cost.py --callgrind [--visits 50] [...]   # machine instructions per visit

The served app (``create_served_app``, as ``fieldwork serve`` runs it) is driven through ASGI
with the same batches ``bench/ingest.py`` sends: a check-in, one small photo, 20 steps with both
emotion measures and the check-out, one request a visit, one after the other, with ``Prefer:
return=minimal`` as the outbox sends them (``--full-results``: without it). Nothing else runs,
so this is the server's own cost of a visit: the HTTP framework, authentication, parsing, the
plan, QC, the write and the answer (not uvicorn's socket handling). ``--group N`` sends the
batches N at a time, as a loaded server's lane finds them waiting: the lane then runs them as one
group (one read and one write transaction for all N).

CPU time on a shared machine moves by a third from hour to hour. ``--callgrind`` runs the same
visits under valgrind's callgrind (Debian's ``valgrind``) and counts the instructions executed
while the measured visits run: the same code gives the same count to within a fraction of a
percent whatever else the machine does, so it shows what a change to the code saves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest
from bench._server import ROOT

WARM_UP = 20


async def _send(app: object, token: str, planned: ingest.PlannedVisit, full: bool) -> None:
    path = "/api/v1" + planned.batch_path
    headers = [
        (b"host", b"bench"),
        (b"content-type", planned.batch_type.encode()),
        (b"content-length", str(len(planned.batch)).encode()),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    if not full:
        headers.append((b"prefer", b"return=minimal"))  # as the outbox sends it
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    messages = [{"type": "http.request", "body": planned.batch, "more_body": False}]

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[operator]
    status = sent[0]["status"]
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))  # type: ignore[misc]
    refused = [r for r in body.get("results", []) if r["status"] >= 300]
    if status != 200 or refused:
        raise RuntimeError(f"the batch was refused: {status} {refused or body}")


def _toggle(state: str) -> None:
    """Switch callgrind's counting on or off for this process (a no-op outside valgrind)."""
    if not os.environ.get("FIELDWORK_BENCH_CALLGRIND"):
        return
    control = subprocess.Popen(
        ["callgrind_control", "--instr=" + state, str(os.getpid())], stdout=subprocess.DEVNULL
    )
    while control.poll() is None:  # valgrind answers while this process runs Python
        sum(range(1000))


def measure(visits: int, full: bool = False, group: int = 1) -> float:
    """CPU seconds per visit of ``visits`` whole-visit batches after a warm-up, sent ``group``
    at a time."""
    workdir = Path(tempfile.mkdtemp(prefix="fieldwork-visit-cost-"))
    try:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        from api.db import Database, make_engine
        from api.migrate import upgrade

        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        db = Database(url)
        tokens, assignments = ingest.seed(db, 1, visits + WARM_UP)
        db.dispose()
        os.environ.update(
            {
                "FIELDWORK_DATABASE_URL": url,
                "FIELDWORK_DATA_DIR": str(workdir),
                "FIELDWORK_SECRET_KEY": ingest.SECRET,
                "FIELDWORK_EXPIRY_INTERVAL_SECONDS": "0",
            }
        )
        from api.main import create_served_app

        app = create_served_app()
        planned = [ingest.PlannedVisit(a, ingest.small_jpeg(a)) for a in assignments[0]]

        async def send_all(visits: list[ingest.PlannedVisit]) -> None:
            for at in range(0, len(visits), group):
                sends = [_send(app, tokens[0], one, full) for one in visits[at : at + group]]
                await asyncio.gather(*sends)

        async def run() -> float:
            async with app.router.lifespan_context(app):
                await send_all(planned[:WARM_UP])
                _toggle("on")
                started = time.process_time()
                await send_all(planned[WARM_UP:])
                spent = time.process_time() - started
                _toggle("off")
                return spent

        return asyncio.run(run()) / visits
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def under_callgrind(visits: int, full: bool, group: int) -> int:
    """Instructions per visit, from a run of this script under callgrind."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("--callgrind needs valgrind (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as out:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}/callgrind.out",
            sys.executable,
            str(Path(__file__).resolve()),
            "--visits",
            str(visits),
            "--group",
            str(group),
            *(["--full-results"] if full else []),
        ]
        env = os.environ | {"FIELDWORK_BENCH_CALLGRIND": "1"}
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the run under callgrind failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return int(found.group(1)) // visits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=0, help="default: 200, or 50 --callgrind")
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    parser.add_argument("--group", type=int, default=1, help="batches sent at once (default 1)")
    parser.add_argument(
        "--full-results",
        action="store_true",
        help="ask for every result's body (the outbox sends Prefer: return=minimal)",
    )
    args = parser.parse_args()
    if args.callgrind:
        visits = args.visits or 50
        print(
            f"{visits} whole-visit batches, {args.group} at a time, under callgrind (about a minute)"
        )
        print(f"instructions per visit: {under_callgrind(visits, args.full_results, args.group):,}")
        return
    visits = args.visits or 200
    cpu = measure(visits, args.full_results, args.group)
    if not os.environ.get("FIELDWORK_BENCH_CALLGRIND"):
        print(f"{visits} whole-visit batches, {args.group} at a time, one process, no network")
        print(f"server CPU per visit: {cpu * 1000:.2f} ms ({1 / cpu:.0f} visits/s on one core)")


if __name__ == "__main__":
    main()
