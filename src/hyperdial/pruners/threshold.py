"""Rules that judge a trial by its own learning curve alone: bounds and patience (ours, and
Optuna's ``PatientPruner``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hyperdial._checks import check_int
from hyperdial.history import History
from hyperdial.pruners.base import Decision, Pruner
from hyperdial.pruners.median import is_check_step
from hyperdial.trial import TrialRecord


def _scalar(value: float | tuple[float, ...]) -> float:
    if isinstance(value, tuple):
        raise ValueError("this pruner needs single-number reports")
    return float(value)


class ThresholdPruner(Pruner):
    """Prunes a trial whose latest value leaves ``[lower, upper]`` or is NaN (Optuna's rule):
    a guard against divergence, or a floor of acceptable quality at each step.

    Checks happen at the first report in each interval of ``interval_steps`` after
    ``n_warmup_steps``, as for `MedianPruner`.

    >>> ThresholdPruner(upper=10.0, n_warmup_steps=2)
    ThresholdPruner(lower=None, upper=10.0, n_warmup_steps=2, interval_steps=1)
    """

    def __init__(self, *, lower: float | None = None, upper: float | None = None,
                 n_warmup_steps: int = 0, interval_steps: int = 1) -> None:
        if lower is None and upper is None:
            raise ValueError("give lower, upper or both")
        for name, bound in (("lower", lower), ("upper", upper)):
            if bound is not None and math.isnan(bound):
                raise ValueError(f"{name} must be a number, got nan (no value would ever cross it)")
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(f"lower ({lower}) must not exceed upper ({upper})")
        self.lower = None if lower is None else float(lower)
        self.upper = None if upper is None else float(upper)
        check_int("n_warmup_steps", n_warmup_steps, 0)
        check_int("interval_steps", interval_steps, 1)
        self.n_warmup_steps = n_warmup_steps
        self.interval_steps = interval_steps

    def __repr__(self) -> str:
        return (f"ThresholdPruner(lower={self.lower}, upper={self.upper}, "
                f"n_warmup_steps={self.n_warmup_steps}, interval_steps={self.interval_steps})")

    def decide(self, history: History, trial: TrialRecord) -> Decision:
        if not is_check_step(trial.intermediate_values.keys(), self.n_warmup_steps,
                             self.interval_steps, trial.last_step):
            return Decision.CONTINUE
        assert trial.last_step is not None
        value = _scalar(trial.intermediate_values[trial.last_step])
        out = (math.isnan(value) or (self.lower is not None and value < self.lower)
               or (self.upper is not None and value > self.upper))
        return Decision.PRUNE if out else Decision.CONTINUE

    def needs_history(self, trial: TrialRecord) -> bool:
        return False


def stalled(losses: np.ndarray, patience: int, min_delta: float) -> bool:
    """Whether the last ``patience + 1`` losses of a curve fail to beat the best loss before
    them by more than ``min_delta`` (False while the curve is not that long)."""
    if losses.size <= patience + 1:
        return False
    before, after = losses[:-patience - 1], losses[-patience - 1:]
    if np.isnan(after).all():
        return True  # diverged
    if np.isnan(before).all():
        return False
    return bool(np.nanmin(after) >= np.nanmin(before) - min_delta)


class PatiencePruner(Pruner):
    """Early stopping: a trial whose last ``patience + 1`` reports improve on its best earlier
    value by no more than ``min_delta`` has stalled. A stalled trial is pruned, or, with
    ``wrapped``, handed to that pruner to decide (patience then only gates it, as in Optuna's
    ``PatientPruner``). Curves are compared as losses (maximised values negated); unlike
    Optuna, a flat curve counts as stalled even with ``min_delta=0``.

    >>> PatiencePruner(patience=3, min_delta=0.01)
    PatiencePruner(None, patience=3, min_delta=0.01)
    """

    def __init__(self, wrapped: Pruner | None = None, *, patience: int,
                 min_delta: float = 0.0) -> None:
        self.wrapped = wrapped
        check_int("patience", patience, 0)
        self.patience = patience
        if not min_delta >= 0.0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.min_delta = float(min_delta)

    def __repr__(self) -> str:
        return (f"PatiencePruner({self.wrapped!r}, patience={self.patience}, "
                f"min_delta={self.min_delta})")

    def decide(self, history: History, trial: TrialRecord) -> Decision:
        return self.judge(history, trial)[0]

    def judge(self, history: History, trial: TrialRecord) -> tuple[Decision, dict[str, Any]]:
        curve = trial.intermediate_values
        losses = history.sign() * np.array([_scalar(curve[s]) for s in sorted(curve)],
                                           dtype=float)
        if not self.triggered(losses):
            return Decision.CONTINUE, {}
        return (Decision.PRUNE, {}) if self.wrapped is None else self.wrapped.judge(history,
                                                                                  trial)

    def needs_history(self, trial: TrialRecord) -> bool:
        """The curve itself says whether it stalled; a wrapped pruner may read the others."""
        return self.wrapped is not None and self.wrapped.needs_history(trial)

    def triggered(self, losses: np.ndarray) -> bool:
        """Whether the curve (as losses, in step order) has run out of patience."""
        return stalled(losses, self.patience, self.min_delta)

    def sampler_view(self, history: History, number: int) -> History:
        return history if self.wrapped is None else self.wrapped.sampler_view(history, number)



def got_worse(losses: np.ndarray, patience: int, min_delta: float) -> bool:
    """Optuna's patience rule: whether the best of the last ``patience + 1`` losses is worse
    than the best before them by more than ``min_delta`` (False while the curve is not that
    long, or while either part holds no number)."""
    if losses.size <= patience + 1:
        return False
    before, after = losses[:-patience - 1], losses[-patience - 1:]
    if np.isnan(before).all() or np.isnan(after).all():
        return False
    return bool(np.nanmin(after) > np.nanmin(before) + min_delta)


class PatientPruner(PatiencePruner):
    """Optuna's ``PatientPruner``, its signature and its rule: a trial whose last
    ``patience + 1`` reports are all worse than its best earlier one by more than
    ``min_delta`` is pruned, or handed to ``wrapped_pruner`` to decide. A curve that only
    levels off goes on; `PatiencePruner` stops one that fails to improve by ``min_delta``.

    >>> PatientPruner(None, patience=3)
    PatientPruner(None, patience=3, min_delta=0.0)
    """

    def __init__(self, wrapped_pruner: Pruner | None, patience: int,
                 min_delta: float = 0.0) -> None:
        super().__init__(wrapped_pruner, patience=patience, min_delta=min_delta)

    def __repr__(self) -> str:
        return (f"PatientPruner({self.wrapped!r}, patience={self.patience}, "
                f"min_delta={self.min_delta})")

    def triggered(self, losses: np.ndarray) -> bool:
        return got_worse(losses, self.patience, self.min_delta)
