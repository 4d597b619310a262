"""AutoSampler: the default of `create_study`, choosing an algorithm from what the study shows.

The rules and the benchmark figures behind them are in ``docs/auto.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperdial.history import History
from hyperdial.samplers.base import Sampler
from hyperdial.samplers.gp import MAX_BRANCHES, GPSampler
from hyperdial.samplers.tpe import TPESampler
from hyperdial.space import SearchSpace
from hyperdial.trial import TrialState


class AutoSampler(Sampler):
    """Picks a sampler per trial from the history alone, so every worker picks the same one.

    - Up to ``gp_trials`` completed trials: Gaussian-process BO (`GPSampler`), the best per
      trial on the public suite at these budgets, conditional spaces included; with several
      objectives, its random scalarisations gave the largest hypervolume on ZDT1, ZDT2 and
      DTLZ2 at 200 trials.
    - Past ``gp_trials``, or with more than ``gp_max_params`` parameters: multivariate TPE
      (`TPESampler`), whose cost per trial stays in milliseconds at 10,000 trials, learning
      from every trial so far (several objectives included).
    - When a pruner has stopped more trials than have completed (Hyperband, ASHA): TPE, which
      ranks pruned trials by their last report, where the GP would see only the few
      completed ones.
    - When the completed trials hold more different sets of parameters than the GP searches
      branches (`gp.MAX_BRANCHES`: a deeply conditional space, per-layer parameters under
      other parameters): TPE, which models each parameter where it exists.

    Both model the other workers' running trials where they are going (the GP's kriging
    believer, TPE's constant liar), so parallel workers spread out.

    Args:
        seed: seed shared by the samplers it delegates to.
        gp_trials: completed trials after which it switches from the GP to TPE.
        gp_max_params: most parameters (seen in completed trials) the GP is used for.
    """

    uses_pending = True

    def __init__(self, *, seed: int | None = None, gp_trials: int = 250,
                 gp_max_params: int = 40) -> None:
        if gp_trials < 0 or gp_max_params < 0:
            raise ValueError("gp_trials and gp_max_params must be >= 0, got "
                             f"{gp_trials} and {gp_max_params}")
        self.gp_trials = int(gp_trials)
        self.gp_max_params = int(gp_max_params)
        self._gp = GPSampler(seed=seed)
        self._tpe = TPESampler(seed=seed, constant_liar=True)
        super().__init__(seed=seed)

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._gp.reseed(self.seed)
        self._tpe.reseed(self.seed)

    def choose(self, history: History) -> Sampler:
        """The sampler that proposes the next trial of ``history``."""
        completed = history.completed
        if (len(completed) >= self.gp_trials
                or len(history.completed_union_space) > self.gp_max_params
                or len(history.with_states(TrialState.PRUNED)) > len(completed)
                or len({frozenset(t.params) for t in completed}) > MAX_BRANCHES):
            return self._tpe
        return self._gp

    def infer_space(self, history: History) -> SearchSpace:
        return self.choose(history).infer_space(history)

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        return self.choose(history).propose(history, space, rng)

    def __repr__(self) -> str:
        return (f"AutoSampler(seed={self.seed}, gp_trials={self.gp_trials}, "
                f"gp_max_params={self.gp_max_params})")
