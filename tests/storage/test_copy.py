"""`copy_study`: all or nothing under the new name, written in parts, and a trial still
RUNNING in the source one that goes stale in the copy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import hyperdial as hd
from hyperdial.exceptions import DuplicatedStudy, StudyNotFound, TrialFinishedError
from hyperdial.history import StudyDirection
from hyperdial.storage import InMemoryStorage, Storage, base, copy_study
from hyperdial.storage.base import TrialView

MIN = (StudyDirection.MINIMIZE,)
DISTS = {"lr": {"type": "float", "low": 0.001, "high": 1.0, "log": True}}


def _source(n_finished: int = 9) -> InMemoryStorage:
    """Study "s": ``n_finished`` COMPLETE trials, then one still RUNNING."""
    src = InMemoryStorage()
    info = src.create_study("s", MIN, {"owner": "me"})
    for n in range(n_finished):
        src.create_trial(info.id, {})
        src.append(info.id, n, [("params", {"params": {"lr": 0.01 * (n + 1)}, "dists": DISTS}),
                                ("finish", {"t": 1.0, "state": "COMPLETE", "values": [n]})])
    src.create_trial(info.id, {})
    return src


def _trials(storage: Storage, name: str) -> list[tuple[Any, ...]]:
    info = storage.get_study(name)
    view = TrialView(storage, info.id, info.directions)
    view.sync()
    return [(r.number, r.state, dict(r.params), r.values) for r in view.records]


def test_a_copy_in_parts_is_whole(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_COPY_PART", 4)
    src = _source()
    copied = copy_study(src, "s", storage, "c")
    assert copied.name == "c" and copied.n_trials == 10 and copied.user_attrs == {"owner": "me"}
    assert [s.name for s in storage.studies()] == ["c"]  # the temporary name is gone
    assert _trials(storage, "c") == _trials(src, "s")


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_an_interrupted_copy_leaves_nothing_and_can_be_run_again(
        storage: Storage, monkeypatch: pytest.MonkeyPatch, error: type[BaseException]) -> None:
    monkeypatch.setattr(base, "_COPY_PART", 4)
    src = _source()
    write = storage.copy_part
    calls: list[int] = []

    def interrupted(*args: Any) -> list[int | None]:
        calls.append(1)
        if len(calls) == 2:  # the first part landed
            raise error("Ctrl-C")
        return write(*args)

    monkeypatch.setattr(storage, "copy_part", interrupted)
    with pytest.raises(error):
        copy_study(src, "s", storage)
    assert storage.studies() == []
    monkeypatch.setattr(storage, "copy_part", write)
    copy_study(src, "s", storage)
    assert _trials(storage, "s") == _trials(src, "s")


def test_a_taken_name_is_refused_before_anything_is_written(storage: Storage) -> None:
    storage.create_study("c", MIN)
    with pytest.raises(DuplicatedStudy, match="'c'"):
        copy_study(_source(), "s", storage, "c")
    assert [s.name for s in storage.studies()] == ["c"]


def test_a_running_trial_goes_stale_in_the_copy(storage: Storage) -> None:
    copied = copy_study(_source(), "s", storage, "c")
    time.sleep(0.05)
    # It has no worker there: once the grace period passes, it is failed (nothing else is).
    assert storage.fail_stale(copied.id, 0.01) == [9]


@pytest.mark.parametrize("storage", ["sqlite-file", "journal", pytest.param(
    "postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_part_is_one_transaction(storage: Storage) -> None:
    """A copy of many trials waits on commits, one per part instead of two per trial; a part
    that fails halfway leaves none of it."""
    dst = storage
    info = dst.create_study("c", MIN)
    finish = ("finish", {"t": 1.0, "state": "COMPLETE", "values": [0.0]})
    with pytest.raises(TrialFinishedError):
        dst.copy_part(info.id, [(0, {"t": 1.0, "state": "RUNNING"}, [finish]),
                                (1, {"t": 1.0, "state": "RUNNING"}, [finish]),
                                (1, None, [finish])])  # trial 1 again: refused
    assert dst.read(info.id) == []
    assert dst.copy_part(info.id, [(0, {"t": 1.0, "state": "RUNNING"}, [finish]),
                                   (1, {"t": 1.0, "state": "WAITING"}, [])]) == [0, 1]


@pytest.mark.parametrize("bad", [{"from_study_name": "nope"}, {"to_study_name": ""}])
def test_a_refused_copy_creates_no_target_file(tmp_path: Path, bad: dict[str, str]) -> None:
    """A missing source, or a bad new name, left a new, initialised database behind at the
    target's URL; the CLI's copy created none."""
    source = f"sqlite:///{tmp_path / 'src.db'}"
    hd.create_study(study_name="s", storage=source)
    target = tmp_path / "new.db"
    with pytest.raises((StudyNotFound, ValueError)):
        hd.copy_study(**{"from_study_name": "s", "from_storage": source,
                         "to_storage": f"sqlite:///{target}", **bad})
    assert not any(p.name.startswith("new.db") for p in tmp_path.iterdir())


def test_a_mistyped_source_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StudyNotFound, match="which does not exist"):
        hd.copy_study(from_study_name="s", from_storage=f"sqlite:///{tmp_path / 'typo.db'}",
                      to_storage=f"sqlite:///{tmp_path / 'new.db'}")
    assert list(tmp_path.iterdir()) == []
