"""Every registered pruner passes the conformance checks of `hyperdial.testing.pruners`."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperdial.history import History
from hyperdial.pruners import PRUNERS, Decision, Pruner
from hyperdial.testing.pruners import check_decision, factory_for
from hyperdial.testing.strategies import pruning_cases
from hyperdial.trial import TrialRecord, TrialState


@pytest.mark.parametrize("name", sorted(PRUNERS))
@settings(max_examples=60, deadline=None)
@given(case=pruning_cases(), n_startup_trials=st.integers(0, 6), n_warmup_steps=st.integers(0, 8))
def test_pruner_conformance(name: str, case: tuple[History, TrialRecord], n_startup_trials: int,
                            n_warmup_steps: int) -> None:
    check_decision(factory_for(PRUNERS[name]), *case, n_startup_trials, n_warmup_steps)


class Eager(Pruner):
    def decide(self, history: History, trial: TrialRecord) -> Decision:
        return Decision.PRUNE


def test_checks_catch_a_pruner_that_ignores_warmup() -> None:
    trial = TrialRecord(0, TrialState.RUNNING, intermediate_values={0: 1.0})
    with pytest.raises(AssertionError, match="pruned at step 0"):
        check_decision(lambda s, w: Eager(), History((trial,)), trial, 0, 5)


def test_registry_and_exports() -> None:
    import hyperdial.pruners as pruners

    assert set(pruners.__all__) == {"PRUNERS", "Decision", "MedianPruner", "NopPruner",
                                    "PercentilePruner", "Pruner", "SuccessiveHalvingPruner",
                                    "HyperbandPruner", "ThresholdPruner", "PatiencePruner",
                                    "PatientPruner", "WilcoxonPruner"}
    assert {"nop", "median", "percentile", "successive_halving", "hyperband", "threshold",
            "patience", "patient", "wilcoxon"} <= set(PRUNERS)
    assert all(issubclass(cls, Pruner) for cls in PRUNERS.values())


@pytest.mark.parametrize("pruner", ["median", "successive_halving", "hyperband"])
@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_seeded_study_prunes_the_same_trials_on_every_storage(
        pruner: str, sampler: str, tmp_path: Path) -> None:
    """The pruner decides from the study's view of the others' reports; each storage reads
    them back its own way (in memory, SQLite's own rows, a journal's replica), and a view that
    missed some would decide otherwise."""
    import hyperdial as hd
    from hyperdial.samplers import SAMPLERS

    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        k = trial.suggest_int("k", 1, 4)
        for step in range(6):
            trial.report(x * (6 - step) + k / 10, step)
            if trial.should_prune():
                raise hd.TrialPruned()
        trial.report(x + k / 10, 6)  # a last report that no should_prune() reads back
        return x + k / 10

    runs = []
    for url in (None, f"sqlite:///{tmp_path / 'p.db'}", f"journal:///{tmp_path / 'p.jsonl'}"):
        study = hd.create_study(storage=url, sampler=SAMPLERS[sampler](seed=1),
                                pruner=PRUNERS[pruner]())
        study.optimize(objective, n_trials=30)
        runs.append([(t.params, t.state, t.intermediate_values) for t in study.trials])
    assert runs[0] == runs[1] == runs[2]
    assert any(state is TrialState.PRUNED for _, state, _ in runs[0])
