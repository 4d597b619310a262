"""Several processes on one database (SQLite file, PostgreSQL): numbering, lost events, crashes.

The checks live in `hyperdial.testing.storage` (spawned workers must import them by name).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from hyperdial.storage import SQLStorage
from hyperdial.testing.storage import (
    check_concurrent_workers,
    check_crash_consistency,
    check_create_study_race,
)


def test_four_workers_240_trials(db_storage: SQLStorage) -> None:
    check_concurrent_workers(db_storage, n_workers=4, n_trials=60)


def test_sigkill_mid_loop_keeps_finished_trials(db_storage: SQLStorage) -> None:
    reopened = check_crash_consistency(db_storage)
    reopened.close()
    if db_storage.url.startswith("sqlite"):
        with closing(sqlite3.connect(db_storage.url.removeprefix("sqlite:///"))) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_create_study_race(db_storage: SQLStorage) -> None:
    check_create_study_race(db_storage)
