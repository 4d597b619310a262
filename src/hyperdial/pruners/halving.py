"""Successive halving (SHA) and its asynchronous form (ASHA), for one or several objectives.

Rungs are read from the trials' intermediate values, never kept in the pruner: rung ``k`` sits
at resource ``r_k = min_resource * reduction_factor ** (min_early_stopping_rate + k)`` and a
trial's value there is the one it reported at its first step ``>= r_k``. Steps are the resource
used so far (epochs done, trees grown), as in Optuna.

* **Asynchronous** (the default; Optuna's ``SuccessiveHalvingPruner``, Li et al. 2020): when a
  report takes a trial into rung ``k``, it goes on if it is in the top ``1 / reduction_factor``
  of every trial that has reached rung ``k`` so far (itself included; while fewer than
  ``reduction_factor`` have, only the best goes on), else it is pruned. Nobody waits. A NaN
  report at a rung is pruned. This is the early-stopping form of ASHA: the paper's form pauses
  a trial at each rung and resumes it later if it enters the top ``1 / reduction_factor`` once
  the rung has grown, which a pruner cannot do (a pruned trial does not come back).
* **Synchronous** (Jamieson & Talwalkar 2016): trials form cohorts of ``cohort_size`` in the
  order they were created; rung ``k`` of a cohort is decided once every cohort member promoted
  from rung ``k - 1`` has reported there (or finished without doing so), and then keeps the
  top ``max(1, n_k // reduction_factor)`` of its ``n_k`` entries. ``decide`` cannot pause a
  trial, so "waiting" means: a trial whose rung is not decided yet goes on running, and is
  pruned at its next report after the verdict goes against it. Survivors are then exactly those
  of textbook synchronous halving, whatever the order in which workers finish, as long as no
  trial ends its training before its cohort's rungs are decided; one that does (its cohort
  started late, or with fewer workers than members) completes, since nothing can stop it.

With several objectives, reports are vectors and "top" is by non-dominated rank: a trial goes
on while fewer than the promotion quota of its rung's entries lie on strictly better Pareto
fronts. With one objective this is the plain order (ties go on together).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hyperdial._checks import check_int
from hyperdial._pareto import front_ranks
from hyperdial.history import History
from hyperdial.pruners.base import Decision, Pruner
from hyperdial.trial import TrialRecord, TrialState

Resource = int | str  # an int, or "auto"


# -- kernels -------------------------------------------------------------------------------------
def rung_resources(min_resource: int, reduction_factor: int, min_early_stopping_rate: int,
                   max_step: int, max_resource: int | None = None) -> np.ndarray:
    """Resources of the promotion rungs up to ``max_step`` (and below ``max_resource``)."""
    out: list[int] = []
    k = min_early_stopping_rate
    while True:
        r = min_resource * reduction_factor ** k
        if r > max_step or (max_resource is not None and r >= max_resource):
            return np.array(out, dtype=np.int64)
        out.append(r)
        k += 1


def halving_cost(min_resource: int, reduction_factor: int, max_resource: int,
                 min_early_stopping_rate: int = 0) -> float:
    """Resource one configuration uses on average under halving, as a fraction of
    ``max_resource``, if exactly the top ``1 / reduction_factor`` of each rung goes on (the
    asynchronous rule keeps a little more: early arrivals and ties go on).

    >>> round(halving_cost(1, 3, 27), 3), round(halving_cost(3, 3, 27), 3)
    (0.111, 0.259)
    """
    check_int("min_resource", min_resource, 1)
    check_int("reduction_factor", reduction_factor, 2)
    check_int("max_resource", max_resource, 1)
    check_int("min_early_stopping_rate", min_early_stopping_rate, 0)
    levels = [*rung_resources(min_resource, reduction_factor, min_early_stopping_rate,
                              max_resource, max_resource).tolist(), max_resource]
    cost = levels[0] + sum((levels[k] - levels[k - 1]) / reduction_factor ** k
                           for k in range(1, len(levels)))
    return float(cost / max_resource)


def min_resource_for_budget(max_resource: int, reduction_factor: int, budget: float) -> int:
    """The grace period rule: the largest first rung ``max_resource // reduction_factor ** k``
    (``k >= 1``, so that each rung is ``reduction_factor`` times the one before, as in a
    Hyperband bracket) whose `halving_cost` is at most ``budget``, a fraction of full training
    per configuration; the smallest such rung (at least 1) when none is cheap enough.

    Early rungs rank configurations worst, so spend what you can afford on a later first rung
    rather than on pruning at step 1.

    >>> min_resource_for_budget(27, 3, 1 / 3), min_resource_for_budget(27, 3, 0.2)
    (3, 1)
    """
    check_int("max_resource", max_resource, 1)
    check_int("reduction_factor", reduction_factor, 2)
    if not 0.0 < budget <= 1.0:
        raise ValueError(f"budget must be in (0, 1], got {budget}")
    candidates: list[int] = []
    k = 1
    while not candidates or candidates[-1] > 1:
        candidates.append(max(max_resource // reduction_factor ** k, 1))
        k += 1
    fits = [r for r in candidates if halving_cost(r, reduction_factor, max_resource) <= budget]
    return max(fits) if fits else candidates[-1]


def pareto_fronts(loss: np.ndarray) -> np.ndarray:
    """Front index of each row of a minimisation ``loss`` (n, m), 0 for the non-dominated
    ones; NaN counts as +inf, and one objective is ranked by value directly."""
    loss = np.where(np.isnan(loss), np.inf, np.asarray(loss, dtype=float))
    if loss.shape[1] == 1:
        return np.unique(loss[:, 0], return_inverse=True)[1].reshape(-1)
    return front_ranks(loss)


def is_promoted(loss: np.ndarray, i: int, quota: int) -> bool:
    """Whether row ``i`` of a rung's losses (n, m) is among its ``quota`` best: fewer than
    ``quota`` rows lie on strictly better fronts."""
    fronts = pareto_fronts(loss)
    return int(np.sum(fronts < fronts[i])) < max(quota, 1)


def rung_value(curve: Mapping[int, float | tuple[float, ...]], resource: int,
               ) -> float | tuple[float, ...] | None:
    """The value a curve (step -> value) holds at a rung: its first report at ``resource`` or
    later, or None when it has not got there."""
    steps = [s for s in curve if s >= resource]
    return curve[min(steps)] if steps else None


def _loss_rows(history: History, values: Sequence[float | tuple[float, ...]]) -> np.ndarray:
    """Reported values (numbers or vectors) as minimisation rows, shape (n, m)."""
    m = history.n_objectives
    if any(len(np.atleast_1d(v)) != m for v in values):
        raise ValueError(f"every report at a rung needs {m} value(s), one per objective")
    rows = np.array([np.atleast_1d(v) for v in values], dtype=float).reshape(len(values), m)
    signs = np.array([history.sign(j) for j in range(m)])
    out: np.ndarray = rows * signs
    return out


def auto_min_resource(history: History) -> int | None:
    """Optuna's "auto" rule: 1 % of the last step of the first completed trial (at least 1);
    None until a trial has completed with reports."""
    for t in history.completed:
        if t.last_step is not None:
            return max(t.last_step // 100, 1)
    return None


class SuccessiveHalvingPruner(Pruner):
    """Successive halving: keep the best ``1 / reduction_factor`` at each rung (ASHA by default).

    Args:
        min_resource: resource of the first rung (the grace period), or "auto" (1 % of the
            steps of the first completed trial; no pruning before one completes). A later
            first rung prunes on better-ranked curves at a higher cost; `min_resource_for_budget`
            picks the latest one a compute budget allows.
        reduction_factor: promote the top ``1 / reduction_factor`` of each rung.
        min_early_stopping_rate: skip the first rungs (the first sits at
            ``min_resource * reduction_factor ** min_early_stopping_rate``).
        max_resource: no rung at or past this resource (None: rungs go on forever).
        synchronous: judge each rung of a cohort only once it is full (see the module notes).
        cohort_size: trials per synchronous cohort; by default ``reduction_factor`` to the
            number of rungs below ``max_resource`` (which must then be an int).

    >>> SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=0)
    """

    def __init__(self, min_resource: Resource = "auto", reduction_factor: int = 4,
                 min_early_stopping_rate: int = 0, *, max_resource: int | None = None,
                 synchronous: bool = False, cohort_size: int | None = None) -> None:
        if min_resource != "auto":
            check_int("min_resource", min_resource, 1)
        check_int("reduction_factor", reduction_factor, 2)
        check_int("min_early_stopping_rate", min_early_stopping_rate, 0)
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self.min_early_stopping_rate = min_early_stopping_rate
        if max_resource is not None:
            check_int("max_resource", max_resource, 1)
        self.max_resource = max_resource
        self.synchronous = bool(synchronous)
        if cohort_size is not None:
            check_int("cohort_size", cohort_size, 1)
        elif synchronous:
            if not isinstance(min_resource, int) or max_resource is None:
                raise ValueError("synchronous halving needs cohort_size, or an int min_resource "
                                 "and a max_resource to derive it from")
            n_rungs = rung_resources(min_resource, reduction_factor, min_early_stopping_rate,
                                     max_resource, max_resource).size
            cohort_size = reduction_factor ** n_rungs
        self.cohort_size = cohort_size

    def __repr__(self) -> str:
        extra = f", max_resource={self.max_resource}" if self.max_resource is not None else ""
        if self.synchronous:
            extra += f", synchronous=True, cohort_size={self.cohort_size}"
        return (f"SuccessiveHalvingPruner(min_resource={self.min_resource!r}, "
                f"reduction_factor={self.reduction_factor}, "
                f"min_early_stopping_rate={self.min_early_stopping_rate}{extra})")

    def rungs(self, history: History, max_step: int) -> np.ndarray | None:
        """Promotion rungs up to ``max_step`` (None while "auto" cannot be resolved yet)."""
        min_resource = (auto_min_resource(history) if self.min_resource == "auto"
                        else int(self.min_resource))
        if min_resource is None:
            return None
        return rung_resources(min_resource, self.reduction_factor, self.min_early_stopping_rate,
                              max_step, self.max_resource)

    def decide(self, history: History, trial: TrialRecord) -> Decision:
        last = trial.last_step
        if last is None:
            return Decision.CONTINUE
        rungs = self.rungs(history, last)
        if rungs is None or rungs.size == 0:
            return Decision.CONTINUE
        others = [t for t in history.trials if t.number != trial.number]
        if self.synchronous:
            return self._decide_synchronous(history, others, trial, rungs)
        r = int(rungs[-1])
        if min(s for s in trial.intermediate_values if s >= r) != last:
            return Decision.CONTINUE  # rung already judged at an earlier report
        values = [v for t in others if t.state is not TrialState.WAITING
                  and (v := rung_value(t.intermediate_values, r)) is not None]
        values.append(trial.intermediate_values[last])
        if np.isnan(np.asarray(values[-1], dtype=float)).any():
            return Decision.PRUNE  # a diverged trial never goes on (Optuna's rule too)
        promoted = is_promoted(_loss_rows(history, values), len(values) - 1,
                               len(values) // self.reduction_factor)
        return Decision.CONTINUE if promoted else Decision.PRUNE

    def _decide_synchronous(self, history: History, others: list[TrialRecord],
                            trial: TrialRecord, rungs: np.ndarray) -> Decision:
        assert self.cohort_size is not None
        members = sorted([*others, trial], key=lambda t: t.number)
        position = next(i for i, t in enumerate(members) if t.number == trial.number)
        start = position // self.cohort_size * self.cohort_size
        cohort = members[start:start + self.cohort_size]
        if len(cohort) < self.cohort_size:
            return Decision.CONTINUE  # the cohort is not all created yet
        alive = cohort
        for r in rungs:
            entries = [(t, rung_value(t.intermediate_values, int(r))) for t in alive]
            if any(v is None and not t.state.is_finished() for t, v in entries):
                return Decision.CONTINUE  # rung not full yet: wait (by running on)
            reached = [(t, v) for t, v in entries if v is not None]
            loss = _loss_rows(history, [v for _, v in reached])
            quota = len(reached) // self.reduction_factor
            alive = [t for i, (t, _) in enumerate(reached) if is_promoted(loss, i, quota)]
            if all(t.number != trial.number for t in alive):
                return Decision.PRUNE
        return Decision.CONTINUE

