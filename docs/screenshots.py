"""Refresh the README's screenshots from the real app.

Runs the browser tests that photograph the dashboard (seeded project, phone and desktop) and the
shopper app (a visit walked through in Chromium), then crops and palette-compresses their
screenshots from tests/screenshots/ into docs/img/ (each under 200 KB).

    python docs/screenshots.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "tests" / "screenshots"
IMG = ROOT / "docs" / "img"
TESTS = (
    "tests/browser/test_dashboard.py::test_dashboard_shows_the_results_api_figures_and_draws_its_charts",
    "tests/browser/test_visit_flow.py::test_full_visit_end_to_end",
)
MAX_BYTES = 200_000

# source screenshot → (README image, width, height of the top part kept in source pixels)
IMAGES = {
    "dashboard-desktop.png": ("dashboard.png", 1200, 1500),
    "dashboard-phone.png": ("dashboard-phone.png", 540, 2700),
    "05-step-emotion.png": ("app.png", 540, None),
}


def compress(source: Path, target: Path, width: int, keep: int | None) -> int:
    image = Image.open(source).convert("RGB")
    if keep:
        image = image.crop((0, 0, image.width, min(image.height, keep)))
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    for colors in (128, 64, 32):
        image.quantize(colors=colors, dither=Image.Dither.NONE).save(target, optimize=True)
        if target.stat().st_size < MAX_BYTES:
            break
    return target.stat().st_size


def main() -> int:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS], cwd=ROOT
    )
    if run.returncode:
        return run.returncode
    IMG.mkdir(parents=True, exist_ok=True)
    for source, (name, width, keep) in IMAGES.items():
        size = compress(SHOTS / source, IMG / name, width, keep)
        print(f"docs/img/{name}: {size // 1000} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
