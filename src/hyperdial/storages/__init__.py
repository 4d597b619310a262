"""Optuna's ``optuna.storages`` names, for code ported with ``import hyperdial as optuna``.

`RDBStorage` is hyperdial's SQL storage (`hyperdial.storage.SQLStorage`) carrying Optuna's
heartbeat settings, which every study created or loaded on it takes unless given its own;
`RetryFailedTrialCallback` says how often a trial of a dead worker is re-queued.
``JournalStorage(JournalFileBackend(path))`` is hyperdial's journal file
(`hyperdial.storage.JournalFileStorage`), in hyperdial's own format: it does not read a journal
Optuna wrote. ``hyperdial.storages.journal`` holds the journal names at Optuna 5's path
(``from optuna.storages.journal import JournalFileBackend``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from hyperdial.storage import InMemoryStorage
from hyperdial.storage.sql import SQLStorage
from hyperdial.storages.journal import (
    JournalFileBackend,
    JournalFileOpenLock,
    JournalFileSymlinkLock,
    JournalStorage,
)

__all__ = ["InMemoryStorage", "JournalFileBackend", "JournalFileOpenLock",
           "JournalFileSymlinkLock", "JournalStorage", "RDBStorage", "RetryFailedTrialCallback"]


class RetryFailedTrialCallback:
    """Optuna's ``failed_trial_callback``: re-queue a trial whose worker died (its heartbeat
    stopped) with the same parameters, at most ``max_retry`` times (None: without limit).
    hyperdial's own spelling is ``create_study(failed_trial_retries=...)``."""

    def __init__(self, max_retry: int | None = None, inherit_intermediate_values: bool = False
                 ) -> None:
        if max_retry is not None and (isinstance(max_retry, bool) or not isinstance(
                max_retry, int) or max_retry < 0):
            raise ValueError(f"max_retry must be None or an int >= 0, got {max_retry!r}")
        if inherit_intermediate_values:
            raise ValueError("inherit_intermediate_values is not supported: a re-queued trial "
                             "starts its curve again")
        self.max_retry = max_retry

    @property
    def retries(self) -> int:
        """As ``failed_trial_retries``: no limit is the largest int."""
        return sys.maxsize if self.max_retry is None else self.max_retry

    def __repr__(self) -> str:
        return f"RetryFailedTrialCallback(max_retry={self.max_retry})"


class RDBStorage(SQLStorage):
    """Optuna's ``RDBStorage(url, engine_kwargs, ..., heartbeat_interval, grace_period,
    failed_trial_callback)``: an SQL storage (SQLite or PostgreSQL URL) whose heartbeat
    settings become those of every study created or loaded on it without settings of its
    own. Without ``heartbeat_interval``, hyperdial's default holds (a beat every 30 s), where
    Optuna's would have none."""

    def __init__(self, url: str, engine_kwargs: Mapping[str, Any] | None = None,
                 skip_compatibility_check: bool = False, *,
                 heartbeat_interval: float | None = None, grace_period: float | None = None,
                 failed_trial_callback: RetryFailedTrialCallback | None = None,
                 skip_table_creation: bool = False) -> None:
        if heartbeat_interval is not None and not heartbeat_interval > 0:
            raise ValueError(f"heartbeat_interval must be > 0, got {heartbeat_interval!r}")
        if failed_trial_callback is not None and not isinstance(failed_trial_callback,
                                                                RetryFailedTrialCallback):
            raise TypeError("failed_trial_callback must be a RetryFailedTrialCallback, got "
                            f"{failed_trial_callback!r}")
        super().__init__(url, engine_kwargs=engine_kwargs)
        self.heartbeat_defaults = (
            "auto" if heartbeat_interval is None else heartbeat_interval, grace_period,
            0 if failed_trial_callback is None else failed_trial_callback.retries)

    def __reduce__(self) -> tuple[Any, ...]:
        _, (url, engine_kwargs) = super().__reduce__()  # refuses an in-memory database
        return (_reopen_rdb, (url, engine_kwargs, self.heartbeat_defaults))


def _reopen_rdb(url: str, engine_kwargs: Mapping[str, Any],
                heartbeat_defaults: tuple[float | str | None, float | None, int]) -> RDBStorage:
    storage = RDBStorage(url, engine_kwargs)
    storage.heartbeat_defaults = heartbeat_defaults
    return storage
