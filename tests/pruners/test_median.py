"""Median and percentile pruners, checked against Optuna 5.0's on the same histories."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import optuna
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hyperdial.history import History, StudyDirection
from hyperdial.pruners import Decision, MedianPruner, PercentilePruner
from hyperdial.pruners.median import is_check_step, linear_percentile, percentile_prune
from hyperdial.testing.strategies import intermediate_values, pruning_cases
from hyperdial.trial import TrialRecord, TrialState

optuna.logging.set_verbosity(optuna.logging.WARNING)

settings_ = st.fixed_dictionaries({
    "percentile": st.sampled_from([0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 100.0]),
    "n_startup_trials": st.integers(0, 4),
    "n_warmup_steps": st.integers(0, 5),
    "interval_steps": st.integers(1, 4),
    "n_min_trials": st.integers(1, 3),
})
finite_or_nan = st.one_of(st.integers(-20, 20).map(float), st.just(math.nan))


def optuna_prunes(history: History, trial: TrialRecord, percentile: float,
                  **kwargs: int) -> bool:
    """Optuna's decision on the same trials (its reference trials are the COMPLETE ones)."""
    study = optuna.create_study(direction=history.directions[0].value)
    for t in history.trials:
        if t.state is TrialState.COMPLETE:
            study.add_trial(optuna.trial.create_trial(
                state=optuna.trial.TrialState.COMPLETE, value=t.value,
                intermediate_values=dict(t.intermediate_values)))
    target = optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING,
                                       intermediate_values=dict(trial.intermediate_values))
    pruner = optuna.pruners.PercentilePruner(percentile, **kwargs)
    with warnings.catch_warnings():  # Optuna's nanpercentile of an all-NaN slice warns
        warnings.simplefilter("ignore", RuntimeWarning)
        return bool(pruner.prune(study, target))


def as_documented(history: History, trial: TrialRecord) -> tuple[History, TrialRecord]:
    """The inputs on which Optuna decides as hyperdial does, by our two documented departures:
    a NaN latest value prunes (Optuna: only an all-NaN curve does), and NaN reference values
    do not count towards ``n_min_trials`` (Optuna counts them)."""
    def strip_nan(t: TrialRecord) -> TrialRecord:
        return TrialRecord(t.number, t.state, values=t.values, intermediate_values={
            s: v for s, v in t.intermediate_values.items() if not math.isnan(v)})

    curve = dict(trial.intermediate_values)
    if curve and math.isnan(curve[max(curve)]):
        curve = dict.fromkeys(curve, math.nan)
    return (History(tuple(map(strip_nan, history.trials)), history.directions),
            TrialRecord(trial.number, trial.state, intermediate_values=curve))


def decide(history: History, trial: TrialRecord, percentile: float, **kwargs: int) -> bool:
    return PercentilePruner(percentile, **kwargs).decide(history, trial) is Decision.PRUNE


@settings(max_examples=300, deadline=None)
@given(case=pruning_cases(values=st.integers(-20, 20).map(float)), args=settings_)
def test_same_decisions_as_optuna(case: tuple[History, TrialRecord], args: dict[str, Any]) -> None:
    assert decide(*case, **args) == optuna_prunes(*case, **args)


@settings(max_examples=300, deadline=None)
@given(case=pruning_cases(values=finite_or_nan), args=settings_)
def test_same_decisions_as_optuna_with_nan_up_to_the_documented_departures(
        case: tuple[History, TrialRecord], args: dict[str, Any]) -> None:
    assert decide(*case, **args) == optuna_prunes(*as_documented(*case), **args)


@settings(max_examples=100, deadline=None)
@given(case=pruning_cases(values=intermediate_values), args=settings_)
def test_same_decisions_as_optuna_with_infinities_when_minimising(
        case: tuple[History, TrialRecord], args: dict[str, Any]) -> None:
    assume(case[0].directions[0] is StudyDirection.MINIMIZE)
    assert decide(*case, **args) == optuna_prunes(*as_documented(*case), **args)


def test_the_departures_are_real() -> None:
    """Guard the two transformations above: without them Optuna decides otherwise."""
    done = TrialRecord(0, TrialState.COMPLETE, values=(1.0,), intermediate_values={0: 1.0, 1: 1.0})
    diverged = TrialRecord(1, TrialState.RUNNING, intermediate_values={0: 0.0, 1: math.nan})
    history = History((done, diverged))
    assert decide(history, diverged, 50.0, n_startup_trials=1)
    assert not optuna_prunes(history, diverged, 50.0, n_startup_trials=1)

    nan_done = TrialRecord(1, TrialState.COMPLETE, values=(1.0,), intermediate_values={0: math.nan})
    trial = TrialRecord(2, TrialState.RUNNING, intermediate_values={0: 5.0})
    history = History((done, nan_done, trial))
    assert not decide(history, trial, 50.0, n_startup_trials=1, n_min_trials=2)
    assert optuna_prunes(history, trial, 50.0, n_startup_trials=1, n_min_trials=2)


# -- hand-built cases ------------------------------------------------------------------------
def curve_trials(curves: list[list[float]], state: TrialState = TrialState.COMPLETE,
                 ) -> list[TrialRecord]:
    return [TrialRecord(i, state, values=(c[-1],) if state is TrialState.COMPLETE else None,
                        intermediate_values=dict(enumerate(c))) for i, c in enumerate(curves)]


def running(number: int, curve: dict[int, float]) -> TrialRecord:
    return TrialRecord(number, TrialState.RUNNING, intermediate_values=curve)


DONE = curve_trials([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.0, 3.0]])


@pytest.mark.parametrize(("direction", "curve", "expected"), [
    ("minimize", {0: 2.5}, Decision.PRUNE),     # worse than the median 2
    ("minimize", {0: 2.0}, Decision.CONTINUE),  # ties are kept
    ("minimize", {0: 1.5, 1: 9.0}, Decision.CONTINUE),  # its best so far, 1.5, is kept
    ("maximize", {0: 1.5}, Decision.PRUNE),
    ("maximize", {0: 2.5}, Decision.CONTINUE),
])
def test_median_respects_the_direction(direction: str, curve: dict[int, float],
                                       expected: Decision) -> None:
    trial = running(3, curve)
    history = History((*DONE, trial), (StudyDirection.parse(direction),))
    assert MedianPruner(n_startup_trials=3).decide(history, trial) is expected


def test_pruned_trials_are_no_reference() -> None:
    trial = running(6, {0: 2.5})
    bad = curve_trials([[9.0], [9.0], [9.0]], TrialState.PRUNED)
    bad = [TrialRecord(3 + t.number, t.state, intermediate_values=t.intermediate_values)
           for t in bad]
    assert MedianPruner(n_startup_trials=3).decide(History((*DONE, *bad, trial)), trial) \
        is Decision.PRUNE


def test_startup_and_warmup() -> None:
    trial = running(3, {0: 9.0, 1: 9.0})
    history = History((*DONE, trial))
    assert MedianPruner(n_startup_trials=4).decide(history, trial) is Decision.CONTINUE
    assert MedianPruner(n_startup_trials=3, n_warmup_steps=2).decide(history, trial) \
        is Decision.CONTINUE
    assert MedianPruner(n_startup_trials=3, n_warmup_steps=1).decide(history, trial) \
        is Decision.PRUNE


def test_no_pruning_without_any_complete_trial() -> None:
    trial = running(0, {0: math.nan})
    assert MedianPruner(n_startup_trials=0).decide(History((trial,)), trial) is Decision.CONTINUE


@pytest.mark.parametrize(("steps", "expected"), [
    ([0], True), ([0, 1], False), ([0, 1, 2], False), ([0, 1, 2, 3], True),
    ([0, 2, 4], True),   # the check at step 3 was missed: it happens at the next report
    ([0, 4, 5], False), ([3, 4], False), ([], False),
])
def test_interval_checks_wait_for_the_next_report(steps: list[int], expected: bool) -> None:
    assert is_check_step(steps, n_warmup_steps=0, interval_steps=3) is expected


def test_warmup_offsets_the_interval() -> None:
    assert [s for s in range(12) if is_check_step(range(s + 1), 5, 3)] == [5, 8, 11]


def test_kernel() -> None:
    ref = np.array([1.0, 2.0, 3.0, math.nan])
    assert percentile_prune(np.array([2.5]), ref, 50.0, 1)
    assert not percentile_prune(np.array([2.5]), ref, 50.0, 4)  # only 3 values that count
    assert percentile_prune(np.array([0.0, math.nan]), ref, 50.0, 1)
    assert not percentile_prune(np.array([math.nan, 1.0]), ref, 50.0, 1)
    assert not percentile_prune(np.array([5.0]), np.array([math.inf, -math.inf]), 50.0, 1)


def test_median_is_percentile_50() -> None:
    trial = running(3, {0: 2.5})
    history = History((*DONE, trial))
    assert MedianPruner(n_startup_trials=1).decide(history, trial) is \
        PercentilePruner(50.0, n_startup_trials=1).decide(history, trial)
    assert repr(MedianPruner()) == ("MedianPruner(n_startup_trials=5, n_warmup_steps=0, "
                                    "interval_steps=1, n_min_trials=1)")


def test_multi_objective_studies_are_refused() -> None:
    trial = running(0, {0: 1.0})
    history = History((trial,), (StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE))
    with pytest.raises(RuntimeError, match="single-objective"):
        MedianPruner().decide(history, trial)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"percentile": -1.0}, "percentile"), ({"percentile": 100.5}, "percentile"),
    ({"percentile": math.nan}, "percentile"), ({"percentile": "50"}, "percentile"),
    ({"n_startup_trials": -1}, "n_startup_trials"), ({"n_warmup_steps": -1}, "n_warmup_steps"),
    ({"interval_steps": 0}, "interval_steps"), ({"n_min_trials": 0}, "n_min_trials"),
    ({"n_startup_trials": 1.5}, "n_startup_trials"), ({"interval_steps": True}, "interval_steps"),
])
def test_invalid_arguments_are_named(kwargs: dict[str, Any], name: str) -> None:
    args = {"percentile": 50.0, **kwargs}
    with pytest.raises(ValueError, match=f"^{name} must be"):
        PercentilePruner(**args)
    if "percentile" not in kwargs:
        with pytest.raises(ValueError, match=f"^{name} must be"):
            MedianPruner(**kwargs)


def test_settings_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        MedianPruner(5)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        PercentilePruner(25.0, 5)  # type: ignore[call-arg]


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.floats(allow_nan=False, width=64),
                                 st.sampled_from([0.0, 1.0, -1.0])), min_size=1, max_size=40),
       percentile=st.one_of(st.floats(0.0, 100.0), st.sampled_from([0.0, 25.0, 50.0, 100.0])))
def test_linear_percentile_is_numpys(values: list[float], percentile: float) -> None:
    array = np.array(values)
    with np.errstate(invalid="ignore", over="ignore"):
        ours, numpys = linear_percentile(array.copy(), percentile), np.percentile(array, percentile)
    # the same number (NaN for inf - inf); a zero's sign may differ (numpy's own does with n)
    assert ours == numpys or (math.isnan(ours) and math.isnan(numpys)), (ours, numpys)


@settings(max_examples=500, deadline=None)
@given(st.sets(st.integers(0, 80), max_size=15), st.integers(0, 30), st.integers(1, 20))
def test_a_check_step_from_a_curves_keys_and_last_step_is_the_plain_rule(
        steps: set[int], n_warmup_steps: int, interval_steps: int) -> None:
    """The O(1) form the pruners call (a dict's keys and the trial's last step) agrees with
    the rule on a plain list of steps."""
    curve = dict.fromkeys(steps, 0.0)
    assert is_check_step(curve.keys(), n_warmup_steps, interval_steps,
                         max(steps) if steps else None) is is_check_step(
        sorted(steps), n_warmup_steps, interval_steps)
