"""Objectives whose structure is known exactly, for tests of analysis and plots."""

from __future__ import annotations

import math

from hyperdial.trial import Trial


def lr_batch_ridge(trial: Trial) -> float:
    """A learning rate whose best value moves with the batch size (an interaction), an
    activation that adds a constant (a main effect) and a dropout that does nothing.

    The best learning rate for batch size ``b`` is ``10 ** (-2 + log2(b / 64) / 2)``.
    """
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    batch = trial.suggest_int("batch", 16, 256, log=True)
    act = trial.suggest_categorical("act", ["relu", "tanh"])
    trial.suggest_float("dropout", 0.0, 0.5)
    offset = 0.5 if act == "tanh" else 0.0
    return (math.log10(lr) + 2 - 0.5 * math.log2(batch / 64)) ** 2 + offset


def half_feasible(trial: Trial) -> float:
    """``x`` in [0, 1], minimised, with the constraint ``x >= 0.5``: the unconstrained best
    (near 0) is infeasible, the feasible best is near 0.5."""
    x = trial.suggest_float("x", 0, 1)
    trial.set_constraint("x >= 0.5", 0.5 - x)
    return x
