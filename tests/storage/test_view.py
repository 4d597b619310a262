"""TrialView: replaying the event log into records, and applying a worker's own events."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperdial.history import StudyDirection
from hyperdial.space import distribution_from_dict
from hyperdial.storage import InMemoryStorage
from hyperdial.storage.base import EventRow, TrialView, encode_json
from hyperdial.trial import TrialState

DISTS = {"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
         "act": {"type": "categorical", "choices": [None, True, "relu"]}}


def test_event_row_decodes_its_text_on_first_access() -> None:
    row = EventRow(3, 1, "finish", text='{"t": 1.0, "state": "COMPLETE", "values": [0.5]}')
    assert row.data["state"] == "COMPLETE"
    assert row.data is row.data  # decoded once
    assert row == EventRow(3, 1, "finish", {"t": 1.0, "state": "COMPLETE", "values": [0.5]})
    with pytest.raises(TypeError, match="exactly one"):
        EventRow(1, 0, "create")
    for damaged in ('{"t": 1.0} and more', "", "{"):
        with pytest.raises(json.JSONDecodeError):
            _ = EventRow(4, 1, "finish", text=damaged).data


def test_events_of_a_finished_trial_are_never_decoded() -> None:
    """After its finish, a trial's events are skipped unread: a worker reading back what it
    has just written (or a replay) pays nothing for them."""
    view = TrialView(InMemoryStorage(), 1, (StudyDirection.MINIMIZE,))
    view.apply([EventRow(1, 0, "create", {"t": 0.0, "state": "RUNNING"}),
                EventRow(2, 0, "finish", {"t": 1.0, "state": "COMPLETE", "values": [0.5]})])
    before = view.get(0)
    view.apply([EventRow(3, 0, "params", text="this is not JSON"),
                EventRow(4, 0, "finish", text="{broken")])
    assert view.get(0) == before
    assert view.last_event_id == 4


def test_rows_another_thread_applied_meanwhile_are_skipped() -> None:
    """Rows read by one thread may reach the view after another thread synced past them:
    applying them again must change nothing (a second ``create`` would reopen the trial)."""
    rows = [EventRow(1, 0, "create", {"t": 0.0, "state": "RUNNING"}),
            EventRow(2, 0, "finish", {"t": 1.0, "state": "COMPLETE", "values": [0.5]}),
            EventRow(3, 1, "create", {"t": 2.0, "state": "RUNNING"})]
    view = TrialView(InMemoryStorage(), 1, (StudyDirection.MINIMIZE,))
    view.apply(rows)
    before = view.records
    view.apply(rows[:1])  # a late catch-up that overlaps what was applied
    assert view.records == before
    view.apply(rows[1:])
    assert view.records == before
    assert view.get(0).state is TrialState.COMPLETE
    view.apply([*rows, EventRow(4, 1, "finish", {"t": 3.0, "state": "FAIL"})])
    assert [r.state for r in view.records] == [TrialState.COMPLETE, TrialState.FAIL]
    assert view.last_event_id == 4


@pytest.mark.parametrize("live_distributions", [False, True])
def test_own_events_give_the_record_a_reader_builds(live_distributions: bool) -> None:
    """`apply_own` skips the read-back; the record must still equal what any other worker
    materialises from the storage (user attributes normalised as JSON would), also when it
    takes the live trial's distribution objects instead of rebuilding them."""
    storage = InMemoryStorage()
    info = storage.create_study("s", (StudyDirection.MINIMIZE,))
    mine = TrialView(storage, info.id, info.directions)
    number = storage.create_trial(info.id, {})
    assert number is not None
    mine.sync()
    events = [("params", {"params": {"lr": 0.01, "act": None}, "dists": DISTS}),
              ("attrs", {"user": {"fold": (1, 2), 7: "int key"}}),
              ("finish", {"t": 2.0, "state": "COMPLETE", "values": [0.25]})]
    storage.append(info.id, number, events)
    live = {k: distribution_from_dict(v) for k, v in DISTS.items()}
    assert mine.apply_own(number, events, live if live_distributions else None)
    theirs = TrialView(storage, info.id, info.directions)
    theirs.sync()
    assert mine.get(number) == theirs.get(number)
    assert mine.get(number).state is TrialState.COMPLETE
    assert mine.get(number).user_attrs == {"fold": [1, 2], "7": "int key"}
    mine.sync()  # reads the same events back and ignores them
    assert mine.get(number) == theirs.get(number)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 700), st.booleans()), min_size=1, max_size=120))
def test_snapshots_are_immutable_and_match_the_records(ops: list[tuple[int, bool]]) -> None:
    """Trials created out of order (holes) and finished in any order, across several chunks:
    every snapshot keeps what it held when taken, and equals the records in number order."""
    from hyperdial.storage.base import _CHUNK

    view = TrialView(InMemoryStorage(), 1, (StudyDirection.MINIMIZE,))
    created: dict[int, TrialState] = {}
    taken: list[tuple[object, tuple[tuple[int, TrialState], ...]]] = []
    for event_id, (number, finish) in enumerate(ops, start=1):
        if number not in created:
            view.apply([EventRow(event_id, number, "create", {"t": 0.0, "state": "RUNNING"})])
            created[number] = TrialState.RUNNING
        elif finish and created[number] is TrialState.RUNNING:
            view.apply([EventRow(event_id, number, "finish",
                                 {"t": 1.0, "state": "COMPLETE", "values": [float(number)]})])
            created[number] = TrialState.COMPLETE
        expected = tuple(sorted(created.items()))
        snapshot = view.records
        assert [(r.number, r.state) for r in snapshot] == list(expected)
        assert len(snapshot) == len(expected)
        assert [snapshot[i].number for i in range(-len(expected), len(expected))] == \
            [n for n, _ in expected] * 2
        assert [r.number for r in reversed(snapshot)] == [n for n, _ in reversed(expected)]
        assert snapshot[1:3] == tuple(snapshot)[1:3]
        assert snapshot == tuple(snapshot) and tuple(snapshot) == snapshot
        taken.append((snapshot, expected))
    for snapshot, expected in taken:
        assert [(r.number, r.state) for r in snapshot] == list(expected)  # type: ignore[attr-defined]
    with pytest.raises(IndexError):
        _ = view.records[len(created)]
    with pytest.raises(TypeError, match="integer"):
        _ = view.records["0"]  # type: ignore[call-overload]
    assert max(created) < 701 and _CHUNK < 701  # the cases span more than one chunk


@settings(max_examples=60, deadline=None)
@given(direction=st.sampled_from(list(StudyDirection)),
       ends=st.lists(st.tuples(st.sampled_from(["COMPLETE", "PRUNED", "FAIL"]),
                               st.sampled_from([-1.0, 0.0, 0.5, 2.0])), max_size=12),
       order=st.randoms(use_true_random=False), batch=st.integers(1, 4))
def test_the_best_and_the_completed_kept_as_trials_end_are_what_a_full_pass_finds(
        direction: StudyDirection, ends: list[tuple[str, float]], order: object,
        batch: int) -> None:
    """Trials end in any order, in batches of events; ties go to the lowest number."""
    view = TrialView(InMemoryStorage(), 1, (direction,))
    rows = [EventRow(n + 1, n, "create", {"t": 0.0, "state": "RUNNING"})
            for n in range(len(ends))]
    finishes = [EventRow(0, n, "finish", {"t": 1.0, "state": state}
                         | ({"values": [value]} if state == "COMPLETE" else {}))
                for n, (state, value) in enumerate(ends)]
    order.shuffle(finishes)  # type: ignore[attr-defined]
    rows += [EventRow(len(ends) + 1 + i, r.number, r.kind, r.data)
             for i, r in enumerate(finishes)]
    for start in range(0, len(rows), batch):
        view.apply(rows[start:start + batch])
        assert view.best == view.history().best()
        # the completed trials, joined from the view's per-chunk lists, as one pass finds them
        assert view.history().completed == tuple(
            t for t in view.records if t.state is TrialState.COMPLETE)


def test_completed_across_chunks_whatever_order_trials_end_in() -> None:
    rng = random.Random(5)
    n = 700  # three chunks of 256
    view = TrialView(InMemoryStorage(), 1, (StudyDirection.MINIMIZE,))
    view.apply([EventRow(k + 1, k, "create", {"t": 0.0, "state": "RUNNING"}) for k in range(n)])
    ends = list(range(n))
    rng.shuffle(ends)
    for i in range(0, n, 50):
        view.apply([EventRow(n + 1 + i + j, k, "finish",
                             {"t": 1.0, "state": "COMPLETE", "values": [k / n]} if k % 3
                             else {"t": 1.0, "state": "PRUNED"})
                    for j, k in enumerate(ends[i:i + 50])])
        done = view.history().completed
        assert done == tuple(t for t in view.records if t.state is TrialState.COMPLETE)
        assert [t.number for t in done] == sorted(k for k in ends[:i + 50] if k % 3)


@pytest.mark.parametrize("backend", ["memory", "sqlite", "journal"])
@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.sampled_from(["mine", "theirs", "theirs ends", "queued", "other study",
                                     "sync"]), max_size=40))
def test_a_worker_that_skips_the_others_trials_catches_up_whole(
        backend: str, ops: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    """A worker stepping with ``catch_up=False`` applies only its own writes (`apply_ahead`),
    while another worker starts and ends trials, queues some that ours then claims, and
    another study writes between (gaps in the ids). Its own trials are always right, the
    others are absent until a sync, and after one its records are exactly a fresh reader's."""
    from hyperdial.storage import get_storage
    from hyperdial.testing.storage import finish_event, new_trial, params_event

    storage = (InMemoryStorage() if backend == "memory" else
               get_storage(f"{backend}:///{tmp_path_factory.mktemp('view') / 'v.db'}"))
    info = storage.create_study("s", (StudyDirection.MINIMIZE,))
    other = storage.create_study("other", (StudyDirection.MINIMIZE,))

    def fresh() -> TrialView:
        view = TrialView(storage, info.id, info.directions)
        view.sync()
        return view

    mine = TrialView(storage, info.id, info.directions)
    current = new_trial(storage, info.id)
    mine.sync()
    running: list[int] = []  # the other worker's
    for step, op in enumerate([*ops, "mine"]):
        if op == "mine":
            events = [params_event(x=step / 100), finish_event("COMPLETE", float(step))]
            ended = current
            current, rows = storage.append_and_create(
                info.id, ended, events, after=mine.last_event_id, catch_up=False)
            assert mine.apply_own(ended, events)
            mine.apply_ahead(rows)  # a queued trial, created by the other worker: it syncs
            assert mine.get(current).state is TrialState.RUNNING
        elif op in ("theirs", "queued"):
            theirs = new_trial(storage, info.id, {"state": "WAITING"} if op == "queued" else {})
            if op == "theirs":
                storage.append(info.id, theirs, [params_event(x=0.5)])
                running.append(theirs)
        elif op == "theirs ends" and running:
            storage.append(info.id, running.pop(0), [finish_event("FAIL")])
        elif op == "other study":
            storage.create_trial(other.id, {})
        elif op == "sync":
            mine.sync()
            assert tuple(mine.records) == tuple(fresh().records)
        reader = fresh()
        known = {r.number for r in mine.records}
        assert known <= {r.number for r in reader.records}
        for number in known:
            if mine.get(number).state.is_finished():
                assert mine.get(number) == reader.get(number)
    mine.sync()
    assert tuple(mine.records) == tuple(fresh().records)
    storage.close()


def test_a_worker_running_ahead_catches_up_before_it_holds_too_much(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The ids taken past unread events are bounded: past the limit the view reads the log."""
    import hyperdial.storage.base as base
    from hyperdial.testing.storage import finish_event, new_trial

    monkeypatch.setattr(base, "_MAX_AHEAD", 6)
    storage = InMemoryStorage()
    info = storage.create_study("s", (StudyDirection.MINIMIZE,))
    mine = TrialView(storage, info.id, info.directions)
    current = new_trial(storage, info.id)
    mine.sync()
    sizes = []
    for _ in range(20):
        theirs = new_trial(storage, info.id)  # leaves a gap before each of our writes
        storage.append(info.id, theirs, [finish_event("FAIL")])
        ended = current
        current, rows = storage.append_and_create(info.id, ended, [finish_event("COMPLETE", 1.0)],
                                                  after=mine.last_event_id, catch_up=False)
        mine.apply_own(ended, [finish_event("COMPLETE", 1.0)])
        # only our own rows, as a SQLite file would return them
        mine.apply_ahead([row for row in rows if row.number in (ended, current)])
        sizes.append(len(mine._ahead))
    assert max(sizes) <= 6 and min(sizes) == 0  # it caught up, more than once
    assert len(mine.records) > 20  # the other worker's trials came in with the catch-ups
    mine.sync()
    fresh = TrialView(storage, info.id, info.directions)
    fresh.sync()
    assert tuple(mine.records) == tuple(fresh.records)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text() | st.integers() | st.floats(allow_nan=False), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_event_json_is_exactly_what_json_dumps_writes(value: object) -> None:
    """The storages' encoder (its C encoder made once) writes what the standard one does."""
    assert encode_json(value) == json.dumps(value, allow_nan=True, separators=(",", ":"))


def test_event_json_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode_json({"x": object()})


def test_a_sync_in_parts_builds_what_one_read_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """`sync` reads a long log a part at a time (a trial's events may straddle two parts)."""
    from hyperdial.storage import base

    storage = InMemoryStorage()
    info = storage.create_study("s", (StudyDirection.MINIMIZE,))
    for n in range(12):
        storage.create_trial(info.id, {})
        storage.append(info.id, n, [("report", {"step": 0, "value": float(n)}),
                                    ("params", {"params": {"lr": 0.01}, "dists": DISTS}),
                                    ("finish", {"t": 1.0, "state": "COMPLETE",
                                                "values": [float(n)]})])
    whole = TrialView(storage, info.id, info.directions)
    whole.apply(storage.read(info.id))
    reads: list[int] = []
    read = storage.read
    monkeypatch.setattr(storage, "read", lambda *a, **k: reads.append(1) or read(*a, **k))
    monkeypatch.setattr(base, "_SYNC_PART", 7)
    parts = TrialView(storage, info.id, info.directions)
    parts.sync()
    assert len(reads) == 7  # 48 events: six parts of 7 and one of 6
    assert parts.records == whole.records and parts.last_event_id == whole.last_event_id


def test_copying_a_study_reads_it_in_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    from hyperdial.storage import base

    monkeypatch.setattr(base, "_SYNC_PART", 5)
    src = InMemoryStorage()
    info = src.create_study("s", (StudyDirection.MINIMIZE,))
    for n in range(9):  # 27 events: parts of 5 cut trials apart
        src.create_trial(info.id, {})
        src.append(info.id, n, [("params", {"params": {"lr": 0.01 * (n + 1)}, "dists": DISTS}),
                                ("finish", {"t": 1.0, "state": "COMPLETE", "values": [n]})])
    src.create_trial(info.id, {})  # one still running
    dst = InMemoryStorage()
    copied = base.copy_study(src, "s", dst, "c")
    mine, theirs = (TrialView(s, i.id, i.directions) for s, i in ((src, info), (dst, copied)))
    mine.sync()
    theirs.sync()
    assert [(r.number, r.state, dict(r.params), r.values) for r in theirs.records] == \
        [(r.number, r.state, dict(r.params), r.values) for r in mine.records]
    assert len(theirs.records) == 10


def test_a_running_trials_record_is_built_when_read_and_opening_reads_copies() -> None:
    """A running trial's record is built when read, not at each event: what `get`,
    `records` and `opening` give must still follow every event applied so far."""
    view = TrialView(InMemoryStorage(), 1, (StudyDirection.MINIMIZE,))
    view.apply([EventRow(1, 0, "create", {"t": 5.0, "state": "RUNNING", "params": {"a": 1}})])
    opened = view.opening(0)
    assert (opened.params, opened.user_attrs) == ({"a": 1}, {})
    assert opened.datetime_start is not None and opened.datetime_start.timestamp() == 5.0
    opened.params["a"] = 99  # a copy: the view keeps its own
    view.apply([EventRow(2, 0, "attrs", {"user": {"note": "x"}})])
    assert view.get(0).user_attrs == {"note": "x"} and view.get(0).params == {"a": 1}
    view.apply([EventRow(3, 0, "attrs", {"user": {"note": "y"}}),
                EventRow(4, 1, "create", {"t": 6.0, "state": "RUNNING"})])
    assert [r.user_attrs.get("note") for r in view.records] == ["y", None]
    assert view.knows(1) and not view.knows(2)
    view.apply([EventRow(5, 0, "finish", {"t": 7.0, "state": "COMPLETE", "values": [0.5]})])
    assert view.opening(0).params == view.get(0).params == {}  # from its record: only
    # what it was asked for (no distribution came for "a")
    assert view.get(0).state is TrialState.COMPLETE and view.best is view.get(0)
