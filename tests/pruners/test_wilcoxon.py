"""WilcoxonPruner: a paired signed-rank test against the best trial, Optuna's rule."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.history import History, StudyDirection
from hyperdial.pruners import Decision, WilcoxonPruner
from hyperdial.pruners.wilcoxon import tied_signed_rank_p
from hyperdial.trial import TrialRecord, TrialState


def _record(number: int, state: TrialState, reports: dict[int, float],
            value: float | None = None) -> TrialRecord:
    return TrialRecord(number, state, intermediate_values=reports,
                       values=None if value is None else (value,))


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_decides_as_optunas_wilcoxon_pruner(direction: str) -> None:
    """Random instance scores for a finished field and a running trial at every number of
    instances: the same decision as Optuna's pruner, case by case."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    rng = np.random.default_rng(1)
    n_instances, agree, pruned = 12, 0, 0
    for case in range(40):
        offsets = rng.normal(0.0, 0.5, size=4)
        base = rng.normal(size=n_instances)
        field = [base + o + rng.normal(0, 0.3, n_instances) for o in offsets]  # no ties
        running = base + rng.normal(0.3, 0.5) + rng.normal(0, 0.3, n_instances)
        if case % 10 == 9:
            running[3] = math.nan  # a broken report stops nothing
        peer = optuna.create_study(direction=direction)
        records = []
        for k, scores in enumerate(field):
            reports = {s: float(v) for s, v in enumerate(scores)}
            peer.add_trial(optuna.trial.create_trial(value=float(scores.mean()),
                                                     intermediate_values=reports))
            records.append(_record(k, TrialState.COMPLETE, reports, float(scores.mean())))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs_pruner = optuna.pruners.WilcoxonPruner(p_threshold=0.1)
        ours_pruner = WilcoxonPruner(p_threshold=0.1)
        for last in range(1, n_instances + 1):
            reports = {s: float(v) for s, v in enumerate(running[:last])}
            frozen = optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING,
                                               intermediate_values=reports)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna's notes on NaN reports
                expected = theirs_pruner.prune(peer, frozen)
            trial = _record(len(records), TrialState.RUNNING, reports)
            history = History((*records, trial), (StudyDirection.parse(direction),))
            got = ours_pruner.decide(history, trial) is Decision.PRUNE
            assert got == expected, (case, last)
            agree += 1
            pruned += got
    assert agree == 40 * n_instances and pruned > 50  # both outcomes were exercised


def test_tied_differences_get_the_exact_p_value_scipys_permutation_test_gives() -> None:
    """Errors counted per instance tie (and some are zero): the p-value is the exact one of
    scipy's default (a permutation test there), at a fraction of its cost."""
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(0)
    for n in (2, 5, 9, 13):  # past 13 scipy falls back on the normal approximation
        for _ in range(5):
            diff = rng.integers(-2, 4, size=n).astype(float)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = wilcoxon(diff, alternative="greater", zero_method="zsplit").pvalue
            assert tied_signed_rank_p(diff) == pytest.approx(expected, rel=1e-9)
    best = np.array([1.0, 2, 2, 1, 3, 2, 1, 2, 2, 1])
    values = best + np.array([1.0, 1, 0, 1, -1, 1, 1, 2, 1, 1])  # p = 0.0176 exactly
    records = (_record(0, TrialState.COMPLETE, dict(enumerate(best.tolist())), 1.7),
               _record(1, TrialState.RUNNING, dict(enumerate(values.tolist()))))
    history = History(records)
    assert WilcoxonPruner(p_threshold=0.02).decide(history, records[1]) is Decision.PRUNE
    assert WilcoxonPruner(p_threshold=0.015).decide(history, records[1]) is Decision.CONTINUE


def test_two_instances_worse_by_the_same_amount_are_not_enough() -> None:
    """No sign pattern of 2 differences gives p below 0.25 (the normal approximation said
    0.079 and pruned at 0.1)."""
    records = (_record(0, TrialState.COMPLETE, {0: 1.0, 1: 2.0}, 1.5),
               _record(1, TrialState.RUNNING, {0: 1.5, 1: 2.5}))
    assert WilcoxonPruner(p_threshold=0.1).decide(History(records),
                                                  records[1]) is Decision.CONTINUE


def test_a_study_evaluated_instance_by_instance() -> None:
    """20 instances, trials that differ by a shift: the clearly worse ones stop early."""
    rng = np.random.default_rng(0)
    difficulty = rng.normal(size=20)

    def objective(trial: hd.Trial) -> float:
        shift = trial.suggest_float("shift", 0.0, 3.0)
        losses = []
        for i in np.random.default_rng(trial.number).permutation(20):  # a fresh order
            losses.append(difficulty[i] + shift)
            trial.report(losses[-1], int(i))
            if trial.should_prune():
                raise hd.TrialPruned()
        return float(np.mean(losses))

    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0),
                            pruner=WilcoxonPruner(p_threshold=0.1))
    study.optimize(objective, n_trials=30)
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert pruned and all(len(t.intermediate_values) < 20 for t in pruned)
    assert all(t.params["shift"] > study.best_params["shift"] for t in pruned)
    evaluated = sum(len(t.intermediate_values) for t in study.trials)
    assert evaluated < 0.6 * 30 * 20  # most of the work of the worse trials was saved


def test_arguments_and_what_is_not_judged() -> None:
    with pytest.raises(ValueError, match="p_threshold"):
        WilcoxonPruner(p_threshold=1.5)
    with pytest.raises(ValueError, match="n_startup_steps"):
        WilcoxonPruner(n_startup_steps=-1)
    best = _record(0, TrialState.COMPLETE, {0: 0.0, 1: 0.0, 2: 0.0}, 0.0)
    worse = _record(1, TrialState.RUNNING, {0: 5.0, 1: 6.0, 2: 7.0})
    history = History((best, worse))
    assert WilcoxonPruner(p_threshold=0.2).decide(history, worse) is Decision.PRUNE
    assert WilcoxonPruner(p_threshold=0.2, n_startup_steps=4).decide(
        history, worse) is Decision.CONTINUE  # three shared instances only
    lonely = History((_record(0, TrialState.COMPLETE, {}, 0.0), worse))
    assert WilcoxonPruner().decide(lonely, worse) is Decision.CONTINUE  # best has no reports
    with pytest.raises(ValueError, match="single-objective"):
        WilcoxonPruner().decide(History((worse,), (StudyDirection.MINIMIZE,) * 2), worse)
