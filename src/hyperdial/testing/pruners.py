"""Conformance checks every pruner must pass, as plain functions of a pruner factory.

A factory builds a pruner from ``(n_startup_trials, n_warmup_steps)``; `factory_for` gives the
one for each registered pruner (`hyperdial.pruners.PRUNERS`). Pruners without a start-up
period (halving, Hyperband, threshold, patience) are built so that their own setting covers the
warm-up (a first rung or patience past it); the start-up rule binds only pruners that have an
``n_startup_trials`` attribute. Pair the checks with
`hyperdial.testing.strategies.pruning_cases` to run them over random histories.
"""

from __future__ import annotations

from collections.abc import Callable

from hyperdial.history import History
from hyperdial.pruners import (
    Decision,
    HyperbandPruner,
    NopPruner,
    PatiencePruner,
    PatientPruner,
    PercentilePruner,
    Pruner,
    SuccessiveHalvingPruner,
    ThresholdPruner,
    WilcoxonPruner,
)
from hyperdial.trial import TrialRecord

PrunerFactory = Callable[[int, int], Pruner]


def factory_for(cls: type[Pruner]) -> PrunerFactory:
    """How the suite builds a registered pruner from its startup trials and warmup steps."""
    if cls is NopPruner:
        return lambda n_startup_trials, n_warmup_steps: NopPruner()
    if cls is PercentilePruner:
        return lambda n_startup_trials, n_warmup_steps: PercentilePruner(
            25.0, n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)
    special: dict[type[Pruner], PrunerFactory] = {
        SuccessiveHalvingPruner: lambda s, w: SuccessiveHalvingPruner(w + 1, 2),
        HyperbandPruner: lambda s, w: HyperbandPruner(w + 1, 9 * (w + 1), 3),
        ThresholdPruner: lambda s, w: ThresholdPruner(lower=-5.0, upper=5.0, n_warmup_steps=w),
        PatiencePruner: lambda s, w: PatiencePruner(patience=w, min_delta=0.5),
        PatientPruner: lambda s, w: PatientPruner(None, w),
        # judged from max(2, n) shared instances; steps below w hold at most w of them
        WilcoxonPruner: lambda s, w: WilcoxonPruner(n_startup_steps=w + 1),
    }
    if cls in special:
        return special[cls]
    return lambda n_startup_trials, n_warmup_steps: cls(  # type: ignore[call-arg]
        n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)


def check_decision(factory: PrunerFactory, history: History, trial: TrialRecord,
                   n_startup_trials: int, n_warmup_steps: int) -> Decision:
    """A pruner answers CONTINUE or PRUNE, the same every time it is asked, and CONTINUE
    before step ``n_warmup_steps`` or (pruners with a start-up period) before
    ``n_startup_trials`` trials are complete; its sampler view is a part of the history.
    When it says it needs no history for ``trial``, it decides alike without the other
    trials, and deciding so changes nothing it decides later."""
    pruner = factory(n_startup_trials, n_warmup_steps)
    decision = pruner.decide(history, trial)
    assert decision in (Decision.CONTINUE, Decision.PRUNE), decision
    if not pruner.needs_history(trial):
        alone = pruner.decide(History((), history.directions), trial)
        assert alone is decision, (f"needs_history is False at step {trial.last_step}, but "
                                   f"it decides {alone} alone and {decision} with the history")
        assert pruner.decide(history, trial) is decision
    again = factory(n_startup_trials, n_warmup_steps)
    assert again.decide(history, trial) is decision
    assert again.decide(history, trial) is decision
    startup = n_startup_trials if hasattr(pruner, "n_startup_trials") else 0
    too_early = (len(history.completed) < startup or trial.last_step is None
                 or trial.last_step < n_warmup_steps)
    view = pruner.sampler_view(history, trial.number)
    assert view.directions == history.directions
    assert {t.number for t in view.trials} <= {t.number for t in history.trials}
    assert not (too_early and decision is Decision.PRUNE), (
        f"pruned at step {trial.last_step} with {len(history.completed)} complete trials, "
        f"n_startup_trials={n_startup_trials}, n_warmup_steps={n_warmup_steps}")
    return decision
