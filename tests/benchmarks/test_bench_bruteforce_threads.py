"""Smoke test of the brute-force-in-threads benchmark (one run, both libraries for real)."""

from __future__ import annotations

import pytest

pytest.importorskip("optuna")

from benchmarks.bruteforce_threads import main


def test_the_benchmark_counts_every_library_and_objective() -> None:
    lines = main(["--runs", "1", "--threads", "3", "--no-write"])
    rows = [line.strip(" |").split(" | ") for line in lines if line.startswith("| f")
            or line.startswith("| c")]
    assert [(r[0], r[2]) for r in rows] == [("flat", "hyperdial"), ("flat", "optuna"),
                                            ("conditional", "hyperdial"),
                                            ("conditional", "optuna")]
    for _, size, _, trials, repeated, never, _ in rows:
        combinations = int(size.split(" x ")[0])
        assert int(never) == 0 and int(trials) == combinations + int(repeated)
