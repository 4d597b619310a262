"""`hyperdial.storages`: Optuna's storage names and where their settings go."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest

import hyperdial as hd
from hyperdial.storages import InMemoryStorage, RDBStorage, RetryFailedTrialCallback


def test_heartbeat_settings_on_the_storage_reach_every_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rdb.db'}"
    rdb = RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 5}}, heartbeat_interval=7,
                     grace_period=20, failed_trial_callback=RetryFailedTrialCallback(2))
    study = hd.create_study(storage=rdb, study_name="s")
    assert (study.heartbeat_interval, study.grace_period, study.failed_trial_retries) == (
        7, 20, 2)
    own = hd.load_study(study_name="s", storage=rdb, failed_trial_retries=5)
    assert (own.heartbeat_interval, own.failed_trial_retries) == (7, 5)  # its own wins
    plain = hd.load_study(study_name="s", storage=RDBStorage(url))
    assert (plain.heartbeat_interval, plain.failed_trial_retries) == (30.0, 0)  # our default
    unlimited = RetryFailedTrialCallback()
    assert hd.load_study(study_name="s", storage=RDBStorage(
        url, failed_trial_callback=unlimited)).failed_trial_retries == sys.maxsize
    copy = pickle.loads(pickle.dumps(rdb))  # what a worker process receives
    assert isinstance(copy, RDBStorage) and copy.heartbeat_defaults == (7, 20, 2)
    assert hd.load_study(study_name="s", storage=copy).grace_period == 20
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert len(hd.load_study(study_name="s", storage=url).trials) == 3  # one database
    assert isinstance(hd.storages.InMemoryStorage(), InMemoryStorage)


def test_bad_settings_fail_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rdb.db'}"
    with pytest.raises(ValueError, match="heartbeat_interval must be > 0"):
        RDBStorage(url, heartbeat_interval=0)
    with pytest.raises(TypeError, match="must be a RetryFailedTrialCallback"):
        RDBStorage(url, failed_trial_callback=lambda study, trial: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_retry must be None or an int"):
        RetryFailedTrialCallback(max_retry=-1)
    with pytest.raises(ValueError, match="inherit_intermediate_values is not supported"):
        RetryFailedTrialCallback(inherit_intermediate_values=True)
    with pytest.raises(TypeError, match="cannot leave its process"):
        pickle.dumps(RDBStorage("sqlite://"))


def test_journal_names_at_optunas_path(tmp_path: Path) -> None:
    """``from optuna.storages.journal import JournalFileBackend`` (Optuna 5's documented
    path) ports, lock objects included (accepted, ignored: the file is locked with flock)."""
    from hyperdial.storages.journal import (
        JournalFileBackend,
        JournalFileOpenLock,
        JournalFileSymlinkLock,
        JournalStorage,
    )

    assert hd.storages.JournalStorage is JournalStorage
    assert hd.storages.JournalFileBackend is JournalFileBackend
    path = str(tmp_path / "j.log")
    for lock in (None, JournalFileOpenLock(path), JournalFileSymlinkLock(path, grace_period=5)):
        storage = JournalStorage(JournalFileBackend(path, lock_obj=lock))
        study = hd.create_study(storage=storage, study_name="j", load_if_exists=True,
                                sampler=hd.samplers.RandomSampler(seed=0))
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert len(hd.load_study(study_name="j", storage=f"journal:///{path}").trials) == 3
    with pytest.raises(TypeError, match="lock_obj"):
        JournalFileBackend(path, lock_obj=object())  # type: ignore[arg-type]
