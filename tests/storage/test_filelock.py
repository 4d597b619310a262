"""The writers' file lock: exclusive between open files, whether it spins or sleeps, and given
up after the busy timeout when another process never lets go (nothing written, readers free)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

fcntl = pytest.importorskip("fcntl")

from hyperdial.exceptions import StorageBusy  # noqa: E402
from hyperdial.history import StudyDirection  # noqa: E402
from hyperdial.storage import JournalFileStorage, SQLStorage, _filelock  # noqa: E402

_HOLD = ("import fcntl, os, sys\n"
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('locked', flush=True)\n"
         "sys.stdin.read()\n")


@contextmanager
def held_by_another_process(path: Path) -> Iterator[None]:
    """Another process holds the exclusive ``flock`` of ``path`` (as a stopped worker would)
    until the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        holder.communicate(timeout=10)  # closing its stdin ends it, which releases the lock


@pytest.mark.parametrize("spins", [0, 3, _filelock.SPINS])
def test_a_waiter_gets_the_lock_only_after_its_holder_lets_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spins: int) -> None:
    monkeypatch.setattr(_filelock, "SPINS", spins)
    path = tmp_path / "db-lock"
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    waiter = os.open(path, os.O_RDWR)
    _filelock.lock_exclusive(holder, 60, "test")
    started, released = threading.Event(), threading.Event()
    seen: list[bool] = []

    def wait_for_it() -> None:
        started.set()
        _filelock.lock_exclusive(waiter, 60, "test")
        seen.append(released.is_set())
        fcntl.flock(waiter, fcntl.LOCK_UN)

    thread = threading.Thread(target=wait_for_it)
    thread.start()
    started.wait()
    # While the holder has it, nobody else can take it (the waiter has not either).
    with pytest.raises(BlockingIOError):
        probe = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
    released.set()
    fcntl.flock(holder, fcntl.LOCK_UN)
    thread.join()
    os.close(holder)
    os.close(waiter)
    assert seen == [True]


def test_a_free_lock_is_taken_at_once_and_excludes_others(tmp_path: Path) -> None:
    path = tmp_path / "db-lock"
    fd, other = os.open(path, os.O_RDWR | os.O_CREAT), os.open(path, os.O_RDWR)
    _filelock.lock_exclusive(fd, 60, "test")
    with pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)  # closing the holder's file releases it
    _filelock.lock_exclusive(other, 60, "test")
    os.close(other)


def test_a_lock_never_released_raises_storage_busy_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "db-lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    with held_by_another_process(path):
        start = time.monotonic()
        with pytest.raises(StorageBusy, match="the storage X.*0.3 s"):
            _filelock.lock_exclusive(fd, 0.3, "the storage X")
        assert 0.3 <= time.monotonic() - start < 2
    _filelock.lock_exclusive(fd, 0.3, "the storage X")  # free again: taken at once
    os.close(fd)


def test_a_sqlite_writer_gives_up_on_a_stuck_lock_file_and_readers_go_on(tmp_path: Path) -> None:
    db = tmp_path / "stuck.db"
    store = SQLStorage(f"sqlite:///{db}", engine_kwargs={"connect_args": {"timeout": 0.3}})
    store.create_study("before", [StudyDirection.MINIMIZE])
    with held_by_another_process(tmp_path / "stuck.db-lock"):
        with pytest.raises(StorageBusy, match=r"stuck\.db-lock.*0\.3 s.*nothing was written"):
            store.create_study("during", [StudyDirection.MINIMIZE])
        assert [s.name for s in store.studies()] == ["before"]
    store.create_study("after", [StudyDirection.MINIMIZE])
    assert [s.name for s in store.studies()] == ["before", "after"]
    store.close()


def test_journal_readers_need_no_lock_and_a_writer_gives_up(tmp_path: Path) -> None:
    path = tmp_path / "stuck.jsonl"
    JournalFileStorage(path).create_study("before", [StudyDirection.MINIMIZE])
    size = path.stat().st_size
    with held_by_another_process(path):
        store = JournalFileStorage(path, timeout=0.3)  # opened and read under the held lock
        assert store.get_study("before").name == "before"
        with pytest.raises(StorageBusy, match=r"stuck\.jsonl.*0\.3 s"):
            store.create_study("during", [StudyDirection.MINIMIZE])
        assert path.stat().st_size == size
        assert [s.name for s in store.studies()] == ["before"]
    store.create_study("after", [StudyDirection.MINIMIZE])
    assert [s.name for s in JournalFileStorage(path).studies()] == ["before", "after"]
    store.close()
