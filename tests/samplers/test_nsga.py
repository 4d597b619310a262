"""NSGAIISampler and its kernels: constrained ranking, crowding, elitism, operators in bounds,
reproducibility (also after a resume from SQLite), and progress over random search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperdial as hd
from hyperdial._pareto import hypervolume, non_dominated
from hyperdial.history import History
from hyperdial.samplers import SAMPLERS, NSGAIIISampler, NSGAIISampler, RandomSampler, Sampler
from hyperdial.samplers import _evolution as evo
from hyperdial.space import Categorical, Float, Int, SearchSpace, grid_value
from hyperdial.testing.samplers import (
    check_conditional,
    check_mixed_categorical,
    check_pending,
    check_reproducible,
    check_valid,
    run,
)
from hyperdial.trial import TrialRecord, TrialState

MIXED = SearchSpace({"x": Float(-2.0, 2.0), "lr": Float(1e-5, 1.0, log=True),
                     "n": Int(1, 100, log=True), "k": Int(0, 10, step=2),
                     "s": Float(0.0, 1.0, step=0.25), "c": Categorical(("a", "b", 3))})


# -- kernels ---------------------------------------------------------------------------------
def test_feasible_dominates_infeasible_and_infeasible_rank_by_violation() -> None:
    loss = np.array([[5.0, 5.0], [0.0, 0.0], [1.0, 2.0], [2.0, 1.0], [-1.0, -1.0], [3.0, 3.0]])
    violation = evo.violations(np.array([[0.0, -1.0], [2.0, 0.0], [0.0, 0.0], [-3.0, -1.0],
                                         [0.5, 0.5], [np.nan, 0.0]]))
    assert violation.tolist() == [0.0, 2.0, 0.0, 0.0, 1.0, np.inf]
    ranks = evo.constrained_ranks(loss, violation)
    # feasible rows by fronts (2, 3 first, then 0), then infeasible by violation: 4, 1, 5
    assert ranks.tolist() == [1, 3, 0, 0, 2, 4]
    assert evo.constrained_ranks(loss).tolist() == [4, 1, 2, 2, 0, 3]


def test_crowding_and_elite_selection() -> None:
    front = np.array([[0.0, 4.0], [1.0, 3.0], [1.1, 2.9], [4.0, 0.0]])
    crowd = evo.crowding_distance(front)
    assert np.isinf(crowd[[0, 3]]).all() and crowd[1] > 0 and crowd[2] > 0
    ranks = np.array([0, 0, 0, 0, 1])
    dist = np.append(crowd, np.inf)
    # the crowded interior point with the smaller distance goes first, the worse front before it
    assert evo.select_elite(ranks, dist, 3).tolist() == [0, 1, 3] or \
        evo.select_elite(ranks, dist, 3).tolist() == [0, 2, 3]
    assert 4 not in evo.select_elite(ranks, dist, 4)


def test_tournament_prefers_lower_front_then_less_crowding() -> None:
    rng = np.random.default_rng(0)
    ranks = np.array([0, 1])
    picks = [evo.tournament(ranks, np.zeros(2), rng, 1)[0] for _ in range(20)]
    assert set(picks) == {0}
    assert sorted(evo.tournament(np.zeros(5, dtype=int), np.zeros(5), rng, 5).tolist()) == \
        [0, 1, 2, 3, 4]


@pytest.mark.parametrize("op", [evo.sbx, evo.uniform, evo.blx_alpha])
def test_crossovers_and_mutation_stay_in_the_unit_cube(op: evo.Crossover) -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        p1, p2 = rng.random(6), rng.random(6)
        p1[0], p2[1] = 0.0, 1.0
        child = op(p1, p2, rng)
        assert child.shape == (6,) and (child >= 0.0).all() and (child <= 1.0).all()
        mutated = evo.polynomial_mutation(child, rng, 0.5)
        assert (mutated >= 0.0).all() and (mutated <= 1.0).all()
    same = rng.random(4)
    assert np.array_equal(evo.sbx(same, same, rng), same)
    assert np.array_equal(evo.polynomial_mutation(same, rng, 0.0), same)


@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5, 1.0])
def test_blx_alpha_reaches_alpha_of_the_parents_gap_past_each_parent(alpha: float) -> None:
    rng = np.random.default_rng(2)
    p1, p2 = np.full(2000, 0.4), np.full(2000, 0.6)
    child = evo.blx_alpha(p1, p2, rng, alpha=alpha)
    lo, hi = 0.4 - alpha * 0.2, 0.6 + alpha * 0.2
    assert (child >= lo - 1e-12).all() and (child <= hi + 1e-12).all()
    # uniform over the widened interval: it reaches near both ends
    assert child.min() < lo + 0.01 and child.max() > hi - 0.01


def test_the_sampler_crosses_with_its_alpha(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []
    real = evo.blx_alpha

    def spy(p1: np.ndarray, p2: np.ndarray, rng: np.random.Generator,
            alpha: float = 0.5) -> np.ndarray:
        seen.append(alpha)
        return real(p1, p2, rng, alpha)

    monkeypatch.setattr(evo, "blx_alpha", spy)
    study = hd.create_study(directions=["minimize", "minimize"],
                            sampler=NSGAIISampler(seed=0, population_size=4, crossover="blx",
                                                  alpha=0.2, crossover_prob=1.0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
                   n_trials=16)
    assert seen and set(seen) == {0.2}
    with pytest.raises(ValueError, match="alpha must be"):
        NSGAIISampler(crossover="blx", alpha=float("nan"))


# -- the sampler -----------------------------------------------------------------------------
def small(space: SearchSpace, seed: int | None) -> Sampler:
    return NSGAIISampler(seed=seed, population_size=3)


@pytest.mark.parametrize("crossover", ["sbx", "uniform", "blx"])
def test_generations_give_valid_mixed_proposals(crossover: str) -> None:
    check_valid(lambda sp, seed: NSGAIISampler(seed=seed, population_size=4,
                                               crossover=crossover), MIXED, 0, 30)


def test_conformance_past_the_first_generation() -> None:
    for seed in (0, 1):
        check_conditional(small, seed, n_trials=20)
        check_mixed_categorical(small, seed, n_trials=20)
        check_reproducible(small, MIXED, seed, n_trials=12)
        check_pending(small, MIXED, seed)


def zdt1(trial: hd.Trial, dim: int = 5) -> tuple[float, float]:
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(dim)])
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    return float(x[0]), g * (1.0 - float(np.sqrt(x[0] / g)))


def zdt_study(sampler: Sampler, n_trials: int, **kwargs: Any) -> hd.Study:
    study = hd.create_study(directions=["minimize", "minimize"], sampler=sampler, **kwargs)
    study.optimize(zdt1, n_trials=n_trials)
    return study


def test_same_seed_same_sequence() -> None:
    a = zdt_study(NSGAIISampler(seed=3, population_size=8), 30)
    b = zdt_study(NSGAIISampler(seed=3, population_size=8), 30)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]


def test_resume_from_sqlite_replays_the_same_sequence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nsga.db'}"
    first = zdt_study(NSGAIISampler(seed=5, population_size=6), 14, storage=url,
                      study_name="zdt")
    assert len(first.trials) == 14
    resumed = hd.load_study(study_name="zdt", storage=url,
                            sampler=NSGAIISampler(seed=5, population_size=6))
    resumed.optimize(zdt1, n_trials=16)
    straight = zdt_study(NSGAIISampler(seed=5, population_size=6), 30)
    assert [t.params for t in resumed.trials] == [t.params for t in straight.trials]


def test_elitism_keeps_the_best_front() -> None:
    sampler = NSGAIISampler(seed=0, population_size=6)
    study = zdt_study(sampler, 42)
    history = History(tuple(study.trials), directions=study.directions)
    for g in range(1, 8):
        seen = History(tuple(t for t in study.trials if t.number < 6 * g), study.directions)
        pop = sampler.population(seen)
        assert pop is not None and len(pop.trials) == 6
        loss = seen.loss()
        front = {t.number for t, keep in zip(seen.completed, non_dominated(loss), strict=True)
                 if keep}
        kept = {t.number for t in pop.trials}
        assert front <= kept if len(front) <= 6 else kept <= front
    assert sampler.population(history) is not None


def test_single_objective_is_an_elitist_genetic_algorithm() -> None:
    def sphere(trial: hd.Trial) -> float:
        return float(sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(4)))

    def best(sampler: Sampler) -> float:
        study = hd.create_study(sampler=sampler)
        study.optimize(sphere, n_trials=120)
        return float(study.best_value)

    ga = np.mean([best(NSGAIISampler(seed=s, population_size=12)) for s in range(3)])
    rnd = np.mean([best(RandomSampler(seed=s)) for s in range(3)])
    assert ga < 0.5 * rnd
    sampler = NSGAIISampler(seed=0, population_size=12)
    study = hd.create_study(sampler=sampler)
    study.optimize(sphere, n_trials=60)
    history = History(tuple(study.trials))
    pop = sampler.population(history)
    assert pop is not None and min(t.values[0] for t in pop.trials) == study.best_value  # type: ignore[index]


def test_mutation_moves_a_discrete_value_to_a_neighbour_it_would_round_back_from() -> None:
    """Generation 0 holds only k = 0 of an int with two values: polynomial mutation (eta 20)
    almost never moves the encoded value past the middle of the cube, so without the step to
    a neighbour k = 10 never came back (two seeds in ten, found by dogfooding)."""
    for seed in range(3):
        study = hd.create_study(directions=["minimize", "minimize"],
                                sampler=NSGAIISampler(seed=seed, population_size=6))
        for x in np.linspace(0.0, 1.0, 6):
            study.enqueue_trial({"x": float(x), "k": 0})
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_int("k", 0, 10, step=10)
                                  - t.suggest_float("x", 0, 1)), n_trials=36)
        assert any(t.params["k"] == 10 for t in study.trials[6:])


def test_improves_hypervolume_over_random_on_zdt1() -> None:
    ref = np.array([11.0, 11.0])

    def hv(sampler: Sampler) -> float:
        study = zdt_study(sampler, 100)
        return hypervolume(np.array([t.values for t in study.trials]), ref)

    nsga = np.mean([hv(NSGAIISampler(seed=s, population_size=10)) for s in range(4)])
    rnd = np.mean([hv(RandomSampler(seed=s)) for s in range(4)])
    assert nsga > rnd + 1.0


def test_constraints_from_user_attrs() -> None:
    """A constraint x0 >= 0.6 stored by the objective: late trials are almost all feasible."""
    def objective(trial: hd.Trial) -> tuple[float, float]:
        values = zdt1(trial, dim=3)
        trial.set_user_attr("c", 0.6 - trial.params["x0"])
        return values

    def feasible_share(sampler: Sampler) -> float:
        study = hd.create_study(directions=["minimize", "minimize"], sampler=sampler)
        study.optimize(objective, n_trials=80)
        return float(np.mean([t.user_attrs["c"] <= 0 for t in study.trials[40:]]))

    with_c = NSGAIISampler(seed=0, population_size=10,
                           constraints_func=lambda t: [t.user_attrs["c"]])
    assert feasible_share(with_c) > 0.8
    assert feasible_share(RandomSampler(seed=0)) < 0.6


def test_constraints_set_on_trials_rank_as_constraints_func_does() -> None:
    def objective(trial: hd.Trial, on_trial: bool) -> tuple[float, float]:
        values = zdt1(trial, dim=3)
        trial.set_user_attr("c", 0.6 - trial.params["x0"])
        if on_trial:
            trial.set_constraint("x0 >= 0.6", 0.6 - trial.params["x0"])
        return values

    def params(on_trial: bool, **kwargs: Any) -> list[dict[str, Any]]:
        study = hd.create_study(directions=["minimize", "minimize"],
                                sampler=NSGAIISampler(seed=0, population_size=10, **kwargs))
        study.optimize(lambda t: objective(t, on_trial), n_trials=40)
        return [t.params for t in study.trials]

    by_func = params(False, constraints_func=lambda t: [t.user_attrs["c"]])
    assert params(True) == by_func != params(False)


def test_population_of_a_hand_made_history_and_arguments() -> None:
    space = SearchSpace({"x": Float(0.0, 1.0)})
    trials = tuple(TrialRecord(number=i, state=TrialState.COMPLETE, params={"x": i / 10},
                               distributions=dict(space), values=(float((i - 4) ** 2),))
                   for i in range(10))
    sampler = NSGAIISampler(seed=0, population_size=4)
    pop = sampler.population(History(trials))
    assert pop is not None and sorted(t.number for t in pop.trials) == [2, 3, 4, 5]
    assert sampler.population(History(trials[:3])) is None
    assert SAMPLERS["nsga2"] is NSGAIISampler
    for bad in ({"population_size": 1}, {"mutation_prob": 1.5}, {"crossover": "spx"},
                {"crossover_prob": -0.1}, {"swapping_prob": 2.0}, {"eta": 0.0}):
        with pytest.raises(ValueError):
            NSGAIISampler(**bad)


# -- NSGA-III --------------------------------------------------------------------------------
def test_reference_points_and_niching() -> None:
    refs = evo.reference_points(3, 4)
    assert refs.shape == (15, 3) and np.allclose(refs.sum(axis=1), 1.0)
    assert len({tuple(r) for r in refs.tolist()}) == 15
    # a front of 6 points on the simplex plus a dominated one; keep 4 of the front
    loss = np.array([[1.0, 0.0], [0.8, 0.2], [0.6, 0.4], [0.4, 0.6], [0.2, 0.8], [0.0, 1.0],
                     [1.0, 1.0]])
    ranks = evo.constrained_ranks(loss)
    keep = evo.niche_select(ranks, loss, 4, evo.reference_points(2, 3),
                            np.random.default_rng(0))
    assert keep.size == 4 and 6 not in keep
    assert {0, 5} <= set(keep.tolist())  # the extremes own the axis directions
    assert evo.niche_select(ranks, loss, 7, refs[:, :2], np.random.default_rng(0)).tolist() == \
        list(range(7))


def dtlz2(trial: hd.Trial) -> tuple[float, float, float]:
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(5)])
    g = float(np.sum((x[2:] - 0.5) ** 2))
    a, b = x[0] * np.pi / 2, x[1] * np.pi / 2
    return ((1 + g) * np.cos(a) * np.cos(b), (1 + g) * np.cos(a) * np.sin(b),
            (1 + g) * np.sin(a))


def test_nsga3_improves_over_random_and_replays() -> None:
    """400 trials (40 generations): at 200, NSGA-III and random search are still at par on
    DTLZ2 (mean hypervolume 2.43 and 2.45 over ten seeds); at 400, 2.64 against 2.55."""
    def run(sampler: Sampler) -> hd.Study:
        study = hd.create_study(directions=["minimize"] * 3, sampler=sampler)
        study.optimize(dtlz2, n_trials=400)
        return study

    def hv(study: hd.Study) -> float:
        return hypervolume(np.array([t.values for t in study.trials]), np.full(3, 1.5))

    studies = [run(NSGAIIISampler(seed=s, population_size=10)) for s in range(3)]
    again = run(NSGAIIISampler(seed=0, population_size=10))
    assert [t.params for t in again.trials] == [t.params for t in studies[0].trials]
    rnd = np.mean([hv(run(RandomSampler(seed=s))) for s in range(3)])
    assert np.mean([hv(s) for s in studies]) > rnd
    check_conditional(lambda sp, seed: NSGAIIISampler(seed=seed, population_size=3), 0, 20)
    with pytest.raises(ValueError):
        NSGAIIISampler(dividing_parameter=0)


@pytest.mark.parametrize("cls", [NSGAIISampler, NSGAIIISampler])
def test_bred_stepped_values_stay_on_the_grid_so_conditions_hold(cls: type[NSGAIISampler]) -> None:
    """Dogfooding: a mutation that rounded back moved by ``value ± step`` unsnapped, giving 0.3
    and 0.49999999999999994 beside the grid's 0.30000000000000004 and 0.5, and `a`,
    conditioned on p == 0.3, went missing."""
    space = SearchSpace.from_dict({
        "p": {"type": "float", "low": 0.1, "high": 0.7, "step": 0.2},
        "a": {"type": "float", "low": 0.0, "high": 1.0, "condition": {"parent": "p", "in": [0.3]}},
        "k": {"type": "int", "low": 0, "high": 3}})
    p = space["p"]
    assert isinstance(p, Float)
    grid = {grid_value(p, k) for k in range(4)}
    for params in run(cls(seed=0, population_size=4), space, 40):
        assert params["p"] in grid, params
        assert ("a" in params) == (params["p"] == grid_value(p, 1))


@pytest.mark.parametrize("cls", [NSGAIISampler, NSGAIIISampler])
def test_a_sampler_reused_for_another_study_breeds_from_that_study(
        cls: type[NSGAIISampler]) -> None:
    """Generations were cached by trial number and values alone, so a second study whose
    trials scored as the first's did bred children from the first study's parents."""
    def children(sampler: NSGAIISampler, low: float) -> list[float]:
        study = hd.create_study(directions=["minimize", "minimize"], sampler=sampler)
        for i in range(4):
            study.enqueue_trial({"x": low + 0.01 * i})
        study.optimize(lambda t: (t.suggest_float("x", 0, 1) * 0 + 1.0, 1.0), n_trials=10)
        return [t.params["x"] for t in study.trials[4:]]

    shared = cls(seed=0, population_size=4, mutation_prob=0.0)
    assert max(children(shared, 0.1)) < 0.2
    again = children(shared, 0.9)
    assert again == children(cls(seed=0, population_size=4, mutation_prob=0.0), 0.9)
    assert min(again) > 0.8
