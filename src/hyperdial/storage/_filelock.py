"""An exclusive ``flock`` that tries for a moment before it sleeps, up to a timeout (Unix only).

Writers of a SQLite file and of a journal file queue on one: the lock is held for some tens
of microseconds, and waking a writer that sleeps in the kernel on another core costs more than
that on virtual machines. So a writer first tries `SPINS` times without blocking, yielding the
core between tries (about one lock's hold). With 4 processes on one SQLite file on 2 cores the
total throughput went from 1.05-1.14x one process's to 1.32-1.39x; with 4 threads of one
process, from 2,960-3,410 to 3,590-3,970 trials/s.

It then polls, sleeping `FIRST_SLEEP` doubled after each try up to `MAX_SLEEP`, rather than
sleeping in a blocking ``flock``: that one cannot be given up, so a holder that never lets go
(a stopped process, another program) would hang every writer instead of their busy timeout
raising `StorageBusy`.
"""

from __future__ import annotations

import fcntl
import os
import time

from hyperdial.exceptions import StorageBusy

SPINS = 20
FIRST_SLEEP = 50e-6  # seconds: about one lock's hold
MAX_SLEEP = 5e-3  # what a waiter may oversleep a lock that is free again
_yield_core = getattr(os, "sched_yield", lambda: None)


def lock_exclusive(fd: int, timeout: float, where: str) -> None:
    """Take the exclusive ``flock`` of ``fd``, waiting at most ``timeout`` seconds, then
    `StorageBusy` naming ``where`` (the storage and its lock file). OSError as flock's."""
    for _ in range(SPINS):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            _yield_core()
    deadline = time.monotonic() + timeout
    sleep = FIRST_SLEEP
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(sleep, left))
            sleep = min(2 * sleep, MAX_SLEEP)
    raise StorageBusy(
        f"{where} stayed locked by another writer for longer than the busy timeout "
        f"({timeout:g} s); nothing was written. Is a worker stopped (Ctrl-Z, SIGSTOP, a "
        "debugger) or another program holding the lock?")
