"""Every script in examples/ runs, at a small budget, and does what its docstring says."""

from __future__ import annotations

import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hyperdial as hd

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytest.importorskip("sklearn")


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Load an example by file name, with the examples folder importable (as when run)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))

    def load(name: str) -> dict[str, Any]:
        return runpy.run_path(str(EXAMPLES / name))

    yield load
    for module in ("_digits", "prune_sgd_digits"):
        sys.modules.pop(module, None)


def test_every_example_has_a_test() -> None:
    tested = {"svm_breast_cancer.py", "prune_sgd_digits.py", "pbt_sgd_digits.py",
              "multiobjective_forest.py", "parallel_workers.py", "torch_mlp_digits.py",
              "constrained_forest.py", "automl_datasets.py", "lightning_mlp_digits.py"}
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == tested


def test_automl_warm_starts_the_second_dataset_from_the_first(
        example: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wine, cancer = example("automl_datasets.py")["main"](
        n_trials=6, cv=3, storage=f"sqlite:///{tmp_path / 'automl.db'}")
    assert wine.best_score_ > 0.9 and cancer.best_score_ > 0.9
    first = cancer.study_.trials[0]
    assert first.params == wine.study_.best_params and first.user_attrs["warm_start"]
    assert len(cancer.warm_start_configs_) == 5  # the wine study's best, then the portfolio
    assert "breast-cancer:" in capsys.readouterr().out


def test_svm_example_tunes_into_a_sqlite_file(example: Any, tmp_path: Path) -> None:
    study = example("svm_breast_cancer.py")["main"](n_trials=6,
                                                    storage=f"sqlite:///{tmp_path / 'svm.db'}")
    assert len(study.trials) == 6
    assert 0.6 < study.best_value <= 1.0


def test_the_best_forest_is_the_best_within_the_node_budget(example: Any, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    module = example("constrained_forest.py")
    study = module["main"](n_trials=20, storage=f"sqlite:///{tmp_path / 'forest.db'}")
    best = study.best_trial
    assert best.user_attrs["nodes"] <= module["NODE_BUDGET"]
    assert best.constraints["nodes over budget"] <= 0
    over = [t for t in study.trials if t.constraints["nodes over budget"] > 0]
    assert min(t.value for t in over) < best.value  # the budget binds: bigger forests do better
    assert f"within {module['NODE_BUDGET']} nodes; the best" in capsys.readouterr().out


def test_hyperband_prunes_sgd_runs_and_saves_epochs(example: Any, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    module = example("prune_sgd_digits.py")
    study = module["main"](n_trials=30, storage=f"sqlite:///{tmp_path / 'sgd.db'}")
    states = [t.state for t in study.trials]
    assert states.count(hd.TrialState.PRUNED) >= 10
    assert states.count(hd.TrialState.COMPLETE) >= 3
    full = module["MAX_EPOCHS"] * len(study.trials)
    used = sum(t.last_step for t in study.trials)  # epochs are numbered from 1
    assert used < 0.6 * full
    assert study.best_value < 0.08  # a tuned linear model gets ~95% right on digits
    assert f"{used} epochs trained" in capsys.readouterr().out


def test_pbt_learns_a_schedule_for_sgd(example: Any) -> None:
    from hyperdial.schedulers import lineage, schedule

    study = example("pbt_sgd_digits.py")["main"](population_size=4, n_steps=12)
    rows = schedule(study)
    assert rows[0].start == 0 and rows[-1].end == 12
    assert [r.start for r in rows[1:]] == [r.end for r in rows[:-1]]
    assert len(lineage(study)) == 3  # 12 steps in segments of 4
    assert study.best_value < 0.1


def test_multiobjective_example_keeps_a_pareto_front(example: Any) -> None:
    study = example("multiobjective_forest.py")["main"](n_trials=16)
    front = study.best_trials
    assert len(front) >= 2
    for a in front:  # no trial of the front is dominated by any trial of the study
        for b in study.trials:
            assert not (b.values[0] <= a.values[0] and b.values[1] <= a.values[1]
                        and b.values != a.values)


def test_parallel_workers_share_one_sqlite_study(
        example: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("click")
    main, url = example("parallel_workers.py")["main"], f"sqlite:///{tmp_path / 'workers.db'}"
    study = main(n_workers=3, n_trials=3, storage=url)
    assert sorted(t.number for t in study.trials) == list(range(9))
    assert all(t.state is hd.TrialState.COMPLETE for t in study.trials)
    main(n_workers=2, n_trials=2, storage=url)  # a second run counts its own trials
    assert "2 workers finished 4 trials, numbered 9..12 (13 in the study)" in (
        capsys.readouterr().out)


def test_lightning_mlp_is_pruned_by_hyperband_through_the_callback(
        example: Any, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("lightning")
    module = example("lightning_mlp_digits.py")
    study = module["main"](n_trials=8)
    pruned = [t for t in study.trials if t.state is hd.TrialState.PRUNED]
    assert len(pruned) >= 2
    for t in study.trials:  # one report an epoch, from epoch 0; the pruned stop early
        steps = list(t.intermediate_values)
        assert steps == list(range(len(steps)))
        full = module["MAX_EPOCHS"]
        assert len(steps) < full if t in pruned else len(steps) == full
        assert {k for k in t.params if k.startswith("units_")} == {
            f"units_{i}" for i in range(t.params["n_layers"])}
    assert study.best_value < 0.06
    assert "pruned" in capsys.readouterr().out


def test_torch_mlp_prunes_and_keeps_layer_widths_conditional(example: Any) -> None:
    pytest.importorskip("torch")
    module = example("torch_mlp_digits.py")
    study = module["main"](n_trials=10)
    assert sum(t.state is hd.TrialState.PRUNED for t in study.trials) >= 3
    for t in study.trials:  # a width exactly for each layer the trial has
        widths = {k for k in t.params if k.startswith("units_")}
        assert widths == {f"units_{i}" for i in range(t.params["n_layers"])}
    assert study.best_value < 0.15
