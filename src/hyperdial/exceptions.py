"""Exceptions raised by hyperdial.

Hierarchy::

    HyperdialError
    ├── TrialPruned            raised by an objective to stop a trial early (not an error)
    ├── SearchExhausted        a finite sampler (grid) has nothing left to propose
    ├── StorageError
    │   ├── StudyNotFound
    │   ├── DuplicatedStudy
    │   ├── SchemaVersionError     the database was written by a newer / unknown hyperdial
    │   ├── NotAHyperdialStorage   the file or database is corrupt or belongs to something else
    │   ├── StorageBusy            a SQLite file stayed locked by another connection too long
    │   ├── StorageReadOnly        this process can read the storage but not write it
    │   ├── TrialNotFound          no trial of that number in the study
    │   └── TrialFinishedError     a finished trial is immutable
    └── (ValueError subclasses are used for invalid search spaces and arguments)
"""

from __future__ import annotations


class HyperdialError(Exception):
    """Base class of every hyperdial exception."""


class TrialPruned(HyperdialError):
    """Raise inside an objective to end the trial as PRUNED (Optuna's name and meaning)."""


class SearchExhausted(HyperdialError):
    """A sampler with a finite space (e.g. a grid) has proposed every point."""


class StorageError(HyperdialError):
    """A storage backend could not do what was asked."""


class StudyNotFound(StorageError, KeyError):
    """No study of that name exists in the storage."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "study not found"


class DuplicatedStudy(StorageError):
    """A study of that name already exists."""


DuplicatedStudyError = DuplicatedStudy  # Optuna's name


class SchemaVersionError(StorageError):
    """The storage schema is newer than this hyperdial understands, or an older one could not
    be upgraded."""


class NotAHyperdialStorage(StorageError):
    """The database is corrupt or was not written by hyperdial."""


class StorageBusy(StorageError):
    """Another connection kept a SQLite database locked for longer than the busy timeout;
    the operation wrote nothing."""


class StorageReadOnly(StorageError):
    """This process can read the storage but not write it (its file's permissions, a
    read-only URL); the operation wrote nothing."""


class TrialNotFound(StorageError, KeyError, ValueError):
    """No trial of that number exists in the study (a ValueError too, as Optuna's `tell`
    raises for an unknown number)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "trial not found"


class TrialFinishedError(StorageError, ValueError):
    """A finished trial cannot be changed (a ValueError too, as Optuna's `tell` raises)."""
