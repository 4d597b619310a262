"""`hyperdial.logging`: Optuna's verbosity calls, on the ``hyperdial`` logger."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

import hyperdial as hd


@pytest.fixture(autouse=True)
def restore_level() -> Iterator[None]:
    import logging

    level = logging.getLogger("hyperdial").level
    yield
    logging.getLogger("hyperdial").setLevel(level)


def _fail_one_trial() -> None:
    study = hd.create_study()
    study.optimize(lambda t: float("nan"), n_trials=1)


def test_set_verbosity_decides_whether_a_failed_trial_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    hd.logging.set_verbosity(hd.logging.WARNING)
    assert hd.logging.get_verbosity() == hd.logging.WARNING
    with caplog.at_level(hd.logging.DEBUG, logger="hyperdial"):
        _fail_one_trial()
    assert any("trial 0 failed" in r.getMessage() for r in caplog.records)
    caplog.clear()
    hd.logging.set_verbosity(hd.logging.ERROR)
    _fail_one_trial()
    assert not [r for r in caplog.records if r.name == "hyperdial"]


def test_set_verbosity_decides_whether_a_failed_simulated_trial_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """The simulated executor's failed trials are logged as `Study.optimize`'s are."""
    from hyperdial.executors import SimulatedExecutor, optimize_simulated

    def fail_one_trial() -> None:
        optimize_simulated(hd.create_study(), lambda t: 1 / 0, n_trials=1,
                           executor=SimulatedExecutor())

    hd.logging.set_verbosity(hd.logging.WARNING)
    fail_one_trial()
    assert [r.getMessage() for r in caplog.records if r.name == "hyperdial"] == [
        "trial 0 failed with parameters {}: ZeroDivisionError('division by zero') (caught, "
        "study goes on)"]
    caplog.clear()
    hd.logging.set_verbosity(hd.logging.ERROR)
    fail_one_trial()
    assert not [r for r in caplog.records if r.name == "hyperdial"]


def test_optunas_logging_names() -> None:
    import logging

    assert hd.logging.get_logger("optuna") is logging.getLogger("hyperdial")
    assert hd.logging.get_logger("optuna.study").name == "hyperdial.study"
    assert hd.logging.get_logger("mine").name == "mine"
    hd.logging.set_verbosity(verbosity=hd.logging.ERROR)
    assert hd.logging.get_verbosity() == hd.logging.ERROR
    log = logging.getLogger("hyperdial")
    try:
        hd.logging.disable_propagation()
        assert log.propagate is False
        hd.logging.enable_propagation()
        assert log.propagate is True
        before = list(log.handlers)
        hd.logging.enable_default_handler()
        hd.logging.enable_default_handler()  # once only
        (added,) = [h for h in log.handlers if h not in before]
        assert isinstance(added, logging.StreamHandler)
        hd.logging.disable_default_handler()
        assert log.handlers == before
    finally:
        log.propagate = True
        hd.logging.disable_default_handler()


def test_each_finished_trial_is_logged_at_info_as_optuna_does(
        caplog: pytest.LogCaptureFixture) -> None:
    def objective(t: hd.Trial) -> float:
        x = t.suggest_float("x", 0, 1)
        if t.number == 2:
            raise hd.TrialPruned
        return x

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    hd.logging.set_verbosity(hd.logging.INFO)
    with caplog.at_level(hd.logging.INFO, logger="hyperdial"):
        study.optimize(objective, n_trials=3)
        study.tell(study.ask(), 0.5)
    lines = [r.getMessage() for r in caplog.records if r.name == "hyperdial"]
    best = study.best_trial
    x0 = study.trials[0].params["x"]
    assert lines[0] == (f"Trial 0 finished with value: {x0} and parameters: {{'x': {x0}}}. "
                        f"Best is trial 0 with value: {x0}.")
    assert lines[2] == "Trial 2 pruned."
    assert lines[3].startswith("Trial 3 finished with value: 0.5 and parameters: {}.")
    assert lines[3].endswith(f"Best is trial {best.number} with value: {best.value}.")
    caplog.clear()
    hd.logging.set_verbosity(hd.logging.WARNING)  # the default: not formatted, not logged
    study.optimize(objective, n_trials=1)
    assert not [r for r in caplog.records if r.name == "hyperdial"]


def test_several_objectives_are_logged_without_a_best(caplog: pytest.LogCaptureFixture) -> None:
    study = hd.create_study(directions=["minimize", "maximize"])
    hd.logging.set_verbosity(hd.logging.INFO)
    with caplog.at_level(hd.logging.INFO, logger="hyperdial"):
        study.optimize(lambda t: (1.0, 2.0), n_trials=1)
    assert [r.getMessage() for r in caplog.records if r.name == "hyperdial"] == [
        "Trial 0 finished with values: [1.0, 2.0] and parameters: {}."]


def test_a_failed_trials_warning_names_its_parameters_and_keeps_the_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    """Which configuration failed is the first thing to know (Optuna logs it too)."""
    def diverges(trial: hd.Trial) -> float:
        trial.suggest_float("lr", 1.0, 2.0)
        if trial.number == 0:
            raise ValueError("loss diverged")
        return math.nan

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    with caplog.at_level(hd.logging.WARNING, logger="hyperdial"):
        study.optimize(diverges, n_trials=2, catch=(ValueError,))
    caught, returned = [r for r in caplog.records if r.name == "hyperdial"]
    params = [t.params for t in study.trials]
    assert caught.getMessage() == (f"trial 0 failed with parameters {params[0]}: "
                                   "ValueError('loss diverged') (caught, study goes on)")
    assert caught.exc_info is not None and "diverges" in caplog.text  # the traceback
    assert returned.getMessage() == (f"trial 1 failed with parameters {params[1]}: the "
                                     "objective returned nan, which is not finite")
