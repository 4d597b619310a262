"""Run one study on an existing pool of processes or machines: Dask, a process pool.

`optimize_distributed` submits ``n_tasks`` worker tasks to any executor of the
`concurrent.futures` shape (Dask's ``client.get_executor()``, a ``ProcessPoolExecutor``, or
anything else with ``submit`` returning futures). Each task opens the study from its
storage URL and optimises it until the study holds ``n_trials`` finished trials in all
(`hyperdial.stoppers.MaxTrialsStopper`); the workers share nothing but the storage, which
hands out trial numbers and keeps every result, so a task that dies loses only its running
trial (failed as stale once its heartbeat stops). The storage must be one every task can
reach: PostgreSQL, or a journal file (or SQLite, on a local disk) that they share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from hyperdial.executors.base import Executor

if TYPE_CHECKING:
    from hyperdial.pruners.base import Pruner
    from hyperdial.samplers.base import Sampler
    from hyperdial.study import Study


def optimize_distributed(executor: Executor, objective: Callable[..., Any], *,
                         study_name: str, storage: str, n_trials: int, n_tasks: int,
                         sampler: Sampler | Callable[[], Sampler] | None = None,
                         pruner: Pruner | Callable[[], Pruner] | None = None,
                         catch: Iterable[type[Exception]] = ()) -> Study:
    """Optimise the study ``study_name`` in ``storage`` (a URL; the study must exist) with
    ``n_tasks`` tasks on ``executor`` until it holds ``n_trials`` finished trials; returns it.

    ``objective``, ``sampler`` and ``pruner`` travel to the tasks, so they must be picklable
    (module-level functions). The sampler and pruner may be built ones, of which each task
    gets its own copy, or factories (a class, a ``functools.partial``) that each task calls.
    A seeded sampler gives each trial the same proposal on whichever task runs it. Each task
    finishes the trial it is running when the count is reached, so up to ``n_tasks - 1``
    trials more may end. An error that stops a task (an exception from the objective not in
    ``catch``) is raised once every task is done.
    """
    from hyperdial.storage.sql import is_private_url
    from hyperdial.study import load_study

    if not isinstance(storage, str) or is_private_url(storage):
        raise ValueError(f"tasks need a storage they can all open by URL (PostgreSQL, or a "
                         f"journal or SQLite file they share), got {storage!r}")
    for name, value in (("n_trials", n_trials), ("n_tasks", n_tasks)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    study = load_study(study_name=study_name, storage=storage)  # it must exist: fail here
    # Each task gets its own index: Dask takes submits as pure by default and would merge
    # ``n_tasks`` calls with equal arguments into one task.
    futures: list[Future[None]] = [
        executor.submit(_task, objective, study_name, storage, n_trials, sampler, pruner,
                        tuple(catch), i) for i in range(n_tasks)]
    errors = []
    for future in futures:
        try:
            future.result()
        except Exception as exc:  # every task's outcome is collected before raising
            errors.append(exc)
    if errors:
        raise errors[0]
    return study


def _task(objective: Callable[..., Any], study_name: str, storage: str, n_trials: int,
          sampler: Sampler | Callable[[], Sampler] | None,
          pruner: Pruner | Callable[[], Pruner] | None,
          catch: tuple[type[Exception], ...], index: int) -> None:
    """Worker ``index``: open the study, run trials until it holds ``n_trials`` finished
    ones."""
    from hyperdial.pruners.base import Pruner
    from hyperdial.samplers.base import Sampler
    from hyperdial.stoppers import MaxTrialsStopper
    from hyperdial.study import load_study

    study = load_study(study_name=study_name, storage=storage,
                       sampler=sampler if isinstance(sampler, Sampler | None) else sampler(),
                       pruner=pruner if isinstance(pruner, Pruner | None) else pruner())
    stopper = MaxTrialsStopper(n_trials)
    if stopper.should_stop(study.history()):
        return
    study.optimize(objective, n_trials=n_trials, catch=catch, callbacks=[stopper])

