"""Keras 3: report a metric after every epoch, prune on request (any backend: JAX, PyTorch,
TensorFlow; choose it with ``KERAS_BACKEND`` before Keras is first imported).

>>> # model.fit(x, y, validation_split=0.2, epochs=20,
>>> #           callbacks=[KerasPruningCallback(trial, monitor="val_loss")])
"""

from __future__ import annotations

import warnings
from typing import Any

from hyperdial._optional import require
from hyperdial.integrations import check_direction, report_or_prune
from hyperdial.trial import Trial

keras = require("keras", "keras")


class KerasPruningCallback(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
    """At the end of each epoch, reports the logged metric ``monitor`` at step = the epoch
    (from 0) and raises `TrialPruned` when the trial's pruner says so; the exception leaves
    ``fit`` and the study records the trial as PRUNED.

    An epoch without validation (``validation_freq`` above 1) reports nothing. A metric
    missing from an epoch that did validate is an error naming the metrics that were logged;
    a validation metric that no epoch logged (no ``validation_data``) is warned about at the
    end of training, since nothing could be pruned.

    A metric whose direction Keras knows (as ``EarlyStopping(mode="auto")`` reads it: a loss
    is better when lower, a compiled metric such as accuracy says) and that is not the
    study's is a ValueError at the first report: the pruner would stop the best trials.
    """

    def __init__(self, trial: Trial, monitor: str = "val_loss") -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor
        self._reported = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._reported = False

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            validated = any(key.startswith("val_") for key in logs)
            if self.monitor.startswith("val_") and not validated:
                return  # this epoch did not validate
            raise ValueError(f"Keras logged no {self.monitor!r} at the end of epoch {epoch}; "
                             f"it logged {sorted(logs)}")
        if not self._reported:
            check_direction(self.trial, self._higher_is_better(), self.monitor,
                            "KerasPruningCallback")
        self._reported = True
        report_or_prune(self.trial, float(logs[self.monitor]), epoch)

    def _higher_is_better(self) -> bool | None:
        """Whether ``monitor`` is better when higher, as Keras's ``EarlyStopping`` decides it
        with ``mode="auto"``: a loss is not; a metric of the model says by its direction
        (those compiled are grouped); None when Keras does not know."""
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            return False
        for metric in getattr(self.model, "metrics", ()):
            for m in [metric, *getattr(metric, "metrics", ())]:
                if m.name == name and getattr(m, "_direction", None) in ("up", "down"):
                    return bool(m._direction == "up")
        return None

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._reported:
            warnings.warn(f"Keras logged no {self.monitor!r} in any epoch (no validation "
                          f"data?), so trial {self.trial.number} could not be pruned",
                          RuntimeWarning, stacklevel=2)


__all__ = ["KerasPruningCallback"]
