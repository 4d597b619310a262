"""A deeply conditional network space: the default sampler beside TPE, the GP and Optuna.

Per-layer parameters exist only for the layers a trial has, and some only under others, as
in a real network search; nearly every trial then holds its own set of parameters:

* ``n_layers`` in 1..8 (best: 3); per layer ``units_i`` (log int 4..512, best 64) and
  ``act_i`` in {relu, tanh, gelu} (relu best); under relu ``drop_i`` in [0, 0.5] (best
  0.1), and above 0.3 a penalty ``deep_i`` in [0, 1];
* ``opt`` in {adam, sgd}: sgd adds ``mom`` and ``nesterov``, and nesterov ``nest_x``, all
  penalties (adam best); ``lr`` log-uniform in [1e-5, 0.1] (best 1e-3).

The loss is 0 at the optimum. Each optimizer runs ``--trials`` trials on ``--seeds`` seeds;
the report gives the mean and median best loss and, against Optuna's default TPE
(multivariate in Optuna 5), the seeds where it ends lower. Writes
``benchmarks/results/deep-conditional-<date>.md``.

    python -m benchmarks.deep_conditional [--seeds 10] [--trials 80]
"""

from __future__ import annotations

import benchmarks._one_thread  # noqa: F401 - before numpy: one thread per process

# isort: split

import argparse
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import hyperdial as hd
from benchmarks._common import publish


def objective(trial: Any) -> float:
    """The loss of one network configuration (hyperdial's and Optuna's trials alike)."""
    n_layers = trial.suggest_int("n_layers", 1, 8)
    loss = 0.3 * abs(n_layers - 3)
    for i in range(n_layers):
        units = trial.suggest_int(f"units_{i}", 4, 512, log=True)
        act = trial.suggest_categorical(f"act_{i}", ["relu", "tanh", "gelu"])
        loss += 0.1 * abs(math.log(units / 64)) + 0.2 * (act != "relu")
        if act == "relu":
            drop = trial.suggest_float(f"drop_{i}", 0.0, 0.5)
            loss += (drop - 0.1) ** 2
            if drop > 0.3:
                loss += trial.suggest_float(f"deep_{i}", 0.0, 1.0)
    if trial.suggest_categorical("opt", ["adam", "sgd"]) == "sgd":
        loss += trial.suggest_float("mom", 0.0, 0.99)
        if trial.suggest_categorical("nesterov", [True, False]):
            loss += trial.suggest_float("nest_x", 1e-5, 1.0, log=True)
    return loss + (math.log10(trial.suggest_float("lr", 1e-5, 1e-1, log=True)) + 3) ** 2


def _ours(make: Callable[[int], hd.samplers.Sampler]) -> Callable[[int, int], list[float]]:
    def run(seed: int, trials: int) -> list[float]:
        study = hd.create_study(sampler=make(seed))
        study.optimize(objective, n_trials=trials)
        return [t.value for t in study.trials]
    return run


def _optuna(make: Callable[[Any, int], Any]) -> Callable[[int, int], list[float]]:
    def run(seed: int, trials: int) -> list[float]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=make(optuna.samplers, seed))
        study.optimize(objective, n_trials=trials)
        return [t.value for t in study.trials]
    return run


OPTIMIZERS: dict[str, Callable[[int, int], list[float]]] = {
    "hyperdial default": _ours(lambda s: hd.samplers.AutoSampler(seed=s)),
    "hyperdial GP": _ours(lambda s: hd.samplers.GPSampler(seed=s)),
    "hyperdial TPE": _ours(lambda s: hd.samplers.TPESampler(seed=s)),
    "hyperdial random": _ours(lambda s: hd.samplers.RandomSampler(seed=s)),
    "Optuna TPE": _optuna(lambda o, s: o.TPESampler(seed=s)),  # multivariate in Optuna 5
    "Optuna TPE (univariate)": _optuna(lambda o, s: o.TPESampler(seed=s, multivariate=False)),
    "Optuna GP": _optuna(lambda o, s: o.GPSampler(seed=s)),
    "Optuna random": _optuna(lambda o, s: o.RandomSampler(seed=s)),
}
REFERENCE = "Optuna TPE"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=80)
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    best: dict[str, list[float]] = {}
    for name in dict.fromkeys([*args.optimizers, REFERENCE]):
        best[name] = [min(OPTIMIZERS[name](seed, args.trials)) for seed in range(args.seeds)]
        print(name, round(statistics.fmean(best[name]), 4), flush=True)
    lines = [
        f"# A deeply conditional network space ({time.strftime('%Y-%m-%d')})", "",
        f"`benchmarks/deep_conditional.py`: 1-8 layers, per-layer units and activation, "
        f"dropout under relu and a penalty under high dropout, an optimizer with its own "
        f"parameters, a learning rate; loss 0 at the optimum. {args.trials} trials, seeds "
        f"0..{args.seeds - 1}. hyperdial {hd.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, "
        f"{time.perf_counter() - start:.0f} s in all. Command: `python -m "
        f"benchmarks.deep_conditional --seeds {args.seeds} --trials {args.trials}`.", "",
        f"| optimizer | mean best | median best | seeds ending below {REFERENCE} |",
        "|---|---:|---:|---:|"]
    for name in args.optimizers:
        lower = sum(a < b for a, b in zip(best[name], best[REFERENCE], strict=True))
        lines.append(f"| {name} | {statistics.fmean(best[name]):.4f} | "
                     f"{statistics.median(best[name]):.4f} | "
                     f"{'—' if name == REFERENCE else f'{lower}/{args.seeds}'} |")
    publish("deep-conditional", lines, not args.no_write)


if __name__ == "__main__":
    main()
