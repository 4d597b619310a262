"""Brute force in threads: how many combinations get run twice, hyperdial beside Optuna.

Both libraries' ``BruteForceSampler`` run ``optimize(n_jobs=THREADS)`` on the same objectives
until the sampler ends the study: *flat*, 6 combinations (a in 0..1, b in x/y/z), each trial
holding for 20 ms after its suggestions (a training run); *conditional*, 15 combinations (a in
0..2, b in x/y/z, and c in 0/0.5/1 under b = x), each trial sleeping a random 0-5 ms between
its suggestions and after them, so that threads interleave their suggestions. Reported per
library: trials run, combinations repeated (trials beyond the distinct ones), combinations
never run, and wall time, summed over the runs. Writes
``benchmarks/results/bruteforce-threads-<date>.md``.

    python -m benchmarks.bruteforce_threads [--runs 40] [--threads 6]
"""

from __future__ import annotations

import argparse
import logging
import platform
import random
import time
import warnings
from collections.abc import Callable
from typing import Any

from benchmarks._common import write_result

FLAT, CONDITIONAL = 6, 15  # combinations of each objective


def flat(trial: Any) -> float:
    a = trial.suggest_int("a", 0, 1)
    trial.suggest_categorical("b", ["x", "y", "z"])
    time.sleep(0.02)
    return float(a)


def conditional(trial: Any) -> float:
    pause = random.Random(f"{id(trial)}-{trial.number}")  # a trial's own pauses
    a = trial.suggest_int("a", 0, 2)
    time.sleep(pause.random() * 0.005)
    if trial.suggest_categorical("b", ["x", "y", "z"]) == "x":
        trial.suggest_float("c", 0.0, 1.0, step=0.5)
    time.sleep(pause.random() * 0.005)
    return float(a)


def _run(library: str, objective: Callable[[Any], float], threads: int,
         seed: int) -> tuple[list[tuple[Any, ...]], float]:
    """The parameters of every trial of one study, and its wall time."""
    if library == "hyperdial":
        import hyperdial as hd

        study: Any = hd.create_study(sampler=hd.samplers.BruteForceSampler(seed=seed))
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        study = optuna.create_study(sampler=optuna.samplers.BruteForceSampler(seed=seed))
    start = time.perf_counter()
    study.optimize(objective, n_trials=100, n_jobs=threads)
    seconds = time.perf_counter() - start
    return [tuple(t.params.items()) for t in study.trials], seconds


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.getLogger("hyperdial").setLevel(logging.ERROR)
    import optuna

    import hyperdial

    lines = [
        f"# Brute force in threads ({time.strftime('%Y-%m-%d')})",
        "",
        f"`optimize(n_jobs={args.threads})` with each library's `BruteForceSampler` until it ends "
        f"the study, {args.runs} runs (seeds 0..{args.runs - 1}) per objective; sums over the "
        f"runs. hyperdial {hyperdial.__version__}, Optuna {optuna.__version__}, Python "
        f"{platform.python_version()}. Command: `python -m benchmarks.bruteforce_threads`.",
        "",
        "| objective | combinations | library | trials | repeated | never run | seconds |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, objective, size in (("flat", flat, FLAT), ("conditional", conditional,
                                                        CONDITIONAL)):
        for library in ("hyperdial", "optuna"):
            trials = repeated = missing = 0
            seconds = 0.0
            for seed in range(args.runs):
                params, took = _run(library, objective, args.threads, seed)
                distinct = len(set(params))
                trials += len(params)
                repeated += len(params) - distinct
                missing += size - distinct
                seconds += took
            lines.append(f"| {name} | {size} x {args.runs} | {library} | {trials} | {repeated} "
                         f"| {missing} | {seconds:.2f} |")
    if not args.no_write:
        print(write_result("bruteforce-threads", lines).read_text())
    return lines


if __name__ == "__main__":
    main()
