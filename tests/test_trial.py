"""Live trials: fixed and proposed values written as samplers write them, and FixedTrial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.space import Categorical, Float, Int, SearchSpace
from hyperdial.trial import FixedTrial, Trial, TrialRecord, TrialState


def objective(t: hd.Trial) -> float:
    return t.suggest_int("n", 1, 4) + t.suggest_float("x", 0, 2)


# -- fixed values take the distribution's type ---------------------------------------------------
def test_an_enqueued_value_takes_the_type_of_its_distribution(tmp_path: Path) -> None:
    """Optuna 5 returns 3 for an enqueued 3.0 of an int, and 1.0 for an enqueued 1 of a
    float; hyperdial returned (and stored) 3.0 and 1."""
    url = f"sqlite:///{tmp_path / 'enq.db'}"
    study = hd.create_study(storage=url, study_name="s",
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"n": 3.0, "x": 1})
    study.enqueue_trial({"n": np.int64(2), "x": np.float32(0.5)})
    seen: list[tuple[Any, Any]] = []

    def remember(t: hd.Trial) -> float:
        seen.append((t.suggest_int("n", 1, 4), t.suggest_float("x", 0, 2)))
        return 0.0

    study.optimize(remember, n_trials=2)
    assert [(type(n), type(x)) for n, x in seen] == [(int, float)] * 2
    assert seen == [(3, 1.0), (2, 0.5)]
    stored = hd.load_study(study_name="s", storage=url).trials
    assert [(type(t.params["n"]), type(t.params["x"])) for t in stored] == [(int, float)] * 2


def test_a_non_integral_value_for_an_int_is_refused_clearly() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"n": 2.5, "x": 1.0})
    study.optimize(objective, n_trials=1, catch=(ValueError,))
    reason = study.trials[0].fail_reason or ""
    assert "parameter 'n': enqueued value 2.5 is outside" in reason
    assert "not an integer" in reason


def test_an_enqueued_stepped_float_lands_on_the_grid_value() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"s": 0.3})
    study.optimize(lambda t: t.suggest_float("s", 0.0, 1.0, step=0.1), n_trials=1)
    assert study.trials[0].params["s"] == 0.3  # as written (not 3 * 0.1's ...04)


def test_an_enqueued_float_for_an_int_parent_activates_its_children() -> None:
    space = SearchSpace.from_dict({
        "layers": {"type": "int", "low": 1, "high": 3},
        "w2": {"type": "int", "low": 8, "high": 64,
               "condition": {"parent": "layers", "in": [2, 3]}}})
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"layers": 2.0, "w2": 16})
    study.optimize(lambda t: float(sum(t.suggest_space(space).values())), n_trials=1)
    assert study.trials[0].params == {"layers": 2, "w2": 16}


def test_a_numpy_bool_log_flag_completes_and_stores(tmp_path: Path) -> None:
    """np.True_ as ``log`` failed JSON serialisation when the trial was written, which left
    the trial RUNNING."""
    url = f"sqlite:///{tmp_path / 'np.db'}"
    study = hd.create_study(storage=url, study_name="a",
                            sampler=hd.samplers.RandomSampler(seed=0))
    use_log = np.array([True, False])[0]
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1.0, log=use_log), n_trials=3)
    trials = hd.load_study(study_name="a", storage=url).trials
    assert [t.state for t in trials] == [hd.TrialState.COMPLETE] * 3
    assert trials[0].distributions["lr"] == Float(1e-4, 1.0, log=True)


# -- FixedTrial ------------------------------------------------------------------------------------
def test_fixed_trial_runs_an_objective_on_given_values() -> None:
    def obj(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        n = trial.suggest_int("n", 1, 4)
        act = trial.suggest_categorical("act", ["relu", "tanh"])
        for step in range(3):
            trial.report(x * step, step)
            if trial.should_prune():
                raise hd.TrialPruned()
        trial.set_user_attr("act", act)
        return x**2 + n

    t = FixedTrial({"x": 0.5, "n": 3.0, "act": "tanh", "unused": 1}, number=7)
    assert isinstance(t, Trial)
    assert obj(t) == 3.25
    assert t.params == {"x": 0.5, "n": 3, "act": "tanh"} and type(t.params["n"]) is int
    assert t.distributions == {"x": Float(-1, 1), "n": Int(1, 4),
                               "act": Categorical(("relu", "tanh"))}
    assert t.number == 7 and t.user_attrs == {"act": "tanh"}
    assert t.suggest_float("x", -1, 1) == 0.5  # asked again: the same value
    assert hd.trial.FixedTrial is FixedTrial is hd.FixedTrial


def test_fixed_trial_refuses_missing_and_invalid_values() -> None:
    t = FixedTrial({"x": 2.0, "n": 1.5, "c": "b"})
    with pytest.raises(ValueError, match=r"parameter 'y' has no value: give it in the "
                                         r"FixedTrial's params"):
        t.suggest_float("y", 0, 1)
    with pytest.raises(ValueError, match="parameter 'x': fixed value 2.0 is outside"):
        t.suggest_float("x", 0, 1)
    with pytest.raises(ValueError, match="fixed value 1.5 is outside .*not an integer"):
        t.suggest_int("n", 1, 4)
    with pytest.raises(ValueError, match="'b' is outside"):
        t.suggest_categorical("c", ["a"])
    assert t.params == {} and t.distributions == {}


def test_fixed_trial_reports_and_attributes_go_nowhere_but_the_trial() -> None:
    t = FixedTrial({"x": 0.1})
    t.report(1.0, 0)
    assert t.should_prune() is False
    t.set_user_attr("k", np.float64(2.0))
    t.set_system_attr("s", [1, 2])
    assert t.user_attrs == {"k": 2.0} and t.system_attrs == {"s": [1, 2]}
    assert t.datetime_start is not None
    assert repr(t) == "FixedTrial(number=0, params={})"


# -- reports ------------------------------------------------------------------------------------
@pytest.mark.parametrize("pruner", [
    hd.pruners.ThresholdPruner(upper=1.0),
    hd.pruners.PatiencePruner(None, patience=0),
    hd.pruners.MedianPruner(n_startup_trials=1),
])
def test_one_number_in_a_sequence_is_reported_as_that_number(pruner: Any) -> None:
    """``loss.view(1)`` or ``np.array([v])``: Optuna reads ``float(value)``; here it was a
    one-value tuple that the threshold and patience pruners refused, failing the trial."""
    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(3):
            trial.report(np.array([x + 2.0 + step]), step)
            if trial.should_prune():
                raise hd.TrialPruned()
        return x

    study = hd.create_study(pruner=pruner, sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=3)
    assert {t.state for t in study.trials} <= {hd.TrialState.COMPLETE, hd.TrialState.PRUNED}
    assert hd.TrialState.PRUNED in {t.state for t in study.trials}
    for t in study.trials:
        assert all(isinstance(v, float) for v in t.intermediate_values.values())
    two = hd.create_study(directions=["minimize", "minimize"])
    trial = two.ask()
    trial.report(np.array([1.0, 2.0]), 0)
    assert trial.intermediate_values == {0: (1.0, 2.0)}


def test_a_copied_trial_is_the_same_trial(tmp_path: Path) -> None:
    """sklearn's ``clone`` deep-copies an estimator's callbacks and the trial they hold: the
    copy's reports went to a copy of the study, and the study's own view lost them (a pruned
    trial had no value)."""
    import copy

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for clone in (copy.deepcopy(trial), copy.copy(trial)):
            assert clone is trial
        copy.deepcopy([trial])[0].report(0.9, 0)
        copy.deepcopy({"cb": trial})["cb"].report(0.8, 1)
        if trial.number == 1:
            raise hd.TrialPruned()
        return x

    study = hd.create_study(storage=f"sqlite:///{tmp_path / 'c.db'}", study_name="c",
                            pruner=hd.pruners.NopPruner())
    study.optimize(objective, n_trials=2)
    assert [dict(t.intermediate_values) for t in study.trials] == [{0: 0.9, 1: 0.8}] * 2
    assert study.trials[1].state is hd.TrialState.PRUNED and study.trials[1].value == 0.8
    reloaded = hd.load_study(study_name="c", storage=f"sqlite:///{tmp_path / 'c.db'}")
    assert [dict(t.intermediate_values) for t in reloaded.trials] == [{0: 0.9, 1: 0.8}] * 2


# -- a stored record as an objective's trial (Optuna's ``objective(study.best_trial)``) ----------
def test_a_record_runs_an_objective_on_its_stored_params() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=5)
    best = study.best_trial
    assert objective(best) == best.value
    best.report(1.0, 0)  # no-op, as Optuna's FrozenTrial.report
    assert best.intermediate_values == {} and best.should_prune() is False
    with pytest.raises(ValueError, match="'y'.*FixedTrial's params"):
        best.suggest_float("y", 0, 1)
    with pytest.raises(ValueError, match="stored as"):
        best.suggest_categorical("x", [0.5, 1.0])
    with pytest.raises(ValueError, match="'n'.*outside"):
        best.suggest_int("n", 10, 20)
    with pytest.raises(hd.exceptions.TrialFinishedError, match="FixedTrial"):
        best.set_user_attr("k", 1)
    with pytest.raises(hd.exceptions.TrialFinishedError, match="FixedTrial"):
        best.set_constraint("c", 0.0)


def test_a_running_view_is_the_record_the_dataclass_would_build() -> None:
    """What a pruner judges at each report, built without the frozen dataclass's __init__."""
    from datetime import datetime, timezone
    from types import MappingProxyType

    curve = {1: 0.5, 4: 0.25}
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    fields: dict[str, Any] = {"number": 3, "params": {"x": 0.5},
                              "distributions": {"x": Float(0.0, 1.0)},
                              "intermediate_values": MappingProxyType(curve),
                              "user_attrs": {"a": 1}, "datetime_start": start}
    view = TrialRecord.running_view(last_step=4, **fields)
    built = TrialRecord(state=TrialState.RUNNING, **fields)
    assert view == built and repr(view) == repr(built)
    assert view.last_step == built.last_step == 4
    assert (view.values, view.system_attrs, view.datetime_complete) == (None, {}, None)
    curve[9] = 0.125  # the view reads the live curve; its last step is the one it was given
    assert view.intermediate_values[9] == 0.125 and view.last_step == 4


def test_records_sort_by_number() -> None:
    a, b = (hd.TrialRecord(number=n, state=hd.TrialState.FAIL) for n in (2, 1))
    assert sorted([a, b]) == [b, a] and b < a and b <= a and a > b and not a <= b


def test_a_trial_knows_its_study_and_can_stop_it() -> None:
    study = hd.create_study()

    def stop_at_two(t: hd.Trial) -> float:
        assert t.study is study
        if t.number == 2:
            t.study.stop()
        return t.suggest_float("x", 0, 1)

    study.optimize(stop_at_two, n_trials=10)
    assert len(study.trials) == 3
    with pytest.raises(AttributeError, match="no study"):
        FixedTrial({}).study  # noqa: B018
    assert not hasattr(FixedTrial({}), "study")  # as Optuna's FixedTrial


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"value": float("nan")}, ValueError, "finite"),
    ({"value": float("inf")}, ValueError, "finite"),
    ({"value": "1.0"}, TypeError, "numbers"),
    ({"values": [[1.0]]}, TypeError, "numbers"),
    ({"value": True}, TypeError, "numbers"),
])
def test_create_trial_refuses_values_a_study_could_not_hold(
        kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    """They were stored as given, and add_trial refused them later, blaming "the objective"."""
    with pytest.raises(error, match=match):
        hd.create_trial(**kwargs)


def test_create_trial_stamps_its_times_and_takes_numpy_values() -> None:
    record = hd.create_trial(value=np.float32(0.5))
    assert record.values == (0.5,) and type(record.values[0]) is float
    assert record.datetime_start is not None and record.duration is not None
    pruned = hd.create_trial(state=hd.TrialState.PRUNED, value=float("nan"))  # diverged report
    assert np.isnan(pruned.values[0])
    study = hd.create_study()
    study.add_trial(record)
    assert study.trials[0].datetime_complete == record.datetime_complete


def test_optunas_numbers_for_states_and_directions() -> None:
    assert hd.TrialState(1) is hd.TrialState.COMPLETE and hd.TrialState(4) is hd.TrialState.WAITING
    assert hd.StudyDirection(2) is hd.StudyDirection.MAXIMIZE
    for bad in (True, 5, -1):
        with pytest.raises(ValueError):
            hd.TrialState(bad)
    with pytest.raises(ValueError):
        hd.StudyDirection(0)  # Optuna's NOT_SET: a study here always has a direction


def test_telling_an_unknown_trial_is_a_value_error_as_in_optuna() -> None:
    with pytest.raises(ValueError, match="no trial number 7"):
        hd.create_study().tell(7, 1.0)


def test_state_of_reads_stored_names_as_the_enum_does() -> None:
    from hyperdial.trial import state_of

    for state in TrialState:
        assert state_of(state.value) is state is TrialState(state.value)
    assert state_of(1) is TrialState.COMPLETE  # Optuna's numbers, through the enum
    for bad in ("complete", "", None, 7):
        with pytest.raises(ValueError):
            state_of(bad)


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
@pytest.mark.parametrize("name", ["", 1, None])
def test_a_bad_parameter_name_fails_its_trial_before_anything_is_stored(
        tmp_path: Path, storage: str, name: Any) -> None:
    """``suggest_float("", ...)`` completed its trial, whose stored record the study's view
    then refused: best_trial never saw it, the next trial stayed RUNNING, and on SQLite every
    later optimize with the default sampler failed. ``add_trial`` stored such a record too."""
    url = None if storage == "memory" else f"sqlite:///{tmp_path / 's.db'}"
    study = hd.create_study(storage=url, study_name="s")
    with pytest.raises(ValueError, match="non-empty strings"):
        study.optimize(lambda t: t.suggest_float(name, 0, 1), n_trials=3)
    with pytest.raises(ValueError):
        study.add_trial(hd.create_trial(params={name: 0.5},
                                        distributions={name: hd.Float(0, 1)}, value=0.0))
    assert [(t.state, t.params) for t in study.trials] == [(hd.TrialState.FAIL, {})]
    again = hd.load_study(study_name="s", storage=url) if url else study
    again.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert [t.state for t in again.trials] == [hd.TrialState.FAIL] + [hd.TrialState.COMPLETE] * 3
    assert again.best_trial.value == min(t.value for t in again.trials[1:])
