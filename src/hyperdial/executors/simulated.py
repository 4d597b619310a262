"""A simulated executor: virtual workers and a virtual clock, for testing asynchronous
algorithms (ASHA, Hyperband, PBT) deterministically, without sleeps or threads.

A task is a generator function: each ``yield cost`` spends ``cost`` virtual seconds, and the
task resumes when the clock gets there; its ``return`` value becomes its future's result. A
plain function (no ``yield``) takes no virtual time. ``n_workers`` tasks run at once; more wait
in submission order. Events are handled in virtual-time order; simultaneous ones in an order
drawn from ``seed``, so the same seed gives the same trace, event for event.

`optimize_simulated` is `Study.optimize` on this executor: each task asks the study for a
trial, drives the objective generator and tells the result::

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for epoch in range(1, 10):
            yield 1.0 + x                        # this epoch costs 1 + x virtual seconds
            trial.report((x - 0.3) ** 2 + 1 / epoch, epoch)
            if trial.should_prune():
                raise hd.TrialPruned()
        return (x - 0.3) ** 2
"""

from __future__ import annotations

import contextlib
import heapq
import inspect
import itertools
import math
import traceback
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from numbers import Real
from typing import Any, Protocol, cast

import numpy as np

from hyperdial._loop import log_caught
from hyperdial.exceptions import SearchExhausted, TrialPruned
from hyperdial.space import plain
from hyperdial.trial import Trial, TrialRecord, TrialState

Task = Generator[float, None, Any]


@dataclass(frozen=True)
class Event:
    """One entry of the trace: at virtual ``time``, task ``task`` started, ran a step costing
    ``cost``, finished, raised, or was cancelled by an interrupt (see `SimulatedExecutor.run`)."""

    time: float
    task: int
    kind: str  # "start" | "step" | "done" | "error" | "cancel"
    cost: float = 0.0


class SimulatedExecutor:
    """``n_workers`` virtual workers sharing a virtual clock (`now`, in virtual seconds).

    `submit` queues a task and returns its future; nothing runs until `run` (or `shutdown`)
    advances the clock. Done-callbacks of the futures run inside `run`, at the virtual time the
    task finished, and may submit more tasks.
    """

    def __init__(self, n_workers: int = 1, *, seed: int = 0) -> None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"n_workers must be an int >= 1, got {n_workers!r}")
        self.n_workers = n_workers
        self.now = 0.0
        self.trace: list[Event] = []
        self._rng = np.random.default_rng(seed)
        self._ids = itertools.count()
        self._queue: deque[tuple[int, Callable[[], Any], Future[Any]]] = deque()
        self._heap: list[tuple[float, float, int, Task, Future[Any]]] = []
        self._busy = 0
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:
            raise RuntimeError("cannot submit to a shut-down executor")
        future: Future[Any] = Future()
        self._queue.append((next(self._ids), lambda: fn(*args, **kwargs), future))
        return future

    def shutdown(self, wait: bool = True) -> None:
        if wait:
            self.run()
        self._closed = True

    def run(self, until: float | None = None) -> None:
        """Handle events until no task is left (or the next one is past time ``until``).

        A KeyboardInterrupt (or another exception that is not an `Exception`: SystemExit)
        stops the run at once, as it would stop real workers: raised by a task, it is set on
        that task's future too; the other running tasks are closed (``GeneratorExit`` at their
        ``yield``, so that they can clean up), their futures and the queued tasks' are
        cancelled, and the exception propagates."""
        try:
            self._start_queued()
            while self._heap and (until is None or self._heap[0][0] <= until):
                time, _, task_id, task, future = heapq.heappop(self._heap)
                self.now = time
                self._advance(task_id, task, future)
                self._start_queued()
        except BaseException:
            self._cancel_all()
            raise
        if until is not None:
            self.now = max(self.now, until)

    def _cancel_all(self) -> None:
        """Close every running task and cancel it and every queued one (see `run`)."""
        while self._queue:
            self._queue.popleft()[2].cancel()
        while self._heap:
            _, _, task_id, task, future = heapq.heappop(self._heap)
            self._busy -= 1
            self.trace.append(Event(self.now, task_id, "cancel"))
            with contextlib.suppress(Exception):  # the interrupt being raised says more
                task.close()
            future.cancel()

    def _start_queued(self) -> None:
        while self._queue and self._busy < self.n_workers:
            task_id, call, future = self._queue.popleft()
            self._busy += 1
            self.trace.append(Event(self.now, task_id, "start"))
            try:
                task = call()
            except BaseException as exc:
                self._finish(task_id, future, exc=exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            if inspect.isgenerator(task):
                self._advance(task_id, cast(Task, task), future)
            else:
                self._finish(task_id, future, result=task)

    def _advance(self, task_id: int, task: Task, future: Future[Any]) -> None:
        """Run ``task`` up to its next ``yield`` (then schedule it) or its end. A step cost that
        is not a finite number >= 0 is raised as a ValueError inside the task, at that
        ``yield``, so the task ends as on any error of its own (`optimize_simulated` fails the
        trial); an infinite one would leave the clock at infinity for the rest of the run."""
        error: ValueError | None = None
        while True:
            try:
                cost = task.send(None) if error is None else task.throw(error)
            except StopIteration as stop:
                self._finish(task_id, future, result=stop.value)
                return
            except BaseException as exc:
                self._finish(task_id, future, exc=exc)
                if not isinstance(exc, Exception):  # Ctrl-C: see `run`
                    raise
                return
            step = _virtual_seconds(cost)
            if step is not None:
                break
            error = ValueError(f"a step cost {cost!r}; costs are finite virtual seconds >= 0")
        self.trace.append(Event(self.now, task_id, "step", step))
        heapq.heappush(self._heap, (self.now + step, float(self._rng.random()), task_id, task,
                                    future))

    def _finish(self, task_id: int, future: Future[Any], *, result: Any = None,
                exc: BaseException | None = None) -> None:
        self._busy -= 1
        self.trace.append(Event(self.now, task_id, "done" if exc is None else "error"))
        if exc is None:
            future.set_result(result)
        else:
            future.set_exception(exc)


def _virtual_seconds(cost: Any) -> float | None:
    """``cost`` as a number of virtual seconds, None unless it is a finite real number >= 0
    (not a bool, nor a string that ``float`` would parse); numpy values and torch tensors count
    as the numbers they hold."""
    cost = plain(cost)
    if isinstance(cost, bool) or not isinstance(cost, Real):
        return None
    step = float(cost)
    return step if math.isfinite(step) and step >= 0.0 else None


class AskTell(Protocol):
    """What `optimize_simulated` needs of a study (`hyperdial.Study` has it)."""

    _stop_requested: bool

    def ask(self) -> Trial: ...
    def tell(self, trial: Trial, values: Any = None, state: TrialState | None = None, *,
             fail_reason: str | None = None, traceback: str | None = None) -> TrialRecord: ...


def optimize_simulated(study: AskTell, objective: Callable[[Trial], Task | Any], *,
                       n_trials: int, executor: SimulatedExecutor,
                       callbacks: Sequence[Callable[[Any, TrialRecord], None]] = ()) -> None:
    """Run ``n_trials`` trials of ``study`` on ``executor``'s virtual workers.

    ``objective(trial)`` is a generator yielding step costs (see the module notes) or a plain
    function. An exception fails its trial and the study goes on, as in `Study.optimize` with
    ``catch=(Exception,)``, and is logged as a warning there: "trial 3 failed with parameters
    {...}: ... (caught, study goes on)"; `TrialPruned` prunes it. A KeyboardInterrupt
    (Ctrl-C) fails the trial it interrupts, and those running on the other virtual workers,
    and is raised at once.
    Callbacks run after each trial, as in `Study.optimize`, and ``study.stop()`` stops new
    trials from starting (running ones finish). An error outside the objective (in ``ask``,
    ``tell`` or a callback) stops that worker and is raised once the others are done;
    `SearchExhausted` just ends the run.
    """
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
        raise ValueError(f"n_trials must be an int >= 0, got {n_trials!r}")
    study._stop_requested = False
    left = [n_trials]

    def task() -> Generator[float, None, TrialRecord]:
        trial = study.ask()
        try:
            out = objective(trial)
            result = (yield from out) if inspect.isgenerator(out) else out
        except TrialPruned:
            record = study.tell(trial, state=TrialState.PRUNED)
        except Exception as exc:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            record = study.tell(trial, state=TrialState.FAIL, traceback=text,
                                fail_reason=f"{type(exc).__name__}: {exc}")
            log_caught(trial.number, trial.params, exc)
        except GeneratorExit:  # closed by an interrupt elsewhere (see `SimulatedExecutor.run`)
            study.tell(trial, state=TrialState.FAIL,
                       fail_reason="interrupted (the run stopped while it was running)")
            raise
        except BaseException as exc:  # Ctrl-C in this trial
            study.tell(trial, state=TrialState.FAIL,
                       fail_reason=f"interrupted ({type(exc).__name__})")
            raise
        else:
            record = study.tell(trial, result)
        for callback in callbacks:
            callback(study, record)
        return record

    futures: list[Future[TrialRecord]] = []

    def launch(done: Future[TrialRecord] | None = None) -> None:
        if done is not None and (done.cancelled() or done.exception() is not None):
            return
        if left[0] > 0 and not study._stop_requested:
            left[0] -= 1
            futures.append(executor.submit(task))
            futures[-1].add_done_callback(launch)

    for _ in range(min(executor.n_workers, n_trials)):
        launch()
    executor.run()
    for future in futures:
        exc = future.exception()
        if exc is not None and not isinstance(exc, SearchExhausted):
            raise exc

