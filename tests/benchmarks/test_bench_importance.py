"""The importance benchmark's truth and scores."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.importance import WEIGHTS, points, score
from hyperdial.history import History, StudyDirection
from hyperdial.importance import get_param_importances


def test_score_rewards_the_true_order_and_penalises_weight_on_the_zeros() -> None:
    perfect = {f"x{j}": float(10 - j) for j in range(len(WEIGHTS))}
    rho, zeros = score(perfect)
    assert rho == pytest.approx(0.937, abs=1e-3) and zeros == pytest.approx(15 / 55)
    only_nonzero = {f"x{j}": float(w) for j, w in enumerate(WEIGHTS)}
    assert score(only_nonzero)[1] == 0.0
    reversed_order = {f"x{j}": float(j) for j in range(len(WEIGHTS))}
    assert score(reversed_order)[0] < 0


def test_hyperdial_finds_the_weighted_sphere_order() -> None:
    from benchmarks._common import sphere_trials

    x, y = points(1000)
    assert np.allclose(y, (x * x) @ WEIGHTS)
    importances = get_param_importances(History(sphere_trials(x, y),
                                                (StudyDirection.MINIMIZE,)))
    rho, zeros = score(importances)
    assert rho == pytest.approx(0.937, abs=1e-3) and zeros < 0.05
