"""The local media store: content-addressed files, written whole, from many threads at once."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

from api.visits.media import LocalMediaStore


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_put_stores_each_content_once_under_its_sha256(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    first, second = b"photo one" * 1000, b"photo two"
    key = store.put(first)
    assert key == hashlib.sha256(first).hexdigest()
    assert store.put(first) == key  # the same bytes again: harmless
    other = store.put(second)
    assert store.get(key) == first and store.get(other) == second
    assert store.exists(key) and not store.exists("0" * 64) and not store.exists("../x")
    # Nothing but the two files: no temporary file is left behind.
    assert _files(tmp_path) == sorted(
        [tmp_path / "media" / key[:2] / key, tmp_path / "media" / other[:2] / other]
    )


def test_put_makes_its_folder_again_when_it_was_removed(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    key = store.put(b"before")
    shutil.rmtree(tmp_path / "media")
    again = store.put(b"before")
    assert again == key and store.get(key) == b"before"


def test_threads_putting_at_once_each_get_whole_files(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    contents = [bytes([n]) * 200_000 for n in range(8)]
    barrier = threading.Barrier(16)
    keys: list[str] = []

    def put(data: bytes) -> None:
        barrier.wait()
        keys.append(store.put(data))

    threads = [threading.Thread(target=put, args=(data,)) for data in contents * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(keys) == sorted(hashlib.sha256(d).hexdigest() for d in contents * 2)
    assert len(_files(tmp_path)) == len(contents)
    assert all(store.get(hashlib.sha256(d).hexdigest()) == d for d in contents)
