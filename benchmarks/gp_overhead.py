"""Median suggestion time of hyperdial's GPSampler vs Optuna's GPSampler.

A history of ``n`` finished trials of a near-zero-cost sphere (5-D and 20-D) is built once;
each timed suggestion gets a fresh sampler (no cached fit) and a trial set that differs by one
trial, as in a running study. Optuna's column needs torch; it is skipped when that is missing.

Run: ``python -m benchmarks.gp_overhead [--repeats 5]``; writes
``benchmarks/results/gp-overhead-<date>.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
from dataclasses import replace

from benchmarks._common import optuna_sphere_study, sphere_points, sphere_trials, write_result
from hyperdial.history import History
from hyperdial.samplers import GPSampler
from hyperdial.space import Float, SearchSpace


def time_hyperdial(n: int, d: int, repeats: int) -> float:
    space = SearchSpace({f"x{i}": Float(-5.0, 5.0) for i in range(d)})
    x, y = sphere_points(n + repeats, d)
    trials = sphere_trials(x, y)
    times = []
    for r in range(repeats):
        history = History(tuple(trials[r : r + n]))
        history = replace(history, known_space=history.completed_space)
        sampler = GPSampler(seed=r)
        start = time.perf_counter()
        sampler.propose(history, space, sampler.rng(n + r))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_optuna(n: int, d: int, repeats: int) -> float | None:
    try:
        import optuna
        import torch  # noqa: F401  (Optuna's GPSampler needs it)
    except ImportError:
        return None
    x, y = sphere_points(n + repeats, d)
    times = []
    for r in range(repeats):
        study, dists = optuna_sphere_study(optuna.samplers.GPSampler(seed=r), x[r:r + n],
                                           y[r:r + n])
        start = time.perf_counter()
        study.ask(dists)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--dims", type=int, nargs="+", default=[5, 20])
    args = parser.parse_args()
    rows = []
    for d in args.dims:
        for n in args.trials:
            ours = time_hyperdial(n, d, args.repeats)
            theirs = time_optuna(n, d, args.repeats)
            rows.append((d, n, ours, theirs))
            print(
                f"d={d:2d} n={n:4d} hyperdial {ours * 1e3:8.1f} ms  optuna "
                + ("skipped" if theirs is None else f"{theirs * 1e3:8.1f} ms"),
                flush=True,
            )
    today = datetime.date.today().isoformat()
    lines = [
        f"# GP suggestion overhead ({today})",
        "",
        f"Median of {args.repeats} suggestions on a sphere, history of n finished trials; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}. Optuna's acquisition search "
        f"{'batched through greenlet' if _has_greenlet() else 'sequential (no greenlet)'}. "
        "Produced by `benchmarks/gp_overhead.py`.",
        "",
        "| dims | trials | hyperdial GPSampler | Optuna GPSampler | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for d, n, ours, theirs in rows:
        other = "skipped (no torch)" if theirs is None else f"{theirs * 1e3:.0f} ms"
        ratio = "" if theirs is None else f"{ours / theirs:.2f}"
        lines.append(f"| {d} | {n} | {ours * 1e3:.0f} ms | {other} | {ratio} |")
    print(f"wrote {write_result('gp-overhead', lines)}")


def _has_greenlet() -> bool:
    """Optuna's GPSampler runs its L-BFGS-B restarts as one batch only with greenlet."""
    import importlib.util

    return importlib.util.find_spec("greenlet") is not None


if __name__ == "__main__":
    main()
