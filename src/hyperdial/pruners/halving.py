"""Successive halving (SHA) and its asynchronous form (ASHA), for one or several objectives.

Rungs are read from the trials' intermediate values (the pruner keeps only finished trials'
sorted steps, to read them fast): rung ``k`` sits at resource
``r_k = min_resource * reduction_factor ** (min_early_stopping_rate + k)`` and a
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

**Ranking by extrapolated curves** (``rank_by="extrapolation"``): a rung compares where each
curve is heading rather than where it stands. Every entry's reports up to its rung value are
fitted with a power law ``a + b * t ** -alpha`` (least squares; ``b >= 0``, so the fit never
gets worse with more resource; the asymptote ``a`` no better than ``best_possible``, the best
value the objective can take; ``alpha`` from a grid), and judged by its value at
``max_resource``. The family is the "pow3" curve that Domhan et al. (2015) found among the most
reliable single models of learning curves. It keeps slow starters that are still improving
fast, which the reported value at an early rung cuts: on the learning-curve benchmark, halving
over the same 100 configurations reached full-budget random search's best in 36 of 40 held-out
sets instead of 30, at the same compute (``docs/pruners.md``).
"""

from __future__ import annotations

import operator
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from functools import lru_cache, partial
from typing import Any, TypeVar, cast

import numpy as np

from hyperdial._checks import check_int
from hyperdial._pareto import front_ranks
from hyperdial.history import History
from hyperdial.pruners.base import Decision, Pruner
from hyperdial.trial import TrialRecord, TrialState

Resource = int | str  # an int, or "auto"


# -- kernels -------------------------------------------------------------------------------------
def rung_resources(min_resource: int, reduction_factor: int, min_early_stopping_rate: int,
                   max_step: int, max_resource: int | None = None) -> tuple[int, ...]:
    """Resources of the promotion rungs up to ``max_step`` (and below ``max_resource``)."""
    ladder = _ladder(operator.index(min_resource), operator.index(reduction_factor),
                     operator.index(min_early_stopping_rate),
                     None if max_resource is None else operator.index(max_resource))
    return ladder[:bisect_right(ladder, max_step)]


@lru_cache(maxsize=256)
def _ladder(min_resource: int, reduction_factor: int, min_early_stopping_rate: int,
            max_resource: int | None) -> tuple[int, ...]:
    """Every rung below ``max_resource`` (below 2**63 without one: some 60 at most): made once
    per pruner setting, so that a report looks its rungs up rather than building them."""
    check_int("min_resource", min_resource, 1)
    check_int("reduction_factor", reduction_factor, 2)
    top = 2**63 if max_resource is None else max_resource
    out: list[int] = []
    r = min_resource * reduction_factor ** min_early_stopping_rate
    while r < top:
        out.append(r)
        r *= reduction_factor
    return tuple(out)


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
                              max_resource, max_resource), max_resource]
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


#: Exponents ``alpha`` of the power laws `extrapolate_curves` chooses from.
CURVE_EXPONENTS = np.geomspace(0.1, 5.0, 60)


def extrapolate_curves(steps: np.ndarray, losses: np.ndarray, at: float, floor: float,
                       exponents: np.ndarray = CURVE_EXPONENTS) -> np.ndarray:
    """Each row of ``losses`` (m, n), reported at ``steps`` (n,), extrapolated to step ``at``.

    Per row and exponent, the least-squares ``a + b * t ** -alpha`` with ``b >= 0`` and
    ``a >= floor`` (the best of three candidates: the free fit where feasible, ``a`` pinned at
    ``floor``, ``b = 0``); the exponent with the smallest squared error wins. Steps below 1
    are shifted (with ``at``) so that the first is 1. Sums only: O(k (n + m)) memory.

    >>> t = np.arange(1.0, 10.0)
    >>> round(float(extrapolate_curves(t, [0.1 + 0.5 / t], 27.0, 0.0)[0]), 3)  # 0.1 + 0.5 / 27
    0.121
    """
    steps = np.asarray(steps, dtype=float)
    y = np.atleast_2d(np.asarray(losses, dtype=float))
    shift = max(0.0, 1.0 - float(steps.min()))
    x = (steps + shift)[None, :] ** -exponents[:, None]  # (k, n)
    n = steps.size
    sx, sxx = x.sum(axis=1)[:, None], (x * x).sum(axis=1)[:, None]  # (k, 1)
    sy, syy = y.sum(axis=1)[None, :], (y * y).sum(axis=1)[None, :]  # (1, m)
    sxy = x @ y.T  # (k, m)

    def sse(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        out: np.ndarray = syy - 2 * a * sy - 2 * b * sxy + n * a * a + 2 * a * b * sx \
            + b * b * sxx
        return out

    var_x = sxx - sx * sx / n
    b_free = (sxy - sx * sy / n) / np.where(var_x > 0, var_x, np.inf)
    a_free = (sy - b_free * sx) / n
    b_pinned = np.maximum((sxy - floor * sx) / sxx, 0.0)
    a_flat = np.maximum(sy / n, floor)
    feasible = (a_free >= floor) & (b_free >= 0)
    errors = np.stack([sse(floor, b_pinned), sse(a_flat, 0.0),
                       np.where(feasible, sse(a_free, b_free), np.inf)])  # (3, k, m)
    rows = np.arange(y.shape[0])
    best = np.argmin(errors.min(axis=0), axis=0)  # (m,): the exponent of the smallest error
    pick = np.argmin(errors[:, best, rows], axis=0)  # (m,): its candidate
    a = np.choose(pick, [np.full(rows.size, floor), np.broadcast_to(a_flat[0], rows.shape),
                         a_free[best, rows]])
    b = np.choose(pick, [b_pinned[best, rows], np.zeros(rows.size), b_free[best, rows]])
    out: np.ndarray = a + b * (at + shift) ** -exponents[best]
    return out


def pareto_fronts(loss: np.ndarray) -> np.ndarray:
    """Front index of each row of a minimisation ``loss`` (n, m), 0 for the non-dominated
    ones; NaN counts as +inf, and one objective is ranked by value directly."""
    loss = np.where(np.isnan(loss), np.inf, np.asarray(loss, dtype=float))
    if loss.shape[1] == 1:
        return np.unique(loss[:, 0], return_inverse=True)[1].reshape(-1)
    return front_ranks(loss)


def is_promoted(loss: np.ndarray, i: int, quota: int) -> bool:
    """Whether row ``i`` of a rung's losses (n, m) is among its ``quota`` best: fewer than
    ``quota`` rows lie on strictly better fronts (with one objective: lower values)."""
    if loss.shape[1] == 1:
        values = np.where(np.isnan(loss[:, 0]), np.inf, loss[:, 0])
        return int(np.count_nonzero(values < values[i])) < max(quota, 1)
    fronts = pareto_fronts(loss)
    return int(np.sum(fronts < fronts[i])) < max(quota, 1)


def rung_step(steps: Sequence[int], resource: int) -> int | None:
    """The step at which a curve reported at ``steps`` (ascending) holds its value at the rung
    at ``resource``: its first step at or past it; None when it has not got there."""
    i = bisect_left(steps, resource)
    return steps[i] if i < len(steps) else None


def _judged_rungs(curve: Mapping[int, object], last: int,
                  rungs: tuple[int, ...]) -> tuple[int, ...]:
    """The ``rungs`` (all at or below ``last``) that a report at ``last`` reaches first: those
    above the curve's previous step, all without one. The previous step is probed downwards
    from ``last`` when that is shorter than scanning the curve (one probe for a report at
    every step), so this costs O(1) there, never more than O(len(curve)). A report below the
    curve's last step (steps out of order) reaches none: its rungs were judged when ``last``
    was reported, and a promotion stands (as in Optuna, which records the rungs passed)."""
    if _latest_step(curve, last) != last:
        return ()
    if last - 1 in curve:  # the usual case, a report at every step: only a rung at ``last``
        return rungs[-1:] if rungs[-1] == last else ()
    low = rungs[0]
    if last - low < len(curve):
        prev = next((s for s in range(last - 1, low - 1, -1) if s in curve), None)
    else:
        prev = max((s for s in curve if s < last), default=None)
    return rungs if prev is None else rungs[bisect_right(rungs, prev):]


def _latest_step(curve: Mapping[int, object], last: int) -> int:
    """The step reported most recently: a curve keeps its report order (a trial's dict, and
    a record read from the event log); ``last`` for a mapping without an order."""
    try:
        return cast(int, next(reversed(curve)))
    except TypeError:
        return last


def _loss_rows(history: History, values: Sequence[float | tuple[float, ...]]) -> np.ndarray:
    """Reported values (numbers or vectors) as minimisation rows, shape (n, m)."""
    m = history.n_objectives
    try:  # one array call when every value has the same shape (the rule, and fast)
        rows = np.array(values, dtype=float)
    except ValueError:  # ragged: mixed numbers and vectors
        rows = np.empty((0, 0))
    n = len(values)
    if rows.shape != (n, m) and not (m == 1 and rows.shape == (n,)):
        raise ValueError(f"every report at a rung needs {m} value(s), one per objective")
    rows = rows.reshape(n, m)
    signs = np.array([history.sign(j) for j in range(m)])
    out: np.ndarray = rows * signs
    return out


#: System attribute of a trial that asynchronous halving told to stop: the rung (its resource)
#: where it lost, so that a PRUNED trial whose last report reached several rungs counts at
#: every one up to it (ignored unless the trial ended PRUNED).
PRUNED_AT_ATTR = "pruned_at_rung"

_K = TypeVar("_K")
_V = TypeVar("_V")
_NEVER = datetime.max.replace(tzinfo=timezone.utc)  # sorts a missing end time last
_NOT_ENTERED = object()  # `_Curves.value_at_rung` of a trial that did not reach the rung


def _finish_order(trial: TrialRecord) -> tuple[datetime, int]:
    return trial.datetime_complete or _NEVER, trial.number


def _forget(table: dict[_K, tuple[weakref.ref[TrialRecord], _V]], key: _K,
            ref: weakref.ref[TrialRecord]) -> None:
    """Drop a dead record's entry (unless the key holds another record's by now)."""
    if (held := table.get(key)) is not None and held[0] is ref:
        table.pop(key, None)


class _Curves:
    """What pruning reads from other trials' curves, kept for finished trials, whose records
    never change: a report then costs O(log S) per other trial, not O(S) (with 1,000 steps
    a trial, the scans made ASHA 20 times slower than Optuna at 25 trials).

    Holds each finished record's sorted steps, by identity, until the record is collected, and
    the completed trials of the last history seen with the first of them to finish. Threads
    of one study share it: each entry is written whole, and a race at worst computes one
    twice. A copy or a pickle starts empty.
    """

    def __init__(self) -> None:
        self._steps: dict[int, tuple[weakref.ref[TrialRecord], tuple[int, ...]]] = {}
        self._first: tuple[tuple[TrialRecord, ...], TrialRecord | None] = ((), None)
        # A finished record's value at each rung it was judged against, or _NOT_ENTERED.
        self._at_rung: dict[tuple[int, int], tuple[weakref.ref[TrialRecord], object]] = {}

    def __reduce__(self) -> tuple[type[_Curves], tuple[()]]:
        return type(self), ()

    def steps(self, trial: TrialRecord) -> Sequence[int]:
        """The steps ``trial`` reported at, ascending."""
        key = id(trial)
        held = self._steps.get(key)
        if held is not None and held[0]() is trial:
            return held[1]
        steps = tuple(sorted(trial.intermediate_values))
        if trial.state.is_finished():  # (a running trial's curve grows: not kept)
            self._steps[key] = (weakref.ref(trial, partial(_forget, self._steps, key)), steps)
        return steps

    def first_finished_steps(self, history: History) -> int | None:
        """The last step of the first trial to *finish* complete with reports (ties: the
        lowest number); None before one has. What "auto" resources are read from: the first
        to finish stays first as more trials end, so the value, once settled, never moves (by
        trial number, a lower-numbered trial ending later would change it and move trials
        between brackets).

        When the history's completed trials start with those of the last call (the same
        records: a comparison that tests identity first, in C), only the ones past them are
        read: the first of all is the earlier of the last call's first and theirs."""
        if not history.trials:  # (a study's stand-in when its pruner needs no history)
            return None
        done = history.completed
        seen, first = self._first
        if len(done) >= len(seen) and done[:len(seen)] == seen:
            fresh = done[len(seen):]
        else:
            fresh, first = done, None
        candidates = [t for t in fresh if t.intermediate_values]
        if first is not None:
            candidates.append(first)
        first = min(candidates, key=_finish_order, default=None)
        self._first = (done, first)
        return None if first is None else self.steps(first)[-1]

    def value_at_rung(self, trial: TrialRecord, resource: int,
                      rungs: tuple[int, ...]) -> object:
        """``trial``'s report at the rung at ``resource`` (its first at or past it) if it
        `entered` that rung, else `_NOT_ENTERED`; kept for finished records, so that a rung
        decision costs one lookup per other trial."""
        key = (id(trial), resource)
        held = self._at_rung.get(key)
        if held is not None and held[0]() is trial:
            return held[1]
        value: object = _NOT_ENTERED
        if trial.state is not TrialState.WAITING and self.entered(trial, resource, rungs):
            steps = self.steps(trial)
            value = trial.intermediate_values[steps[bisect_left(steps, resource)]]
        if trial.state.is_finished():
            self._at_rung[key] = (weakref.ref(trial, partial(_forget, self._at_rung, key)),
                                  value)
        return value

    def entered(self, trial: TrialRecord, resource: int, rungs: tuple[int, ...]) -> bool:
        """Whether ``trial`` entered the rung at ``resource``: it reported there or later, and,
        if pruned at a report that reached several rungs at once, it got as far as this one:
        up to the rung stored as `PRUNED_AT_ATTR`, else (a trial pruned before that was
        kept) the lowest of them."""
        steps = self.steps(trial)
        i = bisect_left(steps, resource)
        if i == len(steps):
            return False
        if trial.state is not TrialState.PRUNED or i < len(steps) - 1:
            return True
        stopped = trial.system_attrs.get(PRUNED_AT_ATTR)
        if isinstance(stopped, int):
            return resource <= stopped
        lowest = next(r for r in rungs if i == 0 or r > steps[i - 1])
        return resource == lowest


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
        rank_by: "value" ranks a rung's entries by the value reported there (Optuna's rule);
            "extrapolation" by their curves extrapolated to ``max_resource`` (module notes),
            which needs ``max_resource`` and ``best_possible``.
        best_possible: the best value the objective can take, one per objective (0 for an
            error rate or a loss, 1 for an accuracy): the fitted curves level off no better.
        bootstrap_count: the first ``bootstrap_count`` trials to reach a rung stop there;
            promotion starts with the next one, which then has that many to be ranked
            against (Optuna's argument; asynchronous halving with an int ``min_resource``).

    >>> SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    SuccessiveHalvingPruner(min_resource=1, reduction_factor=3, min_early_stopping_rate=0)
    """

    def __init__(self, min_resource: Resource = "auto", reduction_factor: int = 4,
                 min_early_stopping_rate: int = 0, *, max_resource: int | None = None,
                 synchronous: bool = False, cohort_size: int | None = None,
                 rank_by: str = "value", best_possible: float | Sequence[float] | None = None,
                 bootstrap_count: int = 0) -> None:
        if min_resource != "auto":
            check_int("min_resource", min_resource, 1)
        check_int("bootstrap_count", bootstrap_count, 0)
        if bootstrap_count and (min_resource == "auto" or synchronous):
            raise ValueError("bootstrap_count needs an int min_resource and asynchronous "
                             "halving (a synchronous cohort waits for its rung anyway)")
        self.bootstrap_count = bootstrap_count
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
            n_rungs = len(rung_resources(min_resource, reduction_factor,
                                         min_early_stopping_rate, max_resource, max_resource))
            cohort_size = reduction_factor ** n_rungs
        self.cohort_size = cohort_size
        if rank_by not in ("value", "extrapolation"):
            raise ValueError(f"rank_by must be 'value' or 'extrapolation', got {rank_by!r}")
        if rank_by == "extrapolation" and (max_resource is None or best_possible is None):
            raise ValueError("rank_by='extrapolation' needs max_resource (where to extrapolate "
                             "to) and best_possible (the best value the objective can take, "
                             "e.g. 0 for a loss, 1 for an accuracy)")
        bounds = None if best_possible is None else np.atleast_1d(
            np.asarray(best_possible, dtype=float))
        if bounds is not None and (bounds.ndim != 1 or not np.isfinite(bounds).all()):
            raise ValueError(f"best_possible must be finite numbers, got {best_possible!r}")
        self.rank_by = rank_by
        self.best_possible = best_possible
        self._curves = _Curves()
        self._auto_min_resource: int | None = None  # "auto" as the last history resolved it

    def __repr__(self) -> str:
        extra = f", max_resource={self.max_resource}" if self.max_resource is not None else ""
        if self.synchronous:
            extra += f", synchronous=True, cohort_size={self.cohort_size}"
        if self.rank_by != "value":
            extra += f", rank_by={self.rank_by!r}, best_possible={self.best_possible!r}"
        if self.bootstrap_count:
            extra += f", bootstrap_count={self.bootstrap_count}"
        return (f"SuccessiveHalvingPruner(min_resource={self.min_resource!r}, "
                f"reduction_factor={self.reduction_factor}, "
                f"min_early_stopping_rate={self.min_early_stopping_rate}{extra})")

    def rungs(self, history: History | None, max_step: int) -> tuple[int, ...] | None:
        """Promotion rungs up to ``max_step`` (None while "auto" cannot be resolved yet;
        without a ``history``, "auto" is what the last history resolved it to)."""
        if self.min_resource == "auto":  # Optuna's rule: 1 % of the first finished trial's
            if history is not None and history.trials:  # last step, at least 1 (not a
                steps = self._curves.first_finished_steps(history)  # study's empty stand-in)
                self._auto_min_resource = None if steps is None else max(steps // 100, 1)
            min_resource = self._auto_min_resource
            if min_resource is None:
                return None
        else:
            min_resource = int(self.min_resource)
        return rung_resources(min_resource, self.reduction_factor, self.min_early_stopping_rate,
                              max_step, self.max_resource)

    def decide(self, history: History, trial: TrialRecord) -> Decision:
        return self.judge(history, trial)[0]

    def judge(self, history: History, trial: TrialRecord) -> tuple[Decision, dict[str, Any]]:
        """`decide`; asynchronous halving stores the rung at which it prunes a trial
        (`PRUNED_AT_ATTR`, at every prune decision: a trial told to stop may go on, and the
        last one counts). Pruned by a report that reached several rungs at once, the trial
        entered every rung up to that one, as Optuna records them, and later trials meet it
        there (taken to have stopped at the lowest, it was missing from the higher ones,
        whose bars rose: ASHA pruned more than Optuna)."""
        last = trial.last_step
        if last is None:
            return Decision.CONTINUE, {}
        rungs = self.rungs(history, last)
        if not rungs:
            return Decision.CONTINUE, {}
        if self.synchronous:
            return self._decide_synchronous(history, self._others(history, trial), trial,
                                            rungs), {}
        stopped = self._stopping_rung(history, trial, rungs)
        if stopped is None:
            return Decision.CONTINUE, {}
        return Decision.PRUNE, {PRUNED_AT_ATTR: stopped}

    def _stopping_rung(self, history: History, trial: TrialRecord,
                       rungs: tuple[int, ...]) -> int | None:
        """The rung at which asynchronous halving stops ``trial`` at its latest report, or
        None when it goes on."""
        last = trial.last_step
        assert last is not None
        # The rungs this report reaches first: every one since the previous report, lowest
        # first (a trial reporting at steps 1 and 10 is judged at rungs 3 and 9, as Optuna
        # walks them); the others were judged at earlier reports.
        judged = _judged_rungs(trial.intermediate_values, last, rungs)
        if not judged:
            return None
        if np.isnan(np.asarray(trial.intermediate_values[last], dtype=float)).any():
            return judged[0]  # a diverged trial never goes on (Optuna's rule too)
        others = self._others(history, trial)
        for r in judged:
            if self.rank_by == "value":  # one cached lookup per other trial
                at_rung = [self._curves.value_at_rung(t, r, rungs) for t in others]
                values = [v for v in at_rung if v is not _NOT_ENTERED]
                values.append(self._curves.value_at_rung(trial, r, rungs))
                loss = _loss_rows(history, values)  # type: ignore[arg-type]
            else:
                entries = [t for t in others if t.state is not TrialState.WAITING
                           and self._curves.entered(t, r, rungs)]
                entries.append(trial)
                loss = self.rung_losses(history, entries, r)
            if len(loss) <= self.bootstrap_count:
                return r  # the rung's first entrants only set its bar
            if not is_promoted(loss, len(loss) - 1, len(loss) // self.reduction_factor):
                return r
        return None

    def needs_history(self, trial: TrialRecord) -> bool:
        """Asynchronous halving reads the other trials only at a report that reaches a rung
        (the synchronous form at every report: its verdicts wait for the cohort)."""
        last = trial.last_step
        if last is None:
            return False
        rungs = self.rungs(None, last)
        # "auto" unresolved, or maybe resolved from another study's trials (a pruner used
        # again): read at each trial's first report, which resolves it from this study's
        if self.synchronous or rungs is None or (self.min_resource == "auto"
                                                 and len(trial.intermediate_values) == 1):
            return True
        return bool(rungs) and bool(_judged_rungs(trial.intermediate_values, last, rungs))

    def _others(self, history: History, trial: TrialRecord) -> list[TrialRecord]:
        """The trials ``trial`` is ranked against: every other one of ``history``."""
        return [t for t in history.trials if t.number != trial.number]

    def rung_losses(self, history: History, entries: Sequence[TrialRecord],
                    resource: int) -> np.ndarray:
        """What ranks ``entries`` (trials that have reached the rung at ``resource``): rows
        (n, m) to minimise, their values there, or with ``rank_by="extrapolation"`` their
        curves up to there extrapolated to ``max_resource`` (a curve with fewer than three
        finite reports keeps its value)."""
        curves = [self._curves.steps(t) for t in entries]
        rung_steps = [steps[bisect_left(steps, resource)] for steps in curves]
        loss = _loss_rows(history, [t.intermediate_values[s]
                                    for t, s in zip(entries, rung_steps, strict=True)])
        if self.rank_by == "value":
            return loss
        assert self.max_resource is not None and self.best_possible is not None
        signs = np.array([history.sign(j) for j in range(loss.shape[1])])
        bounds = np.atleast_1d(np.asarray(self.best_possible, dtype=float))
        if bounds.size not in (1, signs.size):
            raise ValueError(f"best_possible has {bounds.size} values for a study of "
                             f"{signs.size} objective(s)")
        floors = signs * np.broadcast_to(bounds, signs.shape)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, (steps, stop) in enumerate(zip(curves, rung_steps, strict=True)):
            groups.setdefault(tuple(steps[:bisect_right(steps, stop)]), []).append(i)
        out: np.ndarray = loss.copy()
        for steps, members in groups.items():
            if len(steps) < 3:
                continue
            reports = _loss_rows(history, [entries[i].intermediate_values[s]
                                           for i in members for s in steps])
            reports = reports.reshape(len(members), len(steps), -1)  # (trials, steps, m)
            for j, floor in enumerate(floors):
                ys = reports[:, :, j]
                finite = np.isfinite(ys).all(axis=1)
                if finite.any():
                    rows = np.asarray(members)[finite]
                    out[rows, j] = extrapolate_curves(np.asarray(steps), ys[finite],
                                                      self.max_resource, floor)
        return out

    def _decide_synchronous(self, history: History, others: list[TrialRecord],
                            trial: TrialRecord, rungs: tuple[int, ...]) -> Decision:
        assert self.cohort_size is not None
        members = sorted([*others, trial], key=lambda t: t.number)
        position = next(i for i, t in enumerate(members) if t.number == trial.number)
        start = position // self.cohort_size * self.cohort_size
        cohort = members[start:start + self.cohort_size]
        if len(cohort) < self.cohort_size:
            return Decision.CONTINUE  # the cohort is not all created yet
        alive = cohort
        for r in rungs:
            entries = [(t, rung_step(self._curves.steps(t), r)) for t in alive]
            if any(v is None and not t.state.is_finished() for t, v in entries):
                return Decision.CONTINUE  # rung not full yet: wait (by running on)
            reached = [(t, v) for t, v in entries if v is not None]
            loss = self.rung_losses(history, [t for t, _ in reached], r)
            quota = len(reached) // self.reduction_factor
            alive = [t for i, (t, _) in enumerate(reached) if is_promoted(loss, i, quota)]
            if all(t.number != trial.number for t in alive):
                return Decision.PRUNE
        return Decision.CONTINUE

