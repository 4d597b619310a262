"""Opening a long study: time and memory of a fresh process that loads it and reads every trial.

A study of ``--trials`` finished trials (random search, a float and an int parameter, zero-cost
objective) is written once per storage; then, in a fresh process each, ``load_study`` and one
``study.trials``: the seconds that took, the resident size before it (interpreter and imports)
and the peak after. Storages: hyperdial SQLite (its view reads 10,000 events at a time, and,
for comparison, the whole log at once), hyperdial's journal file, and Optuna's journal file
(Optuna's SQLite storage writes about 100 trials/s here: left out). Writes
``benchmarks/results/load-study-<date>.md``.

    python -m benchmarks.load_study [--trials 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import write_result

WRITE = r"""
import sys
kind, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def objective(t):
    return t.suggest_float("x", 0.0, 1.0) + t.suggest_int("k", 1, 9)
if kind == "hyperdial":
    import hyperdial as hd
    hd.create_study(study_name="long", storage=url,
                    sampler=hd.samplers.RandomSampler(seed=0)).optimize(objective, n_trials=n)
else:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="long", storage=JournalStorage(JournalFileBackend(url)),
                        sampler=optuna.samplers.RandomSampler(seed=0)).optimize(objective,
                                                                                 n_trials=n)
"""

LOAD = r"""
import json, resource, sys, time
kind, url, at_once = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
if kind == "hyperdial":
    import hyperdial as hd
    import hyperdial.storage.base
    import hyperdial.storage.sql
    if at_once:
        hyperdial.storage.base._SYNC_PART = 10**12
    before = rss_mib()
    start = time.perf_counter()
    trials = hd.load_study(study_name="long", storage=url).trials
else:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    before = rss_mib()
    start = time.perf_counter()
    trials = optuna.load_study(study_name="long",
                               storage=JournalStorage(JournalFileBackend(url))).trials
seconds = time.perf_counter() - start
print(json.dumps({"n": len(trials), "seconds": seconds, "before": before, "peak": rss_mib()}))
"""

CELLS = (  # label, library, storage kind, read at once
    ("hyperdial SQLite", "hyperdial", "sqlite", False),
    ("hyperdial SQLite, log read at once", "hyperdial", "sqlite", True),
    ("hyperdial journal file", "hyperdial", "journal", False),
    ("Optuna journal file", "optuna", "journal", False),
)


def _python(code: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=True, timeout=3600).stdout


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3, help="loads per storage")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        urls = {("hyperdial", "sqlite"): f"sqlite:///{tmp / 'h.db'}",
                ("hyperdial", "journal"): f"journal:///{tmp / 'h.jsonl'}",
                ("optuna", "journal"): str(tmp / "o.log")}
        for (library, _), url in urls.items():
            _python(WRITE, library, url, str(args.trials))
        for label, library, kind, at_once in CELLS:
            runs = [json.loads(_python(LOAD, library, urls[library, kind],
                                       "1" if at_once else "0").splitlines()[-1])
                    for _ in range(args.repeats)]
            assert all(r["n"] == args.trials for r in runs)
            rows.append((label, *(statistics.median(r[k] for r in runs)
                                  for k in ("seconds", "before", "peak"))))
    import hyperdial

    try:
        import optuna

        optuna_version = optuna.__version__
    except ImportError:
        optuna_version = "not installed"
    lines = [
        f"# Opening a long study ({time.strftime('%Y-%m-%d')})",
        "",
        f"{args.trials:,} finished trials (a float and an int parameter), loaded by a fresh "
        f"process that reads every trial once; medians of {args.repeats} loads. *before*: "
        "resident size after the imports; *peak*: after the load. hyperdial "
        f"{hyperdial.__version__}, Optuna {optuna_version}, Python "
        f"{platform.python_version()}. Command: `python -m benchmarks.load_study`.",
        "",
        "| storage | seconds | MiB before | MiB peak | MiB for the trials |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {label} | {seconds:.2f} | {before:.0f} | {peak:.0f} | {peak - before:.0f} |"
              for label, seconds, before, peak in rows]
    if not args.no_write:
        print(write_result("load-study", lines).read_text())
    return lines


if __name__ == "__main__":
    main()
