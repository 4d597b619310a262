"""The suite's problems: known optima hold, spaces sample within bounds, conditions apply."""

import math

import numpy as np
import pytest

from benchmarks.problems import (
    CONDITIONAL_ARGMIN,
    HARTMANN6_ARGMIN,
    MIXED6_ARGMIN,
    SUITE,
    active_config,
    sample_config,
)


@pytest.mark.parametrize("x", [(-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)])
def test_branin_minimisers(x: tuple[float, float]) -> None:
    assert SUITE["branin"].evaluate({"x1": x[0], "x2": x[1]}) == pytest.approx(0.397887, abs=1e-6)


def test_hartmann6_minimiser() -> None:
    config = {f"x{i}": v for i, v in enumerate(HARTMANN6_ARGMIN)}
    assert SUITE["hartmann6"].evaluate(config) == pytest.approx(-3.32237, abs=1e-5)


@pytest.mark.parametrize("name, n, argmin", [("ackley10", 10, 0.0), ("rosenbrock5", 5, 1.0)])
def test_zero_at_argmin(name: str, n: int, argmin: float) -> None:
    assert SUITE[name].evaluate({f"x{i}": argmin for i in range(n)}) == pytest.approx(
        0.0, abs=1e-12
    )


def test_mixed6_optimum_is_zero_and_unique_to_its_categoricals() -> None:
    problem = SUITE["mixed6"]
    assert problem.evaluate(MIXED6_ARGMIN) == 0.0
    for kind in ("a", "b", "d"):
        assert problem.evaluate({**MIXED6_ARGMIN, "kind": kind}) > 0.2
    assert problem.evaluate({**MIXED6_ARGMIN, "act": "tanh"}) > 0.2


def test_conditional_best_is_in_branch_b() -> None:
    problem = SUITE["conditional"]
    assert problem.evaluate(CONDITIONAL_ARGMIN) == 0.0
    # Branch A's floor: a fine grid over its whole space never goes below 0.5.
    branch_a = [
        problem.evaluate({"model": "A", "lr": lr, "layers": k})
        for lr in np.logspace(-5, 0, 201)
        for k in range(1, 9)
    ]
    assert min(branch_a) == pytest.approx(0.5, abs=1e-9)
    assert min(branch_a) > problem.evaluate(CONDITIONAL_ARGMIN)


def test_inactive_params_are_ignored() -> None:
    problem = SUITE["conditional"]
    flat = {**CONDITIONAL_ARGMIN, "lr": 1e-3, "layers": 2}
    assert active_config(problem.space, flat) == CONDITIONAL_ARGMIN
    assert problem.evaluate(flat) == 0.0


@pytest.mark.parametrize("name", [n for n, p in SUITE.items() if p.optimum is not None])
def test_random_samples_stay_in_bounds_and_above_optimum(name: str) -> None:
    problem, rng = SUITE[name], np.random.default_rng(0)
    for _ in range(200):
        config = sample_config(problem.space, rng)
        for p in problem.space:
            if p.name not in config:
                continue
            value = config[p.name]
            if p.kind == "categorical":
                assert value in p.choices
            else:
                assert p.low <= value <= p.high
                assert isinstance(value, int) == (p.kind == "int")
        assert problem.evaluate(config) >= problem.optimum - 1e-5


def test_ml_problem_is_deterministic() -> None:
    pytest.importorskip("sklearn")
    problem = SUITE["svc_breast_cancer"]
    config = {"C": 1.0, "gamma": 0.01}
    first = problem.evaluate(config)
    assert 0.0 <= first < 0.1
    assert problem.evaluate(config) == first
