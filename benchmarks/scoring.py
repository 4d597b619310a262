"""The scores of BENCHMARKS.md as pure numpy functions (no I/O, no problem objects)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

FRACTIONS = (0.25, 0.5, 1.0)


def checkpoints(budget: int, fractions: Sequence[float] = FRACTIONS) -> tuple[int, ...]:
    """Trial counts at which scores are reported: ceil(fraction x budget), at least 1."""
    return tuple(max(1, math.ceil(f * budget)) for f in fractions)


def best_of_first(values: Sequence[float | None], n: int) -> float:
    """The best (lowest) value among the first ``n`` trials; failed trials (None) count as +inf."""
    head = np.array([np.inf if v is None else v for v in values[:n]], dtype=float)
    return float(np.min(head)) if head.size else math.inf


def random_median_best(pool: np.ndarray, b: int) -> float:
    """Median of the best of ``b`` random draws (with replacement) from ``pool``, computed exactly.

    With the pool sorted as v_1 <= ... <= v_N, the bootstrap distribution of the best of b
    draws is P(best <= v_k) = 1 - (1 - k/N)^b; its median is the first v_k where that
    reaches 1/2. This is the limit of resampling best-of-b many times, without its noise.
    """
    v = np.sort(pool[np.isfinite(pool)])
    k = np.arange(1, v.size + 1)
    cdf = 1.0 - (1.0 - k / v.size) ** b
    return float(v[np.searchsorted(cdf, 0.5)])


def normalised_score(
    best: np.ndarray | float, random_median: float, reference_best: float
) -> np.ndarray:
    """(random_median - best) / (random_median - reference_best): 1 = reference, 0 = random.

    NaN where random search already reaches the reference (the score is undefined there).
    """
    gap = random_median - reference_best
    best = np.asarray(best, dtype=float)
    return (random_median - best) / gap if gap > 0 else np.full(best.shape, np.nan)


def average_ranks(means: np.ndarray) -> np.ndarray:
    """Mean rank (1 = lowest) of each column over the rows; NaN cells are left out of a row."""
    ranks = np.vstack([stats.rankdata(row, nan_policy="omit") for row in np.atleast_2d(means)])
    return np.nanmean(ranks, axis=0)


def wilcoxon_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired Wilcoxon signed-rank p-value; 1.0 when every pair is equal."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    if not np.any(a[keep] != b[keep]):
        return 1.0
    return float(stats.wilcoxon(a[keep], b[keep]).pvalue)
