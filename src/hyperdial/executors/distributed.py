"""Run one study on an existing pool of processes or machines: Dask, Ray, a process pool.

`optimize_distributed` submits ``n_tasks`` worker tasks to any executor of the
`concurrent.futures` shape (Dask's ``client.get_executor()``, `RayExecutor`, a
``ProcessPoolExecutor``, or anything else with ``submit`` returning futures). Each task opens
the study from its storage URL and optimises it until the study holds ``n_trials`` finished
trials in all; the workers share nothing but the storage, which hands out trial numbers and
keeps every result. The storage must be one every task can reach: PostgreSQL, or a journal
file (or SQLite, on a local disk) that they share.

Each task marks the trials it runs with the system attribute ``distributed_task`` (the run
and the task), so that once every task is done the caller knows which trials were lost with
a task whose process died: those still RUNNING. It fails them at once and, with
``failed_trial_retries``, has their retries run before it returns. Interrupted (Ctrl-C), it
flags the run as stopped in the study's storage, where every task looks between two trials,
cancels the tasks not started and fails the trials the run is running.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from hyperdial.executors.base import Executor
from hyperdial.stoppers import Stopper
from hyperdial.trial import TASK_ATTR, TrialState

if TYPE_CHECKING:
    from hyperdial.history import History
    from hyperdial.pruners.base import Pruner
    from hyperdial.samplers.base import Sampler
    from hyperdial.study import Study
    from hyperdial.trial import Trial, TrialRecord

#: Why a trial lost with its task is failed.
LOST_REASON = ("lost: its task ended without finishing it (the worker process died: killed, "
               "out of memory, os._exit, or its process pool broke)")
#: Why a trial that a run was running when its caller was interrupted (Ctrl-C) is failed.
INTERRUPTED_REASON = "interrupted (KeyboardInterrupt in optimize_distributed)"
#: The study attribute (with the run id after it, one a run, so that runs interrupted at once
#: cannot lose each other's) that marks a run whose caller was interrupted: its tasks start no
#: new trial. Hidden from `Study.user_attrs`, as every ``hyperdial:`` attribute.
INTERRUPTED_ATTR = "hyperdial:interrupted:"


def optimize_distributed(executor: Executor, objective: Callable[..., Any], *,
                         study_name: str, storage: str, n_trials: int, n_tasks: int,
                         sampler: Sampler | Callable[[], Sampler] | None = None,
                         pruner: Pruner | Callable[[], Pruner] | None = None,
                         catch: Iterable[type[Exception]] = (),
                         heartbeat_interval: float | str | None = "auto",
                         grace_period: float | None = None,
                         failed_trial_retries: int = 0) -> Study:
    """Optimise the study ``study_name`` in ``storage`` (a URL; the study must exist) with
    ``n_tasks`` tasks on ``executor`` until it holds ``n_trials`` finished trials; returns it.

    ``objective``, ``sampler`` and ``pruner`` travel to the tasks, so they must be picklable
    (module-level functions). The sampler and pruner may be built ones, of which each task
    gets its own copy, or factories (a class, a ``functools.partial``) that each task calls.
    A seeded sampler gives each trial the same proposal on whichever task runs it. Each task
    finishes the trial it is running when the count is reached, so up to ``n_tasks - 1``
    trials more may end. An error that stops a task (an exception from the objective not in
    ``catch``) is raised once every task is done.

    ``heartbeat_interval``, ``grace_period`` and ``failed_trial_retries`` mean what they mean
    for `hyperdial.load_study`, and every task (and the returned study) opens the study with
    them: a study does not store them, so pass here those it was created with. A trial whose
    task died is failed as stale by the other tasks once its heartbeat is ``grace_period``
    old, and at the latest when every task is done (its reason says it was lost); with
    ``failed_trial_retries`` it is retried with the same parameters, and the retries run
    before this returns (in a further round of tasks if need be). A failed trial that was
    retried does not count towards ``n_trials``; its retry does.

    A ``concurrent.futures.ProcessPoolExecutor`` cannot outlive the death of one of its
    processes: the pool breaks and ends every task. The trials they were running are failed,
    and `BrokenProcessPool` is raised saying so; their retries, if any, wait for the next run.
    Dask and Ray replace a dead worker and re-run its task, so the run goes on.

    A KeyboardInterrupt (Ctrl-C) here stops the run at once: the run is marked in a study
    attribute (``hyperdial:interrupted:<run>``), so that each task starts no new trial
    once its running one ends, the tasks not started are cancelled, the trials the run is
    running are failed as interrupted (their ends, when their tasks get there, are dropped),
    and the KeyboardInterrupt goes on.
    """
    from hyperdial.storage.sql import is_private_url

    if not isinstance(storage, str) or is_private_url(storage):
        raise ValueError(f"tasks need a storage they can all open by URL (PostgreSQL, or a "
                         f"journal or SQLite file they share), got {storage!r}")
    for name, value in (("n_trials", n_trials), ("n_tasks", n_tasks)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    settings = {"heartbeat_interval": heartbeat_interval, "grace_period": grace_period,
                "failed_trial_retries": failed_trial_retries}
    study = _load(study_name, storage, None, None, settings)  # it must exist: fail here
    run = uuid.uuid4().hex[:12]
    tasks, round_, before = n_tasks, 0, list[int]()
    futures: list[Future[None]] = []
    try:
        while True:
            # Each task gets its own tag: Dask takes submits as pure by default and would merge
            # ``n_tasks`` calls with equal arguments into one task.
            futures = [
                executor.submit(_task, objective, study_name, storage, n_trials, sampler, pruner,
                                tuple(catch), tuple(settings.items()), f"{run}:{round_}:{i}")
                for i in range(tasks)]
            errors = []
            for future in futures:
                try:
                    future.result()
                except Exception as exc:  # every task's outcome is collected before raising
                    errors.append(exc)
            broken = next((e for e in errors if isinstance(e, BrokenProcessPool)), None)
            if broken is not None:
                executor.shutdown(wait=True)  # its other processes are ended before we look
            lost = _fail_lost(study, f"{run}:")
            if broken is not None:
                raise BrokenProcessPool(
                    f"a worker process of the pool died (killed, out of memory, os._exit, ...) "
                    f"and the process pool broke, ending every task of this run; the trials they "
                    f"were running, {lost}, are failed as lost; the study now holds "
                    f"{_counted(study.history())} of the {n_trials} finished trials asked for. "
                    f"Run optimize_distributed again on a new pool to go on (Dask and Ray "
                    f"replace a dead worker instead)") from broken
            if errors:
                raise errors[0]
            study = _load(study_name, storage, None, None, settings)  # fails stale trials too
            waiting = _waiting_retries(study.history())
            if not waiting or waiting == before:  # (no task took them: nothing more to do)
                return study
            tasks, round_, before = min(n_tasks, len(waiting)), round_ + 1, waiting
    except KeyboardInterrupt:
        _interrupt(study, run, futures)
        raise


def _load(study_name: str, storage: str, sampler: Sampler | None, pruner: Pruner | None,
          settings: dict[str, Any]) -> Study:
    """`load_study` with the run's settings; a missing study's error names the storage."""
    from hyperdial.exceptions import StudyNotFound
    from hyperdial.study import load_study

    try:
        return load_study(study_name=study_name, storage=storage, sampler=sampler,
                          pruner=pruner, **settings)
    except StudyNotFound as exc:  # (its message names the storage, password masked)
        raise StudyNotFound(f"{exc}{_relative_note(storage)}") from None


def _relative_note(url: str) -> str:
    """For a relative SQLite or journal path, that each task resolves it in its own working
    directory (where this process did, too); "" otherwise."""
    from hyperdial.storage import journal_path

    match = re.match(r"sqlite(?:\+\w+)?:///([^?]+)", url)
    path = journal_path(url) or (match.group(1) if match else None)
    if path is None or os.path.isabs(path):
        return ""
    scheme = url.split(":///", 1)[0]
    return (f"; a relative path, {os.path.abspath(path)} for process {os.getpid()} on "
            f"{socket.gethostname()}, each task resolving it in its own working directory: an "
            f"absolute one takes four slashes, {scheme}:////abs/path")


def _counted(history: History) -> int:
    """Finished trials, less failed ones that were retried (their retry counts instead)."""
    latest: dict[int, TrialRecord] = {}  # a trial's first attempt -> its latest attempt
    for t in history.trials:  # in number order: a later attempt replaces an earlier one
        latest[t.system_attrs.get("retry_of", t.number)] = t
    return sum(t.state.is_finished() for t in latest.values())


def _waiting_retries(history: History) -> list[int]:
    return [t.number for t in history.trials
            if t.state is TrialState.WAITING and "retry_of" in t.system_attrs]


class _RunStopper(Stopper):
    """`MaxTrialsStopper` for a run that retries lost trials: a failed trial that was retried
    does not count, and the run goes on while a retry waits. As a callback it also stops
    the study once the run's caller was interrupted."""

    def __init__(self, n_trials: int, run: str) -> None:
        self.n_trials = n_trials
        self.run = run

    def should_stop(self, history: History) -> bool:
        return _counted(history) >= self.n_trials and not _waiting_retries(history)

    def __call__(self, study: Study, record: TrialRecord) -> None:
        if _interrupted(study, self.run) or self.should_stop(study.history()):
            study.stop()


def _interrupted(study: Study, run: str) -> bool:
    """Whether the caller of ``run`` was interrupted (`INTERRUPTED_ATTR`)."""
    return INTERRUPTED_ATTR + run in study.storage.get_study(study.study_name).user_attrs


def _interrupt(study: Study, run: str, futures: Iterable[Future[None]]) -> None:
    """Stop ``run``, whose caller was interrupted: its tasks start no new trial, those not
    started are cancelled, and the trials it is running are failed as interrupted."""
    study.storage.set_study_user_attr(study._info.id, INTERRUPTED_ATTR + run, True)
    for future in futures:
        future.cancel()
    _fail_running(study, f"{run}:", INTERRUPTED_REASON)


def _fail_lost(study: Study, run: str) -> list[int]:
    """Fail the trials of this run still RUNNING once its tasks are all done (their task
    died with them) and queue their retries; returns their numbers."""
    failed = _fail_running(study, run, LOST_REASON)
    study._requeue_all(failed)  # as stale trials are retried
    return failed


def _fail_running(study: Study, run: str, reason: str) -> list[int]:
    """Fail the trials of this run still RUNNING, with ``reason``; returns those failed
    here (not those another worker failed as stale meanwhile, and retried then)."""
    from hyperdial.exceptions import TrialFinishedError

    running = [t.number for t in study.history().trials if t.state is TrialState.RUNNING
               and str(t.system_attrs.get(TASK_ATTR, "")).startswith(run)]
    failed = []
    for number in running:
        try:
            study.storage.append(study._info.id, number, [
                ("finish", {"t": time.time(), "state": TrialState.FAIL.value,
                            "reason": reason})])
        except TrialFinishedError:
            continue
        failed.append(number)
    return failed


def _task(objective: Callable[..., Any], study_name: str, storage: str, n_trials: int,
          sampler: Sampler | Callable[[], Sampler] | None,
          pruner: Pruner | Callable[[], Pruner] | None,
          catch: tuple[type[Exception], ...], settings: tuple[tuple[str, Any], ...],
          tag: str) -> None:
    """One worker: open the study, run trials until it holds ``n_trials`` finished ones."""
    from hyperdial.exceptions import TrialFinishedError
    from hyperdial.pruners.base import Pruner
    from hyperdial.samplers.base import Sampler

    study = _load(study_name, storage,
                  sampler if isinstance(sampler, Sampler | None) else sampler(),
                  pruner if isinstance(pruner, Pruner | None) else pruner(), dict(settings))
    stopper = _RunStopper(n_trials, tag.split(":")[0])
    if _interrupted(study, stopper.run) or stopper.should_stop(study.history()):
        return
    study_id = study._info.id

    def tagged(trial: Trial) -> Any:
        # Written before the objective runs, so a trial lost with this process is known.
        with contextlib.suppress(TrialFinishedError):  # (failed as stale before it began)
            study.storage.append(study_id, trial.number,
                                 [("attrs", {"system": {TASK_ATTR: tag}})])
        return objective(trial)

    study.optimize(tagged, n_trials=n_trials, catch=catch, callbacks=[stopper])
