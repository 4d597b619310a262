"""Threshold and patience pruners: bounds, warm-up, intervals, stalls and wrapping."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.history import History, StudyDirection
from hyperdial.pruners import Decision, MedianPruner, PatiencePruner, Pruner, ThresholdPruner
from hyperdial.pruners.threshold import stalled
from hyperdial.trial import TrialRecord, TrialState


def judge(pruner: Pruner, curve: dict[int, float],
          direction: StudyDirection = StudyDirection.MINIMIZE) -> Decision:
    trial = TrialRecord(0, TrialState.RUNNING, intermediate_values=curve)
    return pruner.decide(History((trial,), (direction,)), trial)


def test_threshold_bounds_and_nan() -> None:
    pruner = ThresholdPruner(lower=0.0, upper=1.0)
    assert judge(pruner, {0: 0.5}) is Decision.CONTINUE
    assert judge(pruner, {0: 1.5}) is Decision.PRUNE
    assert judge(pruner, {0: -0.5}) is Decision.PRUNE
    assert judge(pruner, {0: math.nan}) is Decision.PRUNE
    assert judge(ThresholdPruner(upper=1.0), {0: -1e9}) is Decision.CONTINUE


def test_threshold_warmup_and_interval() -> None:
    pruner = ThresholdPruner(upper=1.0, n_warmup_steps=2, interval_steps=3)
    assert judge(pruner, {0: 5.0, 1: 5.0}) is Decision.CONTINUE  # warming up
    assert judge(pruner, {2: 5.0}) is Decision.PRUNE
    assert judge(pruner, {2: 0.0, 3: 5.0}) is Decision.CONTINUE  # not a check step
    assert judge(pruner, {2: 0.0, 3: 0.0, 5: 5.0}) is Decision.PRUNE


def test_threshold_arguments() -> None:
    with pytest.raises(ValueError, match="lower, upper"):
        ThresholdPruner()
    with pytest.raises(ValueError, match="must not exceed"):
        ThresholdPruner(lower=2.0, upper=1.0)
    for side in ("lower", "upper"):
        with pytest.raises(ValueError, match=f"{side} must be a number, got nan"):
            ThresholdPruner(**{side: float("nan")})
    with pytest.raises(ValueError, match="interval_steps"):
        ThresholdPruner(upper=1.0, interval_steps=0)
    with pytest.raises(ValueError, match="single-number"):
        judge(ThresholdPruner(upper=1.0), {0: (1.0, 2.0)})  # type: ignore[dict-item]


def test_stalled_kernel() -> None:
    assert not stalled(np.array([3.0, 2.0]), 1, 0.0)  # too short
    assert stalled(np.array([3.0, 2.0, 2.0, 2.5]), 1, 0.0)  # flat counts as stalled
    assert not stalled(np.array([3.0, 2.0, 2.5, 1.9]), 1, 0.0)
    assert stalled(np.array([3.0, 2.0, 2.5, 1.9]), 1, 0.2)  # 0.1 better is not enough
    assert stalled(np.array([3.0, 2.0, math.nan, math.nan]), 1, 0.0)  # diverged
    assert not stalled(np.array([math.nan, math.nan, 1.0]), 0, 0.0)


def test_patience_direction_and_wrapping() -> None:
    rising = {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0}
    assert judge(PatiencePruner(patience=2), rising) is Decision.PRUNE
    assert judge(PatiencePruner(patience=2), rising, StudyDirection.MAXIMIZE) is Decision.CONTINUE
    wrapped = PatiencePruner(MedianPruner(n_startup_trials=0), patience=2)
    assert judge(wrapped, rising) is Decision.CONTINUE  # stalled, but the median has no data
    with pytest.raises(ValueError, match="patience"):
        PatiencePruner(patience=-1)
    with pytest.raises(ValueError, match="min_delta"):
        PatiencePruner(patience=1, min_delta=-1.0)


def test_patience_in_a_study() -> None:
    def objective(trial: hd.Trial) -> float:
        plateau = trial.suggest_int("plateau", 2, 30)
        loss = 1.0
        for step in range(40):
            if step < plateau:
                loss *= 0.9
            trial.report(loss, step)
            if trial.should_prune():
                raise hd.TrialPruned()
        return loss

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0),
                            pruner=PatiencePruner(patience=3))
    study.optimize(objective, n_trials=10)
    for t in study.trials:
        assert t.state is TrialState.PRUNED
        assert t.last_step == t.params["plateau"] + 3  # the 4th flat report after the last gain


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("min_delta", [0.0, 0.05])
def test_patient_pruner_decides_as_optunas(direction: str, min_delta: float) -> None:
    """Curves that fall, level off (ties included), rise, wobble or hold NaN, judged by both
    libraries at every step: the same decisions."""
    optuna = pytest.importorskip("optuna")
    rng = np.random.default_rng(0)
    curves = [np.round(rng.normal(size=12).cumsum() * 0.1, 1) for _ in range(40)]
    curves += [np.full(12, 0.5), np.r_[np.linspace(1, 0.2, 6), np.full(6, 0.2)],
               np.r_[0.3, np.full(11, math.nan)], np.r_[np.full(4, math.nan), np.ones(8)]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "experimental" in Optuna
        theirs = optuna.pruners.PatientPruner(None, patience=3, min_delta=min_delta)
    ours = hd.pruners.PatientPruner(None, patience=3, min_delta=min_delta)
    peer = optuna.create_study(direction=direction)
    for curve in curves:
        for last in range(1, len(curve) + 1):
            reports = {s: float(v) for s, v in enumerate(curve[:last])}
            frozen = optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING,
                                               intermediate_values=reports)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numpy's all-NaN slice, inside Optuna
                expected = theirs.prune(peer, frozen)
            got = judge(ours, reports, StudyDirection.parse(direction)) is Decision.PRUNE
            assert got == expected, (curve[:last], direction)


def test_patient_pruner_lets_a_plateau_go_on_where_patience_pruner_stops_it() -> None:
    plateau = {s: v for s, v in enumerate([1.0, 0.5, 0.5, 0.5, 0.5])}
    assert judge(hd.pruners.PatientPruner(None, 2), plateau) is Decision.CONTINUE
    assert judge(PatiencePruner(patience=2), plateau) is Decision.PRUNE
    assert repr(hd.pruners.PatientPruner(MedianPruner(), 2)).startswith(
        "PatientPruner(MedianPruner(")
