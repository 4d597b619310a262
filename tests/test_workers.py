"""Real worker processes on one SQLite file: nothing lost, nothing duplicated, crashes recovered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hyperdial as hd
from hyperdial.trial import TrialState

WORKER = textwrap.dedent("""
    import json, sys
    import hyperdial as hd

    url, name, n_trials, block_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sampler_name = sys.argv[5] if len(sys.argv) > 5 else "default"
    retries = int(sys.argv[6]) if len(sys.argv) > 6 else 0  # then it blocks before reporting
    grid = sampler_name == "grid"
    sampler = {"grid": hd.samplers.GridSampler({"x": [i / 10 - 1 for i in range(21)],
                                                "c": ["a", None]}),
               # reads no history: each worker skips the others' trials between its own
               "random": hd.samplers.RandomSampler(),
               "default": None}[sampler_name]
    study = hd.load_study(study_name=name, storage=url, sampler=sampler,
                          failed_trial_retries=retries)
    ran = []

    def objective(trial):
        x = trial.suggest_float("x", -1, 1)
        if grid:
            trial.suggest_categorical("c", ["a", None])
        if trial.number == block_at:
            if not retries:
                trial.report(x, 0)
            print("BLOCKED", trial.number, flush=True)
            sys.stdin.readline()  # the parent kills us here
        ran.append(trial.number)
        return x * x

    study.optimize(objective, n_trials=n_trials)
    print(json.dumps(ran), flush=True)
""")


@pytest.fixture
def worker_script(tmp_path: Path) -> Path:
    path = tmp_path / "worker.py"
    path.write_text(WORKER)
    return path


def _spawn(script: Path, url: str, name: str, n_trials: int, block_at: int = -1,
           sampler: str = "default", retries: int = 0) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [url, name, str(n_trials), str(block_at), sampler, str(retries)]
    return subprocess.Popen([sys.executable, str(script), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["default", "random"])
def test_four_processes_share_one_sqlite_file(tmp_path: Path, worker_script: Path,
                                              sampler: str) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    hd.create_study(study_name="shared", storage=url)
    procs = [_spawn(worker_script, url, "shared", 60, sampler=sampler) for _ in range(4)]
    ran: list[int] = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        ran += json.loads(out.strip().splitlines()[-1])
    trials = hd.load_study(study_name="shared", storage=url).trials
    assert len(trials) == 240
    assert [t.number for t in trials] == list(range(240))
    assert sorted(ran) == list(range(240))  # each trial ran in exactly one process
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert all(t.value == pytest.approx(t.params["x"] ** 2) for t in trials)


@pytest.mark.slow
def test_parallel_grid_workers_never_repeat_a_point_and_stop_when_exhausted(
        tmp_path: Path, worker_script: Path) -> None:
    url = f"sqlite:///{tmp_path / 'grid.db'}"
    hd.create_study(study_name="grid", storage=url)
    procs = [_spawn(worker_script, url, "grid", 20, sampler="grid") for _ in range(4)]  # 80 > 42
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    trials = hd.load_study(study_name="grid", storage=url).trials
    points = [(t.params["x"], t.params["c"]) for t in trials]
    assert len(points) == 42
    assert len(set(points)) == 42
    assert all(t.state is TrialState.COMPLETE for t in trials)


@pytest.mark.slow
@pytest.mark.parametrize("settings_on", ["study", "storage"])
def test_sigkill_mid_trial_keeps_finished_trials_and_resumes(tmp_path: Path, worker_script: Path,
                                                            settings_on: str) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    hd.create_study(study_name="crash", storage=url)
    proc = _spawn(worker_script, url, "crash", 20, block_at=7)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.split() == ["BLOCKED", "7"], proc.stderr.read() if proc.stderr else line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    before = hd.load_study(study_name="crash", storage=url, heartbeat_interval=None).trials
    assert [t.state for t in before] == [TrialState.COMPLETE] * 7 + [TrialState.RUNNING]
    finished = {t.number: t.value for t in before[:7]}

    # Reloading with a zero grace period notices the dead worker at once, fails its trial
    # and, with retries on, queues the same parameters again.
    # The settings on the study, or as Optuna sets them, on its storage.
    if settings_on == "study":
        resumed = hd.load_study(study_name="crash", storage=url, grace_period=0.0,
                                failed_trial_retries=1)
    else:
        rdb = hd.storages.RDBStorage(url, grace_period=0.0, failed_trial_callback=(
            hd.storages.RetryFailedTrialCallback(max_retry=1)))
        resumed = hd.load_study(study_name="crash", storage=rdb)
    killed = resumed.trials[7]
    assert killed.state is TrialState.FAIL
    assert "stale" in (killed.fail_reason or "")
    assert resumed.trials[8].state is TrialState.WAITING
    assert resumed.trials[8].params == killed.params

    resumed.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
    after = resumed.trials
    assert {t.number: t.value for t in after[:7]} == finished
    assert after[8].state is TrialState.COMPLETE
    assert after[8].params == killed.params
    assert after[8].system_attrs["retry_of"] == 7
    assert len(after) == 13


@pytest.mark.slow
def test_a_retry_runs_the_parameters_of_a_trial_killed_before_its_first_report(
        tmp_path: Path, worker_script: Path) -> None:
    """With retries on, each parameter is stored as it is suggested: the trial killed before
    it reported anything still leaves its parameters for its retry."""
    url = f"sqlite:///{tmp_path / 'early.db'}"
    hd.create_study(study_name="early", storage=url)
    proc = _spawn(worker_script, url, "early", 5, block_at=2, retries=1)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.split() == ["BLOCKED", "2"], proc.stderr.read() if proc.stderr else line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    resumed = hd.load_study(study_name="early", storage=url, grace_period=0.0,
                            failed_trial_retries=1)
    killed, retry = resumed.trials[2], resumed.trials[3]
    assert killed.state is TrialState.FAIL and set(killed.params) == {"x"}
    assert retry.state is TrialState.WAITING and retry.params == killed.params
