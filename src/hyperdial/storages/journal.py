"""Optuna 5's ``optuna.storages.journal`` names: ``JournalStorage(JournalFileBackend(path))``
is hyperdial's journal file (`hyperdial.storage.JournalFileStorage`), in hyperdial's own
format (it does not read a journal Optuna wrote).

Optuna's lock objects (`JournalFileOpenLock`, `JournalFileSymlinkLock`) are accepted and
ignored: hyperdial locks the file with ``flock`` whichever is given.
"""

from __future__ import annotations

from hyperdial.storage.journal import JournalFileStorage

__all__ = ["JournalFileBackend", "JournalFileOpenLock", "JournalFileSymlinkLock",
           "JournalStorage"]


class _IgnoredLock:
    """An Optuna journal-file lock, accepted so that ported code runs; hyperdial locks the
    file with ``flock`` instead."""

    def __init__(self, filepath: str, grace_period: int | None = 30) -> None:
        self.filepath = filepath
        self.grace_period = grace_period

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.filepath!r})"


class JournalFileOpenLock(_IgnoredLock):
    """Optuna's ``open(O_EXCL)`` lock: accepted and ignored (the file is locked with
    ``flock``)."""


class JournalFileSymlinkLock(_IgnoredLock):
    """Optuna's symlink lock: accepted and ignored (the file is locked with ``flock``)."""


class JournalFileBackend:
    """Optuna's journal file backend: names the file. ``lock_obj`` (Optuna's
    `JournalFileOpenLock` or `JournalFileSymlinkLock`) is accepted and ignored: the file is
    locked with ``flock``."""

    def __init__(self, file_path: str, lock_obj: _IgnoredLock | None = None) -> None:
        if lock_obj is not None and not isinstance(lock_obj, _IgnoredLock):
            raise TypeError("lock_obj must be a JournalFileOpenLock or JournalFileSymlinkLock, "
                            f"got {type(lock_obj).__name__}")
        self.file_path = file_path
        self.lock_obj = lock_obj


class JournalStorage(JournalFileStorage):
    """Optuna's ``JournalStorage(JournalFileBackend(path))``: hyperdial's journal file."""

    def __init__(self, log_storage: JournalFileBackend) -> None:
        if not isinstance(log_storage, JournalFileBackend):
            raise TypeError(f"JournalStorage takes a JournalFileBackend, got "
                            f"{type(log_storage).__name__}")
        super().__init__(log_storage.file_path)
