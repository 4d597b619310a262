"""The exact public surface, and what `import hyperdial` costs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import hyperdial as hd

EXPECTED = {
    "Categorical", "Condition", "FixedTrial", "Float", "FrozenTrial", "History", "Int",
    "SearchExhausted", "SearchSpace", "Study", "StudyDirection", "Trial", "TrialPruned",
    "TrialRecord", "TrialState",
    "__version__", "copy_study", "create_study", "create_trial", "delete_study",
    "distributions", "exceptions", "executors", "get_all_study_names", "get_all_study_summaries",
    "importance",
    "load_study", "logging",
    "pruners", "samplers", "schedulers", "stoppers", "storage", "storages", "visualization",
    "warmstart",
}


def test_all_is_exactly_the_public_surface() -> None:
    assert set(hd.__all__) == EXPECTED
    public = {n for n in dir(hd) if not n.startswith("_")} | {"__version__"}
    assert set(hd.__all__) == public  # no typing.Any, importlib, ... in dir(hyperdial)
    for name in hd.__all__:
        assert getattr(hd, name) is not None


HEAVY = ("pandas", "sklearn", "plotly", "torch", "matplotlib", "rich", "click", "sqlalchemy",
         "scipy")


def test_import_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, json, hyperdial; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_samplers_load_on_first_use() -> None:
    code = (
        "import sys, json, hyperdial as hd; "
        "before = 'hyperdial.samplers.gp' in sys.modules; "
        "cls = hd.samplers.GPSampler; "
        "print(json.dumps([before, 'hyperdial.samplers.gp' in sys.modules, cls.__name__, "
        "hd.samplers.SAMPLERS['gp'] is cls]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False, True, "GPSampler", True]
    try:
        _ = hd.samplers.NoSuchSampler  # type: ignore[attr-defined]
    except AttributeError as exc:
        assert "NoSuchSampler" in str(exc)
    else:
        raise AssertionError("an unknown sampler name must raise AttributeError")


@pytest.mark.parametrize(("package", "module", "name", "shown"), [
    ("samplers", "nsgaii", "SBXCrossover()", "SBXCrossover"),
    ("visualization", "matplotlib", "plot_optimization_history", "function"),
])
def test_optunas_submodules_are_attributes_after_a_plain_import(
        package: str, module: str, name: str, shown: str) -> None:
    """Optuna code writes ``optuna.samplers.nsgaii.SBXCrossover()`` and
    ``optuna.visualization.matplotlib.plot_...`` after ``import optuna``; a fresh interpreter,
    so no earlier test has imported the submodule."""
    code = (f"import hyperdial as hd, sys\n"
            f"assert 'hyperdial.{package}.{module}' not in sys.modules\n"
            f"print(type(hd.{package}.{module}.{name}).__name__)\n"
            f"try:\n    hd.{package}.nope\nexcept AttributeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == [shown, f"module 'hyperdial.{package}' has no attribute 'nope'"]


def test_a_missing_extra_names_it_and_a_broken_install_says_what_it_lacks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keras installed without a backend was told to install hyperdial[keras], which it had:
    the module that failed to import is named instead."""
    from hyperdial._optional import require

    (tmp_path / "halfinstalled.py").write_text("import no_such_backend_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match=r"halfinstalled is installed but could not import "
                                          r"'no_such_backend_xyz'"):
        require("halfinstalled", "viz")
    with pytest.raises(ImportError, match=r"this needs no_such_lib_xyz: pip install "
                                          r"'hyperdial\[viz\]'"):
        require("no_such_lib_xyz", "viz")
