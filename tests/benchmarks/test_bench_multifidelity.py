"""Smoke tests of the multi-fidelity benchmark and its learning-curve problems (tiny sizes)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("optuna")

from benchmarks.learning_curves import MAX_EPOCHS, PROBLEMS, CurveCache
from benchmarks.multifidelity import (
    ASHA_MIN_RESOURCE,
    DIAGNOSTIC_EPOCHS,
    METHODS,
    Run,
    _spearman,
    main,
    same_configs,
)
from benchmarks.problems import sample_config


def test_curves_are_lazy_cached_and_deterministic() -> None:
    problem = PROBLEMS["sgd_digits_lc"]
    config = sample_config(problem.space, np.random.default_rng(0))
    cache = CurveCache(problem)
    first = [cache.loss(config, e) for e in (1, 2, 3)]
    assert cache.epochs_trained == 3
    assert cache.loss(config, 2) == first[1] and cache.epochs_trained == 3
    assert [CurveCache(problem).loss(config, e) for e in (1, 2, 3)] == first
    nearby = dict(config, alpha=config["alpha"] * 1.01)  # the same grid cell
    assert cache.loss(nearby, 3) == first[2] and cache.epochs_trained == 3


def test_snap_stays_in_bounds() -> None:
    rng = np.random.default_rng(1)
    for problem in PROBLEMS.values():
        for _ in range(20):
            snapped = problem.snap(sample_config(problem.space, rng))
            for p in problem.space:
                if p.kind != "categorical":
                    assert p.low <= snapped[p.name] <= p.high


def test_compute_to_reach() -> None:
    run = Run(spent=10, trials=[(1, None), (4, 0.5), (10, 0.2)])
    assert run.compute_to_reach(0.5) == 4 and run.compute_to_reach(0.1) is None
    assert run.best() == 0.2 and np.isnan(Run().best())


def test_spearman() -> None:
    assert _spearman(np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 90.0])) == 1.0
    assert _spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == -1.0
    assert np.isnan(_spearman(np.array([1.0, 1.0]), np.array([1.0, 2.0])))


def test_same_configurations_diagnostics() -> None:
    assert ASHA_MIN_RESOURCE == 3  # the grace-period rule at a third of full training
    res = same_configs(CurveCache(PROBLEMS["sgd_digits_lc"]), 9, seed=0)
    assert res["random_compute"] == 9 * MAX_EPOCHS
    assert set(res["spearman"]) == set(res["target_rank"]) == set(DIAGNOSTIC_EPOCHS)
    assert all(0 <= r < 9 for r in res["target_rank"].values())
    for name in METHODS:
        out = res[name]
        assert out["total"] <= res["random_compute"] and out["best"] >= res["target"]
        # "better" counts configurations that beat the method's best: none when it reached
        assert (out["better"] == 0) == (out["to_reach"] is not None)


def test_the_benchmark_runs_end_to_end() -> None:
    lines = main(["--problems", "sgd_digits_lc", "--configs", "6", "--sets", "2", "--budget",
                  "2", "--seeds", "2", "--ablation"], write=False)
    text = "\n".join(lines)
    assert "6 random configurations, 2 set(s) per problem" in text
    assert "| sgd_digits_lc | 0 |" in text and "| sgd_digits_lc | 1 |" in text
    assert "ASHA reached random search's best in" in text and "of 2 sets" in text
    assert "ASHA, extrapolated reached random search's best in" in text
    assert "hyperdial Hyperband (extrapolated) + TPE" in text
    assert "ρ(epoch 1, final)" in text
    assert "optuna Hyperband + TPE" in text
    assert f"{2 * MAX_EPOCHS} epochs" in text
    assert "| mean over problems |" in text
    assert "sgd_digits_lc: lower on" in text and "of 2 seeds (paired Wilcoxon p =" in text
    assert "| problem | hyperdial Hyperband + TPE | TPE, fixed floor | TPE, per bracket |" in text
