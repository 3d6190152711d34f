"""The exact McNemar test against values worked by hand, and the seeded paired bootstrap."""

from __future__ import annotations

import math

import pytest

from harness.compare import mcnemar_exact, paired_bootstrap, quantile


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (1, 8, 0.0390625),  # 2 * (C(9,0) + C(9,1)) / 2^9 = 20 / 512
        (8, 1, 0.0390625),  # two-sided: symmetric
        (0, 5, 0.0625),  # 2 / 2^5
        (2, 0, 0.5),  # 2 * 1/4
        (0, 0, 1.0),  # no discordant pairs
        (4, 4, 1.0),  # b = c: capped at 1
        (10, 10, 1.0),
        (3, 12, 2 * sum(math.comb(15, k) for k in range(4)) / 2**15),
    ],
)
def test_mcnemar_exact(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(p, abs=0, rel=1e-12)


def test_mcnemar_refuses_negative_counts() -> None:
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


def test_quantile_interpolates_like_numpy() -> None:
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([1, 2, 3, 4], 0.25) == 1.75
    assert quantile([7], 0.975) == 7


def test_bootstrap_of_a_constant_difference_is_that_difference() -> None:
    interval = paired_bootstrap([15, 25, 35], [10, 20, 30])
    assert (interval.mean, interval.low, interval.high, interval.n) == (5, 5, 5, 3)


def test_bootstrap_contains_the_true_difference_and_is_seeded() -> None:
    # differences 100 + e with the e symmetric around 0: the true mean difference is 100
    noise = [-40, -25, -10, -5, 0, 0, 5, 10, 25, 40] * 3
    second = [1000 + 7 * i for i in range(len(noise))]
    first = [s + 100 + e for s, e in zip(second, noise)]
    interval = paired_bootstrap(first, second, resamples=10_000, seed=7)
    assert interval.mean == 100
    assert interval.contains(100)
    assert 80 < interval.low < 100 < interval.high < 120
    assert paired_bootstrap(first, second, resamples=10_000, seed=7) == interval  # the same every run
    assert paired_bootstrap(first, second, resamples=10_000, seed=8) != interval
    assert (interval.resamples, interval.seed, interval.level) == (10_000, 7, 0.95)


def test_bootstrap_refuses_unpaired_or_empty_samples() -> None:
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap([1, 2], [1])
    with pytest.raises(ValueError, match="no pairs"):
        paired_bootstrap([], [])
