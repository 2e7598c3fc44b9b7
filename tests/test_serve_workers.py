"""`fieldwork serve --workers 2` on SQLite: concurrent writes through both processes all land."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(
    bool(PG_URL), reason="the writer queue across processes is SQLite's"
)

WRITES = 24


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_two_server_processes_take_concurrent_writes(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {
        "FIELDWORK_DATA_DIR": str(tmp_path / "data"),
        "FIELDWORK_EXPIRY_INTERVAL_SECONDS": "0",
    }
    env.pop("FIELDWORK_DATABASE_URL", None)
    command = [sys.executable, "-m", "api.cli", "serve", "--demo", "--workers", "2"]
    server = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        token = httpx.post(
            f"{base}/auth/token", data={"username": "admin", "password": "demo-admin-pass"}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def create(n: int) -> int:
            # A connection each, so that the kernel spreads them over both processes.
            with httpx.Client(timeout=60) as client:
                response = client.post(f"{base}/clients", json={"name": f"C{n}"}, headers=headers)
                return response.status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(create, range(WRITES)))
        names = {
            item["name"]
            for item in httpx.get(f"{base}/clients?limit=100", headers=headers).json()["items"]
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert statuses == [201] * WRITES
    assert {f"C{n}" for n in range(WRITES)} <= names
    assert (tmp_path / "data" / "fieldwork.sqlite3-writers").exists()
