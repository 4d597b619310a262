"""Smoke test of the scaling benchmark (tiny sizes, both libraries for real)."""

from __future__ import annotations

import pytest

pytest.importorskip("optuna")

from benchmarks.scaling import main


def test_the_benchmark_measures_every_case_for_both_libraries() -> None:
    lines = main(["--steps", "20", "--trials", "5", "--many-trials", "6", "--front-trials",
                  "30", "--tpe-trials", "12", "--tpe-timed", "2", "--rounds", "1",
                  "--no-write"])
    rows = [line for line in lines if line.startswith("| ") and "hyperdial /" not in line]
    assert [row.split(",")[0].split(" of ")[0].split(" after ")[0] for row in rows] == [
        "| ASHA", "| ASHA", "| Hyperband", "| Hyperband", "| Median", "| Median", "| best_trials",
        "| multi-objective TPE"]
    for row in rows:
        ours, theirs, ratio = (float(cell) for cell in row.strip(" |").split(" | ")[1:])
        assert ours > 0 and theirs > 0 and ratio > 0
