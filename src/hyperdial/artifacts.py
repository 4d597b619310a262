"""Artifact stores: where schedulers keep checkpoints, outside the trial storage.

The trial storage holds JSON only; model weights go to an `ArtifactStore` under a key, and the
storage records the key (and the store's `location`, so that a resumed run finds the files).
`DirectoryStore`, one directory per key under a root, is the default. Writes are atomic per
key, with threads and processes writing at once: an artifact is moved (or copied) into a
hidden temporary name under the root, then renamed to its key, so a reader sees the whole
artifact or none of it, and a write that fails (a full disk) leaves the store as it was. An
operation's temporary names carry a token whose owner file it holds an ``flock`` on until it
is done: what a killed process left there is removed the next time a store opens the root,
and only then, since the kernel drops the lock with the process and holds it for a live one,
in whatever container.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the threads of one process are kept apart, not processes
    fcntl = None  # type: ignore[assignment]

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_LOCK = ".lock"  # the store's lock file: hidden, as the scratch entries are
_THREAD_LOCKS: dict[Path, threading.Lock] = {}  # without fcntl: one lock per root
_THREAD_LOCKS_LOCK = threading.Lock()
# An owner file, or a scratch entry of its token (an older version's ``.tmp-<hex>``, with no
# token, is left alone: its writer may still be at work).
_TOKEN = re.compile(r"\.owner-([0-9a-f]{32})|\.tmp-([0-9a-f]{32})-[0-9a-f]{32}")


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid artifact key (a safe file name), else raise ValueError."""
    if not isinstance(key, str) or not _KEY.fullmatch(key) or len(key) > 200:
        raise ValueError(f"artifact keys are file names of letters, digits, '_', '-' and '.' "
                         f"(not starting with '.' or '-'), got {key!r}")
    return key


class ArtifactStore(ABC):
    """Files or directories stored by key: `put`, `get`, `delete`, `keys`."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the store lives (a path or URL), as recorded in the trial storage."""

    @abstractmethod
    def put(self, key: str, path: Path) -> None:
        """Store the file or directory at ``path`` under ``key``, atomically, taking it: the
        store may move ``path`` rather than copy it. An existing artifact of that key is
        replaced. A put that fails stores nothing and leaves ``path`` where it was."""

    @abstractmethod
    def get(self, key: str) -> Path:
        """A local path holding the artifact (read it, do not change it); KeyError if absent."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the artifact; nothing happens if it is absent."""

    @abstractmethod
    def keys(self) -> list[str]:
        """Every stored key, sorted."""


class DirectoryStore(ArtifactStore):
    """Artifacts as entries of a local directory (created if needed).

    Safe with several threads and processes on one root: puts of one key end with one of the
    artifacts whole under it (the last one renamed in), deletes of one key remove it once,
    and `get` finds a key that exists, even while it is being replaced. A directory cannot be
    renamed over another, so replacing or deleting an entry swaps it out of sight under an
    exclusive ``flock`` of the hidden file ``.lock`` (held for two renames), and `get` waits
    for that lock only when it does not find the key. A reader that opens files of a
    directory artifact while it is replaced may get some from the old one and some from the
    new one, or miss those of the old one once it is removed."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_orphans()

    def __repr__(self) -> str:
        return f"DirectoryStore({str(self.root)!r})"

    @property
    def location(self) -> str:
        return str(self.root)

    @contextlib.contextmanager
    def _scratch(self) -> Iterator[Callable[[], Path]]:
        """Fresh hidden names under the root (the same file system, so renames are atomic)
        for one operation, with a token whose owner file ``.owner-<token>`` it holds locked
        until the block ends. The file is made under another name, locked, then renamed in,
        so no one sees it unlocked; it is removed at the end, after the block's own cleanup."""
        token = uuid.uuid4().hex
        fd: int | None = None
        if fcntl is not None:
            staged = self.root / f".new-{token}"
            fd = os.open(staged, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.rename(staged, self.root / f".owner-{token}")
            except BaseException:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(staged)
                raise
        try:
            yield lambda: self.root / f".tmp-{token}-{uuid.uuid4().hex}"
        finally:
            if fd is not None:
                with contextlib.suppress(OSError):  # (the root went away meanwhile)
                    os.unlink(self.root / f".owner-{token}")
                os.close(fd)

    def _remove_orphans(self) -> None:
        """Remove the scratch entries (and owner files) of tokens whose process is gone, killed
        during a `put` or `delete`: their owner file's lock is free, or the file is missing."""
        if fcntl is None:
            return
        try:
            entries = list(self.root.iterdir())
        except OSError:
            return
        tokens: dict[str, list[Path]] = {}
        for entry in entries:
            found = _TOKEN.fullmatch(entry.name)
            if found:
                tokens.setdefault(found[1] or found[2], []).append(entry)
        for token, found_entries in tokens.items():
            if _owned(self.root / f".owner-{token}"):
                continue
            for entry in sorted(found_entries, key=lambda e: e.name.startswith(".owner-")):
                with contextlib.suppress(OSError):  # (a read-only store, or removed meanwhile)
                    _remove(entry)

    @contextlib.contextmanager
    def _swapping(self, *, exclusive: bool = True) -> Iterator[None]:
        """Hold the store's lock: exclusive while an entry is renamed in or out, shared while
        a missing key is looked up again. A store whose lock file cannot be opened for a
        lookup is one nobody can write to: it is read without the lock."""
        if fcntl is None:
            with _THREAD_LOCKS_LOCK:
                lock = _THREAD_LOCKS.setdefault(self.root, threading.Lock())
            with lock:
                yield
            return
        try:
            fd = os.open(self.root / _LOCK, os.O_RDONLY | os.O_CREAT, 0o666)
        except OSError:
            if exclusive:
                raise
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)  # a child forked meanwhile shares ``fd``
        finally:
            os.close(fd)

    def put(self, key: str, path: Path) -> None:
        target = self.root / check_key(key)
        with self._scratch() as scratch:
            staged = scratch()
            moved = _take(Path(path), staged)
            trash: Path | None = None
            try:
                with self._swapping():
                    if os.path.lexists(target) and (target.is_dir() or staged.is_dir()):
                        trash = scratch()  # a directory is not renamed over: move it aside
                        os.rename(target, trash)
                    try:
                        os.replace(staged, target)  # a file over a file: atomic on its own
                    except OSError:
                        if trash is not None:
                            os.rename(trash, target)
                            trash = None
                        raise
            except BaseException:
                if os.path.lexists(staged):  # not renamed in
                    if moved:
                        os.rename(staged, path)  # give the caller's file back
                    else:
                        _remove(staged)
                raise
            if trash is not None:
                _remove(trash)
        if not moved:  # a copy from another file system: stored, so ``path`` may go
            with contextlib.suppress(OSError):
                _remove(Path(path))

    def get(self, key: str) -> Path:
        path = self.root / check_key(key)
        if not os.path.lexists(path):
            with self._swapping(exclusive=False):  # it may be out of sight for a replace
                if not os.path.lexists(path):
                    raise KeyError(f"no artifact {key!r} in {self.root}")
        return path

    def delete(self, key: str) -> None:
        path = self.root / check_key(key)
        with self._scratch() as scratch:
            trash = scratch()
            with self._swapping():
                try:
                    os.rename(path, trash)  # out of sight first (atomic), then removed
                except FileNotFoundError:
                    return
            _remove(trash)

    def keys(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith("."))


def _owned(owner_file: Path) -> bool:
    """Whether a live process holds ``owner_file``'s lock (False: it is gone, or the file is).
    An owner file that cannot be opened counts as owned: nothing is removed on a guess."""
    try:
        fd = os.open(owner_file, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held (BlockingIOError), or not to be told: left alone either way
        return True
    finally:
        os.close(fd)  # (releases the lock if it was taken)
    return False


def _take(path: Path, staged: Path) -> bool:
    """Move ``path`` to ``staged`` (True), or copy it there when it is on another file system
    (False); a copy that fails is removed, and ``path`` is left as it was either way."""
    try:
        os.rename(path, staged)
        return True
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    try:
        if path.is_dir():
            shutil.copytree(path, staged, symlinks=True, copy_function=shutil.copy2)
        else:
            shutil.copy2(path, staged)
    except BaseException:
        _remove(staged)  # a partial copy would fill the disk for good
        raise
    return False


def _remove(path: Path) -> None:
    """Remove the file or directory tree ``path``; nothing happens if it is absent."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


__all__ = ["ArtifactStore", "DirectoryStore", "check_key"]
