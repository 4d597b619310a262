"""The WilcoxonPruner decision benchmark times the same decision in both libraries."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.wilcoxon_decision import fields, ours, theirs
from hyperdial.pruners import Decision


@pytest.mark.parametrize("tied", [False, True])
def test_both_pruners_are_timed_on_the_same_decision(tied: bool) -> None:
    pytest.importorskip("optuna")
    best, worse = fields(20, tied)
    assert (np.unique(np.abs(worse - best)).size < 20) is tied
    # at 20 instances scipy approximates ties too, so both libraries decide alike
    assert (ours(best, worse)() is Decision.PRUNE) == theirs(best, worse)()
