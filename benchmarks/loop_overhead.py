"""Per-trial overhead of common study patterns at scale, hyperdial beside Optuna (in memory).

Each pattern grows a study to ``--trials`` finished trials, then times ``--timed`` more trials
of a near-zero-cost objective; both libraries run the same objective in the same process, in
rounds that alternate them (this shared machine's speed drifts), and the report gives the
median milliseconds per trial and the median of the within-round ratios.

- ``best_value callback``: a callback reads ``study.best_value`` after every trial.
- ``median pruner``: 20 reports per trial, ``should_prune`` after each (Median pruner).
- ``5,000-choice categorical``: TPE on one categorical of 5,000 choices and one float.

Run: ``python -m benchmarks.loop_overhead [--trials 4000] [--timed 300] [--rounds 3]``; writes
``benchmarks/results/loop-overhead-<date>.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
import warnings
from collections.abc import Callable
from typing import Any

from benchmarks._common import peer_cells, publish

CHOICES = [f"c{i}" for i in range(5000)]


def _flat(trial: Any) -> float:
    return float(trial.suggest_float("x", 0.0, 1.0))


def _pruned(lib: Any) -> Callable[[Any], float]:
    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(20):
            trial.report(x + 1.0 / (step + 1), step)
            if trial.should_prune():
                raise lib.TrialPruned()
        return float(x)

    return objective


def _categorical(trial: Any) -> float:
    return int(trial.suggest_categorical("c", CHOICES)[1:]) / 5000 + trial.suggest_float(
        "x", 0.0, 1.0)


def _libraries() -> dict[str, Any]:
    import optuna

    import hyperdial

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return {"hyperdial": hyperdial, "optuna": optuna}


def _pattern(name: str, lib: Any, trials: int, timed: int) -> float:
    """Milliseconds per trial over ``timed`` trials after ``trials`` were run."""
    samplers = lib.samplers
    if name == "best_value callback":
        study = lib.create_study(sampler=samplers.RandomSampler(seed=0))
        objective, kwargs = _flat, {"callbacks": [lambda s, t: s.best_value]}
    elif name == "median pruner":
        study = lib.create_study(sampler=samplers.RandomSampler(seed=0),
                                 pruner=lib.pruners.MedianPruner())
        objective, kwargs = _pruned(lib), {}
    else:
        study = lib.create_study(sampler=samplers.TPESampler(seed=0))
        objective, kwargs = _categorical, {}
    study.optimize(objective, n_trials=trials)
    start = time.perf_counter()
    study.optimize(objective, n_trials=timed, **kwargs)
    return (time.perf_counter() - start) / timed * 1e3


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--categorical-trials", type=int, default=200)
    parser.add_argument("--timed", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.getLogger("hyperdial").setLevel(logging.ERROR)
    libs = _libraries()
    patterns = {"best_value callback": args.trials, "median pruner": args.trials,
                "5,000-choice categorical": args.categorical_trials}
    ms: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for name, n in patterns.items():
            for lib_name, lib in libs.items():
                ms.setdefault((name, lib_name), []).append(
                    _pattern(name, lib, n, min(args.timed, n)))
    lines = [
        f"# Per-trial overhead of common patterns ({time.strftime('%Y-%m-%d')})",
        "",
        f"In memory, near-zero-cost objectives, {args.rounds} rounds alternating the libraries; "
        "milliseconds per trial after the study holds the given number of trials (median over "
        "rounds), and the median of the within-round ratios. "
        f"Python {platform.python_version()}, {os.cpu_count()} cores. Command: "
        "`python -m benchmarks.loop_overhead`.",
        "",
        "| pattern | trials before | hyperdial ms/trial | Optuna ms/trial | hyperdial / Optuna |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {name} | {n:,} | {peer_cells(ms[name, 'hyperdial'], ms[name, 'optuna'], '.2f')} |"
              for name, n in patterns.items()]
    return publish("loop-overhead", lines, not args.no_write)


if __name__ == "__main__":
    main()
