"""The simulated executor: virtual time order, worker limits, determinism, futures, and the
ask/tell loop on top of it."""

from __future__ import annotations

from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.executors import Event, Executor, SimulatedExecutor, optimize_simulated


def sleeper(name: str, costs: list[float], log: list[tuple[float, str]],
            clock: SimulatedExecutor) -> Generator[float, None, str]:
    for cost in costs:
        yield cost
        log.append((clock.now, name))
    return name


def test_events_run_in_virtual_time_order_on_limited_workers() -> None:
    ex = SimulatedExecutor(2)
    log: list[tuple[float, str]] = []
    a = ex.submit(sleeper, "a", [3.0, 3.0], log, ex)
    b = ex.submit(sleeper, "b", [1.0, 1.0], log, ex)
    c = ex.submit(sleeper, "c", [1.0], log, ex)  # waits for a free worker
    assert not a.done()
    ex.run()
    assert [t for t, _ in log] == sorted(t for t, _ in log)  # in time order
    assert sorted(log) == [(1.0, "b"), (2.0, "b"), (3.0, "a"), (3.0, "c"), (6.0, "a")]
    assert [f.result() for f in (a, b, c)] == ["a", "b", "c"]
    assert ex.now == 6.0
    assert ex.trace[:3] == [Event(0.0, 0, "start"), Event(0.0, 0, "step", 3.0),
                            Event(0.0, 1, "start")]


def test_plain_functions_take_no_time_and_errors_go_to_the_future() -> None:
    ex = SimulatedExecutor(1)
    ok = ex.submit(lambda x: x + 1, 1)

    def broken() -> Generator[float, None, None]:
        yield 1.0
        raise KeyError("boom")

    bad = ex.submit(broken)
    negative = ex.submit(lambda: (yield -1.0))
    ex.shutdown()
    assert ok.result() == 2
    assert isinstance(bad.exception(), KeyError)
    assert isinstance(negative.exception(), ValueError)
    with pytest.raises(RuntimeError, match="shut-down"):
        ex.submit(lambda: 1)
    with pytest.raises(ValueError, match="n_workers"):
        SimulatedExecutor(0)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), -float("inf"), None, "abc",
                                 "2.5", True])  # ("2.5" went through float() as 2.5 s)
def test_a_bad_step_cost_fails_its_trial_and_the_run_goes_on(bad: Any) -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))

    def objective(trial: hd.Trial) -> Generator[Any, None, float]:
        x = trial.suggest_float("x", 0, 1)
        yield bad if trial.number == 1 else 1.0
        return x

    executor = SimulatedExecutor(2)
    optimize_simulated(study, objective, n_trials=4, executor=executor)
    states = [t.state for t in study.trials]
    assert states == [hd.TrialState.COMPLETE, hd.TrialState.FAIL, hd.TrialState.COMPLETE,
                      hd.TrialState.COMPLETE]
    assert "costs are finite virtual seconds >= 0" in study.trials[1].fail_reason
    assert executor.now == 2.0 and not executor._busy  # trial 1 took no time; none left


def test_numpy_and_torch_step_costs_count_as_their_numbers() -> None:
    torch = pytest.importorskip("torch")
    for cost in (np.array(2.5), np.float32(2.5), torch.tensor(2.5)):
        study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))

        def objective(trial: hd.Trial, cost: Any = cost) -> Generator[Any, None, float]:
            yield cost
            return trial.suggest_float("x", 0, 1)

        executor = SimulatedExecutor(1)
        optimize_simulated(study, objective, n_trials=1, executor=executor)
        assert study.trials[0].state is hd.TrialState.COMPLETE and executor.now == 2.5


def test_run_until_stops_the_clock_there() -> None:
    ex = SimulatedExecutor(1)
    log: list[tuple[float, str]] = []
    future = ex.submit(sleeper, "a", [2.0, 2.0], log, ex)
    ex.run(until=3.0)
    assert log == [(2.0, "a")] and ex.now == 3.0 and not future.done()
    ex.run()
    assert future.result() == "a"


def test_ties_are_broken_by_the_seed_and_replay_exactly() -> None:
    def order(seed: int) -> list[str]:
        ex = SimulatedExecutor(4, seed=seed)
        log: list[tuple[float, str]] = []
        for name in "abcd":
            ex.submit(sleeper, name, [1.0], log, ex)
        ex.run()
        return [name for _, name in log]

    assert order(0) == order(0)
    assert len({tuple(order(seed)) for seed in range(8)}) > 1


def test_the_protocol_fits_thread_pools() -> None:
    assert isinstance(SimulatedExecutor(), Executor)
    with ThreadPoolExecutor(1) as pool:
        assert isinstance(pool, Executor)


def objective(trial: hd.Trial) -> Generator[float, None, float]:
    x = trial.suggest_float("x", -1.0, 1.0)
    if x > 0.9:
        raise RuntimeError("unlucky")
    for step in range(1, 10):
        yield 1.0 + abs(x)
        trial.report(x * x + 1.0 / step, step)
        if trial.should_prune():
            raise hd.TrialPruned()
    return x * x


def run_study(seed: int, **kwargs: object) -> tuple[list[object], list[Event]]:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0),
                            pruner=hd.pruners.SuccessiveHalvingPruner(1, 3))
    ex = SimulatedExecutor(8, seed=seed)
    optimize_simulated(study, objective, n_trials=40, executor=ex, **kwargs)  # type: ignore[arg-type]
    return [(t.number, t.state, dict(t.params), dict(t.intermediate_values), t.values)
            for t in study.trials], ex.trace


def test_optimize_simulated_is_deterministic_and_counts_states() -> None:
    trials, trace = run_study(5)
    assert run_study(5) == (trials, trace)
    states = {t[1] for t in trials}
    assert states == {hd.TrialState.COMPLETE, hd.TrialState.PRUNED, hd.TrialState.FAIL}
    assert len(trials) == 40


def test_callbacks_and_stop() -> None:
    seen: list[int] = []

    def stop_after_five(study: hd.Study, record: hd.TrialRecord) -> None:
        seen.append(record.number)
        if len(seen) == 5:
            study.stop()

    trials, _ = run_study(0, callbacks=[stop_after_five])
    assert 5 <= len(trials) < 40  # the 8 running ones finish
    assert len(seen) == len(trials)


def test_errors_outside_the_objective_are_raised() -> None:
    study = hd.create_study()

    def failing_callback(study: hd.Study, record: hd.TrialRecord) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        optimize_simulated(study, lambda t: 1.0, n_trials=3, executor=SimulatedExecutor(1),
                           callbacks=[failing_callback])
    assert len(study.trials) == 1


def test_an_interrupt_stops_the_executor_at_once_and_closes_the_other_tasks() -> None:
    ex = SimulatedExecutor(2)
    closed: list[str] = []

    def long_task(name: str) -> Generator[float, None, str]:
        try:
            for _ in range(100):
                yield 1.0
        finally:
            closed.append(name)
        return name

    def interrupted() -> Generator[float, None, None]:
        yield 1.5
        raise KeyboardInterrupt

    running = ex.submit(long_task, "running")
    interrupt = ex.submit(interrupted)
    queued = ex.submit(long_task, "queued")
    with pytest.raises(KeyboardInterrupt):
        ex.run()
    assert ex.now == 1.5 and closed == ["running"]  # cleaned up, not run to its end
    assert isinstance(interrupt.exception(), KeyboardInterrupt)
    assert running.cancelled() and queued.cancelled()
    assert ex.trace[-2:] == [Event(1.5, 1, "error"), Event(1.5, 0, "cancel")]
    assert not ex._busy
    ex.run()  # nothing left


def test_ctrl_c_in_a_trial_fails_it_and_the_running_ones_and_is_raised_at_once() -> None:
    steps: list[int] = []

    def objective(trial: hd.Trial) -> Generator[float, None, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        for epoch in range(1, 4):
            yield 1.0
            steps.append(trial.number)
            if trial.number == 2 and epoch == 2:
                raise KeyboardInterrupt  # what Ctrl-C during training looks like
        return x

    study = hd.create_study()
    with pytest.raises(KeyboardInterrupt):
        optimize_simulated(study, objective, n_trials=30, executor=SimulatedExecutor(3))
    assert len(steps) <= 6  # trials 0 to 2, two epochs each at most
    assert [(t.state, t.fail_reason) for t in study.trials] == [
        (hd.TrialState.FAIL, "interrupted (the run stopped while it was running)"),
        (hd.TrialState.FAIL, "interrupted (the run stopped while it was running)"),
        (hd.TrialState.FAIL, "interrupted (KeyboardInterrupt)")]


def test_failed_trials_are_logged_as_optimize_logs_caught_errors(
        caplog: pytest.LogCaptureFixture) -> None:
    def buggy(trial: hd.Trial) -> Generator[float, None, float]:
        yield 1.0
        raise NameError("name 'x_typo' is not defined")

    study = hd.create_study()
    with caplog.at_level(hd.logging.WARNING, logger="hyperdial"):
        optimize_simulated(study, buggy, n_trials=5, executor=SimulatedExecutor(2))
    assert all(t.state is hd.TrialState.FAIL for t in study.trials)
    messages = sorted(r.getMessage() for r in caplog.records if r.levelno == hd.logging.WARNING)
    assert messages == [f"trial {n} failed with parameters {{}}: NameError(\"name 'x_typo' is "
                        "not defined\") (caught, study goes on)" for n in range(5)]
