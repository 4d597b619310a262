"""The grid runner: resumable, and a timed-out cell is recorded as an error, not a crash."""

from pathlib import Path

from benchmarks.cell import run_cell
from benchmarks.peers import PEERS, Peer
from benchmarks.run_suite import load_records, main, plan


def _run(tmp_path: Path, *extra: str) -> list[dict]:
    args = [
        "--problems",
        "branin",
        "--optimizers",
        "random",
        "--budget",
        "5",
        "--results-dir",
        str(tmp_path),
    ]
    assert main([*args, *extra]) == 0
    return load_records(tmp_path / "public.jsonl")


def test_plan_is_seed_major_with_protocol_seeds() -> None:
    cells = plan(["branin", "svc_breast_cancer"], ["random", "optuna-tpe"], None)
    assert len(cells) == 10 * 2 + 5 * 2
    assert [(c.optimizer, c.problem, c.seed) for c in cells[:4]] == [
        ("random", "branin", 0),
        ("optuna-tpe", "branin", 0),
        ("random", "svc_breast_cancer", 0),
        ("optuna-tpe", "svc_breast_cancer", 0),
    ]


def test_rerun_skips_done_cells(tmp_path: Path, capsys) -> None:
    first = _run(tmp_path, "--seeds", "2")
    assert [(r["seed"], r["error"], len(r["values"])) for r in first] == [
        (0, None, 5),
        (1, None, 5),
    ]
    assert first[0]["versions"]["numpy"]
    capsys.readouterr()
    again = _run(tmp_path, "--seeds", "3")
    assert "3 cells, 2 already done, 1 to run" in capsys.readouterr().out
    assert [r["seed"] for r in again] == [0, 1, 2]
    assert again[:2] == first  # done cells are neither rerun nor rewritten
    # Same seed, same values: cells are reproducible.
    (tmp_path / "other").mkdir()
    assert _run(tmp_path / "other", "--seeds", "1")[0]["values"] == first[0]["values"]


def test_timed_out_cell_is_an_error_record(tmp_path: Path, capsys) -> None:
    records = _run(tmp_path, "--seeds", "1", "--timeout", "0.001")
    assert records[0]["error"] == "timeout after 0.001 s"
    assert records[0]["values"] == []
    assert "ERROR timeout" in capsys.readouterr().out
    # An errored cell counts as done unless errors are retried.
    assert len(_run(tmp_path, "--seeds", "1")) == 1
    retried = _run(tmp_path, "--seeds", "1", "--retry-errors")
    assert [r["error"] for r in retried] == ["timeout after 0.001 s", None]


def test_missing_library_makes_the_peer_unavailable(monkeypatch) -> None:
    ghost = Peer(
        "ghost", ("no_such_module_for_hyperdial_benchmarks",), lambda problem, seed, budget: []
    )
    monkeypatch.setitem(PEERS, "ghost", ghost)
    result = run_cell("branin", "ghost", 0, 5)
    assert set(result) == {"unavailable"}
    assert "no_such_module_for_hyperdial_benchmarks" in str(result["unavailable"])
