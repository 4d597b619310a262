"""SQL storage for SQLite and PostgreSQL: the event log of `_schema`, written through SQLAlchemy.

SQLAlchemy Core owns the schema, the dialects, the connections and the SQL text: every
statement below is a Core construct, compiled once per storage for its dialect. The hot path
then hands that text to the driver's cursor directly, on one connection per thread, with no
per-call compilation or result wrapping (5x less overhead than ``Connection.execute``): a full
trial is two short write transactions (create, finish) and one read query (the sync).

Transactions are explicit on both dialects: the driver runs in autocommit, reads are single
statements (one consistent snapshot each, no lock), and a write starts with ``BEGIN`` and then
takes its study's write lock first. On SQLite that lock is the database's (``BEGIN IMMEDIATE``
in WAL mode: readers never wait, writers queue behind a 30 s busy timeout instead of failing);
on PostgreSQL it is ``SELECT ... FOR NO KEY UPDATE`` on the study row, in a statement of its
own so that what the transaction reads next is current. Holding it keeps trial numbers
gap-free and makes a study's event ids become visible in id order, so a reader that fetches
``id > last_seen`` never misses an event that committed late.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import operator
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from typing import Any, TypeVar

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Connection,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy import bindparam as param
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, OperationalError
from sqlalchemy.pool import NullPool, StaticPool

try:
    import fcntl

    from hyperdial.storage._filelock import lock_exclusive
except ImportError:  # Windows: writers rely on SQLite's busy wait alone
    fcntl = None  # type: ignore[assignment]

from hyperdial.exceptions import (
    DuplicatedStudy,
    NotAHyperdialStorage,
    SchemaVersionError,
    StorageBusy,
    StorageError,
    StorageReadOnly,
    StudyNotFound,
    TrialFinishedError,
    TrialNotFound,
)
from hyperdial.history import StudyDirection
from hyperdial.storage._schema import (
    APPLICATION,
    EVENT_ID_BITS,
    HYPERDIAL_TABLES,
    MAX_SQLITE_STUDY_ID,
    SCHEMA_VERSION,
    events,
    meta,
    metadata,
    studies,
    trials,
)
from hyperdial.storage.base import (
    Event,
    EventRow,
    Storage,
    StudyInfo,
    encode_json,
    now,
    study_not_found,
)
from hyperdial.trial import STALE_REASON, TrialState, state_of

_logger = logging.getLogger("hyperdial")
_T = TypeVar("_T")
_Bind = Callable[[Mapping[str, Any]], Any]
_decode = json.loads


def _inline(state: TrialState) -> ColumnElement[str]:
    """A state as a SQL literal: the planner can then match partial indexes."""
    return literal_column(f"'{state.value}'")


def _is(*states: TrialState) -> ColumnElement[bool]:
    column = trials.c.state
    return column == _inline(states[0]) if len(states) == 1 else column.in_(map(_inline, states))


# -- statements ---------------------------------------------------------------------------------
# The largest trial number of the study in the outer query (none: no trial yet).
_LAST_NUMBER = (select(func.max(trials.c.number)).where(trials.c.study_id == studies.c.id)
                .scalar_subquery())
_STUDY_COLUMNS = (studies.c.id, studies.c.name, studies.c.directions, studies.c.user_attrs,
                  _LAST_NUMBER)
_ALL_STUDIES = select(*_STUDY_COLUMNS).order_by(studies.c.id)
_STUDY_BY_NAME = select(*_STUDY_COLUMNS).where(studies.c.name == param("name"))
_STUDY_EXISTS = select(studies.c.id).where(studies.c.id == param("sid"))
_STUDY_ID = select(studies.c.id).where(studies.c.name == param("name"))
_NAMES_TAKEN = select(studies.c.name).where(
    or_(studies.c.name == param("name"), studies.c.name == param("new_name")))
_INSERT_STUDY = insert(studies).values(
    name=param("name"), directions=param("directions"), user_attrs=param("user_attrs"),
    created_at=param("t")).returning(studies.c.id)
_RENAME_STUDY = update(studies).where(studies.c.name == param("name")).values(
    name=param("new_name"))
_STUDY_ATTRS = select(studies.c.user_attrs).where(studies.c.id == param("sid"))
_SET_STUDY_ATTRS = update(studies).where(studies.c.id == param("sid")).values(
    user_attrs=param("user_attrs"))
# A study's rows, children first: SQLite enforces no foreign keys (see `_SQLITE_PRAGMAS`).
_DELETE_TRIALS = delete(trials).where(trials.c.study_id == param("sid"))
_DELETE_STUDY = delete(studies).where(studies.c.id == param("sid"))
_DELETE_STUDY_NAMED = delete(studies).where(studies.c.name == param("name"))  # PostgreSQL

# The study's write lock on PostgreSQL (SQLite's BEGIN IMMEDIATE has locked the database).
_LOCK_STUDY = (select(studies.c.id).where(studies.c.id == param("sid"))
               .with_for_update(key_share=True))
_OLDEST_WAITING = (select(func.min(trials.c.number))
                   .where(trials.c.study_id == studies.c.id, _is(TrialState.WAITING))
                   .scalar_subquery())
_NEXT_AND_WAITING = select(_LAST_NUMBER, _OLDEST_WAITING).where(studies.c.id == param("sid"))
_KEY_TAKEN = select(trials.c.number).where(
    trials.c.study_id == param("sid"), trials.c.key == param("key"))
_INSERT_TRIAL = insert(trials).inline().values(
    study_id=param("sid"), number=param("num"), state=param("state"), key=param("key"),
    heartbeat_at=param("beat"))
_this_trial = and_(trials.c.study_id == param("sid"), trials.c.number == param("num"))
_TRIAL_STATE = select(trials.c.state).where(_this_trial)
# Conditional on the trial being open, so that of two racing state changes one finds nothing.
_SET_STATE = (update(trials).where(_this_trial, _is(TrialState.RUNNING, TrialState.WAITING))
              .values(state=param("new_state")))
_FINISH = _SET_STATE.values(heartbeat_at=null())
_HEARTBEAT = (update(trials).where(_this_trial, _is(TrialState.RUNNING))
              .values(heartbeat_at=param("t")))
# Stale candidates, read without a lock: a study with none is one row of NULL (no row at all:
# no such study), so the usual check, which finds none, writes nothing and waits for no writer.
_STALE = (select(trials.c.number)
          .select_from(studies.outerjoin(trials, and_(
              trials.c.study_id == studies.c.id, _is(TrialState.RUNNING),
              trials.c.heartbeat_at < param("cutoff"))))
          .where(studies.c.id == param("sid")))
_FAIL_STALE = (update(trials)
               .where(trials.c.study_id == param("sid"), _is(TrialState.RUNNING),
                      trials.c.heartbeat_at < param("cutoff"))
               .values(state=_inline(TrialState.FAIL), heartbeat_at=null())
               .returning(trials.c.number))

# Events. PostgreSQL numbers them from its sequence and reads a study's through its index.
# SQLite's ids are the study's range, sid << EVENT_ID_BITS plus 1, 2, ...: the statements take
# its ends as ``lo`` (excluded) and ``hi`` (included), and `read` returns the numbers in it.
_INSERT_EVENT = insert(events).inline().values(  # inline: no RETURNING of the new id
    study_id=param("sid"), number=param("num"), kind=param("kind"), data=param("data"))
_EVENT_SPAN = 1 << EVENT_ID_BITS
_ROWS_PER_INSERT = 100  # SQLite event rows a statement inserts at most (5 parameters each)


# A SQLite event row: id, study, number, kind, data. Several go in one statement (`_rows_sql`).
_SQLITE_INSERT_EVENT = insert(events).values(
    id=param("id"), study_id=param("sid"), number=param("num"), kind=param("kind"),
    data=param("data"))


@functools.cache
def _rows_sql(one_row: str, n: int) -> str:
    """A one-row ``INSERT ... VALUES (?, ...)``, as the dialect compiled it, for ``n`` rows
    (compiling each count with SQLAlchemy cost a millisecond in a run's first trials)."""
    head, values, row = one_row.rpartition(" VALUES ")
    return head + values + ", ".join([row] * n)


_in_range = and_(events.c.id > param("lo"), events.c.id <= param("hi"))
_LAST_EVENT = select(func.max(events.c.id)).where(_in_range).scalar_subquery()
# SQLite, under the lock: the study's largest trial number, oldest waiting trial, last event.
_SQLITE_NEXT = select(_LAST_NUMBER, _OLDEST_WAITING, _LAST_EVENT).where(
    studies.c.id == param("sid"))
_SQLITE_LAST_EVENT = select(_LAST_EVENT)
_SQLITE_DELETE_EVENTS = delete(events).where(_in_range)
# Events after one, joined to the study row: no row at all means no such study.
_READ = (select(events.c.id, events.c.number, events.c.kind, events.c.data)
         .select_from(studies.outerjoin(events, and_(events.c.study_id == studies.c.id,
                                                     events.c.id > param("after"))))
         .where(studies.c.id == param("sid"))
         .order_by(events.c.id))
_SQLITE_READ = (select(events.c.id - param("base"), events.c.number, events.c.kind,
                       events.c.data)
                .select_from(studies.outerjoin(events, _in_range))
                .where(studies.c.id == param("sid"))
                .order_by(events.c.id))
_READ_PART = _READ.limit(param("limit")).offset(param("offset"))
_SQLITE_READ_PART = _SQLITE_READ.limit(param("limit")).offset(param("offset"))  # (SQLite: both)

_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6  # primary result codes of a lock held too long
_SQLITE_READONLY = 8  # primary result code of a write to a file this process cannot write
_SQLITE_CORRUPT, _SQLITE_CANTOPEN = 11, 14  # damaged pages; a file (or its -shm) not opened
_SQLITE_FULL = 13  # primary result code of a write that found the disk (or a quota) full
_PG_SCHEMA_LOCK = 0x6879_7065_7264_6961  # pg_advisory_xact_lock key while creating tables
# No automatic checkpoints: `_Checkpointer` runs them in a thread of its own. The page size
# applies to a new file only: a commit writes each page it dirtied to the WAL whole, and a
# trial's rows (a few hundred bytes) dirty four or five, so 1 KiB pages write a quarter of
# the bytes of SQLite's default 4 KiB: 42 against 54 us per trial in a bare sqlite3 loop of
# the same statements, a gain within the noise of a whole `optimize` trial. The busy timeout
# is sqlite3's ``timeout`` connect argument (30 s unless ``engine_kwargs`` say otherwise).
# Foreign keys off (SQLite's default, unless built otherwise): each insert would look its
# study up, and deleting a study would scan the events for its children, which have no index
# on the study (see `_schema`). Every write checks its study under the lock, and a deletion
# deletes its rows.
_SQLITE_PRAGMAS = ("PRAGMA page_size=1024", "PRAGMA synchronous=NORMAL",
                   "PRAGMA foreign_keys=OFF", "PRAGMA wal_autocheckpoint=0")


def _sqlite_error_is(exc: BaseException | None, primary: tuple[int, ...], *words: str) -> bool:
    """Whether a sqlite3 error has one of the ``primary`` result codes (Python 3.11+ gives
    them), or before 3.11 one of ``words`` in its message."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (code & 0xFF in primary if code is not None
            else any(word in str(exc) for word in words))


def _configure_sqlite(dbapi_conn: Any, _record: Any) -> None:
    """Per-connection SQLite settings (INFRA.md §4); WAL is set once, after the schema check."""
    dbapi_conn.isolation_level = None  # no implicit BEGIN: we issue BEGIN IMMEDIATE ourselves
    cursor = dbapi_conn.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _configure_postgresql(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.autocommit = True  # no implicit BEGIN: reads need no transaction


class _Session:
    """A thread's connection: SQLAlchemy's pooled handle, the driver's own object, a cursor,
    and, for a SQLite file, its own descriptor of the writers' lock file."""

    __slots__ = ("conn", "cursor", "driver", "lock_fd", "lock_wait", "owner")

    def __init__(self, owner: threading.Thread, conn: Any, lock_path: str | None,
                 lock_wait: tuple[float, str]) -> None:
        self.owner = owner
        self.conn = conn
        self.driver = conn.driver_connection
        self.cursor = self.driver.cursor()
        self.lock_fd: int | None = None
        self.lock_wait = lock_wait  # the busy timeout, and what `StorageBusy` names
        if lock_path is not None and fcntl is not None:
            # In a read-only directory, writers fall back to SQLite's busy wait.
            with suppress(OSError):
                self.lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def lock_writers(self) -> bool:
        """Queue behind the other writers of this SQLite file in the kernel; True if locked.

        SQLite's own busy handler polls with sleeps of 1 ms and more while the lock is held
        for some 50 microseconds, so that with several workers most of the time went to
        sleeping. An ``flock`` on a file beside the database is tried for a moment, yielding
        the core, then polled with sleeps from 50 us up to 5 ms, and given up with
        `StorageBusy` after the busy timeout (`lock_exclusive`); the kernel drops it if its
        holder dies. Each session has its own descriptor, so threads of one process queue too.
        """
        fd = self.lock_fd
        if fd is None:
            return False
        try:
            lock_exclusive(fd, *self.lock_wait)
        except OSError:  # a file system without flock: fall back to SQLite's busy wait
            self.lock_fd = None
            os.close(fd)
            return False
        return True

    def unlock_writers(self) -> None:
        if self.lock_fd is not None:  # else closed meanwhile, which released it
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.cursor.close()
        self.conn.close()
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


class _Checkpointer:
    """Copies a SQLite file's WAL back into the database in a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold; its two
    disk syncs (up to 100 ms here) stalled that writer every ~125 trials and, under the
    writers' lock, every other writer with it: 40 % of a trial's storage time. Our connections
    run with ``wal_autocheckpoint=0`` and wake this thread every `EVERY` commits instead. A
    PASSIVE checkpoint waits for no reader or writer, and the syncs release the GIL.

    A writer restarts the WAL from its start only after a checkpoint reached its end, which a
    passive one never does while writers commit during it: a study of cheap trials grew its
    WAL by 3 KiB a trial for as long as it ran (10 MB at 3,000). Past `MAX_WAL_FRAMES`, this
    thread copies the few frames since its last pass with writers held off (TRUNCATE), some
    milliseconds every few thousand trials, and the WAL starts again from nothing; unless a
    reader is in a snapshot, when it gives up and tries at its next pass.
    """

    EVERY = 250  # commits, about 1,000 WAL pages: SQLite's own threshold
    MAX_WAL_FRAMES = 16_384  # 16 MiB of 1 KiB pages
    # What the TRUNCATE waits for readers to let go, holding writers off meanwhile: with a
    # reader always in a snapshot (a dashboard reading all the time) 200 ms here stalled the
    # writers 14 times in 12,000 trials; 10 ms stalled them never, and halved the WAL's growth.
    TRUNCATE_WAIT_MS = 10

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._commits = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        #: Set after each checkpoint (tests wait on it).
        self.ran = threading.Event()

    def committed(self) -> None:
        """Count a commit; every `EVERY`-th wakes the thread (starting it on first use)."""
        self._commits += 1  # a count lost to a thread race only delays one checkpoint
        if self._commits % self.EVERY:
            return
        with self._lock:
            if self._stopping:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hyperdial-checkpoint",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    if self._conn is None:
                        self._conn = self._engine.raw_connection()
                    self._checkpoint(self._conn.driver_connection)
                except Exception as exc:  # the WAL only grows until the next one succeeds
                    _logger.debug("WAL checkpoint failed: %s", exc)
                self.ran.set()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _checkpoint(self, conn: Any) -> None:
        _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames >= self.MAX_WAL_FRAMES:
            (timeout,) = conn.execute("PRAGMA busy_timeout").fetchone()
            conn.execute(f"PRAGMA busy_timeout={self.TRUNCATE_WAIT_MS}")
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                conn.execute(f"PRAGMA busy_timeout={timeout}")

    def close(self) -> None:
        """Stop the thread (it restarts on the next `EVERY`-th commit)."""
        with self._lock:
            self._stopping = True
            thread, self._thread = self._thread, None
        self._wake.set()
        if thread is not None:
            thread.join()
        with self._lock:
            self._stopping = False
            self._wake.clear()

    def forget(self) -> None:
        """In a forked child: the thread did not come along; its connection is the parent's."""
        if self._conn is not None:
            _INHERITED.append(self._conn)
        self._conn, self._thread = None, None
        self._lock, self._wake, self.ran = threading.Lock(), threading.Event(), threading.Event()


class _Write:
    """`SQLStorage._write`: the writers' lock and BEGIN on entry; on exit COMMIT, or after an
    error ROLLBACK and the error as `SQLStorage._raise_clearly` words it. A class, not a
    generator's context: a microsecond less on every trial's write."""

    __slots__ = ("_locked", "_session", "_storage")

    def __init__(self, storage: SQLStorage) -> None:
        self._storage = storage

    def __enter__(self) -> Any:
        storage = self._storage
        storage._serial.__enter__()
        try:
            self._session, self._locked = storage._live(storage._start_write)
        except BaseException:
            storage._serial.__exit__(None, None, None)
            raise
        return self._session.cursor

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        storage, session = self._storage, self._session
        try:
            if exc is not None:
                storage._recover(session)
                storage._raise_clearly(exc)
                return  # the body's error goes on
            try:
                session.driver.commit()
            except BaseException as failed:
                storage._recover(session)
                storage._raise_clearly(failed)
                raise
        finally:
            if self._locked:
                session.unlock_writers()
            storage._serial.__exit__(None, None, None)
        if storage._checkpointer is not None:
            storage._checkpointer.committed()


def _url_timeout(parsed: URL) -> float:
    """A SQLite URL's ``?timeout=N`` (seconds a writer waits for the file), 30 without one;
    a value that is not a finite number >= 0 is refused (NaN waited forever)."""
    given = parsed.query.get("timeout", "30")
    text = given if isinstance(given, str) else given[-1]
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"?timeout= in a SQLite URL is the seconds a writer waits, a number "
                         f">= 0; got {text!r}")
    return seconds


class SQLStorage(Storage):
    """Storage in a SQLite file, an in-memory SQLite database or a PostgreSQL database.

    ``url`` is a SQLAlchemy URL: ``sqlite:///path.db``, ``sqlite://`` (in memory, lives until
    `close`), ``postgresql+psycopg://user@host/db`` (plain ``postgresql://`` means psycopg 3).
    ``engine_kwargs`` go to `sqlalchemy.create_engine`. The database must be empty or a
    hyperdial one: anything else raises `NotAHyperdialStorage` and is left untouched. Thread-safe;
    pickles as its URL, so a worker process opens its own connections.
    """

    def __init__(self, url: str, *, engine_kwargs: Mapping[str, Any] | None = None) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ValueError(f"not a storage URL: {url!r} (try sqlite:///file.db)") from None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported storage URL scheme {parsed.drivername!r}: hyperdial "
                             "stores studies in sqlite:/// or postgresql+psycopg:// databases "
                             "or journal:/// files")
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = url
        self._where = parsed.render_as_string(hide_password=True)
        self._engine_kwargs = dict(engine_kwargs or {})
        self._sqlite = backend == "sqlite"
        self._memory = _sqlite_in_memory(parsed)
        database = parsed.database or ""
        self._lock_path: str | None = None
        self._path = database  # for messages: a SQLite file's absolute path, or its URI
        if self._sqlite and not self._memory and not database.startswith("file:"):  # a path
            self._path = os.path.abspath(database)
            folder = os.path.dirname(os.path.abspath(database))
            if not os.path.isdir(folder):  # sqlite3 would only say "unable to open"
                raise FileNotFoundError(f"cannot open {self._where}: the folder {folder} does "
                                        "not exist (SQLite creates the file, not its folder)")
            if os.path.isdir(database):
                raise IsADirectoryError(f"cannot open {self._where}: {os.path.abspath(database)} "
                                        "is a folder; name a database file inside it")
            self._lock_path = f"{self._path}-lock"  # (beside the file, whatever the cwd)
        kwargs: dict[str, Any] = {"poolclass": StaticPool if self._memory else NullPool}
        connect_args: dict[str, Any] = {}
        if self._sqlite:  # a thread may adopt the connection of a thread that has ended
            connect_args = {"check_same_thread": False, "timeout": _url_timeout(parsed)}
            # Positional parameters: sqlite3 binds a tuple faster than it looks names up in a
            # dict (61 against 69 us per trial in a bare loop of our statements).
            kwargs["paramstyle"] = "qmark"
        kwargs.update(self._engine_kwargs)
        kwargs["connect_args"] = {**connect_args, **self._engine_kwargs.get("connect_args", {})}
        # The writers' lock file (SQLite only) waits as long as SQLite's busy handler does.
        self._lock_wait = (float(kwargs["connect_args"].get("timeout", 30.0)),
                           f"{self._where} (its writers' lock file {self._lock_path})")
        self._engine = create_engine(parsed, **kwargs)
        if self._sqlite and (version := self._engine.dialect.loaded_dbapi.sqlite_version_info
                             ) < (3, 35):  # RETURNING, DROP COLUMN
            raise StorageError(f"hyperdial needs SQLite 3.35 or later; this Python's sqlite3 "
                               f"module has {'.'.join(map(str, version))}")
        event.listen(self._engine, "connect",
                     _configure_sqlite if self._sqlite else _configure_postgresql)
        self._begin = "BEGIN IMMEDIATE" if self._sqlite else "BEGIN"
        self._integrity_error: type[Exception] = self._engine.dialect.loaded_dbapi.IntegrityError
        self._sql: dict[ClauseElement, tuple[str, _Bind]] = {}
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _sessions and _prepared
        self._sessions: list[_Session] = []
        self._prepared = False
        # Also when the storage is dropped unclosed (get_storage(url) makes throwaway ones).
        self._checkpointer = (_Checkpointer(self._engine) if self._sqlite and not self._memory
                              else None)
        weakref.finalize(self, _close_sessions, self._sessions, self._engine,
                         self._checkpointer)
        # An in-memory database has one connection, so its transactions take turns.
        self._serial: AbstractContextManager[Any] = (
            threading.Lock() if self._memory else nullcontext())
        try:
            self._session()
        except BaseException:
            self.close()
            raise
        if not self._memory:
            _LIVE.add(self)

    def __repr__(self) -> str:
        return f"SQLStorage({self._where!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        if self._memory:
            raise TypeError("an in-memory SQLite storage cannot leave its process")
        return (_reopen, (self.url, self._engine_kwargs))

    # -- connections, transactions, statements ----------------------------------------------
    def _session(self) -> _Session:
        session: _Session | None = getattr(self._local, "session", None)
        return session if session is not None else self._attach()

    def _attach(self) -> _Session:
        """Give this thread a session: the only one in memory, one that a finished thread left
        behind, or a new one (checking the database before the first)."""
        me = threading.current_thread()
        with self._lock:
            if not self._prepared:
                self._prepare()
                self._prepared = True
            for session in self._sessions:
                if self._memory or not session.owner.is_alive():
                    session.owner = me
                    break
            else:
                session = _Session(me, self._engine.raw_connection(), self._lock_path,
                                   self._lock_wait)
                self._sessions.append(session)
        self._local.session = session
        return session

    def _forget_sessions(self) -> None:
        """In a forked child: never use nor close the parent's connections (see `_after_fork`).

        The copies of the writers' lock descriptors are closed, though: a lock the parent
        held at the fork would otherwise outlive the parent's death for as long as the child
        runs (an ``flock`` lasts until the last descriptor of it closes), and closing them
        releases nothing the parent holds."""
        for session in self._sessions:
            if session.lock_fd is not None:
                os.close(session.lock_fd)
                session.lock_fd = None
        _INHERITED.extend(self._sessions)
        self._sessions.clear()
        self._local = threading.local()
        self._lock = threading.Lock()
        if self._checkpointer is not None:
            self._checkpointer.forget()
        self._engine.dispose(close=False)

    def close(self) -> None:
        """Close every connection; the storage reconnects if used again (in memory: empty)."""
        with self._lock:
            self._local = threading.local()
            if self._memory:
                self._prepared = False
            _close_sessions(self._sessions, self._engine, self._checkpointer)

    def _text(self, stmt: ClauseElement) -> tuple[str, _Bind]:
        """The statement's SQL for this dialect, compiled on first use, and what turns named
        parameters into the driver's (a tuple in order, for a dialect that binds by place)."""
        found = self._sql.get(stmt)
        if found is None:
            compiled = stmt.compile(dialect=self._engine.dialect)
            order = getattr(compiled, "positiontup", None)  # SQLCompiler: positional names
            found = self._sql[stmt] = (compiled.string, _binder(order))
        return found

    def _run(self, cursor: Any, stmt: ClauseElement, params: Mapping[str, Any]) -> Any:
        """Execute a statement on a driver cursor; returns the cursor."""
        sql, bind = self._text(stmt)
        return cursor.execute(sql, bind(params))

    def _run_many(self, cursor: Any, stmt: ClauseElement,
                  rows: Sequence[Mapping[str, Any]]) -> None:
        if len(rows) == 1:  # the common case; a driver's executemany costs more
            self._run(cursor, stmt, rows[0])
            return
        sql, bind = self._text(stmt)
        cursor.executemany(sql, [bind(row) for row in rows])

    def _fetch(self, stmt: ClauseElement, params: Mapping[str, Any]) -> list[Any]:
        """One read statement, outside any transaction (so it takes no lock)."""
        with self._serial:
            rows: list[Any] = self._live(
                lambda session: self._run(session.cursor, stmt, params).fetchall())[1]
        return rows

    def _write(self) -> _Write:
        """A write transaction on this thread's connection; ``with`` gives its cursor."""
        return _Write(self)

    def _start_write(self, session: _Session) -> bool:
        """Take the writers' lock (True if taken) and BEGIN; neither is held if it raises."""
        locked = session.lock_writers()
        try:
            session.cursor.execute(self._begin)
        except BaseException:
            if locked:
                session.unlock_writers()
            raise
        return locked

    def _live(self, run: Callable[[_Session], _T]) -> tuple[_Session, _T]:
        """``run`` on this thread's session, once more on a new connection if the server had
        closed this one (a restart, an idle timeout): ``run`` is a read or a BEGIN, which
        wrote nothing. Its errors otherwise raise, clearly where we can (`_raise_clearly`)."""
        retried = False
        while True:
            try:
                session = self._session()
            except Exception as exc:  # no connection to be had: SQLAlchemy's error, or the
                # driver's own from `raw_connection` (a new one, the server down)
                self._raise_clearly(exc.orig if isinstance(exc, DBAPIError) else exc)
                raise
            try:
                return session, run(session)
            except BaseException as exc:
                if not self._recover(session) or retried:
                    self._raise_clearly(exc)
                    raise
                retried = True

    def _raise_clearly(self, exc: BaseException | None) -> None:
        """Driver errors that say little to a user, as hyperdial's that say what to look for.
        SQLite's: "database is locked" after its busy timeout (`StorageBusy`), "attempt to
        write a readonly database", "unable to open database file", "database disk image
        is malformed" and "database or disk is full" (`StorageError`). PostgreSQL's
        connection errors (SQLSTATE class 08, a server shutting down 57P, none: the driver's
        own; an interface error: a connection closed already) as `StorageError`."""
        dbapi = self._engine.dialect.loaded_dbapi
        if not isinstance(exc, dbapi.Error):
            return
        if not self._sqlite:
            state = getattr(exc, "sqlstate", None) or ""
            if isinstance(exc, dbapi.InterfaceError) or (  # (a connection closed already)
                    isinstance(exc, dbapi.OperationalError)
                    and (state[:2] == "08" or state[:3] == "57P" or not state)):
                raise StorageError(
                    f"lost or could not open the connection to {self._where} "
                    f"({type(exc).__name__}: {str(exc).strip()}). Is the server running and "
                    "reachable? A write in flight, if any, may not have been committed.") from exc
            return
        is_ = functools.partial(_sqlite_error_is, exc)
        if is_((_SQLITE_CORRUPT,), "malformed"):
            raise StorageError(
                f"{self._where} is damaged ({exc}): SQLite found corrupt pages in "
                f"{self._path}. Copy what can be saved to a new file with `sqlite3 "
                f"{self._path} .recover | sqlite3 recovered.db`, and open that one") from exc
        if not isinstance(exc, dbapi.OperationalError):
            return
        if is_((_SQLITE_BUSY, _SQLITE_LOCKED), "locked", "busy"):
            raise StorageBusy(
                f"{self._where} stayed locked by another connection for longer than its busy "
                f"timeout ({exc}); nothing was written. Is another program holding a "
                "transaction open on it?") from exc
        if is_((_SQLITE_READONLY,), "readonly"):
            raise StorageReadOnly(
                f"{self._where} cannot be written by this process ({exc}); nothing was "
                "written. Writing needs write access to the file and to its folder (SQLite "
                "keeps a -wal and a -shm file beside it), and a URL without mode=ro") from exc
        if is_((_SQLITE_FULL,), "disk is full"):
            raise StorageError(
                f"{self._where} could not be written: the disk holding {self._path} is full "
                f"({exc}); the write was rolled back. Free some space and run again") from exc
        if is_((_SQLITE_CANTOPEN,), "unable to open"):
            raise StorageError(
                f"cannot open {self._path} ({exc}). Is its folder there and writable? SQLite "
                "needs to create a -wal and a -shm file beside a database in WAL mode "
                "(hyperdial's are), so reading one in a read-only folder fails too: read it as "
                f"sqlite:///file:{self._path}?immutable=1&uri=true (only while nothing "
                "writes to it), or copy it to a writable folder") from exc

    def _recover(self, session: _Session) -> bool:
        """After a failure: roll back, or drop a connection the server has closed (the next
        call opens a new one; True)."""
        if not getattr(session.driver, "closed", False):  # sqlite3 connections never break
            session.driver.rollback()
            return False
        with self._lock:
            self._sessions.remove(session)
        self._local.session = None
        session.conn.invalidate()
        return True

    def _lock_study(self, cursor: Any, study_id: int) -> None:
        """Take the study's write lock on PostgreSQL (a plain read on SQLite, which BEGIN
        IMMEDIATE has locked); StudyNotFound if there is no such study."""
        if self._run(cursor, _LOCK_STUDY, {"sid": study_id}).fetchone() is None:
            raise StudyNotFound(f"no study with id {study_id}")

    # -- opening a database -------------------------------------------------------------------
    def _prepare(self) -> None:
        """Check that the database is an up-to-date hyperdial one, creating the tables in an
        empty one and upgrading an older schema; anything else raises and is left exactly as
        it was."""
        try:
            with self._engine.connect() as conn:
                version = self._schema_version(conn)
                if version != SCHEMA_VERSION:
                    self._settle_schema(conn, version)
                if self._sqlite and not self._memory:  # persistent; only now that it is ours
                    self._enter_wal(conn)
                conn.commit()
        except DatabaseError as exc:
            self._raise_clearly(exc.orig)  # corrupt pages, locked, unreachable: said clearly
            if isinstance(exc, OperationalError):  # not our verdict either way
                raise
            raise NotAHyperdialStorage(
                f"{self._where} is not a hyperdial database (or it is corrupt): {exc.orig}"
            ) from exc

    def _enter_wal(self, conn: Connection) -> None:
        """Put the SQLite file in WAL mode (a no-op once it is), waiting out other writers.

        Leaving the rollback journal takes a read lock, then asks for the write lock; while
        another connection writes, SQLite refuses that at once rather than calling its busy
        handler (two such waiters could deadlock), so first openers racing on a new or an
        upgraded file failed. This waits as the busy handler would, up to the busy timeout.
        """
        deadline = time.monotonic() + self._lock_wait[0]
        sleep = 1e-3
        while True:
            try:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL").close()
                return
            except OperationalError as exc:
                if (not _sqlite_error_is(exc.orig, (_SQLITE_BUSY,), "database is locked")
                        or time.monotonic() > deadline):
                    raise
            time.sleep(sleep)
            sleep = min(2 * sleep, 0.05)

    def _settle_schema(self, conn: Connection, seen: int) -> None:
        """Create the tables, or upgrade them from an older version, under the write lock."""
        conn.rollback()
        try:
            conn.exec_driver_sql(self._begin)
            if not self._sqlite:  # BEGIN IMMEDIATE serialises SQLite; PostgreSQL needs a lock
                conn.execute(select(func.pg_advisory_xact_lock(_PG_SCHEMA_LOCK)))
            version = self._schema_version(conn)  # another process may have done it meanwhile
            if version == 0:
                metadata.create_all(conn, checkfirst=False)  # no table exists: checked above
                conn.execute(insert(meta), [
                    {"key": "application", "value": APPLICATION},
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)}])
            elif version == 1:
                self._upgrade_from_1(conn)
            conn.commit()
        except OperationalError as exc:
            if seen == 0:
                raise
            try:
                self._raise_clearly(exc.orig)  # locked: StorageBusy, which says it all
            except StorageBusy:
                raise
            except StorageError as clear:  # read-only, say
                reason = str(clear)
            else:
                reason = str(exc.orig)
            raise SchemaVersionError(
                f"{self._where} has hyperdial schema version {seen}, which this hyperdial "
                f"upgrades to version {SCHEMA_VERSION} on opening; the upgrade failed and left "
                f"the database as it was: {reason}") from exc
        if version == 1:
            _logger.info("upgraded %s from hyperdial schema version 1 to %d", self._where,
                         SCHEMA_VERSION)

    def _upgrade_from_1(self, conn: Connection) -> None:
        """Version 1 to 2, in the caller's transaction: the trial-number counter goes, the
        trials' waiting index gains ``state``; on SQLite, trials move to a table without
        rowid and events take ids in their study's range (see `_schema`). Old hyperdial
        versions refuse the result (a newer schema), so no one writes it the old way."""
        if self._sqlite:
            top = conn.execute(select(func.max(studies.c.id))).scalar() or 0
            if top > MAX_SQLITE_STUDY_ID:
                raise StorageError(f"{self._where} has study ids up to {top}; schema version "
                                   f"{SCHEMA_VERSION} holds ids up to {MAX_SQLITE_STUDY_ID} only")
            for name in ("ix_trials_waiting", "ux_trials_key", "ix_events_study_id"):
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
            conn.exec_driver_sql("ALTER TABLE trials RENAME TO trials_v1")
            conn.exec_driver_sql("ALTER TABLE events RENAME TO events_v1")
            metadata.create_all(conn, tables=[trials, events], checkfirst=False)
            conn.exec_driver_sql(
                "INSERT INTO trials (study_id, number, state, heartbeat_at, key) "
                "SELECT study_id, number, state, heartbeat_at, key FROM trials_v1")
            conn.exec_driver_sql(
                f"INSERT INTO events (id, study_id, number, kind, data) "
                f"SELECT (study_id << {EVENT_ID_BITS}) + row_number() OVER "
                f"(PARTITION BY study_id ORDER BY id), study_id, number, kind, data "
                f"FROM events_v1")
            conn.exec_driver_sql("DROP TABLE trials_v1")
            conn.exec_driver_sql("DROP TABLE events_v1")
        else:
            conn.exec_driver_sql("DROP INDEX ix_trials_waiting")
            next(i for i in trials.indexes if i.name == "ix_trials_waiting").create(conn)
        conn.exec_driver_sql("ALTER TABLE studies DROP COLUMN next_number")
        conn.execute(update(meta).where(meta.c.key == "schema_version").values(
            value=str(SCHEMA_VERSION)))

    def _schema_version(self, conn: Connection) -> int:
        """The database's schema version (0: an empty database), if hyperdial can use it."""
        tables = set(inspect(conn).get_table_names())
        if meta.name not in tables:
            if tables:
                raise NotAHyperdialStorage(
                    f"{self._where} is not a hyperdial database: it has tables "
                    f"({', '.join(sorted(tables)[:5])}) but no {meta.name}; refusing to touch it")
            return 0
        info = {key: value for key, value in conn.execute(select(meta.c.key, meta.c.value))}
        version = info.get("schema_version", "")
        if info.get("application") != APPLICATION or not version.isdigit():
            raise NotAHyperdialStorage(
                f"{self._where} has a {meta.name} table that hyperdial did not write")
        if int(version) > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self._where} has hyperdial schema version {version}, but this hyperdial "
                f"supports version {SCHEMA_VERSION} only: upgrade hyperdial")
        missing = HYPERDIAL_TABLES - tables
        if missing:
            raise NotAHyperdialStorage(
                f"{self._where} is a damaged hyperdial database: no {', '.join(sorted(missing))}")
        return int(version)

    # -- studies ------------------------------------------------------------------------------
    def create_study(self, name: str, directions: Sequence[StudyDirection],
                     user_attrs: Mapping[str, Any] | None = None) -> StudyInfo:
        directions = tuple(directions)
        attrs = dict(user_attrs or {})
        row = {"name": name, "directions": encode_json([d.value for d in directions]),
               "user_attrs": encode_json(attrs), "t": now()}
        try:
            with self._write() as cursor:
                study_id = int(self._run(cursor, _INSERT_STUDY, row).fetchone()[0])
                if self._sqlite and study_id > MAX_SQLITE_STUDY_ID:  # (rolled back)
                    raise StorageError(
                        f"{self._where} has used up its study ids: a SQLite file of hyperdial "
                        f"holds study ids up to {MAX_SQLITE_STUDY_ID}, and deleted studies' are "
                        "not given again; copy the studies you keep to a new file")
        except self._integrity_error:
            raise DuplicatedStudy(f"a study named {name!r} already exists") from None
        return StudyInfo(study_id, name, directions, attrs, 0)

    def studies(self) -> list[StudyInfo]:
        return [_study_info(row) for row in self._fetch(_ALL_STUDIES, {})]

    def get_study(self, name: str) -> StudyInfo:
        rows = self._fetch(_STUDY_BY_NAME, {"name": name})
        if not rows:
            raise self._not_found(name)
        return _study_info(rows[0])

    def _not_found(self, name: str) -> StudyNotFound:
        """`StudyNotFound` naming this storage, its file and the studies it holds."""
        where = self._where if self._path in self._where else f"{self._where} ({self._path})"
        return study_not_found(name, where, self.studies())

    def _rename_study(self, name: str, new_name: str) -> None:
        taken = DuplicatedStudy(f"a study named {new_name!r} already exists")
        try:
            with self._write() as cursor:
                found = {n for (n,) in self._run(
                    cursor, _NAMES_TAKEN, {"name": name, "new_name": new_name}).fetchall()}
                if name not in found:
                    raise StudyNotFound(f"no study named {name!r}")
                if new_name in found:
                    raise taken
                self._run(cursor, _RENAME_STUDY, {"name": name, "new_name": new_name})
        except self._integrity_error:  # another process took the name since we looked
            raise taken from None
        except StudyNotFound:  # (told once the transaction has rolled back)
            raise self._not_found(name) from None

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._write() as cursor:  # read, change and write under the writers' lock
            if not self._sqlite:
                self._lock_study(cursor, study_id)
            row = self._run(cursor, _STUDY_ATTRS, {"sid": study_id}).fetchone()
            if row is None:
                raise StudyNotFound(f"no study with id {study_id}")
            attrs = {**json.loads(row[0]), key: value}
            self._run(cursor, _SET_STUDY_ATTRS, {"sid": study_id, "user_attrs": encode_json(attrs)})

    def delete_study(self, name: str) -> None:
        with self._write() as cursor:
            if not self._sqlite:  # its foreign keys cascade
                if self._run(cursor, _DELETE_STUDY_NAMED, {"name": name}).rowcount:
                    return
            elif (row := self._run(cursor, _STUDY_ID, {"name": name}).fetchone()) is not None:
                self._run(cursor, _SQLITE_DELETE_EVENTS, _event_range(row[0]))
                self._run(cursor, _DELETE_TRIALS, {"sid": row[0]})
                self._run(cursor, _DELETE_STUDY, {"sid": row[0]})
                return
        raise self._not_found(name)

    # -- trials -------------------------------------------------------------------------------
    def create_trial(self, study_id: int, data: dict[str, Any], *, key: str | None = None,
                     claim_waiting: bool = False, heartbeat: bool = False) -> int | None:
        data = {"t": now(), "state": "RUNNING", **data}
        text = encode_json(data)
        with self._write() as cursor:
            return self._create(cursor, study_id, data, text, key, claim_waiting, heartbeat,
                                [])[0]

    def append(self, study_id: int, number: int, events: Sequence[Event]) -> None:
        rows = _event_rows(number, events)
        with self._write() as cursor:
            self._append(cursor, study_id, number, events)
            if rows:
                self._insert(cursor, study_id, rows)

    def append_and_create(self, study_id: int, number: int, events: Sequence[Event], *,
                          after: int, heartbeat: bool = False, catch_up: bool = True,
                          ) -> tuple[int, list[EventRow]]:
        rows = _event_rows(number, events)
        data = {"t": now(), "state": "RUNNING"}
        text = encode_json(data)
        with self._write() as cursor:
            self._append(cursor, study_id, number, events)
            created, first = self._create(cursor, study_id, data, text, None, True, heartbeat,
                                          rows)
            # PostgreSQL catches up in the same round trip, under the study's lock (so no
            # event can come between). SQLite reads after the commit if it must: in process,
            # a read costs little, and the writers' lock, held for the read too, is what
            # several processes queue for (four of them: 0.93x one process against 1.04x).
            if not self._sqlite:
                new = self._run(cursor, _READ, {"sid": study_id, "after": after}).fetchall()
        assert created is not None  # no key, so nothing can refuse it
        if not self._sqlite:
            return created, _event_rows_read(new)
        if first == after + 1 or not catch_up:  # nobody wrote since ``after``, or no matter
            read = [EventRow(first + i, num, kind, text=data_text)
                    for i, (num, kind, data_text) in enumerate(rows[:-1])]
            _, kind, data_text = rows[-1]  # the new trial's (a created one's data is at hand)
            read.append(EventRow(first + len(rows) - 1, created, "create", data)
                        if kind == "create" else
                        EventRow(first + len(rows) - 1, created, kind, text=data_text))
            return created, read
        return created, self.read(study_id, after)

    def copy_part(self, study_id: int,
                  trials: Sequence[tuple[int, dict[str, Any] | None, Sequence[Event]]],
                  ) -> list[int | None]:
        """One transaction for the part (a commit each cost most of a copy's time)."""
        created = []
        with self._write() as cursor:
            for number, data, events in trials:
                if data is not None:
                    data = {"t": now(), "state": "RUNNING", **data}
                    created.append(self._create(cursor, study_id, data, encode_json(data),
                                                data.get("key"), False, False, [])[0])
                if events:
                    self._append(cursor, study_id, number, events)
                    self._insert(cursor, study_id, _event_rows(number, events))
        return created

    def _create(self, cursor: Any, study_id: int, data: dict[str, Any], text: str,
                key: str | None, claim_waiting: bool, heartbeat: bool,
                rows: list[tuple[int, str, str]]) -> tuple[int | None, int]:
        """`create_trial` inside a write transaction. Its event is appended to ``rows``
        (events of another trial, or none), which are inserted in one statement. Returns
        the trial's number (None: its key was taken) and, on SQLite, the number in the study
        of the first event inserted (0 on PostgreSQL)."""
        t, state = data["t"], state_of(data["state"]).value
        last_event = None
        if self._sqlite:  # BEGIN IMMEDIATE has locked: one read for all three
            row = self._run(cursor, _SQLITE_NEXT, _event_range(study_id)).fetchone()
            if row is None:
                raise StudyNotFound(f"no study with id {study_id}")
            top, waiting, last_event = row
            if last_event is None:  # none yet: the first is number 1 of the range
                last_event = study_id << EVENT_ID_BITS
        else:
            self._lock_study(cursor, study_id)
            top, waiting = self._run(cursor, _NEXT_AND_WAITING, {"sid": study_id}).fetchone()
        if claim_waiting and waiting is not None:
            number = waiting
            self._run(cursor, _SET_STATE, {"sid": study_id, "num": number,
                                           "new_state": TrialState.RUNNING.value})
            if heartbeat:
                self._run(cursor, _HEARTBEAT, {"sid": study_id, "num": number, "t": t})
            kind, text = "start", encode_json({"t": t})
        else:
            if key is not None and self._run(
                    cursor, _KEY_TAKEN, {"sid": study_id, "key": key}).fetchone() is not None:
                return None, 0
            number = 0 if top is None else top + 1
            beat = t if heartbeat and state == TrialState.RUNNING.value else None
            self._run(cursor, _INSERT_TRIAL, {"sid": study_id, "num": number, "state": state,
                                              "key": key, "beat": beat})
            kind = "create"
        rows.append((number, kind, text))
        return number, self._insert(cursor, study_id, rows, last_event)

    def _insert(self, cursor: Any, study_id: int, rows: Sequence[tuple[int, str, str]],
                last_event: int | None = None) -> int:
        """Insert event rows (trial number, kind, JSON text) of a study. SQLite numbers them
        after the study's last event (``last_event``: its id, when the caller has read it)
        and returns the first one's number in the study; PostgreSQL returns 0. (The range's
        base stands for the last event of a study that has none.)"""
        if not self._sqlite:
            self._run_many(cursor, _INSERT_EVENT, [
                {"sid": study_id, "num": num, "kind": kind, "data": data_text}
                for num, kind, data_text in rows])
            return 0
        base = study_id << EVENT_ID_BITS
        if last_event is None:
            last_event = self._run(cursor, _SQLITE_LAST_EVENT,
                                   _event_range(study_id)).fetchone()[0] or base
        params = [(last_event + 1 + i, study_id, *row) for i, row in enumerate(rows)]
        one_row = self._text(_SQLITE_INSERT_EVENT)[0]
        for i in range(0, len(params), _ROWS_PER_INSERT):  # once, but for a copy's long curves
            part = params[i:i + _ROWS_PER_INSERT]
            cursor.execute(_rows_sql(one_row, len(part)),
                           [value for row in part for value in row])
        return last_event + 1 - base

    def _append(self, cursor: Any, study_id: int, number: int,
                events: Sequence[Event]) -> None:
        """`append` inside a write transaction, up to inserting the events' rows: checks
        that the trial is open and moves its state."""
        new_state: str | None = None
        finishes = False
        for kind, data in events:
            if kind == "finish":
                new_state, finishes = state_of(data["state"]).value, True
            elif kind == "start":
                new_state = TrialState.RUNNING.value
        this = {"sid": study_id, "num": number}
        if not self._sqlite:  # BEGIN IMMEDIATE holds SQLite's lock already
            self._lock_study(cursor, study_id)
        changed = new_state is not None and self._run(
            cursor, _FINISH if finishes else _SET_STATE,
            {**this, "new_state": new_state}).rowcount == 1
        if not changed:  # nothing to change, or the trial is missing or finished
            row = self._run(cursor, _TRIAL_STATE, this).fetchone()
            if row is None:
                if self._run(cursor, _STUDY_EXISTS, {"sid": study_id}).fetchone() is None:
                    raise StudyNotFound(f"no study with id {study_id}")
                raise TrialNotFound(f"no trial number {number}")
            if state_of(row[0]).is_finished():
                raise TrialFinishedError(f"trial {number} is already {row[0]}")

    def read(self, study_id: int, after: int = 0, *, limit: int | None = None
             ) -> list[EventRow]:
        if self._sqlite:
            params = _event_range(study_id, after)
            statements = (_SQLITE_READ, _SQLITE_READ_PART)
        else:
            params, statements = {"sid": study_id, "after": after}, (_READ, _READ_PART)
        rows = (self._fetch(statements[0], params) if limit is None else
                self._fetch(statements[1], {**params, "limit": limit, "offset": 0}))
        if not rows:
            raise StudyNotFound(f"no study with id {study_id}")
        return _event_rows_read(rows)

    def heartbeat(self, study_id: int, numbers: Sequence[int]) -> None:
        t = now()
        with self._write() as cursor:
            if self._run(cursor, _STUDY_EXISTS, {"sid": study_id}).fetchone() is None:
                raise StudyNotFound(f"no study with id {study_id}")
            if numbers:
                self._run_many(cursor, _HEARTBEAT,
                               [{"sid": study_id, "num": n, "t": t} for n in numbers])

    def fail_stale(self, study_id: int, grace_seconds: float) -> list[int]:
        t = now()
        this = {"sid": study_id, "cutoff": t - grace_seconds}
        candidates = self._fetch(_STALE, this)
        if not candidates:
            raise StudyNotFound(f"no study with id {study_id}")
        if candidates[0][0] is None:
            return []
        with self._write() as cursor:  # again under the lock: one may have beaten or ended
            self._lock_study(cursor, study_id)
            stale = sorted(n for (n,) in self._run(cursor, _FAIL_STALE, this).fetchall())
            if stale:
                text = encode_json({"t": t, "state": "FAIL", "reason": STALE_REASON})
                self._insert(cursor, study_id, [(n, "finish", text) for n in stale])
        return stale


def _sqlite_in_memory(parsed: URL) -> bool:
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def is_private_url(url: str) -> bool:
    """Whether the storage ``url`` names a database private to the process that opens it
    (SQLite in memory): other processes or machines cannot share it."""
    return _sqlite_in_memory(make_url(url))


def _binder(order: Sequence[str] | None) -> _Bind:
    """Named parameters as the driver takes them: as they are (None: it binds by name), or
    their values in ``order`` (a tuple, built in C by `operator.itemgetter`)."""
    if order is None:
        return lambda params: params
    if len(order) == 1:
        key = order[0]
        return lambda params: (params[key],)
    return operator.itemgetter(*order) if order else lambda params: ()


def _event_rows(number: int, events: Sequence[Event]) -> list[tuple[int, str, str]]:
    return [(number, kind, encode_json(data)) for kind, data in events]


def _event_range(study_id: int, after: int = 0) -> dict[str, int]:
    """Parameters of the SQLite statements on a study's events: ``lo`` and ``hi`` bound the
    ids of those after number ``after``, ``base`` turns an id into its number in the study."""
    base = study_id << EVENT_ID_BITS
    return {"sid": study_id, "base": base, "lo": base + after, "hi": base + _EVENT_SPAN - 1}


def _event_rows_read(rows: Sequence[Sequence[Any]]) -> list[EventRow]:
    """Rows of `_READ` as events (one row of NULLs: the study, joined to no event)."""
    if rows[0][0] is None:
        return []
    return [EventRow(i, n, kind, text=data) for i, n, kind, data in rows]


def _study_info(row: Sequence[Any]) -> StudyInfo:
    study_id, name, directions, user_attrs, last_number = row
    return StudyInfo(study_id, name, tuple(StudyDirection(d) for d in _decode(directions)),
                     _decode(user_attrs), 0 if last_number is None else last_number + 1)


def _close_sessions(sessions: list[_Session], engine: Engine,
                    checkpointer: _Checkpointer | None) -> None:
    if checkpointer is not None:
        checkpointer.close()
    while sessions:
        sessions.pop().close()
    engine.dispose()


def _reopen(url: str, engine_kwargs: dict[str, Any]) -> SQLStorage:
    return SQLStorage(url, engine_kwargs=engine_kwargs)


# A forked child inherits open connections, which it must neither use (they are the parent's
# sessions) nor close (closing a SQLite connection may checkpoint the parent's WAL; closing a
# PostgreSQL one ends the parent's session). It keeps them here and opens its own.
_LIVE: weakref.WeakSet[SQLStorage] = weakref.WeakSet()
_INHERITED: list[Any] = []  # sessions and checkpointer connections


def _after_fork() -> None:
    for storage in list(_LIVE):
        storage._forget_sessions()


os.register_at_fork(after_in_child=_after_fork)
