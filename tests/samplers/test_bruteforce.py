"""BruteForceSampler: every combination of a finite define-by-run space once, then the end."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import hyperdial as hd
from hyperdial.exceptions import SearchExhausted
from hyperdial.samplers import BruteForceSampler

#: Every combination `objective` can take: svm x kernel x C (2 x 3), tree x depth (4), knn.
ALL = {("svm", k, c) for k in ("rbf", "linear") for c in (0.1, 0.55, 1.0)} | \
    {("tree", d) for d in range(1, 5)} | {("knn",)}


def path(trial: hd.Trial) -> tuple[Any, ...]:
    model = trial.suggest_categorical("model", ["svm", "tree", "knn"])
    if model == "svm":
        return (model, trial.suggest_categorical("kernel", ["rbf", "linear"]),
                trial.suggest_float("C", 0.1, 1.0, step=0.45))
    if model == "tree":
        return model, trial.suggest_int("depth", 1, 4)
    return (model,)


def objective(trial: hd.Trial) -> float:
    return float(len(path(trial)))


def paths(study: hd.Study) -> list[tuple[Any, ...]]:
    return [tuple(t.params[k] for k in ("model", "kernel", "C", "depth") if k in t.params)
            for t in study.trials]


def test_every_combination_of_a_conditional_space_once_then_the_study_ends() -> None:
    study = hd.create_study(sampler=BruteForceSampler(seed=0))
    study.optimize(objective, n_trials=100)
    assert len(study.trials) == len(ALL) == 11
    assert set(paths(study)) == ALL
    with pytest.raises(SearchExhausted):
        study.ask()


def test_the_order_is_seeded() -> None:
    orders = []
    for seed in (0, 0, 1):
        study = hd.create_study(sampler=BruteForceSampler(seed=seed))
        study.optimize(objective, n_trials=100)
        orders.append(paths(study))
    assert orders[0] == orders[1]
    assert orders[0] != orders[2] and set(orders[2]) == ALL


def test_failed_and_pruned_combinations_are_not_tried_again() -> None:
    def flaky(trial: hd.Trial) -> float:
        p = path(trial)
        if p[0] == "tree" and p[1] % 2:
            raise hd.TrialPruned()
        if p[0] == "svm" and p[1] == "linear":
            raise RuntimeError("does not converge")
        return 1.0

    study = hd.create_study(sampler=BruteForceSampler(seed=3))
    study.optimize(flaky, n_trials=100, catch=(RuntimeError,))
    assert sorted(paths(study)) == sorted(ALL)
    states = {t.state for t in study.trials}
    assert states == {hd.TrialState.COMPLETE, hd.TrialState.PRUNED, hd.TrialState.FAIL}


def test_a_resumed_study_goes_on_with_what_is_left(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bf.db'}"
    first = hd.create_study(study_name="bf", storage=url, sampler=BruteForceSampler(seed=0))
    first.optimize(objective, n_trials=4)
    again = hd.load_study(study_name="bf", storage=url, sampler=BruteForceSampler(seed=5))
    again.optimize(objective, n_trials=100)
    assert len(again.trials) == 11 and set(paths(again)) == ALL


def test_workers_in_threads_cover_every_combination() -> None:
    study = hd.create_study(sampler=BruteForceSampler(seed=0))
    study.optimize(objective, n_trials=100, n_jobs=2)
    assert set(paths(study)) == ALL
    assert len(study.trials) < 30  # the study ended: a repeat is possible, a loop is not


def test_running_trials_of_the_process_are_steered_apart() -> None:
    """Trials running side by side in one process (threads of optimize, or asks before
    tells, as here step by step) see each other's parameters as they are suggested, before
    any reaches the storage: while an untried combination is left, none repeats another."""
    for seed in range(5):
        study = hd.create_study(sampler=BruteForceSampler(seed=seed))
        trials = [study.ask() for _ in range(6)]
        for depth in range(2):  # each trial suggests its first parameter, then its second
            for trial in trials:
                if depth == 0:
                    trial.suggest_int("a", 0, 2)
                else:
                    trial.suggest_categorical("b", ["x", "y"])
        assert len({(t.params["a"], t.params["b"]) for t in trials}) == 6  # all 3 x 2
        assert sorted(t.params["a"] for t in trials) == [0, 0, 1, 1, 2, 2]
        for trial in trials:
            study.tell(trial, 1.0)
        with pytest.raises(SearchExhausted):
            study.ask()


def patient_ask(study: hd.Study) -> tuple[threading.Thread, list[object]]:
    """An optimize worker's ask, in a daemon thread not yet started (so that a hang fails
    the test instead of blocking it); its trial, or the SearchExhausted it raised, lands in
    the list."""
    outcome: list[object] = []

    def worker() -> None:
        try:
            outcome.append(study._ask(None, heartbeat=False, patient=True))
        except SearchExhausted as exc:
            outcome.append(exc)

    return threading.Thread(target=worker, daemon=True), outcome


def test_a_worker_waits_rather_than_repeat_a_running_combination() -> None:
    """An optimize worker (a patient ask) that could only repeat what other workers' trials
    are running waits for them to end, then finds the search exhausted: no repeat."""
    study = hd.create_study(sampler=BruteForceSampler(seed=0))
    study.optimize(lambda t: t.suggest_int("a", 0, 2), n_trials=1)  # one combination ended
    running = [study._ask(None, heartbeat=False, patient=True) for _ in range(2)]
    for trial in running:
        trial.suggest_int("a", 0, 2)  # the two combinations left, one each
    worker, outcome = patient_ask(study)  # a third worker
    worker.start()
    for trial in running:  # whenever the worker asked, it waits until both have ended
        study.tell(trial, 1.0)
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], SearchExhausted)
    assert sorted(t.params["a"] for t in study.trials) == [0, 1, 2]


def test_a_continuous_float_is_refused_with_its_name() -> None:
    study = hd.create_study(sampler=BruteForceSampler(seed=0))
    with pytest.raises(ValueError, match="'lr'.*step"):
        study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1.0, log=True), n_trials=3)


def test_an_objective_that_suggests_nothing_runs_once() -> None:
    study = hd.create_study(sampler=BruteForceSampler(seed=0))
    study.optimize(lambda t: 1.0, n_trials=5)
    assert len(study.trials) == 1


def test_a_worker_whose_trial_cannot_end_does_not_leave_the_others_waiting() -> None:
    """A write that fails at a trial's end leaves it live, never ended: the loop releases it,
    so a worker waiting on it goes on (and the run's error surfaces instead of a hang)."""
    study = hd.create_study(sampler=BruteForceSampler(seed=0))
    study.enqueue_trial({"a": "p"})
    done = study.ask()
    done.suggest_categorical("a", ["p", "q"])
    study.tell(done, 1.0)
    stuck = study._ask(None, heartbeat=False, patient=True)
    assert stuck.suggest_categorical("a", ["p", "q"]) == "q"  # the last one: a worker waits
    worker, outcome = patient_ask(study)
    worker.start()
    study._release_patient(stuck.number)
    worker.join(timeout=30)
    assert not worker.is_alive() and isinstance(outcome[0], hd.Trial)


@pytest.mark.parametrize("stop_first", [True, False])
def test_a_waiting_worker_gives_up_when_the_study_is_stopped(stop_first: bool) -> None:
    study = hd.create_study(sampler=BruteForceSampler(seed=0))
    study.optimize(lambda t: t.suggest_int("a", 0, 1), n_trials=1)
    running = study._ask(None, heartbeat=False, patient=True)
    running.suggest_int("a", 0, 1)  # the last combination
    thread, outcome = patient_ask(study)
    if stop_first:
        study.stop()
    thread.start()
    study.stop()  # whether the worker waits already or not yet: it starts nothing
    thread.join(timeout=30)
    assert not thread.is_alive() and isinstance(outcome[0], SearchExhausted)
    assert len(study.trials) == 2


@pytest.mark.parametrize(("low", "high", "step", "n"), [(0.0, 0.3, 0.1, 4), (0.25, 0.35, 0.1, 2),
                                                        (0.1, 0.7, 0.2, 4), (0.0, 1.0, 0.1, 11)])
def test_a_stepped_float_whose_top_overshoots_in_floating_point_ends(
        low: float, high: float, step: float, n: int) -> None:
    """3 * 0.1 > 0.3: the top value never counted as tried, and was proposed forever."""
    study = hd.create_study(sampler=hd.samplers.BruteForceSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("a", low, high, step=step), n_trials=3 * n)
    values = [t.params["a"] for t in study.trials]
    assert len(values) == len(set(values)) == n
