"""KerasPruningCallback: real Keras 3 training (on the PyTorch backend), a real pruner."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is first imported
pytest.importorskip("torch")
keras = pytest.importorskip("keras")

import hyperdial as hd  # noqa: E402
from hyperdial.integrations.keras import KerasPruningCallback  # noqa: E402
from hyperdial.pruners import NopPruner, ThresholdPruner  # noqa: E402
from hyperdial.trial import TrialState  # noqa: E402

# Keras 3.15 hands numpy a torch tensor whose __array__ predates numpy 2's copy keyword.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy")

rng = np.random.default_rng(0)
X = rng.uniform(size=(96, 4)).astype("float32")
Y = X @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")


def _model(lr: float) -> object:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
    return model


def test_every_epoch_is_reported_and_the_trial_completes() -> None:
    study = hd.create_study(pruner=NopPruner())
    histories = []

    def objective(trial: hd.Trial) -> float:
        model = _model(trial.suggest_float("lr", 1e-3, 1e-1, log=True))
        history = model.fit(X, Y, validation_split=0.25, epochs=4, batch_size=24, verbose=0,
                            callbacks=[KerasPruningCallback(trial, "val_loss")])
        histories.append([float(v) for v in history.history["val_loss"]])
        return histories[-1][-1]

    study.optimize(objective, n_trials=2)
    for t, losses in zip(study.trials, histories, strict=True):
        assert t.state is TrialState.COMPLETE
        assert list(t.intermediate_values) == [0, 1, 2, 3]
        assert list(t.intermediate_values.values()) == pytest.approx(losses)


def test_a_pruned_trial_stops_fit_at_once() -> None:
    study = hd.create_study(pruner=ThresholdPruner(upper=1e-9))  # every real loss is above it
    epochs = []

    def objective(trial: hd.Trial) -> float:
        counter = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))
        _model(0.01).fit(X, Y, validation_split=0.25, epochs=10, verbose=0,
                         callbacks=[counter, KerasPruningCallback(trial)])
        return 0.0

    study.optimize(objective, n_trials=1)
    assert study.trials[0].state is TrialState.PRUNED
    assert epochs == [0]  # not 10
    assert list(study.trials[0].intermediate_values) == [0]


def test_epochs_without_validation_report_nothing() -> None:
    trial = hd.create_study().ask()
    _model(0.01).fit(X, Y, validation_split=0.25, validation_freq=2, epochs=4, verbose=0,
                     callbacks=[KerasPruningCallback(trial)])
    assert list(trial.intermediate_values) == [1, 3]


def test_a_typo_is_an_error_and_no_validation_a_warning() -> None:
    trial = hd.create_study().ask()
    with pytest.raises(ValueError, match=r"no 'val_mse'.*'val_loss'"):
        _model(0.01).fit(X, Y, validation_split=0.25, epochs=2, verbose=0,
                         callbacks=[KerasPruningCallback(trial, "val_mse")])
    other = hd.create_study().ask()
    with pytest.warns(RuntimeWarning, match="could not be pruned"):
        _model(0.01).fit(X, Y, epochs=2, verbose=0, callbacks=[KerasPruningCallback(other)])
    assert other.intermediate_values == {}


def test_a_metric_against_the_study_direction_is_an_error() -> None:
    """Keras knows a loss is better when lower and a compiled metric's direction, as its
    EarlyStopping(mode="auto") reads them: a maximising study pruned on either the wrong way
    round would stop its best trials."""
    def fit(trial: hd.Trial, monitor: str) -> None:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse", metrics=["mae", keras.metrics.R2Score()])
        model.fit(X, Y, validation_split=0.25, epochs=2, verbose=0,
                  callbacks=[KerasPruningCallback(trial, monitor)])

    for direction, monitor in (("maximize", "val_loss"), ("maximize", "val_mae"),
                               ("minimize", "val_r2_score")):
        trial = hd.create_study(direction=direction).ask()
        with pytest.raises(ValueError, match=f"inconsistent .* {monitor!r} is better when"):
            fit(trial, monitor)
        assert trial.intermediate_values == {}
    for direction, monitor in (("maximize", "val_r2_score"), ("minimize", "val_mae")):
        trial = hd.create_study(direction=direction).ask()
        fit(trial, monitor)
        assert list(trial.intermediate_values) == [0, 1]
