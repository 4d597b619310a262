"""Stoppers end a whole study when going on is no longer worth it.

A stopper looks at the history only (`Stopper.should_stop`) and is used as an ``optimize``
callback: after each finished trial it calls ``study.stop()`` when it says so, and the study
starts no new trial (running ones finish)::

    study.optimize(objective, n_trials=500, callbacks=[NoImprovementStopper(patience=30)])

`NoImprovementStopper`, `TargetValueStopper` and `MaxTrialsStopper` (a study-wide trial
count, for several workers; `MaxTrialsCallback` is Optuna's spelling) are the plain rules.
`RegretBoundStopper` follows Makarova et al. (2022), "Automatic termination for
hyperparameter optimization": a Gaussian process fitted to the completed trials bounds how
far the best observed value can still be from the optimum, ``min_x UCB(x)`` over observed
points minus ``min_x LCB(x)`` over the space; once that bound falls below ``threshold``
(say, the noise of the validation score), further search is unlikely to matter.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Collection
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

from hyperdial._encode import decode, encode
from hyperdial.history import History
from hyperdial.pruners.threshold import stalled
from hyperdial.samplers import _gp_math as gpm
from hyperdial.space import Categorical
from hyperdial.trial import TrialRecord, TrialState

if TYPE_CHECKING:
    from hyperdial.study import Study


class Stopper(ABC):
    """Says from the history whether a study should start no more trials."""

    @abstractmethod
    def should_stop(self, history: History) -> bool:
        """True once the study should stop."""

    def __call__(self, study: Study, record: TrialRecord) -> None:
        """The ``optimize`` callback: stop ``study`` when `should_stop` says so."""
        if self.should_stop(study.history()):
            study.stop()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def _single(history: History) -> None:
    if history.n_objectives != 1:
        raise RuntimeError("stoppers judge single-objective studies only")


class NoImprovementStopper(Stopper):
    """Stops after ``patience`` finished trials in a row (by trial number; pruned, failed and
    infeasible ones count) that did not beat the best value before them by more than
    ``min_delta``. Values are judged as `Study.best_trial` judges them: feasible trials only
    (`Trial.set_constraint`, a sampler's ``constraints_func``)."""

    def __init__(self, patience: int, *, min_delta: float = 0.0) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}")
        if not min_delta >= 0.0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.patience = patience
        self.min_delta = float(min_delta)

    def should_stop(self, history: History) -> bool:
        _single(history)
        if not history.feasible:
            return False  # nothing to improve on yet
        feasible = {t.number for t in history.feasible}
        finished = [t for t in history.trials if t.state.is_finished()]
        losses = np.array([history.sign() * t.values[0]
                           if t.number in feasible and t.values else np.nan
                           for t in finished], dtype=float)  # a pruned trial's report is no result
        return stalled(losses, self.patience - 1, self.min_delta)


class MaxTrialsStopper(Stopper):
    """Stops once the study holds ``n_trials`` trials in ``states`` (default: finished ones),
    counted over every worker: ``optimize(n_trials=...)`` counts one process's trials only.
    Optuna's ``MaxTrialsCallback``."""

    def __init__(self, n_trials: int, *, states: Collection[TrialState] | None = (
            TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)) -> None:
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
            raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}")
        self.n_trials = n_trials
        self.states = None if states is None else frozenset(states)

    def should_stop(self, history: History) -> bool:
        counted = sum(1 for t in history.trials if self.states is None or t.state in self.states)
        return counted >= self.n_trials


class MaxTrialsCallback(MaxTrialsStopper):
    """Optuna's ``MaxTrialsCallback``, with its signature and default: only COMPLETE trials
    count unless ``states`` says otherwise (``hyperdial.study.MaxTrialsCallback`` too)."""

    def __init__(self, n_trials: int,
                 states: Collection[TrialState] | None = (TrialState.COMPLETE,)) -> None:
        super().__init__(n_trials, states=states)


class TargetValueStopper(Stopper):
    """Stops once a completed trial reaches ``target`` (at or below it when minimising, at or
    above it when maximising)."""

    def __init__(self, target: float) -> None:
        if isinstance(target, bool) or not isinstance(target, Real) or math.isnan(target):
            raise ValueError(f"target must be a number, got {target!r}")  # NaN never stops
        self.target: float = float(target)

    def should_stop(self, history: History) -> bool:
        _single(history)
        best = history.best()
        if best is None or best.value is None:
            return False
        return history.sign() * best.value <= history.sign() * self.target


def regret_bound(x: np.ndarray, y: np.ndarray, is_cat: np.ndarray, candidates: np.ndarray,
                 delta: float = 0.1) -> float:
    """Makarova et al.'s upper bound on the simple regret of the best of ``(x, y)`` (minimised
    ``y``; ``x`` in the unit cube): a MAP-fitted Matérn GP, ``beta`` from Srinivas et al.
    (2010) shrunk by 5 as in their experiments, the LCB minimised over ``x`` and
    ``candidates``. In the units of ``y``."""
    n, d = x.shape
    mu, sd = float(np.mean(y)), float(np.std(y)) or 1.0
    ys = (y - mu) / sd
    theta = gpm.fit_map(x, ys, is_cat, gpm.default_theta(d, None)[None, :])
    post = gpm.posterior(x, ys, gpm.Hyper.from_theta(theta, d, None), is_cat)
    beta = 2.0 * math.log(d * n * n * math.pi ** 2 / (6.0 * delta)) / 5.0
    mean, var = post.predict(np.vstack([x, candidates]))
    width = np.sqrt(beta * var)
    ucb_observed = np.min((mean + width)[:n])
    return sd * float(ucb_observed - np.min(mean - width))


class RegretBoundStopper(Stopper):
    """Stops once the GP bound on the remaining improvement falls below ``threshold``.

    The GP is fitted to the feasible completed trials (those `Study.best_trial` chooses from),
    so an infeasible value better than every feasible one does not make the bound small.

    Args:
        threshold: the improvement (in objective units) no longer worth a trial.
        min_trials: completed trials needed before the bound is computed.
        delta: confidence parameter of the bound.
        n_candidates: random points (seeded by ``seed``) where the LCB is minimised.
    """

    def __init__(self, threshold: float, *, min_trials: int = 20, delta: float = 0.1,
                 n_candidates: int = 512, seed: int = 0) -> None:
        if not threshold > 0.0:
            raise ValueError(f"threshold must be > 0, got {threshold!r}")
        if min_trials < 2:
            raise ValueError(f"min_trials must be >= 2, got {min_trials!r}")
        self.threshold = float(threshold)
        self.min_trials = int(min_trials)
        self.delta = float(delta)
        self.n_candidates = int(n_candidates)
        self.seed = int(seed)

    def bound(self, history: History) -> float | None:
        """The current regret bound (None before ``min_trials`` feasible completed trials)."""
        _single(history)
        trials = history.feasible
        space = (history.completed_space if len(trials) == len(history.completed)
                 else History(trials, history.directions).completed_space)
        if len(trials) < self.min_trials or not space:
            return None
        x = encode(space, [t.params for t in trials])
        y = history.loss(trials)[:, 0]
        is_cat = np.array([isinstance(d, Categorical) for d in space.values()])
        u = np.random.default_rng(self.seed).random((self.n_candidates, len(space)))
        candidates = encode(space, decode(space, u))  # snapped to categories and integers
        return regret_bound(x, y, is_cat, candidates, self.delta)

    def should_stop(self, history: History) -> bool:
        bound = self.bound(history)
        return bound is not None and bound < self.threshold
