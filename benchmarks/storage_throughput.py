"""Storage throughput: finished trials per second with a zero-cost objective, side by side.

Every cell runs in a fresh subprocess (so no warm cache or leftover connection helps it):
hyperdial in memory, SQLite (1 and 4 processes), PostgreSQL when ``--pg-url`` is given, and
Optuna's in-memory, journal-file and SQLite storages. Writes a markdown table with ratios to
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

from benchmarks._common import write_result

CELL = r"""
import json, sys, time
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
marks = []
def objective(trial):
    return trial.suggest_float("x", 0.0, 1.0)
def mark(study, trial):
    if (trial.number + 1) % 1000 == 0:
        marks.append(time.perf_counter())
start, wall_start = time.perf_counter(), time.time()
study.optimize(objective, n_trials=n, callbacks=[mark])
end = time.perf_counter()
print(json.dumps({"seconds": end - start, "start": start, "marks": marks,
                  "wall_start": wall_start, "wall_end": time.time()}))
"""


def _cell(kind: str, url: str, n: int, name: str = "bench") -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CELL, kind, url, str(n), name],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _fresh_sqlite(tmp: Path, label: str) -> str:
    path = tmp / f"{label}-{time.monotonic_ns()}.db"
    return f"sqlite:///{path}"


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
    return per * workers / span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--scale-trials",
        type=int,
        default=10000,
        help="length of the run that checks the per-trial cost stays flat",
    )
    parser.add_argument("--pg-url", default=os.environ.get("HYPERDIAL_TEST_PG_URL"))
    parser.add_argument("--skip-optuna-sqlite", action="store_true")
    args = parser.parse_args()
    n, reps = args.trials, args.repeats
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)

        def rate(kind: str, make_url: object, label: str, repeats: int = reps) -> None:
            runs = []
            for _ in range(repeats):
                url = make_url() if callable(make_url) else str(make_url)
                runs.append(n / _cell(kind, url, n)["seconds"])
            rows[label] = statistics.median(runs)
            print(f"{label}: {rows[label]:.1f} trials/s", flush=True)

        rate("hyperdial", "memory", "hyperdial in memory")
        rate("hyperdial", lambda: _fresh_sqlite(tmp, "hd"), "hyperdial SQLite")
        rows["hyperdial SQLite, 4 processes (total)"] = statistics.median(
            _parallel(_fresh_sqlite(tmp, "hd4"), n, 4) for _ in range(reps)
        )
        print(f"4 processes: {rows['hyperdial SQLite, 4 processes (total)']:.1f}", flush=True)
        if args.pg_url:
            rate("hyperdial", args.pg_url, "hyperdial PostgreSQL", repeats=1)
        rate("optuna", "memory", "Optuna in memory")
        rate(
            "optuna",
            lambda: f"journal:{tmp / f'j-{time.monotonic_ns()}.log'}",
            "Optuna journal file",
        )
        if not args.skip_optuna_sqlite:
            rate("optuna", lambda: _fresh_sqlite(tmp, "op"), "Optuna SQLite", repeats=1)
        scale = _cell("hyperdial", _fresh_sqlite(tmp, "scale"), args.scale_trials)
    marks = [scale["start"], *scale["marks"]]
    per_k = [(b - a) / 1000 * 1e6 for a, b in itertools.pairwise(marks)]
    _write(rows, per_k, n, reps)


def _write(rows: dict[str, float], per_k: list[float], n: int, reps: int) -> None:
    import hyperdial

    try:
        import optuna

        optuna_version = optuna.__version__
    except ImportError:
        optuna_version = "not installed"
    hd_mem, hd_sql = rows["hyperdial in memory"], rows["hyperdial SQLite"]
    lines = [
        f"# Storage throughput ({time.strftime('%Y-%m-%d')})",
        "",
        f"Finished trials per second, zero-cost objective (one `suggest_float`), random sampler, "
        f"{n} trials per run, median of {reps} runs (Optuna SQLite: 1 run), each run in a fresh "
        f"process. hyperdial {hyperdial.__version__}, Optuna {optuna_version}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} at the end.",
        "",
        "| storage | trials/s | hyperdial SQLite is … × this |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {value:,.1f} | {hd_sql / value:.2f} |" for label, value in rows.items()]
    lines += ["", "Goals (issue 2) and where they stand:", ""]
    checks = [
        ("hyperdial SQLite ≥ 50 × Optuna SQLite", "Optuna SQLite", 50),
        ("hyperdial SQLite ≥ 10 × Optuna journal file", "Optuna journal file", 10),
    ]
    for text, peer, goal in checks:
        if peer in rows:
            ratio = hd_sql / rows[peer]
            lines.append(f"- {text}: **{ratio:.1f} ×** ({'met' if ratio >= goal else 'NOT met'})")
    ratio = hd_sql / hd_mem
    lines.append(
        f"- hyperdial SQLite ≥ 0.5 × hyperdial in memory: **{ratio:.2f} ×** "
        f"({'met' if ratio >= 0.5 else 'NOT met'})"
    )
    four = rows["hyperdial SQLite, 4 processes (total)"]
    lines.append(
        f"- 4 processes on one SQLite file ≥ 1 process: **{four / hd_sql:.2f} ×** "
        f"({'met' if four >= hd_sql else 'NOT met'})"
    )
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
