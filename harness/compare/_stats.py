"""Paired statistics over cases, in the standard library: an exact McNemar test on pass/fail and a
seeded paired bootstrap interval of a mean difference.

    mcnemar_exact(1, 8)                                    # 0.0390625
    paired_bootstrap([120, 90, 300], [100, 95, 210]).low   # seeded: the same every time

Neither means anything on a handful of cases: with n = 1 a bootstrap interval has zero width, with
n = 2 it is the two data points, and a deterministic difference "excludes zero" whatever n; an
exact McNemar test cannot reach p < 0.05 with fewer than 6 discordant pairs. So a report gives an
interval only from `MIN_BOOTSTRAP_PAIRS` paired cases and a McNemar p-value only from
`MIN_DISCORDANT_PAIRS` discordant pairs, and `too_small(n)` in their place otherwise.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "BootstrapInterval",
    "DEFAULT_RESAMPLES",
    "DEFAULT_SEED",
    "MIN_BOOTSTRAP_PAIRS",
    "MIN_DISCORDANT_PAIRS",
    "mcnemar_exact",
    "paired_bootstrap",
    "quantile",
    "too_small",
]

DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 0
MIN_BOOTSTRAP_PAIRS = 10  # paired cases before a bootstrap interval is given
MIN_DISCORDANT_PAIRS = 6  # discordant pairs before a McNemar p-value is given (below, p >= 0.0625 whatever the split)


def too_small(n: int, what: str = "n") -> str:
    """What a report prints where a statistic needs more data: `n too small (n=2)`."""
    return f"n too small ({what}={n})"


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs: `b` cases where the first
    approach passed and the second failed, `c` the reverse. Under the null each discordant case is
    a fair coin, so p = min(1, 2 * P(X <= min(b, c))) for X ~ Binomial(b + c, 1/2), computed
    exactly (no pairs at all: 1.0).

    Raises:
        ValueError: a negative count.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts are not negative: b={b}, c={c}")
    n = b + c
    tail = Fraction(sum(math.comb(n, k) for k in range(min(b, c) + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


def quantile(ordered: Sequence[float], q: float) -> float:
    """The `q` quantile of sorted values, interpolating linearly between order statistics
    (numpy's default, Hyndman & Fan type 7)."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


@dataclass(frozen=True)
class BootstrapInterval:
    """The mean of paired differences (first - second) and its percentile bootstrap interval."""

    mean: float
    low: float
    high: float
    n: int
    level: float
    resamples: int
    seed: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def paired_bootstrap(
    first: Sequence[float],
    second: Sequence[float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> BootstrapInterval:
    """Percentile bootstrap interval of mean(first[i] - second[i]): cases are resampled with
    replacement, keeping each case's pair together, with `random.Random(seed)`, so the interval
    is the same on every machine and run.

    Raises:
        ValueError: the samples differ in length, are empty, or `level` is not in (0, 1).
    """
    if len(first) != len(second):
        raise ValueError(f"paired samples need the same length, not {len(first)} and {len(second)}")
    if not first:
        raise ValueError("no pairs to resample")
    if not 0 < level < 1:
        raise ValueError(f"level is a fraction in (0, 1), not {level}")
    diffs = [float(a) - float(b) for a, b in zip(first, second)]
    n = len(diffs)
    rng = random.Random(seed)
    means = sorted(math.fsum(rng.choices(diffs, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    return BootstrapInterval(math.fsum(diffs) / n, quantile(means, tail), quantile(means, 1 - tail), n, level, resamples, seed)
