"""Parallel workers: how much a search loses when four trials run at once instead of one.

With several workers, a model-based sampler proposes a trial while others are still running;
unless it knows where they are going it proposes (nearly) the same point again. Each run here
is `hyperdial.executors.simulated.optimize_simulated` with 1 or 4 virtual workers: a trial
costs 1 virtual second times a factor in [0.5, 1.5) drawn from its number, so trials end out
of order, deterministically. Samplers: hyperdial's default as shipped; Optuna 5's GPSampler
and its multivariate TPE with ``constant_liar=True``, driven through their ask/tell by the
same simulated executor. (A variant with proposals unpublished, ``uses_pending=False``, was
dropped on 2026-11-30: in one process the study shows a sampler that process's running
trials' parameters either way, so it no longer reproduced workers that could not see them.)

Reported per problem: the mean best value after the problem's budget over seeds (lower is
better), and for the parallel runs the mean distance, in the unit cube of the numeric
parameters, from each proposal to the nearest trial running when it was made (0: the same
point). Writes ``benchmarks/results/parallel-workers-<date>.md``.

    python -m benchmarks.parallel_workers [--seeds 10] [--budget 60]
"""

from __future__ import annotations

import benchmarks._one_thread  # noqa: F401 - before numpy: one thread per process

# isort: split

import argparse
import json
import math
import os
import platform
import statistics
import time
import zlib
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

import hyperdial as hd
from benchmarks._common import write_result
from benchmarks.learning_curves import suggest
from benchmarks.problems import SUITE, Problem
from hyperdial.executors.simulated import SimulatedExecutor, optimize_simulated

PROBLEMS = ("branin", "hartmann6", "rosenbrock5", "mixed6")


def _unit(problem: Problem, config: dict[str, Any]) -> np.ndarray:
    """The numeric parameters of ``config`` in [0, 1] (log scale where the space says so)."""
    out = []
    for p in problem.space:
        if p.kind == "categorical":
            continue
        lo, hi, v = (math.log(p.low), math.log(p.high), math.log(config[p.name])) if p.log \
            else (p.low, p.high, config[p.name])
        out.append((v - lo) / (hi - lo))
    return np.array(out)


def _hyperdial(seed: int) -> Any:
    return hd.create_study(sampler=hd.samplers.AutoSampler(seed=seed))


def _optuna(kind: str, seed: int) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = (optuna.samplers.GPSampler(seed=seed) if kind == "gp" else
               optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True))
    return optuna.create_study(sampler=sampler)


STUDIES: dict[str, Callable[[int], Any]] = {
    "hyperdial default": _hyperdial,
    "Optuna GPSampler": lambda seed: _optuna("gp", seed),
    "Optuna TPE (multivariate, constant liar)": lambda seed: _optuna("tpe", seed),
}


def run(problem: Problem, make: Callable[[int], Any], seed: int, workers: int,
        budget: int) -> dict[str, Any]:
    study = make(seed)
    running: dict[int, np.ndarray] = {}
    gaps: list[float] = []
    best = [math.inf]

    def objective(trial: Any) -> Generator[float, None, float]:
        config = suggest(trial, problem.space)
        point = _unit(problem, config)
        if running:
            gaps.append(min(float(np.linalg.norm(point - q)) for q in running.values()))
        running[trial.number] = point
        yield 0.5 + zlib.crc32(f"{seed}-{trial.number}".encode()) / 2**32
        del running[trial.number]
        value = problem.evaluate(config)
        best[0] = min(best[0], value)
        return value

    start = time.perf_counter()
    optimize_simulated(study, objective, n_trials=budget,
                       executor=SimulatedExecutor(workers, seed=seed))
    return {"best": best[0], "gap": statistics.fmean(gaps) if gaps else None,
            "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=60)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for name in PROBLEMS:
        problem = SUITE[name]
        for label, make in STUDIES.items():
            for workers in (1, 4):
                runs = [run(problem, make, seed, workers, args.budget)
                        for seed in range(args.seeds)]
                row = {"problem": name, "study": label, "workers": workers,
                       "best": statistics.fmean(r["best"] for r in runs),
                       "sd": statistics.pstdev(r["best"] for r in runs),
                       "gap": (statistics.fmean(r["gap"] for r in runs)
                               if workers > 1 else None),
                       "seconds": statistics.fmean(r["seconds"] for r in runs)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    import optuna

    lines = [
        f"# Parallel workers: four at once against one ({time.strftime('%Y-%m-%d')})",
        "",
        f"Seeds 0..{args.seeds - 1}, {args.budget} trials each, on the simulated executor "
        "(1 or 4 virtual workers; a trial costs a factor in [0.5, 1.5) drawn from its number, "
        "so trials end out of order). *best*: mean best value ± sd over seeds (lower is "
        "better); *gap*: mean distance in the unit cube of the numeric parameters from each "
        "proposal to the nearest trial running when it was made (higher: the workers spread "
        f"out). hyperdial {hd.__version__}, Optuna {optuna.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, "
        f"{time.perf_counter() - start:.0f} s in all. Command: "
        f"`python -m benchmarks.parallel_workers --seeds {args.seeds} --budget {args.budget}`.",
        "",
        "| problem | sampler | best, 1 worker | best, 4 workers | gap, 4 workers "
        "| seconds a run (4 workers) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name in PROBLEMS:
        for label in STUDIES:
            one = next((r for r in rows if r["problem"] == name and r["study"] == label
                        and r["workers"] == 1), None)
            four = next(r for r in rows if r["problem"] == name and r["study"] == label
                        and r["workers"] == 4)
            lines.append(
                f"| {name} | {label} | "
                + (f"{one['best']:.4g} ± {one['sd']:.2g}" if one else "—")
                + f" | {four['best']:.4g} ± {four['sd']:.2g} | {four['gap']:.3f} "
                f"| {four['seconds']:.1f} |")
    path = write_result("parallel-workers", lines)
    path.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
