"""Regularized (aging) evolution, the architecture-search strategy of Real et al. (2019).

The population is the ``population_size`` most recent completed trials (by trial number, so
the oldest leaves first: "aging", which keeps the search from resting on one lucky early
trial). Each new trial is a child of the best of ``sample_size`` members drawn at random (a
tournament): the parent's configuration with one parameter mutated. Parameters the parent
lacks (a layer that its architecture does not have, which the child's may) are drawn by the
independent sampler, so conditional, define-by-run spaces evolve as a whole. Until the
population is full, trials come from the independent sampler.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperdial._encode import decode_value, encode_column
from hyperdial.history import History
from hyperdial.samplers import _evolution as evo
from hyperdial.samplers.base import ConstraintsFunc, Sampler, constraint_values
from hyperdial.samplers.random import RandomSampler
from hyperdial.space import (
    Categorical,
    Distribution,
    Float,
    Int,
    SearchSpace,
    grid_index,
    grid_value,
)
from hyperdial.trial import TrialRecord

#: Children tried before one that repeats an earlier trial is accepted (every fifth try
#: mutates one parameter more).
_RETRIES = 25


def mutate(dist: Distribution, value: Any, rng: np.random.Generator, scale: float) -> Any:
    """A different value of ``dist`` near ``value``: another category drawn uniformly; for a
    number, a Gaussian step of ``scale`` in the unit cube (reflected at its edges; log scales
    and steps are the encoding's), or the next grid value when the step rounds back."""
    if isinstance(dist, Categorical):
        others = [i for i in range(len(dist.choices)) if i != dist.index(value)]
        return dist.choices[others[int(rng.integers(len(others)))]] if others else value
    step = float(rng.normal(0.0, scale))
    moved = float(encode_column(dist, [value])[0]) + step
    moved = -moved if moved < 0.0 else moved
    moved = min(max(2.0 - moved if moved > 1.0 else moved, 0.0), 1.0)
    new = decode_value(dist, moved)
    if new == value and dist.step is not None:  # rounded back: move one grid step instead
        new = next_grid_value(dist, value, upward=step >= 0)
    return new.item() if isinstance(new, np.generic) else new


def next_grid_value(dist: Float | Int, value: Any, *, upward: bool) -> Any:
    """The grid value of ``dist`` one step from ``value``, ``upward`` or down (the other way
    at an end of the range), as decoding writes it (`grid_value`): computed from the grid
    index, so 0.2 + 0.1 is the grid's 0.3 however the sum rounds, and steps never drift."""
    k, last = grid_index(dist, value), grid_index(dist, dist.high)
    up, down = k < last, k > 0
    return grid_value(dist, k + 1 if (upward and up) or not down else k - 1)


def _item(value: Any) -> tuple[str, Any]:
    """A value as a hashable key that tells 1, 1.0 and True apart, as the study does."""
    return (type(value).__name__, value)


def _repeats(child: dict[str, Any], tried: dict[frozenset[str], set[frozenset[Any]]]) -> bool:
    """Whether ``child`` repeats an earlier trial: agrees with one on every parameter that
    trial has (a deterministic define-by-run objective then asks for exactly those again,
    whatever else the proposal holds). ``tried`` groups the trials by their parameter names."""
    for names, configs in tried.items():
        if names <= child.keys() and frozenset(
                (n, _item(child[n])) for n in names) in configs:
            return True
    return False


class RegularizedEvolutionSampler(Sampler):
    """Regularized evolution for architecture search and other mostly discrete spaces.

    Args:
        seed: seed of the per-trial generators (`Sampler.rng`).
        population_size: completed trials in the population (the most recent ones); at
            least 2. Until that many are complete, trials come from ``independent_sampler``.
        sample_size: members drawn for each tournament, at most ``population_size``; larger
            means greedier (Real et al. used 100 and 25 for image classifiers over 20,000
            models; the defaults suit budgets of hundreds of trials).
        mutation_scale: standard deviation of a numeric mutation in the unit cube.
        constraints_func: constraint values of a completed trial, ``<= 0`` feasible (a
            feasible member beats an infeasible one, infeasible ones by total violation);
            without it, the values trials set with `Trial.set_constraint`, if any.
        independent_sampler: sampler for the first population and for parameters a parent
            lacks; `RandomSampler` by default.

    With several objectives the tournament picks the member of the best Pareto front (ties:
    the first drawn). A child that repeats an earlier trial's configuration is drawn again, with
    one more mutated parameter every fifth time (25 tries in all), so that a small discrete
    space is not evaluated twice over.
    """

    def __init__(self, *, seed: int | None = None, population_size: int = 20,
                 sample_size: int = 5, mutation_scale: float = 0.2,
                 constraints_func: ConstraintsFunc | None = None,
                 independent_sampler: Sampler | None = None) -> None:
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        if not 1 <= sample_size <= population_size:
            raise ValueError(f"sample_size must be in [1, population_size], got {sample_size}")
        if not mutation_scale > 0:
            raise ValueError(f"mutation_scale must be > 0, got {mutation_scale}")
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)
        self.mutation_scale = float(mutation_scale)
        self.constraints_func = constraints_func
        self.independent_sampler = independent_sampler or RandomSampler(seed=seed)
        super().__init__(seed=seed)

    _caches = ("_lock", "_keys")

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._fresh_caches()

    def _fresh_caches(self) -> None:
        self._lock = threading.Lock()
        # number -> (the params dict it was made from, its names, its items): finished trials
        # are immutable, so a trial is keyed once, while its record is the same object.
        self._keys: dict[int, tuple[Mapping[str, Any], frozenset[str], frozenset[Any]]] = {}

    def _tried(self, history: History) -> dict[frozenset[str], set[frozenset[Any]]]:
        """The finished trials' configurations grouped by parameter names (a running trial
        may hold only the parameters asked so far, so it is left out)."""
        out: dict[frozenset[str], set[frozenset[Any]]] = {}
        with self._lock:
            for t in history.trials:
                if not t.params or not t.state.is_finished():
                    continue
                cached = self._keys.get(t.number)
                if cached is None or cached[0] is not t.params:
                    cached = (t.params, frozenset(t.params),
                              frozenset((n, _item(v)) for n, v in t.params.items()))
                    self._keys[t.number] = cached
                out.setdefault(cached[1], set()).add(cached[2])
        return out

    def infer_space(self, history: History) -> SearchSpace:
        return history.completed_union_space

    def population(self, history: History) -> list[TrialRecord] | None:
        """The current population, oldest first; None while it is not yet full."""
        done = history.completed  # in trial order
        if len(done) < self.population_size:
            return None
        return list(done[-self.population_size:])

    def parent(self, history: History, population: list[TrialRecord],
               rng: np.random.Generator) -> TrialRecord:
        """The winner of one tournament of ``sample_size`` members drawn without replacement."""
        drawn = rng.choice(len(population), size=self.sample_size, replace=False)
        members: list[TrialRecord] = [population[int(i)] for i in drawn]
        c = constraint_values(self.constraints_func, members)
        ranks = evo.constrained_ranks(history.loss(members),
                                      evo.violations(c) if c.shape[1] else None)
        return members[int(np.argmin(ranks))]

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        if not space:
            return {}
        population = self.population(history)
        if population is None:
            return self.independent_sampler.propose(history, space, rng)
        # A value for every parameter, active or not: a mutation may activate any of them.
        flat = SearchSpace(dict(space.params))
        fresh = self.independent_sampler.propose(history, flat, rng)
        parent = self.parent(history, population, rng)
        inherited = {n: parent.params[n] for n, d in space.items()
                     if n in parent.params and parent.distributions.get(n) == d}
        mutable = [n for n in space.active(inherited) if n in inherited]
        if not mutable:
            return space.restrict(fresh) if space.is_conditional else fresh
        seen = self._tried(history)
        for attempt in range(_RETRIES):
            child = {**fresh, **inherited}
            # One mutation, as the method has it; more when the neighbours are all taken.
            k = min(1 + attempt // 5, len(mutable))
            for name in rng.choice(mutable, size=k, replace=False):
                child[name] = mutate(space[name], child[name], rng, self.mutation_scale)
            child = space.restrict(child) if space.is_conditional else child
            if not _repeats(child, seen):
                break
            fresh = self.independent_sampler.propose(history, flat, rng)
        return child

    def __repr__(self) -> str:
        return (f"RegularizedEvolutionSampler(seed={self.seed}, "
                f"population_size={self.population_size}, sample_size={self.sample_size})")
