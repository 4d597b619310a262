"""BOHBSampler: the fidelity it models, the view it builds, and proposals that use it."""

from __future__ import annotations

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.history import History
from hyperdial.samplers.bohb import BOHBSampler, fidelity_view, highest_fidelity
from hyperdial.space import Float, SearchSpace
from hyperdial.trial import TrialRecord, TrialState


def trial(number: int, x: float, curve: dict[int, float],
          state: TrialState = TrialState.PRUNED) -> TrialRecord:
    return TrialRecord(number, state, params={"x": x}, distributions={"x": Float(0.0, 1.0)},
                       intermediate_values=curve)


def test_highest_fidelity_with_enough_reports() -> None:
    trials = (trial(0, 0.1, {1: 1.0, 3: 0.5, 9: 0.2}), trial(1, 0.2, {1: 1.0, 3: 0.4}),
              trial(2, 0.3, {1: 2.0}), trial(3, 0.4, {1: 3.0}, TrialState.WAITING))
    history = History(trials)
    assert highest_fidelity(history, 2) == 3
    assert highest_fidelity(history, 3) == 1
    assert highest_fidelity(history, 4) is None
    view = fidelity_view(history, 3)
    assert [(t.number, t.state, t.values) for t in view.trials] == [
        (0, TrialState.COMPLETE, (0.5,)), (1, TrialState.COMPLETE, (0.4,))]


def test_falls_back_to_random_and_then_models_the_fidelity() -> None:
    space = SearchSpace({"x": Float(0.0, 1.0)})
    sampler = BOHBSampler(seed=0, random_fraction=0.0)
    empty = History(())
    assert sampler.infer_space(empty) == SearchSpace()
    x = sampler.propose(empty, space, sampler.rng(0))["x"]
    assert 0.0 <= x <= 1.0
    # at step 2 low x is good; TPE should propose near it
    xs = np.linspace(0.0, 1.0, 12)
    trials = tuple(trial(i, float(v), {1: float(v), 2: float(abs(v - 0.1))})
                   for i, v in enumerate(xs))
    history = History(trials)
    assert sampler.infer_space(history) == space
    proposals = [sampler.propose(history, space, sampler.rng(n))["x"] for n in range(20)]
    assert np.median(np.abs(np.array(proposals) - 0.1)) < 0.2


def test_bohb_with_hyperband_in_a_study() -> None:
    def objective(trial: hd.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(1, 10):
            trial.report((x - 0.2) ** 2 + 1 / step, step)
            if trial.should_prune():
                raise hd.TrialPruned()
        return (x - 0.2) ** 2

    study = hd.create_study(sampler=BOHBSampler(seed=0),
                            pruner=hd.pruners.HyperbandPruner(1, 9, 3))
    study.optimize(objective, n_trials=40)
    assert study.best_value < 0.01
    again = hd.create_study(sampler=BOHBSampler(seed=0),
                            pruner=hd.pruners.HyperbandPruner(1, 9, 3))
    again.optimize(objective, n_trials=40)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]


def test_arguments() -> None:
    with pytest.raises(ValueError, match="min_points"):
        BOHBSampler(min_points=1)
    with pytest.raises(ValueError, match="random_fraction"):
        BOHBSampler(random_fraction=1.5)
    assert "BOHBSampler(seed=3" in repr(BOHBSampler(seed=3))
