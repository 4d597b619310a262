"""The writers' file lock: exclusive between open files, whether it spins or sleeps."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

fcntl = pytest.importorskip("fcntl")

from hyperdial.storage import _filelock  # noqa: E402


@pytest.mark.parametrize("spins", [0, 3, _filelock.SPINS])
def test_a_waiter_gets_the_lock_only_after_its_holder_lets_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spins: int) -> None:
    monkeypatch.setattr(_filelock, "SPINS", spins)
    path = tmp_path / "db-lock"
    holder = os.open(path, os.O_RDWR | os.O_CREAT)
    waiter = os.open(path, os.O_RDWR)
    _filelock.lock_exclusive(holder)
    started, released = threading.Event(), threading.Event()
    seen: list[bool] = []

    def wait_for_it() -> None:
        started.set()
        _filelock.lock_exclusive(waiter)
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
    _filelock.lock_exclusive(fd)
    with pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)  # closing the holder's file releases it
    _filelock.lock_exclusive(other)
    os.close(other)
