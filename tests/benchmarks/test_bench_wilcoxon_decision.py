"""The WilcoxonPruner decision benchmark times the same decision in both libraries."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.wilcoxon_decision import fields, ours, theirs


@pytest.mark.parametrize("n", [8, 20])
@pytest.mark.parametrize("tied", [False, True])
def test_both_pruners_are_timed_on_the_same_decision(tied: bool, n: int) -> None:
    pytest.importorskip("optuna")
    best, worse = fields(n, tied)
    assert (np.unique(np.abs(worse - best)).size < n) is tied
    # exact at 8 tied instances in both, the normal approximation at 20
    assert ours(best, worse)() == theirs(best, worse)()
