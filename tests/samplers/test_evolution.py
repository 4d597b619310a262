"""RegularizedEvolutionSampler: mutation, aging tournaments, define-by-run architectures,
repeats avoided, constraints, and progress over random search."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperdial as hd
from hyperdial._encode import decode_value, n_values
from hyperdial.history import History
from hyperdial.samplers import RandomSampler, RegularizedEvolutionSampler
from hyperdial.samplers.evolution import mutate, next_grid_value
from hyperdial.space import Categorical, Float, Int, SearchSpace, grid_value
from hyperdial.testing.samplers import CONDITIONAL, check_all, run
from hyperdial.testing.strategies import search_spaces
from hyperdial.trial import TrialRecord, TrialState

MIXED = SearchSpace({"x": Float(-2.0, 2.0), "lr": Float(1e-5, 1.0, log=True),
                     "n": Int(1, 100, log=True), "k": Int(0, 10, step=2),
                     "s": Float(0.0, 1.0, step=0.25), "c": Categorical(("a", "b", 3))})


def _small(space: SearchSpace, seed: int | None) -> RegularizedEvolutionSampler:
    """A population small enough that the conformance runs see evolution at work."""
    return RegularizedEvolutionSampler(seed=seed, population_size=3, sample_size=2)


@pytest.mark.parametrize("space", [MIXED, CONDITIONAL], ids=["mixed", "conditional"])
def test_conformance_while_evolving(space: SearchSpace) -> None:
    check_all(_small, space, seed=3, n_trials=16)


@settings(max_examples=25, deadline=None)
@given(space=search_spaces(), seed=st.integers(0, 2**32 - 1))
def test_conformance_over_random_spaces(space: SearchSpace, seed: int) -> None:
    check_all(_small, space, seed, n_trials=10)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(sorted(MIXED)))
def test_a_mutation_changes_the_value_and_stays_in_the_distribution(seed: int, name: str) -> None:
    dist = MIXED[name]
    rng = np.random.default_rng(seed)
    value = RandomSampler(seed=seed).propose(History(()), SearchSpace({name: dist}), rng)[name]
    new = mutate(dist, value, rng, scale=0.2)
    assert dist.contains(new)
    assert new != value or (isinstance(dist, Float) and dist.step is None and dist.high - dist.low
                            < 1e-9)


def test_numeric_mutations_are_local() -> None:
    rng = np.random.default_rng(0)
    steps = [mutate(Float(0.0, 100.0), 50.0, rng, scale=0.05) - 50.0 for _ in range(2000)]
    assert abs(float(np.std(steps)) - 5.0) < 0.5  # 0.05 of the range
    assert mutate(Int(1, 3), 3, rng, scale=1e-6) == 2  # rounded back: the neighbour below


def _history(rows: list[tuple[dict[str, Any], float]], space: SearchSpace) -> History:
    return History(tuple(
        TrialRecord(number=i, state=TrialState.COMPLETE, params=p,
                    distributions={k: space[k] for k in p}, values=(v,))
        for i, (p, v) in enumerate(rows)))


BITS = SearchSpace({f"b{i}": Categorical((0, 1)) for i in range(8)})


def test_the_parent_is_the_best_of_the_population_and_old_trials_age_out() -> None:
    ones = {f"b{i}": 1 for i in range(8)}
    rows = [(ones, -8.0)]  # the best trial ever, but the oldest: out of the population
    rng = np.random.default_rng(1)
    for _ in range(6):
        p = {f"b{i}": int(rng.integers(2)) for i in range(4)} | {f"b{i}": 0 for i in range(4, 8)}
        rows.append((p, -float(sum(p.values()))))
    history = _history(rows, BITS)
    best_member = min(rows[1:], key=lambda r: r[1])[0]
    sampler = RegularizedEvolutionSampler(seed=0, population_size=6, sample_size=6)
    for number in range(30):
        child = sampler.propose(history, BITS, sampler.rng(number))
        differs = [k for k in BITS if child[k] != best_member[k]]
        assert len(differs) == 1  # one mutation of the population's best
        assert sum(child[k] != ones[k] for k in BITS) >= 3  # not bred from the aged-out one


def test_children_do_not_repeat_earlier_trials() -> None:
    for seed in range(5):
        study = hd.create_study(sampler=RegularizedEvolutionSampler(
            seed=seed, population_size=4, sample_size=2))
        study.optimize(lambda t: sum(t.suggest_categorical(f"b{i}", [0, 1]) for i in range(5)),
                       n_trials=24)
        configs = [tuple(t.params.values()) for t in study.trials]
        for i in range(4, 24):  # every child is new, though 24 of the 32 are soon taken
            assert configs[i] not in configs[:i]


def _architecture(trial: hd.Trial) -> float:
    """A define-by-run architecture: the best has 3 layers of width 64 and tanh."""
    n = trial.suggest_int("n_layers", 1, 4)
    widths = [trial.suggest_categorical(f"width_{i}", [16, 32, 64, 128]) for i in range(n)]
    act = trial.suggest_categorical("activation", ["relu", "tanh"])
    return abs(n - 3) + sum(w != 64 for w in widths) + (act != "tanh") + 0.1 * (4 - n)


def test_define_by_run_architectures_evolve_layer_by_layer() -> None:
    found, blind = [], []
    for seed in range(5):
        study = hd.create_study(sampler=RegularizedEvolutionSampler(seed=seed))
        study.optimize(_architecture, n_trials=120)
        found.append(study.best_value)
        for t in study.trials:  # a trial holds exactly the widths of its layers
            widths = {k for k in t.params if k.startswith("width_")}
            assert widths == {f"width_{i}" for i in range(t.params["n_layers"])}
        random = hd.create_study(sampler=RandomSampler(seed=seed))
        random.optimize(_architecture, n_trials=120)
        blind.append(random.best_value)
    assert max(found) == pytest.approx(0.1)  # the optimum (1 of 680 configurations), every seed
    assert sum(b > 0.1 + 1e-9 for b in blind) >= 2  # random search misses it on some seeds


def test_constraints_keep_infeasible_parents_out() -> None:
    rows = [({f"b{i}": 1 for i in range(8)}, -8.0)]  # the best, but infeasible
    rows += [({f"b{i}": int(i < k) for i in range(8)}, -float(k)) for k in range(1, 4)]
    history = _history(rows, BITS)
    bad = {0}
    sampler = RegularizedEvolutionSampler(
        seed=0, population_size=4, sample_size=4,
        constraints_func=lambda t: (1.0 if t.number in bad else -1.0,))
    feasible_best = rows[3][0]
    for number in range(10):
        child = sampler.propose(history, BITS, sampler.rng(number))
        assert sum(child[k] != feasible_best[k] for k in BITS) == 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="population_size"):
        RegularizedEvolutionSampler(population_size=1)
    with pytest.raises(ValueError, match="sample_size"):
        RegularizedEvolutionSampler(population_size=5, sample_size=6)
    with pytest.raises(ValueError, match="mutation_scale"):
        RegularizedEvolutionSampler(mutation_scale=0.0)


# -- grid steps land on the grid -----------------------------------------------------------------
def test_a_grid_step_lands_on_the_value_decoding_writes() -> None:
    """0.2 + 0.1 > 0.3 in floating point: the step up from 0.2 was refused (0.1 came back), a
    step down from 0.5 gave 0.3 beside the grid's 0.30000000000000004, and ten steps up from
    0 ended at 0.9999999999999999."""
    d = Float(0.0, 0.3, step=0.1)
    assert next_grid_value(d, 0.2, upward=True) == 0.3 == d.high
    e = Float(0.1, 0.7, step=0.2)
    assert next_grid_value(e, 0.5, upward=False) == grid_value(e, 1) == 0.3
    f, x = Float(0.0, 1.0, step=0.1), 0.0
    for k in range(1, 11):
        x = next_grid_value(f, x, upward=True)
        assert x == grid_value(f, k) == decode_value(f, (k + 0.5) / 11)
    assert x == 1.0
    assert next_grid_value(f, 1.0, upward=True) == grid_value(f, 9)  # the other way at an end
    assert next_grid_value(f, 0.0, upward=False) == grid_value(f, 1)
    assert next_grid_value(f, 0.3, upward=True) == grid_value(f, 4)  # from an off-grid 0.3


@settings(max_examples=100, deadline=None)
@given(data=st.data(), d=st.one_of(
    st.builds(lambda low, step, n: Float(low, low + n * step, step=step),
              st.integers(-100, 100).map(lambda i: i / 10),
              st.sampled_from([0.001, 0.1, 0.2, 0.25, 0.3, 2.5]), st.integers(1, 30)),
    st.builds(lambda low, step, n: Int(low, low + n * step, step=step),
              st.sampled_from([-(2**70), -5, 0, 2**62]), st.integers(1, 7),
              st.integers(1, 30))))
def test_grid_steps_move_one_index_and_never_drift(data: st.DataObject,
                                                   d: Float | Int) -> None:
    n = n_values(d)
    assert n is not None
    k = data.draw(st.integers(0, n - 1))
    upward = data.draw(st.booleans())
    moved = next_grid_value(d, grid_value(d, k), upward=upward)
    want = k + 1 if (upward and k < n - 1) or k == 0 else k - 1
    assert moved == grid_value(d, want) and type(moved) is type(grid_value(d, want))
    walked = grid_value(d, 0)
    for _ in range(n - 1):
        walked = next_grid_value(d, walked, upward=True)
    assert walked == d.high


def test_evolved_stepped_values_stay_on_the_grid_so_conditions_hold() -> None:
    """Dogfooding: children held 0.3 beside the grid's 0.30000000000000004 (and
    0.49999999999999994 beside 0.5), so `a`, conditioned on p == 0.3, went missing."""
    space = SearchSpace.from_dict({
        "p": {"type": "float", "low": 0.1, "high": 0.7, "step": 0.2},
        "a": {"type": "float", "low": 0.0, "high": 1.0, "condition": {"parent": "p", "in": [0.3]}},
        "k": {"type": "int", "low": 0, "high": 3}})
    grid = {grid_value(space["p"], k) for k in range(4)}  # type: ignore[arg-type]
    sampler = RegularizedEvolutionSampler(seed=0, population_size=4, sample_size=2)
    for params in run(sampler, space, 40):
        assert params["p"] in grid, params
        assert ("a" in params) == (params["p"] == grid_value(space["p"], 1))  # type: ignore[arg-type]
