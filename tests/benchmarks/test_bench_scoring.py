"""The score formulas on toy inputs."""

import numpy as np
import pytest

from benchmarks.scoring import (
    average_ranks,
    best_of_first,
    checkpoints,
    normalised_score,
    random_median_best,
    wilcoxon_p,
)


def test_normalised_score_toy() -> None:
    # random median 10, reference 0: halfway is 0.5, the reference 1, worse than random < 0.
    scores = normalised_score(np.array([5.0, 0.0, 10.0, 15.0]), 10.0, 0.0)
    np.testing.assert_allclose(scores, [0.5, 1.0, 0.0, -0.5])
    assert np.isnan(normalised_score(3.0, 1.0, 1.0))


def test_random_median_best_exact_and_matches_resampling() -> None:
    pool = np.array([4.0, 1.0, 3.0, 2.0])
    assert random_median_best(pool, 1) == 2.0  # median of the pool itself (lower median)
    assert random_median_best(pool, 2) == 2.0  # P(best <= 1) = 0.4375 < 0.5 <= P(best <= 2) = 0.75
    rng = np.random.default_rng(0)
    big = rng.normal(size=500)
    draws = rng.choice(big, size=(20_000, 10)).min(axis=1)
    assert random_median_best(big, 10) == pytest.approx(np.median(draws), abs=0.02)


def test_best_of_first_and_checkpoints() -> None:
    assert best_of_first([3.0, None, 1.0, 0.5], 3) == 1.0
    assert best_of_first([None], 1) == np.inf
    assert checkpoints(100) == (25, 50, 100)
    assert checkpoints(50) == (13, 25, 50)


def test_average_ranks_skip_missing() -> None:
    means = np.array([[1.0, 2.0, 3.0], [5.0, np.nan, 4.0]])
    np.testing.assert_allclose(average_ranks(means), [1.5, 2.0, 2.0])


def test_wilcoxon_p() -> None:
    a = np.arange(10.0)
    assert wilcoxon_p(a, a) == 1.0
    assert wilcoxon_p(a, a + 1.0) < 0.01
