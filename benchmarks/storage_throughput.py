"""Storage throughput: finished trials per second with a zero-cost objective, side by side.

Every cell runs in a fresh subprocess (so no warm cache or leftover connection helps it):
hyperdial in memory, SQLite and its journal file (1 and 4 processes), PostgreSQL when
``--pg-url`` is given, and Optuna's in-memory, journal-file and SQLite storages. Each of the 4
processes runs as many trials as a single-process run: with a quarter each, a run lasts a
tenth of a second, and its span measures when each process gets a core after the start signal
more than the storage (1.08x-1.18x one process with 1,000 each, 0.94x with 250, same
machine and minute). ``numpy.random`` is imported before the clock starts, for both
libraries: ``import optuna`` loads it, while hyperdial defers it to its first seeded draw
(to keep ``import hyperdial`` light), which put 8-9 ms of module import, 9 us a trial of a
1,000-trial run, into hyperdial's timed loop only. Cells run with bytecode writing on
(``benchmarks._common.BYTECODE_ENV``): a module hyperdial imports on first use (its loop)
was otherwise compiled from source in every timed run. Writes a markdown table with ratios to
``benchmarks/results/storage-throughput-<date>.md``.

    python -m benchmarks.storage_throughput [--trials 1000] [--repeats 3] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import BYTECODE_ENV, write_result

CELL = r"""
import json, sys, time
import numpy.random  # loaded before the clock for both: see the module's docstring
kind, url, n, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if kind == "hyperdial":
    import hyperdial as hd
    storage = None if url == "memory" else url
    study = hd.create_study(study_name=name, storage=storage, load_if_exists=True,
                            sampler=hd.samplers.RandomSampler(seed=0))
else:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if url == "memory":
        storage = None
    elif url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        storage = JournalStorage(JournalFileBackend(url[len("journal:"):]))
    else:
        storage = url
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True,
                                sampler=optuna.samplers.RandomSampler(seed=0))
if len(sys.argv) > 5:  # a worker of a parallel run: start when the parent says go
    print("ready", flush=True)
    sys.stdin.readline()
def objective(trial):
    return trial.suggest_float("x", 0.0, 1.0)
start, wall_start = time.perf_counter(), time.time()
study.optimize(objective, n_trials=n)
end, wall_end = time.perf_counter(), time.time()
# The end of every 1,000th trial, read back afterwards (a callback would cost a trial more);
# a parallel worker's may still be running.
done = [] if len(sys.argv) > 5 else [
    t.datetime_complete.timestamp() for t in study.trials[999::1000]]
print(json.dumps({"seconds": end - start, "marks": done, "wall_start": wall_start,
                  "wall_end": wall_end}))
"""


def _cell(kind: str, url: str, n: int, name: str = "bench") -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CELL, kind, url, str(n), name],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
        env=BYTECODE_ENV,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _fresh(tmp: Path, label: str, kind: str = "sqlite") -> str:
    """URL of a new SQLite (``.db``) or journal (``.jsonl``) file under ``tmp``."""
    suffix = ".db" if kind == "sqlite" else ".jsonl"
    return f"{kind}:///{tmp / f'{label}-{time.monotonic_ns()}{suffix}'}"


def _parallel(url: str, n_total: int, workers: int) -> float:
    """Total finished trials per second of ``workers`` processes sharing one study, from the
    moment all of them are ready (interpreter started, study loaded) to the last one's end."""
    _cell("hyperdial", url, 0, "shared")  # create the study before the workers race
    per = n_total // workers
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CELL, "hyperdial", url, str(per), "shared", "barrier"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=BYTECODE_ENV,
        )
        for _ in range(workers)
    ]
    for p in procs:  # wait until every worker is ready, then release them together
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=1800)
        if p.returncode:
            raise RuntimeError("a worker failed")
        results.append(json.loads(out.strip().splitlines()[-1]))
    span = max(r["wall_end"] for r in results) - min(r["wall_start"] for r in results)
    return float(per * workers / span)


SQLITE, FOUR = "hyperdial SQLite", "hyperdial SQLite, 4 processes (total)"
JOURNAL, JOURNAL_FOUR = "hyperdial journal file", "hyperdial journal file, 4 processes (total)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5, help="rounds over every storage")
    parser.add_argument(
        "--scale-trials",
        type=int,
        default=10000,
        help="length of the run that checks the per-trial cost stays flat",
    )
    parser.add_argument("--pg-url", default=os.environ.get("HYPERDIAL_TEST_PG_URL"))
    parser.add_argument("--optuna-sqlite-rounds", type=int, default=3,
                        help="rounds of Optuna SQLite (10-20 s a run), each beside one more "
                             "hyperdial SQLite run; 0 skips it")
    args = parser.parse_args()
    n, reps = args.trials, args.repeats
    # Each round runs every storage once, one after the other, and ratios are taken within a
    # round: on this shared machine speed drifts by tens of percent over minutes, which a
    # storage-by-storage order would read as a difference between storages.
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cells: dict[str, Any] = {
            "hyperdial in memory": lambda: _rate("hyperdial", "memory", n),
            SQLITE: lambda: _rate("hyperdial", _fresh(tmp, "hd"), n),
            FOUR: lambda: _parallel(_fresh(tmp, "hd4"), 4 * n, 4),
            JOURNAL: lambda: _rate("hyperdial", _fresh(tmp, "hj", "journal"), n),
            JOURNAL_FOUR: lambda: _parallel(_fresh(tmp, "hj4", "journal"), 4 * n, 4),
            "Optuna in memory": lambda: _rate("optuna", "memory", n),
            "Optuna journal file": lambda: _rate(
                "optuna", f"journal:{tmp / f'j-{time.monotonic_ns()}.log'}", n),
        }
        if args.pg_url:
            cells["hyperdial PostgreSQL"] = lambda: _rate("hyperdial", args.pg_url, n)
        for r in range(reps):
            rounds.append({label: run() for label, run in cells.items()})
            print(f"round {r + 1}: " + ", ".join(f"{k} {v:.0f}" for k, v in rounds[-1].items()),
                  flush=True)
        for _ in range(args.optuna_sqlite_rounds):  # slow: fewer rounds, beside a SQLite run
            rounds.append({SQLITE: _rate("hyperdial", _fresh(tmp, "hd"), n),
                           "Optuna SQLite": _rate("optuna", _fresh(tmp, "op"), n)})
        scale = _cell("hyperdial", _fresh(tmp, "scale"), args.scale_trials)
    marks = [scale["wall_start"], *scale["marks"]]
    per_k = [(b - a) / 1000 * 1e6 for a, b in itertools.pairwise(marks)]
    _write(rounds, per_k, n, reps, args.optuna_sqlite_rounds)


def _rate(kind: str, url: str, n: int) -> float:
    return n / _cell(kind, url, n)["seconds"]


def _write(rounds: list[dict[str, float]], per_k: list[float], n: int, reps: int,
           slow_reps: int) -> None:
    import hyperdial

    try:
        import optuna

        optuna_version = optuna.__version__
    except ImportError:
        optuna_version = "not installed"
    labels = list(dict.fromkeys(label for r in rounds for label in r))
    rate = {k: statistics.median(r[k] for r in rounds if k in r) for k in labels}
    # hyperdial SQLite over each storage, within each round that ran both
    ratios = {k: sorted(r[SQLITE] / r[k] for r in rounds if k in r and SQLITE in r)
              for k in labels}
    lines = [
        f"# Storage throughput ({time.strftime('%Y-%m-%d')})",
        "",
        f"Finished trials per second, zero-cost objective (one `suggest_float`), random sampler, "
        f"{n} trials per run and per process (4 processes: {4 * n} in all), each run in fresh "
        f"processes, with `numpy.random` imported before the clock (Optuna's import loads "
        f"it; hyperdial's first seeded draw would, inside the timed loop); {reps} rounds, "
        f"each running every "
        f"storage once in turn (Optuna SQLite, 10-20 s a run: in {slow_reps} more rounds, each "
        f"beside one more hyperdial SQLite run). Rates are medians over rounds; ratios are "
        f"taken within each round, then the median and range over rounds are given, because "
        f"this shared machine's speed drifts by tens of percent over minutes. hyperdial "
        f"{hyperdial.__version__}, Optuna {optuna_version}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} at the end.",
        "",
        "| storage | trials/s | hyperdial SQLite is … × this | range over rounds |",
        "|---|---:|---:|---|",
    ]
    lines += [f"| {k} | {rate[k]:,.1f} | {statistics.median(ratios[k]):.2f} | "
              f"{ratios[k][0]:.2f}–{ratios[k][-1]:.2f} |" for k in labels]
    lines += ["", "Goals (issue 2) and where they stand (medians of the within-round ratios):", ""]
    checks = [
        ("hyperdial SQLite ≥ 50 × Optuna SQLite", "Optuna SQLite", 50.0, False),
        ("hyperdial SQLite ≥ 10 × Optuna journal file", "Optuna journal file", 10.0, False),
        ("hyperdial SQLite ≥ 0.5 × hyperdial in memory", "hyperdial in memory", 0.5, False),
        ("4 processes on one SQLite file ≥ 1 process", FOUR, 1.0, True),
    ]
    for text, other, goal, inverse in checks:
        if ratios.get(other):
            values = [1 / v for v in ratios[other]] if inverse else ratios[other]
            ratio = statistics.median(values)
            lines.append(f"- {text}: **{ratio:.2f} ×** ({'met' if ratio >= goal else 'NOT met'}; "
                         f"{sum(v >= goal for v in values)} of {len(values)} rounds)")
    like = sorted(r[JOURNAL] / r["Optuna journal file"] for r in rounds
                  if JOURNAL in r and "Optuna journal file" in r)
    if like:
        lines += ["", f"Like for like, hyperdial's journal file against Optuna's: "
                      f"**{statistics.median(like):.2f} ×** (range {like[0]:.2f}–{like[-1]:.2f})."]
    lines += [
        "",
        f"Cost per trial along one {len(per_k) * 1000}-trial SQLite run "
        "(µs per trial, each block of 1,000 trials):",
        "",
        "| trials | " + " | ".join(f"{(i + 1) * 1000}" for i in range(len(per_k))) + " |",
        "|---|" + "---:|" * len(per_k),
        "| µs/trial | " + " | ".join(f"{v:.0f}" for v in per_k) + " |",
    ]
    if per_k:
        lines.append(f"\nLast block / first block: **{per_k[-1] / per_k[0]:.2f} ×**.")
    path = write_result("storage-throughput", lines)
    print(path.read_text())


if __name__ == "__main__":
    main()
