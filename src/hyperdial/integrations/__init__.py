"""Integrations with other libraries (layer 4: the core never imports this package).

Import the submodule you need; each imports its library only there:

* `hyperdial.integrations.sklearn`: `HyperdialSearchCV`, `HyperdialHalvingSearchCV`
  (scikit-learn estimators, ``pip install 'hyperdial[sklearn]'``);
* `hyperdial.integrations.automl`: `AutoMLClassifier`, `AutoMLRegressor` (model family and
  hyperparameters in one search, ``hyperdial[sklearn]``);
* `hyperdial.integrations.xgboost`: `XGBoostPruningCallback` (``hyperdial[xgboost]``);
* `hyperdial.integrations.lightgbm`: `LightGBMPruningCallback` (``hyperdial[lightgbm]``);
* `hyperdial.integrations.lightning`: `LightningPruningCallback` (PyTorch Lightning,
  ``hyperdial[lightning]``);
* `hyperdial.integrations.keras`: `KerasPruningCallback` (Keras 3 on any backend,
  ``hyperdial[keras]``).
"""

from __future__ import annotations

from hyperdial.exceptions import TrialPruned
from hyperdial.trial import Trial


def report_or_prune(trial: Trial, value: float, step: int) -> None:
    """Report ``value`` at ``step`` and raise `TrialPruned` when the study's pruner says so:
    what every training-loop callback does after an iteration."""
    trial.report(float(value), step=step)
    if trial.should_prune():
        raise TrialPruned(f"pruned at step {step} (value {value:g})")


__all__ = ["report_or_prune"]
