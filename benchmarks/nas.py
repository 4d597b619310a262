"""Neural architecture search on a tabulated benchmark, in the manner of NAS-Bench-101/201.

Every architecture of a small MLP space was trained once on scikit-learn's digits, and its
validation and test accuracy stored (``--build-table`` writes
``benchmarks/results/nas-table-digits.json``): searches then look results up instead of
training, so many seeds and budgets cost seconds, and every optimizer meets exactly the same
numbers. The space is conditional, as architecture spaces are:

* ``n_layers`` in 1..4; ``width_i`` in {16, 32, 64, 128} for each layer i < n_layers;
* ``activation`` in {relu, tanh}; ``learning_rate_init`` in {1e-3, 1e-2};

1,360 architectures in all. Training: `MLPClassifier` (Adam, batch 64, 40 epochs, seed 0)
on 60 % of the digits, validation on 20 %, test on the last 20 % (stratified, seed 0).

The search runs each optimizer for ``--trials`` trials on ``--seeds`` seeds and reports the
*regret*: the best validation accuracy in the table minus the best one found, at 25 %, 50 %
and 100 % of the budget, and the test accuracy of the architecture each search picked (by
validation). Optimizers: random search, hyperdial's regularized evolution, TPE, default sampler
(GP) and NSGA-II as a single-objective genetic algorithm; Optuna's TPE and random search.
Writes ``benchmarks/results/nas-<date>.md`` (``nas-<trials>-trials-<date>.md`` for another
budget than 100).

    python -m benchmarks.nas --build-table
    python -m benchmarks.nas [--seeds 20] [--trials 100]
"""

from __future__ import annotations

import benchmarks._one_thread  # noqa: F401 - before numpy: one thread per process

# isort: split

import argparse
import itertools
import json
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

import hyperdial as hd
from benchmarks._common import RESULTS, write_result

TABLE = RESULTS / "nas-table-digits.json"
LAYERS, WIDTHS = (1, 2, 3, 4), (16, 32, 64, 128)
ACTIVATIONS, RATES = ("relu", "tanh"), (1e-3, 1e-2)


def architectures() -> list[dict[str, Any]]:
    """Every configuration of the space, in the study's names."""
    out = []
    for n in LAYERS:
        for widths in itertools.product(WIDTHS, repeat=n):
            for act, lr in itertools.product(ACTIVATIONS, RATES):
                out.append({"n_layers": n, **{f"width_{i}": w for i, w in enumerate(widths)},
                            "activation": act, "learning_rate_init": lr})
    return out


def key(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True)


def _train(config: dict[str, Any]) -> dict[str, Any]:
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_fit, X_test, y_fit, y_test = train_test_split(X, y, test_size=0.2, stratify=y,
                                                    random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(X_fit, y_fit, test_size=0.25,
                                                      stratify=y_fit, random_state=0)
    scaler = StandardScaler().fit(X_train)
    widths = tuple(config[f"width_{i}"] for i in range(config["n_layers"]))
    model = MLPClassifier(widths, activation=config["activation"],
                          learning_rate_init=config["learning_rate_init"], batch_size=64,
                          max_iter=40, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(scaler.transform(X_train), y_train)
    return {"config": config, "valid": float(model.score(scaler.transform(X_val), y_val)),
            "test": float(model.score(scaler.transform(X_test), y_test)),
            "seconds": time.perf_counter() - start}


def build_table(workers: int) -> None:
    configs = architectures()
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        rows = list(pool.map(_train, configs, chunksize=8))
    TABLE.write_text(json.dumps(rows) + "\n")
    print(f"{len(rows)} architectures in {time.perf_counter() - start:.0f} s -> {TABLE}")


# -- searches ---------------------------------------------------------------------------------
def objective_for(table: dict[str, dict[str, Any]]) -> Callable[[Any], float]:
    """The define-by-run objective (Optuna and hyperdial alike): validation accuracy."""
    def objective(trial: Any) -> float:
        n = trial.suggest_int("n_layers", LAYERS[0], LAYERS[-1])
        config = {"n_layers": n}
        for i in range(n):
            config[f"width_{i}"] = trial.suggest_categorical(f"width_{i}", list(WIDTHS))
        config["activation"] = trial.suggest_categorical("activation", list(ACTIVATIONS))
        config["learning_rate_init"] = trial.suggest_categorical("learning_rate_init",
                                                                 list(RATES))
        return float(table[key(config)]["valid"])

    return objective


def _hyperdial(make: Callable[[int], Any]) -> Callable[..., list[tuple[float, float]]]:
    def run(table: dict[str, dict[str, Any]], seed: int, trials: int
            ) -> list[tuple[float, float]]:
        study = hd.create_study(direction="maximize", sampler=make(seed))
        study.optimize(objective_for(table), n_trials=trials)
        return [_lookup(table, t.params) for t in study.trials]

    return run


def _optuna(name: str) -> Callable[..., list[tuple[float, float]]]:
    def run(table: dict[str, dict[str, Any]], seed: int, trials: int
            ) -> list[tuple[float, float]]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = (optuna.samplers.TPESampler(seed=seed) if name == "tpe"
                   else optuna.samplers.RandomSampler(seed=seed))
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(objective_for(table), n_trials=trials)
        return [_lookup(table, t.params) for t in study.trials]

    return run


def _lookup(table: dict[str, dict[str, Any]], params: dict[str, Any]) -> tuple[float, float]:
    row = table[key(dict(params))]
    return row["valid"], row["test"]


OPTIMIZERS: dict[str, Callable[..., list[tuple[float, float]]]] = {
    "random": _hyperdial(lambda s: hd.samplers.RandomSampler(seed=s)),
    "hyperdial regularized evolution": _hyperdial(
        lambda s: hd.samplers.RegularizedEvolutionSampler(seed=s)),
    "hyperdial TPE": _hyperdial(lambda s: hd.samplers.TPESampler(seed=s)),
    "hyperdial default (GP)": _hyperdial(lambda s: hd.samplers.AutoSampler(seed=s)),
    "hyperdial NSGA-II (GA)": _hyperdial(lambda s: hd.samplers.NSGAIISampler(seed=s)),
    "Optuna TPE": _optuna("tpe"),
    "Optuna random": _optuna("random"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-table", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS))
    args = parser.parse_args()
    if args.build_table:
        build_table(args.workers)
        return
    rows = json.loads(TABLE.read_text())
    table = {key(r["config"]): r for r in rows}
    best_valid = max(r["valid"] for r in rows)
    best_test = max(r["test"] for r in rows)
    marks = [args.trials // 4, args.trials // 2, args.trials]
    results: dict[str, list[dict[str, Any]]] = {}
    start = time.perf_counter()
    for name in args.optimizers:
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            found = OPTIMIZERS[name](table, seed, args.trials)
            valid = np.array([v for v, _ in found])
            pick = int(np.argmax(valid))
            results.setdefault(name, []).append({
                "regret": [best_valid - float(valid[:m].max()) for m in marks],
                "test": found[pick][1], "seconds": time.perf_counter() - t0})
        print(name, statistics.fmean(r["regret"][-1] for r in results[name]), flush=True)
    lines = [
        f"# Neural architecture search on a tabulated MLP space ({time.strftime('%Y-%m-%d')})",
        "",
        f"{len(rows):,} architectures of `benchmarks/nas.py` (1-4 layers of 16-128 units, "
        "activation, learning rate), each trained once on digits; best validation accuracy "
        f"{best_valid:.4f}, best test accuracy {best_test:.4f}. Each optimizer: "
        f"{args.trials} trials, seeds 0..{args.seeds - 1}. *Regret @n*: best validation "
        "accuracy in the table minus the best found after n trials (mean over seeds; "
        "*hit @100 %*: seeds that found the best architecture); *test*: the test accuracy "
        "of the architecture the search picked by validation (mean ± sd). "
        f"hyperdial {hd.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, {time.perf_counter() - start:.0f} s in all. Command: "
        f"`python -m benchmarks.nas --seeds {args.seeds} --trials {args.trials}"
        + ("" if args.optimizers == list(OPTIMIZERS) else
           " --optimizers " + " ".join(f"'{o}'" for o in args.optimizers)) + "`.",
        "",
        "| optimizer | " + " | ".join(f"regret @{m}" for m in marks)
        + " | hit @100 % | test | seconds per search |",
        "|---|" + "---:|" * (len(marks) + 3),
    ]
    for name, runs in results.items():
        regret = [statistics.fmean(r["regret"][i] for r in runs) for i in range(len(marks))]
        tests = [r["test"] for r in runs]
        hits = sum(r["regret"][-1] == 0.0 for r in runs)
        lines.append(f"| {name} | " + " | ".join(f"{g:.4f}" for g in regret)
                     + f" | {hits}/{len(runs)} | {statistics.fmean(tests):.4f} ± "
                     f"{statistics.pstdev(tests):.4f} | "
                     f"{statistics.fmean(r['seconds'] for r in runs):.2f} |")
    path = write_result("nas" if args.trials == 100 else f"nas-{args.trials}-trials", lines)
    print("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
