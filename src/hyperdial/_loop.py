"""`Study.optimize`: a small loop on ask/tell, with threads, heartbeats and a progress bar."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import threading
import time
import traceback
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from hyperdial.exceptions import SearchExhausted, TrialPruned
from hyperdial.trial import INTERRUPTED, Trial, TrialRecord, TrialState, violation

if TYPE_CHECKING:
    from hyperdial.study import Callback, ObjectiveFunc, Study

_logger = logging.getLogger("hyperdial")


class _Progress(Protocol):
    def advance(self, record: TrialRecord, best: float | None) -> None: ...


class _Budget:
    """Hands out trial slots until ``n_trials`` or the deadline, thread-safely."""

    def __init__(self, n_trials: int | None, timeout: float | None) -> None:
        if n_trials is not None and (isinstance(n_trials, bool) or n_trials < 0):
            raise ValueError(f"n_trials must be a non-negative int or None, got {n_trials!r}")
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):  # NaN too
            raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
        self._left = n_trials
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._lock = threading.Lock()
        self.stopped = False

    def take(self) -> bool:
        with self._lock:
            if self.stopped or (self._deadline is not None and time.monotonic() >= self._deadline):
                return False
            if self._left is not None:
                if self._left <= 0:
                    return False
                self._left -= 1
            return True


_NO_BEATS = contextlib.nullcontext()


class _Heartbeat:
    """The trials one `optimize` call runs, beaten for by its study's `_Beater`."""

    def __init__(self, study: Study) -> None:
        self._numbers: set[int] = set()
        self._lock = threading.Lock()
        self._beater = None if study.heartbeat_interval is None else _Beater.of(study)
        if self._beater is not None:
            self._beater.add(self)

    def numbers(self) -> list[int]:
        with self._lock:
            return list(self._numbers)

    def beating(self, number: int) -> contextlib.AbstractContextManager[None]:
        """Beat for ``number`` while the block runs (its first beat came with its start)."""
        return _NO_BEATS if self._beater is None else _Beating(self, number)

    def close(self) -> None:
        """No beat for this call's trials once this returns."""
        if self._beater is not None:
            self._beater.remove(self)


class _Beater:
    """A study's heartbeat thread, shared by its `optimize` calls: every
    ``heartbeat_interval`` it beats for the trials they run, and it ends at a beat that finds
    no call open (the next call starts another). A thread started and joined by every call
    cost 0.3 ms an ``optimize(n_trials=1)`` on SQLite, more than its trial. Nothing wakes it
    between beats: a call's trials started with their first beat, and their next is due
    within an interval whenever the call began.

    It holds its study weakly, so that a study let go is collected and the thread ends. A
    forked child starts afresh (`_after_fork`): the parent's thread did not come along, and
    its locks may have been held."""

    _of: ClassVar[weakref.WeakKeyDictionary[Study, _Beater]] = weakref.WeakKeyDictionary()
    _of_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, study: Study) -> None:
        self._study = weakref.ref(study)
        self._lock = threading.Lock()  # guards _hearts and _thread
        self._beat_lock = threading.Lock()  # held through a beat: `remove` waits for it
        self._hearts: set[_Heartbeat] = set()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, study: Study) -> _Beater:
        with cls._of_lock:
            beater = cls._of.get(study)
            if beater is None:
                beater = cls._of[study] = cls(study)
            return beater

    def add(self, heart: _Heartbeat) -> None:
        with self._lock:
            self._hearts.add(heart)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hyperdial-heartbeat",
                                                daemon=True)
                self._thread.start()

    def remove(self, heart: _Heartbeat) -> None:
        with self._lock:
            self._hearts.discard(heart)
        with self._beat_lock:  # a beat that collected its trials before has ended
            pass

    def _interval(self) -> float | None:
        study = self._study()
        return None if study is None else study.heartbeat_interval

    def _run(self) -> None:
        while True:
            with self._lock:
                interval = self._interval()
                if interval is None or not self._hearts:
                    self._thread = None  # (under the lock: `add` sees it gone, or not yet)
                    return
            time.sleep(interval)
            with self._lock:
                hearts = list(self._hearts)
                self._beat_lock.acquire()
            try:
                self._beat(hearts)
            finally:
                self._beat_lock.release()

    def _beat(self, hearts: list[_Heartbeat]) -> None:
        study = self._study()  # (a local of this call only: not held through the sleep)
        if study is None:
            return
        # the calls' running trials, and those whose proposal is being made
        numbers = sorted({n for heart in hearts for n in heart.numbers()}
                         | set(study._opening_trials()))
        if not numbers:
            return
        try:
            study._heartbeat(numbers)
        except Exception as exc:  # a lost beat must never kill the study
            _logger.warning("heartbeat failed: %s", exc)


def _after_fork() -> None:
    _Beater._of = weakref.WeakKeyDictionary()
    _Beater._of_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


class _Beating:
    """`_Heartbeat.beating`'s block (a class: a generator's context costs a microsecond more
    a trial)."""

    __slots__ = ("_heart", "_number")

    def __init__(self, heart: _Heartbeat, number: int) -> None:
        self._heart, self._number = heart, number

    def __enter__(self) -> None:
        with self._heart._lock:
            self._heart._numbers.add(self._number)

    def __exit__(self, *exc_info: object) -> None:
        with self._heart._lock:
            self._heart._numbers.discard(self._number)


class _CtrlC:
    """Ctrl-C for `optimize` with ``n_jobs=1`` on the main thread, Python's own handler in
    place: raised at once in an `at_once` block (the objective, callbacks), held elsewhere,
    where hyperdial starts a trial or writes its end (and the next trial's start with it)
    and raising it left a trial RUNNING for good. A held one is raised as the next `at_once`
    block begins, or as `optimize` ends; the worker then fails the trial it holds. A second
    Ctrl-C while one is held is raised at once (a hung storage can still be left)."""

    def __init__(self, n_jobs: int) -> None:
        self._held = False
        self._at_once = False
        self._previous: Any = None
        if (n_jobs == 1 and threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self._at_once or self._held:
            raise KeyboardInterrupt
        self._held = True

    def raise_held(self) -> None:
        """Raise the Ctrl-C held, if any."""
        if self._held:
            self._held = False
            raise KeyboardInterrupt

    def at_once(self) -> _CtrlC:
        """For a ``with`` block in which Ctrl-C is raised at once (one held, at its start)."""
        return self

    def __enter__(self) -> None:
        self._at_once = True
        if self._held:
            self._at_once = False
            self.raise_held()

    def __exit__(self, *exc_info: object) -> None:
        self._at_once = False

    def close(self) -> None:
        """Put Python's handler back."""
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _run_trial(study: Study, trial: Trial, func: ObjectiveFunc,
               catch: tuple[type[Exception], ...], heart: _Heartbeat,
               go_on: Callable[[], bool], ctrl_c: _CtrlC) -> tuple[TrialRecord, Trial | None]:
    """Run ``trial`` and record its end; if ``go_on()`` says another trial follows, start it
    in the same write and return it too. A KeyboardInterrupt leaves the trial running, for
    the worker to fail."""
    with heart.beating(trial.number):
        try:
            with ctrl_c.at_once():
                result = func(trial)
        except TrialPruned:
            return study._finish(trial, state=TrialState.PRUNED, start_next=go_on())
        except Exception as exc:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            reason = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, catch):
                study.tell(trial, state=TrialState.FAIL, traceback=text, fail_reason=reason,
                           skip_if_finished=True)  # (told already: its own error still rises)
                raise
            done = study._finish(trial, state=TrialState.FAIL, traceback=text,
                                 fail_reason=reason, start_next=go_on())
            log_caught(trial.number, trial.params, exc)
            return done
    record, next_trial = study._finish(trial, result, start_next=go_on(),
                                       warn=False)  # logged below instead
    if record.state is TrialState.FAIL:
        _logger.warning("trial %d failed with parameters %s: %s", record.number,
                        dict(record.params), record.fail_reason)
    return record, next_trial


def log_caught(number: int, params: Mapping[str, Any], exc: BaseException) -> None:
    """The warning for a trial whose objective raised an exception in ``catch``: which
    configuration failed, and the traceback (as Optuna logs it)."""
    _logger.warning("trial %d failed with parameters %s: %r (caught, study goes on)", number,
                    dict(params), exc, exc_info=exc)


def _rich_progress(total: int | None, timeout: float | None) -> contextlib.AbstractContextManager[
        _Progress | None]:
    try:
        from hyperdial._progress import RichProgress
    except ImportError:
        warnings.warn("show_progress_bar needs rich: pip install 'hyperdial[cli]'", stacklevel=3)
        return contextlib.nullcontext(None)
    return RichProgress(total, timeout)


def run_optimize(study: Study, func: ObjectiveFunc, *, n_trials: int | None,
                 timeout: float | None, n_jobs: int,
                 catch: Iterable[type[Exception]] | type[Exception],
                 callbacks: Sequence[Callback], gc_after_trial: bool,
                 show_progress_bar: bool) -> None:
    """Run the study's trials; see `Study.optimize`."""
    if not callable(func):  # else every trial would fail with a TypeError of its own
        raise TypeError(f"the objective must be a callable taking a trial, got {func!r}")
    if isinstance(catch, type):
        catch = (catch,)
    catch = tuple(catch) if not isinstance(catch, (str, bytes)) else (catch,)
    wrong = [c for c in catch if not (isinstance(c, type) and issubclass(c, BaseException))]
    if wrong:  # else the first failure raised a TypeError of isinstance's and left it RUNNING
        raise TypeError(f"catch must be exception classes, got {wrong!r} among them")
    if n_jobs == -1:
        import os

        n_jobs = os.cpu_count() or 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive int or -1, got {n_jobs!r}")
    budget = _Budget(n_trials, timeout)
    study._stop_requested = False
    heart = _Heartbeat(study)
    best_lock = threading.Lock()
    best: list[Any] = [None]  # the bar's best: the study's, a resumed study's earlier trials too
    if show_progress_bar and len(study.directions) == 1:
        with contextlib.suppress(ValueError):  # (none completed yet)
            best[0] = study.best_value
    progress_cm = (_rich_progress(n_trials, timeout) if show_progress_bar
                   else contextlib.nullcontext(None))

    # Without callbacks, nothing can stop the study between one trial's end and the next
    # one's start, so both are written at once. An exclusive sampler (grid) starts its trials
    # with their proposal, and a finite one (brute force) may be exhausted: those ask on
    # their own.
    chain = not callbacks and not study.sampler.exclusive and not study.sampler.finite

    def go_on() -> bool:
        return chain and not study._stop_requested and budget.take()

    def worker(progress: _Progress | None) -> None:
        trial: Trial | None = None  # the running trial, or the next one, started already
        try:
            while True:
                if trial is None:
                    if study._stop_requested or not budget.take():
                        return
                    try:
                        trial = study._ask(None, heartbeat=True, patient=True)
                    except SearchExhausted:
                        budget.stopped = True
                        return
                number = trial.number
                try:
                    record, trial = _run_trial(study, trial, func, catch, heart, go_on, ctrl_c)
                except BaseException:  # (a failed objective ended its trial; a failed write not)
                    study._release_patient(number)
                    if gc_after_trial:  # as after every trial (the raising objective's own
                        gc.collect()  # frames live on in the traceback until it is handled)
                    raise
                with ctrl_c.at_once():
                    after_trial(record, progress)
        except BaseException as exc:
            # Ctrl-C, sys.exit() in the objective, asyncio's CancelledError and the like end
            # its trial here (an Exception ended it already, or it is a failed write)
            if trial is not None and not isinstance(exc, Exception):
                reason = (f"{INTERRUPTED} ({type(exc).__name__})"
                          if isinstance(exc, (KeyboardInterrupt, SystemExit))
                          else f"{type(exc).__name__}: {exc}")
                study.tell(trial, state=TrialState.FAIL, skip_if_finished=True,
                           fail_reason=reason)
            raise

    def many_workers(progress: _Progress | None) -> None:
        with ThreadPoolExecutor(n_jobs, thread_name_prefix="hyperdial-worker") as pool:
            futures = [pool.submit(worker, progress) for _ in range(n_jobs)]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            except KeyboardInterrupt:
                budget.stopped = True  # running trials finish; their results are kept
                raise
            budget.stopped = True
            for f in done:
                f.result()
            for f in futures:
                f.result()

    def after_trial(record: TrialRecord, progress: _Progress | None) -> None:
        if gc_after_trial:
            gc.collect()
        if progress is not None:
            with best_lock:
                if (record.state is TrialState.COMPLETE and len(study.directions) == 1
                        and violation(record) == 0.0):  # the best is feasible, as best_value
                    value = record.values[0] if record.values else None
                    sign = 1 if study.directions[0].value == "minimize" else -1
                    if value is not None and (best[0] is None or sign * value < sign * best[0]):
                        best[0] = value
                progress.advance(record, best[0])
        for callback in callbacks:
            callback(study, record)

    ctrl_c = _CtrlC(n_jobs)
    try:
        with progress_cm as progress:
            if n_jobs == 1:
                worker(progress)
            else:
                many_workers(progress)
    finally:
        try:
            heart.close()
        finally:  # (a second Ctrl-C in there must not leave our handler installed)
            ctrl_c.close()
    ctrl_c.raise_held()  # one held through the last step
