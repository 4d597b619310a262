"""Every registered pruner passes the conformance checks of `hyperdial.testing.pruners`."""

from __future__ import annotations

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
