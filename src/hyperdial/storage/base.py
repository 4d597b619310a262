"""The storage contract: an append-only log of trial events, plus the view that replays it.

A backend stores studies, allocates gap-free trial numbers, appends events and hands back the
events after a given id. Everything else (turning events into `TrialRecord`s, caching finished
trials) happens once, in `TrialView`, for every backend.

Event kinds and their data (all JSON):

``create``  ``{"t": epoch, "state": "RUNNING"|"WAITING", "params"?: {...}, "dists"?: {...},
"user_attrs"?: {...}, "system_attrs"?: {...}}``
``start``   ``{"t": epoch}`` a WAITING trial was claimed by a worker
``params``  ``{"params": {name: value}, "dists": {name: distribution dict}}``
``report``  ``{"step": int, "value": float | [float, ...]}``
``attrs``   ``{"user": {...}, "system": {...}}``
``finish``  ``{"t": epoch, "state": "COMPLETE"|"PRUNED"|"FAIL", "values"?: [...], "reason"?: str}``
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from hyperdial._checks import check_study_name
from hyperdial.exceptions import DuplicatedStudy, StorageError, StudyNotFound, TrialNotFound
from hyperdial.history import History, RecordSequence, StudyDirection, held_alike
from hyperdial.space import EMPTY_SPACE, Distribution, SearchSpace, distribution_from_dict
from hyperdial.trial import (
    PROPOSAL_ATTR,
    ReadOnlyDict,
    TrialRecord,
    TrialState,
    state_of,
)

Event = tuple[str, dict[str, Any]]
_scan_json = json.JSONDecoder().raw_decode


def _compact_json_encoder() -> Callable[[Any], str]:
    """``JSONEncoder(allow_nan=True, separators=(",", ":")).encode`` with its C encoder made
    once: ``encode`` makes a new one on every call, 40 % of its time on the short dicts of a
    trial's events (three a trial). It skips the check for circular structures, which event
    data cannot hold (hyperdial builds them, and user values come through a JSON round trip,
    `json_ready`): one would exhaust the recursion limit instead. Where CPython's C encoder is
    missing or takes other arguments, the plain method."""
    plain = json.JSONEncoder(allow_nan=True, separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - another interpreter
        return plain.encode
    try:
        c_encode = make(None, plain.default, json.encoder.encode_basestring_ascii, None,
                        ":", ",", False, False, True)
    except TypeError:  # pragma: no cover - a C encoder that takes other arguments
        return plain.encode

    def encode(obj: Any) -> str:
        return "".join(c_encode(obj, 0))

    samples = ({"a": [1, 2.5, None, True, float("nan")], 3: {"c": "\u00e9"}}, "\u00e9")
    return encode if all(encode(x) == plain.encode(x) for x in samples) else plain.encode


#: JSON as the persistent backends store it: compact, NaN and infinities kept.
encode_json = _compact_json_encoder()


@dataclass(frozen=True)
class StudyInfo:
    """A study as the storage knows it."""

    id: int
    name: str
    directions: tuple[StudyDirection, ...]
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    n_trials: int = 0


class EventRow:
    """One event read back from a storage.

    A backend may hand over the stored JSON ``text`` instead of ``data``: it is then decoded
    on first access only. A view never looks at the events of a trial it has already
    finished, which after `TrialView.apply_own` are most of what a worker reads back.
    """

    __slots__ = ("_data", "_text", "id", "kind", "number")

    def __init__(self, id: int, number: int, kind: str,
                 data: dict[str, Any] | None = None, *, text: str | None = None) -> None:
        if (data is None) == (text is None):
            raise TypeError("an EventRow needs exactly one of data and text")
        self.id, self.number, self.kind = id, number, kind
        self._data, self._text = data, text

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            text: str = self._text  # type: ignore[assignment]
            # Our own compact JSON needs none of json.loads' whitespace handling (40 % of its
            # time on these short texts); anything after the value gets its proper error.
            data, end = _scan_json(text)
            self._data = data if end == len(text) else json.loads(text)
        return self._data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventRow):
            return NotImplemented
        return ((self.id, self.number, self.kind, self.data)
                == (other.id, other.number, other.kind, other.data))

    __hash__ = None  # type: ignore[assignment]  # its payload is a mutable dict

    def __repr__(self) -> str:
        return (f"EventRow(id={self.id}, number={self.number}, kind={self.kind!r}, "
                f"data={self.data!r})")


class Storage(ABC):
    """Where studies live. Every write is one transaction; reads return events after an id.

    Implementations must keep trial numbers unique and gap-free under concurrent writers,
    make a study's event ids visible in increasing order (``read(after)`` relies on it, so
    writers to one study are serialised), validate a write completely before any of it lands,
    refuse events for a finished trial (`TrialFinishedError`) or an unknown one
    (`TrialNotFound`), and never unpickle anything.
    """

    #: Heartbeat settings ``(interval, grace period, retries)`` that a study created or loaded
    #: on this storage takes for those it is not given (Optuna sets them on its storage:
    #: `hyperdial.storages.RDBStorage`); None: the study's own defaults.
    heartbeat_defaults: tuple[float | str | None, float | None, int] | None = None

    # -- studies ---------------------------------------------------------------------------
    @abstractmethod
    def create_study(self, name: str, directions: Sequence[StudyDirection],
                     user_attrs: Mapping[str, Any] | None = None) -> StudyInfo:
        """Create a study; `DuplicatedStudy` if the name is taken."""

    @abstractmethod
    def studies(self) -> list[StudyInfo]:
        """Every study, in creation order."""

    def get_study(self, name: str) -> StudyInfo:
        """The study called ``name``; `StudyNotFound` otherwise."""
        for info in self.studies():
            if info.name == name:
                return info
        raise StudyNotFound(f"no study named {name!r}")

    def rename_study(self, name: str, new_name: str) -> None:
        """Rename a study: `StudyNotFound`, `DuplicatedStudy` if ``new_name`` is taken, and
        ValueError, before anything is written, for a name `create_study` refuses."""
        check_study_name(new_name, "new_name")
        self._rename_study(name, new_name)

    @abstractmethod
    def _rename_study(self, name: str, new_name: str) -> None:
        """`rename_study` once ``new_name`` is checked."""

    @abstractmethod
    def delete_study(self, name: str) -> None: ...

    @abstractmethod
    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        """Set one user attribute of a study (a JSON value), keeping the others."""

    # -- trials ----------------------------------------------------------------------------
    @abstractmethod
    def create_trial(self, study_id: int, data: dict[str, Any], *, key: str | None = None,
                     claim_waiting: bool = False, heartbeat: bool = False) -> int | None:
        """Start a trial and return its number.

        With ``heartbeat`` the started trial's first heartbeat is recorded in the same
        transaction (a worker that will keep beating for it saves a write).

        With ``claim_waiting`` the oldest WAITING trial is moved to RUNNING (a ``start`` event)
        if there is one; otherwise a new trial gets the next number and a ``create`` event with
        ``data`` (whose ``state`` says RUNNING or WAITING). A non-None ``key`` must be unique in
        the study: if another trial holds it, nothing is written and None is returned.
        """

    @abstractmethod
    def append(self, study_id: int, number: int, events: Sequence[Event]) -> None:
        """Append events to a trial in one transaction.

        A ``finish`` event must be last and moves the trial out of RUNNING atomically; events
        for a trial that is already finished raise `TrialFinishedError` and write nothing.
        """

    def append_and_create(self, study_id: int, number: int, events: Sequence[Event], *,
                          after: int, heartbeat: bool = False, catch_up: bool = True,
                          ) -> tuple[int, list[EventRow]]:
        """`append` ``events`` to trial ``number``, start the next trial as
        ``create_trial(study_id, {}, claim_waiting=True, heartbeat=heartbeat)`` does, and
        return its number with the study's events after id ``after``, as `read` would.

        A worker's step from one trial to the next, whose view then catches up: a backend
        with transactions overrides it to write both in one (the SQL one: one commit; on
        PostgreSQL the read too, in one round trip). If the append raises, no trial is started.
        With ``catch_up=False`` (the worker does not need the other workers' trials now) a
        backend may return only the events this call wrote, which `TrialView.apply_ahead`
        takes; returning everything, as by default, is also right.
        """
        self.append(study_id, number, events)
        created = self.create_trial(study_id, {}, claim_waiting=True, heartbeat=heartbeat)
        assert created is not None  # no key, so nothing can refuse it
        return created, self.read(study_id, after)

    @abstractmethod
    def read(self, study_id: int, after: int = 0, *, limit: int | None = None
             ) -> list[EventRow]:
        """Events of the study with id > ``after``, in id order; the first ``limit`` of them
        when given (a reader of a long log takes it in parts, holding less at once)."""

    @abstractmethod
    def heartbeat(self, study_id: int, numbers: Sequence[int]) -> None:
        """Record that the worker running these trials is alive now (other numbers, unknown
        or not RUNNING, are ignored)."""

    @abstractmethod
    def fail_stale(self, study_id: int, grace_seconds: float) -> list[int]:
        """Mark FAIL every RUNNING trial whose last heartbeat is older than ``grace_seconds``.

        Trials that never sent a heartbeat are left alone. Returns the numbers marked. A check
        that finds none (every `load_study` makes one) must write nothing and take no lock
        that a read does not take: a database this process cannot write stays readable, and
        loading a study does not queue behind the writers.
        """

    def copy_part(self, study_id: int,
                  trials: Sequence[tuple[int, dict[str, Any] | None, Sequence[Event]]],
                  ) -> list[int | None]:
        """Write a part of a study being copied (`copy_study`): for each ``(number, data,
        events)``, create the trial as ``create_trial(study_id, data, key=data.get("key"))``
        unless ``data`` is None (it exists), then `append` its ``events`` if any. Returns the
        numbers created, in order. This default writes each separately; a backend with
        transactions writes the whole part in one, which a copy of many trials waits on."""
        created = []
        for number, data, events in trials:
            if data is not None:
                created.append(self.create_trial(study_id, data, key=data.get("key")))
            if events:
                self.append(study_id, number, events)
        return created

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections; the default has nothing to release."""


def now() -> float:
    return time.time()


def study_not_found(name: str, where: str, studies: Sequence[StudyInfo]) -> StudyNotFound:
    """`StudyNotFound` for ``name`` that says where it looked (``where``: the storage, its
    password masked, and its file) and which studies are there, so that a mistyped name or
    path shows."""
    names = [repr(info.name) for info in studies]
    held = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return StudyNotFound(f"no study named {name!r} in {where}, which holds "
                         f"{held or 'no study'}")


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, tz=timezone.utc)


class Opening(NamedTuple):
    """A trial as a worker opening it reads it (`TrialView.opening`)."""

    params: dict[str, Any]
    system_attrs: dict[str, Any]
    user_attrs: dict[str, Any]
    datetime_start: datetime | None


class _Builder:
    """Mutable accumulator for one unfinished trial."""

    __slots__ = ("_started", "dists", "intermediate", "number", "params", "start", "state",
                 "system_attrs", "user_attrs")

    def __init__(self, number: int, data: dict[str, Any]) -> None:
        self.number = number
        self.state = state_of(data.get("state", "RUNNING"))
        self.start: float | None = data["t"] if self.state is TrialState.RUNNING else None
        self._started: datetime | None = None  # `start` as a datetime, once asked for
        self.params: dict[str, Any] = dict(data.get("params", {}))
        self.dists: dict[str, Distribution] = {
            k: distribution_from_dict(v) for k, v in data.get("dists", {}).items()}
        self.intermediate: dict[int, Any] = {}
        self.user_attrs: dict[str, Any] = dict(data.get("user_attrs", {}))
        self.system_attrs: dict[str, Any] = dict(data.get("system_attrs", {}))

    def datetime_start(self) -> datetime | None:
        if self._started is None and self.start is not None:
            self._started = _dt(self.start)
        return self._started

    def record(self, end: float | None = None, values: Sequence[float] | None = None
               ) -> TrialRecord:
        """The trial as it stands. A finished one holds only parameters it was asked for
        (with their distributions): an enqueued value its objective never suggested stays
        out, as in Optuna, so the record can be added to another study."""
        params = self.params
        if self.state.is_finished() and len(params) != len(self.dists):
            params = {k: v for k, v in params.items() if k in self.dists}
        # Read-only copies: a record handed out is shared by everyone who reads the study.
        return TrialRecord(
            number=self.number, state=self.state, params=ReadOnlyDict(params),
            distributions=ReadOnlyDict(self.dists),
            values=None if values is None else tuple(values),
            intermediate_values=ReadOnlyDict(self.intermediate),
            user_attrs=ReadOnlyDict(self.user_attrs),
            system_attrs=ReadOnlyDict(self.system_attrs), datetime_start=self.datetime_start(),
            datetime_complete=_dt(end))


_CHUNK = 256  # records per immutable chunk of a `TrialView` snapshot
_SYNC_PART = 10_000  # events a `TrialView.sync` reads at a time
_MAX_AHEAD = 30_000  # event ids a view takes past unread ones before it reads them (~1 MiB)

# Events whose data hyperdial builds from JSON types only (str keys, scalars, lists), so that
# they read back exactly as written; user attributes and reported values may not.
_PLAIN_JSON = frozenset({"params", "finish"})


def _number(record: TrialRecord) -> int:
    return record.number


class TrialView:
    """Materialises a study's event log into `TrialRecord`s, fetching only new events.

    Finished trials are immutable, so their records are built once and cached; a sync costs
    one storage query however many trials exist. A running trial's record is built when read,
    so reads (`get`, `records`, `proposals`) change the view too: like its writes, they must
    not run in two threads at once (a study holds its lock around both).
    """

    def __init__(self, storage: Storage, study_id: int,
                 directions: Sequence[StudyDirection]) -> None:
        self.storage = storage
        self.study_id = study_id
        self.directions = tuple(directions)
        self.last_event_id = 0
        self._records: list[TrialRecord | None] = []
        # Numbers seen in no ``create`` event yet (other workers' trials, when `apply_ahead` ran
        # ahead of the log), by chunk.
        self._holes: dict[int, set[int]] = {}
        self._ahead: set[int] = set()  # ids past `last_event_id` that `apply_ahead` took
        self._open: dict[int, _Builder] = {}
        # Open trials whose record is stale: built when read (`get`, `records`), not at each
        # event (a worker's own trial in `optimize` is read only at its end).
        self._dirty: set[int] = set()
        self._chunks: list[tuple[TrialRecord, ...]] = []  # of _CHUNK numbers each
        self._completed_chunks: list[tuple[TrialRecord, ...]] = []  # their COMPLETE records
        self._completed: dict[int, list[TrialRecord]] = {}  # the same, by chunk, as they end
        self._stale_chunks: set[int] = set()  # indexes of chunks to rebuild
        self._snapshot: RecordSequence | None = RecordSequence(())
        self._space: SearchSpace | None = None  # what every completed trial holds alike
        self._best: TrialRecord | None = None  # one objective: kept as trials complete
        self._sign = -1.0 if self.directions == (StudyDirection.MAXIMIZE,) else 1.0

    def sync(self) -> None:
        """Apply what the log holds past `last_event_id`, `_SYNC_PART` events at a time: a
        study of 50,000 trials read at once left its reader 270 MB resident, the memory of
        150,000 rows in flight, where the records it keeps take 60 MB."""
        for rows in read_in_parts(self.storage, self.study_id, self.last_event_id):
            self.apply(rows)

    def apply(self, rows: Sequence[EventRow]) -> None:
        """Apply every event of the study after `last_event_id` (up to the last of ``rows``),
        as read from the storage; those this view has seen already (another thread synced
        since they were read, or `apply_ahead` took them) are skipped."""
        if not rows:
            return
        fresh = [row for row in rows
                 if row.id > self.last_event_id and row.id not in self._ahead]
        top = max(row.id for row in rows)
        if top > self.last_event_id:
            self.last_event_id = top
            if self._ahead:
                self._ahead = {i for i in self._ahead if i > top}
        if fresh:
            self._apply_rows(fresh)

    def apply_ahead(self, rows: Sequence[EventRow]) -> None:
        """Apply the events of this process's own write, which may lie past events of other
        workers not read yet: their trials stay unknown (holes) until the next `sync`, which
        skips what this took. `last_event_id` moves only over ids with nothing between. An
        event of a trial whose creation this view has not seen (one queued by another worker,
        then claimed by ours) makes it sync at once, which reads them in order."""
        created: set[int] = set()
        fresh, taken = [], []
        unseen = False
        for row in rows:
            if row.id <= self.last_event_id or row.id in self._ahead:
                continue
            if row.kind == "create":
                created.add(row.number)
            elif row.number not in created and not self.knows(row.number):
                unseen = True
                continue
            taken.append(row.id)
            if row.number in self._open or row.number in created:
                fresh.append(row)  # (a finished trial's events change nothing: `apply_own`)
        if fresh:
            self._apply_rows(fresh)
        if taken:
            self._ahead.update(taken)
            while self.last_event_id + 1 in self._ahead:
                self.last_event_id += 1
                self._ahead.remove(self.last_event_id)
        if unseen or len(self._ahead) > _MAX_AHEAD:  # (bounded memory: catch up now and then)
            self.sync()

    def knows(self, number: int) -> bool:
        """Whether the view holds trial ``number`` (not a hole left for a later sync)."""
        return number < len(self._records) and (self._records[number] is not None
                                                or number in self._open)

    def apply_own(self, number: int, events: Sequence[Event],
                  distributions: Mapping[str, Distribution] | None = None) -> bool:
        """Apply the events this process has just appended for trial ``number`` (every event
        the trial has after its creation, ending with its ``finish``) without reading them
        back; False (nothing applied) if the view does not hold that trial open. The next
        `sync` reads them again and ignores them, as it ignores any event of a finished
        trial. ``distributions``: the live trial's, which its ``params`` events describe
        (they are then taken as they are, not rebuilt from their JSON form)."""
        b = self._open.get(number)
        if b is None or not events or events[-1][0] != "finish":
            return False
        rows = []
        for kind, data in events:
            if kind == "params" and distributions is not None:
                b.params.update(data["params"])
                b.dists.update({k: distributions[k] for k in data["params"]})
            else:
                rows.append(EventRow(0, number, kind, data if kind in _PLAIN_JSON
                                     else json.loads(json.dumps(data))))
        self._apply_rows(rows)
        return True

    def _apply_rows(self, rows: Sequence[EventRow]) -> None:
        touched: set[int] = set()
        for row in rows:
            self._apply_one(row)
            touched.add(row.number)
        for number in touched:
            if number in self._open:
                self._dirty.add(number)
            self._stale_chunks.add(number // _CHUNK)
        self._snapshot = None

    def _build_dirty(self) -> None:
        for number in self._dirty:
            self._records[number] = self._open[number].record()
        self._dirty.clear()

    def _apply_one(self, row: EventRow) -> None:
        n, kind = row.number, row.kind
        if kind == "create":
            known = len(self._records)
            if n >= known:  # the next number, or past numbers still unseen (holes)
                for hole in range(known, n):
                    self._holes.setdefault(hole // _CHUNK, set()).add(hole)
                self._records.extend([None] * (n + 1 - known))
            elif (holes := self._holes.get(n // _CHUNK)) is not None:
                holes.discard(n)
                if not holes:
                    del self._holes[n // _CHUNK]
            self._open[n] = _Builder(n, row.data)
            return
        b = self._open.get(n)
        if b is None:  # event for a trial already finished (e.g. replayed): ignore, unread
            return
        data = row.data
        if kind == "params":
            b.params.update(data["params"])
            b.dists.update({k: distribution_from_dict(v) for k, v in data["dists"].items()})
        elif kind == "report":
            v = data["value"]
            b.intermediate.setdefault(int(data["step"]), tuple(v) if isinstance(v, list) else v)
        elif kind == "attrs":
            b.user_attrs.update(data.get("user", {}))
            b.system_attrs.update(data.get("system", {}))
        elif kind == "start":
            b.state, b.start, b._started = TrialState.RUNNING, data["t"], None
        elif kind == "finish":
            b.state = state_of(data["state"])
            if data.get("reason") is not None:
                b.system_attrs["fail_reason"] = data["reason"]
            if data.get("traceback") is not None:
                b.system_attrs["traceback"] = data["traceback"]
            b.system_attrs.pop(PROPOSAL_ATTR, None)  # its params tell the rest now
            record = b.record(end=data["t"], values=data.get("values"))
            del self._open[n]
            self._dirty.discard(n)
            self._records[n] = record
            if record.state is TrialState.COMPLETE:
                bisect.insort(self._completed.setdefault(n // _CHUNK, []), record,
                              key=_number)  # an append, unless trials end out of order
                self._extend_space(record)
                self._consider_best(record)

    def _consider_best(self, record: TrialRecord) -> None:
        """Keep `best` up to date: the lowest loss, the lowest number among equals (as
        `History.best`), whatever order trials finish in."""
        if len(self.directions) != 1 or record.values is None:
            return
        best = self._best
        if best is None or best.values is None:
            self._best = record
            return
        new, old = self._sign * record.values[0], self._sign * best.values[0]
        if new < old or (new == old and record.number < best.number):
            self._best = record

    @property
    def best(self) -> TrialRecord | None:
        """The best completed trial of a single-objective study so far (what
        ``history().best()`` computes, without a pass over every trial)."""
        return self._best

    def _extend_space(self, record: TrialRecord) -> None:
        if self._space is None:
            self._space = SearchSpace(dict(record.distributions))
            return
        kept = held_alike(self._space.params, record.distributions)
        if len(kept) < len(self._space):  # it only ever shrinks; rebuilt only when it does
            self._space = SearchSpace(kept)

    @property
    def records(self) -> RecordSequence:
        if self._snapshot is None:
            self._build_dirty()
            for k in self._stale_chunks:
                while len(self._chunks) <= k:
                    self._chunks.append(())
                    self._completed_chunks.append(())
                start, stop = k * _CHUNK, (k + 1) * _CHUNK
                part = self._records[start:stop]
                if k in self._holes:
                    part = [r for r in part if r is not None]
                self._chunks[k] = tuple(part)  # type: ignore[arg-type]
                self._completed_chunks[k] = tuple(self._completed.get(k, ()))
            self._stale_chunks.clear()
            self._snapshot = RecordSequence(self._chunks, self._completed_chunks)
        return self._snapshot

    def history(self) -> History:
        return History(self.records, self.directions, self._space or EMPTY_SPACE)

    def opening(self, number: int) -> Opening:
        """What a worker opening trial ``number`` reads: its fixed parameters, attributes and
        start, copied from its builder while it runs (its record is not built for this)."""
        b = self._open.get(number)
        if b is None:
            record = self.get(number)
            return Opening(dict(record.params), dict(record.system_attrs),
                           dict(record.user_attrs), record.datetime_start)
        return Opening(dict(b.params), dict(b.system_attrs), dict(b.user_attrs),
                       b.datetime_start())

    def proposals(self) -> list[TrialRecord]:
        """The running trials that published their proposal (`PROPOSAL_ATTR`)."""
        self._build_dirty()
        out = []
        for number, b in self._open.items():
            record = self._records[number]
            if b.state is TrialState.RUNNING and PROPOSAL_ATTR in b.system_attrs \
                    and record is not None:
                out.append(record)
        return out

    def get(self, number: int) -> TrialRecord:
        if number in self._dirty:
            self._records[number] = self._open[number].record()
            self._dirty.discard(number)
        record = self._records[number] if 0 <= number < len(self._records) else None
        if record is None:
            raise TrialNotFound(f"no trial number {number}")
        return record


def read_in_parts(storage: Storage, study_id: int, after: int = 0) -> Iterator[list[EventRow]]:
    """The study's events after id ``after``, `_SYNC_PART` at a time (no empty part)."""
    while True:
        rows = storage.read(study_id, after, limit=_SYNC_PART)
        if rows:
            yield rows
        if len(rows) < _SYNC_PART:
            return
        after = rows[-1].id


_COPY_PART = 1_000  # trials written per `Storage.copy_part` (one transaction where it can)


def copy_study(src: Storage, name: str, dst: Storage, new_name: str | None = None) -> StudyInfo:
    """Copy a study, every trial and event, to another (or the same) storage, as ``new_name``
    (None: its own name). The source is looked up, and ``new_name`` checked as `create_study`
    checks names and refused if taken (`DuplicatedStudy`), before anything is written.

    All or nothing: the copy is written under a temporary name and renamed at the end, and a
    failure or an interrupt (Ctrl-C) deletes it, so a study under the new name is a whole copy.
    Trials are written `_COPY_PART` at a time (`Storage.copy_part`). A trial still RUNNING in
    the source has no worker in the copy: it gets a heartbeat, so that it is failed as stale
    (and retried under ``failed_trial_retries``) once the grace period has passed."""
    check_study_name(new_name, "to_study_name", none_ok=True)
    info = src.get_study(name)
    final = name if new_name is None else new_name
    if any(study.name == final for study in dst.studies()):
        raise DuplicatedStudy(f"a study named {final!r} already exists")
    target = dst.create_study(f"{final} (copying {uuid.uuid4().hex[:8]})", info.directions,
                              info.user_attrs)
    try:
        _copy_trials(src, info, dst, target.id)
        dst.rename_study(target.name, final)
    except BaseException:
        with contextlib.suppress(Exception):  # the original error says more
            dst.delete_study(target.name)
        raise
    return dst.get_study(final)


def _copy_trials(src: Storage, info: StudyInfo, dst: Storage, study_id: int) -> None:
    """The trials of ``info`` into the study ``study_id`` of ``dst``, with a heartbeat for those
    still RUNNING."""
    part: dict[int, tuple[dict[str, Any] | None, list[Event]]] = {}
    running: set[int] = set()

    def write() -> None:
        expected = [number for number, (data, _) in part.items() if data is not None]
        created = dst.copy_part(study_id, [(n, data, events) for n, (data, events) in part.items()])
        if created != expected:
            old, new = next((e, c) for e, c in zip(expected, created, strict=True) if e != c)
            raise StorageError(f"copying {info.name!r}: trial {old} became {new}; the "
                               "source's trial numbers are not gap-free")
        part.clear()

    for row in itertools.chain.from_iterable(read_in_parts(src, info.id)):
        if row.number not in part and len(part) >= _COPY_PART:
            write()
        events = part.setdefault(row.number, (None, []))[1]
        if row.kind == "create":
            part[row.number] = (row.data, events)
            if row.data.get("state", "RUNNING") == TrialState.RUNNING.value:
                running.add(row.number)
        else:
            events.append((row.kind, row.data))
            if row.kind == "start":
                running.add(row.number)
            elif row.kind == "finish":
                running.discard(row.number)
    write()
    if running:
        dst.heartbeat(study_id, sorted(running))
