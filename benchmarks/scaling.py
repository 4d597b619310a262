"""Costs that grow with a study, hyperdial beside Optuna (in memory, one process).

- ``ASHA`` / ``Hyperband`` / ``Median`` (the default pruner of both libraries) per report:
  every trial reports a curve of ``--steps`` steps (one
  ``report`` and ``should_prune`` each; all trials report the same curve, so none is pruned and
  every run makes the same reports); microseconds per report over the last fifth of the trials.
- ``best_trials``: the Pareto front of ``--front-trials`` random 3-objective trials, one call.
- ``multi-objective TPE``: milliseconds a trial of multivariate TPE after ``--tpe-trials``
  random 3-objective trials.

Rounds alternate the libraries (this shared machine's speed drifts); the report gives medians
over rounds and the median of the within-round ratios.

Run: ``python -m benchmarks.scaling [--rounds 3]``; writes
``benchmarks/results/scaling-<date>.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
import warnings
from typing import Any

import numpy as np

from benchmarks._common import peer_cells, publish


def _libraries() -> dict[str, Any]:
    import optuna

    import hyperdial

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return {"hyperdial": hyperdial, "optuna": optuna}


def per_report(lib: Any, pruner: str, trials: int, steps: int) -> float:
    """Microseconds per report (with its ``should_prune``) over the last fifth of the trials."""
    make = {"ASHA": lib.pruners.SuccessiveHalvingPruner, "Median": lib.pruners.MedianPruner,
            "Hyperband": lambda: lib.pruners.HyperbandPruner(max_resource=steps)}[pruner]
    study = lib.create_study(sampler=lib.samplers.RandomSampler(seed=0), pruner=make())

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(1, steps + 1):
            trial.report(1.0 / step, step)
            if trial.should_prune():
                raise lib.TrialPruned()
        return x

    timed = max(trials // 5, 1)
    study.optimize(objective, n_trials=trials - timed)
    start = time.perf_counter()
    study.optimize(objective, n_trials=timed)
    return (time.perf_counter() - start) / (timed * steps) * 1e6


def _three_objective_study(lib: Any, trials: int) -> Any:
    rng = np.random.default_rng(0)
    values = rng.random((trials, 3))
    study = lib.create_study(directions=["minimize"] * 3,
                             sampler=lib.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: tuple(values[t.number] + 0 * t.suggest_float("x", 0, 1)),
                   n_trials=trials)
    return study


def front_ms(lib: Any, trials: int) -> float:
    """Milliseconds of one ``best_trials`` call on ``trials`` random 3-objective trials."""
    study = _three_objective_study(lib, trials)
    start = time.perf_counter()
    _ = study.best_trials
    return (time.perf_counter() - start) * 1e3


def motpe_ms(lib: Any, trials: int, timed: int) -> float:
    """Milliseconds a trial of multivariate TPE after ``trials`` random 3-objective ones."""
    study = _three_objective_study(lib, trials)
    study.sampler = lib.samplers.TPESampler(seed=0, multivariate=True)
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    study.optimize(lambda t: tuple(rng.random(3) + 0 * t.suggest_float("x", 0, 1)),
                   n_trials=timed)
    return (time.perf_counter() - start) / timed * 1e3


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000, help="reports a trial (long curves)")
    parser.add_argument("--trials", type=int, default=25, help="trials with long curves")
    parser.add_argument("--many-trials", type=int, default=200, help="trials of 100 reports")
    parser.add_argument("--front-trials", type=int, default=8000)
    parser.add_argument("--tpe-trials", type=int, default=2000)
    parser.add_argument("--tpe-timed", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.getLogger("hyperdial").setLevel(logging.ERROR)
    libs = _libraries()
    short = 100
    cases = {
        f"ASHA, {args.trials} trials x {args.steps} reports (us/report)":
            lambda lib: per_report(lib, "ASHA", args.trials, args.steps),
        f"ASHA, {args.many_trials} trials x {short} reports (us/report)":
            lambda lib: per_report(lib, "ASHA", args.many_trials, short),
        f"Hyperband, {args.trials} trials x {args.steps} reports (us/report)":
            lambda lib: per_report(lib, "Hyperband", args.trials, args.steps),
        f"Hyperband, {args.many_trials} trials x {short} reports (us/report)":
            lambda lib: per_report(lib, "Hyperband", args.many_trials, short),
        f"Median, {args.trials} trials x {args.steps} reports (us/report)":
            lambda lib: per_report(lib, "Median", args.trials, args.steps),
        f"Median, {args.many_trials} trials x {short} reports (us/report)":
            lambda lib: per_report(lib, "Median", args.many_trials, short),
        f"best_trials of {args.front_trials:,} 3-objective trials (ms)":
            lambda lib: front_ms(lib, args.front_trials),
        f"multi-objective TPE after {args.tpe_trials:,} trials (ms/trial)":
            lambda lib: motpe_ms(lib, args.tpe_trials, args.tpe_timed),
    }
    got: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for name, run in cases.items():
            for lib_name, lib in libs.items():
                got.setdefault((name, lib_name), []).append(run(lib))
    lines = [
        f"# Costs that grow with a study ({time.strftime('%Y-%m-%d')})",
        "",
        f"In memory, one process, {args.rounds} round(s) alternating the libraries; medians "
        "over rounds and the median of the within-round ratios (below 1: hyperdial is "
        f"cheaper). Python {platform.python_version()}, {os.cpu_count()} cores. Command: "
        "`python -m benchmarks.scaling`.",
        "",
        "| case | hyperdial | Optuna | hyperdial / Optuna |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {peer_cells(got[name, 'hyperdial'], got[name, 'optuna'], '.3g')} |"
              for name in cases]
    return publish("scaling", lines, not args.no_write)


if __name__ == "__main__":
    main()
