"""Successive halving: the rung kernels, ASHA against Optuna's decisions, synchronous cohorts
and multi-objective promotion."""

from __future__ import annotations

import math
import warnings
from collections.abc import Generator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import lsq_linear

import hyperdial as hd
from hyperdial.executors import SimulatedExecutor, optimize_simulated
from hyperdial.history import History, StudyDirection
from hyperdial.pruners import Decision, SuccessiveHalvingPruner
from hyperdial.pruners.halving import (
    CURVE_EXPONENTS,
    extrapolate_curves,
    halving_cost,
    is_promoted,
    min_resource_for_budget,
    pareto_fronts,
    rung_resources,
    rung_step,
)
from hyperdial.trial import TrialRecord, TrialState


def curve(values: list[float], start: int = 1) -> dict[int, float | tuple[float, ...]]:
    return {start + i: v for i, v in enumerate(values)}


def test_rung_resources() -> None:
    assert rung_resources(1, 3, 0, 30) == (1, 3, 9, 27)
    assert rung_resources(1, 3, 1, 30) == (3, 9, 27)
    assert rung_resources(2, 2, 0, 16, max_resource=16) == (2, 4, 8)
    assert rung_resources(5, 2, 0, 4) == ()
    # numpy ints are plain ints to the cached ladder (an int64 would wrap and never stop)
    assert rung_resources(np.int64(1), np.int64(4), 0, 10) == (1, 4)
    assert all(type(r) is int for r in rung_resources(np.int64(3), 3, 0, 30))
    with pytest.raises(ValueError, match="min_resource"):
        rung_resources(0, 3, 0, 30)


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


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.sampled_from([0.0, 1.0, 2.0, float("nan"), float("inf")]),
                       min_size=1, max_size=12), quota=st.integers(0, 5), data=st.data())
def test_one_objective_promotes_by_the_fronts_of_its_values(
        values: list[float], quota: int, data: st.DataObject) -> None:
    """One objective skips the front sort: the count of strictly lower values (NaN as inf)."""
    loss = np.array(values)[:, None]
    i = data.draw(st.integers(0, len(values) - 1))
    fronts = pareto_fronts(loss)
    assert is_promoted(loss, i, quota) == (int(np.sum(fronts < fronts[i])) < max(quota, 1))


def test_a_report_below_an_earlier_one_reaches_no_rung() -> None:
    """Trial 5 entered rung 9 as its best (a report at 10); four better trials got there
    since. A report at 11 judges no rung; nor does one at 5, which re-judged rung 9 and
    pruned the trial before: a promotion stands, as in Optuna."""
    def done(number: int, value: float) -> TrialRecord:
        return TrialRecord(number, TrialState.COMPLETE, values=(value,),
                           intermediate_values={s: value for s in range(1, 12)})

    pruner = SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    curve: dict[int, float] = {10: 0.5}
    trial = TrialRecord(5, TrialState.RUNNING, intermediate_values=curve)
    assert pruner.decide(History((done(0, 0.9), trial)), trial) is Decision.CONTINUE
    later = History((done(0, 0.9), *(done(k, 0.1) for k in range(1, 5))))
    for step in (11, 5):
        again = TrialRecord(5, TrialState.RUNNING, intermediate_values={**curve, step: 0.5})
        assert not pruner.needs_history(again)
        assert pruner.decide(later, again) is Decision.CONTINUE
    fresh = TrialRecord(6, TrialState.RUNNING, intermediate_values={5: 0.5, 10: 0.5})
    assert pruner.decide(later, fresh) is Decision.PRUNE  # the same curve, in step order


def test_rung_step_is_the_first_report_at_or_past_the_rung() -> None:
    assert rung_step([0, 2, 7], 3) == 7
    assert rung_step([0, 2], 2) == 2
    assert rung_step([0], 1) is None


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
    assert pruner.rungs(History((done,)), 300) == (3, 12, 48, 192)


def test_auto_min_resource_is_settled_by_the_first_trial_to_finish() -> None:
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    first = TrialRecord(1, TrialState.COMPLETE, values=(1.0,), datetime_complete=t,
                        intermediate_values=curve([1.0] * 300))
    later = TrialRecord(0, TrialState.COMPLETE, values=(1.0,), datetime_complete=t.replace(hour=1),
                        intermediate_values=curve([1.0] * 1000))
    pruner = SuccessiveHalvingPruner()
    assert pruner.rungs(History((first,)), 300) == (3, 12, 48, 192)
    assert pruner.rungs(History((later, first)), 300) == (3, 12, 48, 192)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="reduction_factor"):
        SuccessiveHalvingPruner(1, 1)
    with pytest.raises(ValueError, match="min_resource"):
        SuccessiveHalvingPruner(0)
    with pytest.raises(ValueError, match="synchronous"):
        SuccessiveHalvingPruner("auto", 3, synchronous=True)
    assert SuccessiveHalvingPruner(1, 3, max_resource=27, synchronous=True).cohort_size == 27
    for bad in ({"min_resource": "auto"}, {"min_resource": 1, "synchronous": True,
                                           "max_resource": 9}):
        with pytest.raises(ValueError, match="bootstrap_count needs an int min_resource"):
            SuccessiveHalvingPruner(bootstrap_count=2, **bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bootstrap_count"):
        hd.pruners.HyperbandPruner(bootstrap_count=-1)
    assert "bootstrap_count=3" in repr(hd.pruners.HyperbandPruner(bootstrap_count=3))


def lc(x: float, step: int) -> float:
    """A family of crossing learning curves."""
    return (x - 0.3) ** 2 + (1.0 + 3 * x) / (step + 1)


@pytest.mark.parametrize(("bootstrap_count", "steps"),
                         [(0, "every"), (4, "every"), (0, "random"), (0, "every 5")])
def test_asha_decides_as_optuna_does(bootstrap_count: int, steps: str) -> None:
    """Also when reports skip steps: one report past several rungs is judged at each of them
    (validating every few epochs left 183 decisions different from Optuna's over 6 seeds),
    and a trial it prunes at a higher one counts at every rung up to it, as Optuna records
    (validating every 5 epochs, rungs 1 and 3 both at the first report: 4 extra prunes)."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(0)
    xs = rng.random(60 if steps == "every 5" else 40).tolist()
    schedules = {x: list(range(1, 28)) if steps == "every" else list(range(5, 31, 5))
                 if steps == "every 5" else
                 sorted(rng.choice(np.arange(1, 28), size=5, replace=False).tolist())
                 for x in xs}

    def objective(trial: object, pruned: type[Exception]) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)  # type: ignore[attr-defined]
        for step in schedules[x]:
            trial.report(lc(x, step), step)  # type: ignore[attr-defined]
            if trial.should_prune():  # type: ignore[attr-defined]
                raise pruned()
        return lc(x, schedules[x][-1])

    ours = hd.create_study(pruner=SuccessiveHalvingPruner(1, 3, 0,
                                                          bootstrap_count=bootstrap_count))
    theirs = optuna.create_study(pruner=optuna.pruners.SuccessiveHalvingPruner(
        min_resource=1, reduction_factor=3, min_early_stopping_rate=0,
        bootstrap_count=bootstrap_count))
    for x in xs:
        ours.enqueue_trial({"x": x})
        theirs.enqueue_trial({"x": x})
    ours.optimize(lambda t: objective(t, hd.TrialPruned), n_trials=len(xs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.optimize(lambda t: objective(t, optuna.TrialPruned), n_trials=len(xs))
    assert [max(t.intermediate_values) for t in ours.trials] == [
        max(t.intermediate_values) for t in theirs.trials]
    assert [t.state.name for t in ours.trials] == [t.state.name for t in theirs.trials]
    assert sum(t.state is hd.TrialState.PRUNED for t in ours.trials) > 20
    # the first bootstrap_count trials stop at the first rung, whatever their values
    assert all(max(t.intermediate_values) == 1 for t in ours.trials[:bootstrap_count])


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


# -- ranking by extrapolated curves ---------------------------------------------------------------
def test_extrapolation_recovers_a_power_law_on_the_grid() -> None:
    t = np.arange(1.0, 10.0)
    alpha = CURVE_EXPONENTS[30]
    truth = 0.05 + 0.4 * t ** -alpha
    assert extrapolate_curves(t, truth[None, :], 27.0, 0.0)[0] == pytest.approx(
        0.05 + 0.4 * 27.0 ** -alpha, abs=1e-9)
    # steps from 0 are shifted to start at 1, the target with them
    assert extrapolate_curves(t - 1, truth[None, :], 26.0, 0.0)[0] == pytest.approx(
        0.05 + 0.4 * 27.0 ** -alpha, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=12), st.floats(-0.5, 0.5))
@example([0.0, 0.0, 0.1], 0.5)  # every report better than the bound: flat at the bound
@example([0.1, 0.5, 0.9], 0.0)  # a rising curve: flat at its mean
def test_extrapolation_is_the_bounded_least_squares_fit(values: list[float],
                                                        floor: float) -> None:
    """Against scipy's bounded least squares over the same exponents: the prediction of the
    exponent with the smallest error, which is never better than the floor nor worse than the
    fitted curve's first value (the fit cannot rise)."""
    y = np.array(values)
    t = np.arange(1.0, y.size + 1)
    fits = []
    for alpha in CURVE_EXPONENTS:
        design = np.stack([np.ones_like(t), t ** -alpha], axis=1)
        fit = lsq_linear(design, y, bounds=([floor, 0.0], [np.inf, np.inf]), method="bvls")
        fits.append((float(np.sum((design @ fit.x - y) ** 2)), fit.x, alpha))
    best_error = min(f[0] for f in fits)
    predictions = [a + b * 30.0 ** -alpha for e, (a, b), alpha in fits
                   if e <= best_error + 1e-9]
    got = extrapolate_curves(t, y[None, :], 30.0, floor)[0]
    assert min(predictions) - 1e-7 <= got <= max(predictions) + 1e-7
    assert got >= floor - 1e-12


def slow_and_fast(direction: StudyDirection = StudyDirection.MINIMIZE,
                  ) -> tuple[History, TrialRecord]:
    """Three trials that plateau early at 0.2 and one at rung 9 still falling fast
    (0.9 / sqrt(t): 0.3 at step 9, 0.17 by step 27). Maximising, the curves are 1 - those."""
    flip = (lambda v: 1.0 - v) if direction is StudyDirection.MAXIMIZE else (lambda v: v)
    fast = [TrialRecord(i, TrialState.COMPLETE, values=(flip(0.2),), intermediate_values=curve(
        [flip(0.2 + 0.5 / t ** 3) for t in range(1, 28)])) for i in range(3)]
    slow = TrialRecord(3, TrialState.RUNNING, intermediate_values=curve(
        [flip(0.9 / t ** 0.5) for t in range(1, 10)]))
    return History((*fast, slow), (direction,)), slow


@pytest.mark.parametrize("direction", [StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE])
def test_extrapolation_keeps_a_slow_starter_that_the_rung_value_cuts(
        direction: StudyDirection) -> None:
    history, slow = slow_and_fast(direction)
    best = 0.0 if direction is StudyDirection.MINIMIZE else 1.0
    by_value = SuccessiveHalvingPruner(9, 3, max_resource=27)
    by_curve = SuccessiveHalvingPruner(9, 3, max_resource=27, rank_by="extrapolation",
                                       best_possible=best)
    assert by_value.decide(history, slow) is Decision.PRUNE
    assert by_curve.decide(history, slow) is Decision.CONTINUE
    # with a bound that says the fast ones' 0.2 is as good as it gets, the slow one is cut
    assert SuccessiveHalvingPruner(9, 3, max_resource=27, rank_by="extrapolation",
                                   best_possible=abs(best - 0.2)).decide(
        history, slow) is Decision.PRUNE
    hyperband = hd.pruners.HyperbandPruner(1, 27, 3, rank_by="extrapolation",
                                           best_possible=best)
    assert "rank_by='extrapolation'" in repr(hyperband)
    assert hyperband.brackets(history)[0].rank_by == "extrapolation"  # type: ignore[index]


def test_extrapolation_keeps_the_value_of_short_or_broken_curves() -> None:
    pruner = SuccessiveHalvingPruner(2, 2, max_resource=27, rank_by="extrapolation",
                                     best_possible=0.0)
    short = TrialRecord(0, TrialState.COMPLETE, values=(0.3,), intermediate_values={2: 0.3})
    broken = TrialRecord(1, TrialState.COMPLETE, values=(0.1,),
                         intermediate_values={1: math.nan, 2: 0.5, 3: 0.1})
    fitted = TrialRecord(2, TrialState.RUNNING, intermediate_values={1: 0.9, 2: 0.6})
    losses = pruner.rung_losses(History((short, broken, fitted)), [short, broken, fitted], 2)
    assert losses[:2, 0].tolist() == [0.3, 0.5]  # too few reports; a NaN among them
    assert losses[2, 0] == 0.6  # two reports: too few to fit


def test_extrapolation_with_several_objectives() -> None:
    directions = (StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE)
    trial = TrialRecord(0, TrialState.RUNNING, intermediate_values=curve(
        [(1.0 / t, 1.0 - 1.0 / t) for t in range(1, 10)]))
    pruner = SuccessiveHalvingPruner(9, 3, max_resource=27, rank_by="extrapolation",
                                     best_possible=(0.0, 1.0))
    loss = pruner.rung_losses(History((trial,), directions), [trial], 9)
    assert loss[0, 0] == pytest.approx(1 / 27, abs=0.01)
    assert loss[0, 1] == pytest.approx(-(1 - 1 / 27), abs=0.01)  # minimisation rows


def test_extrapolation_needs_a_target_and_a_bound() -> None:
    with pytest.raises(ValueError, match="rank_by must be"):
        SuccessiveHalvingPruner(1, 3, rank_by="curve")
    with pytest.raises(ValueError, match="max_resource"):
        SuccessiveHalvingPruner(1, 3, rank_by="extrapolation", best_possible=0.0)
    with pytest.raises(ValueError, match="best_possible"):
        SuccessiveHalvingPruner(1, 3, max_resource=9, rank_by="extrapolation")
    with pytest.raises(ValueError, match="finite"):
        SuccessiveHalvingPruner(1, 3, max_resource=9, rank_by="extrapolation",
                                best_possible=math.nan)
    with pytest.raises(ValueError, match="best_possible"):
        hd.pruners.HyperbandPruner(1, 27, rank_by="extrapolation")
    history, slow = slow_and_fast()
    with pytest.raises(ValueError, match="2 values for a study of 1 objective"):
        SuccessiveHalvingPruner(9, 3, max_resource=27, rank_by="extrapolation",
                                best_possible=(0.0, 1.0)).decide(history, slow)


@pytest.mark.parametrize("rank_by", ["value", "extrapolation"])
def test_study_finds_the_late_bloomer_only_by_extrapolation(rank_by: str) -> None:
    """Eleven curves level off fast at 0.15 to 0.24; one (x = 1) falls slowly, from last at
    step 3 (0.36) and behind most at step 9 (0.21), to the best final loss (0.13)."""
    def loss(x: float, t: int) -> float:
        return 0.05 + 0.6 * t ** -0.6 if x == 1.0 else 0.15 + 0.1 * x + 0.5 * t ** -2.0

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        for t in range(1, 28):
            trial.report(loss(x, t), t)
            if trial.should_prune():
                raise hd.TrialPruned()
        return loss(x, 27)

    extra = {"rank_by": "extrapolation", "best_possible": 0.0} if rank_by != "value" else {}
    study = hd.create_study(pruner=SuccessiveHalvingPruner(3, 3, max_resource=27, **extra))
    for x in np.random.default_rng(0).permutation(np.linspace(0.0, 1.0, 12)):
        study.enqueue_trial({"x": float(x)})
    study.optimize(objective, n_trials=12)
    assert sum(t.state is TrialState.PRUNED for t in study.trials) >= 6
    assert (study.best_params["x"] == 1.0) is (rank_by == "extrapolation")


def test_a_pruner_used_again_resolves_auto_from_the_new_studys_trials() -> None:
    """Reports that skip reading the storage relied on "auto" as the first study resolved it
    (rungs at 8, 16, ...), so the second study's rung at 3 was never judged."""
    def run(study: hd.Study, steps: int, value: float) -> str:
        trial = study.ask()
        for step in range(steps):
            trial.report(value, step)
            if trial.should_prune():
                study.tell(trial, state=hd.TrialState.PRUNED)
                return f"pruned at step {step}"
        study.tell(trial, value)
        return "complete"

    def second_study(pruner: SuccessiveHalvingPruner) -> str:
        study = hd.create_study(pruner=pruner)
        run(study, 300, 0.0)  # the first to finish: "auto" is 3
        return run(study, 4, 10.0)  # worse at its rung

    shared = SuccessiveHalvingPruner(min_resource="auto", reduction_factor=2)
    first = hd.create_study(pruner=shared)
    run(first, 800, 1.0)  # "auto" is 8 there
    run(first, 1, 1.0)
    fresh = second_study(SuccessiveHalvingPruner(min_resource="auto", reduction_factor=2))
    assert second_study(shared) == fresh == "pruned at step 2"


def test_a_rung_value_is_what_the_rung_ranks_and_is_kept_for_finished_trials() -> None:
    """`value_at_rung` (one lookup a trial at a decision) agrees with `entered` and with
    `rung_losses`, for completed, pruned (past several rungs at once) and running trials."""
    from hyperdial.pruners.halving import _NOT_ENTERED

    rng = np.random.default_rng(1)
    pruner = SuccessiveHalvingPruner(1, 3, 0)
    study = hd.create_study(pruner=pruner)

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        steps = sorted(rng.choice(np.arange(1, 28), size=6, replace=False).tolist())
        for step in steps:
            trial.report(lc(x, step), step)
            if trial.should_prune():
                raise hd.TrialPruned()
        return lc(x, steps[-1])

    study.optimize(objective, n_trials=40)
    running = study.ask()
    running.report(0.5, 4)
    history = study.history()
    rungs = np.array([1, 3, 9, 27])
    curves = pruner._curves
    for record in history.trials:
        for r in rungs:
            value = curves.value_at_rung(record, r, rungs)
            assert curves.value_at_rung(record, r, rungs) is value  # kept (or recomputed alike)
            if curves.entered(record, r, rungs):
                assert [value] == pruner.rung_losses(history, [record], r)[:, 0].tolist()
            else:
                assert value is _NOT_ENTERED
    assert sum(t.state is hd.TrialState.PRUNED for t in history.trials) > 10


def test_the_rung_a_trial_stopped_at_is_stored_however_it_is_told(tmp_path: Path) -> None:
    """The rung lived only in the trial's unwritten attributes: a trial from `ask` told PRUNED
    through another Study of the same storage lost it; and a trial told to stop that went on
    and was stopped again at one rung kept the first rung."""
    from hyperdial.pruners.halving import PRUNED_AT_ATTR

    url = f"sqlite:///{tmp_path / 'p.db'}"
    study = hd.create_study(study_name="s", storage=url,
                            pruner=SuccessiveHalvingPruner(min_resource=1, reduction_factor=2))
    for value in (0.1, 0.2, 0.3, 0.4):
        trial = study.ask()
        trial.report(value, 10)
        trial.report(value, 16)
        study.tell(trial, value)
    trial = study.ask()
    trial.report(5.0, 10)
    assert trial.should_prune()  # at rung 1, of rungs 1, 2, 4 and 8 reached at once
    trial.report(5.0, 16)
    assert trial.should_prune()  # again, at rung 16 alone
    other = hd.load_study(study_name="s", storage=url)
    other.tell(trial.number, state=hd.TrialState.PRUNED)
    assert other.trials[-1].system_attrs[PRUNED_AT_ATTR] == 16
