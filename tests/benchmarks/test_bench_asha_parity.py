"""The ASHA parity benchmark counts the decisions where hyperdial and Optuna differ."""

from __future__ import annotations

import pytest

pytest.importorskip("optuna")

from benchmarks.asha_parity import SETTINGS, differences


def test_a_short_run_counts_decisions_and_none_differ() -> None:
    total, differ = differences(0, SETTINGS[1], trials=10)
    assert total >= 10 and differ == 0
