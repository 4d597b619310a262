"""Study semantics: ask/tell, suggest rules, bad objectives, enqueue, multi-objective."""

from __future__ import annotations

import asyncio
import copy
import fractions
import json
import logging
import math
import pickle
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.exceptions import StudyNotFound, TrialFinishedError, TrialNotFound
from hyperdial.testing.objectives import half_feasible
from hyperdial.trial import STALE_REASON, TrialRecord, TrialState


def quadratic(trial: hd.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    return (x - 1.0) ** 2


def test_optimize_finds_a_good_point_and_reports_best() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=1))
    study.optimize(quadratic, n_trials=60)
    assert len(study.trials) == 60
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    values = [t.value for t in study.trials]
    assert study.best_value == min(values)
    assert study.best_trial.number == int(np.argmin(values))
    assert study.best_value < 0.05
    assert study.best_params == study.best_trial.params


def test_maximize_direction_picks_the_largest() -> None:
    study = hd.create_study(direction="maximize", sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(quadratic, n_trials=20)
    assert study.best_value == max(t.value for t in study.trials)


def test_same_seed_same_sequence_and_different_seed_differs() -> None:
    def run(seed: int) -> list[dict[str, object]]:
        study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=seed))

        def objective(trial: hd.Trial) -> float:
            trial.suggest_int("n", 1, 100, log=True)
            trial.suggest_categorical("c", ["a", None, True])
            return trial.suggest_float("x", 0, 1)

        study.optimize(objective, n_trials=15)
        return [dict(t.params) for t in study.trials]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_suggest_same_name_returns_same_value_and_conflicting_distribution_raises() -> None:
    study = hd.create_study()
    trial = study.ask()
    x = trial.suggest_float("x", 0, 1)
    assert trial.suggest_float("x", 0, 1) == x
    with pytest.raises(ValueError, match="'x'.*already suggested"):
        trial.suggest_float("x", 0, 2)
    with pytest.raises(ValueError, match="'y'.*low"):
        trial.suggest_float("y", 1, 0)
    with pytest.raises(ValueError, match="'z'.*log"):
        trial.suggest_float("z", 0, 1, log=True)
    with pytest.raises(ValueError, match="'w'.*empty"):
        trial.suggest_categorical("w", [])


def test_numeric_distributions_are_shared_between_trials_and_checked_on_every_call() -> None:
    """suggest_float/int build a distribution once per distinct call; a bad one still raises
    each time, and bounds of another type are not mistaken for equal ones."""
    study = hd.create_study()
    first, second = study.ask(), study.ask()
    first.suggest_float("x", 0.0, 1.0)
    second.suggest_float("x", 0.0, 1.0)
    assert first.distributions["x"] is second.distributions["x"]
    for trial in (first, second):  # an error is never cached away
        with pytest.raises(ValueError, match="'bad'.*low"):
            trial.suggest_float("bad", 1.0, 0.0)
        with pytest.raises(ValueError, match="'half'"):
            trial.suggest_int("half", 0.5, 3)
        with pytest.raises(ValueError, match="'listed'"):  # unhashable: built, and refused
            trial.suggest_float("listed", [0.0], 1.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="'array': low must be a number"):  # not numpy's
            trial.suggest_float("array", np.array([0.0, 1.0]), 2.0)  # words on truth values
    first.suggest_int("k", 0, 3)
    first.suggest_int("one", 0, 1)
    with pytest.raises(ValueError, match="'flag'"):  # True == 1, but a bool is no bound
        first.suggest_int("flag", 0, True)
    second.suggest_int("k", 0.0, 3.0)  # integral floats are accepted as ints
    assert first.distributions["k"] == second.distributions["k"] == hd.Int(0, 3)
    assert isinstance(second.distributions["k"].low, int)
    assert second.suggest_float("arr", np.float64(0.5), 2.0) >= 0.5  # numpy bounds as floats
    assert type(second.distributions["arr"].low) is float


@pytest.mark.parametrize(
    ("returned", "reason"),
    [(float("nan"), "not finite"), (math.inf, "not finite"), (None, "None"),
     ("0.5", "not a number"), ((1.0, 2.0), "2 values"), (True, "not a number")],
)
def test_bad_return_values_fail_the_trial_and_the_study_goes_on(returned: object,
                                                                 reason: str) -> None:
    study = hd.create_study()
    calls = []

    def objective(trial: hd.Trial) -> object:
        calls.append(trial.number)
        trial.suggest_float("x", 0, 1)
        return returned if trial.number == 0 else 1.0

    study.optimize(objective, n_trials=3)
    first, *rest = study.trials
    assert first.state is TrialState.FAIL
    assert reason in (first.fail_reason or "")
    assert [t.state for t in rest] == [TrialState.COMPLETE] * 2
    assert calls == [0, 1, 2]


def test_numpy_scalars_are_accepted() -> None:
    study = hd.create_study()
    study.optimize(lambda t: np.float32(t.suggest_float("x", 0, 1)), n_trials=2)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


def test_any_real_number_is_a_value_and_a_tuple_may_hold_numpy_scalars() -> None:
    study = hd.create_study(directions=["minimize", "maximize"])
    study.optimize(lambda t: (Fraction(1, 4), np.float32(0.5)), n_trials=1)
    study.optimize(lambda t: (np.int64(2), np.array(0.75)), n_trials=1)
    assert [t.values for t in study.trials] == [(0.25, 0.5), (2.0, 0.75)]


def test_numpy_bounds_choices_and_enqueued_values_come_back_as_python_values() -> None:
    study = hd.create_study(storage="sqlite://")
    study.enqueue_trial({"x": np.float32(0.25), "k": np.int64(3), "c": np.str_("b")})

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", np.int64(-5), np.float32(10.0))
        k = trial.suggest_int("k", np.int64(1), np.int64(9), step=np.int64(2))
        c = trial.suggest_categorical("c", np.array(["a", "b"]))
        assert (type(x), type(k), type(c)) == (float, int, str)
        return x + k

    study.optimize(objective, n_trials=3)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert study.trials[0].params == {"x": 0.25, "k": 3, "c": "b"}  # the enqueued values


def test_exception_fails_trial_with_traceback_and_is_reraised_unless_caught() -> None:
    study = hd.create_study()

    def objective(trial: hd.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        if trial.number == 1:
            raise ZeroDivisionError("boom")
        return 0.0

    with pytest.raises(ZeroDivisionError):
        study.optimize(objective, n_trials=5)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL]
    failed = study.trials[1]
    assert failed.fail_reason == "ZeroDivisionError: boom"
    assert "raise ZeroDivisionError" in failed.system_attrs["traceback"]
    assert "x" in failed.params  # parameters of a failed trial are kept

    study.optimize(objective, n_trials=3, catch=(ZeroDivisionError,))
    assert len(study.trials) == 5


def test_keyboard_interrupt_marks_trial_interrupted_keeps_finished_and_resumes() -> None:
    storage = hd.storage.InMemoryStorage()
    study = hd.create_study(study_name="s", storage=storage)

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 3:
            raise KeyboardInterrupt
        return x

    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=10)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.FAIL]
    assert "interrupted" in (study.trials[3].fail_reason or "")
    resumed = hd.load_study(study_name="s", storage=storage)
    resumed.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(resumed.trials) == 6


def test_pruned_trial_and_intermediate_values() -> None:
    study = hd.create_study()

    def objective(trial: hd.Trial) -> float:
        for step in range(3):
            trial.report(step * 0.5, step)
        with pytest.warns(UserWarning, match="reported step 0 already; this value is ignored"):
            trial.report(99.0, 0)  # the first report at a step wins
        raise hd.TrialPruned

    study.optimize(objective, n_trials=2)
    assert all(t.state is TrialState.PRUNED for t in study.trials)
    assert study.trials[0].intermediate_values == {0: 0.0, 1: 0.5, 2: 1.0}
    assert study.trials[0].last_step == 2
    assert study.trials[0].value == 1.0  # Optuna's rule: its report at the last step
    with pytest.raises(ValueError, match="no trial has completed"):
        _ = study.best_trial


@pytest.mark.parametrize("storage", [None, "sqlite"])
def test_a_pruned_trial_keeps_its_last_finite_report_as_its_value(storage: str | None,
                                                                  tmp_path: Path) -> None:
    url = None if storage is None else f"sqlite:///{tmp_path / 'p.db'}"
    study = hd.create_study(storage=url, direction="maximize")
    reports: list[list[float]] = [[0.2, 0.9], [0.3, math.nan], [], [0.1]]
    for trial_reports in reports:
        trial = study.ask()
        for step, value in enumerate(trial_reports):
            trial.report(value, step)
        study.tell(trial.number, state=TrialState.PRUNED)  # by number: read from the storage
    study.optimize(lambda t: (t.report(0.7, 0), -1.0)[1], n_trials=1)
    values = [t.value for t in hd.load_study(study_name=study.study_name, storage=url).trials
              ] if url else [t.value for t in study.trials]
    assert values == [0.9, None, None, 0.1, -1.0]  # NaN last: no value, as in Optuna
    # A pruned trial's report is no result: the best is the only completed trial.
    assert study.best_value == -1.0
    assert not hd.stoppers.NoImprovementStopper(1).should_stop(study.history())


def test_constraints_set_on_a_trial_are_stored_and_read_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = hd.create_study(storage=url, study_name="c")

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.set_constraint("memory", x - 0.5)
        trial.report(x, 0)  # flushes what was set so far
        trial.set_constraint("latency", np.float32(-1.0))
        with pytest.warns(UserWarning, match="set constraint 'memory' already"):
            trial.set_constraint("memory", 99.0)
        with pytest.raises(ValueError, match="NaN"):
            trial.set_constraint("bad", math.nan)
        with pytest.raises(TypeError, match="must be a number"):
            trial.set_constraint("bad", "1")  # type: ignore[arg-type]
        assert trial.constraints == {"memory": x - 0.5, "latency": -1.0}
        return x

    study.optimize(objective, n_trials=3)
    for t in hd.load_study(study_name="c", storage=url).trials:
        assert t.constraints == {"memory": pytest.approx(t.params["x"] - 0.5), "latency": -1.0}
    df = study.trials_dataframe(attrs=("number", "constraints"))
    assert list(df.columns) == ["number", "constraints_latency", "constraints_memory"]
    finished = study.ask()
    study.tell(finished, 1.0)
    with pytest.raises(TrialFinishedError):
        finished.set_constraint("late", 0.0)


def test_the_best_trials_keep_to_feasible_ones() -> None:
    study = hd.create_study()
    for value, constraint in ((0.1, 1.0), (0.5, 0.0), (0.3, -2.0), (0.2, None)):
        trial = study.ask()
        if constraint is not None:
            trial.set_constraint("c", constraint)
        study.tell(trial, value)
    # 0.1 breaks its constraint; a trial without constraints counts as feasible (Optuna's rule)
    assert study.best_value == 0.2 and study.best_trial.number == 3
    assert [t.number for t in study.best_trials] == [3]
    none_ok = hd.create_study()
    trial = none_ok.ask()
    trial.set_constraint("c", 0.5)
    none_ok.tell(trial, 1.0)
    with pytest.raises(ValueError, match="no feasible trial has completed yet"):
        _ = none_ok.best_trial
    multi = hd.create_study(directions=["minimize", "minimize"])
    for values, constraint in (((0.0, 0.0), 1.0), ((1.0, 2.0), 0.0), ((2.0, 1.0), -1.0)):
        trial = multi.ask()
        trial.set_constraint("c", constraint)
        multi.tell(trial, values)
    assert [t.number for t in multi.best_trials] == [1, 2]  # (0, 0) would dominate both


def test_values_come_only_with_a_completed_trial() -> None:
    study = hd.create_study()
    for state in (TrialState.PRUNED, TrialState.FAIL):
        trial = study.ask()
        with pytest.raises(ValueError, match=f"not {state.value} ones"):
            study.tell(trial, 1.0, state=state)
        assert study.trials[trial.number].state is TrialState.RUNNING  # nothing written
        study.tell(trial, state=state)
    assert [t.values for t in study.trials] == [None, None]


def test_a_pruned_trial_of_several_objectives_keeps_a_full_vector_report() -> None:
    study = hd.create_study(directions=["minimize", "maximize"])
    trial = study.ask()
    trial.report((1.0, 2.0), 0)
    study.tell(trial, state=TrialState.PRUNED)
    assert [t.values for t in study.trials] == [(1.0, 2.0)]
    assert study.best_trials == []


@pytest.mark.parametrize(("directions", "report"), [
    (["minimize"], [0.5, 1.0]),              # an accidental (loss, accuracy) pair
    (["minimize"], []),
    (["minimize", "maximize"], 3.0),
    (["minimize", "maximize"], (0.5, 0.5, 9.0)),
    (["minimize", "maximize"], ()),
])
def test_a_report_of_another_width_than_the_objectives_is_refused(
        directions: list[str], report: Any) -> None:
    """A vector in a one-objective study was stored, and the median pruner then crashed the
    study with numpy's "setting an array element with a sequence"; a scalar in a
    two-objective study failed only at a halving rung. Now `report` refuses both, and keeps
    nothing."""
    study = hd.create_study(directions=directions)
    trial = study.ask()
    with pytest.raises((ValueError, TypeError), match="objective|number"):
        trial.report(report, 0)
    assert trial.intermediate_values == {}
    trial.report([1.0] * len(directions), 0)   # the right width still goes in
    study.tell(trial, state=TrialState.PRUNED)
    assert len(study.trials[0].intermediate_values) == 1


def test_a_vector_report_no_longer_stops_a_study_under_the_default_pruner() -> None:
    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(3):
            trial.report([x, 1.0] if trial.number == 6 else x, step)
            if trial.should_prune():
                raise hd.TrialPruned()
        return x

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=8, catch=ValueError)
    states = [t.state for t in study.trials]
    assert states[6] is TrialState.FAIL and "1 objective" in study.trials[6].fail_reason
    assert states.count(TrialState.FAIL) == 1 and len(states) == 8


def test_optunas_deprecated_suggest_spellings_still_work_and_warn() -> None:
    trial = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0)).ask()
    with pytest.warns(FutureWarning, match="suggest_uniform is deprecated"):
        assert 0 <= trial.suggest_uniform("u", 0, 1) <= 1
    with pytest.warns(FutureWarning, match=r"use suggest_float\(name, low, high, log=True\)"):
        assert 1e-3 <= trial.suggest_loguniform("lr", 1e-3, 1) <= 1
    with pytest.warns(FutureWarning, match="suggest_discrete_uniform"):
        q = trial.suggest_discrete_uniform("q", 0, 1, 0.25)
    assert q in {0.0, 0.25, 0.5, 0.75, 1.0}
    assert trial.distributions["lr"] == hd.Float(1e-3, 1, log=True)
    assert trial.distributions["q"] == hd.Float(0, 1, step=0.25)


def test_ask_tell_user_attrs_and_fixed_distributions() -> None:
    study = hd.create_study()
    trial = study.ask({"lr": hd.Float(1e-4, 1, log=True)})
    assert 1e-4 <= trial.params["lr"] <= 1
    trial.set_user_attr("note", {"a": [1, 2]})
    with pytest.raises(TypeError, match="JSON"):
        trial.set_user_attr("bad", object())
    record = study.tell(trial, 0.25)
    assert record.state is TrialState.COMPLETE and record.value == 0.25
    assert record.user_attrs == {"note": {"a": [1, 2]}}
    assert record.distributions["lr"] == hd.Float(1e-4, 1, log=True)
    for again in (trial, trial.number):  # a second end is refused, as Optuna's ValueError
        with pytest.raises(TrialFinishedError, match="trial 0 is already COMPLETE"):
            study.tell(again, 0.5)
        assert study.tell(again, 0.5, skip_if_finished=True).value == 0.25
    with pytest.raises(ValueError, match="already COMPLETE"):
        study.tell(trial, 0.5)
    for change in (lambda: trial.suggest_float("new", 0, 1), lambda: trial.report(0.1, 1),
                   lambda: trial.set_user_attr("late", 1)):
        with pytest.raises(TrialFinishedError, match="cannot change"):
            change()
    assert trial.suggest_float("lr", 1e-4, 1, log=True) == trial.params["lr"]  # reads are fine
    assert study.trials[0].value == 0.25 and study.trials[0].user_attrs == {"note": {"a": [1, 2]}}
    with pytest.raises(TrialNotFound):
        study.tell(7, 0.5)


def test_a_trial_of_another_study_object_is_refused() -> None:
    mine, other = hd.create_study(), hd.create_study()
    trial = mine.ask()
    trial.suggest_float("x", 0, 1)
    other.ask()
    with pytest.raises(ValueError, match="asked by another Study object"):
        other.tell(trial, 1.0)
    assert [t.state for t in other.trials] == [TrialState.RUNNING]  # untouched
    assert mine.tell(trial, 1.0).params == trial.params


def test_an_ask_that_fails_leaves_no_trial_running() -> None:
    study = hd.create_study()
    with pytest.raises(TypeError, match=r"fixed_distributions\['x'\] must be a distribution"):
        study.ask({"x": "not a distribution"})  # refused before a trial starts
    assert study.trials == []
    study.enqueue_trial({"x": 5.0})  # outside Float(0, 1)
    with pytest.raises(ValueError, match="enqueued value 5.0 is outside"):
        study.ask({"x": hd.Float(0, 1)})
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL and "starting it failed" in trial.fail_reason
    assert study.ask().number == 1  # the study goes on


def test_an_enqueued_value_never_suggested_stays_out_of_the_finished_trial() -> None:
    study = hd.create_study()
    study.enqueue_trial({"x": 0.5, "extra": 3})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    (trial,) = study.trials
    assert trial.params == {"x": 0.5} and set(trial.distributions) == {"x"}
    assert "params_extra" not in study.trials_dataframe().columns
    hd.create_study().add_trial(trial)  # a consistent record


def test_a_negative_trial_number_is_no_trial() -> None:
    study = hd.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    for number in (-1, -2):
        with pytest.raises(TrialNotFound):
            study.tell(number, 5.0, skip_if_finished=True)


def test_enqueued_trials_run_first_with_their_values() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"x": 0.5, "c": None}, user_attrs={"why": "baseline"})
    study.enqueue_trial({"x": 0.25, "c": "a"})
    assert study.enqueue_trial({"x": 0.5, "c": None}, skip_if_exists=True) is None
    assert study.enqueue_trial({"x": 0.5, "c": 1}, skip_if_exists=True) is not None
    for same_as_dict in ({"x": 0.5, "c": True}, {"x": 0.5, "c": 1.0}):  # distinct choices
        assert study.enqueue_trial(same_as_dict, skip_if_exists=True) is not None
    assert study.enqueue_trial({"c": True, "x": 0.5}, skip_if_exists=True) is None
    for t in study.trials[2:]:  # not this test's subject: drop them from the queue
        study.tell(t.number, state=hd.TrialState.FAIL)
    seen = []

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        c = trial.suggest_categorical("c", [None, "a"])
        seen.append((x, c))
        return x

    study.optimize(objective, n_trials=3)
    assert seen[:2] == [(0.5, None), (0.25, "a")]
    assert study.trials[0].user_attrs == {"why": "baseline"}


def test_enqueued_value_outside_the_distribution_fails_that_trial_only() -> None:
    study = hd.create_study()
    study.enqueue_trial({"x": 7.0})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2, catch=(ValueError,))
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert "outside" in (study.trials[0].fail_reason or "")


def test_multi_objective_pareto_front() -> None:
    study = hd.create_study(directions=["minimize", "maximize"],
                            sampler=hd.samplers.RandomSampler(seed=0))

    def objective(trial: hd.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        return x, x ** 0.5 - 0.3 * trial.suggest_float("y", 0, 1)

    study.optimize(objective, n_trials=40)
    front = study.best_trials
    assert front
    values = np.array([t.values for t in study.trials])
    for t in front:  # nobody dominates a front member
        a = np.array(t.values)
        dominated = (values[:, 0] <= a[0]) & (values[:, 1] >= a[1]) & (
            (values[:, 0] < a[0]) | (values[:, 1] > a[1]))
        assert not dominated.any()
    for single in ("best_trial", "best_value", "best_params"):
        with pytest.raises(RuntimeError, match="use study.best_trials"):
            getattr(study, single)
    for t in study.trials:  # every non-member is dominated by somebody
        if t not in front:
            a = np.array(t.values)
            assert (((values[:, 0] <= a[0]) & (values[:, 1] >= a[1])) & (
                (values[:, 0] < a[0]) | (values[:, 1] > a[1]))).any()
    with pytest.raises(RuntimeError):
        _ = study.best_trial
    with pytest.raises(RuntimeError):
        _ = study.direction


def test_invalid_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="direction"):
        hd.create_study(direction="up")
    with pytest.raises(ValueError, match="either"):
        hd.create_study(direction="minimize", directions=["minimize"])
    study = hd.create_study()
    with pytest.raises(ValueError, match="n_jobs"):
        study.optimize(quadratic, n_trials=1, n_jobs=0)
    with pytest.raises(ValueError, match="n_trials"):
        study.optimize(quadratic, n_trials=-1)
    with pytest.raises(ValueError, match="timeout"):
        study.optimize(quadratic, timeout=0)


def test_create_load_and_name_clashes() -> None:
    storage = hd.storage.InMemoryStorage()
    hd.create_study(study_name="a", storage=storage)
    with pytest.raises(hd.exceptions.DuplicatedStudy):
        hd.create_study(study_name="a", storage=storage)
    again = hd.create_study(study_name="a", storage=storage, load_if_exists=True)
    assert again.study_name == "a"
    with pytest.raises(ValueError, match="directions"):
        hd.create_study(study_name="a", storage=storage, direction="maximize",
                        load_if_exists=True)
    with pytest.raises(hd.exceptions.StudyNotFound, match="'zzz'"):
        hd.load_study(study_name="zzz", storage=storage)
    assert hd.get_all_study_names(storage) == ["a"]
    hd.delete_study(study_name="a", storage=storage)
    assert hd.get_all_study_names(storage) == []


def test_study_summaries_count_states_and_name_the_best(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert hd.get_all_study_summaries(url) == []
    one = hd.create_study(study_name="one", storage=url, direction="maximize",
                          sampler=hd.samplers.RandomSampler(seed=0))
    one.set_user_attr("owner", "me")
    for value in (1.0, 3.0, 2.0):
        one.tell(one.ask(), value)
    one.tell(one.ask(), state=hd.TrialState.PRUNED)
    one.ask()  # left running
    two = hd.create_study(study_name="two", storage=url, directions=["minimize", "minimize"])
    for values in ([1.0, 2.0], [2.0, 1.0], [3.0, 3.0]):
        two.tell(two.ask(), values)
    hd.create_study(study_name="empty", storage=url)

    by_name = {s.study_name: s for s in hd.get_all_study_summaries(url)}
    assert sorted(by_name) == ["empty", "one", "two"]
    first = by_name["one"]
    assert first.n_trials == 5 and first.direction is hd.StudyDirection.MAXIMIZE
    assert (first.state_counts[hd.TrialState.COMPLETE], first.state_counts[hd.TrialState.PRUNED],
            first.state_counts[hd.TrialState.RUNNING]) == (3, 1, 1)
    assert first.best_trial is not None and first.best_trial.number == 1
    assert first.user_attrs == {"owner": "me"}
    assert first.datetime_start == one.trials[0].datetime_start
    second = by_name["two"]
    assert second.best_trial is None  # as in Optuna: no single best with several objectives
    assert sorted(t.number for t in second.best_trials) == [0, 1]
    with pytest.raises(RuntimeError, match="several objectives"):
        _ = second.direction
    empty = by_name["empty"]
    assert (empty.n_trials, empty.best_trials, empty.datetime_start) == (0, (), None)
    running = [t for t in hd.load_study(study_name="one", storage=url).trials
               if t.state is hd.TrialState.RUNNING]
    assert len(running) == 1  # listing wrote nothing (no stale check, no heartbeat)


def test_copy_study_keeps_every_trial() -> None:
    src, dst = hd.storage.InMemoryStorage(), hd.storage.InMemoryStorage()
    study = hd.create_study(study_name="s", storage=src)
    study.enqueue_trial({"x": 0.1})
    study.optimize(quadratic, n_trials=5)
    study.enqueue_trial({"x": 0.2})
    hd.copy_study(from_study_name="s", from_storage=src, to_storage=dst, to_study_name="t")
    copied = hd.load_study(study_name="t", storage=dst)
    assert copied.trials == study.trials


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "sqlite"])
def test_parallel_threads_run_every_trial_once(on_disk: bool, tmp_path: Path) -> None:
    """Threads, each going from trial to trial in one write, share one view: each trial
    number runs once, and the view equals a fresh reload (no event applied twice)."""
    url = f"sqlite:///{tmp_path / 'threads.db'}" if on_disk else None
    study = hd.create_study(study_name="t", storage=url,
                            sampler=hd.samplers.RandomSampler(seed=0))
    seen: list[int] = []
    lock = threading.Lock()

    def objective(trial: hd.Trial) -> float:
        with lock:
            seen.append(trial.number)
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=120, n_jobs=4)
    assert sorted(seen) == list(range(120))
    fresh = hd.load_study(study_name="t", storage=url or study.storage).trials
    assert [t.state for t in fresh] == [TrialState.COMPLETE] * 120
    assert study.trials == fresh


@pytest.mark.parametrize("n_jobs", [1, 3])
@pytest.mark.parametrize("backend", ["memory", "sqlite", "journal"])
@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_the_running_view_equals_a_reload(sampler: str, backend: str, n_jobs: int,
                                          tmp_path: Path) -> None:
    """A worker reads back only part of the log after each step (its own writes, or what is
    new since its last read); whatever the trials did, what the study shows in the running
    process must equal what a fresh reload reads. A trial that reported wrote before its
    end: those writes were lost on SQLite with random search (no params, no reports)."""
    url = {"memory": None, "sqlite": f"sqlite:///{tmp_path / 'r.db'}",
           "journal": f"journal:///{tmp_path / 'r.jsonl'}"}[backend]
    study = hd.create_study(study_name="r", storage=url,
                            sampler=hd.samplers.SAMPLERS[sampler](seed=0))

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 3 == 0:
            trial.suggest_categorical("c", ["a", None])  # suggested before any report...
        trial.report(x, 0)
        if trial.number % 2:
            trial.suggest_int("k", 1, 4)  # ...and after one: written with the end
        trial.set_user_attr("n", [trial.number])
        trial.report(x / 2, 3)
        if trial.number % 7 == 5:
            raise ValueError("caught")
        return x

    study.optimize(objective, n_trials=30, n_jobs=n_jobs, catch=(ValueError,))
    mine = study.trials
    assert all(set(t.intermediate_values) == {0, 3} and "x" in t.params for t in mine)
    assert all(("c" in t.params) == (t.number % 3 == 0) for t in mine)
    assert all(("k" in t.params) == (t.number % 2 == 1) for t in mine)
    assert all(t.user_attrs == {"n": [t.number]} for t in mine)
    assert sum(t.state is TrialState.FAIL for t in mine) == 4
    assert mine == hd.load_study(study_name="r", storage=url or study.storage).trials
    assert study.best_params == study.best_trial.params and "x" in study.best_params


def test_timeout_stops_and_callbacks_see_every_trial() -> None:
    study = hd.create_study()
    finished: list[int] = []
    study.optimize(quadratic, timeout=0.3, callbacks=[lambda s, t: finished.append(t.number)])
    assert finished == [t.number for t in study.trials]
    assert len(finished) > 0


def test_progress_bar_counts_trials_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("rich")
    study = hd.create_study()
    study.optimize(quadratic, n_trials=12, show_progress_bar=True)
    out, err = capsys.readouterr()
    assert "12/12" in err
    assert out == ""


def test_progress_bar_shows_the_studys_best_when_resumed(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The bar's best began anew with each optimize call: a resumed study whose best was 100
    showed "best 1"."""
    pytest.importorskip("rich")
    study = hd.create_study(direction="maximize")
    study.optimize(lambda t: 100.0, n_trials=1)
    capsys.readouterr()
    study.optimize(lambda t: 1.0, n_trials=2, show_progress_bar=True)
    assert "best 100" in capsys.readouterr().err

    def breaks_it(trial: hd.Trial) -> float:  # an infeasible 9 is not the best, as best_value
        trial.set_constraint("c", 1.0)
        return 9.0

    study.optimize(breaks_it, n_trials=1, show_progress_bar=True)
    assert "best 100" in capsys.readouterr().err


def test_bad_returns_and_interruptions_end_their_trial() -> None:
    """An int past a float's range raised OverflowError out of optimize, and a BaseException
    other than Ctrl-C or sys.exit() (asyncio's CancelledError) propagated; both left their
    trial RUNNING. ``catch`` that holds no exception class (``"ValueError"``) failed at the
    first error with isinstance's TypeError, the trial RUNNING: it is refused up front."""
    study = hd.create_study()
    study.optimize(lambda t: 10 ** 400 if t.suggest_int("n", 0, 1) >= 0 else 0, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 2
    assert "an int of 1329 bits, too large for a float" in (study.trials[0].fail_reason or "")
    huge = hd.create_study()  # any Real past a float's range
    huge.optimize(lambda t: fractions.Fraction(10 ** 400, 3), n_trials=1)
    assert huge.trials[0].fail_reason == ("the objective returned a Fraction, too large for a "
                                          "float")

    def cancelled(trial: hd.Trial) -> float:
        raise asyncio.CancelledError("shut down")

    with pytest.raises(asyncio.CancelledError):
        study.optimize(cancelled, n_trials=2)
    assert study.trials[-1].state is TrialState.FAIL
    assert study.trials[-1].fail_reason == "CancelledError: shut down"
    for catch in ("ValueError", (ValueError, None)):
        with pytest.raises(TypeError, match="catch must be exception classes"):
            study.optimize(cancelled, n_trials=1, catch=catch)  # type: ignore[arg-type]
    assert len(study.trials) == 3


def test_stop_from_a_callback_ends_the_run() -> None:
    study = hd.create_study()

    def stop_at_five(s: hd.Study, record: hd.TrialRecord) -> None:
        if record.number == 4:
            s.stop()

    study.optimize(quadratic, n_trials=100, callbacks=[stop_at_five])
    assert len(study.trials) == 5


def test_declarative_space_through_suggest_space() -> None:
    space = hd.SearchSpace.from_dict({
        "model": {"type": "categorical", "choices": ["A", "B"]},
        "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True,
               "condition": {"parent": "model", "in": ["A"]}},
        "depth": {"type": "int", "low": 1, "high": 8,
                  "condition": {"parent": "model", "in": ["B"]}},
    })
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: len(t.suggest_space(space)), n_trials=30)
    for t in study.trials:
        expected = {"model", "lr"} if t.params["model"] == "A" else {"model", "depth"}
        assert set(t.params) == expected
        space.validate(t.params)


def test_trials_dataframe_has_one_row_per_trial() -> None:
    study = hd.create_study()
    study.optimize(quadratic, n_trials=4)
    df = study.trials_dataframe()
    assert list(df["number"]) == [0, 1, 2, 3]
    assert {"value", "params_x", "state", "duration"} <= set(df.columns)


def test_trials_dataframe_takes_optunas_attrs_and_multi_index() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    assert study.trials_dataframe().empty

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 1:
            trial.suggest_categorical("c", ["a", "b"])  # a column only one trial fills
        trial.report(x, 0)
        trial.report(x / 2, 3)
        return x

    study.optimize(objective, n_trials=3)
    df = study.trials_dataframe(attrs=("number", "state", "params", "intermediate_values"),
                                multi_index=True)
    assert list(df.columns) == [("number", ""), ("state", ""), ("params", "c"),
                                ("params", "x"), ("intermediate_values", 0),
                                ("intermediate_values", 3)]
    assert list(df[("state", "")]) == ["COMPLETE"] * 3
    assert df[("params", "c")].isna().tolist() == [True, False, True]
    assert df[("intermediate_values", 3)].tolist() == pytest.approx(
        [t.params["x"] / 2 for t in study.trials])
    flat = study.trials_dataframe(attrs=("value", "params"))
    assert list(flat.columns) == ["value", "params_c", "params_x"]
    assert flat["value"].tolist() == [t.value for t in study.trials]
    with pytest.raises(ValueError, match=r"unknown trial attribute\(s\) \['valu'\]"):
        study.trials_dataframe(attrs=("number", "valu"))
    with pytest.raises(TypeError, match="not the string"):
        study.trials_dataframe(attrs="params")


def test_trials_dataframe_spreads_the_values_of_several_objectives() -> None:
    study = hd.create_study(directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 2.0), n_trials=2)
    trial = study.ask()
    study.tell(trial, state=TrialState.FAIL)
    df = study.trials_dataframe(attrs=("number", "value"))  # "value" means "values" here
    assert list(df.columns) == ["number", "values_0", "values_1"]
    assert df["values_1"].tolist()[:2] == [2.0, 2.0] and df.iloc[2].isna().tolist() == [
        False, True, True]


@pytest.mark.parametrize("multi_index", [False, True])
def test_value_columns_follow_the_objectives_not_the_alphabet(multi_index: bool) -> None:
    study = hd.create_study(directions=["minimize", "maximize"])
    study.set_metric_names(["loss", "acc"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 2.0), n_trials=2)
    columns = list(study.trials_dataframe(attrs=("number", "values"),
                                          multi_index=multi_index).columns)
    assert columns == ([("number", ""), ("values", "loss"), ("values", "acc")] if multi_index
                       else ["number", "values_loss", "values_acc"])  # as Optuna 5 has them


def test_metric_names_name_the_values_and_stay_with_the_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'names.db'}"
    study = hd.create_study(study_name="mo", storage=url, directions=["maximize", "minimize"])
    assert study.metric_names is None
    study.set_user_attr("dataset", "digits")
    study.set_metric_names(["accuracy", "latency"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 2.0), n_trials=2)
    again = hd.load_study(study_name="mo", storage=url)
    assert again.metric_names == ["accuracy", "latency"]
    assert again.user_attrs == {"dataset": "digits"}  # kept apart, as in Optuna
    df = again.trials_dataframe(attrs=("number", "value"))
    assert list(df.columns) == ["number", "values_accuracy", "values_latency"]
    assert df["values_latency"].tolist() == [2.0, 2.0]
    single = hd.create_study()
    single.set_metric_names(["loss"])
    single.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert list(single.trials_dataframe(attrs=("number", "value")).columns) == [
        "number", "value_loss"]
    with pytest.raises(ValueError, match="1 metric name"):
        study.set_metric_names(["accuracy"])
    with pytest.raises(ValueError, match="distinct non-empty strings"):
        study.set_metric_names(["a", "a"])
    assert again.metric_names == ["accuracy", "latency"]  # refused names change nothing


def test_report_and_should_prune_work_end_to_end_with_a_median_pruner() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0),
                            pruner=hd.pruners.MedianPruner(n_startup_trials=3))
    full_curves = 0

    def objective(trial: hd.Trial) -> float:
        nonlocal full_curves
        level = trial.suggest_float("level", 0, 1)
        for step in range(10):
            trial.report(level + 1 / (step + 1), step)
            if trial.should_prune():
                raise hd.TrialPruned
        full_curves += 1
        return level

    study.optimize(objective, n_trials=30)
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(pruned) + len(complete) == 30 and full_curves == len(complete)
    assert pruned, "a median pruner must stop some of 30 random curves"
    assert all(t.number >= 3 for t in pruned)  # n_startup_trials
    # every pruned trial was worse than the median of the completed ones when it stopped
    for t in pruned:
        step = t.last_step
        assert step is not None
        earlier = [c.intermediate_values[step] for c in complete if c.number < t.number]
        assert min(t.intermediate_values.values()) > np.median(earlier)


@pytest.mark.parametrize("make", [lambda: hd.samplers.RandomSampler(seed=7),
                                  lambda: hd.samplers.QMCSampler(seed=7)],
                         ids=["random", "qmc"])
def test_a_resumed_seeded_study_replays_the_uninterrupted_sequence(
        make: Callable[[], hd.samplers.Sampler], tmp_path: Path) -> None:
    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        n = trial.suggest_int("n", 1, 32, log=True)
        return x * x + n

    whole = hd.create_study(sampler=make())
    whole.optimize(objective, n_trials=20)
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    first = hd.create_study(study_name="r", storage=url, sampler=make())
    first.optimize(objective, n_trials=8)
    resumed = hd.load_study(study_name="r", storage=url, sampler=make())
    resumed.optimize(objective, n_trials=12)
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]


def test_told_records_equal_the_stored_ones(tmp_path: Path) -> None:
    """tell() builds a finished trial's record from the events it has just written, without
    reading them back: that record, and the study's view, must equal a fresh reload's."""
    url = f"sqlite:///{tmp_path / 'told.db'}"
    study = hd.create_study(study_name="told", storage=url,
                            sampler=hd.samplers.RandomSampler(seed=0))

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        trial.set_user_attr("pair", (x, "a"))  # a tuple: stored, and read back, as a list
        if trial.number % 3 == 1:
            trial.report(x, step=0)
        if trial.number % 3 == 2:
            raise ValueError("boom")
        return x

    told = []
    study.optimize(objective, n_trials=9, catch=(ValueError,),
                   callbacks=[lambda s, record: told.append(record)])
    fresh = hd.load_study(study_name="told", storage=url).trials
    assert [t.state for t in told].count(TrialState.FAIL) == 3
    for a, b in zip(told, fresh, strict=True):
        assert (a.number, a.state, a.values, a.params, a.distributions, a.user_attrs,
                a.intermediate_values, a.fail_reason) == \
               (b.number, b.state, b.values, b.params, b.distributions, b.user_attrs,
                b.intermediate_values, b.fail_reason)
        assert a.datetime_complete == b.datetime_complete
    assert study.trials == fresh


class _CountingStorage(hd.storage.SQLStorage):
    """A SQLite storage that counts the writes that start and end trials."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls = {"create_trial": 0, "append": 0, "append_and_create": 0}

    def create_trial(self, *args: Any, **kwargs: Any) -> int | None:
        self.calls["create_trial"] += 1
        return super().create_trial(*args, **kwargs)

    def append(self, *args: Any, **kwargs: Any) -> None:
        self.calls["append"] += 1
        super().append(*args, **kwargs)

    def append_and_create(self, *args: Any, **kwargs: Any) -> tuple[int, list[Any]]:
        self.calls["append_and_create"] += 1
        return super().append_and_create(*args, **kwargs)


def test_optimize_writes_a_trial_end_and_the_next_start_at_once(tmp_path: Path) -> None:
    storage = _CountingStorage(f"sqlite:///{tmp_path / 'fused.db'}")
    fused = hd.create_study(study_name="fused", storage=storage,
                            sampler=hd.samplers.RandomSampler(seed=3))
    fused.optimize(quadratic, n_trials=10)
    assert storage.calls == {"create_trial": 1, "append": 1, "append_and_create": 9}
    # A callback may stop the study after any trial, so with callbacks each trial starts alone.
    apart = hd.create_study(sampler=hd.samplers.RandomSampler(seed=3))
    apart.optimize(quadratic, n_trials=10, callbacks=[lambda s, t: None])
    assert [t.params for t in fused.trials] == [t.params for t in apart.trials]
    assert [t.state for t in fused.trials] == [TrialState.COMPLETE] * 10
    fused.optimize(quadratic, n_trials=3, callbacks=[lambda s, t: None])
    assert storage.calls == {"create_trial": 4, "append": 4, "append_and_create": 9}
    assert len(hd.load_study(study_name="fused", storage=storage.url).trials) == 13


def test_stop_from_the_objective_starts_no_further_trial() -> None:
    study = hd.create_study()

    def objective(trial: hd.Trial) -> float:
        if trial.number == 3:
            study.stop()
        return quadratic(trial)

    study.optimize(objective, n_trials=100)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4


def test_a_trial_ended_elsewhere_still_lets_the_next_one_start(tmp_path: Path) -> None:
    """Another worker marks a running trial failed (stale): its late end is dropped, and with
    it the next trial's start written alongside, which then starts on its own."""
    url = f"sqlite:///{tmp_path / 'stale.db'}"
    study = hd.create_study(study_name="s", storage=url)
    other = hd.storage.SQLStorage(url)
    study_id = other.get_study("s").id

    def objective(trial: hd.Trial) -> float:
        if trial.number == 1:
            other.append(study_id, 1, [("finish", {"t": 1.0, "state": "FAIL",
                                                   "reason": "stale (test)"})])
        return quadratic(trial)

    study.optimize(objective, n_trials=4)
    other.close()
    trials = hd.load_study(study_name="s", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL,
                                         TrialState.COMPLETE, TrialState.COMPLETE]
    assert trials[1].fail_reason == "stale (test)"


@pytest.mark.parametrize("kwargs", [{"sampler": "tpe"}, {"pruner": "median"},
                                    {"sampler": hd.pruners.MedianPruner()}])
def test_a_sampler_or_pruner_of_the_wrong_type_fails_before_anything_is_written(
        kwargs: dict[str, Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'parts.db'}"
    with pytest.raises(TypeError, match="must be a hyperdial (Sampler|Pruner)"):
        hd.create_study(study_name="s", storage=url, **kwargs)
    assert hd.get_all_study_names(url) == []
    hd.create_study(study_name="s", storage=url)
    with pytest.raises(TypeError, match="must be a hyperdial"):
        hd.load_study(study_name="s", storage=url, **kwargs)


def test_an_objective_that_is_not_callable_starts_no_trial() -> None:
    study = hd.create_study()
    with pytest.raises(TypeError, match="must be a callable"):
        study.optimize(42, n_trials=3)  # type: ignore[arg-type]
    assert study.trials == []


@pytest.mark.parametrize("name", ["", "  ", 3])
def test_a_blank_or_non_string_study_name_is_refused(name: Any) -> None:
    with pytest.raises(ValueError, match="study_name must be a non-empty string"):
        hd.create_study(study_name=name)


def test_added_trials_are_stored_whole_and_reload(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'added.db'}"
    study = hd.create_study(study_name="s", storage=url)
    dists = {"x": hd.Float(0, 1), "c": hd.Categorical(("a", None))}
    study.add_trial(hd.create_trial(params={"x": 0.25, "c": None}, distributions=dists,
                                    value=0.5, user_attrs={"from": "paper"},
                                    intermediate_values={1: 0.9, 2: 0.7}))
    study.add_trials([hd.create_trial(state=TrialState.PRUNED, params={"x": 0.75, "c": "a"},
                                      distributions=dists, intermediate_values={1: 2.0}),
                      hd.create_trial(params={"x": 0.5, "c": "a"}, distributions=dists,
                                      value=0.125)])
    for trials in (study.trials, hd.load_study(study_name="s", storage=url).trials):
        assert [t.number for t in trials] == [0, 1, 2]
        first = trials[0]
        assert first.state is TrialState.COMPLETE and first.values == (0.5,)
        assert first.params == {"x": 0.25, "c": None} and first.distributions == dists
        assert first.intermediate_values == {1: 0.9, 2: 0.7}
        assert first.user_attrs == {"from": "paper"}
        assert first.datetime_start is not None and first.duration is not None
        assert trials[1].state is TrialState.PRUNED and trials[1].values is None
    assert study.best_value == 0.125
    assert study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))[0].number == 1


def test_added_trials_warm_start_the_sampler() -> None:
    """TPE past its start-up trials, fed only added results, proposes near their optimum."""
    study = hd.create_study(sampler=hd.samplers.TPESampler(seed=0, n_startup_trials=10))
    dists = {"x": hd.Float(0, 1)}
    study.add_trials(hd.create_trial(params={"x": x}, distributions=dists, value=(x - 0.8) ** 2)
                     for x in np.linspace(0, 1, 21))
    proposed = [study.ask().suggest_float("x", 0, 1) for _ in range(10)]
    assert np.mean(np.abs(np.array(proposed) - 0.8)) < 0.1  # uniform draws: about 0.34


def test_a_stepped_value_written_by_an_older_hyperdial_is_the_same_configuration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the decimal grids a study stored 3 * 0.1 = 0.30000000000000004; a new 0.3 was
    then another configuration, so skip_if_exists (and warm-start's dedup) ran it again."""
    study = hd.create_study()
    grid = hd.Float(0.0, 1.0, step=0.1)
    with monkeypatch.context() as older:  # add_trial writing values as they come, as it did
        older.setattr(hd.study, "canonical", lambda dist, value: value)
        study.add_trial(hd.create_trial(params={"x": 0.1 * 3}, distributions={"x": grid},
                                        value=1.0))
    assert study.trials[0].params["x"] == 0.30000000000000004  # as the older code wrote it
    assert study.enqueue_trial({"x": 0.3}, skip_if_exists=True) is None
    assert study.enqueue_trial({"x": 0.1 * 3}, skip_if_exists=True) is None  # either way
    assert study.enqueue_trial({"x": 0.4}, skip_if_exists=True) is not None
    ints = hd.create_study()
    ints.add_trial(hd.create_trial(params={"n": 3}, distributions={"n": hd.Int(1, 5)},
                                   value=1.0))
    assert ints.enqueue_trial({"n": 3.0}, skip_if_exists=True) is None  # an Int's 3.0 is 3
    flags = hd.create_study()
    flags.add_trial(hd.create_trial(params={"c": 1}, value=1.0,
                                    distributions={"c": hd.Categorical((1, True))}))
    assert flags.enqueue_trial({"c": True}, skip_if_exists=True) is not None  # True is not 1


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_add_trials_with_a_bad_record_among_them_adds_none(tmp_path: Path, storage: str) -> None:
    """The good records before the bad one were written."""
    study = hd.create_study(storage=None if storage == "memory"
                            else f"sqlite:///{tmp_path / 'add.db'}")
    dists = {"x": hd.Float(0, 1)}
    good = [hd.create_trial(params={"x": x}, distributions=dists, value=x) for x in (0.1, 0.2)]
    bad = hd.create_trial(params={"x": 0.3}, distributions=dists, values=[0.3, 0.4])
    with pytest.raises(ValueError, match="cannot add the trial"):
        study.add_trials([*good, bad])
    assert study.trials == []
    pruned = hd.create_trial(params={"x": 0.3}, distributions=dists, values=[0.3, 0.4],
                             state=hd.TrialState.PRUNED)  # a last report of two objectives
    with pytest.raises(ValueError, match="last report, 1 number"):
        study.add_trials([*good, pruned])
    assert study.trials == []
    study.add_trials(good)
    assert [t.value for t in study.trials] == [0.1, 0.2]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"value": 1.0, "params": {"x": 2.0}}, "not a value of"),
    ({"value": 1.0, "params": {"y": 0.5}}, "name the same parameters"),
    ({"params": {"x": 0.5}}, "needs value or values"),
    ({"value": 1.0, "values": [1.0], "params": {"x": 0.5}}, "not both"),
    ({"state": TrialState.RUNNING, "params": {"x": 0.5}}, "must be COMPLETE, PRUNED or FAIL"),
    ({"state": TrialState.FAIL, "value": 1.0, "params": {"x": 0.5}}, "has none"),
])
def test_create_trial_refuses_what_could_not_have_happened(kwargs: dict[str, Any],
                                                           match: str) -> None:
    with pytest.raises(ValueError, match=match):
        hd.create_trial(distributions={"x": hd.Float(0, 1)}, **kwargs)


@pytest.mark.parametrize(("reports", "error"), [({0: "x"}, TypeError), ({-1: 0.5}, ValueError),
                                                ({1.5: 0.5}, ValueError)])
def test_create_trial_refuses_reports_that_report_would(reports: dict[Any, Any],
                                                        error: type[Exception]) -> None:
    with pytest.raises(error, match="intermediate value|step"):
        hd.create_trial(value=1.0, intermediate_values=reports)
    record = TrialRecord(number=0, state=TrialState.COMPLETE, values=(1.0,),
                         intermediate_values=reports)
    study = hd.create_study()
    with pytest.raises(error):
        study.add_trial(record)
    assert study.trials == []


def test_an_added_trial_keeps_its_times_or_gets_an_ordered_pair() -> None:
    study = hd.create_study()
    study.add_trial(hd.create_trial(value=1.0))
    assert study.trials[0].duration is not None and study.trials[0].duration.total_seconds() >= 0
    start = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    study.add_trial(replace(study.trials[0], datetime_start=start,
                            datetime_complete=start + timedelta(minutes=5)))
    copied = study.trials[1]
    assert (copied.datetime_start, copied.duration) == (start, timedelta(minutes=5))


def test_add_trial_checks_values_against_the_study_and_writes_nothing_bad() -> None:
    study = hd.create_study(directions=["minimize", "minimize"])
    dists = {"x": hd.Float(0, 1)}
    with pytest.raises(ValueError, match="1 values for 2 objective"):
        study.add_trial(hd.create_trial(params={"x": 0.5}, distributions=dists, value=1.0))
    with pytest.raises(ValueError, match="its values hold nan, which is not finite"):
        study.add_trial(TrialRecord(number=0, state=TrialState.COMPLETE, params={"x": 0.5},
                                    distributions=dists, values=(1.0, math.nan)))
    assert study.trials == []
    study.add_trial(hd.create_trial(params={"x": 0.5}, distributions=dists, values=[1.0, 2.0]))
    assert study.trials[0].values == (1.0, 2.0)
    # a record built by hand, with numpy values, is stored as Python values
    study.add_trial(TrialRecord(number=0, state=TrialState.COMPLETE, params={"x": np.float32(0.25)},
                                distributions=dists, values=(np.float64(1.0), np.int64(3)),
                                user_attrs={"n": np.int32(7)}))
    added = hd.load_study(study_name=study.study_name, storage=study.storage).trials[1]
    assert (added.params, added.values, added.user_attrs) == ({"x": 0.25}, (1.0, 3.0), {"n": 7})


def test_gc_after_trial_collects_after_every_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    calls: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(1) or 0)
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4, gc_after_trial=True)
    assert len(calls) == 4
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(calls) == 4


def test_study_user_attrs_are_set_stored_and_seen_by_other_handles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'attrs.db'}"
    study = hd.create_study(study_name="s", storage=url, user_attrs={"owner": "me"})
    other = hd.load_study(study_name="s", storage=url)
    study.set_user_attr("dataset", {"name": "digits", "rows": 1797})
    assert other.user_attrs == {"owner": "me", "dataset": {"name": "digits", "rows": 1797}}
    with pytest.raises(TypeError, match="JSON"):
        study.set_user_attr("model", object())
    with pytest.raises(TypeError, match="key must be a string"):
        study.set_user_attr(3, 1)  # type: ignore[arg-type]
    assert set(study.user_attrs) == {"owner", "dataset"}


def test_numpy_reports_and_attributes_are_stored_as_python_values() -> None:
    study = hd.create_study(storage="sqlite://", user_attrs={"n_rows": np.int64(569)})
    study.set_user_attr("classes", np.arange(2))

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.set_user_attr("n_iter", np.int32(7))
        trial.set_user_attr("pair", (1, 2))
        assert trial.user_attrs["pair"] == [1, 2]  # as the storage will give it back
        for step in np.arange(2):
            trial.report(np.float32(0.5), step)
        trial.report(np.array([0.25]), 5)
        return x

    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state is TrialState.COMPLETE
    assert trial.user_attrs == {"n_iter": 7, "pair": [1, 2]}
    assert type(trial.user_attrs["n_iter"]) is int
    # (np.array([0.25]) is one number: reported as that number)
    assert trial.intermediate_values == {0: 0.5, 1: 0.5, 5: 0.25}
    assert study.user_attrs == {"n_rows": 569, "classes": [0, 1]}
    with pytest.raises(TypeError, match="user attribute 'bad' must be JSON-serialisable"):
        study.set_user_attr("bad", object())


def _square(trial: hd.Trial) -> float:
    return trial.suggest_float("x", -1, 1) ** 2


def _optimize_copy(study: hd.Study) -> int:
    study.optimize(_square, n_trials=5)
    return len(study.trials)


def test_a_pickled_study_on_a_database_runs_in_another_process(tmp_path: Path) -> None:
    study = hd.create_study(storage=f"sqlite:///{tmp_path / 's.db'}",
                            sampler=hd.samplers.TPESampler(seed=3),
                            pruner=hd.pruners.MedianPruner(n_startup_trials=2))
    study.optimize(_square, n_trials=4)
    with ProcessPoolExecutor(2) as pool:
        seen = list(pool.map(_optimize_copy, [study, study]))
    assert min(seen) >= 9 and max(seen) == 14
    numbers = [t.number for t in study.trials]
    assert numbers == list(range(14))
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    twin = pickle.loads(pickle.dumps(study))
    assert repr(twin.sampler) == repr(study.sampler) and repr(twin.pruner) == repr(study.pruner)
    assert twin.heartbeat_interval == study.heartbeat_interval


def test_a_pickled_in_memory_study_is_an_independent_copy() -> None:
    study = hd.create_study(sampler=hd.samplers.TPESampler(seed=3))
    study.set_user_attr("dataset", "digits")
    study.optimize(_square, n_trials=12)
    twin = pickle.loads(pickle.dumps(study))
    assert [t.params for t in twin.trials] == [t.params for t in study.trials]
    assert twin.user_attrs == {"dataset": "digits"}
    # the same sampler and history: the next proposals agree ...
    mine, theirs = study.ask(), twin.ask()
    assert mine.number == theirs.number == 12
    assert mine.suggest_float("x", -1, 1) == theirs.suggest_float("x", -1, 1)
    twin.optimize(_square, n_trials=3)
    # ... and the copy's trials stay with the copy
    assert len(twin.trials) == 16 and len(study.trials) == 13


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_worker_reads_the_others_trials_only_if_its_sampler_needs_them(
        sampler: str, tmp_path: Path) -> None:
    """Two workers on one SQLite file take turns. Random search proposes without the history,
    so its worker reads no other worker's trial between its own (in `optimize`, without
    callbacks, where a trial's end and the next start are one write); TPE's does. Both see every
    trial, in the state the other left it, as soon as they ask."""
    url = f"sqlite:///{tmp_path / 'workers.db'}"

    def make(seed: int) -> hd.Study:
        chosen = (hd.samplers.RandomSampler(seed=seed) if sampler == "random"
                  else hd.samplers.TPESampler(seed=seed, n_startup_trials=3))
        return hd.create_study(study_name="shared", storage=url, load_if_exists=True,
                               sampler=chosen)

    mine, theirs = make(0), make(1)
    reads: list[int] = []
    read = mine.storage.read
    mine.storage.read = lambda *a, **k: reads.append(1) or read(*a, **k)  # type: ignore[method-assign]

    def objective(trial: hd.Trial) -> float:
        return (trial.suggest_float("x", -1.0, 1.0) - 0.5) ** 2

    def taking_turns(trial: hd.Trial) -> float:
        theirs.optimize(objective, n_trials=2)  # the other worker, meanwhile
        return objective(trial)

    mine.optimize(taking_turns, n_trials=10)
    during = len(reads)
    everything = make(2).trials
    assert len(everything) == 30
    assert mine.trials == everything == theirs.trials
    assert mine.best_trial == min(everything, key=lambda t: t.values or (math.inf,))
    assert (during <= 1) is (sampler == "random")  # the first ask's sync only


def test_the_default_pruner_is_optunas_median_rule_for_one_objective() -> None:
    """Optuna code that reports and asks ``should_prune`` without naming a pruner prunes as it
    did there; a study of several objectives, which no median rule can judge, prunes nothing."""
    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(5):
            trial.report(x + 1.0 / (step + 1), step)
            if trial.should_prune():
                raise hd.TrialPruned()
        return x

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    assert repr(study.pruner).startswith("MedianPruner(")
    study.optimize(objective, n_trials=30)
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert len(pruned) >= 5 and all(t.number >= 5 for t in pruned)  # after 5 startup trials
    both = hd.create_study(directions=["minimize", "minimize"])
    assert isinstance(both.pruner, hd.pruners.NopPruner)


# -- a sampler's constraints_func: its values are stored with the trial ------------------------
def _x_at_least_half(trial: TrialRecord) -> list[float]:
    return [0.5 - trial.params["x"]]


@pytest.mark.parametrize("make", [
    lambda cf: hd.samplers.TPESampler(seed=0, constraints_func=cf),
    lambda cf: hd.samplers.NSGAIISampler(seed=0, population_size=4, constraints_func=cf),
    lambda cf: hd.samplers.PartialFixedSampler(
        {}, hd.samplers.TPESampler(seed=0, constraints_func=cf)),
], ids=["tpe", "nsga2", "wrapped"])
def test_constraints_func_values_are_stored_so_the_best_trial_is_feasible(
        make: Callable[[Any], hd.samplers.Sampler]) -> None:
    """Optuna stores the function's values with the trial: best_trial, best_trials and
    History.feasible then keep to the trials it finds feasible (minimising x, x >= 0.5)."""
    study = hd.create_study(sampler=make(_x_at_least_half))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=12)
    for t in study.trials:
        assert t.constraints == {"0": pytest.approx(0.5 - t.params["x"])}
    assert any(t.params["x"] < 0.5 for t in study.trials)  # some broke it
    assert study.best_trial.params["x"] >= 0.5
    assert all(t.params["x"] >= 0.5 for t in study.history().feasible)
    assert min(t.params["x"] for t in study.trials if t.params["x"] >= 0.5) == study.best_value


def test_constraints_func_sees_the_finished_trial_and_is_written_with_its_end() -> None:
    seen: list[TrialRecord] = []

    def constraints(trial: TrialRecord) -> tuple[float, ...]:
        seen.append(trial)
        return (trial.user_attrs["memory"] - 2.0, -math.inf)  # -inf: always satisfied

    study = hd.create_study(sampler=hd.samplers.TPESampler(seed=0, constraints_func=constraints))
    appended: list[list[Any]] = []
    append = study.storage.append
    study.storage.append = lambda sid, n, events: (  # type: ignore[method-assign]
        appended.append(list(events)), append(sid, n, events))[1]
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    trial.set_user_attr("memory", 3.0)
    trial.set_constraint("latency", -1.0)
    record = study.tell(trial, 0.25)
    (got,) = seen
    assert (got.state, got.values, got.user_attrs) == (TrialState.COMPLETE, (0.25,),
                                                        {"memory": 3.0})
    assert got.params == trial.params and got.constraints == {"latency": -1.0}
    assert got.datetime_complete is not None
    assert record.constraints == {"latency": -1.0, "0": 1.0, "1": -math.inf}
    assert [kind for kind, _ in appended[-1]][-2:] == ["attrs", "finish"]  # one write
    with pytest.raises(ValueError, match="no feasible trial"):
        _ = study.best_trial  # memory 3 > 2
    study.tell(study.ask(), state=TrialState.FAIL)
    study.tell(study.ask(), state=TrialState.PRUNED)
    assert len(seen) == 1  # a completed trial's only


@pytest.mark.parametrize(("func", "reason"), [
    (lambda t: 1 / 0, "constraints_func failed: ZeroDivisionError"),
    (lambda t: 0.5, "must return a sequence of numbers, got 0.5"),
    (lambda t: "0", "must return a sequence"),
    (lambda t: [math.nan], "returned NaN"),
    (lambda t: [None], "returned None of type NoneType"),
], ids=["raises", "scalar", "string", "nan", "none"])
def test_a_broken_constraints_func_fails_the_trial_with_the_reason(
        func: Callable[[TrialRecord], Any], reason: str) -> None:
    """Optuna raises and leaves the trial COMPLETE without constraints (feasible to
    best_trial); here the trial fails with the reason, as for an unusable objective value."""
    study = hd.create_study(sampler=hd.samplers.TPESampler(seed=0, constraints_func=func))
    trial = study.ask()
    with pytest.warns(RuntimeWarning, match="failed: constraints_func"):
        record = study.tell(trial, 1.0)
    assert record.state is TrialState.FAIL and reason in (record.fail_reason or "")
    assert record.constraints == {}
    study.optimize(lambda t: 1.0, n_trials=1)  # the loop logs it and goes on
    assert study.trials[-1].state is TrialState.FAIL


def test_add_trial_keeps_the_constraints_and_system_attrs_of_a_record() -> None:
    source = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    source.optimize(half_feasible, n_trials=20)
    failed = source.ask()
    source.tell(failed, state=TrialState.FAIL, fail_reason="boom", traceback="Traceback ...")
    copy = hd.create_study()
    copy.add_trials(source.trials)
    assert [t.constraints for t in copy.trials] == [t.constraints for t in source.trials]
    assert copy.best_trial.params == source.best_trial.params
    assert copy.trials[-1].system_attrs == {"fail_reason": "boom", "traceback": "Traceback ..."}
    # other system attributes travel too; those of the source's own bookkeeping do not
    record = hd.create_trial(value=1.0, system_attrs={
        "constraints:c": -math.inf, "origin": "lab", "retry_of": 3, "proposal": {},
        "distributed_task": "run:0:1"})
    copy.add_trial(record)
    assert copy.trials[-1].system_attrs == {"constraints:c": -math.inf, "origin": "lab"}
    for bad in (math.nan, "high"):
        with pytest.raises(ValueError, match="constraint 'constraints:c'"):
            copy.add_trial(replace(record, system_attrs={"constraints:c": bad}))
    assert len(copy.trials) == 22


def test_added_values_are_written_as_samplers_write_them(tmp_path: Path) -> None:
    """add_trial kept 3.0 for an Int, 1 for a Float and 0.30000000000000004 for a step of
    0.1, through a SQLite round trip too, where every other writer gives 3, 1.0 and 0.3."""
    url = f"sqlite:///{tmp_path / 'added.db'}"
    study = hd.create_study(storage=url, study_name="s")
    study.add_trial(hd.create_trial(
        params={"n": 3.0, "x": 1, "s": 0.30000000000000004}, value=1.0,
        distributions={"n": hd.Int(0, 5), "x": hd.Float(0, 2), "s": hd.Float(0, 1, step=0.1)}))
    for params in (study.best_params, hd.load_study(study_name="s", storage=url).best_params):
        assert [(v, type(v)) for v in params.values()] == [(3, int), (1.0, float), (0.3, float)]


def test_constraints_in_optunas_forms_are_read() -> None:
    """Optuna 5's ``create_trial(constraints=...)`` was a TypeError, and a record with Optuna
    4's list under "constraints" was added as unconstrained: the infeasible trial that
    dominates the feasible one was then alone on the front."""
    study = hd.create_study(directions=["minimize", "minimize"])
    dist = {"x": hd.Float(0, 1)}
    study.add_trial(hd.create_trial(values=[0.0, 0.0], params={"x": 0.5}, distributions=dist,
                                    system_attrs={"constraints": [1.0, -2.0]}))
    study.add_trial(hd.create_trial(values=[1.0, 1.0], params={"x": 0.5}, distributions=dist,
                                    constraints={"c": -1.0}))
    assert [t.constraints for t in study.trials] == [{"0": 1.0, "1": -2.0}, {"c": -1.0}]
    assert [t.number for t in study.best_trials] == [1]
    with pytest.raises(ValueError, match="'constraints' is 'high', not a list of numbers"):
        study.add_trial(hd.create_trial(values=[1.0, 1.0], system_attrs={"constraints": "high"}))
    with pytest.raises(ValueError, match="constraint 'constraints:c'"):
        study.add_trial(hd.create_trial(values=[1.0, 1.0], constraints={"c": math.nan}))
    assert len(study.trials) == 2


def test_a_pruned_trial_keeps_its_value_when_created_or_added() -> None:
    record = hd.create_trial(state=TrialState.PRUNED, value=1.5, intermediate_values={0: 1.5})
    assert record.value == 1.5
    source = hd.create_study(pruner=hd.pruners.ThresholdPruner(upper=1.0))

    def pruned(t: hd.Trial) -> float:
        t.report(2.5, 0)
        raise hd.TrialPruned

    source.optimize(pruned, n_trials=1)
    target = hd.create_study()
    target.add_trials([*source.trials, record])
    assert [(t.state, t.value) for t in target.trials] == [(TrialState.PRUNED, 2.5),
                                                           (TrialState.PRUNED, 1.5)]
    bare = hd.create_trial(state=TrialState.PRUNED)
    target.add_trial(bare)
    assert target.trials[-1].values is None


def test_get_trials_takes_optunas_signature() -> None:
    study = hd.create_study()
    study.tell(study.ask(), 1.0)
    study.ask()
    assert len(study.get_trials(False)) == 2
    assert [t.number for t in study.get_trials(False, (TrialState.RUNNING,))] == [1]
    assert [t.number for t in study.get_trials(deepcopy=True, states=[TrialState.COMPLETE])] \
        == [0]
    assert [t.number for t in study.get_trials([TrialState.COMPLETE])] == [0]  # older spelling


def test_study_summaries_read_the_list_of_studies_a_fixed_number_of_times(
        tmp_path: Path) -> None:
    """Each summary read the study's attributes through a scan of every study: 3,000
    studies in one file took 75 s (0.44 s now)."""
    storage = hd.storage.get_storage(f"sqlite:///{tmp_path / 'many.db'}")
    for i in range(40):
        hd.create_study(study_name=f"s{i}", storage=storage).set_user_attr("i", i)
    scans = 0
    studies = storage.studies

    def counting() -> list[Any]:
        nonlocal scans
        scans += 1
        return studies()

    storage.studies = counting  # type: ignore[method-assign]
    summaries = hd.get_all_study_summaries(storage)
    assert [s.user_attrs for s in summaries] == [{"i": i} for i in range(40)]
    assert scans <= 2
    study = hd.load_study(study_name="s7", storage=storage)
    scans = 0
    assert study.user_attrs == {"i": 7} and scans == 0
    hd.storage.get_storage(storage).rename_study("s7", "seven")  # elsewhere: found by its id
    assert study.user_attrs == {"i": 7}


def test_study_summaries_can_leave_out_the_best_trial(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = hd.create_study(study_name="one", storage=url)
    study.tell(study.ask(), 1.0)
    (with_best,) = hd.get_all_study_summaries(url)
    (without,) = hd.get_all_study_summaries(url, include_best_trial=False)
    assert with_best.best_trial is not None and with_best.best_trial.number == 0
    assert without.best_trial is None and without.best_trials == ()
    assert without.n_trials == 1


def test_tell_complete_without_values_raises_and_the_trial_runs_on() -> None:
    study = hd.create_study()
    trial = study.ask()
    with pytest.raises(ValueError, match="COMPLETE needs values"):
        study.tell(trial, state=TrialState.COMPLETE)
    assert study.trials[0].state is TrialState.RUNNING
    assert study.tell(trial, 2.0).state is TrialState.COMPLETE


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_with_retries_the_worker_sees_the_parameters_it_stored_early(
        storage: str, tmp_path: Path) -> None:
    """Retries store each parameter as it is suggested; the worker's own view then ended the
    trial without them (every trial had params {}, and TPE modelled nothing)."""
    url = None if storage == "memory" else f"sqlite:///{tmp_path / 'early.db'}"
    study = hd.create_study(storage=url, failed_trial_retries=1,
                            sampler=hd.samplers.TPESampler(seed=0, n_startup_trials=5))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2, n_trials=20)
    assert all(set(t.params) == {"x"} for t in study.trials)
    assert study.best_params == {"x": study.best_trial.params["x"]}
    assert abs(study.best_params["x"] - 0.3) < 0.1  # the model saw the values
    if url is not None:
        stored = hd.load_study(study_name=study.study_name, storage=url)
        assert [t.params for t in stored.trials] == [t.params for t in study.trials]


@pytest.mark.parametrize("retries", [0, 1])
def test_a_trial_failed_as_stale_while_it_runs_stops_without_breaking_the_worker(
        retries: int, tmp_path: Path) -> None:
    """Another worker fails a paused worker's trial as stale; when it resumes, its next
    suggestion or report must not raise out of `optimize`: `should_prune` says stop, and the
    late end is dropped with a warning."""
    url = f"sqlite:///{tmp_path / 'stale.db'}"
    study = hd.create_study(study_name="s", storage=url, failed_trial_retries=retries)
    seen: list[bool] = []

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 0:  # as if paused past the grace period: another worker ends it
            hd.load_study(study_name="s", storage=url).tell(0, state=TrialState.FAIL)
        y = trial.suggest_float("y", 0, 1)
        trial.report(x + y, 1)
        seen.append(trial.should_prune())
        if seen[-1]:
            raise hd.TrialPruned()
        return x + y

    with pytest.warns(RuntimeWarning, match="late result is dropped"):
        study.optimize(objective, n_trials=3)
    assert seen == [True, False, False]
    assert [t.state for t in study.trials] == [TrialState.FAIL, *[TrialState.COMPLETE] * 2]


def test_a_second_tell_through_another_study_object_raises(tmp_path: Path) -> None:
    """It only warned that the trial was "marked stale by another worker?" and returned the
    first result, where the guide promises TrialFinishedError (Optuna: "Cannot tell a
    COMPLETE trial"); with skip_if_finished it is returned as stored, silently. A trial
    failed as stale still drops the late result with a warning."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    a = hd.create_study(study_name="s", storage=url)
    b = hd.load_study(study_name="s", storage=url)
    trial = a.ask()
    b.tell(trial.number, 1.0)
    with pytest.raises(TrialFinishedError, match="already COMPLETE .told through another"):
        a.tell(trial, 2.0)
    assert a.trials[0].values == (1.0,) and trial.finished_as is TrialState.COMPLETE
    kept = a.ask()
    b.tell(kept.number, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert a.tell(kept, 3.0, skip_if_finished=True).values == (1.0,)
    stale = a.ask()  # failed as `Storage.fail_stale` fails a trial whose heartbeat stopped
    b._storage.append(b._info.id, stale.number, [
        ("finish", {"t": time.time(), "state": "FAIL", "reason": STALE_REASON})])
    with pytest.warns(RuntimeWarning, match="failed as stale by another worker"):
        assert a.tell(stale, 4.0).state is TrialState.FAIL


def test_an_objective_that_tells_its_own_trial_has_its_return_value_dropped_with_a_log(
        caplog: pytest.LogCaptureFixture) -> None:
    """The returned value was dropped without a word."""
    def objective(trial: hd.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        trial.study.tell(trial, 0.5)
        return 1.0

    study = hd.create_study()
    with caplog.at_level(logging.WARNING, logger="hyperdial"):
        study.optimize(objective, n_trials=2)
    assert [t.value for t in study.trials] == [0.5, 0.5]
    assert [r.getMessage() for r in caplog.records] == [
        f"trial {n} was already finished (told already: COMPLETE); its late result is dropped"
        for n in (0, 1)]


def test_an_objective_error_after_its_trial_was_told_elsewhere_still_rises(
        tmp_path: Path) -> None:
    """The loop's own tell of the failure raised TrialFinishedError over the objective's
    error, which the user then saw only as the context."""
    url = f"sqlite:///{tmp_path / 'told.db'}"
    study = hd.create_study(study_name="s", storage=url)
    other = hd.load_study(study_name="s", storage=url)

    def objective(trial: hd.Trial) -> float:
        other.tell(trial.number, 5.0)
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        study.optimize(objective, n_trials=1)
    assert study.trials[0].values == (5.0,)


def test_a_trial_asked_in_one_process_and_told_in_another_keeps_its_parameters(
        tmp_path: Path) -> None:
    """`ask` hands the trial to the caller, who may tell its number elsewhere: what it
    suggests and sets is stored at once (buffered, it was lost with the asking process)."""
    url = f"sqlite:///{tmp_path / 'asktell.db'}"
    asker = hd.create_study(study_name="s", storage=url)
    trial = asker.ask({"lr": hd.Float(1e-4, 0.1, log=True)})
    trial.set_user_attr("host", "A")
    width = trial.suggest_int("width", 8, 64)
    del asker, trial  # the asking process is gone; nothing it buffered would survive
    teller = hd.load_study(study_name="s", storage=url)
    running = teller.trials[0]
    assert set(running.params) == {"lr", "width"} and running.user_attrs == {"host": "A"}
    teller.tell(0, 0.9)
    done = hd.load_study(study_name="s", storage=url).trials[0]
    assert done.state is TrialState.COMPLETE and done.params["width"] == width
    assert done.user_attrs == {"host": "A"}


def test_ask_with_a_conditional_space_suggests_only_its_active_parameters() -> None:
    """A SearchSpace is a mapping of distributions, so ``ask`` suggested every parameter of
    it, those of the branch not taken too: a trial its own space refused."""
    space = hd.SearchSpace.from_dict({
        "model": {"type": "categorical", "choices": ["svm", "knn"]},
        "C": {"type": "float", "low": 0.1, "high": 100.0, "log": True,
              "condition": {"parent": "model", "in": ["svm"]}},
        "k": {"type": "int", "low": 1, "high": 30,
              "condition": {"parent": "model", "in": ["knn"]}}})
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    for _ in range(8):
        trial = study.ask(space)
        space.validate(trial.params)
        assert set(trial.params) == {"model", "C" if trial.params["model"] == "svm" else "k"}
        study.tell(trial, 0.0)


def test_ask_whose_first_write_fails_ends_the_trial_it_started() -> None:
    """`ask` stores the fixed distributions' parameters after starting the trial: if that
    write fails, nobody holds the handle, so the trial is failed rather than left RUNNING."""
    study = hd.create_study()
    append = study.storage.append
    calls = {"n": 0}

    def flaky(sid: int, number: int, events: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise hd.exceptions.StorageBusy("busy")
        return append(sid, number, events)

    study.storage.append = flaky  # type: ignore[method-assign]
    with pytest.raises(hd.exceptions.StorageBusy):
        study.ask({"x": hd.Float(0, 1)})
    (trial,) = study.trials
    assert trial.state is TrialState.FAIL and "StorageBusy" in trial.system_attrs["fail_reason"]
    assert study.ask().number == 1  # the study goes on


@pytest.mark.parametrize("scheme", ["sqlite:///", "journal:///"])
def test_loading_from_a_mistyped_file_path_creates_no_file(tmp_path: Path, scheme: str) -> None:
    missing = tmp_path / "typo.db"
    for call in (lambda: hd.load_study(study_name="s", storage=f"{scheme}{missing}"),
                 lambda: hd.load_study(study_name=None, storage=f"{scheme}{missing}"),
                 lambda: hd.delete_study(study_name="s", storage=f"{scheme}{missing}")):
        with pytest.raises(StudyNotFound, match=r"typo\.db\), which does not exist"):
            call()
    assert not missing.exists()


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), True])
def test_a_timeout_that_is_not_a_positive_number_is_refused(timeout: float) -> None:
    """NaN compared false with every deadline: the study ran until stopped by hand."""
    study = hd.create_study()
    with pytest.raises(ValueError, match="timeout must be > 0"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), timeout=timeout)
    assert study.trials == []


class _AlwaysReads(hd.pruners.Pruner):
    """The pruner it wraps, given the whole history at every report."""

    def __init__(self, inner: hd.pruners.Pruner) -> None:
        self.inner = inner

    def decide(self, history: Any, trial: TrialRecord) -> Any:
        return self.inner.decide(history, trial)


def _pruned_run(pruner: hd.pruners.Pruner) -> list[tuple[TrialState, int | None]]:
    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        rng = np.random.default_rng(trial.number)
        for step in range(1, 41, 1 + trial.number % 3):  # some curves skip rungs' steps
            trial.report(x + 1.0 / step + 0.05 * rng.normal(), step)
            if trial.should_prune():
                raise hd.TrialPruned()
        return x

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=3), pruner=pruner)
    study.optimize(objective, n_trials=60)
    return [(t.state, t.last_step) for t in study.trials]


@pytest.mark.parametrize("make", [
    lambda: hd.pruners.SuccessiveHalvingPruner(),  # "auto": resolved from the trials
    lambda: hd.pruners.SuccessiveHalvingPruner(2, 3, max_resource=40),
    lambda: hd.pruners.HyperbandPruner(1, "auto", 3, seed=0),
    lambda: hd.pruners.HyperbandPruner(1, 40, 3, seed=0),
    lambda: hd.pruners.MedianPruner(n_warmup_steps=3, interval_steps=4),
    lambda: hd.pruners.PatiencePruner(hd.pruners.MedianPruner(), patience=2),
])
def test_reports_that_skip_reading_the_trials_prune_the_same(make: Callable[[], Any]) -> None:
    """A study reads the others' trials only where the pruner says a decision needs them."""
    pruned = _pruned_run(make())
    assert pruned == _pruned_run(_AlwaysReads(make()))
    assert any(state is TrialState.PRUNED for state, _ in pruned)


def test_a_report_that_decides_nothing_reads_no_storage() -> None:
    reads: list[int] = []

    class Counting(hd.storage.InMemoryStorage):
        def read(self, *args: Any, **kwargs: Any) -> Any:
            reads.append(1)
            return super().read(*args, **kwargs)

    def objective(trial: hd.Trial) -> float:
        before = len(reads)
        for step in range(100):
            trial.report(1.0 / (step + 1), step)
            assert not trial.should_prune()
        return float(len(reads) - before)

    study = hd.create_study(storage=Counting(), pruner=hd.pruners.NopPruner())
    study.optimize(objective, n_trials=2)
    assert [t.value for t in study.trials] == [0.0, 0.0]


def test_records_handed_out_are_read_only_and_still_plain_to_use(tmp_path: Path) -> None:
    """A study shares its records with every reader: changing one rewrote its best trial."""
    study = hd.create_study(storage=f"sqlite:///{tmp_path / 'ro.db'}")
    study.optimize(lambda t: (t.set_user_attr("tag", "a"), t.report(1.0, 0),
                              t.suggest_float("x", 0, 1))[-1], n_trials=3)
    best = study.best_trial
    for change in (lambda: best.params.__setitem__("x", 42.0),
                   lambda: best.user_attrs.update(tag="mine"),
                   lambda: best.distributions.pop("x"),
                   lambda: best.intermediate_values.clear(),
                   lambda: best.system_attrs.setdefault("k", 1)):
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert study.best_params == best.params and study.best_trial.user_attrs == {"tag": "a"}
    mine = dict(best.params)
    mine["x"] = 42.0  # a copy changes freely
    assert study.best_params["x"] != 42.0
    assert json.loads(json.dumps(best.params)) == best.params
    for copied in (pickle.loads(pickle.dumps(best)), copy.deepcopy(best)):
        assert copied == best
    running = study.ask()
    running.suggest_float("x", 0, 1)
    snapshot = study.trials[-1]
    running.set_user_attr("later", 1)
    study.tell(running, 0.5)
    assert "later" not in snapshot.user_attrs  # a running trial's record stays as it was read


def _suggest_a(trial: hd.Trial) -> int:
    return trial.suggest_int("a", 0, 9)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("sampler", ["grid", "bruteforce"])
def test_finite_and_exclusive_samplers_run_trials_enqueued_once_the_search_is_exhausted(
        sampler: str, n_jobs: int) -> None:
    """As Optuna does: a waiting trial runs although the sampler has nothing left (it was
    left WAITING for good); only once none waits does the search end."""
    study = hd.create_study(sampler=hd.samplers.GridSampler({"a": [0, 1, 2]}, seed=0)
                            if sampler == "grid" else hd.samplers.BruteForceSampler(seed=0))
    study.optimize(lambda t: t.suggest_int("a", 0, 2), n_trials=10, n_jobs=n_jobs)
    assert sorted(t.params["a"] for t in study.trials) == [0, 1, 2]
    study.enqueue_trial({"a": 5})
    study.enqueue_trial({"a": 1})  # a point tried already, run again (to see its noise)
    study.optimize(_suggest_a, n_trials=10, n_jobs=n_jobs)
    assert [(t.state, t.params) for t in study.trials[3:]] == [
        (TrialState.COMPLETE, {"a": 5}), (TrialState.COMPLETE, {"a": 1})]


def test_a_grid_trial_failed_as_stale_is_retried_on_its_whole_point_once_the_grid_is_done(
        ) -> None:
    """The last grid trial dies before asking for its parameters: its retry runs its point
    (it held no parameters, so the retry ran whatever the grid gave it, or nothing at all
    once every point was taken)."""
    storage = hd.storage.InMemoryStorage()
    grid = hd.samplers.GridSampler({"a": [0, 1, 2]}, seed=0)
    study = hd.create_study(study_name="g", storage=storage, sampler=grid,
                            heartbeat_interval=60.0, failed_trial_retries=1)

    def objective(trial: hd.Trial) -> int:
        if trial.number == 2:  # its worker as if dead: another worker fails it as stale
            hd.load_study(study_name="g", storage=storage, grace_period=0.0,
                          failed_trial_retries=1)
        return trial.suggest_int("a", 0, 2)

    study.optimize(objective, n_trials=10)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [
        TrialState.FAIL, TrialState.COMPLETE]
    lost, retry = trials[2], trials[3]
    assert "stale" in (lost.fail_reason or "") and retry.system_attrs["retry_of"] == 2
    assert retry.params == lost.system_attrs["reserved_params"]
    assert sorted(t.params["a"] for t in trials if t.state is TrialState.COMPLETE) == [0, 1, 2]


def test_an_enqueued_trial_failed_as_stale_is_retried_on_what_it_was_queued_with() -> None:
    """Its worker died before the objective asked for x: the retry ran a sampled x, without
    the trial's user attributes or its hints flag (Optuna's retry keeps them)."""
    storage = hd.storage.InMemoryStorage()
    study = hd.create_study(study_name="q", storage=storage, heartbeat_interval=60.0,
                            failed_trial_retries=1, sampler=hd.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"x": 0.5}, user_attrs={"source": "baseline"}, hints=True)

    def objective(trial: hd.Trial) -> float:
        if trial.number == 0:  # its worker as if dead: another worker fails it as stale
            hd.load_study(study_name="q", storage=storage, grace_period=0.0,
                          failed_trial_retries=1)
            return 0.0
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=2)
    lost, retry = study.trials[:2]
    assert lost.state is TrialState.FAIL and retry.system_attrs["retry_of"] == 0
    assert retry.params == {"x": 0.5} and retry.user_attrs == {"source": "baseline"}
    assert retry.system_attrs["fixed_params_are_hints"] is True


def test_skip_if_exists_knows_a_queued_configuration_that_ran_with_more_parameters() -> None:
    """The objective suggests more than was queued: the finished trial's parameters no
    longer equalled the queued ones, and a resumed script queued (and ran) lr=0.5 again."""
    study = hd.create_study()
    for _ in range(3):
        study.enqueue_trial({"lr": 0.5}, skip_if_exists=True)
        study.optimize(lambda t: t.suggest_float("lr", 0, 1) + t.suggest_int("layers", 1, 4),
                       n_trials=1)
    assert [t.params["lr"] == 0.5 for t in study.trials].count(True) == 1
    assert study.enqueue_trial({}, skip_if_exists=True) is not None  # (nothing matches {})


def test_a_waiting_trial_cannot_be_told_and_a_handle_told_elsewhere_takes_no_writes(
        tmp_path: Path) -> None:
    """tell() of an enqueued trial completed it with no parameters (it became the best, and
    its configuration never ran); and a trial from ask() told through another Study object
    went on accepting attributes, parameters and reports that were stored nowhere."""
    url = f"sqlite:///{tmp_path / 'told.db'}"
    mine = hd.create_study(study_name="s", storage=url)
    waiting = mine.enqueue_trial({"x": 0.5})
    assert waiting is not None
    for told in ({"values": 1.0}, {"state": TrialState.PRUNED}):
        with pytest.raises(ValueError, match="is waiting .* ask\\(\\) starts it"):
            mine.tell(waiting, **told)  # type: ignore[arg-type]
    assert mine.trials[0].state is TrialState.WAITING
    trial = mine.ask()  # (the waiting one)
    hd.load_study(study_name="s", storage=url).tell(trial.number, 0.5)
    with pytest.raises(TrialFinishedError, match="told COMPLETE through another Study"):
        trial.set_user_attr("checkpoint", "/ckpt/7")
    for write in (lambda: trial.suggest_float("y", 0, 1), lambda: trial.report(0.1, 1)):
        with pytest.raises(TrialFinishedError):
            write()
    assert mine.trials[0].user_attrs == {} and mine.trials[0].intermediate_values == {}
    assert mine._live == {}  # (the review: the ended handle was held for good)
    # dropped before it started (told FAIL), a queued configuration may be queued again
    dropped = mine.enqueue_trial({"x": 0.25})
    assert dropped is not None and mine.enqueue_trial({"x": 0.25}, skip_if_exists=True) is None
    mine.tell(dropped, state=TrialState.FAIL)
    assert mine.enqueue_trial({"x": 0.25}, skip_if_exists=True) is not None


def test_directions_and_keys_are_checked() -> None:
    """direction="" minimised silently; an empty generator of directions made a study of no
    objective, whose best_trials crashed; a trial's non-string attribute key was stored as
    text ("1" for 1) while the study refuses such keys."""
    with pytest.raises(ValueError, match="direction must be"):
        hd.create_study(direction="")
    with pytest.raises(ValueError, match="non-empty list"):
        hd.create_study(directions=(d for d in ()))
    with pytest.raises(TypeError, match="key must be a string"):
        hd.create_study().ask().set_user_attr(1, "x")  # type: ignore[arg-type]


def test_an_exhausted_grid_starts_nothing_when_another_worker_claims_the_waiting_trial_first(
        ) -> None:
    """The storage's key for the grid's points refuses the creation that would follow a
    claim that found nothing: no trial beyond the grid is started."""

    class Rival(hd.storage.InMemoryStorage):
        """Another worker claims the waiting trial just before this one does."""

        armed = False

        def create_trial(self, study_id: int, data: dict[str, Any], *, key: str | None = None,
                         claim_waiting: bool = False, heartbeat: bool = False) -> int | None:
            if self.armed and claim_waiting:
                self.armed = False
                super().create_trial(study_id, {}, claim_waiting=True)
            return super().create_trial(study_id, data, key=key, claim_waiting=claim_waiting,
                                        heartbeat=heartbeat)

    storage = Rival()
    study = hd.create_study(storage=storage,
                            sampler=hd.samplers.GridSampler({"a": [0, 1]}, seed=0))
    study.optimize(_suggest_a, n_trials=5)
    study.enqueue_trial({"a": 1})
    storage.armed = True
    with pytest.raises(hd.exceptions.SearchExhausted):
        study.ask()
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING]


class _Interrupting(hd.storage.InMemoryStorage):
    """Ctrl-C arrives as trial ``at``'s end is written (``when`` "before" or "after" the
    write), or as it is started ("start")."""

    def __init__(self, at: int, when: str) -> None:
        super().__init__()
        self.at, self.when = at, when

    def _ctrl_c(self, number: int | None, when: str) -> None:
        import _thread

        if number == self.at and when == self.when:
            _thread.interrupt_main()  # raised at the next Python call

    def append(self, study_id: int, number: int, events: Any) -> None:
        self._ctrl_c(number, "before")
        super().append(study_id, number, events)
        self._ctrl_c(number, "after")

    def append_and_create(self, study_id: int, number: int, events: Any,
                          **kwargs: Any) -> Any:
        self._ctrl_c(number, "before")
        done = super().append_and_create(study_id, number, events, **kwargs)
        self._ctrl_c(number, "after")
        return done

    def create_trial(self, study_id: int, data: dict[str, Any], **kwargs: Any) -> int | None:
        number = super().create_trial(study_id, data, **kwargs)
        self._ctrl_c(number, "start")
        return number


@pytest.mark.parametrize("chained", [True, False])
@pytest.mark.parametrize("when", ["before", "after"])
def test_ctrl_c_after_the_objective_returned_ends_its_trial_and_the_next_one(
        when: str, chained: bool) -> None:
    """Raised while the trial's end was written, Ctrl-C left it RUNNING (its value lost), or
    the next trial, started in the same write, RUNNING for good; now the end is written with
    the value and the next trial, if started, is failed as interrupted."""
    study = hd.create_study(storage=_Interrupting(at=2, when=when),
                            sampler=hd.samplers.RandomSampler(seed=0))
    callbacks = [] if chained else [lambda study, record: None]  # a callback: no chaining
    with pytest.raises(KeyboardInterrupt):
        study.optimize(quadratic, n_trials=10, callbacks=callbacks)
    trials = study.trials
    assert [t.state for t in trials[:3]] == [TrialState.COMPLETE] * 3
    assert trials[2].value == quadratic(hd.FixedTrial(trials[2].params))
    assert [(t.state, t.fail_reason) for t in trials[3:]] == (
        [(TrialState.FAIL, "interrupted (KeyboardInterrupt)")] if chained else [])


def test_ctrl_c_as_a_trial_is_started_fails_it_as_interrupted() -> None:
    """Raised in the storage's start of a trial, Ctrl-C left it RUNNING with no handle."""
    study = hd.create_study(storage=_Interrupting(at=2, when="start"),
                            sampler=hd.samplers.RandomSampler(seed=0))
    with pytest.raises(KeyboardInterrupt):
        study.optimize(quadratic, n_trials=10, callbacks=[lambda study, record: None])
    assert [(t.state, t.fail_reason) for t in study.trials] == [(TrialState.COMPLETE, None)] * 2 + [
        (TrialState.FAIL, "interrupted (KeyboardInterrupt)")]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_sys_exit_in_the_objective_fails_its_trial_and_keeps_the_others(n_jobs: int) -> None:
    """SystemExit is no Exception: the trial stayed RUNNING for good (as in Optuna 5)."""
    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 3:
            sys.exit(2)
        return x

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    with pytest.raises(SystemExit):
        study.optimize(objective, n_trials=20, n_jobs=n_jobs)
    by_number = {t.number: t for t in study.trials}
    assert (by_number[3].state, by_number[3].fail_reason) == (
        TrialState.FAIL, "interrupted (SystemExit)")
    assert all(t.state is TrialState.COMPLETE for t in study.trials if t.number != 3)


def test_telling_none_fails_the_trial_with_a_warning_as_any_unusable_value() -> None:
    study = hd.create_study()
    trial = study.ask()
    with pytest.warns(RuntimeWarning, match=f"trial {trial.number} failed: the objective "
                                            "returned None"):
        record = study.tell(trial, None)
    assert record.state is TrialState.FAIL


def test_hyperdials_own_study_attribute_keys_are_refused() -> None:
    """`user_attrs` hides them: one set by hand would vanish without a word."""
    study = hd.create_study()
    with pytest.raises(ValueError, match="'hyperdial:' are hyperdial's own"):
        study.set_user_attr("hyperdial:mine", 1)
    study.set_metric_names(["loss"])
    assert study.user_attrs == {} and study.metric_names == ["loss"]


def test_a_running_trial_is_beaten_for_until_it_ends() -> None:
    """The heartbeat thread of `optimize` beats for the running trial every interval (what
    keeps another worker from failing it as stale), and for no trial once it has ended."""
    beats: list[list[int]] = []
    twice = threading.Event()

    class Counting(hd.storage.InMemoryStorage):
        def heartbeat(self, study_id: int, numbers: Sequence[int]) -> None:
            super().heartbeat(study_id, numbers)
            beats.append(list(numbers))
            if len(beats) >= 2:
                twice.set()

    def objective(trial: hd.Trial) -> float:
        assert twice.wait(timeout=60), "no two beats within a minute"
        return trial.suggest_float("x", 0.0, 1.0)

    study = hd.create_study(storage=Counting(), heartbeat_interval=0.01)
    study.optimize(objective, n_trials=1)
    after = len(beats)
    assert after >= 2 and all(numbers == [0] for numbers in beats)
    study.optimize(lambda t: 0.0, n_trials=1)  # a fast trial: no beat due, and none stray
    assert all(numbers == [1] for numbers in beats[after:])
    assert study.trials[0].state is TrialState.COMPLETE


def test_optimize_calls_share_their_studys_heartbeat_thread_until_a_beat_finds_none() -> None:
    """A thread per call cost 0.3 ms a call; the study's one thread ends at a beat that
    finds no call running, and the next call starts another."""
    from hyperdial import _loop

    study = hd.create_study(storage=hd.storage.InMemoryStorage(), heartbeat_interval=3600.0)
    threads = set()
    for _ in range(20):
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=1)
        threads.add(_loop._Beater.of(study)._thread)
    (thread,) = threads
    assert thread is not None and thread.is_alive()  # asleep until its beat is due

    quick = hd.create_study(storage=hd.storage.InMemoryStorage(), heartbeat_interval=0.01)
    quick.optimize(lambda t: 0.0, n_trials=1)
    first = _loop._Beater.of(quick)._thread
    assert first is not None
    first.join(timeout=60)
    assert not first.is_alive() and _loop._Beater.of(quick)._thread is None
    quick.optimize(lambda t: 0.0, n_trials=1)
    assert _loop._Beater.of(quick)._thread not in (None, first)


def test_a_trial_is_beaten_for_while_its_proposal_is_made() -> None:
    """Beats covered the objective only: a proposal slower than the grace period (a GP on a
    large study) got its live trial failed as stale by any process that opened the study,
    and the result was dropped. Here the first proposal waits until the heartbeat thread has
    beaten for its trial."""
    beaten = threading.Event()

    class WaitsForABeat(hd.samplers.RandomSampler):
        def infer_space(self, history: Any) -> hd.SearchSpace:
            return hd.SearchSpace({"x": hd.Float(0.0, 1.0)})

        def propose(self, history: Any, space: Any, rng: Any) -> dict[str, Any]:
            if len(history.trials) == 1:  # trial 0, just started
                assert beaten.wait(timeout=60), "no beat for a trial whose proposal runs"
            return super().propose(history, space, rng)

    study = hd.create_study(storage=hd.storage.InMemoryStorage(), heartbeat_interval=0.01,
                            sampler=WaitsForABeat(seed=0))
    original = study.storage.heartbeat

    def recording(study_id: int, numbers: Sequence[int]) -> None:
        original(study_id, numbers)
        if 0 in numbers:
            beaten.set()

    study.storage.heartbeat = recording  # type: ignore[method-assign]
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert study._opening_trials() == []


def test_beats_do_not_wait_for_the_studys_lock() -> None:
    """Another worker may hold the study's lock for a whole proposal (a grid's is made under
    it): a beat that waited for it left a running trial unbeaten, to be failed as stale."""
    study = hd.create_study(storage=hd.storage.InMemoryStorage(), heartbeat_interval=0.01)
    beaten = threading.Event()
    original = study.storage.heartbeat

    def recording(study_id: int, numbers: Sequence[int]) -> None:
        original(study_id, numbers)
        beaten.set()

    study.storage.heartbeat = recording  # type: ignore[method-assign]

    def objective(trial: hd.Trial) -> float:
        with study._lock:  # as a worker proposing under it
            beaten.clear()
            return 0.0 if beaten.wait(timeout=60) else 1.0

    study.optimize(objective, n_trials=1)
    assert study.best_value == 0.0


def _beaten_twice_in_a_child(study: hd.Study, beats: Any) -> None:
    twice = threading.Event()
    original = study.storage.heartbeat

    def counting(study_id: int, numbers: Sequence[int]) -> None:
        original(study_id, numbers)
        beats.put(list(numbers))
        if beats.qsize() >= 2:
            twice.set()

    study.storage.heartbeat = counting  # type: ignore[method-assign]

    def objective(trial: hd.Trial) -> float:
        assert twice.wait(timeout=60), "no two beats within a minute"
        return 0.0

    study.optimize(objective, n_trials=1)


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_a_forked_child_beats_with_a_thread_of_its_own() -> None:
    """The parent's heartbeat thread (alive, maybe mid-beat) did not come along."""
    import multiprocessing

    study = hd.create_study(storage=hd.storage.InMemoryStorage(), heartbeat_interval=30.0)
    study.optimize(lambda t: 0.0, n_trials=1)  # the parent's thread: asleep for 30 s
    study.heartbeat_interval = 0.01  # the child's beats, every 10 ms
    ctx = multiprocessing.get_context("fork")
    beats = ctx.Queue()
    child = ctx.Process(target=_beaten_twice_in_a_child, args=(study, beats))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    assert beats.get(timeout=10) == [1]


def test_a_second_ctrl_c_as_optimize_ends_leaves_pythons_handler(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """It was raised inside the heartbeat's close, and the handler that holds Ctrl-C stayed
    installed for good: every later optimize then went without it."""
    import os
    import signal

    from hyperdial import _loop

    close = _loop._Heartbeat.close

    def interrupted_close(self: Any) -> None:
        close(self)
        os.kill(os.getpid(), signal.SIGINT)  # held
        os.kill(os.getpid(), signal.SIGINT)  # a second one: raised at once

    monkeypatch.setattr(_loop._Heartbeat, "close", interrupted_close)
    with pytest.raises(KeyboardInterrupt):
        hd.create_study().optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_pruner_sees_the_trials_curve_read_only_with_its_highest_step() -> None:
    """The record a pruner decides on holds the live curve (reports out of order included)
    and its highest step, and refuses changes."""
    seen: list[tuple[int | None, dict[int, float]]] = []

    class Watching(hd.pruners.NopPruner):
        def decide(self, history: Any, trial: Any) -> Any:
            seen.append((trial.last_step, dict(trial.intermediate_values)))
            with pytest.raises(TypeError):
                trial.intermediate_values[99] = 0.0
            return super().decide(history, trial)

    study = hd.create_study(pruner=Watching())
    trial = study.ask()
    for step, value in ((5, 0.5), (2, 0.2), (7, 0.7)):
        trial.report(value, step)
        trial.should_prune()
    assert seen == [(5, {5: 0.5}), (5, {5: 0.5, 2: 0.2}), (7, {5: 0.5, 2: 0.2, 7: 0.7})]
    study.tell(trial, 1.0)
    assert study.trials[0].last_step == 7


def test_a_proposal_made_for_an_int_is_not_reused_for_a_float_of_that_name() -> None:
    """The study proposes its sampler's joint space at ``ask``; a parameter then suggested as
    another kind took the proposal anyway when it fitted the range: a Float after an Int
    came out integer-valued, and CMA-ES kept its integer model for it."""
    study = hd.create_study(sampler=hd.samplers.CmaEsSampler(seed=0))
    study.optimize(lambda t: float(t.suggest_int("x", 0, 10)), n_trials=8)
    trials = [study.ask() for _ in range(5)]
    assert trials[0]._proposed  # the joint space (x an Int) was proposed at ask
    values = [t.suggest_float("x", 0, 10) for t in trials]
    assert not any(float(v).is_integer() for v in values)
    again = study.ask()
    assert isinstance(again.suggest_int("x", 0, 10), int)  # the same kind still takes it
    assert again.params["x"] == again._proposed["x"]
    # one grid down: a Float on a step of 1, then a continuous Float of that name
    stepped = hd.create_study(sampler=hd.samplers.CmaEsSampler(seed=0))
    stepped.optimize(lambda t: t.suggest_float("x", 0, 10, step=1.0), n_trials=8)
    values = [stepped.ask().suggest_float("x", 0, 10) for _ in range(5)]
    assert not any(float(v).is_integer() for v in values)
