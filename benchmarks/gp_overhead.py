"""Median suggestion time of hyperdial's GPSampler vs Optuna's GPSampler.

A history of ``n`` finished trials of a near-zero-cost sphere (5-D and 20-D) is built once;
each timed suggestion gets a fresh sampler (no cached fit) and a trial set that differs by one
trial, as in a running study. Optuna's column needs torch; it is skipped when that is missing.

Run: ``python benchmarks/gp_overhead.py [--repeats 5]``; writes
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
from pathlib import Path

import numpy as np

from hyperdial.history import History
from hyperdial.samplers import GPSampler
from hyperdial.space import Float, SearchSpace
from hyperdial.trial import TrialRecord, TrialState

RESULTS = Path(__file__).resolve().parent / "results"


def _points(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(seed).uniform(-5.0, 5.0, size=(n, d))
    return x, np.sum(x * x, axis=1)


def time_hyperdial(n: int, d: int, repeats: int) -> float:
    space = SearchSpace({f"x{i}": Float(-5.0, 5.0) for i in range(d)})
    x, y = _points(n + repeats, d, 0)
    trials = [
        TrialRecord(
            number=i,
            state=TrialState.COMPLETE,
            params={f"x{j}": float(v) for j, v in enumerate(x[i])},
            distributions=dict(space.items()),
            values=(float(y[i]),),
        )
        for i in range(n + repeats)
    ]
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
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {f"x{i}": optuna.distributions.FloatDistribution(-5.0, 5.0) for i in range(d)}
    x, y = _points(n + repeats, d, 0)
    times = []
    for r in range(repeats):
        study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=r))
        study.add_trials(
            [
                optuna.trial.create_trial(
                    params={f"x{j}": float(v) for j, v in enumerate(x[i])},
                    distributions=dists,
                    value=float(y[i]),
                )
                for i in range(r, r + n)
            ]
        )
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
        f"Python {platform.python_version()}. Produced by `benchmarks/gp_overhead.py`.",
        "",
        "| dims | trials | hyperdial GPSampler | Optuna GPSampler | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for d, n, ours, theirs in rows:
        other = "skipped (no torch)" if theirs is None else f"{theirs * 1e3:.0f} ms"
        ratio = "" if theirs is None else f"{ours / theirs:.2f}"
        lines.append(f"| {d} | {n} | {ours * 1e3:.0f} ms | {other} | {ratio} |")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"gp-overhead-{today}.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
