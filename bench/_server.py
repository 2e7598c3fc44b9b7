"""Start the app under uvicorn in its own process on a free loopback port (for the benches)."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and all its descendants (Linux /proc), else None.

    The benches report it per request: unlike wall times it hardly moves when other programs
    load the machine.
    """
    try:
        total = 0.0
        pending = [pid]
        while pending:
            current = pending.pop()
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat.rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / _TICKS
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        return total
    except (OSError, ValueError):
        return None


def start_server(
    url: str, data_dir: Path, *, secret: str, workers: int = 1
) -> tuple[subprocess.Popen[bytes], int]:
    """The server process and its port, once /api/v1/health answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "FIELDWORK_DATABASE_URL": url,
        "FIELDWORK_DATA_DIR": str(data_dir),
        "FIELDWORK_SECRET_KEY": secret,
        "FIELDWORK_EXPIRY_INTERVAL_SECONDS": "0",
    }
    command = [sys.executable, "-m", "uvicorn", "api.main:create_served_app", "--factory"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    command += ["--workers", str(workers), "--timeout-graceful-shutdown", "3"]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return process, port
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the server did not start")
