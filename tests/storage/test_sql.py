"""SQLStorage specifics: URLs, foreign or newer databases, SQLite locking, threads, forks."""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import pickle
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

import hyperdial as hd
from hyperdial.exceptions import (
    NotAHyperdialStorage,
    SchemaVersionError,
    StorageBusy,
    StorageError,
)
from hyperdial.storage import InMemoryStorage, SQLStorage, get_storage
from hyperdial.storage._schema import SCHEMA_VERSION
from hyperdial.storage.base import StudyInfo
from hyperdial.testing.storage import MIN, finish_event, new_trial, params_event, synced_view
from hyperdial.trial import TrialState


def execute(url: str, *statements: str) -> None:
    """Run raw SQL in one transaction, behind hyperdial's back."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def fingerprint(url: str) -> Any:
    """What must not change when hyperdial refuses a database: its bytes, or its tables."""
    if url.startswith("sqlite"):
        return hashlib.sha256(Path(make_url(url).database or "").read_bytes()).hexdigest()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(inspect(conn).get_table_names())
    finally:
        engine.dispose()


# -- URLs --------------------------------------------------------------------------------------
def test_get_storage(tmp_path: Path) -> None:
    memory = get_storage(None)
    assert isinstance(memory, InMemoryStorage)
    assert get_storage(memory) is memory
    sql = get_storage(f"sqlite:///{tmp_path / 'a.db'}")
    assert isinstance(sql, SQLStorage)
    sql.close()
    with pytest.raises(ValueError, match="mongodb"):
        get_storage("mongodb://localhost/db")
    with pytest.raises(ValueError, match="not a storage URL"):
        get_storage("hyperdial.db")
    with pytest.raises(TypeError):
        get_storage(3)  # type: ignore[arg-type]


def test_a_missing_folder_is_named_and_not_created(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=f"the folder {folder} does not exist"):
        get_storage(f"sqlite:///{folder / 'a.db'}")
    assert not (tmp_path / "no").exists()


def test_a_folder_given_as_the_database_is_named(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match=f"{tmp_path} is a folder"):
        get_storage(f"sqlite:///{tmp_path}")
    assert list(tmp_path.iterdir()) == []  # no lock file or journal left beside it


def test_importing_hyperdial_does_not_import_sqlalchemy() -> None:
    code = ("import sys, hyperdial, hyperdial.storage as s\n"
            "assert 'sqlalchemy' not in sys.modules, 'imported too early'\n"
            "assert s.SQLStorage.__name__ == 'SQLStorage' and 'sqlalchemy' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_databases_are_private(url: str) -> None:
    a, b = SQLStorage(url), SQLStorage(url)
    a.create_study("s", MIN)
    assert b.studies() == []
    a.close()
    assert a.studies() == []  # closing an in-memory database drops it
    b.close()


@pytest.mark.postgres
def test_plain_postgresql_url_means_psycopg(pg_url: str) -> None:
    storage = SQLStorage(pg_url.replace("postgresql+psycopg://", "postgresql://"))
    assert storage.create_study("s", MIN).name == "s"
    storage.close()


# -- opening -----------------------------------------------------------------------------------
def test_reopen_keeps_everything(db_url: str) -> None:
    storage = SQLStorage(db_url)
    info = storage.create_study("s", MIN, {"a": 1})
    storage.append(info.id, new_trial(storage, info.id), [finish_event("COMPLETE", 1.0)])
    events = storage.read(info.id)
    storage.close()
    storage.close()
    assert storage.read(info.id) == events  # reconnects after close
    storage.close()
    again = SQLStorage(db_url)
    assert again.studies() == [info.__class__(info.id, "s", MIN, {"a": 1}, 1)]
    assert again.read(info.id) == events
    again.close()


def test_delete_study_removes_its_rows(db_url: str) -> None:
    storage = SQLStorage(db_url)
    for name in ["gone", "kept"]:
        info = storage.create_study(name, MIN)
        storage.append(info.id, new_trial(storage, info.id), [finish_event("COMPLETE", 1.0)])
    storage.delete_study("gone")
    storage.close()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        counts = [conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                  for table in ["studies", "trials", "events"]]
    engine.dispose()
    assert counts == [1, 1, 2]


def journal_mode(path: Path) -> str:
    with closing(sqlite3.connect(path)) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    SQLStorage(f"sqlite:///{path}").close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert dict(conn.execute("SELECT key, value FROM hyperdial_meta").fetchall()) == {
            "application": "hyperdial", "schema_version": str(SCHEMA_VERSION)}


def test_the_switch_to_wal_waits_out_a_writer(tmp_path: Path) -> None:
    """SQLite refuses to leave the rollback journal while another connection writes, without
    calling its busy handler; the first opener of a new file raced the others' writes."""
    path = tmp_path / "journal.db"
    url = f"sqlite:///{path}"
    SQLStorage(url).close()
    for timeout, released_after in [(30.0, 0.2), (0.1, None)]:
        with closing(sqlite3.connect(path, isolation_level=None, check_same_thread=False)
                     ) as other:
            other.execute("PRAGMA journal_mode=DELETE")
            other.execute("BEGIN IMMEDIATE")
            if released_after is None:  # held past the busy timeout
                with pytest.raises(StorageBusy, match="stayed locked"):
                    SQLStorage(url, engine_kwargs={"connect_args": {"timeout": timeout}})
                other.execute("ROLLBACK")
                assert journal_mode(path) == "delete"
            else:  # SQLite refuses the switch at once; the opener waits for the release
                releaser = threading.Timer(released_after, other.execute, ["ROLLBACK"])
                releaser.start()
                try:
                    SQLStorage(url).close()
                finally:
                    releaser.join()
                assert journal_mode(path) == "wal"


def test_sqlite_errors_are_told_apart_by_code_or_before_python_3_11_by_message(
        tmp_path: Path) -> None:
    from hyperdial.storage.sql import _sqlite_error_is

    path = tmp_path / "held.db"
    with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as one, \
            closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as two:
        one.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as busy:
            two.execute("BEGIN IMMEDIATE")
    assert _sqlite_error_is(busy.value, (5,), "database is locked")  # SQLITE_BUSY's code
    assert not _sqlite_error_is(busy.value, (8,), "database is locked")  # the code decides
    bare = sqlite3.OperationalError("database is locked")  # as Python 3.10 raises it: no code
    assert _sqlite_error_is(bare, (5,), "database is locked")
    assert not _sqlite_error_is(sqlite3.OperationalError("no such table: x"), (5,),
                                "database is locked")


def test_empty_file_becomes_a_hyperdial_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    storage = SQLStorage(f"sqlite:///{path}")
    assert storage.create_study("s", MIN).n_trials == 0
    storage.close()


@pytest.mark.parametrize("content", [bytes(range(256)) * 16, b"just some text\n" * 300],
                         ids=["random-bytes", "text"])
def test_not_a_sqlite_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "not.db"
    path.write_bytes(content)
    with pytest.raises(NotAHyperdialStorage, match=str(path)):
        SQLStorage(f"sqlite:///{path}")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not.db"]


@pytest.mark.parametrize("foreign", [
    # Optuna's tables have the same names as ours
    ["CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name VARCHAR(512))",
     "INSERT INTO studies VALUES (1, 'optuna')"],
    ["CREATE TABLE hyperdial_meta (key VARCHAR(64) PRIMARY KEY, value TEXT)",
     "INSERT INTO hyperdial_meta VALUES ('application', 'something else')"],
], ids=["other-tables", "other-meta"])
def test_foreign_database_refused_untouched(db_url: str, foreign: list[str]) -> None:
    execute(db_url, *foreign)
    before = fingerprint(db_url)
    with pytest.raises(NotAHyperdialStorage, match="not a hyperdial database|did not write"):
        SQLStorage(db_url)
    assert fingerprint(db_url) == before


def test_newer_schema_refused_untouched(db_url: str) -> None:
    SQLStorage(db_url).close()
    execute(db_url, "UPDATE hyperdial_meta SET value = '99' WHERE key = 'schema_version'")
    before = fingerprint(db_url)
    with pytest.raises(SchemaVersionError,
                       match=f"version 99.*supports version {SCHEMA_VERSION}.*upgrade"):
        SQLStorage(db_url)
    assert fingerprint(db_url) == before


# Version 1 as hyperdial 0.1 wrote it (SQLite and PostgreSQL differ in their types only).
_V1_TABLES = (
    "CREATE TABLE hyperdial_meta (key VARCHAR(64) NOT NULL, value TEXT NOT NULL, "
    "PRIMARY KEY (key))",
    "CREATE TABLE studies (id {serial}, name TEXT NOT NULL UNIQUE, directions TEXT NOT NULL, "
    "user_attrs TEXT NOT NULL, next_number INTEGER DEFAULT '0' NOT NULL, "
    "created_at FLOAT NOT NULL)",
    "CREATE TABLE events (id {bigserial}, study_id INTEGER NOT NULL REFERENCES studies (id) "
    "ON DELETE CASCADE, number INTEGER NOT NULL, kind VARCHAR(16) NOT NULL, "
    "data TEXT NOT NULL)",
    "CREATE INDEX ix_events_study_id ON events (study_id, id)",
    "CREATE TABLE trials (study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE, "
    "number INTEGER NOT NULL, state VARCHAR(16) NOT NULL, heartbeat_at FLOAT, key TEXT, "
    "PRIMARY KEY (study_id, number))",
    "CREATE UNIQUE INDEX ux_trials_key ON trials (study_id, key) WHERE key IS NOT NULL",
    "CREATE INDEX ix_trials_waiting ON trials (study_id, number) WHERE state = 'WAITING'",
    "INSERT INTO hyperdial_meta VALUES ('application', 'hyperdial'), ('schema_version', '1')",
)
# Two studies whose events interleave: (study, number, kind, data), in id order.
_V1_EVENTS = [
    (1, 0, "create", '{"t":1.0,"state":"RUNNING"}'),
    (2, 0, "create", '{"t":1.5,"state":"RUNNING"}'),
    (1, 0, "params", '{"params":{"x":0.25},"dists":{"x":{"type":"float","low":0.0,'
                     '"high":1.0,"log":false,"step":null}}}'),
    (1, 1, "create", '{"t":2.0,"state":"WAITING","params":{"x":0.5}}'),
    (2, 0, "finish", '{"t":2.5,"state":"COMPLETE","values":[3.0]}'),
    (1, 0, "finish", '{"t":3.0,"state":"COMPLETE","values":[0.25]}'),
    (2, 1, "create", '{"t":3.5,"state":"RUNNING"}'),
    (1, 2, "create", '{"t":4.0,"state":"RUNNING","key":"grid-2"}'),
    (2, 1, "finish", '{"t":4.5,"state":"FAIL","reason":"boom"}'),
]


def _write_v1(url: str) -> None:
    sqlite = url.startswith("sqlite")
    types = ({"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "bigserial": "INTEGER PRIMARY KEY"}
             if sqlite else {"serial": "SERIAL PRIMARY KEY", "bigserial": "BIGSERIAL PRIMARY KEY"})
    studies = [
        "INSERT INTO studies (name, directions, user_attrs, next_number, created_at) "
        f"VALUES ('{name}', '[\"minimize\"]', '{{}}', {n}, 0.0)"
        for name, n in [("a", 3), ("b", 2)]]
    trials = [f"INSERT INTO trials VALUES {row}" for row in [
        "(1, 0, 'COMPLETE', NULL, NULL)", "(1, 1, 'WAITING', NULL, NULL)",
        "(1, 2, 'RUNNING', 4.0, 'grid-2')", "(2, 0, 'COMPLETE', NULL, NULL)",
        "(2, 1, 'FAIL', NULL, NULL)"]]
    events = [f"INSERT INTO events (study_id, number, kind, data) "
              f"VALUES ({sid}, {n}, '{kind}', '{data}')" for sid, n, kind, data in _V1_EVENTS]
    execute(url, *(sql.format(**types) for sql in _V1_TABLES), *studies, *trials, *events)


def test_version_1_is_upgraded_on_opening(db_url: str) -> None:
    _write_v1(db_url)
    storage = SQLStorage(db_url)
    try:
        assert [(s.name, s.n_trials) for s in storage.studies()] == [("a", 3), ("b", 2)]
        a, b = (storage.get_study(name).id for name in "ab")
        for sid in (a, b):  # every event, in the order written, ids increasing
            rows = storage.read(sid)
            assert [(r.number, r.kind, r.data) for r in rows] == [
                (n, kind, json.loads(data)) for s, n, kind, data in _V1_EVENTS if s == sid]
            assert [r.id for r in rows] == sorted({r.id for r in rows})
            assert storage.read(sid, rows[1].id) == rows[2:]
        view = synced_view(storage, storage.get_study("a"))
        assert [r.state for r in view.records] == [
            TrialState.COMPLETE, TrialState.WAITING, TrialState.RUNNING]
        assert view.records[0].params == {"x": 0.25}
        assert storage.create_trial(a, {}, key="grid-2") is None  # the key is still taken
        assert storage.create_trial(a, {}, claim_waiting=True) == 1  # the queued one
        assert storage.create_trial(a, {}, claim_waiting=True) == 3  # then numbers go on
        storage.delete_study("b")
        assert [s.name for s in storage.studies()] == ["a"]
    finally:
        storage.close()
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert sorted(inspect(conn).get_table_names()) == [
                "events", "hyperdial_meta", "studies", "trials"]
            assert "next_number" not in {c["name"] for c in inspect(conn).get_columns("studies")}
            assert conn.exec_driver_sql(
                "SELECT value FROM hyperdial_meta WHERE key = 'schema_version'"
            ).scalar() == str(SCHEMA_VERSION)
            # a: its 3, 1 started, 1 new; b: gone with its trials and events
            assert conn.exec_driver_sql("SELECT count(*) FROM trials").scalar() == 4
            assert conn.exec_driver_sql("SELECT count(*) FROM events").scalar() == 7
    finally:
        engine.dispose()


def test_version_1_upgraded_once_by_racing_openers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    _write_v1(url)
    with ThreadPoolExecutor(4) as pool:
        storages = list(pool.map(lambda _: SQLStorage(url), range(4)))
    try:
        for storage in storages:
            assert [len(storage.read(s.id)) for s in storage.studies()] == [5, 4]
    finally:
        for storage in storages:
            storage.close()


def test_version_1_in_a_read_only_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    _write_v1(f"sqlite:///{path}")
    before = fingerprint(f"sqlite:///{path}")
    with pytest.raises(SchemaVersionError, match="version 1, which.*upgrades.*cannot be written"):
        SQLStorage(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert fingerprint(f"sqlite:///{path}") == before


def test_an_old_worker_on_an_upgraded_file_cannot_write_into_another_study(
        tmp_path: Path) -> None:
    """Version 1 inserted events without an id (the table's next one): on an upgraded file
    that id lies in the range of the study with the largest id, so the range check refuses it."""
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    _write_v1(url)
    SQLStorage(url).close()  # upgraded
    with pytest.raises(Exception, match="CHECK constraint failed"):
        execute(url, "INSERT INTO events (study_id, number, kind, data) "
                     "VALUES (1, 2, 'finish', '{\"t\":5.0,\"state\":\"COMPLETE\"}')")
    storage = SQLStorage(url)
    try:
        assert [len(storage.read(s.id)) for s in storage.studies()] == [5, 4]
    finally:
        storage.close()


def test_sqlite_study_ids_end_where_event_ids_would_overflow(tmp_path: Path) -> None:
    from hyperdial.storage._schema import MAX_SQLITE_STUDY_ID

    url = f"sqlite:///{tmp_path / 'ids.db'}"
    SQLStorage(url).close()
    execute(url, "INSERT INTO sqlite_sequence (name, seq) "
                 f"VALUES ('studies', {MAX_SQLITE_STUDY_ID - 1})")
    storage = SQLStorage(url)
    try:
        last = storage.create_study("last", MIN)
        assert last.id == MAX_SQLITE_STUDY_ID
        number = new_trial(storage, last.id)  # its events' ids are the largest there are
        storage.append(last.id, number, [params_event(x=1.0), finish_event()])
        assert [r.kind for r in storage.read(last.id)] == ["create", "params", "finish"]
        with pytest.raises(StorageError, match="used up its study ids"):
            storage.create_study("one too many", MIN)
        assert [s.name for s in storage.studies()] == ["last"]
    finally:
        storage.close()


def test_sqlite_event_rows_are_bound_in_the_compiled_column_order(tmp_path: Path) -> None:
    """`_insert` builds each row as (id, study, number, kind, data): the order SQLAlchemy
    writes the INSERT's columns in."""
    from hyperdial.storage.sql import _SQLITE_INSERT_EVENT

    storage = SQLStorage(f"sqlite:///{tmp_path / 'order.db'}")
    try:
        sql, _ = storage._text(_SQLITE_INSERT_EVENT)
        assert "(id, study_id, number, kind, data)" in sql
    finally:
        storage.close()


def test_damaged_database_refused(db_url: str) -> None:
    SQLStorage(db_url).close()
    execute(db_url, "DROP TABLE events")
    with pytest.raises(NotAHyperdialStorage, match="damaged.*events"):
        SQLStorage(db_url)


# -- SQLite locking --------------------------------------------------------------------------------
def test_sqlite_writer_waits_for_the_lock_and_readers_do_not(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    storage = SQLStorage(f"sqlite:///{path}")
    info = storage.create_study("s", MIN)
    outcome: list[object] = []
    done = threading.Event()

    def write() -> None:
        try:
            outcome.append(storage.create_trial(info.id, {}))
        except Exception as exc:  # reported below
            outcome.append(exc)
        done.set()

    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO hyperdial_meta VALUES ('uncommitted', 'x')")
        assert storage.studies() == [info]  # a reader neither waits nor sees the other write
        assert storage.read(info.id) == []
        writer = threading.Thread(target=write)
        writer.start()
        assert not done.wait(0.5), f"the writer did not wait: {outcome}"
        other.execute("COMMIT")
    assert done.wait(30)
    writer.join()
    assert outcome == [0]
    storage.close()


def test_a_database_locked_past_the_busy_timeout_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    storage = SQLStorage(f"sqlite:///{path}", engine_kwargs={"connect_args": {"timeout": 0.2}})
    info = storage.create_study("s", MIN)
    number = storage.create_trial(info.id, {})
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        for attempt in (lambda: storage.create_trial(info.id, {}),
                        lambda: storage.append(info.id, number, [finish_event("COMPLETE", 1.0)])):
            with pytest.raises(StorageBusy, match=r"held\.db stayed locked by another "
                                                  r"connection .*nothing was written"):
                attempt()
        assert len(storage.read(info.id)) == 1  # readers do not wait (WAL)
        other.execute("ROLLBACK")
    # nothing of the refused writes landed, and the storage works again
    assert [row.kind for row in storage.read(info.id)] == ["create"]
    storage.append(info.id, number, [finish_event("COMPLETE", 1.0)])
    assert synced_view(storage, info).get(number).state is TrialState.COMPLETE
    storage.close()


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX only")
def test_sqlite_writers_queue_on_the_lock_file(tmp_path: Path) -> None:
    """Writers wait in the kernel for the lock file beside the database (no polling), and
    go on the moment it is released; readers never take it."""
    import fcntl

    path = tmp_path / "queue.db"
    storage = SQLStorage(f"sqlite:///{path}")
    info = storage.create_study("s", MIN)
    done = threading.Event()
    outcome: list[object] = []

    def write() -> None:
        outcome.append(storage.create_trial(info.id, {}))
        done.set()

    with open(f"{path}-lock", "rb") as holder:  # another writer, mid-transaction
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert storage.read(info.id) == []
        writer = threading.Thread(target=write)
        writer.start()
        assert not done.wait(0.5), "the writer did not queue behind the lock file"
        fcntl.flock(holder, fcntl.LOCK_UN)
        assert done.wait(30)
    writer.join()
    assert outcome == [0]
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM trials").fetchone() == (1,)
    storage.close()


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX only")
def test_a_stale_check_that_finds_nothing_takes_no_lock(tmp_path: Path) -> None:
    """`fail_stale` looks for stale trials with a plain read and takes the writers' locks only
    for one it found: so loading a study (which checks) waits for no writer."""
    import fcntl

    path = tmp_path / "held.db"
    storage = SQLStorage(f"sqlite:///{path}", engine_kwargs={"connect_args": {"timeout": 0.2}})
    info = storage.create_study("s", MIN)
    beating = new_trial(storage, info.id, heartbeat=True)

    def load() -> tuple[list[int], TrialState]:
        study = hd.load_study(study_name="s", storage=storage)  # heartbeats on: it checks
        return storage.fail_stale(info.id, 3600.0), study.trials[beating].state

    with (open(f"{path}-lock", "rb") as holder,
          closing(sqlite3.connect(path, isolation_level=None)) as other,
          ThreadPoolExecutor(1) as pool):
        fcntl.flock(holder, fcntl.LOCK_EX)  # another writer, mid-transaction: both its locks
        other.execute("BEGIN IMMEDIATE")
        checks = pool.submit(load)
        try:
            assert checks.result(timeout=30) == ([], TrialState.RUNNING)
        finally:
            fcntl.flock(holder, fcntl.LOCK_UN)  # a check that queued for it goes on (busy)
        with pytest.raises(StorageBusy):  # a stale trial is failed under the locks, as ever
            storage.fail_stale(info.id, -1.0)
        other.execute("ROLLBACK")
    assert storage.fail_stale(info.id, -1.0) == [beating]
    storage.close()


def test_a_stale_trial_is_checked_again_under_the_lock(db_storage: SQLStorage,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Its worker may end a trial between the read that found it stale and the write: the
    write fails only the trials still stale under the lock."""
    storage = db_storage
    info = storage.create_study("s", MIN)
    ended, silent = (new_trial(storage, info.id, heartbeat=True) for _ in range(2))
    read = storage._fetch

    def read_then_end(stmt: Any, params: Any) -> list[Any]:
        rows = read(stmt, params)
        storage.append(info.id, ended, [finish_event("COMPLETE", 1.0)])
        return rows

    monkeypatch.setattr(storage, "_fetch", read_then_end)
    assert storage.fail_stale(info.id, -1.0) == [silent]
    monkeypatch.undo()
    view = synced_view(storage, info)
    assert [view.get(n).state for n in (ended, silent)] == [TrialState.COMPLETE, TrialState.FAIL]
    assert storage.fail_stale(info.id, -1.0) == []


# -- files this process cannot write ----------------------------------------------------------
@contextmanager
def read_only(path: Path, how: str,
              unwritable: Callable[[Path], AbstractContextManager[None]]) -> Iterator[str]:
    """A URL of the SQLite file ``path`` through which this process cannot write it: opened
    with ``mode=ro``, or a plain URL of a file made unwritable (immutable, for root)."""
    if how == "mode=ro":
        yield f"sqlite:///file:{path.as_posix()}?mode=ro&uri=true"
        return
    with unwritable(path):
        yield f"sqlite:///{path}"


@pytest.mark.parametrize("how", ["mode=ro", "unwritable file"])
def test_a_read_only_database_reads_and_refuses_writes_clearly(
        tmp_path: Path, how: str, unwritable: Callable[[Path], AbstractContextManager[None]],
) -> None:
    """A default `load_study` writes nothing unless a trial is stale (it raised a raw
    "attempt to write a readonly database"); a write raises a `StorageError` naming the file."""
    path = tmp_path / "ro.db"
    storage = SQLStorage(f"sqlite:///{path}")
    info = storage.create_study("s", MIN)
    done = new_trial(storage, info.id)
    storage.append(info.id, done, [params_event(x=0.5), finish_event("COMPLETE", 0.5)])
    running = new_trial(storage, info.id, heartbeat=True)  # beating: not stale
    storage.close()
    before = path.read_bytes()
    refused = rf"{re.escape(str(path))}.* cannot be written by this process .*nothing was written"
    with read_only(path, how, unwritable) as url:
        study = hd.load_study(study_name="s", storage=url)
        assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.RUNNING]
        assert (study.best_value, study.best_params) == (0.5, {"x": 0.5})
        assert [s.study_name for s in hd.get_all_study_summaries(url)] == ["s"]
        reader = SQLStorage(url)
        for write in (lambda: reader.create_trial(info.id, {}),
                      lambda: reader.append(info.id, running, [finish_event()]),
                      lambda: reader.fail_stale(info.id, -1.0),  # stale now: needs a write
                      lambda: reader.create_study("t", MIN)):
            with pytest.raises(StorageError, match=refused):
                write()
        assert len(reader.read(info.id)) == 4  # still readable
        reader.close()
        assert path.read_bytes() == before


@pytest.mark.parametrize("how", ["mode=ro", "unwritable file"])
def test_an_empty_read_only_file_is_a_clear_error(
        tmp_path: Path, how: str, unwritable: Callable[[Path], AbstractContextManager[None]],
) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with read_only(path, how, unwritable) as url, pytest.raises(
            StorageError, match=rf"{re.escape(str(path))}.* cannot be written by this process"):
        SQLStorage(url)
    assert path.read_bytes() == b""


def test_sqlite_checkpoints_in_a_thread_of_its_own(tmp_path: Path) -> None:
    """Writers never checkpoint (the syncs stalled them under the lock); every EVERY commits
    a background thread copies the WAL into the database file."""
    from hyperdial.storage.sql import _Checkpointer

    path = tmp_path / "ckpt.db"
    storage = SQLStorage(f"sqlite:///{path}")
    session = storage._session()
    assert session.cursor.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    info = storage.create_study("s", MIN)
    checkpointer = storage._checkpointer
    assert checkpointer is not None
    for _ in range(_Checkpointer.EVERY // 2):  # two commits each: one request at the end
        number = new_trial(storage, info.id)
        storage.append(info.id, number, [finish_event()])
    assert checkpointer.ran.wait(30)
    # The database file alone, without its WAL, now holds the checkpointed trials.
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())
    with closing(sqlite3.connect(copy)) as conn:
        (in_file,) = conn.execute("SELECT count(*) FROM trials").fetchone()
    assert in_file >= _Checkpointer.EVERY // 2 - 1  # all those committed before the request
    threads = [t for t in threading.enumerate() if t.name == "hyperdial-checkpoint"]
    assert threads
    storage.close()
    assert not any(t.is_alive() for t in threads)
    assert storage.read(info.id)  # usable again after close
    storage.close()


@pytest.mark.parametrize("limit", [200, None], ids=["bounded", "unbounded"])
def test_sqlite_wal_stays_bounded_under_writers_that_never_pause(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int | None) -> None:
    """A passive checkpoint that writers overtake never lets the WAL restart; past
    MAX_WAL_FRAMES the checkpointer truncates it. (Unbounded: the 3 KiB a trial it grew by.)"""
    from hyperdial.storage.sql import _Checkpointer

    monkeypatch.setattr(_Checkpointer, "EVERY", 50)
    monkeypatch.setattr(_Checkpointer, "MAX_WAL_FRAMES", limit or 10**9)
    path = tmp_path / "wal.db"
    study = hd.create_study(storage=f"sqlite:///{path}", sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1500)
    checkpointer = study._storage._checkpointer
    checkpointer.ran.clear()
    for _ in range(50):
        checkpointer.committed()
    assert checkpointer.ran.wait(30)
    wal = Path(f"{path}-wal").stat().st_size
    if limit is None:
        assert wal > 3_000_000
    else:
        assert wal < 1_000_000
    assert len(study.trials) == 1500
    study._storage.close()


# -- threads, pickling, forks ---------------------------------------------------------------------
@pytest.mark.parametrize("url", ["file", "sqlite://"])
def test_threads_share_one_storage(tmp_path: Path, url: str) -> None:
    storage = SQLStorage(f"sqlite:///{tmp_path / 'threads.db'}" if url == "file" else url)
    info = storage.create_study("s", MIN)

    def trials(_: int) -> list[int]:
        numbers = [new_trial(storage, info.id) for _ in range(25)]
        for n in numbers:
            storage.append(info.id, n, [finish_event("COMPLETE", float(n))])
        return numbers

    with ThreadPoolExecutor(4) as pool:
        numbers = sorted(n for batch in pool.map(trials, range(4)) for n in batch)
    assert numbers == list(range(100))
    assert {r.state for r in synced_view(storage, info).records} == {TrialState.COMPLETE}
    for _ in range(8):  # threads that come and go reuse the connections of ended ones
        thread = threading.Thread(target=storage.studies)
        thread.start()
        thread.join()
    assert len(storage._sessions) <= 5
    storage.close()


def test_pickles_as_its_url_and_engine_kwargs(db_url: str) -> None:
    storage = SQLStorage(db_url, engine_kwargs={"echo": False})
    storage.create_study("s", MIN)
    clone = pickle.loads(pickle.dumps(storage))
    assert isinstance(clone, SQLStorage) and clone is not storage
    assert (clone.url, clone.studies()) == (db_url, storage.studies())
    assert clone._engine_kwargs == {"echo": False}
    clone.close()
    storage.close()
    memory = SQLStorage("sqlite://")
    with pytest.raises(TypeError, match="in-memory"):
        pickle.dumps(memory)
    memory.close()


@contextmanager
def forked(target: Callable[..., None], *args: Any) -> Iterator[Callable[[], Any]]:
    """Run ``target(*args, out)`` in a forked child; yields a getter for what the child puts in
    ``out``, and checks on leaving that the child ended cleanly."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    with warnings.catch_warnings():  # Python >= 3.12 warns about fork() with threads around
        warnings.simplefilter("ignore", DeprecationWarning)
        child = ctx.Process(target=target, args=(*args, out))
        child.start()
    yield lambda: out.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0


def _new_trial_in_child(storage: SQLStorage, study_id: int, out: Any) -> None:
    out.put(storage.create_trial(study_id, {}))
    storage.close()  # must leave the parent's connections alone


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_uses_its_own_connection(db_storage: SQLStorage) -> None:
    storage = db_storage
    info = storage.create_study("s", MIN)
    assert storage.create_trial(info.id, {}) == 0  # the parent holds an open connection
    with forked(_new_trial_in_child, storage, info.id) as result:
        assert result() == 1
    assert storage.create_trial(info.id, {}) == 2  # the parent's connection still works
    assert [r.number for r in storage.read(info.id)] == [0, 1, 2]


def _lock_fds_in_child(storage: SQLStorage, study_id: int, out: Any) -> None:
    from hyperdial.storage.sql import _INHERITED, _Session

    inherited = [s.lock_fd for s in _INHERITED if isinstance(s, _Session)]
    number = storage.create_trial(study_id, {})  # a lock of its own, not the parent's
    out.put((len(inherited) > 0 and all(fd is None for fd in inherited), number))
    storage.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_drops_the_parents_writer_lock(tmp_path: Path) -> None:
    """A child forked while the parent holds the writers' lock closes its copy of that
    descriptor, so the lock ends with the parent's release (or death), and the child writes
    with a lock of its own once the parent is done."""
    import fcntl

    storage = SQLStorage(f"sqlite:///{tmp_path / 'forklock.db'}")
    info = storage.create_study("s", MIN)
    session = storage._session()
    assert session.lock_writers()  # a write in progress in the parent
    with forked(_lock_fds_in_child, storage, info.id) as result:
        session.unlock_writers()
        assert result() == (True, 0)
    with open(f"{tmp_path / 'forklock.db'}-lock", "rb") as other:  # free again
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    storage.close()


def _checkpoints_in_child(storage: SQLStorage, study_id: int, out: Any) -> None:
    from hyperdial.storage.sql import _Checkpointer

    checkpointer = storage._checkpointer
    assert checkpointer is not None
    for _ in range(_Checkpointer.EVERY // 2):
        storage.append(study_id, new_trial(storage, study_id), [finish_event()])
    ran = checkpointer.ran.wait(30)
    out.put((ran, [t.name for t in threading.enumerate()].count("hyperdial-checkpoint")))
    storage.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_runs_its_own_checkpoints(tmp_path: Path) -> None:
    """The checkpoint thread does not survive a fork: the child starts its own, on its own
    connection, and the parent's goes on."""
    from hyperdial.storage.sql import _Checkpointer

    storage = SQLStorage(f"sqlite:///{tmp_path / 'fork.db'}")
    info = storage.create_study("s", MIN)
    checkpointer = storage._checkpointer
    assert checkpointer is not None
    for _ in range(_Checkpointer.EVERY // 2):
        storage.append(info.id, new_trial(storage, info.id), [finish_event()])
    assert checkpointer.ran.wait(30)  # the parent's thread is running now
    with forked(_checkpoints_in_child, storage, info.id) as result:
        assert result() == (True, 1)
    checkpointer.ran.clear()
    for _ in range(_Checkpointer.EVERY // 2):
        storage.append(info.id, new_trial(storage, info.id), [finish_event()])
    assert checkpointer.ran.wait(30)
    assert len({r.number for r in storage.read(info.id)}) == 3 * (_Checkpointer.EVERY // 2)
    storage.close()


@pytest.mark.postgres
@pytest.mark.parametrize("first", ["read", "write"])
def test_a_connection_the_server_dropped_is_replaced_without_an_error(
        pg_url: str, first: str) -> None:
    """As after a server restart: the read, or the write's BEGIN, that finds its connection
    closed wrote nothing, so it runs again on a new one."""
    import psycopg

    url = make_url(pg_url).update_query_dict({"application_name": "hd-dropped"})
    storage = SQLStorage(url.render_as_string(hide_password=False))
    info = storage.create_study("s", MIN)
    admin = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE application_name = 'hd-dropped'")
    if first == "read":
        assert storage.studies() == [info]
    assert new_trial(storage, info.id) == 0
    assert [r.number for r in storage.read(info.id)] == [0]
    storage.close()


@pytest.mark.postgres
def test_a_server_that_cannot_be_reached_is_a_storage_error(pg_url: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    url = make_url(pg_url).set(port=port, password="secret")
    with pytest.raises(StorageError, match=rf"(?s)connection to .*:{port}.*Is the server running"
                       ) as raised:
        SQLStorage(url.render_as_string(hide_password=False))
    assert "secret" not in str(raised.value)


class _Forwarder:
    """A TCP forwarder to the test server, which can be cut: the way to the server goes
    down (connections broken, new ones refused) while the server itself runs on."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener was closed
            while True:
                near, _ = self.listener.accept()
                far = socket.create_connection(("127.0.0.1", self.target))
                self.open += [near, far]
                for a, b in ((near, far), (far, near)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept(), which close() does not
        self.listener.close()
        for sock in self.open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.mark.postgres
def test_a_server_gone_while_a_study_is_open_is_a_storage_error(pg_url: str) -> None:
    """The retry on a new connection raised the driver's own psycopg.OperationalError,
    which named no storage; a new storage gave the StorageError the docs promise."""
    url = make_url(pg_url)
    way = _Forwarder(url.port or 5432)
    study = hd.create_study(study_name="s", storage=url.set(
        host="127.0.0.1", port=way.port, password="secret").render_as_string(
        hide_password=False))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    way.cut()
    for call in (lambda: study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1),
                 lambda: study.trials):
        with pytest.raises(StorageError, match=rf"(?s)connection to .*:{way.port}.*"
                                               "Is the server running") as raised:
            call()
        assert "secret" not in str(raised.value)


def test_claiming_a_waiting_trial_uses_the_partial_index(tmp_path: Path) -> None:
    """Without it, every ask scans all of a study's trials: the cost per trial then grows
    with the study (seen once, with a WITHOUT ROWID trials table)."""
    path = tmp_path / "plan.db"
    storage = SQLStorage(f"sqlite:///{path}")
    storage.close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute("EXPLAIN QUERY PLAN SELECT min(number) FROM trials "
                            "WHERE study_id = 1 AND state = 'WAITING'").fetchall()
    assert "ix_trials_waiting" in str(plan)


def test_a_wal_database_in_a_read_only_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "wal.db"
    SQLStorage(f"sqlite:///{path}").close()  # WAL mode; its -wal and -shm are gone
    folder.chmod(0o555)
    chattr = shutil.which("chattr")
    locked = (os.access(folder, os.W_OK) and chattr is not None  # root: chattr, if it can
              and subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode == 0)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("cannot make the folder read-only here")
        with pytest.raises(StorageError, match=re.escape(
                f"cannot open {path} (unable to open database file). Is its folder there and "
                "writable? SQLite needs")) as raised:
            SQLStorage(f"sqlite:///{path}")
        assert f"sqlite:///file:{path}?immutable=1&uri=true" in str(raised.value)
        # ... and what it suggests does read it.
        assert SQLStorage(f"sqlite:///file:{path}?immutable=1&uri=true").studies() == []
    finally:
        if locked:
            subprocess.run([chattr, "-i", str(folder)], check=True)
        folder.chmod(0o755)


def _closed_file_of_300_trials(path: Path) -> StudyInfo:
    """A SQLite file holding one study of 300 finished trials, closed (its WAL folded in)."""
    storage = SQLStorage(f"sqlite:///{path}")
    info = storage.create_study("s", MIN)
    for _ in range(300):
        storage.append(info.id, new_trial(storage, info.id), [finish_event()])
    storage.close()
    return info


def test_corrupt_pages_are_a_clear_error_that_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    info = _closed_file_of_300_trials(path)
    with path.open("r+b") as f:  # the header and the schema (the first pages) stay whole
        f.seek(path.stat().st_size // 2)
        f.write(b"\xff" * 8192)
    storage = SQLStorage(f"sqlite:///{path}")
    with pytest.raises(StorageError, match=re.escape(
            f"is damaged (database disk image is malformed): SQLite found corrupt pages in "
            f"{path}. Copy what can be saved to a new file with `sqlite3 {path} .recover")):
        storage.read(info.id)
    storage.close()


def test_a_truncated_file_is_called_damaged_with_the_recovery_hint(tmp_path: Path) -> None:
    """Cut short, the file failed at opening with "not a hyperdial database (or it is
    corrupt)", without the way to save what is left that corrupt pages get."""
    path = tmp_path / "cut.db"
    _closed_file_of_300_trials(path)
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)
    with pytest.raises(StorageError, match=re.escape(
            f"is damaged (database disk image is malformed): SQLite found corrupt pages in "
            f"{path}. Copy what can be saved")):
        hd.load_study(study_name="s", storage=f"sqlite:///{path}")


def test_a_url_is_read_alike_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A percent-encoded path created the study but load_study looked for the raw text; a
    URL's ?timeout=N was overridden by hyperdial's 30 s; and the writers' lock file of a
    relative path followed the current folder (threads after a chdir locked another file)."""
    folder = tmp_path / "sp ace"
    folder.mkdir()
    url = f"sqlite:///{str(folder).replace(' ', '%20')}/x.db"
    hd.create_study(study_name="s", storage=url)
    assert hd.load_study(study_name="s", storage=url).study_name == "s"
    hd.copy_study(from_study_name="s", from_storage=url, to_storage=url, to_study_name="t")
    hd.delete_study(study_name="s", storage=url)
    assert hd.get_all_study_names(url) == ["t"]
    timed = SQLStorage(f"sqlite:///{tmp_path / 'q.db'}?timeout=5")
    assert timed._lock_wait[0] == 5.0
    for bad in ("nan", "-5", "abc"):  # (NaN waited forever)
        with pytest.raises(ValueError, match=r"\?timeout= in a SQLite URL .* got '"):
            SQLStorage(f"sqlite:///{tmp_path / 'q.db'}?timeout={bad}")
    with closing(timed._engine.raw_connection()) as connection:
        assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    monkeypatch.chdir(tmp_path)
    relative = SQLStorage("sqlite:///rel.db")
    assert relative._lock_path == str(tmp_path / "rel.db-lock")


def test_a_full_disk_is_a_storage_error(tmp_path: Path) -> None:
    """SQLite's "database or disk is full" came out as the driver's bare OperationalError."""
    storage = SQLStorage(f"sqlite:///{tmp_path / 'full.db'}")
    full = sqlite3.OperationalError("database or disk is full")
    with pytest.raises(StorageError, match=r"the disk holding .*full\.db is full"):
        storage._raise_clearly(full)
