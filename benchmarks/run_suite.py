"""Run the benchmark grid (problem x optimizer x seed), one cell per subprocess, resumably.

Each finished cell is appended as one JSON line to ``<results-dir>/<suite>.jsonl``; a rerun
skips the cells already there. A cell that crashes or runs past ``--timeout`` is recorded
with an ``error`` and the grid goes on. An optimizer whose library is missing is skipped
for the rest of the run and noted in ``<suite>.unavailable.json`` for the report.

    python -m benchmarks.run_suite --problems branin,mixed6 --optimizers random,optuna-tpe
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.peers import PEERS
from benchmarks.problems import SUITE

REPO = Path(__file__).resolve().parents[1]
Record = dict[str, Any]  # one line of the results file
RESULTS_DIR = Path(__file__).resolve().parent / "results" / "raw"
# One thread per cell: the machine is shared and BLAS/OpenMP threads make timings erratic.
SINGLE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


@dataclass(frozen=True)
class Cell:
    """One (optimizer, problem, seed) run."""

    optimizer: str
    problem: str
    seed: int


def plan(problems: Iterable[str], optimizers: Iterable[str], seeds: int | None) -> list[Cell]:
    """The grid, seed-major so that a partial run still covers every optimizer evenly."""
    problems, optimizers = list(problems), list(optimizers)
    n_seeds = {p: seeds if seeds is not None else SUITE[p].seeds for p in problems}
    return [
        Cell(o, p, s)
        for s in range(max(n_seeds.values(), default=0))
        for p in problems
        if s < n_seeds[p]
        for o in optimizers
    ]


def load_records(path: Path) -> list[Record]:
    """All records of a results file (none if it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def done_cells(records: Iterable[Record], budget: int | None, retry_errors: bool) -> set[Cell]:
    """Cells recorded at the budget in use (``budget`` or the problem's); errors unless retried."""
    return {
        Cell(r["optimizer"], r["problem"], r["seed"])
        for r in records
        if r["budget"] == (budget or SUITE[r["problem"]].budget)
        and not (retry_errors and r.get("error"))
    }


def _cell_env() -> dict[str, str]:
    """The cell's environment: the repo and its src/ first (hyperdial runs from the work tree)."""
    path = [str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        **SINGLE_THREAD,
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, path)),
    }


def run_cell(cell: Cell, budget: int, timeout: float) -> Record:
    """Run one cell in a new process group, killed whole on timeout; its faults never raise."""
    record: Record = {**cell.__dict__, "budget": budget, "values": [], "error": None}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cell.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.cell",
            cell.problem,
            cell.optimizer,
            str(cell.seed),
            str(budget),
        ]
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*command, "--out", str(out)],
            cwd=REPO,
            env=_cell_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            record["error"] = f"timeout after {timeout:g} s"
        record["wall_seconds"] = time.perf_counter() - start
        if record["error"] is None and (proc.returncode != 0 or not out.exists()):
            record["error"] = f"exit code {proc.returncode}: {output[-2000:]}"
        if record["error"] is None:
            record.update(json.loads(out.read_text()))
    record["loadavg"] = list(os.getloadavg())
    record["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return record


def _progress(i: int, n: int, record: Record) -> str:
    head = f"[{i}/{n}] {record['optimizer']:<16} {record['problem']:<18} seed={record['seed']:<2}"
    if record.get("error"):
        return f"{head} ERROR {str(record['error']).splitlines()[0][:120]}"
    finite = [v for v in record["values"] if v is not None]
    best = min(finite) if finite else float("nan")
    seconds = f"{record['seconds']:7.1f} s (wall {record['wall_seconds']:.1f} s)"
    return f"{head} best={best:<12.6g} {seconds}"


def _update_unavailable(path: Path, optimizer: str, reason: str | None) -> None:
    """Record (or clear, once it ran) why an optimizer could not run, for the report."""
    known = json.loads(path.read_text()) if path.exists() else {}
    if reason is None and optimizer not in known:
        return
    if reason is None:
        del known[optimizer]
    else:
        known[optimizer] = reason
    path.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")


def _names(text: str, known: Iterable[str], what: str) -> list[str]:
    names, known = [n for n in text.split(",") if n], list(known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--problems", default=",".join(SUITE), help="comma-separated (default: the whole suite)"
    )
    parser.add_argument(
        "--optimizers", default=",".join(PEERS), help="comma-separated (default: all)"
    )
    parser.add_argument(
        "--seeds", type=int, help="seeds 0..N-1 per problem (default: 10 synthetic, 5 ML)"
    )
    parser.add_argument(
        "--budget", type=int, help="override every problem's budget (smoke tests only)"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds per cell (default 900)"
    )
    parser.add_argument(
        "--suite", default="public", help="name of the results file (default: public)"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--retry-errors", action="store_true", help="rerun cells recorded with an error"
    )
    args = parser.parse_args(argv)

    problems = _names(args.problems, SUITE, "problems")
    optimizers = _names(args.optimizers, PEERS, "optimizers")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{args.suite}.jsonl"
    unavailable_path = args.results_dir / f"{args.suite}.unavailable.json"
    done = done_cells(load_records(path), args.budget, args.retry_errors)
    cells = plan(problems, optimizers, args.seeds)
    todo = [c for c in cells if c not in done]
    print(
        f"{len(cells)} cells, {len(cells) - len(todo)} already done, {len(todo)} to run -> {path}",
        flush=True,
    )

    unavailable: set[str] = set()
    for i, cell in enumerate(todo, 1):
        if cell.optimizer in unavailable:
            continue
        record = run_cell(cell, args.budget or SUITE[cell.problem].budget, args.timeout)
        if "unavailable" in record:
            unavailable.add(cell.optimizer)
            _update_unavailable(unavailable_path, cell.optimizer, str(record["unavailable"]))
            print(
                f"[{i}/{len(todo)}] {cell.optimizer} unavailable, skipped: {record['unavailable']}",
                flush=True,
            )
            continue
        if not record["error"]:
            _update_unavailable(unavailable_path, cell.optimizer, None)
        with path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        print(_progress(i, len(todo), record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
