"""A journal file: the event log in one append-only file of JSON lines.

For a file system that several machines share (NFS on a cluster), where SQLite's locking is
not safe, when no database server is at hand. Every write is one line (two for
`append_and_create`) appended under an exclusive lock on the file (``flock``). Each process
keeps a replica, an `InMemoryStorage`, that it brings up to date by replaying the lines it has
not read yet, each with the time it was written: every process rebuilds the same state, trial
numbers, event ids and heartbeats included. A line is appended only once its operation has
succeeded on the replica, so a refused write leaves nothing behind; a writer killed in the
middle of a line leaves a torn tail, which readers never take and the next writer cuts off.

The first line names the format and its version. Lines are never rewritten: a deleted or
renamed study is one more line, and the file (with every replica) grows with the history, so
keep one journal per project rather than one for everything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hyperdial.exceptions import (
    NotAHyperdialStorage,
    SchemaVersionError,
    StorageError,
    StorageReadOnly,
    StudyNotFound,
)
from hyperdial.history import StudyDirection
from hyperdial.storage._filelock import lock_exclusive
from hyperdial.storage.base import (
    Event,
    EventRow,
    Storage,
    StudyInfo,
    encode_json,
    now,
    study_not_found,
)
from hyperdial.storage.memory import InMemoryStorage

FORMAT = "hyperdial-journal"
VERSION = 1
_HEADER = (json.dumps({"format": FORMAT, "version": VERSION}) + "\n").encode()

# One lock per file for every instance in this process: ``flock`` serialises open files, and
# the replica and file offset of an instance must not be read while another thread writes.
_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


class JournalFileStorage(Storage):
    """Studies in the journal file ``path`` (created if missing, its folder must exist).

    Usable as ``storage="journal:///path/to/file.jsonl"`` wherever a URL is taken. A writer
    waits at most ``timeout`` seconds for the file's lock, then raises `StorageBusy`; readers
    take no lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.timeout = timeout
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise StorageError(f"the folder of the journal {self.path} does not exist")
        if os.path.isdir(self.path):
            raise StorageError(f"the journal {self.path} is a folder; name a file inside it")
        with _FILE_LOCKS_GUARD:
            self._lock = _FILE_LOCKS.setdefault(self.path, threading.RLock())
        self._fd: int | None = None
        self._read_only = ""  # why the file is open for reading only ("" if it is not)
        self._replica = InMemoryStorage()
        self._start = self._offset = 0  # where the operations begin, how far they are replayed
        # The last line replayed (its bytes hold a unique time), and the file's (size, mtime)
        # when the replica last caught up: a writer whose write failed cuts its lines off,
        # which a reader may have replayed meanwhile (see `_catch_up`).
        self._tail = b""
        self._seen: tuple[int, int] = (-1, -1)
        with self._lock:
            self._open()

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "timeout": self.timeout}  # another process replays the file

    def __setstate__(self, state: dict[str, Any]) -> None:
        JournalFileStorage.__init__(self, state["path"], timeout=state.get("timeout", 30.0))

    # -- the file ---------------------------------------------------------------------------
    def _open(self) -> int:
        """The file descriptor, the file opened (and its header checked, or written to a new
        file) on first use and again after `close`. Only a file without a whole first line
        (new, or its header being written) needs the writers' lock: a header is never
        rewritten, so a reader does not queue behind the writers."""
        if self._fd is not None:
            return self._fd
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:  # a file this process may only read is read, not refused
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise StorageError(f"cannot open the journal {self.path}: {exc}") from exc
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except OSError:
                raise StorageError(f"cannot open the journal {self.path}: {exc}") from exc
            self._read_only = f"{exc.strerror.lower() if exc.strerror else exc}"
        try:
            if b"\n" in os.pread(fd, 4096, 0):
                self._start = self._read_header(fd)
            elif self._read_only:
                raise NotAHyperdialStorage(f"{self.path} is not a hyperdial journal file "
                                           "(and is read-only)")
            else:
                with self._locked(fd):
                    if os.fstat(fd).st_size == 0:
                        os.write(fd, _HEADER)
                    self._start = self._read_header(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        # Closed with the storage, or when it is dropped unclosed (get_storage(url) makes
        # throwaway ones): a raw descriptor is not closed by the garbage collector.
        self._closer = weakref.finalize(self, os.close, fd)
        if self._offset == 0:
            self._offset = self._start
        return fd

    def _read_header(self, fd: int) -> int:
        """Check the first line; returns where the operations begin."""
        head = os.pread(fd, 4096, 0)
        end = head.find(b"\n")
        try:
            header = json.loads(head[:end]) if end > 0 else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise NotAHyperdialStorage(f"{self.path} is not a hyperdial journal file")
        version = header.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise SchemaVersionError(f"{self.path} is a hyperdial journal of version "
                                     f"{version!r}, but this hyperdial reads version {VERSION} "
                                     "only: upgrade hyperdial")
        return end + 1

    @contextlib.contextmanager
    def _locked(self, fd: int) -> Iterator[None]:
        lock_exclusive(fd, self.timeout, f"the journal {self.path}")
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _catch_up(self, locked: bool = True) -> None:
        """Replay the complete lines written since the last call (a torn tail is left).
        Without the file's lock (``locked`` False) a line that does not replay stops the
        replay quietly: on a network file system another machine's line may show its end
        before its middle; the replay under the lock says whether it is damaged."""
        fd = self._open()
        stat = os.fstat(fd)
        seen = (stat.st_size, stat.st_mtime_ns)
        if seen == self._seen:  # nothing written since (the common case: one stat)
            return
        size, tail = stat.st_size, self._tail
        if tail and (size < self._offset or os.pread(fd, len(tail), self._offset - len(tail))
                     != tail):
            # A writer cut lines this replica had read while they were written (its write
            # failed: a full disk, Ctrl-C), perhaps writing others there since: start again.
            self._forget_replay()
        if size > self._offset:
            data = os.pread(fd, size - self._offset, self._offset)
            end = data.rfind(b"\n") + 1
            for number, line in enumerate(data[:end].splitlines(keepends=True)):
                try:
                    op = json.loads(line)
                    self._apply(op["op"], op["args"], op["t"])
                except (ValueError, KeyError, TypeError) as exc:
                    if not locked:
                        return
                    raise StorageError(f"{self.path} is damaged: the operation at byte "
                                       f"{self._offset} (line {number + 1} of those new) does "
                                       f"not replay: {exc!r}") from exc
                self._offset += len(line)
                self._tail = line
        self._seen = seen

    def _cut_torn_tail(self, fd: int) -> None:
        """Under the lock: drop a last line without its newline (its writer died)."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        position = size
        while position > 0:
            chunk = os.pread(fd, min(65536, position), max(0, position - 65536))
            found = chunk.rfind(b"\n")
            if found >= 0:
                os.ftruncate(fd, position - len(chunk) + found + 1)
                return
            position -= len(chunk)

    def _apply(self, op: str, args: Mapping[str, Any], t: float) -> Any:
        """Run one operation on the replica as if at time ``t``."""
        replica = self._replica
        replica._now = lambda: t
        try:
            if op == "create_study":
                return replica.create_study(
                    args["name"], [StudyDirection(d) for d in args["directions"]],
                    args["user_attrs"])
            if op == "append":
                return replica.append(args["study_id"], args["number"],
                                      [(kind, data) for kind, data in args["events"]])
            if op == "rename_study":  # checked when written; an old journal may hold a
                return replica._rename_study(args["name"], args["new_name"])  # bad name
            if op in _OPERATIONS:
                return getattr(replica, op)(**args)
            raise ValueError(f"unknown operation {op!r}")
        finally:
            replica._now = now

    def _write(self, *ops: tuple[str, dict[str, Any]]) -> list[Any]:
        """Apply ``ops`` to the replica, then append them; all or none. Returns their results."""
        with self._lock:
            fd = self._open()
            if self._read_only:
                raise StorageReadOnly(f"the journal {self.path} can be read but not written "
                                      f"({self._read_only})")
            # Replay what the other processes wrote before queueing for the file's lock, so
            # that under it only the lines written meanwhile are left (their replay in the
            # lock held four processes at 0.57x one process, against 0.67x now).
            self._catch_up(locked=False)
            with self._locked(fd):
                self._cut_torn_tail(fd)
                self._catch_up()
                t = now()
                lines = "".join(encode_json({"t": t, "op": op, "args": args}) + "\n"
                                for op, args in ops).encode()  # not JSON: raises here
                results = []
                try:  # a refused operation raises before it changes the replica
                    for op, args in ops:
                        results.append(self._apply(op, args, t))
                except BaseException:
                    if results:  # the replica holds earlier ones that the file will not
                        self._rebuild()
                    raise
                size = os.fstat(fd).st_size
                try:
                    written = 0
                    while written < len(lines):
                        written += os.write(fd, lines[written:])
                except BaseException as exc:
                    os.ftruncate(fd, size)  # all or nothing, even on a full disk
                    self._rebuild()
                    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                        raise StorageError(f"the journal {self.path} could not be written: its "
                                           f"disk is full ({exc}); nothing was written. Free "
                                           "some space and run again") from exc
                    raise
                self._offset = size + len(lines)
                self._tail = lines[lines.rfind(b"\n", 0, len(lines) - 1) + 1:]
            return results

    def _forget_replay(self) -> None:
        """An empty replica, to replay the file from its first operation."""
        self._replica = InMemoryStorage()
        self._offset, self._tail, self._seen = self._start, b"", (-1, -1)

    def _rebuild(self) -> None:
        self._forget_replay()
        self._catch_up()

    def _reading(self) -> InMemoryStorage:
        """The replica, up to date."""
        self._catch_up()
        return self._replica

    # -- the contract -------------------------------------------------------------------------
    def create_study(self, name: str, directions: Sequence[StudyDirection],
                     user_attrs: Mapping[str, Any] | None = None) -> StudyInfo:
        info: StudyInfo = self._write(("create_study", {
            "name": name, "directions": [StudyDirection(d).value for d in directions],
            "user_attrs": dict(user_attrs or {})}))[0]
        return info

    def studies(self) -> list[StudyInfo]:
        with self._lock:
            return self._reading().studies()

    def get_study(self, name: str) -> StudyInfo:
        with self._lock:
            try:
                return self._reading().get_study(name)
            except StudyNotFound:
                raise self._not_found(name) from None

    def _not_found(self, name: str) -> StudyNotFound:
        """`StudyNotFound` naming this journal and the studies it holds."""
        with self._lock:
            return study_not_found(name, f"the journal {self.path}", self._reading().studies())

    def _rename_study(self, name: str, new_name: str) -> None:
        try:
            self._write(("rename_study", {"name": name, "new_name": new_name}))
        except StudyNotFound:
            raise self._not_found(name) from None

    def delete_study(self, name: str) -> None:
        try:
            self._write(("delete_study", {"name": name}))
        except StudyNotFound:
            raise self._not_found(name) from None

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._write(("set_study_user_attr", {"study_id": study_id, "key": key, "value": value}))

    def create_trial(self, study_id: int, data: dict[str, Any], *, key: str | None = None,
                     claim_waiting: bool = False, heartbeat: bool = False) -> int | None:
        number: int | None = self._write(("create_trial", {
            "study_id": study_id, "data": data, "key": key, "claim_waiting": claim_waiting,
            "heartbeat": heartbeat}))[0]
        return number

    def append(self, study_id: int, number: int, events: Sequence[Event]) -> None:
        self._write(_append_op(study_id, number, events))

    def copy_part(self, study_id: int,
                  trials: Sequence[tuple[int, dict[str, Any] | None, Sequence[Event]]],
                  ) -> list[int | None]:
        """One write for the part: its lines are appended under one lock, all or none."""
        ops = []
        for number, data, events in trials:
            if data is not None:
                ops.append(("create_trial", {"study_id": study_id, "data": data,
                                             "key": data.get("key"), "claim_waiting": False,
                                             "heartbeat": False}))
            if events:
                ops.append(_append_op(study_id, number, events))
        return [result for (op, _), result in zip(ops, self._write(*ops), strict=True)
                if op == "create_trial"]

    def append_and_create(self, study_id: int, number: int, events: Sequence[Event], *,
                          after: int, heartbeat: bool = False, catch_up: bool = True,
                          ) -> tuple[int, list[EventRow]]:
        with self._lock:  # the read below sees the file as the write left it
            created = self._write(
                _append_op(study_id, number, events),
                ("create_trial", {"study_id": study_id, "data": {}, "key": None,
                                  "claim_waiting": True, "heartbeat": heartbeat}))[1]
            return created, self._replica.read(study_id, after)

    def read(self, study_id: int, after: int = 0, *, limit: int | None = None
             ) -> list[EventRow]:
        with self._lock:
            return self._reading().read(study_id, after, limit=limit)

    def heartbeat(self, study_id: int, numbers: Sequence[int]) -> None:
        self._write(("heartbeat", {"study_id": study_id, "numbers": list(numbers)}))

    def fail_stale(self, study_id: int, grace_seconds: float) -> list[int]:
        with self._lock:  # most checks find nothing: they need no lock on the file, no line
            beats = self._reading()._study(study_id).heartbeats.values()
            if not any(now() - beat > grace_seconds for beat in beats):
                return []
            stale: list[int] = self._write(("fail_stale", {"study_id": study_id,
                                                           "grace_seconds": grace_seconds}))[0]
            return stale

    def close(self) -> None:
        """Close the file; the storage opens it again if used again."""
        with self._lock:
            if self._fd is not None:
                self._closer()
                self._fd = None

    def __repr__(self) -> str:
        return f"JournalFileStorage({self.path!r})"


def _append_op(study_id: int, number: int, events: Sequence[Event]) -> tuple[str, dict[str, Any]]:
    return "append", {"study_id": study_id, "number": number, "events": [list(e) for e in events]}


_OPERATIONS = frozenset({"rename_study", "delete_study", "set_study_user_attr", "create_trial",
                         "heartbeat", "fail_stale"})
