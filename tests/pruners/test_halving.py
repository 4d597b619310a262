"""Successive halving: the rung kernels, ASHA against Optuna's decisions, synchronous cohorts
and multi-objective promotion."""

from __future__ import annotations

import math
import warnings
from collections.abc import Generator

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.executors import SimulatedExecutor, optimize_simulated
from hyperdial.history import History, StudyDirection
from hyperdial.pruners import Decision, SuccessiveHalvingPruner
from hyperdial.pruners.halving import (
    halving_cost,
    is_promoted,
    min_resource_for_budget,
    pareto_fronts,
    rung_resources,
    rung_value,
)
from hyperdial.trial import TrialRecord, TrialState


def curve(values: list[float], start: int = 1) -> dict[int, float | tuple[float, ...]]:
    return {start + i: v for i, v in enumerate(values)}


def test_rung_resources() -> None:
    assert rung_resources(1, 3, 0, 30).tolist() == [1, 3, 9, 27]
    assert rung_resources(1, 3, 1, 30).tolist() == [3, 9, 27]
    assert rung_resources(2, 2, 0, 16, max_resource=16).tolist() == [2, 4, 8]
    assert rung_resources(5, 2, 0, 4).tolist() == []


def test_halving_cost_counts_textbook_halving() -> None:
    # 27 configurations from rung 1: 27 x 1 + 9 x 2 + 3 x 6 + 1 x 18 epochs of 27 x 27
    assert halving_cost(1, 3, 27) == pytest.approx((27 + 9 * 2 + 3 * 6 + 18) / 27 ** 2)
    # 9 from rung 3 (one Hyperband bracket later): 9 x 3 + 3 x 6 + 1 x 18 of 9 x 27
    assert halving_cost(3, 3, 27) == pytest.approx((9 * 3 + 3 * 6 + 18) / (9 * 27))
    assert halving_cost(1, 3, 27, min_early_stopping_rate=1) == halving_cost(3, 3, 27)
    assert halving_cost(27, 3, 27) == 1.0  # no rung below a full run: no saving
    # rungs 4 and 12 below 27: 4 + 8 / 3 + 15 / 9 epochs per configuration
    assert halving_cost(4, 3, 27) == pytest.approx((4 + 8 / 3 + 15 / 9) / 27)
    # a larger reduction factor cuts harder, a later first rung saves less
    assert halving_cost(1, 3, 16) < halving_cost(1, 2, 16) < halving_cost(2, 3, 16)
    with pytest.raises(ValueError, match="min_resource"):
        halving_cost(0, 3, 27)


def test_min_resource_for_budget_is_the_latest_affordable_first_rung() -> None:
    assert min_resource_for_budget(27, 3, 1 / 3) == 3  # cost 0.259; rung 9 would cost 0.556
    assert min_resource_for_budget(27, 3, 0.6) == 9
    assert min_resource_for_budget(27, 3, 0.2) == 1
    assert min_resource_for_budget(27, 3, 0.01) == 1  # nothing fits: the most aggressive
    assert min_resource_for_budget(100, 3, 1 / 3) == 11  # 100 // 9; rungs 11 and 33
    assert halving_cost(11, 3, 100) <= 1 / 3 < halving_cost(33, 3, 100)
    assert min_resource_for_budget(1, 3, 0.5) == 1
    for budget in (0.0, 1.5):
        with pytest.raises(ValueError, match="budget"):
            min_resource_for_budget(27, 3, budget)
    with pytest.raises(ValueError, match="reduction_factor"):
        min_resource_for_budget(27, 1, 0.5)


def test_fronts_and_promotion() -> None:
    assert pareto_fronts(np.array([[3.0], [1.0], [1.0], [np.nan]])).tolist() == [1, 0, 0, 2]
    loss = np.array([[1.0, 4.0], [4.0, 1.0], [2.0, 2.0], [3.0, 3.0], [5.0, 5.0]])
    assert pareto_fronts(loss).tolist() == [0, 0, 0, 1, 2]
    assert is_promoted(loss, 3, 4) and not is_promoted(loss, 3, 3)
    # one entry, or fewer than eta: only the best goes on
    assert is_promoted(np.array([[5.0]]), 0, 0)
    assert not is_promoted(np.array([[1.0], [2.0]]), 1, 0)


def test_rung_value_is_the_first_report_at_or_past_the_rung() -> None:
    assert rung_value({0: 9.0, 2: 5.0, 7: 1.0}, 3) == 1.0
    assert rung_value({0: 9.0, 2: 5.0}, 2) == 5.0
    assert rung_value({0: 9.0}, 1) is None


def test_asha_prunes_the_worse_arrival_at_a_rung() -> None:
    done = [TrialRecord(i, TrialState.COMPLETE, values=(v,), intermediate_values=curve([v] * 5))
            for i, v in enumerate([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])]
    pruner = SuccessiveHalvingPruner(1, 3)
    good = TrialRecord(6, TrialState.RUNNING, intermediate_values={1: 1.5})
    bad = TrialRecord(6, TrialState.RUNNING, intermediate_values={1: 2.5})
    assert pruner.decide(History((*done, good)), good) is Decision.CONTINUE  # top 7 // 3 = 2
    assert pruner.decide(History((*done, bad)), bad) is Decision.PRUNE
    # judged once, at the report that entered the rung; steps before the first rung are free
    later = TrialRecord(6, TrialState.RUNNING, intermediate_values={1: 1.5, 2: 9.0})
    assert pruner.decide(History((*done, later)), later) is Decision.CONTINUE
    early = TrialRecord(6, TrialState.RUNNING, intermediate_values={0: 99.0})
    assert pruner.decide(History((*done, early)), early) is Decision.CONTINUE
    nan = TrialRecord(6, TrialState.RUNNING, intermediate_values={1: math.nan})
    assert pruner.decide(History((*done, nan)), nan) is Decision.PRUNE


def test_maximisation_flips_the_order() -> None:
    done = [TrialRecord(i, TrialState.COMPLETE, values=(v,), intermediate_values={1: v})
            for i, v in enumerate([1.0, 2.0, 3.0])]
    low = TrialRecord(3, TrialState.RUNNING, intermediate_values={1: 0.5})
    history = History((*done, low), (StudyDirection.MAXIMIZE,))
    assert SuccessiveHalvingPruner(1, 2).decide(history, low) is Decision.PRUNE


def test_auto_min_resource_waits_for_a_completed_trial() -> None:
    running = TrialRecord(0, TrialState.RUNNING, intermediate_values=curve([5.0] * 3))
    trial = TrialRecord(1, TrialState.RUNNING, intermediate_values={1: 9.0})
    pruner = SuccessiveHalvingPruner()
    assert pruner.decide(History((running, trial)), trial) is Decision.CONTINUE
    done = TrialRecord(0, TrialState.COMPLETE, values=(1.0,),
                       intermediate_values=curve([1.0] * 300))
    assert pruner.rungs(History((done,)), 300).tolist() == [3, 12, 48, 192]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="reduction_factor"):
        SuccessiveHalvingPruner(1, 1)
    with pytest.raises(ValueError, match="min_resource"):
        SuccessiveHalvingPruner(0)
    with pytest.raises(ValueError, match="synchronous"):
        SuccessiveHalvingPruner("auto", 3, synchronous=True)
    assert SuccessiveHalvingPruner(1, 3, max_resource=27, synchronous=True).cohort_size == 27


def lc(x: float, step: int) -> float:
    """A family of crossing learning curves."""
    return (x - 0.3) ** 2 + (1.0 + 3 * x) / (step + 1)


def test_asha_decides_as_optuna_does() -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    xs = np.random.default_rng(0).random(40).tolist()

    def objective(trial: object, pruned: type[Exception]) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
        for step in range(1, 28):
            trial.report(lc(x, step), step)  # type: ignore[attr-defined]
            if trial.should_prune():  # type: ignore[attr-defined]
                raise pruned()
        return lc(x, 27)

    ours = hd.create_study(pruner=SuccessiveHalvingPruner(1, 3, 0))
    theirs = optuna.create_study(pruner=optuna.pruners.SuccessiveHalvingPruner(
        min_resource=1, reduction_factor=3, min_early_stopping_rate=0))
    for x in xs:
        ours.enqueue_trial({"x": x})
        theirs.enqueue_trial({"x": x})
    ours.optimize(lambda t: objective(t, hd.TrialPruned), n_trials=len(xs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.optimize(lambda t: objective(t, optuna.TrialPruned), n_trials=len(xs))
    assert [max(t.intermediate_values) for t in ours.trials] == [
        max(t.intermediate_values) for t in theirs.trials]
    assert sum(t.state is hd.TrialState.PRUNED for t in ours.trials) > 20


def timed_objective(trial: hd.Trial) -> Generator[float, None, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(1, 10):
        yield 1.0 + 3.0 * ((x * 7919 + step) % 1.0)  # uneven step times
        trial.report(lc(x, step), step)
        if trial.should_prune():
            raise hd.TrialPruned()
    return lc(x, 9)


def synchronous_run(executor_seed: int, n_workers: int) -> list[hd.TrialRecord]:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=3),
                            pruner=SuccessiveHalvingPruner(1, 3, max_resource=9,
                                                           synchronous=True))
    optimize_simulated(study, timed_objective, n_trials=18,
                       executor=SimulatedExecutor(n_workers, seed=executor_seed))
    return study.trials


def textbook_survivors(cohort: list[hd.TrialRecord]) -> list[int]:
    """Synchronous halving of 9 by hand: 3 go on at rung 1, 1 at rung 3."""
    xs = np.array([t.params["x"] for t in cohort])
    rung1 = np.argsort([lc(x, 1) for x in xs])[:3]
    return [cohort[int(rung1[np.argmin([lc(xs[i], 3) for i in rung1])])].number]


def test_synchronous_survivors_are_textbook_halving_whatever_the_timing() -> None:
    """Every trial starts at once, in three orders of step times: no trial can end before
    its cohort's rungs are decided. (With 9 workers, the second cohort starts as the first
    one's trials are pruned, and one of its trials can end its training before the last of
    them has reported once: see the next test.)"""
    runs = [synchronous_run(seed, 18) for seed in range(3)]
    finished = [[t.number for t in run if t.state is TrialState.COMPLETE] for run in runs]
    assert all(f == finished[0] for f in finished)
    trials = runs[0]
    for cohort in (trials[:9], trials[9:]):
        assert [t.number for t in cohort if t.state is TrialState.COMPLETE] == \
            textbook_survivors(list(cohort))


@pytest.mark.parametrize("n_workers", [4, 9])
def test_synchronous_with_staggered_starts_prunes_a_subset_of_textbook_halving(
        n_workers: int) -> None:
    """A trial that ends before its rung is decided cannot wait: it completes."""
    trials = synchronous_run(0, n_workers)
    for cohort in (trials[:9], trials[9:]):
        survivors = textbook_survivors(list(cohort))
        pruned = {t.number for t in cohort if t.state is TrialState.PRUNED}
        assert pruned and not pruned & set(survivors)
        assert all(t.state is TrialState.COMPLETE for t in cohort if t.number in survivors)


def test_synchronous_waits_for_the_cohort() -> None:
    pruner = SuccessiveHalvingPruner(1, 2, synchronous=True, cohort_size=4)
    firsts = [TrialRecord(i, TrialState.RUNNING, intermediate_values={1: float(i)})
              for i in range(3)]
    worst = TrialRecord(2, TrialState.RUNNING, intermediate_values={1: 2.0, 2: 2.0})
    history = History((*firsts[:2], worst))
    assert pruner.decide(history, worst) is Decision.CONTINUE  # the cohort is not all here
    fourth = TrialRecord(3, TrialState.RUNNING)
    assert pruner.decide(History((*firsts[:2], worst, fourth)), worst) is Decision.CONTINUE
    fourth = TrialRecord(3, TrialState.RUNNING, intermediate_values={1: 3.0})
    assert pruner.decide(History((*firsts[:2], worst, fourth)), worst) is Decision.PRUNE
    failed = TrialRecord(3, TrialState.FAIL)  # finished without reaching the rung: dropped
    best = TrialRecord(0, TrialState.RUNNING, intermediate_values={1: 0.0, 2: 0.0})
    history = History((best, firsts[1], worst, failed))
    assert pruner.decide(history, best) is Decision.CONTINUE
    assert pruner.decide(history, worst) is Decision.PRUNE  # 3 entries keep 1


def test_multi_objective_promotion_by_pareto_rank() -> None:
    directions = (StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE)
    reports = [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (2.0, 0.5), (4.0, 0.2), (5.0, 0.1)]
    done = [TrialRecord(i, TrialState.COMPLETE, values=r, intermediate_values={1: r})
            for i, r in enumerate(reports)]
    pruner = SuccessiveHalvingPruner(1, 3)
    on_front = TrialRecord(6, TrialState.RUNNING, intermediate_values={1: (0.5, 0.5)})
    assert pruner.decide(History((*done, on_front), directions), on_front) is Decision.CONTINUE
    # dominated by (1, 1) and (2, 2): front 1, behind the 3 of front 0; quota 7 // 3 = 2
    dominated = TrialRecord(6, TrialState.RUNNING, intermediate_values={1: (2.5, 0.9)})
    assert pruner.decide(History((*done, dominated), directions), dominated) is Decision.PRUNE
    wrong = TrialRecord(6, TrialState.RUNNING, intermediate_values={1: 1.0})
    with pytest.raises(ValueError, match="objective"):
        pruner.decide(History((*done, wrong), directions), wrong)


def test_multi_objective_study_prunes_with_vector_reports() -> None:
    def objective(trial: hd.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(1, 10):
            trial.report((lc(x, step), lc(1 - x, step)), step)
            if trial.should_prune():
                raise hd.TrialPruned()
        return lc(x, 9), lc(1 - x, 9)

    study = hd.create_study(directions=["minimize", "minimize"],
                            sampler=hd.samplers.RandomSampler(seed=0),
                            pruner=SuccessiveHalvingPruner(1, 3))
    study.optimize(objective, n_trials=30)
    states = [t.state for t in study.trials]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states
