"""CMA-ES: the state around the kernels of `_cma_math`, rebuilt from the history.

CMA-ES is stateful, a sampler must not be: the state is a function of the history. Completed
trials that hold the joint space (the numeric parameters, and the categorical ones that CatCMA
models beside them) are taken in trial-number order, ``lambda`` at a time, as the generations
of the run; each full generation updates the distribution (and may end a run, when restarts
are on), and a proposal samples the current one. Running trials do not
count until they finish, so parallel workers draw more samples from the same generation.
The replayed states are cached, so a proposal replays only the generations that are new.
"""

from __future__ import annotations

import math
import operator
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperdial._encode import decode, encode, encode_column, n_values
from hyperdial.history import History
from hyperdial.samplers import _cma_math as cm
from hyperdial.samplers import _evolution as evo
from hyperdial.samplers._optuna_args import accepted
from hyperdial.samplers.base import Sampler, constraint_values
from hyperdial.samplers.random import RandomSampler
from hyperdial.space import Categorical, Distribution, Int, SearchSpace
from hyperdial.trial import TrialRecord, TrialState

#: Discrete parameters with more values than this are searched as continuous ones.
MAX_BINS = 4096
#: A run ends (with restarts on) once every coordinate's step is below this share of its range:
#: far finer than any hyperparameter needs, far coarser than the 1e-12 of numerical CMA-ES.
TOLX = 1e-8
#: Joint spaces whose replays are cached (a define-by-run space changes rarely).
_SPACES = 4
#: Checkpoints (replayed generations) kept per space besides the first: a trial that finishes
#: after more generations than this were built on later ones makes the run replay from scratch.
_CHECKPOINTS = 64


def bin_edges(d: Distribution) -> np.ndarray | None:
    """Interior edges of the unit-cube bins of a discrete parameter (None: continuous)."""
    n = n_values(d)
    if n is None or n > MAX_BINS or isinstance(d, Categorical):
        return None
    if isinstance(d, Int) and d.log:
        lo, hi = math.log(d.low - 0.5), math.log(d.high + 0.5)
        edges: np.ndarray = (np.log(np.arange(d.low, d.high) + 0.5) - lo) / (hi - lo)
    else:  # an int or a stepped float: n equal bins
        edges = np.arange(1, n) / n
    return edges


@dataclass(frozen=True)
class _Run:
    """The distribution after some generations, and the restart bookkeeping."""

    state: cm.State
    restarts: cm.Restarts


class _Replay:
    """Generations replayed for one joint space: the completed trials they used, in order,
    and checkpoints ``(trials used, run)`` after each generation (the first is the start)."""

    def __init__(self, start: _Run, grid: cm.Grid) -> None:
        self.grid = grid
        self.used: list[TrialRecord] = []
        self.checkpoints: list[tuple[int, _Run]] = [(0, start)]

    def rewind(self, trials: Sequence[TrialRecord]) -> None:
        """Drop the generations that the completed ``trials`` (by number) no longer begin with:
        a trial that finished late, or another history altogether."""
        k = len(self.used)
        if len(trials) < k or not all(map(operator.is_, self.used, trials)):
            k = 0
            for mine, theirs in zip(self.used, trials, strict=False):
                if mine is not theirs and mine != theirs:
                    break
                k += 1
        while self.checkpoints[-1][0] > k:
            self.checkpoints.pop()
        del self.used[self.checkpoints[-1][0]:]


class CmaEsSampler(Sampler):
    """CMA-ES (Hansen's evolution strategy with covariance matrix adaptation) over the numeric
    parameters, with a categorical distribution per categorical parameter beside the Gaussian
    (CatCMA, Hamano et al. 2024); parameters outside the joint space go to
    ``independent_sampler``.

    Integers and stepped floats use the margin of Hamano et al. (2022); ``separable=True`` is
    sep-CMA (diagonal covariance) for many dimensions; ``source_trials`` warm-starts the search
    from another study (WS-CMA-ES); restarts grow the population (IPOP) or alternate large and
    small ones (BIPOP). Search happens in the unit cube of `hyperdial._encode`, so ``log=True``
    parameters are searched on a log scale. See ``docs/cmaes.md``.

    Args:
        seed: seed of the per-trial generators (and of the restarts' random starts).
        x0: initial mean as parameter values (the centre of the space for missing names).
        sigma0: initial step size in the unit cube (default 1/6, Optuna's).
        n_startup_trials: completed trials proposed by ``independent_sampler`` first.
        independent_sampler: proposes what CMA-ES does not model (default `RandomSampler`).
        restart_strategy: None, ``"ipop"`` or ``"bipop"``.
        popsize: population size lambda (default ``4 + floor(3 ln d)``, ``d`` counting the
            numeric and the modelled categorical parameters).
        inc_popsize: factor by which IPOP / BIPOP grow the large population.
        separable: diagonal covariance with faster learning rates (sep-CMA).
        with_margin: keep discrete parameters from freezing (CMA-ES with margin).
        with_categorical: model categorical parameters (CatCMA) when the joint space has a
            numeric one; False sends them to ``independent_sampler``.
        source_trials: finished trials of a similar study to warm-start from; not with ``x0`` or
            ``sigma0``.
        warn_independent_sampling, consider_pruned_trials: Optuna's arguments, accepted;
            ``consider_pruned_trials=False`` is what this sampler does (completed trials
            only), True and ``warn_independent_sampling`` are ignored with a FutureWarning.
    """

    def __init__(self, *, seed: int | None = None, x0: Mapping[str, Any] | None = None,
                 sigma0: float | None = None, n_startup_trials: int = 1,
                 independent_sampler: Sampler | None = None,
                 restart_strategy: str | None = None, popsize: int | None = None,
                 inc_popsize: float = 2.0, separable: bool = False, with_margin: bool = True,
                 with_categorical: bool = True,
                 source_trials: Sequence[TrialRecord] | None = None,
                 warn_independent_sampling: bool | None = None,
                 consider_pruned_trials: bool = False) -> None:
        accepted("CmaEsSampler", "warn_independent_sampling", warn_independent_sampling,
                 "ignored; hyperdial does not warn when a parameter goes to "
                 "independent_sampler")
        if consider_pruned_trials:  # False is what hyperdial does: completed trials only
            accepted("CmaEsSampler", "consider_pruned_trials", consider_pruned_trials,
                     "ignored; CMA-ES learns from completed trials only")
        if restart_strategy not in (None, "ipop", "bipop"):
            raise ValueError(f"restart_strategy must be None, 'ipop' or 'bipop', "
                             f"got {restart_strategy!r}")
        if sigma0 is not None and not sigma0 > 0:
            raise ValueError(f"sigma0 must be > 0, got {sigma0}")
        if popsize is not None and popsize < 2:
            raise ValueError(f"popsize must be >= 2, got {popsize}")
        if not inc_popsize > 1:
            raise ValueError(f"inc_popsize must be > 1, got {inc_popsize}")
        if n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be >= 0, got {n_startup_trials}")
        if source_trials is not None and (x0 is not None or sigma0 is not None):
            raise ValueError("source_trials cannot be combined with x0 or sigma0")
        self.x0 = dict(x0) if x0 is not None else None
        self.sigma0 = float(sigma0) if sigma0 is not None else None
        self.n_startup_trials = int(n_startup_trials)
        self.restart_strategy = restart_strategy
        self.popsize = int(popsize) if popsize is not None else None
        self.inc_popsize = float(inc_popsize)
        self.separable = bool(separable)
        self.with_margin = bool(with_margin)
        self.with_categorical = bool(with_categorical)
        self.source_trials = tuple(source_trials) if source_trials is not None else None
        several = next((t for t in self.source_trials or () if t.state is TrialState.COMPLETE
                        and t.values is not None and len(t.values) != 1), None)
        if several is not None:  # (the warm start fits one loss per trial)
            raise ValueError(f"source_trials must come from a study of one objective: trial "
                             f"{several.number} has {len(several.values or ())} values")
        super().__init__(seed=seed)
        self.independent_sampler = (independent_sampler if independent_sampler is not None
                                    else RandomSampler(seed=self.seed))

    _caches = ("_lock", "_replays")

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._fresh_caches()  # restarts draw from the seed

    def _fresh_caches(self) -> None:
        self._lock = threading.Lock()
        self._replays: dict[tuple[tuple[tuple[str, Distribution], ...], float], _Replay] = {}

    # -- the sampler contract ---------------------------------------------------------------
    def infer_space(self, history: History) -> SearchSpace:
        _single_objective(history)
        if len(history.completed) < max(self.n_startup_trials, 1):
            return SearchSpace()
        space = history.completed_space
        numeric = {n: d for n, d in space.items() if not isinstance(d, Categorical)}
        if not numeric or not self.with_categorical:
            return SearchSpace(numeric)
        return SearchSpace({n: d for n, d in space.items()
                            if not isinstance(d, Categorical) or len(d.choices) > 1})

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        _single_objective(history)
        if not space:
            return {}
        joint = self.infer_space(history)
        names = [n for n, d in space.items() if joint.get(n) == d]
        out: dict[str, Any] = {}
        if names:
            run = self._current(history, joint)
            numeric, cats = _split(joint)
            u = cm.sample(run.state, rng)
            index = {n: j for j, n in enumerate(numeric)}
            wanted = SearchSpace({n: numeric[n] for n in names if n in numeric})
            if wanted:
                out.update(decode(wanted, u[:, [index[n] for n in wanted]])[0])
            if run.state.cat is not None:
                picked = cm.sample_categories(run.state.cat, rng)[0]
                for (name, d), i in zip(cats.items(), picked, strict=True):
                    if name in names:
                        out[name] = d.choices[int(i)]
        rest = SearchSpace({n: d for n, d in space.items() if n not in out})
        if rest:
            out.update(self.independent_sampler.propose(history, rest, rng))
        return space.restrict(out) if space.is_conditional else out

    # -- replay -----------------------------------------------------------------------------
    def _current(self, history: History, joint: SearchSpace) -> _Run:
        """The distribution after every full generation of ``history``'s completed trials."""
        trials = sorted(history.completed, key=operator.attrgetter("number"))
        # The state's columns follow the joint space's order, which a SearchSpace's equality
        # ignores (another study may list the same parameters in another order); the sign
        # orients the warm start's losses.
        cache_key = (tuple(joint.items()), history.sign())
        with self._lock:
            replay = self._replays.get(cache_key)
            if replay is None:
                replay = _Replay(self._start(history, joint), self._grid(joint))
                self._replays[cache_key] = replay
                if len(self._replays) > _SPACES:
                    del self._replays[next(iter(self._replays))]
            replay.rewind(trials)
            used, run = replay.checkpoints[-1]
            numeric, cats = _split(joint)
            while len(trials) - used >= run.state.strategy.popsize:
                batch = trials[used:used + run.state.strategy.popsize]
                x = encode(numeric, [t.params for t in batch])
                picked = np.array([[d.index(t.params[n]) for n, d in cats.items()]
                                   for t in batch], dtype=int).reshape(len(batch), len(cats))
                losses = evo.feasible_first(history.loss(batch)[:, 0], evo.violations(
                    constraint_values(None, batch)))  # trial.set_constraint: Deb's rule
                run = self._step(run, x, picked, losses, replay.grid)
                replay.used.extend(batch)
                used += len(batch)
                replay.checkpoints.append((used, run))
                if len(replay.checkpoints) > _CHECKPOINTS + 1:
                    del replay.checkpoints[1]
            return run

    def _step(self, run: _Run, x: np.ndarray, picked: np.ndarray, losses: np.ndarray,
              grid: cm.Grid) -> _Run:
        """One generation's update, and a restart when the run has converged."""
        state = cm.update(run.state, x, losses, grid, picked if picked.shape[1] else None)
        if self.restart_strategy is None or not cm.should_stop(state, tolx=TOLX):
            return _Run(state, run.restarts)
        r = run.restarts
        rng = np.random.default_rng([self.seed, r.runs, 0xC3A])
        spent = state.generation * state.strategy.popsize
        r, popsize, sigma = cm.restart(r, spent, self.restart_strategy, rng, self.inc_popsize)
        counts = state.cat.counts.tolist() if state.cat is not None else ()
        fresh = cm.initial_state(rng.random(state.strategy.dim), sigma, popsize=popsize,
                                 separable=self.separable, counts=counts)
        return _Run(fresh, r)

    def _start(self, history: History, joint: SearchSpace) -> _Run:
        """The first run: warm-started from ``source_trials``, else at ``x0`` (the centre);
        categorical parameters start uniform."""
        joint, cats = _split(joint)
        dim = len(joint)
        mean, sigma, cov = np.full(dim, 0.5), self.sigma0 or 1 / 6, None
        if self.x0 is not None:
            unknown = sorted(set(self.x0) - set(joint))
            if unknown:  # a typo, or a categorical (which starts uniform) or later parameter
                warnings.warn(f"x0 names {unknown}, which are not among the numerical "
                              f"parameters CMA-ES searches ({sorted(joint)}): ignored",
                              UserWarning, stacklevel=2)
            for j, (name, d) in enumerate(joint.items()):
                if name in self.x0:
                    if not d.contains(self.x0[name]):
                        raise ValueError(f"x0[{name!r}] = {self.x0[name]!r} is outside {d}")
                    mean[j] = encode_column(d, [self.x0[name]])[0]
        if self.source_trials is not None:
            usable = [t for t in self.source_trials
                      if t.state is TrialState.COMPLETE and t.values is not None
                      and all(t.distributions.get(n) == d for n, d in joint.items())]
            if usable:
                losses = history.loss(usable)[:, 0]
                keep = np.isfinite(losses)
                if keep.any():
                    x = encode(joint, [t.params for t, k in zip(usable, keep, strict=True) if k])
                    mean, sigma, cov = cm.warm_start(x, losses[keep])
        counts = [len(d.choices) for d in cats.values()]
        state = cm.initial_state(mean, sigma, cov, self.popsize, self.separable, counts)
        return _Run(state, cm.Restarts(state.strategy.popsize, sigma))

    def _grid(self, joint: SearchSpace) -> cm.Grid:
        numeric = _split(joint)[0]
        edges: dict[int, np.ndarray] = {}
        if self.with_margin:
            for j, d in enumerate(numeric.values()):
                e = bin_edges(d)
                if e is not None:
                    edges[j] = e
        return cm.grid(len(numeric), edges)

    def __repr__(self) -> str:
        return (f"CmaEsSampler(seed={self.seed}, restart_strategy={self.restart_strategy!r}, "
                f"separable={self.separable})")


def _split(joint: SearchSpace) -> tuple[SearchSpace, dict[str, Categorical]]:
    """The numeric parameters of a joint space (the Gaussian's, in order) and its categorical
    ones (the categorical distributions', in order)."""
    cats = {n: d for n, d in joint.items() if isinstance(d, Categorical)}
    return SearchSpace({n: d for n, d in joint.items() if n not in cats}), cats


def _single_objective(history: History) -> None:
    if history.n_objectives != 1:
        raise ValueError("CmaEsSampler optimises one objective; this study has "
                         f"{history.n_objectives} (use TPESampler or GPSampler)")
