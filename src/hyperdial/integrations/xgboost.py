"""XGBoost pruning callback: report an evaluation metric each boosting round, prune on request.

>>> # booster = xgb.train(params, dtrain, evals=[(dvalid, "validation")],
>>> #                     callbacks=[XGBoostPruningCallback(trial, "validation-logloss")])
"""

from __future__ import annotations

from typing import Any

from hyperdial._optional import require
from hyperdial.integrations import check_direction, report_or_prune
from hyperdial.trial import Trial

require("xgboost", "xgboost")

from xgboost.callback import TrainingCallback  # noqa: E402

#: XGBoost's built-in evaluation metrics by whether higher is better (logged names, less an
#: ``@`` argument such as ``ndcg@3`` or ``error@0.7`` and a trailing ``-``); a custom metric,
#: whose direction XGBoost does not know, is not checked.
_HIGHER_IS_BETTER: dict[str, bool] = {
    **dict.fromkeys(("auc", "aucpr", "pre", "ndcg", "map", "interval-regression-accuracy"),
                    True),
    **dict.fromkeys(("rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror",
                     "mlogloss", "poisson-nloglik", "gamma-nloglik", "cox-nloglik",
                     "gamma-deviance", "tweedie-nloglik", "aft-nloglik", "quantile"), False)}


class XGBoostPruningCallback(TrainingCallback):
    """Reports ``observation_key`` (``"<eval name>-<metric>"``, e.g. ``"validation_0-logloss"``
    for the scikit-learn API) after each round and raises `TrialPruned` when the trial's
    pruner says so. With ``xgb.cv`` the mean over folds is reported.

    As in Optuna, the key is matched whole against the ``"<eval name>-<metric>"`` pairs the
    booster logs, so metrics whose names hold a hyphen work: ``"validation-aft-nloglik"``,
    ``"eval-ndcg@3-"``. A key that matches no pair raises a `KeyError` naming those the
    booster logs. A built-in metric whose direction is not the study's (``logloss`` in a
    study that maximises accuracy) is a ValueError, as LightGBM's callback has it: the pruner
    would stop the best trials."""

    def __init__(self, trial: Trial, observation_key: str) -> None:
        super().__init__()
        self.trial = trial
        self.observation_key = observation_key
        if not isinstance(observation_key, str) or "-" not in observation_key:
            raise ValueError(f"observation_key must read '<eval name>-<metric>', "
                             f"got {observation_key!r}")
        self._pair: tuple[str, str] | None = None  # (eval name, metric), found in the log

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        if self._pair is None:
            self._pair = self._resolve(evals_log)
            builtin = self._pair[1].split("@")[0].rstrip("-")
            check_direction(self.trial, _HIGHER_IS_BETTER.get(builtin), self._pair[1],
                            "XGBoostPruningCallback")
        data, metric = self._pair
        latest = evals_log[data][metric][-1]
        report_or_prune(self.trial, latest[0] if isinstance(latest, tuple) else latest, epoch)
        return False  # never stop training by itself: pruning raises

    def _resolve(self, evals_log: dict[str, Any]) -> tuple[str, str]:
        """The logged (eval name, metric) pair whose ``"<eval name>-<metric>"`` is the key."""
        pairs = [(d, m) for d, metrics in evals_log.items() for m in metrics]
        found = [p for p in pairs if f"{p[0]}-{p[1]}" == self.observation_key]
        if not found:
            raise KeyError(f"no evaluation {self.observation_key!r}; the booster logs "
                           f"{[f'{d}-{m}' for d, m in pairs]}")
        return found[0]  # one at most: XGBoost refuses eval names holding a hyphen


__all__ = ["XGBoostPruningCallback"]
