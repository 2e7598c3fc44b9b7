"""Correlation between two per-location figures (e.g. mean mystery score and the client's NPS).

For n pairs (x_i, y_i) with means x̄ = Σ x_i / n and ȳ = Σ y_i / n:

    Pearson  r   = Σ (x_i − x̄)(y_i − ȳ) / √( Σ (x_i − x̄)² · Σ (y_i − ȳ)² )
    Spearman rho = Pearson r of the ranks of x and the ranks of y

Ranks run from 1 (smallest value); tied values share the mean of the ranks they span
(2, 2, 5 → ranks 1.5, 1.5, 3), so rho stays exact with ties. Both lie in −1…+1.

Neither is defined when n < ``MIN_PAIRS`` (3: two points always lie on a line, r = ±1 says
nothing) or when either variable is constant (a zero denominator): they are then None. Below
``MIN_PAIRS_TO_TELL`` (5) pairs a value is returned with a note that it is too few to tell.
Pairs with a missing value (None) or a non-finite one are left out before anything is counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIN_PAIRS = 3
MIN_PAIRS_TO_TELL = 5


@dataclass(frozen=True, slots=True)
class Correlation:
    n: int
    pearson: float | None
    spearman: float | None
    note: str | None


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of ``values`` in their own order; ties get the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1  # mean of the 1-based ranks start+1 … end+1
        for position in range(start, end + 1):
            ranks[order[position]] = shared
        start = end + 1
    return ranks


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r of equally long sequences; None below MIN_PAIRS or with a constant one."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    n = len(xs)
    if n < MIN_PAIRS:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    dx = [x - mean_x for x in xs]
    dy = [y - mean_y for y in ys]
    sxx = sum(d * d for d in dx)
    syy = sum(d * d for d in dy)
    if sxx == 0 or syy == 0:
        return None
    r = sum(a * b for a, b in zip(dx, dy, strict=True)) / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))  # rounding may step a hair past ±1


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rho: Pearson's r of the average ranks."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    return pearson(average_ranks(xs), average_ranks(ys))


def correlate(pairs: Iterable[tuple[float | None, float | None]]) -> Correlation:
    """r and rho over the complete, finite pairs, with a note when they are too few to tell."""
    kept = [
        (float(x), float(y))
        for x, y in pairs
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
    ]
    xs = [x for x, _ in kept]
    ys = [y for _, y in kept]
    n = len(kept)
    note = None
    if n < MIN_PAIRS_TO_TELL:
        note = (
            f"Only {n} location(s) have both figures; at least {MIN_PAIRS_TO_TELL} are needed "
            "to tell whether they go together."
        )
    r, rho = pearson(xs, ys), spearman(xs, ys)
    if note is None and r is None:
        note = "One of the figures is the same at every location; no correlation is defined."
    return Correlation(n=n, pearson=r, spearman=rho, note=note)
