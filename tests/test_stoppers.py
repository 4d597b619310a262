"""Study stoppers: no improvement, target value, GP regret bound; used as callbacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.history import History, StudyDirection
from hyperdial.space import Float
from hyperdial.stoppers import (
    MaxTrialsStopper,
    NoImprovementStopper,
    RegretBoundStopper,
    TargetValueStopper,
    regret_bound,
)
from hyperdial.trial import CONSTRAINT_PREFIX, TrialRecord, TrialState


def history(values: list[float | None], direction: str = "minimize") -> History:
    trials = tuple(
        TrialRecord(i, TrialState.COMPLETE if v is not None else TrialState.PRUNED,
                    params={"x": float(i % 7) / 7}, distributions={"x": Float(0.0, 1.0)},
                    values=None if v is None else (v,))
        for i, v in enumerate(values))
    return History(trials, (StudyDirection.parse(direction),))


def test_no_improvement_counts_every_finished_trial() -> None:
    stopper = NoImprovementStopper(3)
    assert not stopper.should_stop(history([5.0, 4.0, 3.0]))
    assert not stopper.should_stop(history([5.0, 4.0, 4.5, None]))
    assert stopper.should_stop(history([5.0, 4.0, 4.5, None, 4.0]))
    assert not stopper.should_stop(history([5.0, 4.0, 4.5, None, 3.9]))
    assert NoImprovementStopper(3, min_delta=0.2).should_stop(history([5.0, 4.0, 4.5, None, 3.9]))
    assert not stopper.should_stop(history([None, None, None, None]))  # nothing to beat yet
    assert not stopper.should_stop(history([1.0, 2.0, 3.0, 4.0], "maximize"))
    with pytest.raises(ValueError, match="patience"):
        NoImprovementStopper(0)


def test_no_improvement_judges_feasible_trials_only() -> None:
    """An infeasible 0.0 is not the best to beat: best_trial would not choose it."""
    study = hd.create_study()
    pairs = [(5.0, -1.0), (0.0, 1.0), (4.0, -1.0), (3.0, -1.0), (2.0, -1.0), (1.0, -1.0)]
    for value, c in pairs:
        study.enqueue_trial({"v": value, "c": c})

    def objective(trial: hd.Trial) -> float:
        trial.set_constraint("c", trial.suggest_float("c", -1.0, 1.0))
        return trial.suggest_float("v", 0.0, 5.0)

    study.optimize(objective, n_trials=len(pairs), callbacks=[NoImprovementStopper(2)])
    assert len(study.trials) == len(pairs)  # the feasible best improved every time
    assert study.best_value == 1.0
    stopper = NoImprovementStopper(2)
    assert stopper.should_stop(with_constraints([(5, -1), (4, -1), (0, 1), (4.5, -1)]))
    assert not stopper.should_stop(with_constraints([(0, 1), (5, 1), (7, 1)]))  # none feasible


def with_constraints(pairs: list[tuple[float, float]]) -> History:
    """Completed trials with value v and constraint c (feasible when c <= 0)."""
    trials = tuple(TrialRecord(i, TrialState.COMPLETE, params={"x": (i % 7) / 7},
                               distributions={"x": Float(0.0, 1.0)}, values=(float(v),),
                               system_attrs={f"{CONSTRAINT_PREFIX}c": float(c)})
                   for i, (v, c) in enumerate(pairs))
    return History(trials, (StudyDirection.MINIMIZE,))


def test_regret_bound_leaves_infeasible_trials_out() -> None:
    rng = np.random.default_rng(0)
    xs = rng.random(12)
    feasible = [((x - 0.3) ** 2, -1.0) for x in xs]
    mixed = with_constraints([*feasible, (-10.0, 1.0), (-20.0, 1.0)])
    stopper = RegretBoundStopper(0.05, min_trials=12)
    assert stopper.bound(mixed) == stopper.bound(with_constraints(feasible))
    assert RegretBoundStopper(0.05, min_trials=13).bound(mixed) is None  # 12 feasible


def test_target_value_in_both_directions() -> None:
    assert TargetValueStopper(1.0).should_stop(history([3.0, 0.5]))
    assert not TargetValueStopper(1.0).should_stop(history([3.0, 1.5, None]))
    assert TargetValueStopper(2.0).should_stop(history([1.0, 2.0], "maximize"))
    assert not TargetValueStopper(1.0).should_stop(history([]))
    assert TargetValueStopper(np.float32(1.0)).should_stop(history([0.5]))
    assert repr(TargetValueStopper(1)) == "TargetValueStopper(target=1.0)"
    assert repr(NoImprovementStopper(3)) == "NoImprovementStopper(patience=3, min_delta=0.0)"
    for bad in (float("nan"), "1.0", None, True):
        with pytest.raises(ValueError, match="target must be a number"):
            TargetValueStopper(bad)  # type: ignore[arg-type]


def test_max_trials_counts_the_chosen_states() -> None:
    assert MaxTrialsStopper(3).should_stop(history([1.0, None, 2.0]))
    assert not MaxTrialsStopper(3, states=[TrialState.COMPLETE]).should_stop(
        history([1.0, None, 2.0]))
    assert MaxTrialsStopper(3, states=None).should_stop(history([1.0, None, 2.0]))
    with pytest.raises(ValueError, match="n_trials"):
        MaxTrialsStopper(0)


def test_optunas_max_trials_callback_counts_completed_trials_by_default() -> None:
    from hyperdial.study import MaxTrialsCallback  # where Optuna keeps it

    assert not MaxTrialsCallback(3).should_stop(history([1.0, None, 2.0]))
    assert MaxTrialsCallback(3).should_stop(history([1.0, None, 2.0, 0.5]))
    assert MaxTrialsCallback(3, None).should_stop(history([1.0, None, 2.0]))
    study = hd.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=20,
                   callbacks=[MaxTrialsCallback(4)])
    assert len(study.trials) == 4


def test_max_trials_is_study_wide_across_workers(tmp_path: Path) -> None:
    """A second worker on one SQLite study, asked for 20 trials, stops when the study holds
    12 finished ones, the first worker's 5 included."""
    url = f"sqlite:///{tmp_path / 'max.db'}"
    first = hd.create_study(study_name="s", storage=url, sampler=hd.samplers.RandomSampler(seed=0))
    first.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    second = hd.load_study(study_name="s", storage=url, sampler=hd.samplers.RandomSampler(seed=1))
    second.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=20,
                    callbacks=[MaxTrialsStopper(12)])
    assert len(first.trials) == 12


def test_stoppers_end_optimize_through_callbacks() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=200,
                   callbacks=[TargetValueStopper(0.05)])
    assert study.best_value <= 0.05 and len(study.trials) < 200
    assert study.trials[-1].value == study.best_value  # stopped right after reaching it


def test_regret_bound_shrinks_as_the_optimum_is_pinned_down() -> None:
    rng = np.random.default_rng(0)
    is_cat = np.zeros(1, dtype=bool)
    candidates = rng.random((256, 1))
    coarse = np.array([[0.0], [0.5], [1.0]])
    dense = np.linspace(0, 1, 25)[:, None]
    f = lambda x: (x[:, 0] - 0.3) ** 2  # noqa: E731
    wide = regret_bound(coarse, f(coarse), is_cat, candidates)
    narrow = regret_bound(dense, f(dense), is_cat, candidates)
    assert wide > narrow >= 0.0


def test_regret_bound_stopper() -> None:
    stopper = RegretBoundStopper(0.05, min_trials=5)
    assert stopper.bound(history([1.0, 2.0])) is None
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2, n_trials=60,
                   callbacks=[stopper])
    assert 5 <= len(study.trials) < 60
    bound = stopper.bound(study.history())
    assert bound is not None and bound < 0.05
    with pytest.raises(ValueError, match="threshold"):
        RegretBoundStopper(0.0)
    with pytest.raises(RuntimeError, match="single-objective"):
        stopper.should_stop(History((), (StudyDirection.MINIMIZE,) * 2))
