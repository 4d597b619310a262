"""The deeply conditional network space: its optimum, its branches, and a short run."""

from __future__ import annotations

import sys

import pytest

import hyperdial as hd
from benchmarks import deep_conditional
from benchmarks.deep_conditional import OPTIMIZERS, objective


def test_the_optimum_scores_0_and_each_penalty_counts() -> None:
    best = {"n_layers": 3, "opt": "adam", "lr": 1e-3,
            **{f"units_{i}": 64 for i in range(3)}, **{f"act_{i}": "relu" for i in range(3)},
            **{f"drop_{i}": 0.1 for i in range(3)}}
    assert objective(hd.FixedTrial(best)) == pytest.approx(0.0, abs=1e-12)
    assert objective(hd.FixedTrial({**best, "n_layers": 1})) == pytest.approx(0.6)
    assert objective(hd.FixedTrial({**best, "act_0": "tanh"})) == pytest.approx(0.2)
    deeper = {**best, "drop_0": 0.4, "deep_0": 0.5}
    assert objective(hd.FixedTrial(deeper)) == pytest.approx(0.3 ** 2 + 0.5)


def test_nearly_every_trial_holds_its_own_set_of_parameters() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=20)
    assert len({frozenset(t.params) for t in study.trials}) > 10


def test_a_short_run_writes_its_table(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["deep_conditional", "--seeds", "2", "--trials", "12",
                                      "--optimizers", "hyperdial default", "--no-write"])
    deep_conditional.main()
    table = capsys.readouterr().out
    assert "| hyperdial default |" in table and "seeds ending below Optuna TPE" in table
    assert len(OPTIMIZERS["hyperdial default"](0, 12)) == 12
