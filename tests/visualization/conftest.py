"""Studies to draw, shared by the plotly and the matplotlib tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import hyperdial as hd


def _study(direction: str = "minimize") -> hd.Study:
    def objective(trial: hd.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
        act = trial.suggest_categorical("act", ["relu", "tanh"])
        depth = trial.suggest_int("depth", 1, 8)
        value = (np.log10(lr) + 2) ** 2 + 0.3 * (act == "tanh") + 0.1 * depth
        for step in range(1, 4):
            trial.report(value * (1 + 1 / step), step)
            if trial.number % 5 == 4 and step == 2:
                raise hd.TrialPruned()
        return float(value if direction == "minimize" else -value)

    study = hd.create_study(direction=direction, sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=30)
    return study


@pytest.fixture()
def make_study() -> Callable[..., hd.Study]:
    """Builds a 30-trial study of lr (log), act and depth, with reports and pruned trials."""
    return _study


def _choice_study(choices: Sequence[Any]) -> hd.Study:
    def objective(trial: hd.Trial) -> float:
        return trial.suggest_float("x", 0, 1) + (trial.suggest_categorical("k", choices) is None)

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=16)
    return study


@pytest.fixture()
def make_choice_study() -> Callable[[Sequence[Any]], hd.Study]:
    """Builds a 16-trial study of x (0 to 1) and k, a categorical of the given choices."""
    return _choice_study


@pytest.fixture()
def branch_study() -> hd.Study:
    """A 20-trial study of two branches: model "a" holds lr, model "b" holds c."""
    def objective(trial: hd.Trial) -> float:
        if trial.suggest_categorical("model", ["a", "b"]) == "a":
            return trial.suggest_float("lr", 1e-4, 1.0, log=True)
        return 0.5 + trial.suggest_float("c", 0, 1)

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=20)
    return study


@pytest.fixture()
def vector_report_study() -> hd.Study:
    """A 2-trial study of two objectives, "loss" and "size", each trial reporting both at
    steps 0, 1 and 2."""
    def objective(trial: hd.Trial) -> tuple[float, float]:
        a = trial.suggest_float("a", 0, 1)
        for step in range(3):
            trial.report((a + step, 1 - a), step)
        return a, 1 - a

    study = hd.create_study(directions=["minimize", "minimize"])
    study.optimize(objective, n_trials=2)
    study.set_metric_names(["loss", "size"])
    return study
