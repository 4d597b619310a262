"""The journal file: the contract under several processes, crashes, torn and foreign files."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

import hyperdial as hd
from hyperdial.exceptions import NotAHyperdialStorage, SchemaVersionError, StorageError
from hyperdial.history import StudyDirection
from hyperdial.storage import JournalFileStorage, get_storage
from hyperdial.testing.storage import (
    check_concurrent_workers,
    check_crash_consistency,
    check_create_study_race,
    check_matches_reference,
    finish_event,
    new_trial,
    params_event,
    synced_view,
)
from hyperdial.trial import TrialState

MIN = [StudyDirection.MINIMIZE]


def test_random_operations_match_the_in_memory_reference(tmp_path: Path) -> None:
    files = itertools.count()
    check_matches_reference(lambda: JournalFileStorage(tmp_path / f"{next(files)}.jsonl"))


def test_four_worker_processes_number_every_trial_once(tmp_path: Path) -> None:
    check_concurrent_workers(JournalFileStorage(tmp_path / "shared.jsonl"), n_workers=4,
                             n_trials=60)


def test_a_worker_killed_mid_loop_loses_no_finished_trial(tmp_path: Path) -> None:
    check_crash_consistency(JournalFileStorage(tmp_path / "crash.jsonl")).close()


def test_processes_racing_to_create_a_study(tmp_path: Path) -> None:
    check_create_study_race(JournalFileStorage(tmp_path / "race.jsonl"))


def test_threads_on_two_instances_of_one_file_share_it(tmp_path: Path) -> None:
    path = tmp_path / "threads.jsonl"
    first, second = JournalFileStorage(path), JournalFileStorage(path)
    info = first.create_study("s", MIN)

    def work(storage: JournalFileStorage) -> None:
        for _ in range(50):
            n = new_trial(storage, info.id)
            storage.append(info.id, n, [params_event(x=0.5), finish_event("COMPLETE", 1.0)])

    threads = [threading.Thread(target=work, args=(s,)) for s in (first, second, first)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for storage in (first, second, JournalFileStorage(path)):
        records = synced_view(storage, storage.get_study("s")).records
        assert [r.number for r in records] == list(range(150))
        assert all(r.state is TrialState.COMPLETE for r in records)


def test_a_torn_last_line_is_never_read_and_the_next_writer_cuts_it(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    storage = JournalFileStorage(path)
    info = storage.create_study("s", MIN)
    n = new_trial(storage, info.id)
    whole = path.read_bytes()
    with path.open("ab") as f:  # a writer killed halfway through its line
        f.write(b'{"t": 1.0, "op": "append", "args": {"study_id": 1, "num')
    reader = JournalFileStorage(path)
    assert len(reader.read(info.id)) == 1  # the creation only
    storage.append(info.id, n, [finish_event("COMPLETE", 2.0)])
    assert path.read_bytes().startswith(whole)
    assert all(json.loads(line) for line in path.read_bytes().splitlines())
    assert [r.kind for r in reader.read(info.id)] == ["create", "finish"]


def test_a_refused_write_leaves_no_line(tmp_path: Path) -> None:
    path = tmp_path / "refused.jsonl"
    storage = JournalFileStorage(path)
    info = storage.create_study("s", MIN)
    n = new_trial(storage, info.id)
    storage.append(info.id, n, [finish_event("COMPLETE", 1.0)])
    before = path.read_bytes()
    with pytest.raises(hd.exceptions.TrialFinishedError):
        storage.append(info.id, n, [finish_event("COMPLETE", 2.0)])
    with pytest.raises(hd.exceptions.DuplicatedStudy):
        storage.create_study("s", MIN)
    with pytest.raises(TypeError):
        storage.append(info.id, n, [("attrs", {"user": {"x": object()}})])
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + bytes(200), b"just text\n",
                                     b'{"format": "something else", "version": 1}\n'])
def test_a_file_that_is_not_a_journal_is_refused_untouched(tmp_path: Path,
                                                           content: bytes) -> None:
    path = tmp_path / "foreign"
    path.write_bytes(content)
    with pytest.raises(NotAHyperdialStorage, match="not a hyperdial journal"):
        JournalFileStorage(path)
    assert path.read_bytes() == content


def test_a_newer_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.jsonl"
    path.write_text('{"format": "hyperdial-journal", "version": 99}\n')
    with pytest.raises(SchemaVersionError, match="version 99.*upgrade hyperdial"):
        JournalFileStorage(path)


def test_a_damaged_line_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "damaged.jsonl"
    JournalFileStorage(path).create_study("s", MIN)
    with path.open("ab") as f:
        f.write(b"this is not json\n")
    with pytest.raises(StorageError, match="damaged"):
        JournalFileStorage(path).studies()


def test_a_line_seen_half_written_before_the_lock_is_read_whole_under_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer replays the others' lines before it takes the file's lock. On a network file
    system another machine's line may show its end before its middle: that replay stops
    there quietly, and the one under the lock reads the line once it is whole."""
    path = tmp_path / "nfs.jsonl"
    other = JournalFileStorage(path)
    info = other.create_study("s", MIN)
    mine = JournalFileStorage(path)
    mine.studies()  # up to date so far
    line = json.dumps({"t": 1.0, "op": "create_trial", "args": {
        "study_id": info.id, "data": {}, "key": None, "claim_waiting": False,
        "heartbeat": False}}).encode() + b"\n"
    with path.open("ab") as f:  # its newline is there, a stretch of its middle not yet
        f.write(line[:20] + bytes(10) + line[30:])
    locked = JournalFileStorage._locked
    pending = [line]

    def lock_then_finish(self: JournalFileStorage, fd: int) -> object:  # the other
        if pending:  # machine's write lands meanwhile
            with path.open("r+b") as f:
                f.seek(-len(line), 2)
                f.write(pending.pop())
        return locked(self, fd)

    monkeypatch.setattr(JournalFileStorage, "_locked", lock_then_finish)
    assert mine.create_trial(info.id, {}) == 1  # after the other's trial 0, read whole
    assert [r.number for r in JournalFileStorage(path).read(info.id)] == [0, 1]


def test_a_missing_folder_is_named_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        JournalFileStorage(tmp_path / "nowhere" / "j.jsonl")
    assert not (tmp_path / "nowhere").exists()


def test_a_folder_given_as_the_journal_is_named(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=f"the journal {tmp_path} is a folder"):
        JournalFileStorage(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_study_runs_on_a_journal_url_and_resumes(tmp_path: Path) -> None:
    url = f"journal:///{tmp_path / 'study.jsonl'}"
    assert isinstance(get_storage(url), JournalFileStorage)
    study = hd.create_study(study_name="j", storage=url,
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", -1.0, 1.0) - 0.2) ** 2, n_trials=15)
    again = hd.load_study(study_name="j", storage=url)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]
    assert again.best_value == study.best_value
    copy = pickle.loads(pickle.dumps(again._storage))
    assert copy.get_study("j").n_trials == 15


def test_a_stale_check_that_finds_nothing_writes_nothing(tmp_path: Path) -> None:
    """Nor does it queue for the file's lock: loading a study (which checks) waits for no
    writer."""
    path = tmp_path / "stale.jsonl"
    storage = JournalFileStorage(path)
    info = storage.create_study("s", MIN)
    n = new_trial(storage, info.id, heartbeat=True)
    before = path.read_bytes()
    with open(path, "rb") as holder, ThreadPoolExecutor(1) as pool:
        fcntl.flock(holder, fcntl.LOCK_EX)  # another process, mid-write
        check = pool.submit(storage.fail_stale, info.id, 3600.0)
        try:
            assert check.result(timeout=30) == []
        finally:
            fcntl.flock(holder, fcntl.LOCK_UN)
    assert path.read_bytes() == before
    assert storage.fail_stale(info.id, 0.0) == [n]
    assert synced_view(JournalFileStorage(path), info).get(n).state is TrialState.FAIL


def test_optunas_journal_names_open_the_same_file(tmp_path: Path) -> None:
    from hyperdial import storages

    path = str(tmp_path / "ported.jsonl")
    storage = storages.JournalStorage(storages.JournalFileBackend(path))
    study = hd.create_study(study_name="p", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3)
    assert hd.load_study(study_name="p", storage=f"journal:///{path}").best_value == \
        study.best_value
    assert pickle.loads(pickle.dumps(storage)).get_study("p").n_trials == 3
    with pytest.raises(TypeError, match="JournalFileBackend"):
        storages.JournalStorage(path)  # type: ignore[arg-type]


def test_storages_dropped_unclosed_leave_no_open_file(tmp_path: Path) -> None:
    url = f"journal:///{tmp_path / 'many.jsonl'}"
    hd.create_study(study_name="s", storage=url)
    fds = Path("/proc/self/fd")
    if not fds.exists():
        pytest.skip("needs /proc/self/fd (Linux) to count open files")
    before = len(list(fds.iterdir()))
    for _ in range(200):  # each call opens a storage it never closes
        assert hd.get_all_study_names(url) == ["s"]
    assert len(list(fds.iterdir())) <= before + 2
    storage = JournalFileStorage(tmp_path / "many.jsonl")
    storage.close()
    storage.close()  # twice is fine, and it opens again when used
    assert storage.get_study("s").name == "s"


def test_a_bad_name_is_never_written_and_an_old_one_still_replays(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    storage = JournalFileStorage(path)
    storage.create_study("a", [StudyDirection.MINIMIZE])
    before = path.read_bytes()
    with pytest.raises(ValueError, match="new_name"):
        storage.rename_study("a", None)  # type: ignore[arg-type]
    assert path.read_bytes() == before
    # a journal written before names were checked on rename opens as it was
    with path.open("a") as f:
        f.write(json.dumps({"t": 0.0, "op": "rename_study",
                            "args": {"name": "a", "new_name": None}}) + "\n")
    assert [s.name for s in JournalFileStorage(path).studies()] == [None]


def test_a_journal_this_process_cannot_write_is_read_and_refuses_writes_clearly(
        tmp_path: Path, unwritable: Callable[[Path], AbstractContextManager[None]]) -> None:
    """Opening it for appending failed, so load_study, the CLI and the dashboard could not
    even read it (a bare PermissionError); SQLite files read fine that way."""
    path = tmp_path / "ro.jsonl"
    url = f"journal:///{path}"
    hd.create_study(study_name="s", storage=url,
                    sampler=hd.samplers.RandomSampler(seed=0)).optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    before = path.read_bytes()
    with unwritable(path):
        study = hd.load_study(study_name="s", storage=url)
        assert len(study.trials) == 3 and study.best_value == min(
            t.value for t in study.trials)
        assert hd.get_all_study_names(url) == ["s"]
        with pytest.raises(StorageError, match=rf"{path}.* can be read but not written"):
            study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        with pytest.raises(StorageError, match="can be read but not written"):
            hd.create_study(study_name="t", storage=url)
    assert path.read_bytes() == before


def test_an_empty_journal_this_process_cannot_write_is_a_clear_error(
        tmp_path: Path, unwritable: Callable[[Path], AbstractContextManager[None]]) -> None:
    path = tmp_path / "empty.jsonl"
    path.touch()
    with unwritable(path), pytest.raises(NotAHyperdialStorage, match="read-only"):
        JournalFileStorage(path)


@pytest.mark.parametrize("url", ["journal:///", "journal://x.jsonl", "journal:x.jsonl"])
def test_a_journal_url_without_a_file_says_so(url: str) -> None:
    """It fell through to the SQL storage: "unsupported storage URL scheme 'journal': ...
    or journal:/// files", which contradicted itself."""
    with pytest.raises(ValueError, match="journal URL names its file after three slashes"):
        get_storage(url)


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_a_read_only_study_with_a_stale_trial_loads_and_leaves_it_running(
        tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture,
        unwritable: Callable[[Path], AbstractContextManager[None]]) -> None:
    """An archived run whose worker died: loading it failed the stale trial, a write, which
    raised "can be read but not written" (the usual state of a crashed run's file)."""
    path = tmp_path / ("run.jsonl" if kind == "journal" else "run.db")
    url = f"{'journal' if kind == 'journal' else 'sqlite'}:///{path}"
    study = hd.create_study(study_name="s", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    writer = get_storage(url)
    writer.create_trial(study._info.id, {}, heartbeat=True)  # its worker then died
    writer.close()
    study._storage.close()  # (SQLite folds its -wal file into the file)
    before = path.read_bytes()
    with unwritable(path), caplog.at_level("WARNING", logger="hyperdial"):
        loaded = hd.load_study(study_name="s", storage=url, grace_period=1e-9)
        assert [t.state for t in loaded.trials] == [TrialState.COMPLETE] * 2 + [
            TrialState.RUNNING]
        assert "read-only here: they stay RUNNING" in caplog.text
        with pytest.raises(hd.exceptions.StorageReadOnly):
            loaded.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert path.read_bytes() == before


def test_a_reader_starts_again_when_a_writer_cut_lines_it_had_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails (a full disk, Ctrl-C) cuts its lines off again; a reader that had
    replayed them while they were written kept a study that no longer existed, and never saw
    the studies created after (its place in the file lay past the end)."""
    path = tmp_path / "j.jsonl"
    writer, reader = JournalFileStorage(str(path)), JournalFileStorage(str(path))
    writer.create_study("kept", [StudyDirection.MINIMIZE])
    before = path.stat().st_size
    writer.create_study("cut", [StudyDirection.MINIMIZE])
    assert [s.name for s in reader.studies()] == ["kept", "cut"]
    os.truncate(path, before)  # as the failed write leaves the file
    JournalFileStorage(str(path)).create_study("later", [StudyDirection.MINIMIZE])
    assert [s.name for s in reader.studies()] == ["kept", "later"]
    # cut, then written again to the very same length: the file's size says nothing (one
    # time for both lines, whose written length would otherwise vary with its digits)
    from hyperdial.storage import journal

    monkeypatch.setattr(journal, "now", lambda: 1796000000.5)
    before = path.stat().st_size
    writer.create_study("cut1", [StudyDirection.MINIMIZE])
    assert [s.name for s in reader.studies()] == ["kept", "later", "cut1"]
    size = path.stat().st_size
    os.truncate(path, before)
    JournalFileStorage(str(path)).create_study("new0", [StudyDirection.MINIMIZE])
    assert path.stat().st_size == size
    assert [s.name for s in reader.studies()] == ["kept", "later", "new0"]


def test_a_full_disk_is_a_storage_error_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from hyperdial.storage import journal

    path = tmp_path / "j.jsonl"
    storage = JournalFileStorage(str(path))
    storage.create_study("s", [StudyDirection.MINIMIZE])
    size = path.stat().st_size

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal.os, "write", full)
    with pytest.raises(StorageError, match="its disk is full"):
        storage.create_study("t", [StudyDirection.MINIMIZE])
    monkeypatch.undo()
    assert path.stat().st_size == size and [s.name for s in storage.studies()] == ["s"]


def test_a_journal_url_with_a_query_string_is_refused(tmp_path: Path) -> None:
    """``?timeout=5`` became part of the file's name: another journal than the workers'."""
    with pytest.raises(ValueError, match="takes no options"):
        get_storage(f"journal:///{tmp_path}/j.jsonl?timeout=5")
    assert list(tmp_path.iterdir()) == []
