"""Constrained search: hyperdial's samplers against Optuna's on problems whose unconstrained
optimum breaks a constraint set with ``trial.set_constraint`` (Optuna 5's API, read by both
libraries' TPE, GP and NSGA-II; Optuna's CMA-ES ignores it).

Each cell runs a sampler for ``--trials`` trials per seed and records the best value among
the trials that meet every constraint (inf when none does) and the share of feasible trials
in the second half. Writes ``results/constraints-<date>.md``.

    python -m benchmarks.constraints [--seeds 5] [--trials 60]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks._common import write_result


@dataclass(frozen=True)
class Problem:
    name: str
    optimum: float
    objective: Callable[[Any], float]  # suggests, sets its constraints, returns the value


def _ring(trial: Any) -> float:
    """x + y on [0, 1]^2 with x^2 + y^2 >= 0.5: the optimum 0.7071 lies on the circle."""
    x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
    trial.set_constraint("radius", 0.5 - x * x - y * y)
    return x + y


def _halfspace(trial: Any) -> float:
    """The 5-D sphere on [-2, 2]^5 with sum(x) >= 1: the optimum 0.2 at x_i = 0.2."""
    x = np.array([trial.suggest_float(f"x{i}", -2, 2) for i in range(5)])
    trial.set_constraint("sum >= 1", 1.0 - float(x.sum()))
    return float(x @ x)


def _disk(trial: Any) -> float:
    """(x - 2)^2 + (y - 2)^2 on [-3, 3]^2 inside the unit disk and with y <= x: the optimum
    (sqrt(2) - 2)^2 * 2 = 0.6863 at (0.7071, 0.7071), two constraints."""
    x, y = trial.suggest_float("x", -3, 3), trial.suggest_float("y", -3, 3)
    trial.set_constraint("disk", x * x + y * y - 1.0)
    trial.set_constraint("y <= x", y - x)
    return (x - 2) ** 2 + (y - 2) ** 2


PROBLEMS = (Problem("ring (2-D)", 0.5 ** 0.5, _ring),
            Problem("halfspace (5-D)", 0.2, _halfspace),
            Problem("disk, 2 constraints (2-D)", 2 * (0.5 ** 0.5 - 2) ** 2, _disk))


def _samplers() -> dict[str, Callable[[int], tuple[Any, Any]]]:
    """Name -> seed -> (create_study, sampler) of each library."""
    import optuna

    import hyperdial as hd

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return {
        "hyperdial default (GP)": lambda s: (hd.create_study,
                                             hd.samplers.AutoSampler(seed=s)),
        "optuna GP": lambda s: (optuna.create_study, optuna.samplers.GPSampler(seed=s)),
        "hyperdial TPE": lambda s: (hd.create_study, hd.samplers.TPESampler(seed=s)),
        "optuna TPE": lambda s: (optuna.create_study, optuna.samplers.TPESampler(seed=s)),
        "hyperdial CMA-ES": lambda s: (hd.create_study, hd.samplers.CmaEsSampler(seed=s)),
        "optuna CMA-ES": lambda s: (optuna.create_study, optuna.samplers.CmaEsSampler(seed=s)),
    }


def run(problem: Problem, make: Callable[[int], tuple[Any, Any]], seed: int,
        n_trials: int) -> tuple[float, float]:
    """Best feasible value and the feasible share of the second half, for one seed."""
    create_study, sampler = make(seed)
    study = create_study(sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's experimental and "ignores constraints" notes
        study.optimize(problem.objective, n_trials=n_trials)
    ok = [all(v <= 0 for v in t.constraints.values()) for t in study.trials]
    feasible = [t.value for t, good in zip(study.trials, ok, strict=True) if good]
    late = ok[n_trials // 2:]
    return min(feasible, default=math.inf), sum(late) / len(late)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=60)
    args = parser.parse_args()
    samplers = _samplers()
    started = time.time()
    rows = []
    for problem in PROBLEMS:
        for name, make in samplers.items():
            results = [run(problem, make, seed, args.trials) for seed in range(args.seeds)]
            gaps = [best - problem.optimum for best, _ in results]
            rows.append((problem.name, name, statistics.median(gaps),
                         sum(math.isinf(g) for g in gaps),
                         statistics.mean(share for _, share in results)))
            print(problem.name, name, rows[-1][2:], flush=True)
    import optuna

    import hyperdial as hd

    lines = [
        f"# Constrained search (`trial.set_constraint`) ({time.strftime('%Y-%m-%d')})", "",
        f"hyperdial {hd.__version__} (working tree), optuna {optuna.__version__}; Python "
        f"{platform.python_version()}; {args.seeds} seeds x {args.trials} trials per cell; "
        f"{time.time() - started:.0f} s in all. Command: `python -m benchmarks.constraints "
        f"--seeds {args.seeds} --trials {args.trials}`.", "",
        "*Gap*: the best value among trials meeting every constraint, less the constrained "
        "optimum (median over seeds; lower is better; *none feasible* counts the seeds "
        "without a feasible trial). *Feasible, 2nd half*: the share of the second half's "
        "trials that met every constraint (mean over seeds). Optuna's CMA-ES ignores "
        "constraints; the others of both libraries read them.", "",
        "| problem | sampler | gap (median) | none feasible | feasible, 2nd half |",
        "|---|---|---:|---:|---:|"]
    lines += [f"| {p} | {s} | {gap:.4g} | {none} | {share:.0%} |"
              for p, s, gap, none, share in rows]
    print(f"wrote {write_result('constraints', lines)}")


if __name__ == "__main__":
    main()
