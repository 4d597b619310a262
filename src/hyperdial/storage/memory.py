"""In-process storage: the same event log as the SQL backend, kept in lists under a lock."""

from __future__ import annotations

import copy
import heapq
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hyperdial.exceptions import DuplicatedStudy, StudyNotFound, TrialFinishedError, TrialNotFound
from hyperdial.history import StudyDirection
from hyperdial.storage.base import (
    Event,
    EventRow,
    Storage,
    StudyInfo,
    encode_json,
    now,
)
from hyperdial.trial import STALE_REASON, TrialState, state_of


@dataclass
class _Study:
    id: int
    name: str
    directions: tuple[StudyDirection, ...]
    user_attrs: dict[str, Any]
    states: list[TrialState] = field(default_factory=list)
    heartbeats: dict[int, float] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    waiting: list[int] = field(default_factory=list)  # a heap of WAITING trial numbers
    events: list[tuple[int, int, str, str]] = field(default_factory=list)  # id, number, kind, json


class InMemoryStorage(Storage):
    """Thread-safe storage that lives as long as the process.

    Events are kept as JSON text, exactly as the SQL backend keeps them: what a study reads
    back is a fresh copy, and whatever would not survive a database does not survive here.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._studies: dict[str, _Study] = {}
        self._by_id: dict[int, _Study] = {}
        self._next_study_id = 1
        self._next_event_id = 1
        self._now: Callable[[], float] = now  # what stamps events (a journal replays its own)

    def __getstate__(self) -> dict[str, Any]:
        """A pickled copy holds the studies as they are now, and a lock and clock of its own."""
        with self._lock:
            return copy.deepcopy({k: v for k, v in self.__dict__.items()
                                  if k not in ("_lock", "_now")})

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._now = now

    def create_study(self, name: str, directions: Sequence[StudyDirection],
                     user_attrs: Mapping[str, Any] | None = None) -> StudyInfo:
        with self._lock:
            if name in self._studies:
                raise DuplicatedStudy(f"a study named {name!r} already exists")
            s = _Study(self._next_study_id, name, tuple(directions), dict(user_attrs or {}))
            self._next_study_id += 1
            self._studies[name] = self._by_id[s.id] = s
            return self._info(s)

    @staticmethod
    def _info(s: _Study) -> StudyInfo:
        return StudyInfo(s.id, s.name, s.directions, dict(s.user_attrs), len(s.states))

    def studies(self) -> list[StudyInfo]:
        with self._lock:
            return [self._info(s) for s in self._studies.values()]

    def get_study(self, name: str) -> StudyInfo:
        with self._lock:
            if name not in self._studies:
                raise StudyNotFound(f"no study named {name!r}")
            return self._info(self._studies[name])

    def _rename_study(self, name: str, new_name: str) -> None:
        with self._lock:
            if name not in self._studies:
                raise StudyNotFound(f"no study named {name!r}")
            if new_name in self._studies:
                raise DuplicatedStudy(f"a study named {new_name!r} already exists")
            s = self._studies[name]
            s.name = new_name  # rebuild the dict so that the creation order is kept
            self._studies = {st.name: st for st in self._studies.values()}

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        text = json.dumps(value, allow_nan=True)  # stored as a copy, as a database would
        with self._lock:
            self._study(study_id).user_attrs[key] = json.loads(text)

    def delete_study(self, name: str) -> None:
        with self._lock:
            if name not in self._studies:
                raise StudyNotFound(f"no study named {name!r}")
            del self._by_id[self._studies.pop(name).id]

    def _study(self, study_id: int) -> _Study:
        try:
            return self._by_id[study_id]
        except KeyError:
            raise StudyNotFound(f"no study with id {study_id}") from None

    def _log(self, s: _Study, number: int, kind: str, data: dict[str, Any]) -> None:
        s.events.append((self._next_event_id, number, kind, encode_json(data)))
        self._next_event_id += 1

    def create_trial(self, study_id: int, data: dict[str, Any], *, key: str | None = None,
                     claim_waiting: bool = False, heartbeat: bool = False) -> int | None:
        with self._lock:
            return self._create(self._study(study_id), data, key, claim_waiting, heartbeat)

    def _create(self, s: _Study, data: dict[str, Any], key: str | None, claim_waiting: bool,
                heartbeat: bool) -> int | None:
        while claim_waiting and s.waiting:
            number = heapq.heappop(s.waiting)
            if s.states[number] is TrialState.WAITING:
                s.states[number] = TrialState.RUNNING
                t = self._now()
                self._log(s, number, "start", {"t": t})
                if heartbeat:
                    s.heartbeats[number] = t
                return number
        data = {"t": self._now(), "state": "RUNNING", **data}
        state = state_of(data["state"])  # validate before anything is written
        if key is not None:
            if key in s.keys:
                return None
            s.keys.add(key)
        number = len(s.states)
        s.states.append(state)
        if s.states[number] is TrialState.WAITING:
            heapq.heappush(s.waiting, number)
        elif heartbeat:
            s.heartbeats[number] = data["t"]
        self._log(s, number, "create", data)
        return number

    def append(self, study_id: int, number: int, events: Sequence[Event]) -> None:
        with self._lock:
            self._append(self._study(study_id), number, events)

    def _append(self, s: _Study, number: int, events: Sequence[Event]) -> None:
        if not 0 <= number < len(s.states):
            raise TrialNotFound(f"no trial number {number}")
        if s.states[number].is_finished():
            raise TrialFinishedError(f"trial {number} is already {s.states[number].value}")
        for kind, data in events:  # validate the whole batch before writing any of it
            if kind == "finish":
                state_of(data["state"])
        for kind, data in events:
            if kind == "finish":
                s.states[number] = state_of(data["state"])
                s.heartbeats.pop(number, None)
            elif kind == "start":
                s.states[number] = TrialState.RUNNING
            self._log(s, number, kind, data)

    def append_and_create(self, study_id: int, number: int, events: Sequence[Event], *,
                          after: int, heartbeat: bool = False, catch_up: bool = True,
                          ) -> tuple[int, list[EventRow]]:
        """One step under the lock, as a transaction would take it; the events come back from
        the writes themselves, unless others were written since ``after`` and are wanted."""
        with self._lock:
            s = self._study(study_id)
            before = len(s.events)
            self._append(s, number, events)
            created = self._create(s, {}, None, True, heartbeat)
            assert created is not None  # no key, so nothing can refuse it
            if catch_up and before and s.events[before - 1][0] > after:
                return created, self._read(s, after)
            return created, [EventRow(i, n, kind, text=text)
                             for i, n, kind, text in s.events[before:]]

    def read(self, study_id: int, after: int = 0, *, limit: int | None = None
             ) -> list[EventRow]:
        with self._lock:
            return self._read(self._study(study_id), after, limit)

    @staticmethod
    def _read(s: _Study, after: int, limit: int | None = None) -> list[EventRow]:
        events = s.events
        lo, hi = 0, len(events)  # ids increase along the list: binary search the start
        while lo < hi:
            mid = (lo + hi) // 2
            if events[mid][0] <= after:
                lo = mid + 1
            else:
                hi = mid
        part = events[lo:] if limit is None else events[lo:lo + limit]
        return [EventRow(i, n, kind, text=text) for i, n, kind, text in part]

    def heartbeat(self, study_id: int, numbers: Sequence[int]) -> None:
        with self._lock:
            s = self._study(study_id)
            t = self._now()
            for n in numbers:
                if 0 <= n < len(s.states) and s.states[n] is TrialState.RUNNING:
                    s.heartbeats[n] = t

    def fail_stale(self, study_id: int, grace_seconds: float) -> list[int]:
        with self._lock:
            s = self._study(study_id)
            t = self._now()
            stale = sorted(n for n, beat in s.heartbeats.items() if t - beat > grace_seconds)
            for n in stale:
                s.states[n] = TrialState.FAIL
                del s.heartbeats[n]
                self._log(s, n, "finish", {"t": t, "state": "FAIL",
                                           "reason": STALE_REASON})
            return stale

