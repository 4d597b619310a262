"""BOHB's model (Falkner et al. 2018): TPE fitted on the highest fidelity with enough data.

With pruning, most trials stop early, so few have final values; but every trial that reached
step ``s`` has a value there. `BOHBSampler` picks the highest step that at least ``min_points``
trials reported (``d + 1`` by default for ``d`` parameters, as in BOHB), treats those reports
as the trials' values, and lets `TPESampler` propose from that view. Until some step has
enough reports, and for a fraction ``random_fraction`` of proposals after that (BOHB keeps a
third of its proposals random so that the model's mistakes get corrected), it proposes
uniformly at random. Pair it with `HyperbandPruner` or `SuccessiveHalvingPruner`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

import numpy as np

from hyperdial._encode import decode
from hyperdial.history import History
from hyperdial.samplers.base import Sampler
from hyperdial.samplers.tpe import TPESampler
from hyperdial.space import SearchSpace
from hyperdial.trial import TrialRecord, TrialState


def highest_fidelity(history: History, min_points: int) -> int | None:
    """The highest step that at least ``min_points`` trials reported (None if none did)."""
    counts = Counter(s for t in history.trials if t.state is not TrialState.WAITING
                     for s in t.intermediate_values)
    steps = [s for s, n in counts.items() if n >= min_points]
    return max(steps) if steps else None


def fidelity_view(history: History, step: int) -> History:
    """The trials that reported at ``step``, as if they had completed with that report."""
    trials = tuple(
        TrialRecord(number=t.number, state=TrialState.COMPLETE, params=t.params,
                    distributions=t.distributions, values=tuple(np.atleast_1d(v).tolist()))
        for t in history.trials
        if t.state is not TrialState.WAITING and (v := t.intermediate_values.get(step)) is not None
        and not np.isnan(np.asarray(v, dtype=float)).any())
    return History(trials, history.directions)


class BOHBSampler(Sampler):
    """TPE on the highest well-observed fidelity, plus random proposals (BOHB).

    Args:
        seed: seed of the per-trial generators.
        min_points: reports a step needs before the model uses it (default: parameters + 1).
        random_fraction: share of proposals drawn uniformly at random once the model is used.
        n_ei_candidates: candidates TPE draws per proposal.
    """

    #: Learn from every trial, not only from those of the trial's Hyperband bracket: reports
    #: at one step are comparable across brackets, and BOHB shares its model between them.
    multi_fidelity: ClassVar[bool] = True

    def __init__(self, *, seed: int | None = None, min_points: int | None = None,
                 random_fraction: float = 1 / 3, n_ei_candidates: int = 24) -> None:
        if min_points is not None and min_points < 2:
            raise ValueError(f"min_points must be >= 2, got {min_points}")
        if not 0.0 <= random_fraction <= 1.0:
            raise ValueError(f"random_fraction must be in [0, 1], got {random_fraction}")
        self.min_points = min_points
        self.random_fraction = float(random_fraction)
        # Widths that shrink with the kernel count (``min_bandwidth=None``), not TPE's fixed
        # floor: the model sees a few reports per rung, and BOHB keeps exploring there (its
        # paper widens the kernels it samples from threefold). Hyperband + BOHB over 10 seeds
        # of the learning-curve benchmark: mean best 0.0594 with these, 0.0614 with the floor.
        self.tpe = TPESampler(n_startup_trials=0, n_ei_candidates=n_ei_candidates,
                              min_bandwidth=None)
        super().__init__(seed=seed)

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self.tpe.reseed(self.seed)

    def _view(self, history: History) -> History | None:
        """The fidelity view the model is fitted on (None while no step has enough reports);
        ``d`` in ``d + 1`` is the largest number of parameters a trial has."""
        n_params = max((len(t.params) for t in history.trials), default=0)
        step = highest_fidelity(history, self.min_points or n_params + 1)
        return None if step is None else fidelity_view(history, step)

    def infer_space(self, history: History) -> SearchSpace:
        view = self._view(history)
        return SearchSpace() if view is None else self.tpe.infer_space(view)

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        if not space:
            return {}
        view = self._view(history)
        if view is None or rng.random() < self.random_fraction:
            return decode(space, rng.random((1, len(space))))[0]
        return self.tpe.propose(view, space, rng)

    def __repr__(self) -> str:
        return (f"BOHBSampler(seed={self.seed}, min_points={self.min_points}, "
                f"random_fraction={self.random_fraction})")
