"""Successive halving and Hyperband keep what they read from finished trials (sorted steps, the
first trial to finish) and judge only what a report reaches: their decisions must stay those of
the plain rule, which rescans every curve at every report."""

from __future__ import annotations

import copy
import gc
import math
import pickle
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from hyperdial.history import History, StudyDirection
from hyperdial.pruners import Decision, HyperbandPruner, SuccessiveHalvingPruner
from hyperdial.pruners.halving import is_promoted, rung_resources
from hyperdial.pruners.hyperband import bracket_rungs, bracket_weights, draw_bracket, n_brackets
from hyperdial.trial import TrialRecord, TrialState

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NEVER = datetime.max.replace(tzinfo=timezone.utc)


# -- the plain rule, as written before the caches: O(n x S) a report -----------------------------
def plain_first_finished_steps(history: History) -> int | None:
    done = [t for t in history.completed if t.last_step is not None]
    if not done:
        return None
    return min(done, key=lambda t: (t.datetime_complete or NEVER, t.number)).last_step


def plain_entered(trial: TrialRecord, resource: int, rungs: tuple[int, ...]) -> bool:
    steps = [s for s in trial.intermediate_values if s >= resource]
    if not steps:
        return False
    first = min(steps)
    if trial.state is not TrialState.PRUNED or first != trial.last_step:
        return True
    below = [s for s in trial.intermediate_values if s < first]
    return resource == next(int(r) for r in rungs if not below or r > max(below))


def plain_halving(history: History, trial: TrialRecord, rungs: tuple[int, ...], eta: int,
                  bootstrap_count: int) -> Decision:
    last = trial.last_step
    assert last is not None
    if list(trial.intermediate_values)[-1] != last:  # a report below an earlier one
        return Decision.CONTINUE
    judged = [int(r) for r in rungs
              if min(s for s in trial.intermediate_values if s >= r) == last]
    if not judged:
        return Decision.CONTINUE
    if math.isnan(float(trial.intermediate_values[last])):  # type: ignore[arg-type]
        return Decision.PRUNE
    others = [t for t in history.trials if t.number != trial.number]
    for r in judged:
        entries = [t for t in others if t.state is not TrialState.WAITING
                   and plain_entered(t, r, rungs)]
        entries.append(trial)
        if len(entries) <= bootstrap_count:
            return Decision.PRUNE
        values = [t.intermediate_values[min(s for s in t.intermediate_values if s >= r)]
                  for t in entries]
        loss = np.array(values, dtype=float).reshape(-1, 1) * history.sign()
        if not is_promoted(loss, len(entries) - 1, len(entries) // eta):
            return Decision.PRUNE
    return Decision.CONTINUE


def plain_asha(pruner: SuccessiveHalvingPruner, history: History, trial: TrialRecord) -> Decision:
    last = trial.last_step
    if last is None:
        return Decision.CONTINUE
    if pruner.min_resource == "auto":
        steps = plain_first_finished_steps(history)
        if steps is None:
            return Decision.CONTINUE
        low = max(steps // 100, 1)
    else:
        low = int(pruner.min_resource)
    rungs = rung_resources(low, pruner.reduction_factor, pruner.min_early_stopping_rate, last,
                           pruner.max_resource)
    if not rungs:
        return Decision.CONTINUE
    return plain_halving(history, trial, rungs, pruner.reduction_factor,
                         pruner.bootstrap_count)


def plain_hyperband(pruner: HyperbandPruner, history: History, trial: TrialRecord) -> Decision:
    if isinstance(pruner.max_resource, int):
        top: int | None = pruner.max_resource
    else:
        steps = plain_first_finished_steps(history)
        top = None if steps is None else max(steps, pruner.min_resource)
    last = trial.last_step
    if top is None or last is None:
        return Decision.CONTINUE
    count = n_brackets(pruner.min_resource, top, pruner.reduction_factor)
    weights = tuple(int(w) for w in bracket_weights(count, pruner.reduction_factor))
    bracket = draw_bracket(pruner.seed, trial.number, weights)
    levels = bracket_rungs(bracket, count, top, pruner.reduction_factor)
    rungs = tuple(r for r in levels if r <= last)
    if not rungs:
        return Decision.CONTINUE
    members = History(tuple(t for t in history.trials
                            if draw_bracket(pruner.seed, t.number, weights) == bracket),
                      history.directions)
    return plain_halving(members, trial, rungs, pruner.reduction_factor, pruner.bootstrap_count)


# -- random studies ------------------------------------------------------------------------------
STATES = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.FAIL,
          TrialState.WAITING]


def random_curve(rng: np.random.Generator, top: int, ordered: float = 0.0
                 ) -> dict[int, float | tuple[float, ...]]:
    """Sparse or every-step reports, with ties and the odd NaN, inserted in ascending order
    with probability ``ordered``, else in any order."""
    if rng.random() < 0.5:
        start = int(rng.integers(0, 3))
        steps = list(range(start, start + int(rng.integers(1, top))))
    else:
        steps = rng.choice(top + 1, size=int(rng.integers(1, 12)), replace=False).tolist()
    if rng.random() >= ordered:
        rng.shuffle(steps)
    values = rng.choice([0.1, 0.2, 0.3, 0.5, 0.8, math.nan], p=[.2, .2, .2, .2, .15, .05],
                        size=len(steps))
    return {int(s): float(v) for s, v in zip(steps, values, strict=True)}


def random_record(rng: np.random.Generator, number: int, top: int) -> TrialRecord:
    state = STATES[int(rng.choice(5, p=[.4, .25, .15, .1, .1]))]
    curve = {} if state is TrialState.WAITING or rng.random() < 0.05 else random_curve(rng, top)
    end = (T0 + timedelta(seconds=int(rng.integers(0, 50)))
           if state.is_finished() and rng.random() < 0.9 else None)
    return TrialRecord(number, state, values=(1.0,) if state is TrialState.COMPLETE else None,
                       intermediate_values=curve, datetime_complete=end)


PRUNERS: list[SuccessiveHalvingPruner | HyperbandPruner] = [
    SuccessiveHalvingPruner(), SuccessiveHalvingPruner(1, 3), SuccessiveHalvingPruner(2, 2, 1),
    SuccessiveHalvingPruner(1, 4, max_resource=40, bootstrap_count=2),
    HyperbandPruner(1, 27, 3), HyperbandPruner(2, "auto", 2, seed=5),
    HyperbandPruner(1, 40, 3, bootstrap_count=1),
]


def plain(pruner: SuccessiveHalvingPruner | HyperbandPruner, history: History,
          trial: TrialRecord) -> Decision:
    if isinstance(pruner, HyperbandPruner):
        return plain_hyperband(pruner, history, trial)
    return plain_asha(pruner, history, trial)


@pytest.mark.parametrize("seed", range(12))
def test_decisions_are_those_of_the_plain_rule_on_random_studies(seed: int) -> None:
    """The pruners are shared by every seed and every history, as a study's threads share
    one: records are reused from one history to the next (the study's view keeps finished
    ones), numbers recur with other records, trials finish first at any point."""
    rng = np.random.default_rng(seed)
    top = int(rng.choice([30, 300]))
    direction = (StudyDirection.MAXIMIZE,) if seed % 3 == 0 else (StudyDirection.MINIMIZE,)
    records = [random_record(rng, i, top) for i in range(int(rng.integers(5, 40)))]
    decided = 0
    for k in range(1, len(records) + 1):
        for _ in range(3):
            running = TrialRecord(len(records), TrialState.RUNNING,
                                  intermediate_values=random_curve(rng, top, 0.7))
            for history in (History((*records[:k], running), direction),
                            History((*rng.permutation(records[:k]), running), direction)):
                for pruner in PRUNERS:
                    ours = pruner.decide(history, running)
                    assert ours is plain(pruner, history, running), (pruner, k)
                    decided += ours is Decision.PRUNE
        if rng.random() < 0.3:  # a record read back again: an equal copy, a new object
            records[k - 1] = copy.copy(records[k - 1])
    assert decided > 0


def test_a_pruner_copies_and_pickles_without_its_caches() -> None:
    rng = np.random.default_rng(1)
    records = [random_record(rng, i, 30) for i in range(30)]
    running = TrialRecord(30, TrialState.RUNNING, intermediate_values=random_curve(rng, 30, 1.0))
    history = History((*records, running))
    for pruner in PRUNERS:
        decision = pruner.decide(history, running)
        for twin in (pickle.loads(pickle.dumps(pruner)), copy.deepcopy(pruner)):
            assert twin.decide(history, running) is decision


def test_the_steps_of_a_collected_record_are_dropped() -> None:
    """The cache of sorted steps holds no record alive: it shrinks with the study."""
    pruner = SuccessiveHalvingPruner(1, 3)
    done = [TrialRecord(i, TrialState.COMPLETE, values=(1.0,),
                        intermediate_values={s: float(i) for s in range(1, 10)})
            for i in range(5)]
    running = TrialRecord(5, TrialState.RUNNING, intermediate_values={1: 0.5, 3: 0.5})
    pruner.decide(History((*done, running)), running)
    cache = pruner._curves._steps
    assert len(cache) == len(done)
    del done
    gc.collect()
    assert not cache
