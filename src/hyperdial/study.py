"""`Study`: a thin facade over ask/tell, storage and the trial view.

Everything that runs trials (``optimize``, the CLI, executors, the scikit-learn search) goes
through `Study.ask` and `Study.tell`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from numbers import Real
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from hyperdial._checks import check_study_name
from hyperdial._export import DATAFRAME_ATTRS, dataframe_records, flat_column_names
from hyperdial.exceptions import (
    DuplicatedStudy,
    SearchExhausted,
    StorageReadOnly,
    StudyNotFound,
    TrialFinishedError,
)
from hyperdial.history import History, StudyDirection, with_proposals, with_running_params
from hyperdial.pruners.base import Decision, NopPruner, Pruner
from hyperdial.pruners.median import MedianPruner
from hyperdial.samplers.base import Sampler, checked_constraints
from hyperdial.space import (
    Categorical,
    Distribution,
    Float,
    Int,
    SearchSpace,
    canonical,
    plain,
)
from hyperdial.storage import InMemoryStorage, Storage, get_storage, storage_file
from hyperdial.storage.base import Event, EventRow, StudyInfo, TrialView
from hyperdial.trial import (
    CONSTRAINT_PREFIX,
    FIXED_ATTR,
    HINTS_ATTR,
    PROPOSAL_ATTR,
    RESERVED_ATTR,
    STALE_REASON,
    TASK_ATTR,
    Trial,
    TrialRecord,
    TrialState,
    check_params,
    checked_report,
    config_key,
    json_ready,
    same_configuration,
    state_counts,
    violation,
)

if TYPE_CHECKING:
    import pandas as pd

_logger = logging.getLogger("hyperdial")

ObjectiveFunc = Callable[[Trial], Any]
Callback = Callable[["Study", TrialRecord], None]


#: Study attributes hyperdial keeps for itself among the stored user attributes, hidden from
#: `Study.user_attrs` (as Optuna keeps such among its study system attributes): the metric
#: names of `Study.set_metric_names`, the runs `optimize_distributed` was told to stop.
HYPERDIAL_ATTR_PREFIX = "hyperdial:"
METRIC_NAMES_ATTR = HYPERDIAL_ATTR_PREFIX + "metric_names"


class Study:
    """A named optimisation: its directions, its trials (in a storage), a sampler and a pruner.

    Create one with `create_study` or `load_study`, not with the constructor.
    """

    def __init__(self, *, info: StudyInfo, storage: Storage, sampler: Sampler | None = None,
                 pruner: Pruner | None = None, heartbeat_interval: float | None = None,
                 grace_period: float | None = None, failed_trial_retries: int = 0) -> None:
        self._info = info
        self._storage = storage
        if sampler is None:
            from hyperdial.samplers.auto import AutoSampler  # the default, loaded when used

            sampler = AutoSampler()
        self.sampler = sampler
        if pruner is None:  # Optuna's default; several objectives: no default rule prunes them
            pruner = MedianPruner() if len(info.directions) == 1 else NopPruner()
        self.pruner = pruner
        self._view = TrialView(storage, info.id, info.directions)
        self._no_trials = History((), info.directions)  # what a pruner that needs none sees
        self._lock = threading.RLock()
        self._trial_ended = threading.Condition(self._lock)  # notified as live trials end
        self._live: dict[int, Trial] = {}
        self._patient: set[int] = set()  # live trials of optimize's workers (`_ask`)
        # Trials started with a heartbeat whose proposal is being made: the heartbeat thread
        # beats for them too (a proposal slower than the grace period got them failed as stale)
        self._opening: set[int] = set()
        self._opening_lock = threading.Lock()  # its own: the study's is held while proposing
        # The last value a finite sampler proposed to each live trial: (name, value, dist).
        self._proposed: dict[int, tuple[str, Any, Distribution]] = {}
        # Samplers that model running trials propose one thread at a time, each seeing where
        # this process's other live trials go (their proposals, published or not yet).
        self._proposing = threading.Lock()
        self._in_flight: dict[int, tuple[dict[str, Any], dict[str, Distribution]]] = {}
        self._history_at_ask: dict[int, History] = {}
        if heartbeat_interval is not None and heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval must be > 0, got {heartbeat_interval!r}")
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period if grace_period is not None else (
            None if heartbeat_interval is None else 2 * heartbeat_interval)
        if failed_trial_retries < 0:
            raise ValueError(f"failed_trial_retries must be >= 0, got {failed_trial_retries!r}")
        self.failed_trial_retries = failed_trial_retries
        self._last_stale_check = 0.0
        self._stop_requested = False

    # -- identity ----------------------------------------------------------------------------
    @property
    def study_name(self) -> str:
        return self._info.name

    @property
    def directions(self) -> list[StudyDirection]:
        return list(self._info.directions)

    @property
    def direction(self) -> StudyDirection:
        if len(self._info.directions) != 1:
            raise RuntimeError("this study has several objectives: use .directions")
        return self._info.directions[0]

    @property
    def user_attrs(self) -> dict[str, Any]:
        """The study's user attributes as stored now (another process may have set some),
        but hyperdial's own (``hyperdial:`` keys: metric names, interrupted runs)."""
        return _user_attrs(self._stored_attrs())

    def _stored_attrs(self) -> dict[str, Any]:
        """Its stored attributes, looked up by name (one row), or, if another process renamed
        it, among all studies by id (reading every study at each call made
        `get_all_study_summaries` quadratic: 75 s for 3,000 studies)."""
        with contextlib.suppress(StudyNotFound):
            info = self._storage.get_study(self.study_name)
            if info.id == self._info.id:
                return dict(info.user_attrs)
        for info in self._storage.studies():
            if info.id == self._info.id:
                return dict(info.user_attrs)
        raise StudyNotFound(f"study {self.study_name!r} is gone from its storage")

    @property
    def metric_names(self) -> list[str] | None:
        """The objectives' names set by `set_metric_names` (None if never set)."""
        names = self._stored_attrs().get(METRIC_NAMES_ATTR)
        return None if names is None else list(names)

    def set_metric_names(self, metric_names: Sequence[str]) -> None:
        """Name the objectives, in the order of ``directions`` (as Optuna's): kept with the
        study, and used as column names by `trials_dataframe` (``values_accuracy``) and as
        axis titles by the plots."""
        names = list(metric_names) if not isinstance(metric_names, str) else [metric_names]
        if len(names) != len(self._info.directions):
            raise ValueError(f"{len(names)} metric name(s) for "
                             f"{len(self._info.directions)} objective(s)")
        if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
            raise ValueError(f"metric names must be distinct non-empty strings, got {names!r}")
        self._storage.set_study_user_attr(self._info.id, METRIC_NAMES_ATTR, names)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` with the study (a dataset name, a code version)."""
        if not isinstance(key, str):
            raise TypeError(f"a user attribute key must be a string, got {key!r}")
        if key.startswith(HYPERDIAL_ATTR_PREFIX):  # `user_attrs` hides them: it would vanish
            raise ValueError(f"user attribute keys starting with {HYPERDIAL_ATTR_PREFIX!r} are "
                             f"hyperdial's own, got {key!r}")
        self._storage.set_study_user_attr(
            self._info.id, key, json_ready(f"user attribute {key!r}", value))

    @property
    def storage(self) -> Storage:
        return self._storage

    def __repr__(self) -> str:
        dirs = ", ".join(d.value for d in self._info.directions)
        return f"Study(name={self.study_name!r}, directions=[{dirs}])"

    def __getstate__(self) -> dict[str, Any]:
        """A study pickles as what opens it again (a database storage as its URL, an
        in-memory one as a copy of its trials); a copy holds no live trial handles."""
        return {"info": self._info, "storage": self._storage, "sampler": self.sampler,
                "pruner": self.pruner, "heartbeat_interval": self.heartbeat_interval,
                "grace_period": self.grace_period,
                "failed_trial_retries": self.failed_trial_retries}

    def __setstate__(self, state: dict[str, Any]) -> None:
        Study.__init__(self, **state)

    # -- reading -----------------------------------------------------------------------------
    def history(self) -> History:
        """The current immutable view of every trial (one storage query)."""
        with self._lock:
            self._view.sync()
            return self._view.history()

    @property
    def trials(self) -> list[TrialRecord]:
        return list(self.history().trials)

    def get_trials(self, deepcopy: bool | Container[TrialState] = True,
                   states: Container[TrialState] | None = None) -> list[TrialRecord]:
        """The trials, optionally only those in ``states`` (Optuna's signature). Records are
        immutable, so ``deepcopy`` changes nothing; a container of states given first (the
        older ``get_trials([TrialState.COMPLETE])``) is taken as ``states``."""
        if not isinstance(deepcopy, bool) and states is None:
            states = deepcopy
        return [t for t in self.history().trials if states is None or t.state in states]

    @property
    def best_trial(self) -> TrialRecord:
        if len(self._info.directions) != 1:
            raise RuntimeError("a study with several objectives has no single best trial: "
                               "use study.best_trials, its Pareto front")
        with self._lock:  # kept up to date by the view: no pass over every trial
            self._view.sync()
            best = self._view.best
        if best is None:
            raise ValueError("no trial has completed yet")
        if violation(best) > 0.0:  # the best value breaks a constraint: the best feasible
            best = self.history().best()
            if best is None:
                raise ValueError("no feasible trial has completed yet (every completed trial "
                                 "breaks a constraint set with trial.set_constraint)")
        return best

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None
        return value

    @property
    def best_trials(self) -> list[TrialRecord]:
        """The Pareto front of completed trials (for one objective: every trial tied for best)."""
        return self.history().pareto_front()

    # -- ask / tell --------------------------------------------------------------------------
    def ask(self, fixed_distributions: Mapping[str, Distribution] | None = None) -> Trial:
        """Start a trial (an enqueued one first) and return its live handle.

        ``fixed_distributions`` suggests those parameters at once, as Optuna's ``ask`` does;
        a conditional `SearchSpace` suggests those its conditions make active, as
        `Trial.suggest_space` does.
        """
        for name, dist in (fixed_distributions or {}).items():  # before a trial starts
            if not isinstance(dist, Float | Int | Categorical):
                raise TypeError(f"fixed_distributions[{name!r}] must be a distribution "
                                f"(hyperdial.Float, Int or Categorical), got {dist!r}")
        # Its handle is the caller's, who may tell its number from another process: what it
        # suggests and sets is stored at once, as Optuna does (`optimize` buffers it).
        return self._ask(fixed_distributions, heartbeat=False, write_through=True)

    def _ask(self, fixed_distributions: Mapping[str, Distribution] | None, *,
             heartbeat: bool, patient: bool = False, write_through: bool = False) -> Trial:
        """`ask`; with ``heartbeat`` the trial's first beat is written with its start (the
        caller promises to keep beating for it, as `optimize` does); with ``write_through``
        its writes are not buffered (`Trial.write_through`). A ``patient`` caller (a
        worker of `optimize`) waits, rather than start a trial that a `finite` sampler could
        only make repeat another patient one running in this process, until one of those
        ends; each will, so the wait cannot outlast them."""
        self._check_stale()
        beaten = heartbeat and self.heartbeat_interval is not None
        with self._lock:
            number = self._start_trial(beaten, patient)
            if patient:
                self._patient.add(number)
        return self._open_trial(number, fixed_distributions, write_through, beaten=beaten)

    def _open_trial(self, number: int,
                    fixed_distributions: Mapping[str, Distribution] | None,
                    write_through: bool = False, *, beaten: bool = False) -> Trial:
        """The live handle of trial ``number``, just started, with its joint proposal. If
        that fails (the sampler raises, a fixed distribution is bad or refuses an enqueued
        value), the trial is told FAIL with the reason before the error goes on: nobody holds
        its handle, so nothing else would end it. A ``beaten`` trial (started with a
        heartbeat) is beaten for while its proposal is made (`_opening_trials`)."""
        if beaten:
            with self._opening_lock:
                self._opening.add(number)
        try:
            return self._open_started(number, fixed_distributions, write_through)
        except BaseException as exc:
            with contextlib.suppress(TrialFinishedError):  # (ended already: nothing to say)
                self._finish(number, state=TrialState.FAIL, warn=False, ended="keep",
                             fail_reason=f"starting it failed: {type(exc).__name__}: {exc}")
            raise
        finally:
            if beaten:
                with self._opening_lock:
                    self._opening.discard(number)

    def _opening_trials(self) -> list[int]:
        """The trials started with a heartbeat whose proposal is being made (the heartbeat
        thread reads them without the study's lock, which a proposal may hold for long)."""
        with self._opening_lock:
            return list(self._opening)

    def _open_started(self, number: int,
                      fixed_distributions: Mapping[str, Distribution] | None,
                      write_through: bool) -> Trial:
        pending_aware = self.sampler.uses_pending and not self.sampler.exclusive
        with self._proposing if pending_aware else contextlib.nullcontext():
            with self._lock:
                if pending_aware and self._in_flight:  # a trial of another thread may be
                    self._view.sync()  # newer than the view
                opened = self._view.opening(number)
                history = self._sampler_history(number)
            proposed: dict[str, Any] = {}
            space = SearchSpace()
            if not self.sampler.exclusive:  # an exclusive proposal came with its creation
                space = self.sampler.infer_space(history)
                if any(name not in opened.params for name in space):
                    proposed = self.sampler.propose(history, space, self.sampler.rng(number))
                    if proposed and self.sampler.uses_pending:
                        with self._lock:
                            self._in_flight[number] = (proposed,
                                                       {k: space[k] for k in proposed})
                        self._publish(number, proposed, space)
        start = opened.datetime_start or datetime.now(timezone.utc)
        trial = Trial(self, number, fixed=opened.params, proposed=proposed, proposed_space=space,
                      datetime_start=start)
        if RESERVED_ATTR in opened.system_attrs:  # its fixed values are its grid point
            trial.fixed_label = "grid"
        trial.fixed_are_hints = bool(opened.system_attrs.get(HINTS_ATTR))
        trial.user_attrs.update(opened.user_attrs)
        with self._lock:
            self._live[number] = trial
            self._history_at_ask[number] = history
        if isinstance(fixed_distributions, SearchSpace):  # its active parameters only
            trial.suggest_space(fixed_distributions)
        else:
            for name, dist in (fixed_distributions or {}).items():
                trial.suggest(name, dist)
        if write_through:  # from here on; what the fixed distributions gave, in one write
            trial.write_through = True
            self._write_early(trial, self._drain(trial))
        return trial

    def _publish(self, number: int, proposed: dict[str, Any], space: SearchSpace) -> None:
        """Tell other workers where trial ``number`` is going (in `optimize`, its parameters
        reach the storage only with its first report or its end)."""
        proposal = {"params": json_ready("the proposal", proposed),
                    "dists": {k: space[k].to_dict() for k in proposed}}
        with contextlib.suppress(TrialFinishedError):  # failed as stale meanwhile: its end
            self._storage.append(self._info.id, number,  # will say so
                                 [("attrs", {"system": {PROPOSAL_ATTR: proposal}})])

    def _sampler_history(self, number: int) -> History:
        """What the sampler learns from for trial ``number``: the pruner's view (Hyperband
        with ``sampler_scope="bracket"``: the trial's bracket), or everything for a sampler
        that models fidelities itself; for one that models running trials, with their
        published proposals as their parameters. A sampler that reads no history (random
        search) is handed none: building the snapshot cost it ~5 us a trial."""
        if not self.sampler.reads_history:
            return self._no_trials
        history = self._view.history()
        if not getattr(self.sampler, "multi_fidelity", False):
            history = self.pruner.sampler_view(history, number)
        if self.sampler.uses_pending:
            history = with_proposals(history, self._view.proposals())
            history = with_running_params(history, [  # this process's, published or not
                (self._view.get(n), params, dists) for n, (params, dists)
                in self._in_flight.items() if n != number and self._view.knows(n)])
        return history

    def _start_trial(self, heartbeat: bool, patient: bool = False) -> int:
        """Claim an enqueued trial or create one; exclusive samplers reserve their proposal.
        A waiting trial (enqueued, or a retry) runs even once a finite or exclusive sampler
        has nothing left, as Optuna runs it: only with none left is the search exhausted."""
        if not self.sampler.exclusive:
            while self.sampler.finite:
                self._view.sync()
                history = self._view.history()
                if _waiting(history):
                    break
                if self.sampler.exhausted(history):
                    raise SearchExhausted(f"{self.sampler!r} has tried every combination")
                if not (patient and self._patient and self.sampler.crowded(
                        with_running_params(history, self._live_params(-1)))):
                    break
                if self._stop_requested:  # study.stop(): a worker starts nothing more
                    raise SearchExhausted("the study was stopped")
                self._trial_ended.wait()  # releases the study's lock meanwhile
            # (A waiting trial another process claims first makes this one a new trial:
            # brute force on several processes may repeat a combination anyway.)
            number = self._storage.create_trial(self._info.id, {}, claim_waiting=True,
                                                heartbeat=heartbeat)
            assert number is not None
            self._view.sync()
            return number
        while True:
            self._view.sync()
            history = self._view.history()
            space = self.sampler.infer_space(history)
            try:
                params = self.sampler.propose(history, space,
                                              self.sampler.rng(len(history.trials)))
            except SearchExhausted:
                if not _waiting(history):
                    raise
                params = _taken_point(history)
            key = config_key(params)
            # The point's values are the trial's until it ends; then only those the objective
            # asked for stay its params (as enqueued ones), the point stays reserved.
            data = {"params": params, "system_attrs": {RESERVED_ATTR: params},
                    "key": key}  # kept in the event too, so that copies keep it
            number = self._storage.create_trial(self._info.id, data, key=key, claim_waiting=True,
                                                heartbeat=heartbeat)
            if number is not None:
                self._view.sync()
                return number

    def tell(self, trial: Trial | int, values: float | Sequence[float] | None = None,
             state: TrialState | None = None, *, skip_if_finished: bool = False,
             fail_reason: str | None = None, traceback: str | None = None) -> TrialRecord:
        """Finish a trial. Invalid ``values`` fail the trial with the reason recorded;
        ``state=COMPLETE`` without ``values`` raises ValueError (as in Optuna), the trial
        still running.

        A trial that has ended already raises `TrialFinishedError` (a ValueError), or with
        ``skip_if_finished`` is returned as stored, unchanged. One another worker failed as
        stale while it still ran (its worker was paused past the grace period) is returned as
        stored, with a RuntimeWarning that its late result is dropped.
        """
        number = trial.number if isinstance(trial, Trial) else int(trial)
        ended = self._ended(self._live_trial(trial), number,  # one look, maybe a read
                            refuse_waiting=state is not TrialState.FAIL)
        if ended is not None:
            if not skip_if_finished:
                raise TrialFinishedError(f"trial {number} is already {ended.value}: tell() "
                                         "ends a trial once")
            with self._lock:
                return self._view.get(number)
        return self._finish(trial, values, state, fail_reason=fail_reason,
                            traceback=traceback,
                            ended="keep" if skip_if_finished else "raise")[0]

    def _log_finished(self, record: TrialRecord) -> None:
        """Optuna's INFO line for a trial that completed or was pruned; formatted only when
        the ``hyperdial`` logger takes INFO (off by default: it costs a best-trial look)."""
        if not _logger.isEnabledFor(logging.INFO):
            return
        if record.state is TrialState.PRUNED:
            _logger.info("Trial %d pruned.", record.number)
        elif record.state is TrialState.COMPLETE and record.values is not None:
            params = dict(record.params)
            if len(record.values) > 1:
                _logger.info("Trial %d finished with values: %s and parameters: %s.",
                             record.number, list(record.values), params)
                return
            message = (f"Trial {record.number} finished with value: {record.values[0]} and "
                       f"parameters: {params}.")
            with contextlib.suppress(ValueError):  # no feasible trial yet
                best = self.best_trial
                message += f" Best is trial {best.number} with value: {best.value}."
            _logger.info(message)

    def _finish(self, trial: Trial | int, values: Any = None, state: TrialState | None = None,
                *, fail_reason: str | None = None, traceback: str | None = None,
                start_next: bool = False, warn: bool = True,
                ended: Literal["warn", "raise", "keep"] = "warn",
                ) -> tuple[TrialRecord, Trial | None]:
        """`tell`; with ``start_next`` also start the next trial (for `optimize`, which beats
        for it), whose start a transactional storage writes in one commit with this end.
        Not for exclusive samplers, whose trials start with their proposal; `tell` has checked
        that the trial has not ended here already (`optimize` ends only live ones). Without
        ``warn``, a failed or dropped result raises no RuntimeWarning (the caller logs it).
        A trial the storage finds ended already is kept as stored. Failed as stale by another
        worker, its result is dropped with a warning (its worker was alive after all); told
        elsewhere (another Study object or process), ``ended`` says what happens: a warning,
        `TrialFinishedError` (`tell`), or nothing (`tell` with ``skip_if_finished``)."""
        live = self._live_trial(trial)
        number = live.number if live else int(trial)  # type: ignore[arg-type]
        if state is None:
            state = TrialState.COMPLETE if values is not None else TrialState.FAIL
            if values is None and fail_reason is None:
                fail_reason = "the objective returned None"
                if warn:  # (as for any other unusable value; Optuna warns too)
                    warnings.warn(f"trial {number} failed: {fail_reason}", RuntimeWarning,
                                  stacklevel=3)
        if state not in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
            raise ValueError(f"tell() needs COMPLETE, PRUNED or FAIL, got {state}")
        if values is None and state is TrialState.COMPLETE:  # Optuna's error; trial still runs
            raise ValueError("tell() with state COMPLETE needs values")
        if values is not None and state is not TrialState.COMPLETE:
            raise ValueError(f"values are for COMPLETE trials, not {state.value} ones (a pruned "
                             "trial keeps its last report as its value)")
        checked: tuple[float, ...] | None = None
        ended_at = time.time()
        constraints: dict[str, float] = {}
        if state is TrialState.COMPLETE:
            checked, problem = self._check_values(values)
            if problem is None and checked is not None:
                constraints, problem = self._func_constraints(live, number, checked, ended_at)
            if problem is not None:
                state, fail_reason = TrialState.FAIL, problem
                if warn:
                    warnings.warn(f"trial {number} failed: {problem}", RuntimeWarning,
                                  stacklevel=3)
        elif state is TrialState.PRUNED:
            checked = self._last_report(live, number)
        finish: dict[str, Any] = {"t": ended_at, "state": state.value}
        if checked is not None:
            finish["values"] = list(checked)
        if fail_reason is not None:
            finish["reason"] = fail_reason
        if traceback is not None:
            finish["traceback"] = traceback
        events = self._drain(live)
        if constraints and state is TrialState.COMPLETE:  # written with the end, atomically
            events.append(("attrs", {"system": constraints}))
        events.append(("finish", finish))
        appended = True
        next_number: int | None = None
        caught_up: list[EventRow] = []
        # A sampler that ignores the history spares this worker reading the others' trials,
        # when ``events`` are all the trial wrote: one that wrote early (a report, parameters
        # stored at once for retries, a published proposal) must be read back before the
        # trial ends in the view, or it would end there without those parameters and reports.
        wrote_before = (live is None or live.wrote_early
                        or self.sampler.uses_pending)
        catch_up = self.sampler.reads_history or wrote_before
        try:
            if start_next:
                self._check_stale()
                next_number, caught_up = self._storage.append_and_create(
                    self._info.id, number, events, after=self._view.last_event_id,
                    heartbeat=self.heartbeat_interval is not None, catch_up=catch_up)
            else:
                self._storage.append(self._info.id, number, events)
        except TrialFinishedError:
            appended = False
        with self._lock:
            self._let_go(number)
            # A trial that wrote nothing before its end has all its events here:
            # they need no read-back; the next ask syncs the rest of the log.
            own = (appended and live is not None and not live.wrote_early
                   and self._view.apply_own(number, events, live.distributions))
            if next_number is not None:  # the events since the last sync came with the write
                if catch_up:
                    self._view.apply(caught_up)
                else:  # perhaps only ours: other workers' trials are read when asked for
                    self._view.apply_ahead(caught_up)
            elif not own:
                self._view.sync()
            record = self._view.get(number)
        if live is not None:
            live.finished_as = record.state  # FAIL if another worker ended it meanwhile
        if not appended:
            stale = record.fail_reason == STALE_REASON
            if ended == "raise" and not stale:
                raise TrialFinishedError(
                    f"trial {number} is already {record.state.value} (told through another "
                    "Study object or process): tell() ends a trial once")
            if stale or ended == "warn":
                why = "failed as stale by another worker" if stale else (
                    f"told already: {record.state.value}")
                message = f"trial {number} was already finished ({why}); its late result is dropped"
                if warn:
                    warnings.warn(message, RuntimeWarning, stacklevel=3)
                else:  # (optimize logs what befalls its trials)
                    _logger.warning(message)
        self._log_finished(record)  # every end passes here: `tell` and `optimize` alike
        if not start_next:
            return record, None
        if next_number is None:  # the end was refused, and the start with it
            return record, self._ask(None, heartbeat=True)
        return record, self._open_trial(next_number, None,
                                        beaten=self.heartbeat_interval is not None)

    def _check_values(self, values: Any, source: str = "the objective returned",
                      ) -> tuple[tuple[float, ...] | None, str | None]:
        """The objective's return value as a tuple of floats, or the reason it is unusable
        (``source`` says where the values came from)."""
        m = len(self._info.directions)
        if type(values) is float and m == 1 and math.isfinite(values):
            return (values,), None  # the common case, on every trial
        values = plain(values)
        if isinstance(values, (str, bytes)) or values is None:
            return None, f"{source} {values!r}, not a number"
        seq = list(values) if isinstance(values, Sequence) else [values]
        if len(seq) != m:
            return None, f"{source} {len(seq)} values for {m} objective(s)"
        seq = [plain(v) for v in seq]  # a tuple of numpy or torch scalars
        for v in seq:
            if isinstance(v, bool) or not isinstance(v, Real):
                return None, f"{source} {v!r} of type {type(v).__name__}, not a number"
            try:
                finite = math.isfinite(v)
            except OverflowError:  # an int past a float's range (it ended optimize)
                what = f"an int of {v.bit_length()} bits" if isinstance(v, int) \
                    else f"a {type(v).__name__}"
                return None, f"{source} {what}, too large for a float"
            if not finite:
                return None, f"{source} {v!r}, which is not finite"
        return tuple(float(v) for v in seq), None

    def _func_constraints(self, live: Trial | None, number: int, values: tuple[float, ...],
                          ended_at: float) -> tuple[dict[str, float], str | None]:
        """The system attributes ``constraints:<i>`` that the sampler's constraints function
        (`Sampler.stored_constraints_func`) gives trial ``number``, completing with
        ``values``, or the reason it fails the trial instead (the function raised, or
        returned something other than a sequence of non-NaN numbers). Optuna stores the
        function's values when a trial ends too; where it lets the error end the study and
        keeps the trial COMPLETE without constraints (feasible to `best_trial`), the trial
        fails here with the reason, as for an unusable objective value."""
        func = self.sampler.stored_constraints_func()
        if func is None:
            return {}, None
        with self._lock:
            record = self._view.get(number)
        system = {k: v for k, v in record.system_attrs.items() if k != PROPOSAL_ATTR}
        if live is not None:  # what the trial holds, written or not (the view may lag)
            record = replace(record, params=dict(live.params),
                             distributions=dict(live.distributions),
                             intermediate_values=dict(live.intermediate_values),
                             user_attrs=dict(live.user_attrs))
            system.update({CONSTRAINT_PREFIX + k: v for k, v in live.constraints.items()})
        record = replace(record, state=TrialState.COMPLETE, values=values, system_attrs=system,
                         datetime_complete=datetime.fromtimestamp(ended_at, timezone.utc))
        try:
            got = checked_constraints(func(record))
        except Exception as exc:  # the user's function: any error fails the trial
            return {}, f"constraints_func failed: {type(exc).__name__}: {exc}"
        return {f"{CONSTRAINT_PREFIX}{i}": v for i, v in enumerate(got)}, None

    def _last_report(self, live: Trial | None, number: int) -> tuple[float, ...] | None:
        """A pruned trial's value, as in Optuna: its report at its last step, when that is
        finite and has one number per objective (None otherwise)."""
        reports: Mapping[int, float | tuple[float, ...]]
        if live is not None:
            reports = live.intermediate_values
        else:
            with self._lock:
                reports = self._view.get(number).intermediate_values
        if not reports:
            return None
        return self._check_values(reports[max(reports)])[0]

    def _ended(self, live: Trial | None, number: int, *, refuse_waiting: bool = True
               ) -> TrialState | None:
        """How trial ``number`` ended, if this study has ended it already or it is not live
        here and the storage says it has ended; None while it may be told. (A live trial
        ended elsewhere meanwhile, marked stale by another worker, is for `_finish` to
        warn about.) A trial not started yet is refused (``refuse_waiting``): told complete,
        an enqueued trial ended with no parameters, and its configuration never ran (Optuna
        refuses it too); failing it takes it off the queue."""
        if live is not None:
            return live.finished_as
        with self._lock:
            self._view.sync()
            state = self._view.get(number).state  # TrialNotFound for an unknown number
        if state is TrialState.WAITING and refuse_waiting:
            raise ValueError(f"trial {number} is waiting (enqueued) and has not started: "
                             "ask() starts it, then tell it (or tell it FAIL to drop it)")
        return state if state.is_finished() else None

    def _live_trial(self, trial: Trial | int) -> Trial | None:
        if isinstance(trial, Trial):
            if trial._driver is not self:  # its buffered writes and its number are another's
                raise ValueError(f"trial {trial.number} was asked by another Study object: "
                                 "tell it there, or tell its number to a Study of the same "
                                 "stored study")
            return trial
        with self._lock:
            return self._live.get(int(trial))

    @staticmethod
    def _drain(trial: Trial | None) -> list[Event]:
        """The trial's buffered writes (new parameters, user attributes), emptied."""
        if trial is None:
            return []
        events: list[Event] = []
        if trial.unflushed_params:
            events.append(("params", {
                "params": dict(trial.unflushed_params),
                "dists": {k: trial.distributions[k].to_dict() for k in trial.unflushed_params}}))
            trial.unflushed_params.clear()
        attrs = {key: dict(part) for key, part in (("user", trial.unflushed_attrs),
                                                    ("system", trial.unflushed_system)) if part}
        if attrs:
            events.append(("attrs", attrs))
            trial.unflushed_attrs.clear()
            trial.unflushed_system.clear()
        return events

    # -- the TrialDriver protocol (called by live trials) -------------------------------------
    def _propose_param(self, trial: Trial, name: str, dist: Distribution) -> Any:
        rng = self.sampler.rng(trial.number, name)
        with self._lock:
            if self.sampler.finite:  # brute force decides one parameter at a time, seeing
                # where the others have gone so far; under the lock, and the value counts as
                # taken before its trial records it, so two threads never take one value
                history = with_running_params(self._sampler_history(trial.number),
                                              self._live_params(trial.number))
                value = self.sampler.propose_param(history, name, dist, rng, trial.params)
                self._proposed[trial.number] = (name, value, dist)
                return value
            asked = self._history_at_ask.get(trial.number)
            history = self._sampler_history(trial.number) if asked is None else asked
        return self.sampler.propose_param(history, name, dist, rng, trial.params)

    def _let_go(self, number: int) -> None:
        """Under the lock: forget the live trial ``number``, which has ended (its handle, the
        history it was asked with, its proposal) and wake the workers waiting on it."""
        self._live.pop(number, None)
        self._history_at_ask.pop(number, None)
        self._patient.discard(number)
        self._proposed.pop(number, None)
        self._in_flight.pop(number, None)
        self._trial_ended.notify_all()

    def _release_patient(self, number: int) -> None:
        """A worker's trial that will not end through `_finish` (its end failed to write):
        the workers waiting on running trials stop counting it."""
        with self._lock:
            self._patient.discard(number)
            self._in_flight.pop(number, None)
            self._trial_ended.notify_all()

    def _live_params(self, but: int) -> Iterator[tuple[TrialRecord, dict[str, Any],
                                                       dict[str, Distribution]]]:
        """The other running trials of this process, each with the parameters it has so far
        (in `optimize`, they reach the storage with a report or the end): threads running a
        brute-force search would otherwise take the same combination. Under the study's lock."""
        for number, live in self._live.items():  # each opened from the view's record
            params, dists = dict(live.params), dict(live.distributions)
            proposed = self._proposed.get(number)
            if proposed is not None and proposed[0] not in params:  # not yet recorded
                name, params[name], dists[name] = proposed
            if number != but and params:
                yield self._view.get(number), params, dists

    def _record_param(self, trial: Trial) -> None:
        """A parameter waits for the trial's next write, unless failed trials are retried (a
        retry runs the parameters of the trial it replaces, which must be stored by then even
        if its worker dies before reporting) or the trial came from `ask`."""
        if self.failed_trial_retries or trial.write_through:
            self._write_early(trial, self._drain(trial))

    def _record_attrs(self, trial: Trial) -> None:
        """Attributes and constraints wait for the trial's next write, unless it came from
        `ask`."""
        if trial.write_through:
            self._write_early(trial, self._drain(trial))

    @property
    def _report_width(self) -> int:
        """How many numbers a report holds: one per objective."""
        return len(self._info.directions)

    def _record_report(self, trial: Trial, step: int, value: float | tuple[float, ...]) -> None:
        events = self._drain(trial)
        events.append(("report", {"step": step,
                                  "value": list(value) if isinstance(value, tuple) else value}))
        self._write_early(trial, events)

    def _write_early(self, trial: Trial, events: list[Event]) -> None:
        """Append ``events`` of the running ``trial``. If another worker has failed it as stale
        meanwhile (its worker was paused past the grace period), the objective is not broken
        off with an error: `should_prune` tells it to stop, and its end is dropped with a
        warning, as when it ends without writing before."""
        if not events or trial.ended_elsewhere:  # (its end will be dropped all the same)
            return
        try:
            self._storage.append(self._info.id, trial.number, events)
        except TrialFinishedError:
            with self._lock:
                self._view.sync()
                record = self._view.get(trial.number)
                if record.fail_reason == STALE_REASON or not trial.write_through:
                    trial.ended_elsewhere = True  # (an `optimize` worker: should_prune stops)
                    return
                # a handle from `ask` told through another Study object or process takes no
                # more writes, which went nowhere before (as the guide says; Optuna raises);
                # it has ended: this study lets it go (no `_finish` will)
                trial.finished_as = record.state
                self._let_go(trial.number)
            raise TrialFinishedError(
                f"trial {trial.number} was told {record.state.value} through another Study "
                "object or process; this handle takes no new parameter, report or "
                "attribute") from None
        else:
            trial.wrote_early = True

    def _should_prune(self, trial: Trial) -> bool:
        if trial.ended_elsewhere:
            return True
        # The curve as a read-only view, not a copy, and its last step as the trial keeps it:
        # copying it and finding its highest step cost O(steps) a report, O(steps²) a trial
        # (a pruner decides at once; one that keeps records gets them from the history).
        snapshot = TrialRecord.running_view(
            trial.number, dict(trial.params), dict(trial.distributions),
            MappingProxyType(trial.intermediate_values), trial.last_step,
            dict(trial.user_attrs), trial.datetime_start)
        # Most reports decide nothing that other trials could change (no rung reached, a
        # warm-up step): those skip reading the storage.
        history = self.history() if self.pruner.needs_history(snapshot) else self._no_trials
        decision, stop = self.pruner.judge(history, snapshot)
        if decision is not Decision.PRUNE:
            return False
        if stop:  # (a trial from `ask` may be told PRUNED through another Study: written now)
            trial.unflushed_system.update(stop)
            self._record_attrs(trial)
        return True

    # -- queueing, attributes ------------------------------------------------------------------
    def enqueue_trial(self, params: Mapping[str, Any], user_attrs: Mapping[str, Any] | None = None,
                      *, skip_if_exists: bool = False, hints: bool = False) -> int | None:
        """Queue a configuration; the next `ask` runs it before any sampled one.

        Values are checked against each distribution when the objective suggests them: one
        outside fails the trial, or with ``hints`` (values from other studies, whose ranges
        may differ) is left to the sampler with a warning. Returns the trial number, or None
        when ``skip_if_exists`` found the same params.
        """
        params = json_ready("enqueued params", dict(params))
        user_attrs = json_ready("user_attrs", dict(user_attrs or {}))
        key = config_key(params)
        if skip_if_exists and any(_queued_with(t, key) or same_configuration(params, t)
                                  for t in self.history().trials):
            return None
        data: dict[str, Any] = {"state": "WAITING", "params": params,
                                "system_attrs": {FIXED_ATTR: dict(params)}}
        if user_attrs:
            data["user_attrs"] = user_attrs
        if hints:
            data["system_attrs"][HINTS_ATTR] = True
        return self._storage.create_trial(self._info.id, data)

    def add_trial(self, trial: TrialRecord) -> None:
        """Store a finished trial made elsewhere (`hyperdial.create_trial`, or a record of
        another study) under the next trial number, with its start and end times if it has
        them (as Optuna keeps them), else the time it is added; the sampler learns from it
        like from the study's own trials (a warm start). Its system attributes come along,
        constraints (``constraints:*``) included, so an infeasible trial stays infeasible;
        those that name the source study's state (a running trial's proposal, ``retry_of``)
        do not."""
        self._write_added([self._added(trial)])

    def add_trials(self, trials: Iterable[TrialRecord]) -> None:
        """`add_trial` for each of ``trials``, in order. All are checked before any is
        written, so a bad one among them adds none."""
        self._write_added([self._added(trial) for trial in trials])

    def _added(self, trial: TrialRecord) -> tuple[dict[str, Any], list[Event]]:
        """The creation data and the events that store ``trial`` as `add_trial` does;
        ValueError or TypeError if it cannot be stored."""
        if not trial.state.is_finished():
            raise ValueError(f"only a finished trial can be added, got {trial.state}")
        check_params(trial.params, trial.distributions)
        reported = sorted(checked_report(s, v, self._report_width)
                          for s, v in trial.intermediate_values.items())
        start = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
        end = trial.datetime_complete.timestamp() if trial.datetime_complete else max(
            time.time(), start)
        finish: dict[str, Any] = {"t": end, "state": trial.state.value}
        if trial.state is TrialState.COMPLETE:
            checked, problem = self._check_values(trial.values, "its values hold")
            if problem is not None:
                raise ValueError(f"cannot add the trial: {problem}")
            finish["values"] = list(checked or ())
        elif trial.state is TrialState.PRUNED and trial.values is not None:  # its last report
            if len(trial.values) != self._report_width:
                raise ValueError(f"cannot add the trial: a pruned trial's value is its last "
                                 f"report, {self._report_width} number(s) here; it holds "
                                 f"{len(trial.values)}")
            finish["values"] = [float(v) for v in trial.values]
        if trial.fail_reason is not None:
            finish["reason"] = trial.fail_reason
        if trial.system_attrs.get("traceback") is not None:
            finish["traceback"] = str(trial.system_attrs["traceback"])
        data: dict[str, Any] = {
            "t": start, "params": json_ready("params", {  # as samplers write them: 3, not 3.0
                k: canonical(trial.distributions[k], v) for k, v in trial.params.items()}),
            "dists": {k: d.to_dict() for k, d in trial.distributions.items()},
            "user_attrs": json_ready("user_attrs", dict(trial.user_attrs))}
        system = _kept_system_attrs(trial.system_attrs)
        if system:
            data["system_attrs"] = system
        reports: list[Event] = [
            ("report", {"step": step, "value": list(v) if isinstance(v, tuple) else v})
            for step, v in reported]
        return data, [*reports, ("finish", finish)]

    def _write_added(self, added: list[tuple[dict[str, Any], list[Event]]]) -> None:
        """Store the trials `_added` made, each under the next number."""
        for data, events in added:
            # Started with a heartbeat (persistent storages), so a crash between the two
            # writes leaves a trial that is failed as stale, never one RUNNING forever.
            number = self._storage.create_trial(self._info.id, data,
                                                heartbeat=self.heartbeat_interval is not None)
            assert number is not None
            self._storage.append(self._info.id, number, events)
        with self._lock:
            self._view.sync()

    def stop(self) -> None:
        """Ask a running `optimize` to start no new trial (finishing the running ones)."""
        with self._lock:
            self._stop_requested = True
            self._trial_ended.notify_all()  # a worker waiting to start one gives up

    # -- crash recovery ----------------------------------------------------------------------
    def _check_stale(self, force: bool = False) -> list[int]:
        """Fail trials whose worker stopped beating; re-queue them if retries are on."""
        if self.grace_period is None:
            return []
        now = time.monotonic()
        if not force and now - self._last_stale_check < (self.heartbeat_interval or 0.0):
            return []
        self._last_stale_check = now
        stale = self._storage.fail_stale(self._info.id, self.grace_period)
        self._requeue_all(stale)
        return stale

    def _requeue_all(self, numbers: Sequence[int]) -> None:
        """Re-queue the failed trials ``numbers`` if retries are on (see `_requeue`)."""
        if numbers and self.failed_trial_retries:
            history = self.history()
            for number in numbers:
                self._requeue(history, number)

    def _requeue(self, history: History, number: int) -> None:
        record = history.trials[number]
        origin = record.system_attrs.get("retry_of", number)
        attempts = sum(1 for t in history.trials if t.system_attrs.get("retry_of") == origin)
        if attempts >= self.failed_trial_retries:
            return
        params, system = dict(record.params), {"retry_of": origin}
        for kept in (RESERVED_ATTR, FIXED_ATTR):  # its grid point, or the values it was
            held = record.system_attrs.get(kept)  # queued with: all of them even if the
            if held is not None:  # trial died before asking for any (their keys its own)
                params = {**held, **params}
                system[kept] = held
        if record.system_attrs.get(HINTS_ATTR):
            system[HINTS_ATTR] = True
        data: dict[str, Any] = {
            "state": "WAITING", "params": params,
            "dists": {k: d.to_dict() for k, d in record.distributions.items()},
            "system_attrs": system}
        if record.user_attrs:  # (an enqueued trial's, say: where its configuration came from)
            data["user_attrs"] = dict(record.user_attrs)
        self._storage.create_trial(self._info.id, data)

    def _heartbeat(self, numbers: Iterable[int]) -> None:
        numbers = list(numbers)
        if numbers:
            self._storage.heartbeat(self._info.id, numbers)

    # -- running -----------------------------------------------------------------------------
    def optimize(self, func: ObjectiveFunc, n_trials: int | None = None,
                 timeout: float | None = None, n_jobs: int = 1,
                 catch: Iterable[type[Exception]] | type[Exception] = (),
                 callbacks: Sequence[Callback] | None = None, gc_after_trial: bool = False,
                 show_progress_bar: bool = False) -> None:
        """Run trials until ``n_trials`` or ``timeout`` (seconds), ``n_jobs`` at a time.

        An objective that raises fails its trial (traceback stored) and stops the study unless
        the exception is in ``catch``. Ctrl-C marks the running trial failed (interrupted; one
        whose objective had returned ends COMPLETE) and re-raises; with ``n_jobs > 1`` the
        running trials finish first. Everything finished stays stored and the study resumes
        by name (docs/guide.md says exactly what Ctrl-C guarantees). Without
        ``callbacks`` (which may stop the study after any trial), a trial's end and the next
        trial's start are written together: one commit per trial on a SQL storage.
        ``gc_after_trial`` runs the garbage collector after each trial, for objectives that
        leave reference cycles holding large models.
        """
        from hyperdial._loop import run_optimize

        run_optimize(self, func, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs,
                     catch=catch, callbacks=callbacks or (), gc_after_trial=gc_after_trial,
                     show_progress_bar=show_progress_bar)

    def trials_dataframe(self, attrs: Sequence[str] = DATAFRAME_ATTRS, *,
                         multi_index: bool = False) -> pd.DataFrame:
        """All trials as a pandas DataFrame, one column per attribute in ``attrs`` (pandas is
        imported only here).

        As Optuna's: mappings (``params``, ``user_attrs``, ``system_attrs``,
        ``intermediate_values``) and ``values`` spread over one column per key, sorted, named
        ``params_x`` or, with ``multi_index``, ``("params", "x")``; ``value`` of a study with
        several objectives means ``values``; states are names such as ``"COMPLETE"``.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("trials_dataframe() needs pandas: pip install 'hyperdial[pandas]'"
                              ) from exc
        trials = self.trials
        if not trials:
            return pd.DataFrame()
        records, columns = dataframe_records(trials, attrs, len(self._info.directions),
                                             self.metric_names)
        df = pd.DataFrame(records, columns=pd.MultiIndex.from_tuples(columns))
        if not multi_index:
            df.columns = flat_column_names(columns)
        return df


def _waiting(history: History) -> bool:
    """Whether a trial of ``history`` waits to run (an enqueued one, a retry)."""
    return any(t.state is TrialState.WAITING for t in history.trials)


def _taken_point(history: History) -> dict[str, Any]:
    """The proposal with which an exclusive sampler that has tried every point claims a
    waiting trial: should another worker claim it first, the storage must create nothing,
    so it is the point of a trial started from a proposal, whose key the storage holds (a
    retry's holds none); with no such trial, the empty point (a race may then start one)."""
    return next((dict(t.system_attrs[RESERVED_ATTR]) for t in history.trials
                 if RESERVED_ATTR in t.system_attrs and "retry_of" not in t.system_attrs), {})


#: System attributes that describe a trial's place in its own study, left out of a copy.
_LOCAL_SYSTEM_ATTRS = frozenset({PROPOSAL_ATTR, TASK_ATTR, "retry_of", "fail_reason",
                                 "traceback"})


def _kept_system_attrs(system_attrs: Mapping[str, Any]) -> dict[str, Any]:
    """What `Study.add_trial` stores of a record's system attributes (the fail reason and
    traceback go with its end): every one but `_LOCAL_SYSTEM_ATTRS`, each constraint a
    number that is not NaN (ValueError otherwise), as `Trial.set_constraint` requires; a list
    under ``"constraints"`` (how Optuna 4 stored them, which Optuna 5 still reads) becomes
    constraints ``"0"``, ``"1"``, ... as Optuna 5 names them."""
    kept = {k: v for k, v in system_attrs.items() if k not in _LOCAL_SYSTEM_ATTRS}
    old_form = kept.pop(CONSTRAINT_PREFIX[:-1], None)  # Optuna 4's list: constraint i is "i"
    if old_form is not None:
        if isinstance(old_form, (str, bytes, Mapping)) or not isinstance(old_form, Iterable):
            raise ValueError(f"cannot add the trial: its system attribute 'constraints' is "
                             f"{old_form!r}, not a list of numbers (Optuna 4's form)")
        kept = {**{f"{CONSTRAINT_PREFIX}{i}": v for i, v in enumerate(old_form)}, **kept}
    for key, value in kept.items():
        if key.startswith(CONSTRAINT_PREFIX):
            try:
                (kept[key],) = checked_constraints([value])
            except ValueError:
                raise ValueError(f"cannot add the trial: its constraint {key!r} is {value!r}, "
                                 "not a number") from None
    out: dict[str, Any] = json_ready("system_attrs", kept)
    return out


def _directions(direction: str | StudyDirection | None,
                directions: Sequence[str | StudyDirection] | None) -> tuple[StudyDirection, ...]:
    if direction is not None and directions is not None:
        raise ValueError("give either direction or directions, not both")
    if directions is not None:
        given = list(directions) if not isinstance(directions, str) else []
        if not given:  # (an empty generator made a study of no objective)
            raise ValueError(f"directions must be a non-empty list, got {directions!r}")
        return tuple(StudyDirection.parse(d) for d in given)
    # an empty string is no direction: it was taken for "minimize", flipping a maximise study
    return (StudyDirection.parse("minimize" if direction is None else direction),)


_DEFAULT_HEARTBEAT = 30.0


def create_study(*, storage: str | Storage | None = None, sampler: Sampler | None = None,
                 pruner: Pruner | None = None, study_name: str | None = None,
                 direction: str | StudyDirection | None = None,
                 directions: Sequence[str | StudyDirection] | None = None,
                 load_if_exists: bool = False, user_attrs: Mapping[str, Any] | None = None,
                 heartbeat_interval: float | str | None = "auto",
                 grace_period: float | None = None, failed_trial_retries: int = 0) -> Study:
    """Create a study (Optuna's signature), or load it when ``load_if_exists`` and it exists.

    Without a ``sampler``, `AutoSampler`; without a ``pruner``, Optuna's default `MedianPruner`
    for one objective and `NopPruner` for several.

    ``heartbeat_interval="auto"`` beats every 30 s on persistent storages (none in memory), so
    a trial whose worker died is marked FAIL once ``grace_period`` (default 2 × interval)
    passes; ``failed_trial_retries`` re-queues such trials that many times.
    """
    _check_parts(sampler, pruner)  # before anything is written
    check_study_name(study_name, none_ok=True)
    store = get_storage(storage)
    dirs = _directions(direction, directions)
    name = study_name or f"study-{uuid.uuid4().hex[:12]}"
    if user_attrs:
        user_attrs = json_ready("study user_attrs", dict(user_attrs))
    try:
        info = store.create_study(name, dirs, user_attrs)
    except DuplicatedStudy:
        if not load_if_exists:
            raise
        info = store.get_study(name)
        if info.directions != dirs:
            raise ValueError(
                f"study {name!r} exists with directions {[d.value for d in info.directions]}, "
                f"not {[d.value for d in dirs]}") from None
    return _open(info, store, sampler, pruner, heartbeat_interval, grace_period,
                 failed_trial_retries)


def load_study(*, study_name: str | None, storage: str | Storage,
               sampler: Sampler | None = None, pruner: Pruner | None = None,
               heartbeat_interval: float | str | None = "auto", grace_period: float | None = None,
               failed_trial_retries: int = 0) -> Study:
    """Open an existing study; with ``study_name=None`` the storage must hold exactly one."""
    _check_parts(sampler, pruner)
    store = _existing_storage(storage, study_name)
    if study_name is None:
        infos = store.studies()
        if len(infos) != 1:
            raise ValueError(f"study_name is needed: the storage holds {len(infos)} studies")
        info = infos[0]
    else:
        info = store.get_study(study_name)
    return _open(info, store, sampler, pruner, heartbeat_interval, grace_period,
                 failed_trial_retries)


def _check_parts(sampler: Any, pruner: Any) -> None:
    """A sampler or pruner of the wrong type fails here, not at the first trial."""
    for label, part, base, example in (("sampler", sampler, Sampler, "samplers.TPESampler()"),
                                       ("pruner", pruner, Pruner, "pruners.MedianPruner()")):
        if part is not None and not isinstance(part, base):
            raise TypeError(f"{label} must be a hyperdial {base.__name__} (for example "
                            f"hd.{example}) or None, got {part!r}")


def _open(info: StudyInfo, store: Storage, sampler: Sampler | None, pruner: Pruner | None,
          heartbeat_interval: float | str | None, grace_period: float | None,
          failed_trial_retries: int) -> Study:
    if store.heartbeat_defaults is not None:  # Optuna's way: set on the storage
        interval, grace, retries = store.heartbeat_defaults
        heartbeat_interval = interval if heartbeat_interval == "auto" else heartbeat_interval
        grace_period = grace if grace_period is None else grace_period
        failed_trial_retries = retries if failed_trial_retries == 0 else failed_trial_retries
    if heartbeat_interval == "auto":
        heartbeat_interval = None if isinstance(store, InMemoryStorage) else _DEFAULT_HEARTBEAT
    elif isinstance(heartbeat_interval, str):
        raise ValueError(f"heartbeat_interval must be a number, None or 'auto', "
                         f"got {heartbeat_interval!r}")
    study = Study(info=info, storage=store, sampler=sampler, pruner=pruner,
                  heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                  failed_trial_retries=failed_trial_retries)
    try:
        study._check_stale(force=True)  # a reload notices trials whose worker died
    except StorageReadOnly:  # (they stay RUNNING: reading the study is all this can do)
        _logger.warning("study %r has trials whose worker stopped beating, but its storage "
                        "is read-only here: they stay RUNNING", info.name)
    return study


def delete_study(*, study_name: str, storage: str | Storage) -> None:
    _existing_storage(storage, study_name).delete_study(study_name)


def _existing_storage(storage: str | Storage, study_name: str | None) -> Storage:
    """The storage of a study that must exist: the URL of a file that does not is refused
    (`StudyNotFound`) before connecting, which would create it (a mistyped path)."""
    if isinstance(storage, str):
        path = storage_file(storage)
        if path is not None and not path.exists():
            named = "" if study_name is None else f" named {study_name!r}"
            raise StudyNotFound(f"no study{named} in {storage} ({path.resolve()}), which does "
                                "not exist")
    return get_storage(storage)


def get_all_study_names(storage: str | Storage) -> list[str]:
    return [s.name for s in get_storage(storage).studies()]


@dataclass(frozen=True)
class StudySummary:
    """A study at a glance: Optuna's `StudySummary` fields plus the trials by state and, for
    several objectives, the Pareto front."""

    study_name: str
    study_id: int
    directions: tuple[StudyDirection, ...]
    n_trials: int
    state_counts: Mapping[TrialState, int]
    #: The best feasible completed trial (one objective) or the Pareto front (several); empty
    #: before any trial completes.
    best_trials: tuple[TrialRecord, ...]
    user_attrs: Mapping[str, Any]
    #: When its first trial started; None without trials.
    datetime_start: datetime | None

    @property
    def direction(self) -> StudyDirection:
        if len(self.directions) != 1:
            raise RuntimeError(f"study {self.study_name!r} has several objectives: use "
                               "directions")
        return self.directions[0]

    @property
    def best_trial(self) -> TrialRecord | None:
        """The best trial of a single-objective study, None before one completes and for
        several objectives (as in Optuna)."""
        return self.best_trials[0] if len(self.directions) == 1 and self.best_trials else None


def _queued_with(trial: TrialRecord, key: str) -> bool:
    """Whether ``trial`` was queued with the parameters whose `config_key` is ``key`` and is
    waiting or has run (not one dropped before it started), whatever else it suggested."""
    queued = trial.system_attrs.get(FIXED_ATTR)
    return (queued is not None and config_key(queued) == key
            and (trial.datetime_start is not None or trial.state is TrialState.WAITING))


def _user_attrs(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A study's stored attributes but hyperdial's own (``hyperdial:`` keys)."""
    return {k: v for k, v in stored.items() if not k.startswith(HYPERDIAL_ATTR_PREFIX)}


def get_all_study_summaries(storage: str | Storage,
                            include_best_trial: bool = True) -> list[StudySummary]:
    """Every study of ``storage`` with its trial counts and best trial(s), reading each study's
    trials once; with ``include_best_trial=False`` (Optuna's keyword) ``best_trials`` is
    empty."""
    store = get_storage(storage)
    out = []
    for info in store.studies():
        study = load_study(study_name=info.name, storage=store, heartbeat_interval=None)
        history = study.history()
        if not include_best_trial:
            front: tuple[TrialRecord, ...] = ()
        elif history.n_objectives == 1:
            best = history.best()
            front = () if best is None else (best,)
        else:
            front = tuple(history.pareto_front())
        start = min((t.datetime_start for t in history.trials if t.datetime_start),
                    default=None)
        out.append(StudySummary(info.name, info.id, info.directions, len(history.trials),
                                state_counts(history.trials), front, _user_attrs(info.user_attrs),
                                start))
    return out


def copy_study(*, from_study_name: str, from_storage: str | Storage, to_storage: str | Storage,
               to_study_name: str | None = None) -> None:
    from hyperdial.storage.base import copy_study as _copy

    # Refused before the target is opened: a URL of a new file would create the file.
    check_study_name(to_study_name, "to_study_name", none_ok=True)
    src = _existing_storage(from_storage, from_study_name)  # (a mistyped file: not created)
    src.get_study(from_study_name)
    _copy(src, from_study_name, get_storage(to_storage), to_study_name)


__all__ = ["Study", "StudySummary", "copy_study", "create_study", "delete_study",
           "get_all_study_names", "get_all_study_summaries", "load_study"]


def __getattr__(name: str) -> Any:
    """``MaxTrialsCallback`` where Optuna keeps it, imported from `hyperdial.stoppers` on
    first use (that module loads the GP algebra)."""
    if name == "MaxTrialsCallback":
        from hyperdial.stoppers import MaxTrialsCallback

        return MaxTrialsCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
