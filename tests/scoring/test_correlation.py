"""Pearson and Spearman over per-location figures, against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from scoring import average_ranks, correlate, pearson, spearman


@pytest.mark.parametrize(
    ("values", "ranks"),
    [
        ([10.0, 30.0, 20.0], [1.0, 3.0, 2.0]),
        # 2 and 2 span ranks 1 and 2 → 1.5 each
        ([2.0, 2.0, 5.0], [1.5, 1.5, 3.0]),
        # three 7s span ranks 2, 3, 4 → 3 each
        ([7.0, 1.0, 7.0, 7.0, 9.0], [3.0, 1.0, 3.0, 3.0, 5.0]),
        ([], []),
    ],
)
def test_average_ranks_share_the_mean_rank_on_ties(values: list[float], ranks: list[float]) -> None:
    assert average_ranks(values) == ranks


# Hand-computed Pearson r:
# x = 1, 2, 3, 4, 5 (mean 3), y = 2, 4, 5, 4, 5 (mean 4)
#   dx = −2 −1 0 1 2, dy = −2 0 1 0 1; Σdxdy = 4 + 0 + 0 + 0 + 2 = 6; Σdx² = 10; Σdy² = 6
#   r = 6 / √60 = 0.774597
# x = 60, 70, 80, 90 (mean 75), y = 10, 0, 30, 20 (mean 15)
#   dx = −15 −5 5 15, dy = −5 −15 15 5; Σdxdy = 75 + 75 + 75 + 75 = 300; Σdx² = 500; Σdy² = 500
#   r = 300 / 500 = 0.6
PEARSON_CASES = [
    ([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 5.0, 4.0, 5.0], 6 / math.sqrt(60)),
    ([60.0, 70.0, 80.0, 90.0], [10.0, 0.0, 30.0, 20.0], 0.6),
    ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], -1.0),
    ([1.0, 2.0, 3.0], [5.0, 5.0, 5.0], None),  # y constant: no r
    ([1.0, 2.0], [1.0, 2.0], None),  # two points: always ±1, not reported
]


@pytest.mark.parametrize(("xs", "ys", "expected"), PEARSON_CASES)
def test_pearson_matches_hand_computed_values(
    xs: list[float], ys: list[float], expected: float | None
) -> None:
    got = pearson(xs, ys)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


# Spearman: x = 1, 2, 3, 4, 5 → ranks 1…5; y = 2, 4, 5, 4, 5 → ranks 1, 2.5, 4.5, 2.5, 4.5
#   (mean 3): dx = −2 −1 0 1 2, dy = −2 −0.5 1.5 −0.5 1.5; Σdxdy = 4 + 0.5 + 0 − 0.5 + 3 = 7;
#   Σdx² = 10; Σdy² = 4 + 0.25 + 2.25 + 0.25 + 2.25 = 9 → rho = 7 / √90 = 0.737865
# A monotone but non-linear relation: x = 1, 2, 3, 4, y = 1, 8, 27, 64 → rho = 1 (r < 1).
SPEARMAN_CASES = [
    ([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 5.0, 4.0, 5.0], 7 / math.sqrt(90)),
    ([1.0, 2.0, 3.0, 4.0], [1.0, 8.0, 27.0, 64.0], 1.0),
    ([60.0, 70.0, 80.0, 90.0], [10.0, 0.0, 30.0, 20.0], 0.6),
]


@pytest.mark.parametrize(("xs", "ys", "expected"), SPEARMAN_CASES)
def test_spearman_is_pearson_of_average_ranks(
    xs: list[float], ys: list[float], expected: float
) -> None:
    assert spearman(xs, ys) == pytest.approx(expected)


def test_monotone_curve_has_rho_one_but_r_below_one() -> None:
    xs, ys = [1.0, 2.0, 3.0, 4.0], [1.0, 8.0, 27.0, 64.0]
    r = pearson(xs, ys)
    assert r is not None and r < 0.99
    assert spearman(xs, ys) == pytest.approx(1.0)


def test_correlate_drops_incomplete_pairs_and_counts_the_rest() -> None:
    pairs = [(1.0, 2.0), (2.0, 4.0), (None, 9.0), (3.0, 5.0), (4.0, None), (4.0, 4.0), (5.0, 5.0)]
    result = correlate(pairs)
    assert result.n == 5
    assert result.pearson == pytest.approx(6 / math.sqrt(60))
    assert result.spearman == pytest.approx(7 / math.sqrt(90))
    assert result.note is None


@pytest.mark.parametrize(
    ("pairs", "n", "defined"),
    [
        ([], 0, False),
        ([(1.0, 1.0), (2.0, 2.0)], 2, False),
        ([(1.0, 1.0), (2.0, 3.0), (3.0, 2.0), (4.0, 4.0)], 4, True),
    ],
)
def test_correlate_notes_too_few_locations(
    pairs: list[tuple[float, float]], n: int, defined: bool
) -> None:
    result = correlate(pairs)
    assert result.n == n
    assert result.note is not None and "at least 5" in result.note
    assert (result.pearson is not None) is defined


def test_correlate_notes_a_constant_figure() -> None:
    result = correlate([(float(x), 7.0) for x in range(6)])
    assert (result.n, result.pearson, result.spearman) == (6, None, None)
    assert result.note is not None and "same at every location" in result.note


def test_pearson_refuses_sequences_of_different_length() -> None:
    with pytest.raises(ValueError, match="length"):
        pearson([1.0, 2.0, 3.0], [1.0, 2.0])
