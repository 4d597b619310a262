"""LightGBM pruning callback: report an evaluation metric each boosting round, prune on request.

>>> # lgb.train(params, dtrain, valid_sets=[dvalid],
>>> #           callbacks=[LightGBMPruningCallback(trial, "binary_logloss")])
"""

from __future__ import annotations

from typing import Any

from hyperdial._optional import require
from hyperdial.integrations import check_direction, report_or_prune
from hyperdial.trial import Trial

require("lightgbm", "lightgbm")


class LightGBMPruningCallback:
    """Reports ``metric`` on the validation set ``valid_name`` after each round and raises
    `TrialPruned` when the trial's pruner says so. With ``lgb.cv`` the validation set is
    ``"valid"`` and the mean over folds is reported.

    As in Optuna, a metric whose direction (LightGBM's ``is_higher_better``) is not the
    study's is a ValueError: a study that maximises accuracy, pruned on ``binary_logloss``,
    would stop its best trials."""

    order = 40  # after LightGBM's own evaluation logging and early stopping callbacks
    before_iteration = False

    def __init__(self, trial: Trial, metric: str, valid_name: str = "valid_0") -> None:
        self.trial = trial
        self.metric = metric
        self.valid_name = valid_name

    def __call__(self, env: Any) -> None:
        for entry in env.evaluation_result_list or ():
            data, metric, value, higher_is_better = entry[:4]  # lgb.cv's adds the stdev
            from_cv = data == "valid" and hasattr(env.model, "boosters")  # lgb.cv's name
            if metric == self.metric and (data == self.valid_name or from_cv):
                check_direction(self.trial, bool(higher_is_better), metric,
                                "LightGBMPruningCallback")
                # env.iteration counts on from an init_model's rounds (as Optuna reports it):
                # less begin_iteration, a resumed training reported steps 0, 1, ... again,
                # which the trial dropped as repeats
                report_or_prune(self.trial, value, env.iteration)
                return
        seen = [f"{e[0]} {e[1]}" for e in env.evaluation_result_list or ()]
        raise ValueError(f"LightGBM reported no {self.metric!r} on {self.valid_name!r}; "
                         f"it reported {seen}")


__all__ = ["LightGBMPruningCallback"]
