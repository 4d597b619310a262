"""PyTorch Lightning: report a validation metric after each validation of fit, prune on request.

>>> # trainer = lightning.pytorch.Trainer(
>>> #     max_epochs=20, callbacks=[LightningPruningCallback(trial, monitor="val_loss")])
>>> # trainer.fit(model, datamodule)   # raises TrialPruned when the pruner says stop

Works with the ``lightning`` package (``pip install 'hyperdial[lightning]'``) and with the older
``pytorch_lightning`` one.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from hyperdial.integrations import report_or_prune
from hyperdial.trial import Trial


def _callback_base() -> type:
    """Lightning's ``Callback``, from ``lightning`` or else ``pytorch_lightning``."""
    for name in ("lightning.pytorch.callbacks", "pytorch_lightning.callbacks"):
        try:
            base: type = importlib.import_module(name).Callback
            return base
        except ImportError:
            continue
    raise ImportError("this needs PyTorch Lightning (lightning or pytorch_lightning): "
                      "pip install 'hyperdial[lightning]'")


class LightningPruningCallback(_callback_base()):  # type: ignore[misc]
    """After each validation run of ``trainer.fit`` (not the sanity check), reports the
    logged metric ``monitor`` at step = the epoch and raises `TrialPruned` when the trial's
    pruner says so; Lightning then tears training down and the exception reaches the
    objective, which the study records as PRUNED. Runs of ``trainer.validate()`` (or
    ``test``) before or after fit report nothing.

    With ``val_check_interval`` below one epoch, the first validation of each epoch counts
    (a trial reports once per step). Steps are epochs rather than optimiser steps so that
    trials with different batch sizes are compared at the same point of training. Training
    must run in one process: a trial lives in the process that runs the objective, so a
    multi-process strategy (DDP) is refused at setup.
    """

    def __init__(self, trial: Trial, monitor: str) -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if trainer.world_size > 1:
            raise ValueError(f"LightningPruningCallback needs training in one process; this "
                             f"trainer runs {trainer.world_size} (strategy "
                             f"{type(trainer.strategy).__name__})")

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        # Only the validations of `fit` are epochs: `trainer.validate()` before fit would
        # report the untrained model at step 0 (and hide the real epoch 0), and after fit an
        # extra step; its results are the caller's to use.
        if trainer.sanity_checking or getattr(trainer.state, "fn", None) != "fit":
            return
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            raise ValueError(f"the model logged no {self.monitor!r} during validation; it "
                             f"logged {sorted(metrics)} (self.log({self.monitor!r}, value) "
                             "in validation_step or on_validation_epoch_end)")
        epoch = trainer.current_epoch
        self._validated = True
        if epoch in self.trial.intermediate_values:  # a second validation in this epoch
            return
        report_or_prune(self.trial, float(metrics[self.monitor]), epoch)

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._validated = False

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        if not self._validated:  # (as Keras's callback says: silent, it never pruned)
            warnings.warn(f"Lightning ran no validation during fit (no val_dataloaders?), so "
                          f"{self.monitor!r} was never reported and trial "
                          f"{self.trial.number} could not be pruned", RuntimeWarning,
                          stacklevel=2)


__all__ = ["LightningPruningCallback"]
