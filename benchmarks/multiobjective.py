"""Multi-objective search: hypervolume after 50 / 100 / 200 trials on ZDT1, ZDT2 and DTLZ2.

hyperdial's `NSGAIISampler`, `NSGAIIISampler` and `TPESampler` (defaults, and TPE with
``multivariate=False``, the independent TPE that Optuna uses by default for several
objectives) against Optuna 5's ``NSGAIISampler`` and ``TPESampler`` (each with its defaults
and the seed) and uniform random search, in the same run, with the same problems, budget and
seeds. Problems follow Zitzler, Deb and Thiele (2000) and Deb et al. (2002): ZDT1 and ZDT2
with ``n = 10`` variables in [0, 1] (the standard definitions at a reduced dimension common
for budgets of a few hundred trials); DTLZ2 with 3 objectives and ``n = 12`` (k = 10).

The hypervolume uses one fixed reference point per problem: (11, 11) for ZDT1 and ZDT2
(g <= 10, so every evaluation lies inside it; the usual (1.1, 1.1) gives 0 to every optimizer
at this budget in 10 dimensions) and (1.1, 1.1, 1.1) for DTLZ2 (its front is the positive
octant of the unit sphere). Writes ``benchmarks/results/multiobjective-<date>.md`` and the
raw cells beside it, in ``results/raw/``.

    python -m benchmarks.multiobjective [--seeds 5] [--trials 200] [--optimizers ...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from benchmarks._common import RESULTS, write_result  # noqa: E402
from hyperdial._pareto import hypervolume  # noqa: E402

CHECKPOINTS = (50, 100, 200)


@dataclass(frozen=True)
class MOProblem:
    """A minimisation problem on [0, 1]^dim with its hypervolume reference points."""

    name: str
    dim: int
    n_objectives: int
    evaluate: Callable[[np.ndarray], tuple[float, ...]]
    refs: tuple[tuple[float, ...], ...]


def zdt1(x: np.ndarray) -> tuple[float, float]:
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    return float(x[0]), g * (1.0 - float(np.sqrt(x[0] / g)))


def zdt2(x: np.ndarray) -> tuple[float, float]:
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    return float(x[0]), g * (1.0 - (float(x[0]) / g) ** 2)


def dtlz2(x: np.ndarray, m: int = 3) -> tuple[float, ...]:
    g = float(np.sum((x[m - 1:] - 0.5) ** 2))
    angles = x[: m - 1] * np.pi / 2
    out = []
    for i in range(m):
        f = 1.0 + g
        f *= float(np.prod(np.cos(angles[: m - 1 - i])))
        if i > 0:
            f *= float(np.sin(angles[m - 1 - i]))
        out.append(f)
    return tuple(out)


PROBLEMS = {
    p.name: p for p in (
        MOProblem("zdt1", 10, 2, zdt1, ((11.0, 11.0),)),
        MOProblem("zdt2", 10, 2, zdt2, ((11.0, 11.0),)),
        MOProblem("dtlz2", 12, 3, dtlz2, ((1.1, 1.1, 1.1),)),
    )
}


def _objective(problem: MOProblem) -> Callable[[Any], tuple[float, ...]]:
    def objective(trial: Any) -> tuple[float, ...]:
        x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(problem.dim)])
        return problem.evaluate(x)
    return objective


def _hyperdial(make: Callable[[int], Any]) -> Callable[[MOProblem, int, int], np.ndarray]:
    def run(problem: MOProblem, seed: int, budget: int) -> np.ndarray:
        import hyperdial as hd

        study = hd.create_study(directions=["minimize"] * problem.n_objectives,
                                sampler=make(seed))
        study.optimize(_objective(problem), n_trials=budget)
        return np.array([t.values for t in study.trials], dtype=float)
    return run


def _optuna(make: Callable[[Any, int], Any]) -> Callable[[MOProblem, int, int], np.ndarray]:
    def run(problem: MOProblem, seed: int, budget: int) -> np.ndarray:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(directions=["minimize"] * problem.n_objectives,
                                    sampler=make(optuna.samplers, seed))
        study.optimize(_objective(problem), n_trials=budget)
        return np.array([t.values for t in study.trials], dtype=float)
    return run


def _random(problem: MOProblem, seed: int, budget: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([problem.evaluate(rng.random(problem.dim)) for _ in range(budget)])


def _hd_sampler(name: str, **kwargs: Any) -> Callable[[int], Any]:
    def make(seed: int) -> Any:
        import hyperdial as hd

        return getattr(hd.samplers, name)(seed=seed, **kwargs)
    return make


OPTIMIZERS: dict[str, Callable[[MOProblem, int, int], np.ndarray]] = {
    "hyperdial-nsga2": _hyperdial(_hd_sampler("NSGAIISampler")),
    "hyperdial-nsga3": _hyperdial(_hd_sampler("NSGAIIISampler")),
    "hyperdial-tpe": _hyperdial(_hd_sampler("TPESampler")),
    "hyperdial-tpe-uni": _hyperdial(_hd_sampler("TPESampler", multivariate=False)),
    "hyperdial-gp": _hyperdial(_hd_sampler("GPSampler")),
    "hyperdial-auto": _hyperdial(_hd_sampler("AutoSampler")),
    "optuna-nsga2": _optuna(lambda s, seed: s.NSGAIISampler(seed=seed)),
    "optuna-tpe": _optuna(lambda s, seed: s.TPESampler(seed=seed)),
    "random": _random,
}


def hv_curve(values: np.ndarray, ref: tuple[float, ...],
             checkpoints: tuple[int, ...]) -> list[float]:
    """Hypervolume of the first ``c`` trials' values for every checkpoint ``c``."""
    return [hypervolume(values[:c], np.asarray(ref)) for c in checkpoints]


def run_grid(problems: list[str], optimizers: list[str], seeds: int,
             budget: int) -> list[dict[str, Any]]:
    """Every (problem, optimizer, seed) cell, in this process, one after the other."""
    cells = []
    checkpoints = (*(c for c in CHECKPOINTS if c < budget), budget)
    for pname in problems:
        problem = PROBLEMS[pname]
        for opt in optimizers:
            for seed in range(seeds):
                start = time.perf_counter()
                values = OPTIMIZERS[opt](problem, seed, budget)
                seconds = time.perf_counter() - start
                hv = {str(ref): hv_curve(values, ref, checkpoints) for ref in problem.refs}
                cells.append({"problem": pname, "optimizer": opt, "seed": seed,
                              "seconds": seconds, "checkpoints": list(checkpoints), "hv": hv})
                print(json.dumps({k: cells[-1][k] for k in ("problem", "optimizer", "seed")})
                      + f" {seconds:.1f}s final HV "
                      + ", ".join(f"{v[-1]:.4f}" for v in hv.values()), flush=True)
    return cells


def report(cells: list[dict[str, Any]], seeds: int, budget: int) -> list[str]:
    """The markdown tables: mean ± std of the hypervolume at every checkpoint, per problem and
    reference point, and which optimizer leads at the end."""
    import optuna

    today = datetime.date.today().isoformat()
    lines = [
        f"# Multi-objective search ({today})",
        "",
        f"`python -m benchmarks.multiobjective --seeds {seeds} --trials {budget}`. Machine: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}, numpy {np.__version__}, optuna "
        f"{optuna.__version__}. Every cell ran in this one process, one after the other, "
        f"seeds 0..{seeds - 1}.",
        "",
        "Problems: ZDT1 and ZDT2 with 10 variables, DTLZ2 with 3 objectives and 12 variables "
        "(standard definitions, all minimised on [0, 1]^n). Hypervolume (higher is better) of "
        "all trials so far, exact, at the reference point named in each table. Optimizers: "
        "hyperdial `AutoSampler` (the default: at 200 trials its `GPSampler` with random "
        "scalarisations), `GPSampler`, `NSGAIISampler`, `NSGAIIISampler` and `TPESampler`, "
        "Optuna `NSGAIISampler` and `TPESampler`, "
        "all with their defaults and `seed=seed`; hyperdial-tpe-uni = `TPESampler(seed=seed, "
        "multivariate=False)` (Optuna's TPE is independent by default for several "
        "objectives); random = uniform search. Mean ± standard deviation over seeds.",
        "",
    ]
    problems = list(dict.fromkeys(c["problem"] for c in cells))
    optimizers = list(dict.fromkeys(c["optimizer"] for c in cells))
    for pname in problems:
        for ref in PROBLEMS[pname].refs:
            key = str(ref)
            rows = [c for c in cells if c["problem"] == pname and str(ref) in c["hv"]]
            checkpoints = rows[0]["checkpoints"]
            lines += [f"## {pname}, reference point {ref}", "",
                      "| optimizer | " + " | ".join(f"HV @ {c}" for c in checkpoints)
                      + " | seconds / run |",
                      "|---|" + "---|" * (len(checkpoints) + 1)]
            finals = {}
            for opt in optimizers:
                hv = np.array([c["hv"][key] for c in rows if c["optimizer"] == opt])
                secs = np.mean([c["seconds"] for c in rows if c["optimizer"] == opt])
                finals[opt] = float(hv[:, -1].mean())
                lines.append(f"| {opt} | " + " | ".join(
                    f"{m:.4f} ± {s:.4f}" for m, s in zip(hv.mean(axis=0), hv.std(axis=0),
                                                          strict=True)) + f" | {secs:.1f} |")
            best = max(finals, key=finals.__getitem__)
            lines += ["", f"Best mean final hypervolume: **{best}**. " + _verdict(finals), ""]
    return lines


def _verdict(finals: dict[str, float]) -> str:
    """Whether hyperdial's best sampler reaches each Optuna sampler's mean final hypervolume."""
    ours = {k: v for k, v in finals.items() if k.startswith("hyperdial")}
    theirs = {k: v for k, v in finals.items() if k.startswith("optuna")}
    if not ours or not theirs:
        return ""
    name = max(ours, key=ours.__getitem__)
    verdicts = [f"{'≥' if ours[name] >= v else '<'} {k} ({v:.4f})" for k, v in theirs.items()]
    return f"hyperdial's best, {name} ({ours[name]:.4f}): " + ", ".join(verdicts) + "."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    cells = run_grid(args.problems, args.optimizers, args.seeds, args.trials)
    lines = report(cells, args.seeds, args.trials)
    print("\n".join(lines))
    if not args.no_write:
        raw = RESULTS / "raw" / f"multiobjective-{datetime.date.today().isoformat()}.json"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps(cells))
        print(f"wrote {write_result('multiobjective', lines)} and {raw}")


if __name__ == "__main__":
    main()
