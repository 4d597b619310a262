"""XGBoost pruning callback: report an evaluation metric each boosting round, prune on request.

>>> # booster = xgb.train(params, dtrain, evals=[(dvalid, "validation")],
>>> #                     callbacks=[XGBoostPruningCallback(trial, "validation-logloss")])
"""

from __future__ import annotations

from typing import Any

from hyperdial._optional import require
from hyperdial.integrations import report_or_prune
from hyperdial.trial import Trial

require("xgboost", "xgboost")

from xgboost.callback import TrainingCallback  # noqa: E402


class XGBoostPruningCallback(TrainingCallback):
    """Reports ``observation_key`` (``"<eval name>-<metric>"``, e.g. ``"validation_0-logloss"``
    for the scikit-learn API) after each round and raises `TrialPruned` when the trial's
    pruner says so. With ``xgb.cv`` the mean over folds is reported."""

    def __init__(self, trial: Trial, observation_key: str) -> None:
        super().__init__()
        self.trial = trial
        self.observation_key = observation_key
        self._data, sep, self._metric = observation_key.rpartition("-")
        if not sep:
            raise ValueError(f"observation_key must read '<eval name>-<metric>', "
                             f"got {observation_key!r}")

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        try:
            latest = evals_log[self._data][self._metric][-1]
        except KeyError:
            raise KeyError(f"no evaluation {self.observation_key!r}; the booster logs "
                           f"{[f'{d}-{m}' for d, ms in evals_log.items() for m in ms]}"
                           ) from None
        report_or_prune(self.trial, latest[0] if isinstance(latest, tuple) else latest, epoch)
        return False  # never stop training by itself: pruning raises


__all__ = ["XGBoostPruningCallback"]
