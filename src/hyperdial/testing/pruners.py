"""Conformance checks every pruner must pass, as plain functions of a pruner factory.

A factory builds a pruner from ``(n_startup_trials, n_warmup_steps)``; `factory_for` gives the
one for each registered pruner (`hyperdial.pruners.PRUNERS`). Pair the checks with
`hyperdial.testing.strategies.pruning_cases` to run them over random histories.
"""

from __future__ import annotations

from collections.abc import Callable

from hyperdial.history import History
from hyperdial.pruners import Decision, NopPruner, PercentilePruner, Pruner
from hyperdial.trial import TrialRecord

PrunerFactory = Callable[[int, int], Pruner]


def factory_for(cls: type[Pruner]) -> PrunerFactory:
    """How the suite builds a registered pruner from its startup trials and warmup steps."""
    if cls is NopPruner:
        return lambda n_startup_trials, n_warmup_steps: NopPruner()
    if cls is PercentilePruner:
        return lambda n_startup_trials, n_warmup_steps: PercentilePruner(
            25.0, n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)
    return lambda n_startup_trials, n_warmup_steps: cls(  # type: ignore[call-arg]
        n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)


def check_decision(factory: PrunerFactory, history: History, trial: TrialRecord,
                   n_startup_trials: int, n_warmup_steps: int) -> Decision:
    """A pruner answers CONTINUE or PRUNE, the same every time it is asked, and CONTINUE
    before ``n_startup_trials`` trials are complete or before step ``n_warmup_steps``."""
    decision = factory(n_startup_trials, n_warmup_steps).decide(history, trial)
    assert decision in (Decision.CONTINUE, Decision.PRUNE), decision
    again = factory(n_startup_trials, n_warmup_steps)
    assert again.decide(history, trial) is decision
    assert again.decide(history, trial) is decision
    too_early = (len(history.completed) < n_startup_trials or trial.last_step is None
                 or trial.last_step < n_warmup_steps)
    assert not (too_early and decision is Decision.PRUNE), (
        f"pruned at step {trial.last_step} with {len(history.completed)} complete trials, "
        f"n_startup_trials={n_startup_trials}, n_warmup_steps={n_warmup_steps}")
    return decision
