"""The multi-objective benchmark: problems, hypervolume curves and a tiny end-to-end run."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import multiobjective as mo


def test_problems_are_on_their_fronts_at_the_optimum() -> None:
    x = np.full(10, 0.0)
    x[0] = 0.25
    assert mo.zdt1(x) == pytest.approx((0.25, 0.5))
    assert mo.zdt2(x) == pytest.approx((0.25, 1.0 - 0.0625))
    y = np.full(12, 0.5)
    y[:2] = [0.3, 0.7]
    assert np.sum(np.square(mo.dtlz2(y))) == pytest.approx(1.0)


def test_tiny_grid_and_report() -> None:
    cells = mo.run_grid(["zdt1", "dtlz2"], ["hyperdial-nsga2", "random"], seeds=1, budget=12)
    assert len(cells) == 4
    for c in cells:
        for curve in c["hv"].values():
            assert len(curve) == 1 and curve[0] >= 0.0
    lines = mo.report(cells, seeds=1, budget=12)
    assert any(line.startswith("| hyperdial-nsga2 |") for line in lines)
    assert mo.hv_curve(np.array([[0.5, 0.5], [0.2, 0.9]]), (1.0, 1.0), (1, 2)) == \
        pytest.approx([0.25, 0.25 + 0.3 * 0.1])
