"""Why Nevergrad wins hartmann6, ackley10 and rosenbrock5: where its search starts.

On these three problems of the public suite, Nevergrad's NGOpt (at 100 trials in 5-10
continuous dimensions it runs a local optimiser, COBYLA, from the centre of the box) is
deterministic and beats hyperdial's default. This script checks whether that is the method or
the box: it runs both on the suite's boxes and on the same functions with every box shifted by
``--shift`` of its width (a random sign per coordinate and seed; the optimum stays inside), so
that the centre is an ordinary point. A third column runs scipy's COBYLA from the centre, as
NGOpt does, to show that the start alone reproduces Nevergrad's figures.

Run: ``python -m benchmarks.centre_start [--seeds 10] [--shift 0.1]``; writes
``benchmarks/results/centre-start-<date>.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from dataclasses import replace

import numpy as np

from benchmarks._common import write_result
from benchmarks.peers import PEERS
from benchmarks.problems import HARTMANN6_ARGMIN, SUITE, Param, Problem, real
from benchmarks.scoring import wilcoxon_p

PROBLEMS = ("hartmann6", "ackley10", "rosenbrock5")
ARGMIN = {  # where each function takes its minimum (inside the suite's box and every shift)
    "hartmann6": np.asarray(HARTMANN6_ARGMIN, dtype=float),
    "ackley10": np.zeros(10),
    "rosenbrock5": np.ones(5),
}


def shifted(problem: Problem, shift: float, seed: int) -> Problem:
    """``problem`` with each box edge moved by ``shift`` of its width, signs drawn by ``seed``."""
    signs = np.random.default_rng([seed, 0xCE]).choice([-1.0, 1.0], size=len(problem.space))
    space: list[Param] = []
    for p, sign in zip(problem.space, signs, strict=True):
        delta = sign * shift * (p.high - p.low)
        space.append(real(p.name, p.low + delta, p.high + delta))
    return replace(problem, space=tuple(space))


def cobyla_from_centre(problem: Problem, budget: int) -> list[float]:
    """scipy's COBYLA started at the box centre, in the unit cube, for ``budget`` evaluations."""
    from scipy.optimize import minimize

    low = np.array([p.low for p in problem.space], dtype=float)
    width = np.array([p.high for p in problem.space], dtype=float) - low
    names = [p.name for p in problem.space]
    values: list[float] = []

    def f(u: np.ndarray) -> float:
        x = low + np.clip(u, 0.0, 1.0) * width
        values.append(problem.evaluate(dict(zip(names, x, strict=True))))
        return values[-1]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        minimize(f, np.full(len(names), 0.5), method="COBYLA", bounds=[(0.0, 1.0)] * len(names),
                 options={"maxiter": budget, "rhobeg": 0.25})
    return values[:budget]


def run(seeds: int, shift: float) -> dict[tuple[str, str, str], list[float]]:
    """Best value per (problem, box, method), one entry per seed."""
    best: dict[tuple[str, str, str], list[float]] = {}
    methods = {
        "nevergrad": lambda p, s: PEERS["nevergrad"].run(p, s, p.budget),
        "hyperdial-auto": lambda p, s: PEERS["hyperdial-auto"].run(p, s, p.budget),
        "COBYLA from centre": lambda p, s: cobyla_from_centre(p, p.budget),
    }
    for name in PROBLEMS:
        for seed in range(seeds):
            for box, problem in (("suite", SUITE[name]),
                                 ("shifted", shifted(SUITE[name], shift, seed))):
                inside = all(p.low < v < p.high
                             for p, v in zip(problem.space, ARGMIN[name], strict=True))
                assert inside, f"{name}: the shift moved the optimum out of the box"
                for method, go in methods.items():
                    best.setdefault((name, box, method), []).append(min(go(problem, seed)))
    return best


def report(best: dict[tuple[str, str, str], list[float]], seeds: int, shift: float,
           seconds: float) -> list[str]:
    methods = ("nevergrad", "hyperdial-auto", "COBYLA from centre")
    lines = [
        f"# Centre start: Nevergrad against hyperdial's default on shifted boxes "
        f"({time.strftime('%Y-%m-%d')})",
        "",
        f"Seeds 0..{seeds - 1}, 100 trials each; *shifted*: every box edge moved by {shift:g} "
        "of the box's width, a random sign per coordinate and seed (the optimum stays inside). "
        "Mean best value ± sd over seeds (lower is better); *auto < NG* counts the seeds where "
        "hyperdial's default ends lower than Nevergrad, with the paired Wilcoxon p-value. "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {seconds:.0f} s in all. "
        "Command: `python -m benchmarks.centre_start"
        f"{'' if seeds == 10 else f' --seeds {seeds}'}"
        f"{'' if shift == 0.1 else f' --shift {shift:g}'}`.",
        "",
        "| problem | box | " + " | ".join(methods) + " | auto < NG | p |",
        "|---|---|" + "---|" * len(methods) + "---|---|",
    ]
    for name in PROBLEMS:
        for box in ("suite", "shifted"):
            cells = [f"{np.mean(v):.4g} ± {np.std(v):.2g}"
                     for v in (best[name, box, m] for m in methods)]
            ng = np.array(best[name, box, "nevergrad"])
            auto = np.array(best[name, box, "hyperdial-auto"])
            p = wilcoxon_p(auto, ng)
            lines.append(f"| {name} | {box} | " + " | ".join(cells)
                         + f" | {int(np.sum(auto < ng))}/{len(ng)} | {p:.3f} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--shift", type=float, default=0.1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    best = run(args.seeds, args.shift)
    path = write_result("centre-start", report(best, args.seeds, args.shift,
                                               time.perf_counter() - start))
    print(path.read_text())


if __name__ == "__main__":
    main()
