"""`optimize_distributed`: one study, several tasks on an executor, a shared SQLite or journal
file."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import hyperdial as hd
from hyperdial.exceptions import StudyNotFound
from hyperdial.executors import RayExecutor, optimize_distributed


def quadratic(trial: hd.Trial) -> float:
    return (trial.suggest_float("x", -2.0, 2.0) - 0.5) ** 2


def fails_at_seven(trial: hd.Trial) -> float:
    if trial.number == 7:
        raise ValueError("trial 7 diverged")
    return quadratic(trial)


def _check_study(study: hd.Study, n_trials: int, n_tasks: int) -> None:
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(len(numbers)))  # unique and gap-free
    finished = [t for t in study.trials if t.state.is_finished()]
    assert n_trials <= len(finished) <= n_trials + n_tasks - 1
    assert all(t.state is hd.TrialState.COMPLETE for t in finished)


def _optimize_new(executor: Any, url: str, **kwargs: Any) -> hd.Study:
    """Create study "s" in ``url`` and optimise ``quadratic`` in it on ``executor``."""
    hd.create_study(study_name="s", storage=url)
    return optimize_distributed(executor, quadratic, study_name="s", storage=url, **kwargs)


def test_tasks_share_one_study_until_it_holds_n_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with ThreadPoolExecutor(3) as pool:
        study = _optimize_new(pool, url, n_trials=30, n_tasks=3,
                              sampler=functools.partial(hd.samplers.RandomSampler, seed=0))
    _check_study(study, 30, 3)
    with ThreadPoolExecutor(2) as pool:  # a resumed run adds up to the new total
        optimize_distributed(pool, quadratic, study_name="s", storage=url, n_trials=40,
                             n_tasks=2)
    _check_study(study, 40, 3)


def test_an_error_is_raised_after_the_tasks_and_loses_no_other_trial(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'errors.db'}"
    hd.create_study(study_name="s", storage=url)
    with ThreadPoolExecutor(2) as pool, pytest.raises(ValueError, match="trial 7 diverged"):
        optimize_distributed(pool, fails_at_seven, study_name="s", storage=url, n_trials=20,
                             n_tasks=2)
    study = hd.load_study(study_name="s", storage=url)
    states = {t.number: t.state for t in study.trials}
    assert states[7] is hd.TrialState.FAIL
    assert sum(s is hd.TrialState.COMPLETE for s in states.values()) >= 7
    with ThreadPoolExecutor(2) as pool:  # caught, the run goes on to its count
        optimize_distributed(pool, fails_at_seven, study_name="s", storage=url, n_trials=20,
                             n_tasks=2, catch=(ValueError,))
    assert sum(t.state.is_finished() for t in study.trials) >= 20


def test_refuses_a_private_storage_and_a_missing_study(tmp_path: Path) -> None:
    with ThreadPoolExecutor(1) as pool:
        for url in ("sqlite://", "sqlite:///:memory:"):
            with pytest.raises(ValueError, match="storage they can all open"):
                optimize_distributed(pool, quadratic, study_name="s", storage=url,
                                     n_trials=5, n_tasks=1)
        with pytest.raises(StudyNotFound, match=f"'nope' in sqlite:///{tmp_path}"):
            optimize_distributed(pool, quadratic, study_name="nope",
                                 storage=f"sqlite:///{tmp_path / 'x.db'}", n_trials=5,
                                 n_tasks=1)
        with pytest.raises(ValueError, match="n_tasks"):
            optimize_distributed(pool, quadratic, study_name="s",
                                 storage=f"sqlite:///{tmp_path / 'x.db'}", n_trials=5,
                                 n_tasks=0)


def test_a_missing_study_names_its_storage_without_the_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    named = r"'a' in sqlite:///typo\.db .*; a relative path, " + re.escape(
        str(tmp_path / "typo.db"))
    with ThreadPoolExecutor(1) as pool, pytest.raises(StudyNotFound, match=named):
        optimize_distributed(pool, quadratic, study_name="a", storage="sqlite:///typo.db",
                             n_trials=1, n_tasks=1)


def test_tasks_open_the_study_with_the_given_heartbeat_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'settings.db'}"
    seen: set[tuple[Any, ...]] = set()

    def objective(trial: hd.Trial) -> float:
        study = trial._driver  # the task's study
        assert isinstance(study, hd.Study)
        seen.add((study.heartbeat_interval, study.grace_period, study.failed_trial_retries))
        return quadratic(trial)

    hd.create_study(study_name="s", storage=url)
    with ThreadPoolExecutor(2) as pool:
        study = optimize_distributed(pool, objective, study_name="s", storage=url, n_trials=4,
                                     n_tasks=2, heartbeat_interval=2.0, grace_period=7.0,
                                     failed_trial_retries=2)
        assert seen == {(2.0, 7.0, 2)}
        assert (study.heartbeat_interval, study.grace_period,
                study.failed_trial_retries) == (2.0, 7.0, 2)
        with pytest.raises(ValueError, match="failed_trial_retries"):
            optimize_distributed(pool, objective, study_name="s", storage=url, n_trials=4,
                                 n_tasks=2, failed_trial_retries=-1)


class _PureExecutor(ThreadPoolExecutor):
    """Runs calls with equal arguments once, as Dask's executor does with pure tasks."""

    def __init__(self) -> None:
        super().__init__(4)
        self.runs: dict[Any, Future[Any]] = {}

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        key = (fn, *args)
        if key not in self.runs:
            self.runs[key] = super().submit(fn, *args, **kwargs)
        return self.runs[key]


def test_an_executor_that_merges_equal_calls_still_runs_n_tasks(tmp_path: Path) -> None:
    with _PureExecutor() as pool:
        _optimize_new(pool, f"sqlite:///{tmp_path / 'p.db'}", n_trials=6, n_tasks=3)
    assert len(pool.runs) == 3


def test_on_a_dask_cluster_of_processes(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        study = _optimize_new(client.get_executor(), f"sqlite:///{tmp_path / 'dask.db'}",
                              n_trials=24, n_tasks=2, sampler=hd.samplers.RandomSampler)
    _check_study(study, 24, 2)


def killed_once_at_trial_three(trial: hd.Trial, marker: str) -> float:
    """SIGKILLs its worker process in the middle of trial 3, the first time it runs it."""
    x = trial.suggest_float("x", -2.0, 2.0)
    if trial.number == 3 and not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return (x - 0.5) ** 2


def test_a_trial_killed_on_a_dask_worker_is_failed_and_retried(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    hd.create_study(study_name="s", storage=url)
    objective = functools.partial(killed_once_at_trial_three, marker=str(tmp_path / "killed"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        study = optimize_distributed(client.get_executor(), objective, study_name="s",
                                     storage=url, n_trials=12, n_tasks=2,
                                     sampler=hd.samplers.RandomSampler, heartbeat_interval=1.0,
                                     grace_period=5.0, failed_trial_retries=1)
    assert (tmp_path / "killed").exists()
    trials = study.trials
    killed = trials[3]
    assert killed.state is hd.TrialState.FAIL and killed.fail_reason
    (retry,) = [t for t in trials if t.system_attrs.get("retry_of") == 3]
    assert retry.state is hd.TrialState.COMPLETE and retry.params == killed.params
    others = [t for t in trials if t.number not in (3, retry.number)]
    assert all(t.state is hd.TrialState.COMPLETE for t in others)  # no other trial lost
    assert 12 <= len(others) + 1 <= 12 + 1
    assert sorted(t.number for t in trials) == list(range(len(trials)))


def hangs_at_zero_dies_at_three(trial: hd.Trial, marker: str) -> float:
    """Trial 0 waits (until its process is ended); the process running trial 3 is killed."""
    x = trial.suggest_float("x", -2.0, 2.0)
    if trial.number == 0:
        threading.Event().wait(60)  # ended long before, by the broken pool
    if trial.number == 3 and not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return (x - 0.5) ** 2


def test_a_broken_process_pool_fails_every_trial_it_ended(tmp_path: Path) -> None:
    from hyperdial.executors.distributed import LOST_REASON

    url = f"sqlite:///{tmp_path / 'broken.db'}"
    hd.create_study(study_name="s", storage=url)
    objective = functools.partial(hangs_at_zero_dies_at_three, marker=str(tmp_path / "died"))
    broke = r"process pool broke.*running, \[0, 3\], are failed as lost"
    with ProcessPoolExecutor(2) as pool, pytest.raises(BrokenProcessPool, match=broke):
        optimize_distributed(pool, objective, study_name="s", storage=url, n_trials=8,
                             n_tasks=2, failed_trial_retries=1)
    study = hd.load_study(study_name="s", storage=url)
    states = {t.number: t.state for t in study.trials}
    # the killed trial and the one its pool mate was running when the pool ended it
    assert {n for n, s in states.items() if s is hd.TrialState.FAIL} == {0, 3}
    assert all(study.trials[n].fail_reason == LOST_REASON for n in (0, 3))
    assert states[1] is states[2] is hd.TrialState.COMPLETE
    waiting = [t for t in study.trials if t.state is hd.TrialState.WAITING]
    assert sorted(t.system_attrs["retry_of"] for t in waiting) == [0, 3]
    with ProcessPoolExecutor(2) as pool:  # the next run on a new pool runs their retries
        study = optimize_distributed(pool, objective, study_name="s", storage=url, n_trials=8,
                                     n_tasks=2, failed_trial_retries=1)
    retries = {t.system_attrs["retry_of"]: t for t in study.trials if "retry_of" in t.system_attrs}
    assert sorted(retries) == [0, 3]
    assert all(r.state is hd.TrialState.COMPLETE for r in retries.values())
    assert all(r.params == study.trials[n].params for n, r in retries.items())
    assert not [t for t in study.trials if not t.state.is_finished()]


def test_worker_processes_share_a_journal_file(tmp_path: Path) -> None:
    url = f"journal:///{tmp_path / 'shared.jsonl'}"
    with ProcessPoolExecutor(3) as pool:
        study = _optimize_new(pool, url, n_trials=45, n_tasks=3,
                              sampler=functools.partial(hd.samplers.GPSampler, seed=0))
    _check_study(study, 45, 3)
    assert study.best_value < 0.01
    # a proposal published while a trial ran is dropped when it ends
    assert not any("proposal" in t.system_attrs for t in study.trials)


def test_built_samplers_and_pruners_travel_to_worker_processes(tmp_path: Path) -> None:
    with ProcessPoolExecutor(2) as pool:
        study = _optimize_new(pool, f"sqlite:///{tmp_path / 'built.db'}", n_trials=16,
                              n_tasks=2, sampler=hd.samplers.TPESampler(seed=0, n_startup_trials=4),
                              pruner=hd.pruners.MedianPruner())
    _check_study(study, 16, 2)
    # the seeded sampler made the trip: trial 0, proposed from an empty history, is the one
    # the same sampler proposes in this process (the default sampler's would differ)
    here = hd.create_study(sampler=hd.samplers.TPESampler(seed=0, n_startup_trials=4))
    here.optimize(quadratic, n_trials=1)
    assert study.trials[0].params == here.trials[0].params
    other = hd.create_study(sampler=hd.samplers.TPESampler(seed=1))
    other.optimize(quadratic, n_trials=1)
    assert other.trials[0].params != here.trials[0].params


def dies_once_at_trial_three(trial: hd.Trial, marker: str) -> float:
    """Kills its worker process the first time it runs trial 3."""
    if trial.number == 3 and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return quadratic(trial)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[ModuleType]:
    """A real local Ray cluster of 2 CPUs (6-10 s to start), shut down after this module."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'hyperdial[ray]'")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a one-machine cluster needs no token
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    yield ray
    ray.shutdown()


def test_ray_futures_are_concurrent_futures(ray_cluster: ModuleType) -> None:
    with RayExecutor(num_cpus=1) as executor:
        done = executor.submit(pow, 2, 10)
        failed = executor.submit(divmod, 1, 0)
        assert isinstance(done, Future) and done.result(timeout=60) == 1024
        with pytest.raises(ZeroDivisionError):  # Ray's task error keeps the original type
            failed.result(timeout=60)
    assert "closed=True" in repr(executor)
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(pow, 2, 3)


def test_on_a_ray_cluster(ray_cluster: ModuleType, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ray.db'}"
    with RayExecutor() as executor:
        study = _optimize_new(executor, url, n_trials=24, n_tasks=2,
                              sampler=hd.samplers.RandomSampler)
    _check_study(study, 24, 2)
    failing = hd.create_study(study_name="failing", storage=url)
    with RayExecutor() as executor, pytest.raises(ValueError, match="trial 7 diverged"):
        optimize_distributed(executor, fails_at_seven, study_name="failing", storage=url,
                             n_trials=20, n_tasks=2)
    assert {t.number: t.state for t in failing.trials}[7] is hd.TrialState.FAIL


def test_a_ray_task_whose_worker_died_joins_the_study_again(ray_cluster: ModuleType,
                                                            tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ray-crash.db'}"
    hd.create_study(study_name="s", storage=url)
    objective = functools.partial(dies_once_at_trial_three, marker=str(tmp_path / "died"))
    with RayExecutor() as executor:
        study = optimize_distributed(executor, objective, study_name="s", storage=url,
                                     n_trials=12, n_tasks=1)
    assert (tmp_path / "died").exists()
    states = {t.number: t.state for t in study.trials}
    assert states[3] is hd.TrialState.FAIL  # its worker died with it
    assert sum(s is hd.TrialState.COMPLETE for s in states.values()) == 12
    assert sorted(states) == list(range(len(states)))


def interrupts_its_caller(trial: hd.Trial, lock: Any, started: Any, both_running: Any,
                          release: Any, interrupt: Any) -> float:
    """The 6th and 7th trials to start (one on each task) wait until both run, then one
    presses Ctrl-C in the caller, and both wait until it has been handled."""
    x = trial.suggest_float("x", -2.0, 2.0)
    with lock:
        started.append(trial.number)
        n = len(started)
    if n in (6, 7):
        if both_running.wait(60) == 0:
            interrupt()
        release.wait(60)
    return (x - 0.5) ** 2


@pytest.mark.parametrize("pool_kind", ["thread", "process"])
def test_ctrl_c_in_the_caller_stops_every_task_and_fails_the_running_trials(
        tmp_path: Path, pool_kind: str) -> None:
    """The tasks went on to ``n_trials`` (a thread pool's caller waited for them all), and
    the trials they were running stayed RUNNING once they were gone (Dask)."""
    import multiprocessing

    from hyperdial.executors.distributed import INTERRUPTED_ATTR, INTERRUPTED_REASON

    url = f"sqlite:///{tmp_path / 'ctrl-c.db'}"
    hd.create_study(study_name="s", storage=url)
    with contextlib.ExitStack() as stack:
        if pool_kind == "thread":
            sync: Any = threading
            lock, started = threading.Lock(), []
            interrupt = functools.partial(signal.pthread_kill, threading.main_thread().ident,
                                          signal.SIGINT)
            pool: Any = stack.enter_context(ThreadPoolExecutor(2))
        else:
            sync = stack.enter_context(multiprocessing.Manager())
            lock, started = sync.Lock(), sync.list()
            interrupt = functools.partial(os.kill, os.getpid(), signal.SIGINT)
            pool = stack.enter_context(ProcessPoolExecutor(2))
        release = sync.Event()
        objective = functools.partial(interrupts_its_caller, lock=lock, started=started,
                                      both_running=sync.Barrier(2), release=release,
                                      interrupt=interrupt)
        with pytest.raises(KeyboardInterrupt):
            optimize_distributed(pool, objective, study_name="s", storage=url, n_trials=200,
                                 n_tasks=2)
        release.set()
        pool.shutdown(wait=True)
        started = list(started)
    study = hd.load_study(study_name="s", storage=url)
    flags = [k for k in study._stored_attrs() if k.startswith(INTERRUPTED_ATTR)]
    assert len(flags) == 1  # the flag every task looks at
    assert not study.user_attrs  # hyperdial's own, hidden
    trials = study.trials
    assert len(started) == len(trials) == 7  # no task started a trial after the Ctrl-C
    assert {t.number: (t.state, t.fail_reason) for t in trials if t.number in started[5:]} == {
        n: (hd.TrialState.FAIL, INTERRUPTED_REASON) for n in started[5:]}
    assert all(t.state is hd.TrialState.COMPLETE for t in trials if t.number not in started[5:])
