"""GridSampler: every point once, in a seeded order, then SearchExhausted."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.exceptions import SearchExhausted
from hyperdial.history import History
from hyperdial.samplers import GridSampler
from hyperdial.space import Categorical, Condition, Float, Int, SearchSpace
from hyperdial.testing.samplers import CONDITIONAL, key, record
from hyperdial.trial import TrialRecord, TrialState

GRID: dict[str, list[Any]] = {"x": [1, 2, 3], "act": ["relu", "tanh"], "drop": [None, 0.5]}


def exhaust(sampler: GridSampler, history: History | None = None,
            state: TrialState = TrialState.COMPLETE) -> list[dict[str, Any]]:
    """Propose until SearchExhausted, recording each point as a trial in ``state``."""
    history = history or History(())
    space = sampler.infer_space(history)
    out: list[dict[str, Any]] = []
    while True:
        try:
            params = sampler.propose(history, space, sampler.rng(len(history.trials)))
        except SearchExhausted:
            return out
        out.append(params)
        history = record(history, space, params, state)


@pytest.mark.parametrize("state", list(TrialState))
def test_every_point_exactly_once_whatever_the_trial_state(state: TrialState) -> None:
    points = exhaust(GridSampler(GRID, seed=0), state=state)
    expected = [dict(zip(GRID, p, strict=True)) for p in itertools.product(*GRID.values())]
    assert sorted(map(key, points)) == sorted(map(key, expected))


def test_conditional_grid_has_each_active_assignment_once() -> None:
    space = SearchSpace({"m": Categorical(("A", "B")), "lr": Float(0.0, 1.0, step=0.25),
                         "n": Int(1, 3)},
                        conditions={"lr": Condition("m", ("A",)), "n": Condition("lr", (0.5, 1))})
    sampler = GridSampler(space, seed=3)
    points = exhaust(sampler)
    # B alone; A with 3 values of lr that have no n; A with lr in {0.5, 1} times 3 values of n
    assert len(points) == len(sampler) == 1 + 3 + 2 * 3
    assert len({key(p) for p in points}) == len(points)
    for p in points:
        space.validate(p)


def test_conditional_grid_from_a_mixed_space() -> None:
    points = exhaust(GridSampler(hd.samplers.grid.grid_space(
        SearchSpace({n: d for n, d in CONDITIONAL.items() if n != "alpha"},
                    {n: c for n, c in CONDITIONAL.conditions.items() if n != "alpha"})), seed=0))
    # linear; tree with depth 1..4 (no leaf) or 5..8 times 64 leaves; knn with 5 values of k
    assert len(points) == 1 + 4 + 4 * 64 + 5


def test_order_is_a_seeded_shuffle() -> None:
    grid = {"a": list(range(6)), "b": list(range(4))}
    first = exhaust(GridSampler(grid, seed=7))
    assert exhaust(GridSampler(grid, seed=7)) == first
    assert exhaust(GridSampler(grid, seed=8)) != first
    natural = [dict(zip(grid, p, strict=True)) for p in itertools.product(*grid.values())]
    assert first != natural
    sampler = GridSampler(grid, seed=8)
    sampler.reseed(7)
    assert exhaust(sampler) == first


def test_unseeded_grids_differ_in_order() -> None:
    grid = {"a": list(range(10)), "b": list(range(10))}
    assert exhaust(GridSampler(grid)) != exhaust(GridSampler(grid))


def test_running_and_waiting_points_are_not_proposed_again() -> None:
    sampler = GridSampler(GRID, seed=1)
    history = History(())
    space = sampler.infer_space(history)
    taken = []
    for state in (TrialState.RUNNING, TrialState.WAITING, TrialState.PRUNED, TrialState.FAIL):
        params = sampler.propose(history, space, sampler.rng(0))
        assert key(params) not in taken
        taken.append(key(params))
        history = record(history, space, params, state)
    assert len(exhaust(sampler, history)) == 12 - 4


def test_points_are_recognised_after_a_json_round_trip() -> None:
    """Storage hands params back through JSON; 1.0 and True stay distinct from 1."""
    sampler = GridSampler({"v": [1, 1.0, True, "1", None]}, seed=0)
    history = History(())
    for number in range(5):
        params = json.loads(json.dumps(
            sampler.propose(history, sampler.space, sampler.rng(number))))
        history = record(history, sampler.space, params)
    assert sorted(key(t.params) for t in history.trials) == \
        sorted(key({"v": v}) for v in [1, 1.0, True, "1", None])
    with pytest.raises(SearchExhausted):
        sampler.propose(history, sampler.space, sampler.rng(5))


def test_trials_off_the_grid_do_not_count() -> None:
    sampler = GridSampler({"x": [1, 2]}, seed=0)
    off = History((TrialRecord(0, TrialState.COMPLETE, params={"x": 3}, values=(0.0,)),
                   TrialRecord(1, TrialState.WAITING, params={"y": 1}),
                   TrialRecord(2, TrialState.FAIL)))
    assert len(exhaust(sampler, off)) == 2


def test_finite_search_space_expands_like_decode() -> None:
    sampler = GridSampler(SearchSpace({"f": Float(0.0, 1.0, step=0.1), "i": Int(2, 10, step=4),
                                       "l": Int(1, 4, log=True)}))
    assert sampler.space["i"] == Categorical((2, 6, 10))
    assert sampler.space["l"] == Categorical((1, 2, 3, 4))
    f = sampler.space["f"]
    assert isinstance(f, Categorical) and len(f.choices) == 11
    assert f.choices[3] == 0.3 and f.choices[-1] == 1.0  # short decimals as written


@pytest.mark.parametrize(("grid", "match"), [
    ({"x": []}, "parameter 'x': choices must not be empty"),
    ({"x": [1, 2, 1]}, "parameter 'x': duplicate choice 1"),
    ({"x": [1, [2]]}, r"parameter 'x': choice \[2\] is not None, bool, int, float or str"),
    ({"x": [1, {"a": 1}]}, "parameter 'x': choice .* is not None"),
    ({"x": [object()]}, "parameter 'x': choice"),
    ({"x": [1.0, float("nan")]}, "parameter 'x': choice nan is not finite"),
    ({"x": "abc"}, "parameter 'x': expected a list of values, got 'abc'"),
    ({"x": 3}, "parameter 'x': expected a list of values, got 3"),
    ({}, "the grid has no parameters"),
    (SearchSpace({"x": Int(0, 3), "y": Float(0, 1)}), "parameter 'y': a continuous float"),
])
def test_invalid_grids_are_refused(grid: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GridSampler(grid)


def test_values_that_only_python_thinks_equal_are_distinct_points() -> None:
    assert len(GridSampler({"x": [1, 1.0, True]})) == 3


def test_numpy_values_become_python_values() -> None:
    sampler = GridSampler({"x": np.linspace(0.0, 1.0, 3), "n": np.arange(2)}, seed=0)
    points = exhaust(sampler)
    assert len(points) == 6
    assert {(type(p["x"]), type(p["n"])) for p in points} == {(float, int)}


def test_infer_space_is_the_grid_and_rejects_what_it_cannot_serve() -> None:
    sampler = GridSampler(GRID, seed=0)
    space = sampler.infer_space(History(()))
    assert space == SearchSpace({n: Categorical(tuple(v)) for n, v in GRID.items()})
    history = History(())
    # define-by-run: a range that holds every grid value is served the grid's value
    assert sampler.propose(history, SearchSpace({"x": Float(0.0, 5.0)}), sampler.rng(0))["x"] \
        in GRID["x"]
    with pytest.raises(ValueError, match=r"parameter 'x': grid values \[3\] are outside"):
        sampler.propose(history, SearchSpace({"x": Int(0, 2)}), sampler.rng(0, "x"))
    with pytest.raises(ValueError, match="parameter 'lr' is not in the grid"):
        sampler.propose(history, SearchSpace({"lr": Float(0.0, 1.0)}), sampler.rng(0, "lr"))


def test_in_a_study_the_grid_is_run_exactly_once() -> None:
    seen: list[tuple[float, str]] = []

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 5.0)
        act = trial.suggest_categorical("act", ["relu", "tanh"])
        seen.append((x, act))
        return x

    study = hd.create_study(sampler=GridSampler({"x": [1, 2, 3], "act": ["relu", "tanh"]},
                                                seed=0))
    study.optimize(objective, n_trials=10)
    assert sorted(seen) == sorted(itertools.product([1, 2, 3], ["relu", "tanh"]))


def test_only_a_whole_point_can_exhaust_the_grid() -> None:
    """A trial holding its point may still be asked for a parameter its point lacks."""
    sampler = GridSampler({"x": [1, 2], "y": ["a"]}, seed=0)
    history = History(())
    for _ in range(2):
        history = record(history, sampler.space,
                         sampler.propose(history, sampler.space, sampler.rng(0)))
    with pytest.raises(SearchExhausted):
        sampler.propose(history, sampler.space, sampler.rng(2))
    only_y = SearchSpace({"y": sampler.space["y"]})
    assert sampler.propose(history, only_y, sampler.rng(2, "y")) == {"y": "a"}


def test_in_a_study_a_conditional_grid_is_run_exactly_once() -> None:
    seen: list[tuple[str, float | None]] = []

    def objective(trial: hd.Trial) -> float:
        model = trial.suggest_categorical("model", ["svm", "tree"])
        c = trial.suggest_float("c", 0.1, 10.0, log=True) if model == "svm" else None
        seen.append((model, c))
        return c or 0.0

    grid = SearchSpace({"model": Categorical(("svm", "tree")), "c": Categorical((0.1, 1.0, 10.0))},
                       conditions={"c": Condition("model", ("svm",))})
    study = hd.create_study(sampler=GridSampler(grid, seed=0))
    study.optimize(objective, n_trials=10)
    assert sorted(seen, key=str) == sorted([("svm", 0.1), ("svm", 1.0), ("svm", 10.0),
                                            ("tree", None)], key=str)


def test_large_grid_stays_fast() -> None:
    sampler = GridSampler({"a": list(range(100)), "b": list(range(100))}, seed=0)
    space = sampler.infer_space(History(()))
    trials = tuple(TrialRecord(i, TrialState.COMPLETE, params=sampler.point(int(p)), values=(0.0,))
                   for i, p in enumerate(np.sort(sampler._order[:5000])))
    history = History(trials)
    start = time.perf_counter()
    for number in range(10):
        params = sampler.propose(history, space, sampler.rng(5000 + number))
        history = record(history, space, params)
    assert time.perf_counter() - start < 3.0  # 0.5 s here; the first version took 10 s


def test_grid_values_take_the_objectives_types_and_each_point_runs_once() -> None:
    """Optuna 5 returns the distribution's type: a grid of 1.0 and 4.0 for an int gives 1
    and 4, a grid of 0 and 1 for a float gives 0.0 and 1.0. The grid must still know the
    points those trials hold (by json, 1.0 is not 1), or it proposes them again forever."""
    seen: list[tuple[Any, Any]] = []

    def objective(trial: hd.Trial) -> float:
        n, x = trial.suggest_int("n", 1, 4), trial.suggest_float("x", 0, 2)
        seen.append((n, x))
        return n + x

    study = hd.create_study(sampler=GridSampler({"n": [1.0, 4.0], "x": [0, 1]}, seed=0))
    study.optimize(objective, n_trials=10)
    assert sorted(seen) == [(1, 0.0), (1, 1.0), (4, 0.0), (4, 1.0)]
    assert {(type(n), type(x)) for n, x in seen} == {(int, float)}
    assert type(study.best_params["n"]) is int


def test_grid_values_one_distribution_writes_alike_are_one_point() -> None:
    """1 and 1.0 are two grid values, but an int parameter holds 1 for both: one trial runs
    them both (it never ends otherwise), and a stepped float's 0.3 is its grid's value."""
    study = hd.create_study(sampler=GridSampler({"n": [1, 1.0, 2]}, seed=0))
    study.optimize(lambda t: t.suggest_int("n", 0, 3), n_trials=10)
    assert sorted(t.params["n"] for t in study.trials) == [1, 2]
    study = hd.create_study(sampler=GridSampler({"s": [0.3, 0.6]}, seed=0))
    study.optimize(lambda t: t.suggest_float("s", 0.0, 1.0, step=0.1), n_trials=10)
    assert sorted(t.params["s"] for t in study.trials) == [0.3, 0.6]


def test_a_stepped_float_grid_is_its_decoded_values() -> None:
    sampler = GridSampler(SearchSpace({"s": Float(0.0, 1.0, step=0.25), "k": Int(0, 4, step=2)}))
    assert sampler.space["s"] == Categorical((0.0, 0.25, 0.5, 0.75, 1.0))
    assert sampler.space["k"] == Categorical((0, 2, 4))
    g = GridSampler(SearchSpace({"s": Float(0.0, 0.3, step=0.1)}))
    assert g.space["s"] == Categorical((0.0, 0.1, 0.2, 0.3))  # the last one is high exactly


def test_a_point_parameter_the_objective_never_asks_for_is_not_stored() -> None:
    """Optuna's grid: a trial's params are what its objective suggested. A dict grid has no
    conditions, so a linear model's points still differ by depth; each runs once, and a
    linear trial's params hold no depth, while the grid still knows its point was taken."""
    seen: list[tuple[str, int | None]] = []

    def objective(trial: hd.Trial) -> float:
        model = trial.suggest_categorical("model", ["linear", "tree"])
        depth = trial.suggest_int("depth", 1, 8) if model == "tree" else None
        seen.append((model, depth))
        return float(depth or 0)

    study = hd.create_study(sampler=GridSampler({"model": ["linear", "tree"], "depth": [2, 4]},
                                                seed=0))
    study.optimize(objective, n_trials=10)
    assert sorted(seen, key=str) == sorted([("linear", None)] * 2 + [("tree", 2), ("tree", 4)],
                                           key=str)
    linear = [t for t in study.trials if t.params["model"] == "linear"]
    assert [t.params for t in linear] == [{"model": "linear"}] * 2
    assert sorted(t.system_attrs["reserved_params"]["depth"] for t in linear) == [2, 4]
    assert all(set(t.params) == set(t.distributions) for t in study.trials)


def test_a_grid_value_outside_the_objectives_range_is_called_a_grid_value() -> None:
    study = hd.create_study(sampler=GridSampler({"x": [5]}, seed=0))
    with pytest.raises(ValueError, match="parameter 'x': grid value 5 is outside"):
        study.optimize(lambda t: t.suggest_int("x", 0, 3), n_trials=1)


def test_a_parameter_its_point_lacks_comes_from_a_point_that_has_it() -> None:
    """``depth`` is declared under ``tree`` only, and the objective asks for it under every
    model: once the tree points were used, the next point (linear) had no depth to give, and
    the trial failed on a KeyError."""
    space = hd.SearchSpace({"model": hd.Categorical(("linear", "tree")),
                            "depth": hd.Categorical((2, 4))},
                           {"depth": hd.Condition("model", ("tree",))})
    sampler = hd.samplers.GridSampler(space, seed=1)
    study = hd.create_study(sampler=sampler)
    study.enqueue_trial({"model": "tree", "depth": 2})
    study.enqueue_trial({"model": "tree", "depth": 4})
    assert not sampler.is_exhausted(study)
    study.optimize(lambda t: t.suggest_categorical("depth", [2, 4])
                   + (t.suggest_categorical("model", ["linear", "tree"]) == "tree"),
                   n_trials=10)
    assert [t.state for t in study.trials] == [hd.TrialState.COMPLETE] * 3
    assert study.trials[-1].params["model"] == "linear" and study.trials[-1].params["depth"] in (
        2, 4)
    assert sampler.is_exhausted(study) and sampler.is_exhausted(study.history())
