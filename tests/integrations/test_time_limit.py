"""LimitedPool: calls in worker processes, a call that runs too long stopped by its process."""

from __future__ import annotations

import os
import signal
import time

import pytest

pytest.importorskip("joblib")

from joblib import Parallel, delayed

from hyperdial.integrations._time_limit import DIED, LATE, SKIPPED, LimitedPool

HANG = 600.0  # seconds a runaway call would take: far past any test's limit


def _after(delay: float, value: object) -> object:
    time.sleep(delay)  # the behaviour under test: a call that takes this long
    return value


def _pid(value: object) -> tuple[int, object]:
    return os.getpid(), value


def _fail() -> None:
    raise KeyError("from the worker")


def _die(value: object) -> object:
    """Kill this worker process outright, as the kernel's out-of-memory killer would."""
    if value == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)  # the behaviour under test: calls still running when a worker dies
    return value


def test_a_call_past_the_limit_is_stopped_and_the_others_keep_their_results() -> None:
    start = time.monotonic()
    with LimitedPool(n_workers=2, limit=2.0) as pool:
        out = pool.run([(_after, (0.0, "a"), {}), (_after, (HANG, "hung"), {}),
                        (_after, (0.0, "c"), {}), (_after, (HANG, "hung too"), {}),
                        (_after, (0.0, "e"), {})])
    assert out == ["a", LATE, "c", LATE, "e"]
    assert time.monotonic() - start < HANG / 4  # both were killed, not waited for


def test_calls_run_in_other_processes_kept_from_one_run_to_the_next() -> None:
    with LimitedPool(n_workers=2, limit=60.0) as pool:
        first = pool.run([(_pid, (i,), {}) for i in range(6)])
        second = pool.run([(_pid, (i,), {}) for i in range(6)])
    assert [value for _, value in first] == list(range(6))
    pids = {pid for pid, _ in first}
    assert os.getpid() not in pids and len(pids) <= 2
    assert {pid for pid, _ in second} <= pids


def test_killing_its_workers_leaves_joblib_parallel_working() -> None:
    with LimitedPool(n_workers=2, limit=1.0) as pool:
        assert pool.run([(_after, (HANG, None), {})]) == [LATE]
    assert Parallel(n_jobs=2)(delayed(_pid)(i) for i in range(4))[3][1] == 3


def test_an_exception_in_a_call_is_raised_here() -> None:
    with LimitedPool(n_workers=1, limit=60.0) as pool, \
            pytest.raises(KeyError, match="from the worker"):
        pool.run([(_fail, (), {})])


def test_no_calls_start_no_workers() -> None:
    pool = LimitedPool(n_workers=4, limit=1.0)
    assert pool.run([]) == []
    assert pool._pool is None


@pytest.mark.parametrize("n_workers", [1, 2])
def test_a_worker_that_dies_fails_only_its_call(n_workers: int) -> None:
    """Its pool breaks for every call it was running; they run again one at a time, and
    only the call that breaks a pool alone is reported dead."""
    with LimitedPool(n_workers=n_workers, limit=60.0) as pool:
        out = pool.run([(_die, (v,), {}) for v in ("a", "die", "c", "d", "die", "f")])
        assert out == ["a", DIED, "c", "d", DIED, "f"]
        assert pool.run([(_die, ("again",), {})]) == ["again"]  # a fresh pool after it


def test_a_group_that_gives_up_runs_no_more_calls() -> None:
    """A configuration's folds as a group: once one is late (or a result says so), its calls
    not yet started, and those killed beside it, do not run, and cost no restart of the
    workers; other groups' calls run as before."""
    calls = [(_after, (HANG, "a0"), {}), (_after, (0.0, "a1"), {}), (_after, (0.0, "b0"), {}),
             (_after, (0.0, "a2"), {}), (_after, (0.0, "c0"), {}), (_after, (0.0, "bad"), {}),
             (_after, (0.0, "c1"), {})]
    groups = ["a", "a", "b", "a", "c", "c", "c"]
    start = time.monotonic()
    with LimitedPool(n_workers=1, limit=1.0) as pool:
        out = pool.run(calls, groups, gives_up=lambda o: o is LATE or o == "bad")
    assert out == [LATE, SKIPPED, "b0", SKIPPED, "c0", "bad", SKIPPED]
    assert time.monotonic() - start < HANG / 4
    with LimitedPool(n_workers=2, limit=2.0) as pool:  # a1 starts after b0, beside a0
        out = pool.run([(_after, (HANG, "a0"), {}), (_after, (0.5, "b0"), {}),
                        (_after, (HANG, "a1"), {})], ["a", "b", "a"], lambda o: o is LATE)
    assert out == [LATE, "b0", SKIPPED]  # a1 killed with a0's workers, and not run again
