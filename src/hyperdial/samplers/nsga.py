"""NSGA-II: the state around the kernels of `_evolution`, rebuilt from the history alone.

Generations are not stored anywhere: completed trials, in trial-number order, form
generations of ``population_size``; generation 0 is the initial population and each later
population is the elitist selection (constrained fronts, then crowding distance) over the
previous population and the next generation. A proposal breeds one child of the latest
population. Every worker (and a resumed study) rebuilds the same generations from the same
history, and a cache keeps the rebuild incremental.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np

from hyperdial._encode import decode, encode
from hyperdial.history import History, StudyDirection
from hyperdial.samplers import _evolution as evo
from hyperdial.samplers.base import ConstraintsFunc, Sampler, constraint_values
from hyperdial.samplers.evolution import next_grid_value
from hyperdial.samplers.random import RandomSampler
from hyperdial.space import Categorical, SearchSpace
from hyperdial.trial import TrialRecord

_CROSSOVERS = ("sbx", "uniform", "blx")


@dataclass(frozen=True)
class Population:
    """One population: its trials, their constrained fronts and crowding distances."""

    trials: tuple[TrialRecord, ...]
    ranks: np.ndarray
    crowding: np.ndarray


@dataclass(frozen=True)
class _Generation:
    key: tuple[tuple[int, tuple[float, ...] | None, datetime | None], ...]  # its trials
    population: Population


class NSGAIISampler(Sampler):
    """NSGA-II (Deb et al. 2002) for one or several objectives, with constraints.

    The first ``population_size`` completed trials are drawn by ``independent_sampler``; after
    that each trial is a child of two parents picked by binary tournaments from the current
    population: crossover with ``crossover_prob``, then every gene mutates with
    ``mutation_prob``. Numeric parameters cross and mutate as coordinates of the unit cube (log
    scales and integers are handled by the encoding); categoricals cross uniformly and mutate
    by a fresh draw. Parameters outside the joint space (conditional ones) go to
    ``independent_sampler``. With one objective this is an elitist genetic algorithm.

    Args:
        seed: seed of the per-trial generators (`Sampler.rng`).
        population_size: completed trials per generation; at least 2. The default, 20, is
            smaller than the usual 50 (Optuna's) so that budgets of a few hundred trials see
            ten generations rather than four (see ``docs/multiobjective.md``).
        mutation_prob: probability that a gene mutates; None means ``1 / n_params``.
        crossover: "sbx" (simulated binary), "uniform" or "blx" (BLX-alpha) for the numeric
            genes; Optuna's classes from `hyperdial.samplers.nsgaii` too
            (``SBXCrossover(eta=15)`` is ``"sbx"`` with ``eta=15``).
        crossover_prob: probability that a child comes from crossover rather than a copy of
            its first parent.
        swapping_prob: probability that uniform crossover takes a gene from the second parent
            (categoricals always cross uniformly).
        eta: distribution index of SBX and polynomial mutation (larger: children nearer their
            parents).
        alpha: how far BLX-alpha reaches past its parents, as a fraction of the distance
            between them on each side (0: never outside them; 0.5, the usual choice: the
            children's spread about keeps the parents').
        constraints_func: constraint values of a completed trial, ``<= 0`` feasible (Deb's
            constrained domination: feasible beats infeasible, infeasible by total violation);
            without it, the values trials set with `Trial.set_constraint`, if any.
        independent_sampler: sampler for the first generation and for parameters outside the
            joint space; `RandomSampler` by default.
    """

    def __init__(self, *, seed: int | None = None, population_size: int = 20,
                 mutation_prob: float | None = None, crossover: Any = "sbx",
                 crossover_prob: float = 0.9, swapping_prob: float = 0.5, eta: float = 20.0,
                 alpha: float = 0.5, constraints_func: ConstraintsFunc | None = None,
                 independent_sampler: Sampler | None = None) -> None:
        if hasattr(crossover, "keywords") and hasattr(crossover, "name"):  # nsgaii's classes
            settings = {"eta": eta, "swapping_prob": swapping_prob, "alpha": alpha,
                        **crossover.keywords()}
            crossover, eta, swapping_prob, alpha = (
                crossover.name, settings["eta"], settings["swapping_prob"], settings["alpha"])
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        if mutation_prob is not None and not 0.0 <= mutation_prob <= 1.0:
            raise ValueError(f"mutation_prob must be in [0, 1], got {mutation_prob}")
        if crossover not in _CROSSOVERS:
            raise ValueError(f"crossover must be one of {_CROSSOVERS}, got {crossover!r}")
        for label, p in (("crossover_prob", crossover_prob), ("swapping_prob", swapping_prob)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{label} must be in [0, 1], got {p}")
        if not eta > 0:
            raise ValueError(f"eta must be > 0, got {eta}")
        if not 0.0 <= alpha < float("inf"):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
        self.population_size = int(population_size)
        self.mutation_prob = mutation_prob
        self.crossover = crossover
        self.crossover_prob = float(crossover_prob)
        self.swapping_prob = float(swapping_prob)
        self.eta = float(eta)
        self.alpha = float(alpha)
        self.constraints_func = constraints_func
        self.independent_sampler = independent_sampler or RandomSampler(seed=seed)
        super().__init__(seed=seed)

    _caches = ("_lock", "_generations", "_directions")

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._fresh_caches()

    def _fresh_caches(self) -> None:
        self._lock = threading.Lock()
        self._generations: list[_Generation] = []
        self._directions: tuple[StudyDirection, ...] = ()

    # -- generations ------------------------------------------------------------------------
    def population(self, history: History) -> Population | None:
        """The parent population for the next child; None while generation 0 is incomplete."""
        done = sorted(history.completed, key=lambda t: t.number)
        n_gen = len(done) // self.population_size
        if n_gen == 0:
            return None
        with self._lock:
            if self._directions != history.directions:
                self._generations, self._directions = [], history.directions
            gens = self._generations
            for g in range(n_gen):
                members = done[g * self.population_size:(g + 1) * self.population_size]
                # The start time tells one study's trial from another's of the same number
                # and values (a sampler reused for a second study).
                key = tuple((t.number, t.values, t.datetime_start) for t in members)
                if g < len(gens) and gens[g].key == key:
                    continue
                del gens[g:]
                previous = gens[g - 1].population.trials if g else ()
                gens.append(_Generation(key, self._select(history, (*previous, *members), g)))
            return gens[n_gen - 1].population

    def _select(self, history: History, trials: Sequence[TrialRecord],
                generation: int) -> Population:
        """Elitist selection of ``population_size`` trials by constrained front and crowding."""
        loss = history.loss(trials)
        ranks = evo.constrained_ranks(loss, self._violations(trials))
        keep = evo.select_elite(ranks, evo.crowding_by_front(loss, ranks), self.population_size)
        kept = tuple(trials[i] for i in keep)
        ranks = ranks[keep]
        return Population(kept, ranks, evo.crowding_by_front(loss[keep], ranks))

    def _violations(self, trials: Sequence[TrialRecord]) -> np.ndarray | None:
        c = constraint_values(self.constraints_func, trials)
        return evo.violations(c) if c.shape[1] else None

    # -- the sampler contract ---------------------------------------------------------------
    def infer_space(self, history: History) -> SearchSpace:
        return history.completed_space

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        if not space:
            return {}
        pop = self.population(history)
        joint = history.completed_space if pop is not None else SearchSpace()
        bred = SearchSpace({k: d for k, d in space.items() if joint.get(k) == d})
        rest = SearchSpace({k: d for k, d in space.items() if k not in bred})
        out: dict[str, Any] = {}
        if bred and pop is not None:
            out.update(self._breed(pop, bred, rng))
        if rest:
            out.update(self.independent_sampler.propose(history, rest, rng))
        return space.restrict(out) if space.is_conditional else out

    def _breed(self, pop: Population, space: SearchSpace,
               rng: np.random.Generator) -> dict[str, Any]:
        """One child of two tournament-selected parents of ``pop``, for the parameters of
        ``space`` (which every member holds)."""
        coords = encode(space, [t.params for t in pop.trials])
        cat = np.array([isinstance(d, Categorical) for d in space.values()], dtype=bool)
        i, j = evo.tournament(pop.ranks, pop.crowding, rng, 2)
        p1, p2 = coords[i], coords[j]
        child = p1.copy()
        if rng.random() < self.crossover_prob:
            child[~cat] = self._cross(p1[~cat], p2[~cat], rng)
            child[cat] = evo.uniform(p1[cat], p2[cat], rng, self.swapping_prob)
        prob = self.mutation_prob if self.mutation_prob is not None else 1.0 / len(space)
        crossed = child.copy()
        child[~cat] = evo.polynomial_mutation(child[~cat], rng, prob, self.eta)
        redraw = cat & (rng.random(cat.size) < prob)
        child[redraw] = rng.random(int(redraw.sum()))
        out = decode(space, child[None, :])[0]
        # A mutation smaller than a grid step rounds back to the value it moved from: then
        # it moves one step, or an int of a few values would hardly ever mutate.
        before = decode(space, crossed[None, :])[0]
        for j, (name, d) in enumerate(space.items()):
            if (not isinstance(d, Categorical) and d.step is not None
                    and child[j] != crossed[j] and out[name] == before[name]):
                out[name] = next_grid_value(d, out[name], upward=child[j] > crossed[j])
        return out

    @property
    def _cross(self) -> evo.Crossover:
        if self.crossover == "sbx":
            return partial(evo.sbx, eta=self.eta)
        if self.crossover == "uniform":
            return partial(evo.uniform, swapping_prob=self.swapping_prob)
        return partial(evo.blx_alpha, alpha=self.alpha)

    def __repr__(self) -> str:
        return (f"NSGAIISampler(seed={self.seed}, population_size={self.population_size}, "
                f"crossover={self.crossover!r})")


class NSGAIIISampler(NSGAIISampler):
    """NSGA-III (Deb and Jain 2014): NSGA-II whose selection in the front that does not fit
    whole keeps the trials nearest to the least crowded of a set of reference directions
    (Das and Dennis's points on the simplex), which spreads the population better than
    crowding distance for three or more objectives.

    Args:
        reference_points: directions (n_points, n_objectives) in objective space; None means
            Das-Dennis points with ``dividing_parameter`` divisions.
        dividing_parameter: divisions of the simplex for the default reference points.
        **kwargs: as `NSGAIISampler` (seed, population_size, crossover, constraints_func, ...).
    """

    def __init__(self, *, reference_points: np.ndarray | None = None,
                 dividing_parameter: int = 3, **kwargs: Any) -> None:
        if dividing_parameter < 1:
            raise ValueError(f"dividing_parameter must be >= 1, got {dividing_parameter}")
        self.reference_points = (None if reference_points is None
                                 else np.atleast_2d(np.asarray(reference_points, dtype=float)))
        self.dividing_parameter = int(dividing_parameter)
        super().__init__(**kwargs)

    def _select(self, history: History, trials: Sequence[TrialRecord],
                generation: int) -> Population:
        """Constrained fronts, then reference-point niching with a generator fixed by the seed
        and the generation (so every worker selects the same trials)."""
        loss = history.loss(trials)
        ranks = evo.constrained_ranks(loss, self._violations(trials))
        refs = self.reference_points
        if refs is None:
            refs = evo.reference_points(loss.shape[1], self.dividing_parameter)
        elif refs.shape[1] != loss.shape[1]:
            raise ValueError(f"reference_points have {refs.shape[1]} objectives, the study "
                             f"{loss.shape[1]}")
        rng = np.random.default_rng([self.seed, generation])
        keep = evo.niche_select(ranks, loss, min(self.population_size, len(trials)), refs, rng)
        kept = tuple(trials[i] for i in keep)
        return Population(kept, ranks[keep], np.zeros(keep.size))

    def __repr__(self) -> str:
        return (f"NSGAIIISampler(seed={self.seed}, population_size={self.population_size}, "
                f"dividing_parameter={self.dividing_parameter})")
