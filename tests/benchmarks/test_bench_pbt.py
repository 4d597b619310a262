"""Smoke test of the population-based training benchmark (tiny sizes, real training)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from benchmarks.pbt import main


def test_the_benchmark_runs_end_to_end() -> None:
    lines = main(["--seeds", "2", "--population", "2", "--steps", "4", "--interval", "2",
                  "--pb2", "--no-write"])
    text = "\n".join(lines)
    assert "## Result over 2 seeds" in text
    for method in ("PBT", "random search", "PB2"):
        assert f"| {method} | " in text
        assert f"{method} median " in text
    assert "PBT vs random search: lower validation loss on" in text
    # each seed's best lineage from epoch 1: one row, or two when an exploit changed it at 2
    assert "Seed 1 (validation loss" in text
    assert text.count("| 1–4 |") + text.count("| 1–2 |") == 2
