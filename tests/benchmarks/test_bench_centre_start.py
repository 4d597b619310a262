"""The centre-start analysis: shifted boxes keep the optimum inside, COBYLA starts at the centre."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.centre_start import ARGMIN, PROBLEMS, cobyla_from_centre, report, shifted
from benchmarks.problems import SUITE


@pytest.mark.parametrize("name", PROBLEMS)
def test_a_shifted_box_keeps_its_width_and_the_optimum(name: str) -> None:
    problem = SUITE[name]
    moved = shifted(problem, 0.1, seed=3)
    assert moved.space != problem.space
    for old, new, best in zip(problem.space, moved.space, ARGMIN[name], strict=True):
        width = old.high - old.low
        assert new.high - new.low == pytest.approx(width)
        assert abs(new.low - old.low) == pytest.approx(0.1 * width)
        assert new.low < best < new.high
    assert moved.evaluate(dict(zip([p.name for p in moved.space], ARGMIN[name], strict=True))) \
        == pytest.approx(problem.optimum, abs=1e-4)
    assert shifted(problem, 0.1, seed=3) == moved  # the same box for every method of a seed


def test_cobyla_starts_at_the_centre_and_keeps_to_the_budget() -> None:
    problem = SUITE["rosenbrock5"]
    values = cobyla_from_centre(problem, 30)
    assert len(values) == 30
    centre = {p.name: (p.low + p.high) / 2 for p in problem.space}
    assert values[0] == problem.evaluate(centre)
    assert min(values) < values[0]


def test_the_report_counts_seeds_where_hyperdial_ends_lower() -> None:
    best = {(name, box, method): [1.0, 2.0, 3.0] for name in PROBLEMS
            for box in ("suite", "shifted")
            for method in ("nevergrad", "COBYLA from centre")}
    for name in PROBLEMS:
        best[name, "suite", "hyperdial-auto"] = [0.5, 2.5, 3.0]
        best[name, "shifted", "hyperdial-auto"] = list(np.array([0.5, 1.5, 2.5]))
    text = "\n".join(report(best, 3, 0.1, 1.0))
    assert text.count(" | 1/3 | ") == 3 and text.count(" | 3/3 | ") == 3
    assert "| hartmann6 | shifted | 2 ± 0.82 | 1.5 ± 0.82 | 2 ± 0.82 | 3/3 |" in text
