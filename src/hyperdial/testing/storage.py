"""The storage contract as executable checks, for every backend (built-in or third-party).

- `StorageConformance`: pytest tests of every contract method and edge. Subclass it in a test
  module that defines a ``storage`` fixture yielding a fresh, empty storage::

      class TestMyStorage(StorageConformance):
          @pytest.fixture
          def storage(self):
              store = MyStorage()
              yield store
              store.close()

- `check_matches_reference`: a hypothesis state machine applies random operations to
  `InMemoryStorage` (the reference) and to a fresh storage from a factory; results, errors,
  events and materialised trials must agree. Needs hypothesis.
- `check_concurrent_workers`, `check_crash_consistency`, `check_create_study_race`: one
  database shared by spawned processes, for storages that pickle into a new handle on the same
  database (as `SQLStorage` does).

Every ``check_*`` raises AssertionError on a violation.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import pickle
import queue
import signal
import time
from collections.abc import Callable
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as MPEvent
from typing import Any

import pytest

from hyperdial.exceptions import (
    DuplicatedStudy,
    StudyNotFound,
    TrialFinishedError,
    TrialNotFound,
)
from hyperdial.history import StudyDirection
from hyperdial.space import Float
from hyperdial.storage.base import Event, EventRow, Storage, StudyInfo, TrialView, copy_study
from hyperdial.storage.memory import InMemoryStorage
from hyperdial.trial import TrialRecord, TrialState

MIN = (StudyDirection.MINIMIZE,)
X = Float(0.0, 1.0)
STALE = "stale: no heartbeat (worker died?)"


def params_event(**params: float) -> Event:
    return "params", {"params": params, "dists": {name: X.to_dict() for name in params}}


def finish_event(state: str = "COMPLETE", *values: float, t: float = 2.0) -> Event:
    data: dict[str, Any] = {"t": t, "state": state}
    if values:
        data["values"] = list(values)
    return "finish", data


def new_trial(storage: Storage, study_id: int, data: dict[str, Any] | None = None, **kw: Any
              ) -> int:
    """`Storage.create_trial` that must give a number."""
    number = storage.create_trial(study_id, data or {}, **kw)
    assert number is not None
    return number


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


def synced_view(storage: Storage, info: StudyInfo) -> TrialView:
    view = TrialView(storage, info.id, info.directions)
    view.sync()
    return view


def canonical(value: Any) -> str:
    """JSON text with sorted keys: equal for equal data, NaN included."""
    return json.dumps(value, sort_keys=True, allow_nan=True)


def canonical_record(record: TrialRecord) -> str:
    """A trial as comparable text; timestamps only as present or absent (they are `now()`)."""
    return canonical({
        "number": record.number, "state": record.state.value, "params": record.params,
        "dists": {k: d.to_dict() for k, d in record.distributions.items()},
        "values": record.values, "intermediate": sorted(record.intermediate_values.items()),
        "user": record.user_attrs, "system": record.system_attrs,
        "started": record.datetime_start is not None,
        "completed": record.datetime_complete is not None})


def _study_key(info: StudyInfo) -> tuple[Any, ...]:
    return info.name, info.directions, canonical(info.user_attrs), info.n_trials


def canonical_events(rows: list[EventRow]) -> list[tuple[int, str, str]]:
    """Events without ids and timestamps, which legitimately differ between storages."""
    return [(r.number, r.kind, canonical({k: v for k, v in r.data.items() if k != "t"}))
            for r in rows]


class StorageConformance:
    """Tests of the `Storage` contract; a subclass provides the ``storage`` fixture."""

    # -- studies ------------------------------------------------------------------------------
    def test_create_study(self, storage: Storage) -> None:
        dirs = (StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE)
        info = storage.create_study("s", dirs, {"owner": "me", "tags": [1, "a"]})
        assert (info.name, info.directions, info.n_trials) == ("s", dirs, 0)
        assert dict(info.user_attrs) == {"owner": "me", "tags": [1, "a"]}
        assert storage.get_study("s") == info
        assert storage.studies() == [info]

    def test_studies_in_creation_order(self, storage: Storage) -> None:
        infos = [storage.create_study(name, MIN) for name in ["b", "c", "a"]]
        assert storage.studies() == infos
        assert len({info.id for info in infos}) == 3

    def test_duplicate_study_name(self, storage: Storage) -> None:
        first = storage.create_study("s", MIN)
        with pytest.raises(DuplicatedStudy, match="'s'"):
            storage.create_study("s", (StudyDirection.MAXIMIZE,))
        assert storage.studies() == [first]

    def test_unknown_study(self, storage: Storage) -> None:
        with pytest.raises(StudyNotFound, match="nope"):
            storage.get_study("nope")
        with pytest.raises(StudyNotFound):
            storage.rename_study("nope", "other")
        with pytest.raises(StudyNotFound):
            storage.delete_study("nope")
        self._assert_id_unknown(storage, 424242)

    @staticmethod
    def _assert_id_unknown(storage: Storage, study_id: int) -> None:
        calls: list[Callable[[], object]] = [
            lambda: storage.create_trial(study_id, {}),
            lambda: storage.create_trial(study_id, {}, claim_waiting=True),
            lambda: storage.append(study_id, 0, [("report", {"step": 0, "value": 1.0})]),
            lambda: storage.read(study_id),
            lambda: storage.read(study_id, limit=5),
            lambda: storage.heartbeat(study_id, []),
            lambda: storage.fail_stale(study_id, 0.0),
            lambda: storage.set_study_user_attr(study_id, "k", 1)]
        for call in calls:
            with pytest.raises(StudyNotFound):
                call()

    def test_rename_study(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN)
        storage.create_study("b", MIN)
        storage.create_trial(a.id, {})
        storage.rename_study("a", "c")
        c = storage.get_study("c")
        assert (c.id, c.n_trials) == (a.id, 1)
        with pytest.raises(StudyNotFound):
            storage.get_study("a")
        with pytest.raises(StudyNotFound):
            storage.rename_study("a", "d")
        for taken in ["b", "c"]:
            with pytest.raises(DuplicatedStudy):
                storage.rename_study("c", taken)
        assert sorted(s.name for s in storage.studies()) == ["b", "c"]

    def test_study_user_attrs(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN, {"keep": 1})
        storage.create_study("b", MIN)
        storage.set_study_user_attr(a.id, "data", {"name": "digits", "n": [1, 2]})
        storage.set_study_user_attr(a.id, "keep", None)
        storage.set_study_user_attr(a.id, "nan", float("inf"))
        assert storage.get_study("a").user_attrs == {
            "keep": None, "data": {"name": "digits", "n": [1, 2]}, "nan": float("inf")}
        assert storage.get_study("b").user_attrs == {}

    def test_rename_keeps_creation_order(self, storage: Storage) -> None:
        storage.create_study("a", MIN)
        storage.create_study("b", MIN)
        storage.rename_study("a", "z")
        assert [s.name for s in storage.studies()] == ["z", "b"]

    def test_delete_study(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN)
        b = storage.create_study("b", MIN)
        for info in (a, b):
            n = new_trial(storage, info.id, {"params": {"x": 0.5}})
            storage.heartbeat(info.id, [n])
            storage.append(info.id, n, [("report", {"step": 0, "value": 1.0})])
        kept = storage.read(b.id)
        storage.delete_study("a")
        assert storage.studies() == [storage.get_study("b")]
        assert storage.read(b.id) == kept
        self._assert_id_unknown(storage, a.id)
        with pytest.raises(StudyNotFound):
            storage.delete_study("a")
        again = storage.create_study("a", MIN)  # the name is free; the old id stays dead
        assert again.id != a.id
        assert (again.n_trials, storage.read(again.id)) == (0, [])

    # -- creating trials ----------------------------------------------------------------------
    def test_trial_numbers_gap_free(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN)
        b = storage.create_study("b", MIN)
        assert [storage.create_trial(a.id, {}) for _ in range(5)] == [0, 1, 2, 3, 4]
        assert storage.create_trial(b.id, {}) == 0
        assert storage.get_study("a").n_trials == 5

    def test_create_event(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        before = time.time()
        data = {"params": {"x": 0.5}, "dists": {"x": X.to_dict()}, "user_attrs": {"u": 1},
                "system_attrs": {"s": "v"}}
        n = storage.create_trial(info.id, data)
        (row,) = storage.read(info.id)
        assert (row.number, row.kind) == (n, "create")
        assert row.data == {"t": row.data["t"], "state": "RUNNING", **data}
        assert before <= row.data["t"] <= time.time()
        record = synced_view(storage, info).get(0)
        assert record.state is TrialState.RUNNING
        assert (record.params, record.distributions) == ({"x": 0.5}, {"x": X})
        assert (record.user_attrs, record.system_attrs) == ({"u": 1}, {"s": "v"})
        assert record.datetime_start is not None and record.datetime_complete is None

    def test_waiting_trials_claimed_oldest_first(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        for x in (0.1, 0.2):
            storage.create_trial(info.id, {"state": "WAITING", "params": {"x": x}})
        storage.create_trial(info.id, {})
        waiting = synced_view(storage, info).get(0)
        assert (waiting.state, waiting.datetime_start) == (TrialState.WAITING, None)
        assert storage.create_trial(info.id, {}) == 3  # no claim unless asked
        claimed = [storage.create_trial(info.id, {}, claim_waiting=True) for _ in range(3)]
        assert claimed == [0, 1, 4]  # then a new trial once none waits
        assert [(r.number, r.kind) for r in storage.read(info.id)][-3:] == [
            (0, "start"), (1, "start"), (4, "create")]
        view = synced_view(storage, info)
        for number, x in [(0, 0.1), (1, 0.2)]:
            record = view.get(number)
            assert (record.state, record.params) == (TrialState.RUNNING, {"x": x})
            assert record.datetime_start is not None
        assert storage.get_study("s").n_trials == 5

    def test_keys_unique_per_study(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN)
        b = storage.create_study("b", MIN)
        assert storage.create_trial(a.id, {}, key="k") == 0
        before = storage.read(a.id)
        assert storage.create_trial(a.id, {"params": {"x": 1}}, key="k") is None
        assert storage.read(a.id) == before
        assert storage.get_study("a").n_trials == 1
        assert storage.create_trial(b.id, {}, key="k") == 0
        assert [storage.create_trial(a.id, {}) for _ in range(2)] == [1, 2]  # no key: no limit
        assert storage.create_trial(a.id, {}, key="k2") == 3

    # -- appending ----------------------------------------------------------------------------
    def test_append_materialises_the_trial(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        n = new_trial(storage, info.id)
        storage.append(info.id, n, [
            params_event(x=0.25), ("report", {"step": 0, "value": 1.5}),
            ("report", {"step": 1, "value": [1.0, 2.0]}),
            ("attrs", {"user": {"u": [1, "a"]}, "system": {"s": True}})])
        running = synced_view(storage, info).get(n)
        assert running.state is TrialState.RUNNING
        assert running.intermediate_values == {0: 1.5, 1: (1.0, 2.0)}
        storage.append(info.id, n, [params_event(y=0.5), finish_event("COMPLETE", 0.5, t=9e8)])
        start = storage.read(info.id)[0].data["t"]
        record = synced_view(storage, info).get(n)
        reported: dict[int, Any] = {0: 1.5, 1: (1.0, 2.0)}
        assert record == TrialRecord(
            number=n, state=TrialState.COMPLETE, params={"x": 0.25, "y": 0.5},
            distributions={"x": X, "y": X}, values=(0.5,),
            intermediate_values=reported, user_attrs={"u": [1, "a"]},
            system_attrs={"s": True}, datetime_start=utc(start), datetime_complete=utc(9e8))

    @pytest.mark.parametrize("state", ["COMPLETE", "PRUNED", "FAIL"])
    def test_finished_trial_is_immutable(self, storage: Storage, state: str) -> None:
        info = storage.create_study("s", MIN)
        n = new_trial(storage, info.id)
        storage.append(info.id, n, [finish_event(state, 1.0)])
        before = storage.read(info.id)
        attempts: list[list[Event]] = [
            [("report", {"step": 0, "value": 1.0})], [finish_event("COMPLETE", 0.0)],
            [("start", {"t": 1.0})], []]
        for events in attempts:
            with pytest.raises(TrialFinishedError, match=f"{n}.*{state}"):
                storage.append(info.id, n, events)
        assert storage.read(info.id) == before
        assert synced_view(storage, info).get(n).state is TrialState(state)

    def test_append_to_unknown_trial(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        storage.create_trial(info.id, {})
        with pytest.raises(KeyError) as caught:
            storage.append(info.id, 7, [("report", {"step": 0, "value": 1.0})])
        assert not isinstance(caught.value, StudyNotFound)
        assert len(storage.read(info.id)) == 1

    def test_start_event_runs_a_waiting_trial(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        n = new_trial(storage, info.id, {"state": "WAITING"})
        storage.append(info.id, n, [("start", {"t": 5.0})])
        record = synced_view(storage, info).get(n)
        assert (record.state, record.datetime_start) == (TrialState.RUNNING, utc(5.0))
        storage.heartbeat(info.id, [n])
        assert storage.fail_stale(info.id, -1.0) == [n]

    def test_append_and_create(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        first = new_trial(storage, info.id)
        second, rows = storage.append_and_create(info.id, first, [
            params_event(x=0.5), finish_event("COMPLETE", 0.5)], after=0, heartbeat=True)
        assert rows == storage.read(info.id)  # everything after id 0, the new start included
        queued = new_trial(storage, info.id, {"state": "WAITING"})
        claimed, rows = storage.append_and_create(info.id, second, [finish_event("PRUNED")],
                                                  after=rows[-1].id)
        assert (first, second, claimed) == (0, 1, queued)  # an enqueued trial goes first
        assert [(row.number, row.kind) for row in rows] == [
            (queued, "create"), (second, "finish"), (queued, "start")]
        view = synced_view(storage, info)
        assert [r.state for r in view.records] == [
            TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING]
        assert view.get(first).params == {"x": 0.5}
        assert [row.kind for row in storage.read(info.id)] == [
            "create", "params", "finish", "create", "create", "finish", "start"]
        assert storage.fail_stale(info.id, -1.0) == []  # beats only when asked to
        fresh, rows = storage.append_and_create(info.id, claimed, [finish_event()],
                                                after=rows[-1].id, heartbeat=True)
        assert storage.fail_stale(info.id, -1.0) == [fresh]
        # Nothing written since ``after`` but this call's own events (a lone worker's step):
        # they come back as a read would return them, ids included.
        running = new_trial(storage, info.id)
        last = storage.read(info.id)[-1].id
        _, rows = storage.append_and_create(info.id, running, [params_event(y=0.25),
                                                               finish_event("COMPLETE", 1.0)],
                                            after=last)
        assert [(row.kind, row.number) for row in rows] == [
            ("params", running), ("finish", running), ("create", running + 1)]
        assert rows == storage.read(info.id, last)

    def test_append_and_create_without_catching_up(self, storage: Storage) -> None:
        """``catch_up=False``: at least this call's own events, in order, each as `read`
        returns it (ids included), and nothing `read` would not return."""
        info = storage.create_study("s", MIN)
        mine = new_trial(storage, info.id)
        theirs = new_trial(storage, info.id)  # another worker's, unseen by ours
        storage.append(info.id, theirs, [finish_event("FAIL")])
        events = [params_event(x=0.5), finish_event("COMPLETE", 0.5)]
        after = storage.read(info.id)[0].id  # ours saw its own creation only
        started, rows = storage.append_and_create(info.id, mine, events, after=after,
                                                  catch_up=False)
        log = storage.read(info.id, after)
        assert all(row in log for row in rows)
        own = [(row.number, row.kind) for row in rows if row.number != theirs]
        assert own == [(mine, "params"), (mine, "finish"), (started, "create")]
        assert [row.id for row in rows] == sorted(row.id for row in rows)

    def test_append_and_create_refused_starts_nothing(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        n = new_trial(storage, info.id)
        storage.append(info.id, n, [finish_event("FAIL")])
        before = storage.read(info.id)
        with pytest.raises(TrialFinishedError):
            storage.append_and_create(info.id, n, [finish_event()], after=0)
        with pytest.raises(TrialNotFound):
            storage.append_and_create(info.id, n + 5, [finish_event()], after=0)
        assert storage.read(info.id) == before
        assert storage.get_study("s").n_trials == 1

    # -- reading ------------------------------------------------------------------------------
    def test_read_after_is_incremental(self, storage: Storage) -> None:
        a = storage.create_study("a", MIN)
        b = storage.create_study("b", MIN)
        storage.create_trial(a.id, {})
        storage.create_trial(b.id, {})
        storage.append(a.id, 0, [("report", {"step": 0, "value": 1.0}),
                                 ("report", {"step": 1, "value": 2.0})])
        rows = storage.read(a.id)
        assert [(r.number, r.kind) for r in rows] == [(0, "create"), (0, "report"), (0, "report")]
        assert [r.id for r in rows] == sorted({r.id for r in rows})
        assert storage.read(a.id, rows[0].id) == rows[1:]
        assert storage.read(a.id, rows[-1].id) == []
        storage.append(a.id, 0, [finish_event("COMPLETE", 1.0)])
        (new,) = storage.read(a.id, rows[-1].id)
        assert new.kind == "finish" and new.id > rows[-1].id
        assert [r.kind for r in storage.read(b.id)] == ["create"]

    def test_read_many_events(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        for n in range(3):
            new_trial(storage, info.id)
            storage.append(info.id, n, [("report", {"step": step, "value": float(n)})
                                        for step in range(200)])
        rows = storage.read(info.id)
        assert len(rows) == 603
        assert [r.id for r in rows] == sorted({r.id for r in rows})
        assert storage.read(info.id, rows[300].id) == rows[301:]
        # In parts: the first ``limit`` events each time, the last part shorter, then none.
        parts, after = [], 0
        while part := storage.read(info.id, after, limit=250):
            parts.append(part)
            after = part[-1].id
        assert [len(p) for p in parts] == [250, 250, 103]
        assert [r for p in parts for r in p] == rows
        assert storage.read(info.id, rows[300].id, limit=1) == rows[301:302]
        view = synced_view(storage, info)
        assert [len(r.intermediate_values) for r in view.records] == [200, 200, 200]

    def test_event_data_round_trips_as_json(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        attrs = {"text": "ünïcødé ✓ \" ' \\ \n", "none": None, "flag": True, "big": 2**62,
                 "nested": {"list": [1, 2.5, [], {}]}}
        storage.create_trial(info.id, {"user_attrs": attrs})
        storage.append(info.id, 0, [("report", {"step": 0, "value": math.nan}),
                                    ("report", {"step": 1, "value": -math.inf})])
        create, nan, inf = storage.read(info.id)
        assert create.data["user_attrs"] == attrs
        assert math.isnan(nan.data["value"]) and inf.data["value"] == -math.inf

    # -- heartbeats -----------------------------------------------------------------------------
    def test_first_heartbeat_can_come_with_the_start(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        silent = new_trial(storage, info.id)
        beating = storage.create_trial(info.id, {}, heartbeat=True)
        queued = storage.create_trial(info.id, {"state": "WAITING"}, heartbeat=True)
        claimed = storage.create_trial(info.id, {}, claim_waiting=True, heartbeat=True)
        assert claimed == queued
        assert storage.fail_stale(info.id, 3600.0) == []
        assert storage.fail_stale(info.id, -1.0) == [beating, claimed]
        assert synced_view(storage, info).get(silent).state is TrialState.RUNNING

    def test_fail_stale(self, storage: Storage) -> None:
        info = storage.create_study("s", MIN)
        beating, silent, done = (new_trial(storage, info.id) for _ in range(3))
        waiting = new_trial(storage, info.id, {"state": "WAITING"})
        late = new_trial(storage, info.id)
        storage.heartbeat(info.id, [late, beating, done, waiting])  # WAITING: ignored
        storage.append(info.id, done, [finish_event("COMPLETE", 1.0)])
        assert storage.fail_stale(info.id, 3600.0) == []
        assert storage.fail_stale(info.id, -1.0) == [beating, late]  # sorted; silent untouched
        view = synced_view(storage, info)
        for number in (beating, late):
            record = view.get(number)
            assert (record.state, record.fail_reason) == (TrialState.FAIL, STALE)
            assert record.datetime_complete is not None
        assert [view.get(n).state for n in (silent, done, waiting)] == [
            TrialState.RUNNING, TrialState.COMPLETE, TrialState.WAITING]
        with pytest.raises(TrialFinishedError):
            storage.append(info.id, beating, [finish_event("COMPLETE", 0.0)])
        assert storage.fail_stale(info.id, -1.0) == []
        # The beat sent while it waited did not count: once claimed it has not beaten yet.
        assert storage.create_trial(info.id, {}, claim_waiting=True) == waiting
        assert storage.fail_stale(info.id, -1.0) == []

    # -- copying ------------------------------------------------------------------------------
    def test_copy_study_round_trip(self, storage: Storage) -> None:
        src = storage.create_study("s", (StudyDirection.MAXIMIZE,), {"owner": "me"})
        for state in ["COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"]:
            n = new_trial(storage, src.id, {"state": "WAITING" if state == "WAITING" else
                                            "RUNNING", "params": {"x": 0.5}})
            events: list[Event] = [params_event(y=0.1), ("report", {"step": 0, "value": 2.0})]
            if state not in ("RUNNING", "WAITING"):
                events.append(finish_event(state, 3.0))
            storage.append(src.id, n, events)
        expected = synced_view(storage, src).records
        other = InMemoryStorage()
        for dst, name in [(other, "s"), (storage, "copy")]:
            copied = copy_study(storage, "s", dst, None if dst is other else name)
            assert (copied.name, copied.directions, copied.user_attrs) == (
                name, src.directions, src.user_attrs)
            assert synced_view(dst, copied).records == expected
        back = copy_study(other, "s", storage, "back")  # into this backend from the reference
        assert synced_view(storage, back).records == expected
        assert storage.get_study("back").n_trials == 5

    def test_close_twice(self, storage: Storage) -> None:
        storage.create_study("s", MIN)
        storage.close()
        storage.close()


# -- model-based check against the reference ----------------------------------------------------
def check_matches_reference(factory: Callable[[], Storage], *, max_examples: int = 60,
                            step_count: int = 50) -> None:
    """Random operations give the same outcomes on ``factory()`` as on `InMemoryStorage`."""
    from hypothesis import HealthCheck, settings
    from hypothesis import strategies as st
    from hypothesis.stateful import (
        Bundle,
        RuleBasedStateMachine,
        initialize,
        invariant,
        multiple,
        rule,
        run_state_machine_as_test,
    )

    names = st.sampled_from(["a", "b", "c"])
    scalars = (st.none() | st.booleans() | st.integers(-10**6, 10**6)
               | st.floats(allow_nan=True) | st.text(max_size=3))
    json_dicts = st.dictionaries(st.text(max_size=2), scalars | st.lists(scalars, max_size=2),
                                 max_size=2)
    values = st.floats(allow_nan=True)
    plain_events = st.one_of(
        st.builds(lambda x: params_event(x=x), st.floats(0.0, 1.0)),
        st.builds(lambda step, v: ("report", {"step": step, "value": v}), st.integers(0, 3),
                  values | st.lists(values, min_size=2, max_size=2)),
        st.builds(lambda u, s: ("attrs", {"user": u, "system": s}), json_dicts, json_dicts),
        st.just(("start", {"t": 1.0})))
    finishes = st.builds(finish_event, st.sampled_from(["COMPLETE", "PRUNED", "FAIL"]), values)
    batches = st.builds(lambda evs, fin: evs + fin, st.lists(plain_events, max_size=3),
                        st.lists(finishes, max_size=1))  # a finish comes last, if at all

    class Model(RuleBasedStateMachine):
        handles = Bundle("handles")  # (reference id, candidate id) of every study ever created

        def __init__(self) -> None:
            super().__init__()
            self.ref: Storage = InMemoryStorage()
            self.cand = factory()
            self.views: dict[int, TrialView] = {}  # incremental views of the candidate

        def teardown(self) -> None:
            self.cand.close()

        def both(self, call: Callable[[Storage, int], Any]) -> Any:
            """Run ``call(storage, index)`` on both; same result or same exception type."""
            outcomes = []
            for index, storage in enumerate((self.ref, self.cand)):
                try:
                    outcomes.append(("ok", call(storage, index)))
                except Exception as exc:  # compared below
                    outcomes.append(("raised", type(exc)))
            assert outcomes[0] == outcomes[1], outcomes
            return outcomes[0]

        def n_trials(self, ids: tuple[int, int]) -> int:
            return next((s.n_trials for s in self.ref.studies() if s.id == ids[0]), 0)

        def create(self, name: str, maximize: bool = False,
                   attrs: dict[str, Any] | None = None) -> Any:
            dirs = (StudyDirection.MAXIMIZE if maximize else StudyDirection.MINIMIZE,)
            ids: list[int] = []

            def create(storage: Storage, _: int) -> tuple[Any, ...]:
                info = storage.create_study(name, dirs, attrs)
                ids.append(info.id)
                return _study_key(info)

            status, _ = self.both(create)
            return tuple(ids) if status == "ok" else multiple()

        @initialize(target=handles)
        def first_study(self) -> Any:
            return self.create("a")

        # One rule for all study operations, so that most steps work on trials.
        @rule(target=handles, op=st.sampled_from(["create", "rename", "delete"]), name=names,
              new_name=names, maximize=st.booleans(), attrs=json_dicts)
        def study_op(self, op: str, name: str, new_name: str, maximize: bool,
                     attrs: dict[str, Any]) -> Any:
            if op == "create":
                return self.create(name, maximize, attrs)
            if op == "rename":
                self.both(lambda s, _: s.rename_study(name, new_name))
            else:
                self.both(lambda s, _: s.delete_study(name))
            return multiple()

        @rule(ids=handles, waiting=st.booleans(), key=st.sampled_from([None, "k1", "k2"]),
              claim=st.booleans(), x=st.floats(0.0, 1.0))
        def create_trial(self, ids: tuple[int, int], waiting: bool, key: str | None,
                         claim: bool, x: float) -> None:
            data = {"state": "WAITING" if waiting else "RUNNING", "params": {"x": x}}
            self.both(lambda s, i: s.create_trial(ids[i], data, key=key, claim_waiting=claim))

        @rule(ids=handles, events=batches, data=st.data())
        def append(self, ids: tuple[int, int], events: list[Event], data: st.DataObject
                   ) -> None:
            number = data.draw(st.integers(0, self.n_trials(ids)))  # the last one is unknown
            self.both(lambda s, i: s.append(ids[i], number, events))

        @rule(ids=handles, events=batches, beat=st.booleans(), data=st.data())
        def append_and_create(self, ids: tuple[int, int], events: list[Event], beat: bool,
                              data: st.DataObject) -> None:
            number = data.draw(st.integers(0, self.n_trials(ids)))
            seen = data.draw(st.integers(0, 3))  # how many of the study's events were read

            def step(s: Storage, i: int) -> tuple[int, list[tuple[int, str, str]]]:
                # Ids differ between backends (SQLite reuses those of deleted studies'
                # events), so ``after`` is the id of the same event in each.
                known = s.read(ids[i])[:seen]
                after = known[-1].id if known else 0
                started, rows = s.append_and_create(ids[i], number, events, after=after,
                                                    heartbeat=beat)
                return started, canonical_events(rows)

            self.both(step)

        @rule(ids=handles, data=st.data())
        def heartbeat(self, ids: tuple[int, int], data: st.DataObject) -> None:
            n = self.n_trials(ids)
            numbers = data.draw(st.lists(st.integers(0, n - 1), max_size=3)) if n else []
            self.both(lambda s, i: s.heartbeat(ids[i], numbers))

        @rule(ids=handles, grace=st.sampled_from([-1.0, 1e9]))
        def fail_stale(self, ids: tuple[int, int], grace: float) -> None:
            self.both(lambda s, i: s.fail_stale(ids[i], grace))

        @invariant()
        def same_studies_events_and_trials(self) -> None:
            # By name: memory.py moves a renamed study to the end (a gap the suite documents).
            ref_infos, cand_infos = (sorted(storage.studies(), key=lambda s: s.name)
                                     for storage in (self.ref, self.cand))
            assert [_study_key(s) for s in ref_infos] == [_study_key(s) for s in cand_infos]
            for ref_info, cand_info in zip(ref_infos, cand_infos, strict=True):
                assert canonical_events(self.ref.read(ref_info.id)) == canonical_events(
                    self.cand.read(cand_info.id))
                expected = [canonical_record(r) for r in synced_view(self.ref, ref_info).records]
                fresh = synced_view(self.cand, cand_info).records
                assert [canonical_record(r) for r in fresh] == expected
                view = self.views.setdefault(
                    cand_info.id, TrialView(self.cand, cand_info.id, cand_info.directions))
                view.sync()
                assert view.records == fresh

    run_state_machine_as_test(Model, settings=settings(
        max_examples=max_examples, stateful_step_count=step_count, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


# -- several processes on one database ----------------------------------------------------------
def _full_trials(storage: Storage, study: str, n_trials: int, start: MPEvent,
                 out: multiprocessing.Queue[list[int]]) -> None:
    """Worker: ``n_trials`` trials (claim or create, then params + report + finish, half of
    them through `Storage.append_and_create`), their numbers to ``out``."""
    info = storage.get_study(study)
    start.wait()
    numbers = []
    n = new_trial(storage, info.id, claim_waiting=True)
    for i in range(n_trials):
        numbers.append(n)
        events = [params_event(x=n / 1000), ("report", {"step": 0, "value": n}),
                  finish_event("COMPLETE", float(n))]
        if i % 2 and i < n_trials - 1:  # every other trial ends in one write with the next start
            n, _ = storage.append_and_create(info.id, n, events, after=0)
            continue
        storage.append(info.id, n, events)
        if i < n_trials - 1:
            n = new_trial(storage, info.id, claim_waiting=True)
    out.put(numbers)


def check_concurrent_workers(storage: Storage, *, n_workers: int = 4, n_trials: int = 60,
                             n_waiting: int = 40, timeout: float = 120.0) -> None:
    """Spawned workers share one study, claiming ``n_waiting`` enqueued trials first, while
    this process keeps syncing a view of it: every trial is claimed or created exactly once,
    numbers are gap-free, no event is lost, the incremental view misses nothing."""
    ctx = multiprocessing.get_context("spawn")
    info = storage.create_study("concurrent", MIN)
    for _ in range(n_waiting):
        new_trial(storage, info.id, {"state": "WAITING"})
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_full_trials, args=(storage, info.name, n_trials, start, out))
             for _ in range(n_workers)]
    for p in procs:
        p.start()
    view = TrialView(storage, info.id, info.directions)
    start.set()
    returned: list[list[int]] = []
    deadline = time.monotonic() + timeout
    while len(returned) < n_workers:  # read while they write
        view.sync()
        try:
            returned.append(out.get(timeout=0.02))
        except queue.Empty:
            failed = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            assert not failed and time.monotonic() < deadline, f"workers failed: {failed}"
    for p in procs:
        p.join(timeout)
        assert p.exitcode == 0
    total = n_workers * n_trials
    assert sorted(n for numbers in returned for n in numbers) == list(range(total))
    assert storage.get_study(info.name).n_trials == total
    view.sync()
    records = synced_view(storage, info).records
    assert view.records == records, "a reader that syncs incrementally missed events"
    assert [r.number for r in records] == list(range(total))
    for r in records:
        assert (r.state, r.values, r.params) == (TrialState.COMPLETE, (r.number,),
                                                 {"x": r.number / 1000})
        assert r.intermediate_values == {0: r.number}
    assert len(storage.read(info.id)) == 4 * total + n_waiting  # and a start per claim


def _trials_until_killed(storage: Storage, study: str, done: Connection) -> None:
    """Worker: trials in two appends each, forever, sending each number once finished."""
    info = storage.get_study(study)
    while True:
        n = new_trial(storage, info.id)
        storage.append(info.id, n, [params_event(x=0.5), ("report", {"step": 0, "value": 1.0})])
        storage.append(info.id, n, [finish_event("COMPLETE", float(n))])
        done.send(n)


def check_crash_consistency(storage: Storage, *, kill_after: int = 20,
                            timeout: float = 60.0) -> Storage:
    """SIGKILL a spawned worker in the middle of its loop; the database reopens (the reopened
    storage is returned) and every trial whose finish committed is intact."""
    ctx = multiprocessing.get_context("spawn")
    info = storage.create_study("crash", MIN)
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_trials_until_killed, args=(storage, info.name, sender))
    proc.start()
    sender.close()
    finished = []
    for _ in range(kill_after):
        assert receiver.poll(timeout), "the worker sent nothing"
        finished.append(receiver.recv())
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout)
    assert proc.exitcode == -signal.SIGKILL
    reopened: Storage = pickle.loads(pickle.dumps(storage))
    records = synced_view(reopened, reopened.get_study(info.name)).records
    assert [r.number for r in records] == list(range(len(records)))
    assert finished == list(range(kill_after))
    for r in records:
        if r.state is TrialState.COMPLETE:
            assert (r.values, r.params, r.intermediate_values) == ((r.number,), {"x": 0.5}, {0: 1})
        else:  # only the trial in flight may be unfinished
            assert (r.state, r.number) == (TrialState.RUNNING, records[-1].number)
    assert all(records[n].state is TrialState.COMPLETE for n in finished)
    return reopened


def _create_study(storage: Storage, name: str, start: MPEvent,
                  out: multiprocessing.Queue[str]) -> None:
    start.wait()
    try:
        storage.create_study(name, MIN)
        out.put("created")
    except DuplicatedStudy:
        out.put("duplicated")


def check_create_study_race(storage: Storage, *, n_workers: int = 3,
                            timeout: float = 60.0) -> None:
    """Spawned processes create the same study at once: one succeeds, the others are told."""
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_create_study, args=(storage, "race", start, out))
             for _ in range(n_workers)]
    for p in procs:
        p.start()
    start.set()
    results = sorted(out.get(timeout=timeout) for _ in procs)
    for p in procs:
        p.join(timeout)
    assert results == ["created"] + ["duplicated"] * (n_workers - 1)
    assert [s.name for s in storage.studies()] == ["race"]
