"""Order-independent aggregates the results API materialises and combines.

An ``Aggregate`` keeps count n, sum Σx and sum of squares Σx² of the present values (None is
skipped), so groups combine by adding their fields and

    mean = Σx / n,   variance = (Σx² − (Σx)² / n) / (n − 1),   pass rate = passed / judged.

Sums are taken with ``math.fsum`` (exactly rounded), so the order of the values never changes an
aggregate built in one go; combining stored aggregates adds floats and can differ in the last bits.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Aggregate:
    count: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def variance(self) -> float | None:
        """Sample variance; None below two values."""
        if self.count < 2:
            return None
        return max(0.0, (self.total_sq - self.total * self.total / self.count) / (self.count - 1))

    @property
    def sd(self) -> float | None:
        variance = self.variance
        return None if variance is None else math.sqrt(variance)

    def __add__(self, other: Aggregate) -> Aggregate:
        return Aggregate(
            self.count + other.count, self.total + other.total, self.total_sq + other.total_sq
        )


def aggregate(values: Iterable[float | None]) -> Aggregate:
    """Count, sum and sum of squares of the values that are not None."""
    present = [float(value) for value in values if value is not None]
    return Aggregate(
        count=len(present),
        total=math.fsum(present),
        total_sq=math.fsum(value * value for value in present),
    )


def combine(aggregates: Iterable[Aggregate]) -> Aggregate:
    """Aggregate of the union of groups (count, sum and sum of squares added up exactly)."""
    parts = list(aggregates)
    return Aggregate(
        count=sum(part.count for part in parts),
        total=math.fsum(part.total for part in parts),
        total_sq=math.fsum(part.total_sq for part in parts),
    )


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    return aggregate(values).mean


def pass_rate(outcomes: Iterable[bool | None]) -> float | None:
    """Share of True among the outcomes that are not None, 0…1."""
    judged = [outcome for outcome in outcomes if outcome is not None]
    return sum(judged) / len(judged) if judged else None


def group_aggregates(rows: Iterable[tuple[K, float | None]]) -> dict[K, Aggregate]:
    """Aggregate per group key of (key, value) rows; groups appear in first-seen order."""
    groups: dict[K, list[float | None]] = {}
    for key, value in rows:
        groups.setdefault(key, []).append(value)
    return {key: aggregate(values) for key, values in groups.items()}
