"""Smoke test of the long-study loading benchmark (tiny study, both libraries for real)."""

from __future__ import annotations

import pytest

pytest.importorskip("optuna")

from benchmarks.load_study import main


def test_every_storage_loads_the_whole_study() -> None:
    lines = main(["--trials", "30", "--repeats", "1", "--no-write"])
    rows = [line.strip(" |").split(" | ") for line in lines if line.startswith("| ")
            and "seconds" not in line]
    assert [r[0] for r in rows] == ["hyperdial SQLite", "hyperdial SQLite, log read at once",
                                    "hyperdial journal file", "Optuna journal file"]
    for _, seconds, before, peak, grown in rows:  # shown rounded, seconds to 0.01
        assert float(seconds) >= 0 and float(peak) >= float(before) > 0
        assert abs(float(grown) - (float(peak) - float(before))) <= 1
