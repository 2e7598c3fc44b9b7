"""An installed Fieldwork (``pip install .``, as the Dockerfile does) carries every file it serves.

setuptools copies only the non-Python files that pyproject.toml's package-data patterns name; a
file the patterns miss works in a checkout and is missing in the image (the console's views once
were). The patterns are applied here the way setuptools applies them, to every package's files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "briefings", "scoring", "migrations")


def package_data() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["package-data"]  # type: ignore[no-any-return]


def data_files(top: str) -> set[Path]:
    return {
        path
        for path in (ROOT / top).rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    }


def included(top: str, patterns: dict[str, list[str]]) -> set[Path]:
    """Files that the patterns take: "*" patterns apply within every package folder (with
    pyproject's package discovery every folder is one, a namespace package if it has no
    __init__.py), a named package's patterns from its own folder; setuptools adds py.typed."""
    found = set((ROOT / top).rglob("py.typed"))
    folders = [p for p in (ROOT / top).rglob("*") if p.is_dir() and p.name != "__pycache__"]
    for folder in [ROOT / top, *folders]:
        for pattern in patterns.get("*", []):
            found.update(p for p in folder.glob(pattern) if p.is_file())
    for pattern in patterns.get(top, []):
        found.update(p for p in (ROOT / top).glob(pattern) if p.is_file())
    return found


def test_every_data_file_is_in_the_package() -> None:
    patterns = package_data()
    missing = {
        str(path.relative_to(ROOT))
        for top in PACKAGES
        for path in data_files(top) - included(top, patterns)
    }
    assert missing == set()


def test_the_console_views_and_the_vendored_chart_library_are_included() -> None:
    taken = included("api", package_data())
    assert ROOT / "api/web/console/views/queue.js" in taken
    assert ROOT / "api/web/dashboard/vendor/chart.umd.min.js" in taken
    assert ROOT / "api/demo_data/history.yaml" in taken
