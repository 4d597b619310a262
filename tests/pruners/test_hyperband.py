"""Hyperband: brackets, their deterministic draw, judging within a bracket, the sampler's
filtered view, and ASHA/Hyperband run asynchronously on 8 virtual workers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.executors import SimulatedExecutor, optimize_simulated
from hyperdial.history import History
from hyperdial.pruners import Decision, HyperbandPruner, SuccessiveHalvingPruner
from hyperdial.pruners.halving import rung_resources
from hyperdial.pruners.hyperband import bracket_rungs, bracket_weights, n_brackets
from hyperdial.samplers import RandomSampler
from hyperdial.space import SearchSpace
from hyperdial.trial import TrialRecord, TrialState


def test_bracket_sizes_follow_hyperband() -> None:
    assert n_brackets(1, 27, 3) == 4
    assert n_brackets(1, 26, 3) == 3
    assert n_brackets(1, 81, 3) == 5
    assert n_brackets(5, 4, 2) == 1
    assert bracket_weights(4, 3).tolist() == [27, 12, 6, 4]
    brackets = HyperbandPruner(1, 27, 3).brackets()
    assert brackets is not None
    assert [b.min_early_stopping_rate for b in brackets] == [0, 1, 2, 3]
    assert all(b.max_resource == 27 for b in brackets)


def test_rungs_are_anchored_at_the_full_run_as_in_the_paper() -> None:
    # a power of eta: the paper's rungs are min_resource * eta ** (b + k), as in Optuna
    for low, top, eta in ((1, 27, 3), (2, 54, 3), (1, 16, 2), (3, 3, 2)):
        count = n_brackets(low, top, eta)
        for b in range(count):
            assert bracket_rungs(b, count, top, eta) == rung_resources(low, eta, b, top, top)
    # not a power: rungs at ceil(max / eta ** j), and the last bracket is plain random search
    assert [bracket_rungs(b, 3, 26, 3) for b in range(3)] == [(3, 9), (9,), ()]
    assert [bracket_rungs(b, 5, 100, 3) for b in range(5)] == [
        (2, 4, 12, 34), (4, 12, 34), (12, 34), (34,), ()]
    brackets = HyperbandPruner(2, 27, 3).brackets()
    assert brackets is not None
    assert [b.rungs(History(()), 27) for b in brackets] == [(3, 9), (9,), ()]
    assert [b.rungs(History(()), 5) for b in brackets] == [(3,), (), ()]


def test_the_last_bracket_never_prunes() -> None:
    pruner = HyperbandPruner(1, 26, 3)  # 3 brackets; Optuna's last one would prune at step 9
    last = records_in(pruner, 2, 4)
    good = [TrialRecord(n, TrialState.COMPLETE, values=(0.0,),
                        intermediate_values={s: 0.0 for s in range(1, 27)}) for n in last[:3]]
    for step in range(1, 26):
        bad = TrialRecord(last[3], TrialState.RUNNING,
                          intermediate_values={s: 9.0 for s in range(1, step + 1)})
        assert pruner.decide(History((*good, bad)), bad) is Decision.CONTINUE
    first = records_in(pruner, 0, 4)  # the most aggressive bracket prunes at step 3
    good = [TrialRecord(n, TrialState.COMPLETE, values=(0.0,),
                        intermediate_values={s: 0.0 for s in range(1, 27)}) for n in first[:3]]
    for step, decision in ((2, Decision.CONTINUE), (3, Decision.PRUNE)):
        bad = TrialRecord(first[3], TrialState.RUNNING,
                          intermediate_values={s: 9.0 for s in range(1, step + 1)})
        assert pruner.decide(History((*good, bad)), bad) is decision


def test_synchronous_brackets_use_hyperband_cohorts() -> None:
    pruner = HyperbandPruner(1, 9, 3, synchronous=True)
    brackets = pruner.brackets()
    assert brackets is not None
    assert [(b.synchronous, b.cohort_size) for b in brackets] == [(True, 9), (True, 5), (True, 3)]
    assert "synchronous=True" in repr(pruner)


def test_bracket_draw_is_deterministic_and_weighted() -> None:
    pruner = HyperbandPruner(1, 27, 3, seed=7)
    draws = [pruner.bracket_of(n) for n in range(4900)]
    assert draws == [HyperbandPruner(1, 27, 3, seed=7).bracket_of(n) for n in range(4900)]
    assert draws != [HyperbandPruner(1, 27, 3, seed=8).bracket_of(n) for n in range(4900)]
    share = np.array([Counter(draws)[b] for b in range(4)]) / 4900
    assert np.allclose(share, np.array([27, 12, 6, 4]) / 49, atol=0.03)


def records_in(pruner: HyperbandPruner, bracket: int, count: int) -> list[int]:
    return [n for n in range(1000) if pruner.bracket_of(n) == bracket][:count]


def test_a_trial_is_judged_only_within_its_bracket() -> None:
    pruner = HyperbandPruner(1, 27, 3)
    ours = records_in(pruner, 0, 4)
    others = records_in(pruner, 1, 6)
    trials = [TrialRecord(n, TrialState.COMPLETE, values=(0.0,),
                          intermediate_values={s: 0.0 for s in range(1, 28)}) for n in others]
    trials += [TrialRecord(n, TrialState.COMPLETE, values=(9.0,),
                           intermediate_values={s: 9.0 for s in range(1, 28)}) for n in ours[:3]]
    trial = TrialRecord(ours[3], TrialState.RUNNING, intermediate_values={1: 5.0})
    history = History((*sorted(trials, key=lambda t: t.number), trial))
    assert pruner.decide(history, trial) is Decision.CONTINUE  # best of its own bracket
    worse = TrialRecord(ours[3], TrialState.RUNNING, intermediate_values={1: 10.0})
    assert pruner.decide(history, worse) is Decision.PRUNE
    assert {t.number for t in pruner.bracket_history(history, ours[3]).trials} == set(ours)
    assert pruner.sampler_view(history, ours[3]) is history  # the sampler learns from all
    scoped = HyperbandPruner(1, 27, 3, sampler_scope="bracket")
    assert scoped.sampler_view(history, ours[3]) == pruner.bracket_history(history, ours[3])
    assert scoped.decide(history, worse) is Decision.PRUNE


def test_auto_max_resource_waits_for_a_completed_trial() -> None:
    pruner = HyperbandPruner(1, "auto", 3)
    trial = TrialRecord(0, TrialState.RUNNING, intermediate_values={1: 1.0})
    history = History((trial,))
    assert pruner.bracket_of(0, history) is None
    assert pruner.decide(history, trial) is Decision.CONTINUE
    assert pruner.sampler_view(history, 0) is history
    done = TrialRecord(0, TrialState.COMPLETE, values=(1.0,),
                       intermediate_values={s: 1.0 for s in range(1, 10)})
    assert pruner.resolved_max_resource(History((done,))) == 9
    brackets = pruner.brackets(History((done,)))
    assert brackets is not None and len(brackets) == 3


def test_auto_max_resource_is_settled_by_the_first_trial_to_finish() -> None:
    """Trial 1 ends first after 3 steps; trial 0, still running then, ends later after 27:
    the brackets stay those of max_resource 3, where no trial has been judged on other rungs."""
    pruner = HyperbandPruner(1, "auto", 3)
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    early = TrialRecord(1, TrialState.COMPLETE, values=(1.0,), datetime_complete=t,
                        intermediate_values={s: 1.0 for s in range(1, 4)})
    running = TrialRecord(0, TrialState.RUNNING, intermediate_values={1: 1.0})
    before = [pruner.bracket_of(n, History((running, early))) for n in range(10)]
    late = TrialRecord(0, TrialState.COMPLETE, values=(1.0,), datetime_complete=t.replace(hour=1),
                       intermediate_values={s: 1.0 for s in range(1, 28)})
    assert pruner.resolved_max_resource(History((late, early))) == 3
    assert [pruner.bracket_of(n, History((late, early))) for n in range(10)] == before


class Recorder(RandomSampler):
    """Remembers which trial numbers each proposal could see."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.seen: list[set[int]] = []

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        self.seen.append({t.number for t in history.trials})
        return super().propose(history, space, rng)


def curve_objective(trial: hd.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(1, 10):
        trial.report(x / step, step)
        if trial.should_prune():
            raise hd.TrialPruned()
    return x / 9


def test_the_study_shows_the_sampler_every_bracket_by_default() -> None:
    sampler = Recorder()
    study = hd.create_study(sampler=sampler, pruner=HyperbandPruner(1, 9, 3))
    study.optimize(curve_objective, n_trials=12)
    assert sampler.seen == [set(range(n + 1)) for n in range(12)]


def test_a_bracket_scope_shows_the_sampler_only_the_trials_bracket() -> None:
    pruner = HyperbandPruner(1, 9, 3, sampler_scope="bracket")
    sampler = Recorder()
    study = hd.create_study(sampler=sampler, pruner=pruner)
    study.optimize(curve_objective, n_trials=20)
    for number, seen in enumerate(sampler.seen):
        bracket = pruner.bracket_of(number)
        assert number in seen
        assert all(pruner.bracket_of(n) == bracket for n in seen)
    assert hd.pruners.NopPruner().sampler_view(study.history(), 3) == study.history()


class FidelityRecorder(Recorder):
    multi_fidelity = True


def test_a_multi_fidelity_sampler_sees_every_bracket_whatever_the_scope() -> None:
    sampler = FidelityRecorder()
    study = hd.create_study(sampler=sampler,
                            pruner=HyperbandPruner(1, 9, 3, sampler_scope="bracket"))
    study.optimize(curve_objective, n_trials=12)
    assert sampler.seen == [set(range(n + 1)) for n in range(12)]


def lc(x: float, step: int) -> float:
    return (x - 0.3) ** 2 + (1.0 + 3 * x) / (step + 1)


def objective(trial: hd.Trial) -> Generator[float, None, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(1, 28):
        yield 0.5 + x  # slower for large x: workers finish out of order
        trial.report(lc(x, step), step)
        if trial.should_prune():
            raise hd.TrialPruned()
    return lc(x, 27)


def asynchronous_run(pruner: hd.pruners.Pruner, seed: int) -> tuple[list[Any], list[Any]]:
    study = hd.create_study(sampler=RandomSampler(seed=0), pruner=pruner)
    executor = SimulatedExecutor(8, seed=seed)
    optimize_simulated(study, objective, n_trials=60, executor=executor)
    trials = [(t.number, t.state, dict(t.params), dict(t.intermediate_values))
              for t in study.trials]
    return trials, executor.trace


def test_asha_and_hyperband_on_8_virtual_workers_are_deterministic() -> None:
    for pruner in (SuccessiveHalvingPruner(1, 3, max_resource=27), HyperbandPruner(1, 27, 3)):
        trials, trace = asynchronous_run(pruner, seed=1)
        assert asynchronous_run(pruner, seed=1) == (trials, trace)
        assert max(e.time for e in trace) > 0
        epochs = sum(len(curve) for *_, curve in trials)
        assert epochs < 60 * 27 / 2  # pruning saved most of the compute
        states = {state for _, state, _, _ in trials}
        assert {TrialState.COMPLETE, TrialState.PRUNED} <= states
        # trials overlapped in virtual time: several were running when the first one ended
        first_done = min(e.time for e in trace if e.kind == "done")
        assert sum(e.kind == "start" and e.time < first_done for e in trace) == 8


def test_an_unknown_sampler_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="sampler_scope"):
        HyperbandPruner(1, 27, 3, sampler_scope="brackets")
    with pytest.raises(ValueError, match=r"max_resource \(5\) must be >= min_resource \(10\)"):
        HyperbandPruner(10, 5)
    assert "sampler_scope='bracket'" in repr(HyperbandPruner(1, 27, sampler_scope="bracket"))


def test_bootstrap_count_reaches_every_bracket() -> None:
    pruner = HyperbandPruner(1, 27, 3, bootstrap_count=2)
    brackets = pruner.brackets()
    assert brackets is not None and len(brackets) == 4
    assert all(b.bootstrap_count == 2 for b in brackets)


def test_a_trial_pruned_past_several_rungs_keeps_where_it_stopped(tmp_path: Path) -> None:
    """Hyperband's brackets record, as ASHA does, the rung at which a report reaching several
    rungs pruned a trial (stored with it), so that it counts at each rung up to that one."""
    from hyperdial.pruners.halving import PRUNED_AT_ATTR

    url = f"sqlite:///{tmp_path / 'hb.db'}"
    study = hd.create_study(storage=url, study_name="hb",
                            pruner=hd.pruners.HyperbandPruner(1, 27, 3, seed=0),
                            sampler=hd.samplers.RandomSampler(seed=0))

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(5, 31, 5):  # validated every 5 epochs: rungs 1 and 3 at once
            trial.report(x + 1.0 / step, step)
            if trial.should_prune():
                raise hd.TrialPruned()
        return x

    study.optimize(objective, n_trials=60)
    stopped = [t.system_attrs[PRUNED_AT_ATTR] for t in hd.load_study(
        study_name="hb", storage=url).trials if PRUNED_AT_ATTR in t.system_attrs]
    assert set(stopped) <= {1, 3, 9, 27} and 3 in stopped  # (3: lost at the higher one)
