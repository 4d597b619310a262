"""An exclusive ``flock`` that tries for a moment before it sleeps (Unix only).

Writers of a SQLite file and of a journal file queue on one: the lock is held for some tens
of microseconds, and waking a writer that sleeps in the kernel on another core costs more than
that on virtual machines. So a writer first tries `SPINS` times without blocking, yielding the
core between tries (about one lock's hold), and only then sleeps on it. With 4 processes on
one SQLite file on 2 cores the total throughput went from 1.05-1.14x one process's to
1.32-1.39x; with 4 threads of one process, from 2,960-3,410 to 3,590-3,970 trials/s.
"""

from __future__ import annotations

import fcntl
import os

SPINS = 20
_yield_core = getattr(os, "sched_yield", lambda: None)


def lock_exclusive(fd: int) -> None:
    """Take the exclusive ``flock`` of ``fd``, waiting as long as it takes (OSError as flock)."""
    for _ in range(SPINS):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            _yield_core()
    fcntl.flock(fd, fcntl.LOCK_EX)
