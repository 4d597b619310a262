"""The constrained-search benchmark's problems and its per-seed measure."""

from __future__ import annotations

import math

import pytest

import hyperdial as hd
from benchmarks.constraints import PROBLEMS, run


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_each_problem_s_optimum_is_feasible_and_its_free_optimum_is_not(problem: object) -> None:
    """At the stated optimum every constraint holds and the value is the optimum; each
    problem's unconstrained minimiser breaks a constraint (else it tests nothing)."""
    optimum_params = {"ring (2-D)": {"x": 0.5 ** 0.5, "y": 0.0},
                      "halfspace (5-D)": {f"x{i}": 0.2 for i in range(5)},
                      "disk, 2 constraints (2-D)": {"x": 0.5 ** 0.5, "y": 0.5 ** 0.5}}
    free_params = {"ring (2-D)": {"x": 0.0, "y": 0.0},
                   "halfspace (5-D)": {f"x{i}": 0.0 for i in range(5)},
                   "disk, 2 constraints (2-D)": {"x": 2.0, "y": 2.0}}
    for params, feasible in ((optimum_params, True), (free_params, False)):
        study = hd.create_study()
        study.enqueue_trial(params[problem.name])  # type: ignore[attr-defined]
        study.optimize(problem.objective, n_trials=1)  # type: ignore[attr-defined]
        trial = study.trials[0]
        assert all(v <= 1e-12 for v in trial.constraints.values()) is feasible
        if feasible:
            assert trial.value == pytest.approx(problem.optimum)  # type: ignore[attr-defined]


def test_run_measures_the_best_feasible_value_and_the_late_feasible_share() -> None:
    best, share = run(PROBLEMS[0], lambda s: (hd.create_study, hd.samplers.RandomSampler(seed=s)),
                      seed=0, n_trials=20)
    assert PROBLEMS[0].optimum <= best < math.inf and 0.0 <= share <= 1.0
