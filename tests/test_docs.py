"""Every ```python block in docs/ runs, and every example script runs (small budgets)."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, str]]:
    out = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for i, code in enumerate(BLOCK.findall(page.read_text())):
            out.append((f"{page.name}#{i}", code))
    return out


@pytest.mark.parametrize(("where", "code"), _blocks(), ids=[w for w, _ in _blocks()])
def test_docs_code_block_runs(where: str, code: str, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})


def test_svm_example_tunes_into_a_sqlite_file(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        module = runpy.run_path(str(ROOT / "examples" / "svm_breast_cancer.py"))
    finally:
        sys.path.remove(str(ROOT / "examples"))
    study = module["main"](n_trials=6, storage=f"sqlite:///{tmp_path / 'svm.db'}")
    assert len(study.trials) == 6
    assert 0.6 < study.best_value <= 1.0
