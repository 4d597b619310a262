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
from hyperdial.history import StudyDirection
from hyperdial.trial import Trial


def check_direction(trial: Trial, higher_is_better: bool | None, metric: str,
                    callback: str) -> None:
    """Raise ValueError when ``metric``, which its library says is better when higher (or
    lower), runs against the study's direction: the pruner, comparing reports in the study's
    direction, would stop the best trials and keep the worst (Optuna's LightGBM callback
    raises the same). Nothing to check when the library does not say (``higher_is_better``
    None), for a `FixedTrial` (no study: it never prunes) or several objectives."""
    if higher_is_better is None:
        return
    try:
        directions = trial.study.directions
    except AttributeError:
        return
    if len(directions) != 1 or (directions[0] is StudyDirection.MAXIMIZE) == higher_is_better:
        return
    better, study, wanted = (("higher", "minimizes", "minimized") if higher_is_better
                             else ("lower", "maximizes", "maximized"))
    raise ValueError(
        f"The intermediate values are inconsistent with the objective values in terms of "
        f"study directions: {metric!r} is better when {better}, but the study {study}, so the "
        f"pruner would stop the best trials. Give {callback} a metric to be {wanted}, as the "
        f"objective's value is.")


def report_or_prune(trial: Trial, value: float, step: int) -> None:
    """Report ``value`` at ``step`` and raise `TrialPruned` when the study's pruner says so:
    what every training-loop callback does after an iteration."""
    trial.report(float(value), step=step)
    if trial.should_prune():
        raise TrialPruned(f"pruned at step {step} (value {value:g})")


__all__ = ["check_direction", "report_or_prune"]
