"""TrialView: replaying the event log into records, and applying a worker's own events."""

from __future__ import annotations

import json

import pytest

from hyperdial.history import StudyDirection
from hyperdial.storage import InMemoryStorage
from hyperdial.storage.base import EventRow, TrialView
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


def test_own_events_give_the_record_a_reader_builds() -> None:
    """`apply_own` skips the read-back; the record must still equal what any other worker
    materialises from the storage (user attributes normalised as JSON would)."""
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
    assert mine.apply_own(number, events)
    theirs = TrialView(storage, info.id, info.directions)
    theirs.sync()
    assert mine.get(number) == theirs.get(number)
    assert mine.get(number).state is TrialState.COMPLETE
    assert mine.get(number).user_attrs == {"fold": [1, 2], "7": "int key"}
    mine.sync()  # reads the same events back and ignores them
    assert mine.get(number) == theirs.get(number)
