"""What a dashboard refresh costs as a study grows: the study page's payload built by
`hyperdial.dashboard.Dashboard` from a SQLite study, first load, a refresh with nothing new
(the page sends the version it has), and a refresh after a few new trials. No peer: Optuna's
dashboard is a separate package with another API. Writes ``results/dashboard-refresh-<date>.md``.

    python -m benchmarks.dashboard_refresh [--trials 1000 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import write_result


def objective(trial: Any) -> float:
    x = trial.suggest_float("x", 0, 1)
    y = trial.suggest_int("y", 1, 10)
    trial.suggest_categorical("c", ["a", "b", "c"])
    trial.report(x, 0)
    trial.report(x / 2, 1)
    return x + y


def measure(n_trials: int, repeats: int, folder: Path) -> dict[str, float]:
    """Seconds (medians over ``repeats``) and payload size for a study of ``n_trials``."""
    import hyperdial as hd
    from hyperdial.dashboard import Dashboard

    url = f"sqlite:///{folder / f'study-{n_trials}.db'}"
    study = hd.create_study(storage=url, study_name="s", pruner=hd.pruners.NopPruner(),
                            sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n_trials)
    first, unchanged, after_new = [], [], []
    size = 0
    for _ in range(repeats):
        board = Dashboard(url)  # a fresh server: reads the whole log once
        start = time.perf_counter()
        page = board.study("s")
        first.append(time.perf_counter() - start)
        size = len(json.dumps(page))
        start = time.perf_counter()
        board.study("s", since=page["version"])
        unchanged.append(time.perf_counter() - start)
        study.optimize(objective, n_trials=10)
        start = time.perf_counter()
        board.study("s", since=page["version"])
        after_new.append(time.perf_counter() - start)
    return {"first": statistics.median(first), "unchanged": statistics.median(unchanged),
            "after": statistics.median(after_new), "mb": size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.trials:
            rows.append((n, measure(n, args.repeats, Path(tmp))))
            print(n, rows[-1][1], flush=True)
    lines = [f"# Dashboard refresh cost ({time.strftime('%Y-%m-%d')})", "",
             f"Python {platform.python_version()}; SQLite study, 3 parameters and 2 reports a "
             f"trial; medians over {args.repeats} repeats. Command: "
             "`python -m benchmarks.dashboard_refresh`.", "",
             "| trials | first load (s) | payload (MB) | refresh, nothing new (ms) | "
             "refresh after 10 new trials (s) |", "|---:|---:|---:|---:|---:|"]
    lines += [f"| {n:,} | {m['first']:.2f} | {m['mb']:.2f} | {m['unchanged'] * 1e3:.2f} | "
              f"{m['after']:.3f} |" for n, m in rows]
    print(f"wrote {write_result('dashboard-refresh', lines)}")


if __name__ == "__main__":
    main()
