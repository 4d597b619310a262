"""Trials: the state enum, the immutable record every algorithm sees, and the live handle.

`TrialRecord` is a frozen snapshot (Optuna's ``FrozenTrial``). `Trial` is what an objective
receives: it proposes parameters through its study and buffers what it learns until the next
write, so a ``suggest_*`` costs no storage round trip.
"""

from __future__ import annotations

import enum
import functools
import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from numbers import Real
from typing import TYPE_CHECKING, Any, Protocol

from hyperdial._encode import check_log_resolves
from hyperdial.exceptions import TrialFinishedError
from hyperdial.space import (
    Categorical,
    CategoricalChoice,
    Distribution,
    Float,
    Int,
    SearchSpace,
    canonical,
    check_param_name,
    plain,
    shared_numeric,
)

if TYPE_CHECKING:
    from hyperdial.study import Study


class TrialState(enum.Enum):
    """Lifecycle of a trial: WAITING (enqueued) → RUNNING → COMPLETE | PRUNED | FAIL."""

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"
    WAITING = "WAITING"

    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

    @classmethod
    def _missing_(cls, value: object) -> TrialState | None:
        """Optuna's numbers (``TrialState(1)`` is COMPLETE), as stored by Optuna code."""
        names = ("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return cls(names[value])
        return None


_STATES = {state.value: state for state in TrialState}


def state_of(value: Any) -> TrialState:
    """``TrialState(value)``, a stored state's name looked up in a dict: an enum call costs
    half a microsecond, and the loop makes several per trial."""
    found = _STATES.get(value) if type(value) is str else None
    return found if found is not None else TrialState(value)


class _Suggests:
    """Optuna's ``suggest_*`` methods on top of ``suggest(name, distribution)``, for the live
    trial and for a stored record run as a trial."""

    def suggest(self, name: str, dist: Distribution) -> Any:
        raise NotImplementedError

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float:
        return float(self.suggest(name, _numeric(name, Float, low, high, log, step)))

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1,
                    log: bool = False) -> int:
        return int(self.suggest(name, _numeric(name, Int, low, high, log, step)))

    def suggest_categorical(self, name: str, choices: Sequence[CategoricalChoice]) -> Any:
        return self.suggest(name, _build(name, Categorical, tuple(choices)))

    # Optuna's older spellings, deprecated there since v3 and still accepted, with its warning.
    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        _deprecated("suggest_uniform", "suggest_float(name, low, high)")
        return self.suggest_float(name, low, high)

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        _deprecated("suggest_loguniform", "suggest_float(name, low, high, log=True)")
        return self.suggest_float(name, low, high, log=True)

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        _deprecated("suggest_discrete_uniform", "suggest_float(name, low, high, step=q)")
        return self.suggest_float(name, low, high, step=q)

    def suggest_space(self, space: SearchSpace) -> dict[str, Any]:
        """Suggest every parameter of a declarative space that is active; returns them."""
        out: dict[str, Any] = {}
        for name in space:
            cond = space.conditions.get(name)
            if cond is None or (cond.parent in out and cond.holds(out, space[cond.parent])):
                out[name] = self.suggest(name, space[name])
        return out


class ReadOnlyDict(dict):  # type: ignore[type-arg]
    """A dict that refuses changes: a stored record's mappings, which a study shares with
    everyone who reads it (a change would rewrite its best trial for all of them). Still a
    dict for ``json.dumps``, ``**kwargs`` and ``isinstance``; ``dict(d)`` is a changeable copy."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a stored trial's mappings are read-only: change a copy, dict(...)")

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[ReadOnlyDict], tuple[dict[Any, Any]]]:
        return type(self), (dict(self),)

    def __copy__(self) -> ReadOnlyDict:
        return self


@dataclass(frozen=True)
class TrialRecord(_Suggests):
    """An immutable snapshot of one trial, as stored."""

    number: int
    state: TrialState
    params: Mapping[str, Any] = field(default_factory=dict)
    distributions: Mapping[str, Distribution] = field(default_factory=dict)
    values: tuple[float, ...] | None = None
    intermediate_values: Mapping[int, float | tuple[float, ...]] = field(default_factory=dict)
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)
    datetime_start: datetime | None = None
    datetime_complete: datetime | None = None

    @classmethod
    def running_view(cls, number: int, params: Mapping[str, Any],
                     distributions: Mapping[str, Distribution],
                     intermediate_values: Mapping[int, float | tuple[float, ...]],
                     last_step: int | None, user_attrs: Mapping[str, Any],
                     datetime_start: datetime | None) -> TrialRecord:
        """A RUNNING record over a live trial's curve, with its last step given: what a pruner
        judges at every report. Filled in one step, not by the frozen dataclass's assignment
        of each field, which took half of the 2 us it cost."""
        record = object.__new__(cls)
        record.__dict__.update(
            number=number, state=TrialState.RUNNING, params=params,
            distributions=distributions, values=None, intermediate_values=intermediate_values,
            user_attrs=user_attrs, system_attrs={}, datetime_start=datetime_start,
            datetime_complete=None, last_step=last_step)  # (the cached property's value)
        return record

    @property
    def value(self) -> float | None:
        """The single objective value (None unless COMPLETE); error for multi-objective trials."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise RuntimeError("this trial has several values: use .values")
        return self.values[0]

    @property
    def duration(self) -> timedelta | None:
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start

    @functools.cached_property
    def last_step(self) -> int | None:
        """The highest step reported (computed once: a record does not change)."""
        return max(self.intermediate_values) if self.intermediate_values else None

    @property
    def fail_reason(self) -> str | None:
        reason = self.system_attrs.get("fail_reason")
        return str(reason) if reason is not None else None

    @property
    def constraints(self) -> dict[str, float]:
        """Constraint values set by `Trial.set_constraint`, by key (``<= 0`` is satisfied)."""
        return {k[len(CONSTRAINT_PREFIX):]: float(v) for k, v in self.system_attrs.items()
                if k.startswith(CONSTRAINT_PREFIX)}

    # Ordered by number, as Optuna's FrozenTrial: ``sorted(study.trials)``.
    def __lt__(self, other: Any) -> bool:
        return self.number < other.number if isinstance(other, TrialRecord) else NotImplemented

    def __le__(self, other: Any) -> bool:
        return self.number <= other.number if isinstance(other, TrialRecord) else NotImplemented

    # -- a record as an objective's trial (Optuna's ``objective(study.best_trial)``) ----------
    def suggest(self, name: str, dist: Distribution) -> Any:
        """The stored value of ``name``, as `FixedTrial` gives it: ValueError if the record
        has no such parameter, if ``dist`` does not hold its value, or if ``dist`` is of
        another kind than the stored distribution (Optuna's compatibility check)."""
        known = self.distributions.get(name)
        if known is not None and (type(known) is not type(dist) or (
                isinstance(dist, Categorical) and known != dist)):
            raise ValueError(f"parameter {name!r} was stored as {known}; cannot suggest it "
                             f"as {dist}")
        return FixedTrial(self.params, self.number).suggest(name, dist)

    def report(self, value: float | Sequence[float], step: int) -> None:
        """Does nothing, as Optuna's ``FrozenTrial.report``: a finished trial is not pruned."""

    def should_prune(self) -> bool:
        """False: a finished trial is not pruned."""
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        """Refused: a record is immutable (Optuna's FrozenTrial keeps the value in memory)."""
        raise TrialFinishedError(f"trial {self.number} is a stored record and cannot change: "
                                 f"run the objective on FixedTrial(record.params) to collect "
                                 f"user attributes")

    def set_constraint(self, key: str, value: float) -> None:
        """Refused, as `set_user_attr`."""
        raise TrialFinishedError(f"trial {self.number} is a stored record and cannot change: "
                                 f"run the objective on FixedTrial(record.params) to collect "
                                 f"constraints")


#: System attributes holding a trial's constraint values: ``constraints:<key>`` (Optuna's).
CONSTRAINT_PREFIX = "constraints:"
#: System attribute of a running trial: the joint proposal it started with (``{"params": ...,
#: "dists": ...}``), published for other workers' samplers; dropped when the trial ends.
PROPOSAL_ATTR = "proposal"
#: System attribute of an enqueued trial whose values are hints (`Study.enqueue_trial` with
#: ``hints``): one outside the distribution it is suggested from is left to the sampler.
HINTS_ATTR = "fixed_params_are_hints"
#: System attribute of an enqueued trial: the values it was queued with (Optuna's name), kept
#: after its end: ``skip_if_exists`` compares them, and a retry of a trial whose worker died
#: before the objective asked for them runs them again.
FIXED_ATTR = "fixed_params"
#: System attribute of a trial of an exclusive sampler (a grid): the point reserved for it at
#: its creation, kept after its end, when its ``params`` hold only what the objective asked for.
RESERVED_ATTR = "reserved_params"
#: System attribute naming the run and task of `optimize_distributed` that runs a trial
#: (``"<run id>:<round>:<task index>"``), so that a trial lost with its task is known.
TASK_ATTR = "distributed_task"
#: The reason of a trial failed by `Storage.fail_stale` (its worker stopped beating).
STALE_REASON = "stale: no heartbeat (worker died?)"
#: How the reason of a trial cut short by its run begins (Ctrl-C, a stopped run).
INTERRUPTED = "interrupted"
#: How the reasons of trials that did not fail on their own begin: their worker stopped
#: beating (stale) or their run stopped them.
_NOT_THEIR_OWN = (STALE_REASON, INTERRUPTED)


def failed_on_its_own(record: TrialRecord) -> bool:
    """Whether ``record`` is a FAIL of its objective (or its values), not of its worker or run:
    running it again would fail again."""
    return record.state is TrialState.FAIL and not (record.fail_reason or "").startswith(
        _NOT_THEIR_OWN)


def violation(trial: TrialRecord) -> float:
    """How far ``trial`` is from feasible: the sum of its positive constraint values (0 when
    every constraint holds or it has none, Optuna's measure)."""
    return sum(v for v in trial.constraints.values() if v > 0.0)


FrozenTrial = TrialRecord  # Optuna's name for the same thing


def create_trial(*, state: TrialState = TrialState.COMPLETE, value: float | None = None,
                 values: Sequence[float] | None = None, params: Mapping[str, Any] | None = None,
                 distributions: Mapping[str, Distribution] | None = None,
                 user_attrs: Mapping[str, Any] | None = None,
                 intermediate_values: Mapping[int, float] | None = None,
                 system_attrs: Mapping[str, Any] | None = None,
                 constraints: Mapping[str, float] | None = None) -> TrialRecord:
    """A finished trial made by hand, for `Study.add_trial` (Optuna's ``create_trial``).

    Use it to give a study results it did not compute (an earlier study, a known default, a
    colleague's runs): its sampler learns from them like from its own trials. Every parameter
    needs its distribution, and each value must be one of it. A COMPLETE trial needs a value,
    a FAIL one has none, and a PRUNED one may have one (its last report, as Optuna keeps it).
    ``constraints`` are values as `Trial.set_constraint` takes them (``{"memory": 0.5}``,
    ``<= 0`` satisfied; Optuna 5's keyword); ``system_attrs`` may carry them too, as the
    trial stores them (``{"constraints:memory": 0.5}``).
    """
    if value is not None and values is not None:
        raise ValueError("give value or values, not both")
    if not state.is_finished():
        raise ValueError(f"a created trial must be COMPLETE, PRUNED or FAIL, got {state}")
    got = (value,) if value is not None else None if values is None else tuple(values)
    if got is None and state is TrialState.COMPLETE:
        raise ValueError("a COMPLETE trial needs value or values")
    if got is not None and state is TrialState.FAIL:
        raise ValueError("a FAIL trial has none (no value or values)")
    if got is not None:
        got = tuple(_trial_value(v, state) for v in got)
    params = json_ready("params", dict(params or {}))
    distributions = dict(distributions or {})
    check_params(params, distributions)
    reports = dict(checked_report(k, v) for k, v in (intermediate_values or {}).items())
    now = datetime.now(timezone.utc)  # as Optuna stamps it; add_trial keeps these times
    return TrialRecord(number=-1, state=state, params=params, distributions=distributions,
                       values=got, intermediate_values=reports, datetime_start=now,
                       datetime_complete=now,
                       user_attrs=json_ready("user_attrs", dict(user_attrs or {})),
                       system_attrs=json_ready("system_attrs", {  # (checked by add_trial)
                           **dict(system_attrs or {}),
                           **{CONSTRAINT_PREFIX + str(k): v
                              for k, v in (constraints or {}).items()}}))


def _trial_value(value: Any, state: TrialState) -> float:
    """One of a created trial's values as a float: a number (TypeError otherwise), finite
    for a COMPLETE trial (a PRUNED one's last report may have diverged)."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"a trial's values are numbers, got {value!r}")
    if state is TrialState.COMPLETE and not math.isfinite(value):
        raise ValueError(f"a COMPLETE trial's values are finite, got {value!r}")
    return float(value)


def checked_report(step: Any, value: Any, width: int | None = None,
                   ) -> tuple[int, float | tuple[float, ...]]:
    """``(step, value)`` of an intermediate value as stored: a non-negative int step (else
    ValueError) and a float or a tuple of floats (else TypeError); numpy values and torch
    tensors count as the numbers they hold, and one number in a sequence
    (``loss.view(1)``, ``np.array([v])``) as that number, as Optuna's ``float(value)`` reads
    it: several objectives report two or more. With ``width``, the study's number of
    objectives, a value of another length is a ValueError here, not a pruner's crash later."""
    step = plain(step)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be a non-negative int, got {step!r}")
    value = plain(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if width is None or width == 1:  # (the common case, at every report)
            return step, float(value)
        numbers: tuple[float, ...] = (float(value),)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        try:
            numbers = tuple(float(x) for x in value)
        except (TypeError, ValueError):
            numbers = ()
    else:
        numbers = ()
    if not numbers:
        raise TypeError(f"an intermediate value must be a number or a sequence of numbers, "
                        f"got {value!r}")
    if width is not None and len(numbers) != width:
        raise ValueError(f"a study of {width} objective(s) reports {width} number(s) at a "
                         f"step, one per objective; got {len(numbers)}: {value!r}")
    return step, numbers[0] if len(numbers) == 1 else numbers


def state_counts(trials: Iterable[TrialRecord]) -> dict[TrialState, int]:
    """How many of ``trials`` are in each state (every state present, 0 for none)."""
    counts = dict.fromkeys(TrialState, 0)
    for t in trials:
        counts[t.state] += 1
    return counts


def check_params(params: Mapping[str, Any], distributions: Mapping[str, Distribution]) -> None:
    """Raise ValueError unless every parameter has a non-empty string name and a
    distribution that holds its value."""
    for name in params:
        check_param_name(name)
    if set(params) != set(distributions):
        raise ValueError(f"params and distributions must name the same parameters, got "
                         f"{sorted(params)} and {sorted(distributions)}")
    for name, v in params.items():
        if not distributions[name].contains(v):
            raise ValueError(f"parameter {name!r}: {v!r} is not a value of {distributions[name]}")


def _array_to_json(value: Any) -> Any:
    """The JSON encoder's fallback: numpy and torch values as the Python values they hold."""
    converted = plain(value)
    if converted is value:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    return converted


def json_ready(label: str, value: Any) -> Any:
    """``value`` as the storage will hand it back (a JSON round trip: tuples become lists,
    numpy values Python ones); TypeError naming ``label`` if it has no JSON form (storage
    never pickles)."""
    try:
        return json.loads(json.dumps(value, allow_nan=True, default=_array_to_json))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{label} must be JSON-serialisable: {exc}") from None


def holds_values(record: TrialRecord, values: Mapping[str, Any]) -> bool:
    """Whether ``record`` holds each of ``values``, compared as the record's distribution
    writes it (`canonical`): 0.30000000000000004 stored by an older hyperdial and a new 0.3
    of a 0.1 grid are one value, and so are an Int's 3 and 3.0. Without a distribution (an
    enqueued trial) values compare as they are; 1, 1.0 and True differ, as in `config_key`."""
    for name, value in values.items():
        if name not in record.params:
            return False
        held, dist = record.params[name], record.distributions.get(name)
        if dist is not None and dist.contains(value) and dist.contains(held):
            value, held = canonical(dist, value), canonical(dist, held)
        if type(value) is not type(held) or value != held:
            return False
    return True


def same_configuration(params: Mapping[str, Any], record: TrialRecord) -> bool:
    """Whether ``record`` holds ``params`` and no other parameter (see `holds_values`)."""
    return params.keys() == record.params.keys() and holds_values(record, params)


def config_key(params: Mapping[str, Any]) -> str:
    """A configuration's identity as hyperdial tells choices apart: ``1``, ``1.0``, ``True``
    and ``None`` differ (as dicts, ``{"c": 1} == {"c": True}``)."""
    return json.dumps(params, sort_keys=True, allow_nan=True, default=_array_to_json)


class TrialDriver(Protocol):
    """What a live trial needs from its study (implemented by `hyperdial.Study`)."""

    def _propose_param(self, trial: Trial, name: str, dist: Distribution) -> Any: ...
    def _record_param(self, trial: Trial) -> None: ...
    def _record_attrs(self, trial: Trial) -> None: ...
    def _record_report(self, trial: Trial, step: int, value: float | tuple[float, ...]) -> None: ...
    @property
    def _report_width(self) -> int | None: ...
    def _should_prune(self, trial: Trial) -> bool: ...


class Trial(_Suggests):
    """The handle an objective receives; define-by-run API compatible with Optuna's.

    Suggesting a name twice returns the same value; suggesting it again with another
    distribution raises ValueError.
    """

    fixed_label = "enqueued"  # what a fixed value is called in errors

    def __init__(self, driver: TrialDriver, number: int, *, fixed: Mapping[str, Any] | None = None,
                 proposed: Mapping[str, Any] | None = None,
                 proposed_space: Mapping[str, Distribution] | None = None,
                 datetime_start: datetime) -> None:
        self._driver = driver
        self.number = number
        self.datetime_start = datetime_start
        self._fixed = dict(fixed or {})
        self._proposed = dict(proposed or {})
        self._proposed_space = dict(proposed_space or {})  # what each proposal was made for
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, Distribution] = {}
        self.user_attrs: dict[str, Any] = {}
        self.intermediate_values: dict[int, float | tuple[float, ...]] = {}
        self.last_step: int | None = None  # the highest step reported
        self.unflushed_params: dict[str, Any] = {}  # written with the next report or the end
        self.unflushed_attrs: dict[str, Any] = {}
        self.constraints: dict[str, float] = {}
        self.unflushed_system: dict[str, Any] = {}
        self.finished_as: TrialState | None = None  # set by the study when it ends the trial
        self.wrote_early = False  # one of its events reached the storage before its end
        self.ended_elsewhere = False  # another worker ended it (stale) while it still ran
        self.write_through = False  # its writes are not buffered (a trial from `Study.ask`)
        self.fixed_are_hints = False  # a fixed value outside its distribution: the sampler's

    def _check_open(self) -> None:
        """Refuse a change to a finished trial: it would never reach the storage."""
        if self.finished_as is not None:
            raise TrialFinishedError(f"trial {self.number} is already "
                                     f"{self.finished_as.value} and cannot change")

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params})"

    @property
    def study(self) -> Study:
        """The study this trial belongs to (Optuna's ``trial.study``: ``trial.study.stop()``)."""
        return self._driver  # type: ignore[return-value]

    # -- parameters ---------------------------------------------------------------------
    def suggest(self, name: str, dist: Distribution) -> Any:
        """Suggest a value for ``name`` from any distribution (the typed helpers call this)."""
        known = self.distributions.get(name)
        if known is not None:
            if known != dist:
                raise ValueError(
                    f"parameter {name!r} was already suggested as {known}; "
                    f"cannot re-suggest it as {dist}")
            return self.params[name]
        self._check_open()
        check_param_name(name)  # (the study's space refuses it, but only once it is stored)
        check_log_resolves(dist)
        # Every value as samplers write it (`canonical`): an enqueued 3.0 of an int is 3,
        # an int given to a float is a float, a stepped float sits on its grid.
        fixed = name in self._fixed
        if fixed and not dist.contains(self._fixed[name]):
            outside = (f"parameter {name!r}: {self.fixed_label} value {self._fixed[name]!r} "
                       f"is outside {dist}{_why_outside(dist, self._fixed[name])}")
            if not self.fixed_are_hints:
                raise ValueError(outside)
            warnings.warn(f"{outside}; the sampler chooses it instead", UserWarning,
                          stacklevel=3)
            fixed = False
        if fixed:
            value = canonical(dist, self._fixed[name])
        elif name in self._proposed and dist.contains(self._proposed[name]) and _same_kind(
                self._proposed_space.get(name), dist):
            value = canonical(dist, self._proposed[name])
        else:
            value = self._driver._propose_param(self, name, dist)
            if not isinstance(dist, Categorical) and dist.contains(value):
                value = canonical(dist, value)
        self.params[name] = value
        self.distributions[name] = dist
        self.unflushed_params[name] = value
        self._driver._record_param(self)
        return value

    # -- progress -----------------------------------------------------------------------
    def report(self, value: float | Sequence[float], step: int) -> None:
        """Record an intermediate value at ``step`` (a sequence for multi-objective pruning).

        numpy values and torch tensors count as the numbers they hold. The first report at a
        step counts; a second one warns and is ignored (as in Optuna)."""
        self._check_open()
        step, v = checked_report(step, value, self._driver._report_width)
        if step in self.intermediate_values:  # Optuna's rule: the first report at a step wins
            warnings.warn(f"trial {self.number} reported step {step} already; this value is "
                          "ignored (the first report at a step counts)", UserWarning,
                          stacklevel=2)
            return
        self.intermediate_values[step] = v
        if self.last_step is None or step > self.last_step:
            self.last_step = step
        self._driver._record_report(self, step, v)

    def __copy__(self) -> Trial:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Trial:
        """The trial itself: a live trial is the handle of one running trial of its study, so
        a copy (sklearn's ``clone`` deep-copies the callbacks that hold it) reports to the
        same trial instead of to a copy of the study."""
        return self

    def should_prune(self) -> bool:
        """Ask the study's pruner whether this trial should stop now."""
        return self._driver._should_prune(self)

    def set_user_attr(self, key: str, value: Any) -> None:
        self._check_open()
        if not isinstance(key, str):  # (stored as JSON text, "1" for 1: as the study refuses)
            raise TypeError(f"a user attribute key must be a string, got {key!r}")
        value = json_ready(f"user attribute {key!r}", value)
        self.user_attrs[key] = value
        self.unflushed_attrs[key] = value
        self._driver._record_attrs(self)

    def set_constraint(self, key: str, value: float) -> None:
        """Record the value of constraint ``key``; the trial is feasible when every value is
        ``<= 0`` (Optuna 5's API). Samplers that handle constraints (GP, TPE, CMA-ES,
        NSGA-II/III) read them, and `Study.best_trial` and `best_trials` keep to feasible
        trials. The first value set for a key counts; another one warns and is ignored."""
        self._check_open()
        if not isinstance(key, str) or not key:
            raise ValueError(f"a constraint key must be a non-empty string, got {key!r}")
        value = plain(value)
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"constraint {key!r} must be a number, got {value!r}")
        if math.isnan(value):
            raise ValueError(f"constraint {key!r} is NaN")
        if key in self.constraints:
            warnings.warn(f"trial {self.number} set constraint {key!r} already; this value is "
                          "ignored", UserWarning, stacklevel=2)
            return
        self.constraints[key] = float(value)
        self.unflushed_system[CONSTRAINT_PREFIX + key] = float(value)
        self._driver._record_attrs(self)


class FixedTrial(Trial):
    """A trial whose parameters are given (Optuna's ``FixedTrial``): run an objective on known
    values, say to retrain with ``study.best_params`` or to test the objective, with no study.

    Each ``suggest_*`` returns the value in ``params``, checked against its distribution and
    written as a sampler would write it (3.0 asked as an int is 3); a parameter missing from
    ``params``, or a value the distribution does not hold, raises ValueError. `report` keeps
    the values and `should_prune` is always False; user attributes can be set. `params` and
    `distributions` hold the parameters suggested so far.

    >>> trial = FixedTrial({"x": 0.5, "n": 3.0})
    >>> trial.suggest_float("x", -1, 1), trial.suggest_int("n", 1, 4)
    (0.5, 3)
    >>> trial.should_prune()
    False
    """

    fixed_label = "fixed"

    def __init__(self, params: Mapping[str, Any], number: int = 0) -> None:
        super().__init__(_FixedDriver(), number, fixed=params,
                         datetime_start=datetime.now(timezone.utc))
        self.system_attrs: dict[str, Any] = {}

    def set_system_attr(self, key: str, value: Any) -> None:
        """Kept on the trial, as in Optuna (deprecated there)."""
        self.system_attrs[key] = json_ready(f"system attribute {key!r}", value)

    def __repr__(self) -> str:
        return f"FixedTrial(number={self.number}, params={self.params})"

    @property
    def study(self) -> Study:
        """None to belong to: AttributeError, as Optuna's FixedTrial has no ``study``."""
        raise AttributeError("a FixedTrial belongs to no study (it has no 'study')")


class _FixedDriver:
    """A `FixedTrial`'s driver: nothing to propose, record or prune."""

    def _propose_param(self, trial: Trial, name: str, dist: Distribution) -> Any:
        raise ValueError(f"parameter {name!r} has no value: give it in the FixedTrial's params "
                         f"(it has {sorted(trial._fixed)})")

    def _record_param(self, trial: Trial) -> None:
        trial.unflushed_params.clear()

    def _record_attrs(self, trial: Trial) -> None:
        trial.unflushed_attrs.clear()
        trial.unflushed_system.clear()

    def _record_report(self, trial: Trial, step: int, value: float | tuple[float, ...]) -> None:
        pass

    _report_width = None  # a FixedTrial belongs to no study: any count of numbers is kept

    def _should_prune(self, trial: Trial) -> bool:
        return False


def _same_kind(proposed_for: Distribution | None, dist: Distribution) -> bool:
    """Whether a proposal made for ``proposed_for`` is a draw from ``dist`` (which holds it):
    of the same type, scale and grid, the range aside (it may have been widened). A proposal
    for an Int, or a stepped Float, is no draw from a continuous Float of the same name."""
    return type(proposed_for) is type(dist) and (
        isinstance(dist, Categorical) or (getattr(proposed_for, "log", None), getattr(
            proposed_for, "step", None)) == (dist.log, dist.step))


def _why_outside(dist: Distribution, value: Any) -> str:
    """Why a number in the range of ``dist`` is not one of its values (empty otherwise)."""
    value = plain(value)
    if isinstance(dist, Categorical) or isinstance(value, bool) or not isinstance(
            value, (int, float)) or not dist.low <= value <= dist.high:
        return ""
    if isinstance(dist, Int) and not float(value).is_integer():
        return ": not an integer"
    return f": not on its step of {dist.step!r}"


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated (as in Optuna): use {new}", FutureWarning, stacklevel=3)


def _build(name: str, cls: Any, *args: Any, **kwargs: Any) -> Distribution:
    try:
        dist: Distribution = cls(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"parameter {name!r}: {exc}") from exc
    return dist


def _numeric(name: str, cls: Any, low: Any, high: Any, log: Any, step: Any) -> Distribution:
    """`shared_numeric`: an objective asks for the same few distributions on every trial, and
    building one with its checks was a tenth of a random-search trial in memory."""
    try:
        return shared_numeric(cls, low, high, log, step)
    except TypeError as exc:  # an unhashable argument (a list, a numpy array): build it plainly
        if "unhashable" not in str(exc):
            raise ValueError(f"parameter {name!r}: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"parameter {name!r}: {exc}") from exc
    return _build(name, cls, low, high, log=log, step=step)
