"""Hyperband (Li et al. 2018): several successive-halving brackets, from aggressive to none.

Bracket ``b`` (of ``n_brackets = floor(log_eta(max_resource / min_resource)) + 1``) is
successive halving with rungs anchored at the full run, as in the paper: ``max_resource /
eta ** j`` for ``j = n_brackets - 1 - b`` down to 1, each rounded up to a step (the first report
at or past the paper's real-valued rung). The last bracket never prunes (full-budget random
search); the most aggressive one starts at the smallest ``max_resource / eta ** j`` at or above
``min_resource``. When ``max_resource / min_resource`` is a power of ``eta`` (1..27 with eta 3)
the rungs are ``min_resource * eta ** (b + k)``, as in Optuna; otherwise Optuna anchors them at
``min_resource``, and its last bracket prunes too.

Each trial belongs to one bracket, drawn from its number and the pruner's seed with Hyperband's
weights (bracket ``b`` gets ``ceil(n_brackets / (n_brackets - b) * eta ** (n_brackets - 1 -
b))`` of every ``sum(weights)`` trials), so the same trial lands in the same bracket in every
process. A trial is judged only against trials of its own bracket. The sampler learns from
every bracket by default (``sampler_scope="study"``): a sampler that ranks pruned trials by how
far they got (TPE, BOHB) compares them fairly across brackets, and an aggressive bracket alone
holds too few trials to model. That is also what Optuna 5's TPE does under its Hyperband, which
filters trials by bracket in ``get_trials`` while its TPE reads ``_get_trials``.
``sampler_scope="bracket"`` hands the sampler only the trial's own bracket.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np

from hyperdial._checks import check_int
from hyperdial.history import History
from hyperdial.pruners.base import Decision, Pruner
from hyperdial.pruners.halving import SuccessiveHalvingPruner, _Curves
from hyperdial.trial import TrialRecord


def n_brackets(min_resource: int, max_resource: int, reduction_factor: int) -> int:
    """``floor(log_eta(max / min)) + 1`` (at least 1), exact at powers of ``eta``."""
    k = 0
    while min_resource * reduction_factor ** (k + 1) <= max_resource:
        k += 1
    return k + 1


def bracket_weights(count: int, reduction_factor: int) -> np.ndarray:
    """Hyperband's number of configurations per bracket, the most aggressive first."""
    return np.array([math.ceil(count / (count - b) * reduction_factor ** (count - 1 - b))
                     for b in range(count)], dtype=np.int64)


def bracket_rungs(bracket: int, count: int, max_resource: int,
                  reduction_factor: int) -> tuple[int, ...]:
    """Rungs of bracket ``bracket`` of ``count``: ``ceil(max_resource / eta ** j)`` for
    ``j = count - 1 - bracket`` down to 1 (none for the last bracket).

    >>> bracket_rungs(0, 4, 27, 3), bracket_rungs(0, 3, 26, 3)
    ((1, 3, 9), (3, 9))
    """
    levels = {-(-max_resource // reduction_factor ** j)
              for j in range(count - 1 - bracket, 0, -1)}
    return tuple(sorted(levels))


class _Bracket(SuccessiveHalvingPruner):
    """Successive halving on a Hyperband bracket's fixed rungs, among the trials drawn into
    it (by ``seed`` and ``weights``, as `draw_bracket`): given a whole study, it picks them out
    only for a report that reaches a rung."""

    def __init__(self, levels: tuple[int, ...], min_resource: int, reduction_factor: int,
                 bracket: int, *, max_resource: int, synchronous: bool,
                 cohort_size: int | None, rank_by: str,
                 best_possible: float | Sequence[float] | None, bootstrap_count: int,
                 seed: int, weights: tuple[int, ...], curves: _Curves) -> None:
        super().__init__(min_resource, reduction_factor, bracket, max_resource=max_resource,
                         synchronous=synchronous, cohort_size=cohort_size, rank_by=rank_by,
                         best_possible=best_possible, bootstrap_count=bootstrap_count)
        self.levels = levels
        self.bracket = bracket
        self.seed = seed
        self.weights = weights
        self._curves = curves  # the Hyperband pruner's, shared by its brackets

    def rungs(self, history: History | None, max_step: int) -> tuple[int, ...]:
        return self.levels[:bisect_right(self.levels, max_step)]

    def _others(self, history: History, trial: TrialRecord) -> list[TrialRecord]:
        """The other trials of this bracket."""
        return [t for t in _members(history.trials, self.seed, self.weights, self.bracket)
                if t.number != trial.number]

    def __repr__(self) -> str:
        return f"_Bracket(rungs={list(self.levels)}, max_resource={self.max_resource})"


def _members(trials: Sequence[TrialRecord], seed: int, weights: tuple[int, ...],
             bracket: int) -> list[TrialRecord]:
    """The ``trials`` drawn into ``bracket`` (`draw_bracket`)."""
    return [t for t in trials if draw_bracket(seed, t.number, weights) == bracket]


@lru_cache(maxsize=65536)
def draw_bracket(seed: int, number: int, weights: tuple[int, ...]) -> int:
    """Bracket of trial ``number``: a draw proportional to ``weights`` from ``(seed, number)``."""
    draw = np.random.default_rng([seed, number]).integers(sum(weights))
    return int(np.searchsorted(np.cumsum(weights), draw, side="right"))


class HyperbandPruner(Pruner):
    """Hyperband: successive halving hedged over how aggressively to cut.

    Args:
        min_resource: the least resource (step) a rung may sit at: the first rung of the most
            aggressive bracket (exactly, when ``max_resource / min_resource`` is a power of
            ``reduction_factor``).
        max_resource: the resource of a full run, or "auto": the last step of the first trial
            to complete (until then nothing is pruned and trials have no bracket).
        reduction_factor: ``eta``; each rung keeps ``1 / eta`` of its entries.
        seed: seed of the bracket draw.
        synchronous: each bracket runs synchronous halving on cohorts of Hyperband's size.
        sampler_scope: what the sampler learns from: "study" (every bracket) or "bracket"
            (only the bracket of the trial it proposes for). On the learning-curve benchmark
            TPE did better with "study" (``docs/pruners.md``).
        rank_by, best_possible, bootstrap_count: how each bracket ranks a rung, as in
            `SuccessiveHalvingPruner` ("extrapolation" extrapolates to ``max_resource``).

    >>> pruner = HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3)
    >>> [pruner.bracket_of(n) for n in range(8)]
    [2, 0, 3, 0, 0, 1, 0, 2]
    """

    def __init__(self, min_resource: int = 1, max_resource: int | str = "auto",
                 reduction_factor: int = 3, *, seed: int = 0, synchronous: bool = False,
                 sampler_scope: str = "study", rank_by: str = "value",
                 best_possible: float | Sequence[float] | None = None,
                 bootstrap_count: int = 0) -> None:
        check_int("min_resource", min_resource, 1)
        if max_resource != "auto":
            check_int("max_resource", max_resource, 1)
            if int(max_resource) < min_resource:
                raise ValueError(f"max_resource ({max_resource}) must be >= min_resource "
                                 f"({min_resource})")
        check_int("reduction_factor", reduction_factor, 2)
        if sampler_scope not in ("study", "bracket"):
            raise ValueError(f"sampler_scope must be 'study' or 'bracket', got {sampler_scope!r}")
        self.sampler_scope = sampler_scope
        self.min_resource = min_resource
        self.max_resource = max_resource
        self.reduction_factor = reduction_factor
        self.seed = int(seed)
        self.synchronous = bool(synchronous)
        # checked by the brackets' own constructor, with a stand-in max_resource
        SuccessiveHalvingPruner(min_resource, reduction_factor, max_resource=min_resource,
                                synchronous=synchronous, cohort_size=1, rank_by=rank_by,
                                best_possible=best_possible, bootstrap_count=bootstrap_count)
        self.rank_by = rank_by
        self.best_possible = best_possible
        self.bootstrap_count = bootstrap_count
        self._curves = _Curves()
        # The brackets and weights of the last max_resource seen (one, once "auto" settles),
        # built once rather than at every report: (max_resource, brackets, weights).
        self._layout: tuple[int, list[_Bracket], tuple[int, ...]] | None = None

    def __repr__(self) -> str:
        return (f"HyperbandPruner(min_resource={self.min_resource}, "
                f"max_resource={self.max_resource!r}, reduction_factor={self.reduction_factor}, "
                f"seed={self.seed}" + (", synchronous=True" if self.synchronous else "")
                + (", sampler_scope='bracket'" if self.sampler_scope == "bracket" else "")
                + (f", rank_by={self.rank_by!r}, best_possible={self.best_possible!r}"
                   if self.rank_by != "value" else "")
                + (f", bootstrap_count={self.bootstrap_count})" if self.bootstrap_count
                   else ")"))

    def resolved_max_resource(self, history: History | None = None) -> int | None:
        """``max_resource``, resolving "auto" from ``history`` (None while it cannot be)."""
        if isinstance(self.max_resource, int):
            return self.max_resource
        steps = None if history is None else self._curves.first_finished_steps(history)
        return None if steps is None else max(steps, self.min_resource)

    def _brackets_at(self, top: int) -> tuple[list[_Bracket], tuple[int, ...]]:
        """The brackets for a ``max_resource`` of ``top``, and their weights."""
        layout = self._layout
        if layout is not None and layout[0] == top:
            return layout[1], layout[2]
        count = n_brackets(self.min_resource, top, self.reduction_factor)
        weights = tuple(int(w) for w in bracket_weights(count, self.reduction_factor))
        brackets = [_Bracket(bracket_rungs(b, count, top, self.reduction_factor),
                             self.min_resource, self.reduction_factor, b, max_resource=top,
                             synchronous=self.synchronous,
                             cohort_size=weights[b] if self.synchronous else None,
                             rank_by=self.rank_by, best_possible=self.best_possible,
                             bootstrap_count=self.bootstrap_count, seed=self.seed,
                             weights=weights, curves=self._curves)
                    for b in range(count)]
        self._layout = (top, brackets, weights)  # one assignment: threads see all or nothing
        return brackets, weights

    def brackets(self, history: History | None = None) -> list[SuccessiveHalvingPruner] | None:
        """One successive-halving pruner per bracket (None while "auto" is unresolved)."""
        top = self.resolved_max_resource(history)
        return None if top is None else list(self._brackets_at(top)[0])

    def bracket_of(self, number: int, history: History | None = None) -> int | None:
        """The bracket of trial ``number`` (None while "auto" is unresolved)."""
        top = self.resolved_max_resource(history)
        return None if top is None else draw_bracket(self.seed, number, self._brackets_at(top)[1])

    def sampler_view(self, history: History, number: int) -> History:
        if self.sampler_scope == "study":
            return history
        return self.bracket_history(history, number)

    def bracket_history(self, history: History, number: int) -> History:
        """The trials of ``history`` in trial ``number``'s bracket (all while it has none)."""
        top = self.resolved_max_resource(history)
        if top is None:
            return history
        weights = self._brackets_at(top)[1]
        trials = _members(history.trials, self.seed, weights,
                          draw_bracket(self.seed, number, weights))
        return replace(history, trials=tuple(trials), known_space=None)

    def decide(self, history: History, trial: TrialRecord) -> Decision:
        return self.judge(history, trial)[0]

    def judge(self, history: History, trial: TrialRecord) -> tuple[Decision, dict[str, Any]]:
        top = self.resolved_max_resource(history)
        if top is None:
            return Decision.CONTINUE, {}
        brackets, weights = self._brackets_at(top)
        # the bracket ranks the trial among its own trials only, picked out of the whole
        # history when (rarely) a report reaches a rung
        return brackets[draw_bracket(self.seed, trial.number, weights)].judge(history, trial)

    def needs_history(self, trial: TrialRecord) -> bool:
        """As the trial's bracket says ("auto" ``max_resource`` as the last `decide` saw it)."""
        top = self.max_resource if isinstance(self.max_resource, int) else (
            None if self._layout is None or len(trial.intermediate_values) == 1  # (as
            else self._layout[0])  # `SuccessiveHalvingPruner.needs_history` for "auto")
        if top is None:
            return True
        brackets, weights = self._brackets_at(top)
        return brackets[draw_bracket(self.seed, trial.number, weights)].needs_history(trial)
