"""Parameter importance: time and agreement with the truth, hyperdial against Optuna.

The problem is a weighted sphere, ``f(x) = sum_j w_j x_j^2`` on [-5, 5]^10 with weights
1, 1/2, 1/4, 1/8, 1/16 and five zeros, so the true order of importance is known. The trials
are uniform random points (the same ones for every evaluator). Each evaluator is timed on
``get_param_importances`` (the fastest of 3 calls; Optuna's fANOVA: 1), and scored by
Spearman's rank correlation of its importances with the weights, and by the share it gives
the five parameters of weight 0.
Optuna's fANOVA (random forests) runs at the smaller size only: it takes minutes beyond.
Writes ``benchmarks/results/importance-<date>.md``.

    python -m benchmarks.importance [--sizes 1000 10000] [--fanova-max 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from benchmarks._common import optuna_sphere_study, sphere_trials, write_result  # noqa: E402
from hyperdial.history import History, StudyDirection  # noqa: E402
from hyperdial.importance import (  # noqa: E402
    FanovaImportanceEvaluator,
    MeanDecreaseImpurityImportanceEvaluator,
    SobolImportanceEvaluator,
    get_param_importances,
)

WEIGHTS = np.array([1.0, 0.5, 0.25, 0.125, 0.0625, 0.0, 0.0, 0.0, 0.0, 0.0])


def points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(seed).uniform(-5.0, 5.0, size=(n, len(WEIGHTS)))
    return x, (x * x) @ WEIGHTS


def score(importances: dict[str, float]) -> tuple[float, float]:
    """Spearman's rho against the weights, and the share of the weight-0 parameters."""
    values = np.array([importances.get(f"x{j}", 0.0) for j in range(len(WEIGHTS))])
    total = values.sum() or 1.0
    return float(spearmanr(values, WEIGHTS).statistic), float(values[WEIGHTS == 0].sum() / total)


def timed(call: Callable[[], dict[str, float]], repeats: int) -> tuple[float, dict[str, float]]:
    """The fastest of ``repeats`` calls (the first pays for imports and caches) and a result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--fanova-max", type=int, default=1000)
    args = parser.parse_args()
    import optuna

    rows = []
    for n in args.sizes:
        x, y = points(n)
        history = History(sphere_trials(x, y), (StudyDirection.MINIMIZE,))
        peer, _ = optuna_sphere_study(optuna.samplers.RandomSampler(seed=0), x, y)
        evaluators: list[tuple[str, Callable[[], dict[str, float]]]] = [
            ("hyperdial PED-ANOVA", lambda h=history: get_param_importances(h)),
            ("hyperdial Sobol (GP)", lambda h=history: get_param_importances(
                h, evaluator=SobolImportanceEvaluator())),
            ("hyperdial fANOVA", lambda h=history: get_param_importances(
                h, evaluator=FanovaImportanceEvaluator(seed=0))),
            ("hyperdial MDI", lambda h=history: get_param_importances(
                h, evaluator=MeanDecreaseImpurityImportanceEvaluator(seed=0))),
            ("Optuna PED-ANOVA", lambda p=peer: optuna.importance.get_param_importances(
                p, evaluator=optuna.importance.PedAnovaImportanceEvaluator())),
            ("Optuna MDI", lambda p=peer: optuna.importance.get_param_importances(
                p, evaluator=optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=0)))]
        if n <= args.fanova_max:
            evaluators.append(("Optuna fANOVA", lambda p=peer: optuna.importance.
                               get_param_importances(p, evaluator=optuna.importance.
                                                     FanovaImportanceEvaluator(seed=0))))
        for name, call in evaluators:
            seconds, importances = timed(call, 1 if name == "Optuna fANOVA" else 3)
            rho, zero_share = score(importances)
            rows.append((n, name, seconds, rho, zero_share))
            print(f"{n} {name}: {seconds * 1e3:.1f} ms, rho {rho:.3f}, zeros {zero_share:.3f}",
                  flush=True)
    lines = [
        f"# Parameter importance ({time.strftime('%Y-%m-%d')})", "",
        "Weighted sphere on [-5, 5]^10, weights 1, 1/2, 1/4, 1/8, 1/16 and five zeros, uniform "
        "random trials (the same for every evaluator); `get_param_importances`, fastest of 3 "
        "calls (Optuna's fANOVA: 1 call), one BLAS thread. The forests (fANOVA, MDI) are "
        "both libraries' defaults: 64 trees of depth up to 64, `seed=0`. rho: Spearman's "
        "rank correlation of the "
        "importances with the weights: 0.937 for any strict order with the five weight-0 "
        "parameters last (their weights tie); up to 1 when their importances tie too. "
        "zeros: share given to the five parameters of weight 0 (0 is right). "
        f"hyperdial 0.1.0, Optuna {optuna.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores. Command: `python -m benchmarks.importance`.", "",
        "| trials | evaluator | time (ms) | × hyperdial PED-ANOVA | rho | zeros |",
        "|---:|---|---:|---:|---:|---:|"]
    base = {n: s for n, name, s, _, _ in rows if name == "hyperdial PED-ANOVA"}
    for n, name, seconds, rho, zero_share in rows:
        lines.append(f"| {n:,} | {name} | {seconds * 1e3:,.1f} | {seconds / base[n]:.1f} | "
                     f"{rho:.3f} | {zero_share:.3f} |")
    print(write_result("importance", lines))


if __name__ == "__main__":
    main()
