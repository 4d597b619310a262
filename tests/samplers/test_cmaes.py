"""CmaEsSampler: conformance with CMA-ES in use, state rebuilt from the history (resume,
pending trials, late finishers), restarts, the margin, warm start, and quality against Optuna."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperdial as hd
from hyperdial.history import History, StudyDirection
from hyperdial.samplers import SAMPLERS, CmaEsSampler, RandomSampler, Sampler
from hyperdial.samplers import _evolution as evo
from hyperdial.samplers.cmaes import bin_edges
from hyperdial.space import Categorical, Float, Int, SearchSpace
from hyperdial.testing.samplers import (
    check_all,
    check_valid,
    factory_for,
    key,
)
from hyperdial.testing.strategies import search_spaces
from hyperdial.trial import TrialRecord, TrialState

MIXED_SPACE = SearchSpace({"x": Float(1e-3, 1.0, log=True), "n": Int(0, 10),
                           "s": Float(0.0, 1.0, step=0.25), "w": Int(1, 1000, log=True),
                           "c": Categorical(("a", "b", "c"))})
BOX = SearchSpace({f"x{i}": Float(-5.0, 5.0) for i in range(4)})


def quick(space: SearchSpace, seed: int | None) -> Sampler:
    """Small generations (and restarts), so that short conformance runs replay several."""
    return CmaEsSampler(seed=seed, popsize=3, restart_strategy="ipop")


def sphere(params: Mapping[str, Any], centre: float = 1.0) -> float:
    return float(sum((v - centre) ** 2 for k, v in params.items() if k.startswith("x")))


def optimise(sampler: Sampler, objective: Any, n_trials: int, space: SearchSpace = BOX,
             **study: Any) -> hd.Study:
    s = hd.create_study(sampler=sampler, **study)
    s.optimize(lambda t: objective(t.suggest_space(space)), n_trials=n_trials)
    return s


def test_registered() -> None:
    assert SAMPLERS["cmaes"] is CmaEsSampler
    assert hd.samplers.CmaEsSampler is CmaEsSampler
    check_valid(factory_for(SAMPLERS["cmaes"]), MIXED_SPACE, seed=0, n_trials=4)


@pytest.mark.parametrize("seed", [0, 1])
def test_conformance_with_cma_in_use(seed: int) -> None:
    check_all(quick, MIXED_SPACE, seed, n_trials=30)


@settings(max_examples=25, deadline=None)
@given(space=search_spaces(), seed=st.integers(0, 2**32 - 1))
def test_valid_over_random_spaces_with_cma_in_use(space: SearchSpace, seed: int) -> None:
    check_valid(quick, space, seed, n_trials=20)


def test_invalid_settings() -> None:
    for bad in ({"restart_strategy": "lipop"}, {"sigma0": 0.0}, {"popsize": 1},
                {"inc_popsize": 1.0}, {"n_startup_trials": -1},
                {"source_trials": [], "sigma0": 0.1}):
        with pytest.raises(ValueError):
            CmaEsSampler(**bad)


def test_multi_objective_studies_are_refused() -> None:
    history = History((), directions=(StudyDirection.MINIMIZE,) * 2)
    with pytest.raises(ValueError, match="one objective"):
        CmaEsSampler(seed=0).propose(history, BOX, np.random.default_rng(0))


def test_infer_space_is_the_joint_space_after_startup() -> None:
    space = SearchSpace({"x": Float(0.0, 1.0), "n": Int(1, 4), "c": Categorical(("a", "b")),
                         "one": Categorical(("only",))})
    trials = [TrialRecord(number=i, state=TrialState.COMPLETE,
                          params={"x": 0.5, "n": 2, "c": "a", "one": "only"},
                          distributions=dict(space), values=(1.0,)) for i in range(3)]
    numeric = SearchSpace({"x": Float(0.0, 1.0), "n": Int(1, 4)})
    sampler = CmaEsSampler(seed=0, n_startup_trials=3)
    assert sampler.infer_space(History(tuple(trials[:2]))) == SearchSpace()
    # Categoricals of two or more choices are modelled (CatCMA), a constant one is not.
    assert sampler.infer_space(History(tuple(trials))) == SearchSpace(
        {**numeric, "c": Categorical(("a", "b"))})
    plain = CmaEsSampler(seed=0, n_startup_trials=3, with_categorical=False)
    assert plain.infer_space(History(tuple(trials))) == numeric
    # Without a numeric parameter there is no Gaussian to pair them with.
    cats = SearchSpace({"c": Categorical(("a", "b"))})
    only = [TrialRecord(number=i, state=TrialState.COMPLETE, params={"c": "a"},
                        distributions=dict(cats), values=(1.0,)) for i in range(3)]
    assert sampler.infer_space(History(tuple(only))) == SearchSpace()


class _Constant(RandomSampler):
    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        return {n: d.choices[-1] if isinstance(d, Categorical) else d.high
                for n, d in space.items()}


def test_categoricals_go_to_the_independent_sampler_without_catcma() -> None:
    space = SearchSpace({"x0": Float(0.0, 2.0), "c": Categorical(("a", "b", "z"))})
    sampler = CmaEsSampler(seed=0, independent_sampler=_Constant(), with_categorical=False)
    study = optimise(sampler, sphere, 20, space)
    assert all(t.params["c"] == "z" for t in study.trials)
    assert study.trials[0].params["x0"] == 2.0  # the first trial: nothing is known yet
    assert len({t.params["x0"] for t in study.trials[1:]}) == 19  # CMA-ES from then on


def test_catcma_with_a_conditional_branch() -> None:
    # "x" and "model" are in every trial: CatCMA models them; the branches' parameters are
    # outside the joint space and go to the independent sampler.
    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        if trial.suggest_categorical("model", ["lin", "quad"]) == "lin":
            return abs(x) + trial.suggest_float("a", 0.0, 1.0)
        return x * x + trial.suggest_int("b", 0, 3)

    study = hd.create_study(sampler=CmaEsSampler(seed=1, independent_sampler=_Constant()))
    study.optimize(objective, n_trials=80)
    models = [t.params["model"] for t in study.trials]
    both = max(models.index("lin"), models.index("quad")) + 1  # from here "a", "b" are outside
    for t in study.trials[both:]:
        assert set(t.params) in ({"x", "model", "a"}, {"x", "model", "b"})
        assert t.params.get("a", 1.0) == 1.0 and t.params.get("b", 3) == 3
    assert models.count("lin") > 10 and models.count("quad") > 10  # both drawn, none ruled out


def test_catcma_learns_the_best_category() -> None:
    # Each category shifts the loss; CatCMA must concentrate on the best one while the
    # Gaussian still converges, where random categories stay uniform.
    space = SearchSpace({"x0": Float(-2.0, 2.0), "x1": Float(-2.0, 2.0),
                         "c": Categorical(("bad", "good", "worse"))})
    floor = {"bad": 1.0, "good": 0.0, "worse": 2.0}

    def loss(p: dict[str, Any]) -> float:
        return floor[p["c"]] + (p["x0"] - 0.5) ** 2 + (p["x1"] + 0.5) ** 2

    study = optimise(CmaEsSampler(seed=0, independent_sampler=_Constant()), loss, 150, space)
    late = [t.params["c"] for t in study.trials[-40:]]
    # Random choice gives about 13 of 40; the margin keeps each other choice at
    # (1 - 0.73) / 2 = 13.5 % or more, so at most about 29 of 40 are "good".
    assert late.count("good") >= 24
    assert study.best_value < 0.01
    assert study.best_params["c"] == "good"


# -- the state is a function of the history --------------------------------------------------
def test_same_seed_same_sequence_and_maximise_is_minimise() -> None:
    runs = [optimise(CmaEsSampler(seed=3), sphere, 40) for _ in range(2)]
    runs.append(optimise(CmaEsSampler(seed=3), lambda p: -sphere(p), 40, direction="maximize"))
    params = [[key(t.params) for t in r.trials] for r in runs]
    assert params[0] == params[1] == params[2]
    assert params[0] != [key(t.params) for t in optimise(CmaEsSampler(seed=4), sphere, 40).trials]


def test_resume_from_storage_replays(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cma.db'}"
    whole = optimise(CmaEsSampler(seed=5), sphere, 45)
    first = optimise(CmaEsSampler(seed=5), sphere, 25, storage=url, study_name="s")
    assert len(first.trials) == 25
    again = hd.load_study(study_name="s", storage=url, sampler=CmaEsSampler(seed=5))
    again.optimize(lambda t: sphere(t.suggest_space(BOX)), n_trials=20)
    assert [key(t.params) for t in again.trials] == [key(t.params) for t in whole.trials]


def history_of(space: SearchSpace, rows: list[tuple[dict[str, Any], TrialState]]) -> History:
    return History(tuple(
        TrialRecord(number=i, state=state, params=p, distributions=dict(space),
                    values=(sphere(p),) if state is TrialState.COMPLETE else None)
        for i, (p, state) in enumerate(rows)))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), order=st.randoms(use_true_random=False))
def test_the_cache_never_changes_a_proposal(seed: int, order: Any) -> None:
    """Trials finish out of order (a low number finishing late moves every later generation);
    a sampler that has cached earlier histories proposes what a fresh one does."""
    space = SearchSpace({"x0": Float(-5.0, 5.0), "x1": Float(-5.0, 5.0)})
    cached = CmaEsSampler(seed=seed, popsize=4)
    rng = np.random.default_rng(seed)
    rows = [(dict(zip(space, rng.uniform(-5, 5, 2).tolist(), strict=True)), TrialState.RUNNING)
            for _ in range(30)]
    pending = list(range(30))
    order.shuffle(pending)
    for number in pending:
        rows[number] = (rows[number][0], order.choice([TrialState.COMPLETE, TrialState.FAIL]))
        history = history_of(space, rows)
        mine = cached.propose(history, space, cached.rng(number))
        fresh = CmaEsSampler(seed=seed, popsize=4)
        assert mine == fresh.propose(history, space, fresh.rng(number))


def test_running_trials_draw_more_from_the_same_generation() -> None:
    space = SearchSpace({"x0": Float(-5.0, 5.0), "x1": Float(-5.0, 5.0)})
    sampler = CmaEsSampler(seed=0, popsize=4)
    done = optimise(sampler, sphere, 9, space)  # startup + two generations
    history = History(tuple(done.trials))
    batch = sampler.propose_batch(history, space, 12, sampler.rng(9))
    assert len({key(p) for p in batch}) == 12
    state = sampler._current(history, space).state  # unchanged by the running batch
    pending = replace(history, trials=(*history.trials, *[
        TrialRecord(number=9 + i, state=TrialState.RUNNING, params=p,
                    distributions=dict(space)) for i, p in enumerate(batch)]))
    assert sampler._current(pending, space).state is state


# -- features ------------------------------------------------------------------------------------
def plateau(p: dict[str, Any]) -> float:
    """A bowl with a flat bottom (accuracy-like losses have them): runs end there by tolfun."""
    return float(math.floor(sphere(p)))


def test_ipop_restarts_grow_the_population() -> None:
    space = SearchSpace({"x0": Float(-5.0, 5.0), "x1": Float(-5.0, 5.0)})
    sampler = CmaEsSampler(seed=0, restart_strategy="ipop")
    study = optimise(sampler, plateau, 600, space)
    run = sampler._current(History(tuple(study.trials)), space)
    assert run.restarts.runs >= 2 and run.restarts.evals_small == 0
    assert run.state.strategy.popsize == 6 * 2 ** run.restarts.runs
    plain = CmaEsSampler(seed=0)
    trials = tuple(optimise(plain, plateau, 600, space).trials)
    assert plain._current(History(trials), space).restarts.runs == 0


def test_bipop_alternates_small_and_large_populations() -> None:
    space = SearchSpace({"x0": Float(-5.0, 5.0), "x1": Float(-5.0, 5.0)})
    sampler = CmaEsSampler(seed=0, restart_strategy="bipop")
    study = optimise(sampler, plateau, 800, space)
    r = sampler._current(History(tuple(study.trials)), space).restarts
    assert r.n_large >= 1 and r.evals_small > 0 and r.runs > r.n_large
    assert study.best_value == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_margin_finds_the_integer_optimum(seed: int) -> None:
    space = SearchSpace({"x0": Float(-5.0, 5.0), "x1": Float(-5.0, 5.0), "n": Int(0, 20),
                         "k": Int(1, 1000, log=True), "s": Float(0.0, 2.0, step=0.5)})

    def loss(p: dict[str, Any]) -> float:
        return float(sphere(p) + (p["n"] - 13) ** 2 + math.log(p["k"] / 40) ** 2
                     + (p["s"] - 1.5) ** 2)

    # 400 trials: at 300, one seed in eight stopped at a neighbour of k=40 (39 or 41, a loss
    # under 1e-3), before and after stepped floats took equal bins; at 400 all eight find it.
    study = optimise(CmaEsSampler(seed=seed), loss, 400, space)
    best = study.best_params
    assert (best["n"], best["k"], best["s"]) == (13, 40, 1.5)
    assert study.best_value < 1e-3


def test_bin_edges() -> None:
    assert np.allclose(bin_edges(Int(0, 3)), [0.25, 0.5, 0.75])  # type: ignore[arg-type]
    assert np.allclose(bin_edges(Float(0.0, 1.0, step=0.5)), [1 / 3, 2 / 3])  # type: ignore[arg-type]
    log = bin_edges(Int(1, 3, log=True))
    assert log is not None
    assert np.allclose(log * np.log(3.5 / 0.5), np.log(np.array([1.5, 2.5]) / 0.5))
    assert bin_edges(Float(0.0, 1.0)) is None and bin_edges(Int(0, 10**6)) is None
    assert bin_edges(Categorical(("a", "b"))) is None


def test_separable_in_40_dimensions() -> None:
    """sep-CMA's faster learning rates beat full CMA-ES early on a 40-D sphere."""
    space = SearchSpace({f"x{i}": Float(-5.0, 5.0) for i in range(40)})
    best = {}
    for separable in (True, False):
        sampler = CmaEsSampler(seed=0, separable=separable)
        best[separable] = optimise(sampler, sphere, 400, space).best_value
        shape = sampler._current(History(()), space).state.cov.shape
        assert shape == ((40,) if separable else (40, 40))
    assert best[True] < best[False] < 40.0  # the centre scores 40


def test_warm_start_begins_near_the_source_optimum() -> None:
    """The source optimum is at 2.5, the new one at 2.0; a cold start begins at 0."""
    source = optimise(CmaEsSampler(seed=1), lambda p: sphere(p, 2.5), 200)
    loss, centre = {}, {}
    for warm in (True, False):
        sampler = CmaEsSampler(seed=2, source_trials=source.trials if warm else None)
        study = optimise(sampler, lambda p: sphere(p, 2.0), 20)
        later = np.array([list(t.params.values()) for t in study.trials[1:]])
        loss[warm] = float(np.median([sphere(t.params, 2.0) for t in study.trials[1:]]))
        centre[warm] = later.mean(axis=0)
    assert np.all(np.abs(centre[True] - 2.5) < 0.75)
    assert loss[True] < loss[False] / 2


def test_source_trials_of_several_objectives_are_refused_at_construction() -> None:
    """They crashed the first proposal with zip()'s "argument 2 is longer than argument 1",
    stopping optimize."""
    old = hd.create_study(directions=["minimize", "minimize"])
    old.optimize(lambda t: (t.suggest_float("x", -5, 5) ** 2, 1.0), n_trials=3)
    with pytest.raises(ValueError, match="one objective: trial 0 has 2 values"):
        CmaEsSampler(seed=0, source_trials=old.trials)


def test_x0_and_sigma0_set_the_start() -> None:
    sampler = CmaEsSampler(seed=0, x0={"x0": 4.0, "x1": -4.0}, sigma0=0.01)
    study = optimise(sampler, sphere, 8)
    later = np.array([[t.params["x0"], t.params["x1"]] for t in study.trials[1:]])
    assert np.all(np.abs(later - [4.0, -4.0]) < 0.5)


def test_an_x0_name_it_does_not_search_warns_and_a_value_out_of_range_is_refused() -> None:
    with pytest.warns(UserWarning, match=r"x0 names \['typo'\]"):
        optimise(CmaEsSampler(seed=0, x0={"x0": 1.0, "typo": 1.0}), sphere, 3)
    with pytest.raises(ValueError, match=r"x0\['x0'\] = 20.0 is outside"):
        optimise(CmaEsSampler(seed=0, x0={"x0": 20.0}), sphere, 3)


# -- quality -------------------------------------------------------------------------------------
def test_not_worse_than_optuna_cmaes() -> None:
    """Best values after 300 trials over ten seeds each, on a 4-D sphere and Rosenbrock: ours
    are not significantly larger (one-sided Mann-Whitney U, 5 %). Three seeds were tried
    first and decided by the seeds: the two are at parity on Rosenbrock (means over twelve
    seeds 2.27 and 2.24)."""
    from scipy.stats import mannwhitneyu

    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def rosenbrock(p: dict[str, Any]) -> float:
        x = np.array([p[f"x{i}"] for i in range(4)])
        return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))

    def theirs(objective: Any, seed: int) -> float:
        study = optuna.create_study(sampler=optuna.samplers.CmaEsSampler(seed=seed))
        study.optimize(lambda t: objective({n: t.suggest_float(n, -5.0, 5.0) for n in BOX}),
                       n_trials=300)
        return float(study.best_value)

    for objective in (sphere, rosenbrock):
        ours = [optimise(CmaEsSampler(seed=s), objective, 300).best_value for s in range(10)]
        optunas = [theirs(objective, s) for s in range(10)]
        assert mannwhitneyu(ours, optunas, alternative="greater").pvalue > 0.05, (ours, optunas)


def test_constraints_set_on_trials_rank_infeasible_points_last() -> None:
    """Minimise x^2 + y^2 subject to x + y >= 1 (optimum 0.5 at (0.5, 0.5)): told the
    constraint, each generation ranks its feasible points first (Deb's rule) and the search
    follows the boundary; blind, it heads for the infeasible origin."""
    def best_feasible(told: bool, seed: int) -> float:
        def objective(trial: hd.Trial) -> float:
            x, y = trial.suggest_float("x", -2, 2), trial.suggest_float("y", -2, 2)
            trial.set_user_attr("c", 1.0 - x - y)
            if told:
                trial.set_constraint("x + y >= 1", 1.0 - x - y)
            return x * x + y * y

        study = hd.create_study(sampler=CmaEsSampler(seed=seed))
        study.optimize(objective, n_trials=150)
        return min((t.value for t in study.trials if t.user_attrs["c"] <= 0),  # type: ignore[type-var]
                   default=math.inf)

    told = [best_feasible(True, seed) for seed in range(3)]
    assert max(told) < 0.52  # measured 0.501-0.512 over seeds 0-4
    assert min(best_feasible(False, seed) for seed in range(3)) > 0.55


def test_feasible_first_orders_by_loss_then_violation() -> None:
    loss = np.array([3.0, 1.0, 0.5, 2.0])
    violation = np.array([0.0, 0.0, 2.0, 0.5])
    out = evo.feasible_first(loss, violation)
    assert list(np.argsort(out, kind="stable")) == [1, 0, 3, 2]  # feasible by loss, then
    assert out[[0, 1]].tolist() == [3.0, 1.0]  # by violation; feasible losses kept
    assert np.array_equal(evo.feasible_first(loss, np.zeros(4)), loss)


def test_a_sampler_reused_for_a_study_that_orders_its_parameters_otherwise() -> None:
    """The replay cache was keyed by the joint space, whose equality ignores order, so a
    second study listing c5 before c2 ran with the first study's columns: an IndexError."""
    sampler = CmaEsSampler(seed=0)

    def objective(first: str) -> Callable[[hd.Trial], float]:
        def f(trial: hd.Trial) -> float:
            x = trial.suggest_float("x", 0, 1)
            picks = {"c2": lambda: trial.suggest_categorical("c2", ["a", "b"]),
                     "c5": lambda: trial.suggest_categorical("c5", [0, 1, 2, 3, 4])}
            c = {first: picks[first]()}
            c.update((k, p()) for k, p in picks.items() if k not in c)
            return x + (c["c2"] == "a") + c["c5"]
        return f

    hd.create_study(sampler=sampler).optimize(objective("c2"), n_trials=20)
    second = hd.create_study(sampler=sampler)
    second.optimize(objective("c5"), n_trials=40)
    assert all(t.state is hd.TrialState.COMPLETE for t in second.trials)
    assert {t.params["c5"] for t in second.trials[20:]} <= {0, 1, 2, 3, 4}
    assert len(sampler._replays) == 2
