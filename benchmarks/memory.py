"""Peak memory of a study after 10,000 and 100,000 trials, side by side with Optuna.

Each cell runs in a fresh process: create a study (random sampler, seed 0), run a zero-cost
objective with one float parameter for N trials, read every trial back once (``study.trials``,
as a user inspecting results does), then report the peak resident set size, the resident size
before the first trial (interpreter, imports, empty study) and the growth per 1,000 trials.
Storages: hyperdial in memory and SQLite; Optuna in memory and its journal file (Optuna's
SQLite storage runs about 80 trials/s here and slows as a study grows: 100,000 trials would
take hours, so it is left out). Writes ``benchmarks/results/memory-<date>.md``.

    python -m benchmarks.memory [--trials 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import write_result

CELL = r"""
import json, resource, sys, time
kind, where, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
if kind == "hyperdial":
    import hyperdial as hd
    study = hd.create_study(storage=None if where == "memory" else where,
                            sampler=hd.samplers.RandomSampler(seed=0))
else:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = None
    if where.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        storage = JournalStorage(JournalFileBackend(where[len("journal:"):]))
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
before = rss_mib()
start = time.perf_counter()
study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=n)
seconds = time.perf_counter() - start
assert len(study.trials) == n
print(json.dumps({"before": before, "peak": rss_mib(), "seconds": seconds}))
"""


def _cell(kind: str, where: str, n: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CELL, kind, where, str(n)], capture_output=True,
                         text=True, check=True, timeout=3600)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    import optuna

    import hyperdial

    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.trials:
            cells = {
                "hyperdial in memory": ("hyperdial", "memory"),
                "hyperdial SQLite": ("hyperdial", f"sqlite:///{Path(tmp) / f'hd-{n}.db'}"),
                "Optuna in memory": ("optuna", "memory"),
                "Optuna journal file": ("optuna", f"journal:{Path(tmp) / f'j-{n}.log'}"),
            }
            for label, (kind, where) in cells.items():
                result = _cell(kind, where, n)
                rows.append((label, n, result))
                print(label, n, result, flush=True)
    lines = [
        f"# Peak memory after many trials ({time.strftime('%Y-%m-%d')})",
        "",
        "Zero-cost objective (one `suggest_float`), random sampler, every trial read back once "
        "with `study.trials`; each cell a fresh process. *Peak*: the process's peak resident "
        "set size; *before*: before the first trial (interpreter, imports, empty study); "
        "*per 1,000 trials*: (peak - before) / N x 1,000; *run*: the optimize call's seconds, "
        "one run each, for scale only (this shared machine's speed varies by tens of "
        "percent). "
        f"hyperdial {hyperdial.__version__}, Optuna {optuna.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, "
        f"{time.perf_counter() - start:.0f} s in all. Command: `python -m benchmarks.memory "
        f"--trials {' '.join(map(str, args.trials))}`.",
        "",
        "| storage | trials | before (MiB) | peak (MiB) | per 1,000 trials (MiB) | run (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, n, r in rows:
        lines.append(f"| {label} | {n:,} | {r['before']:.0f} | {r['peak']:.0f} | "
                     f"{(r['peak'] - r['before']) / n * 1000:.2f} | {r['seconds']:.1f} |")
    path = write_result("memory", lines)
    print("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
