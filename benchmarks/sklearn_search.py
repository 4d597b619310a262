"""scikit-learn search: RandomizedSearchCV vs HyperdialSearchCV, unpruned and pruned.

On the two ML problems of the public suite (``svc_breast_cancer``, ``mlp_digits``: the same
estimators, spaces, data and 3-fold stratified shuffled CV with seed 0 as
``benchmarks/problems.py``) and two more scikit-learn tasks (``sgd_digits``: a linear SGD
classifier on all 1,797 digits; ``gbr_diabetes``: gradient-boosted trees, R² on diabetes),
each search evaluates the same number of candidates over the same seeds, with ``refit=False``:

* ``random``: `RandomizedSearchCV` (scipy ``loguniform`` / ``randint`` / lists);
* ``hyperdial``: `HyperdialSearchCV` with its default sampler (create_study's default,
  `AutoSampler`: a Gaussian process at these budgets), no pruning;
* ``hyperdial-pruned``: the same with ``PercentilePruner(75.0, n_startup_trials=10)``: after
  10 complete candidates, one whose running mean after a fold is worse than 75 % of the
  complete ones at that fold stops there. (The median rule after one fold was tried first
  and saved more time, but cost about 0.004 of accuracy on svc_breast_cancer and 0.01 on
  mlp_digits over the first seeds: one fold of 190 samples is too noisy to cut half the
  candidates on.)

Reported per problem: the best mean CV score (mean ± std over seeds), the number of fits and
the total fit time (sum over fits, and the wall time of ``fit``). Writes
``benchmarks/results/sklearn-search-<date>.md`` and the raw rows as JSON beside it.

    python -m benchmarks.sklearn_search [--seeds 5] [--candidates 50] [--problems ...]
"""

from __future__ import annotations

import benchmarks._one_thread  # noqa: F401 - before numpy: one thread per process

# isort: split

import argparse
import datetime
import json
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn
from scipy import stats
from sklearn.datasets import load_diabetes, load_digits
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import KFold, RandomizedSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import hyperdial
from benchmarks._common import RESULTS, write_result
from benchmarks.problems import _breast_cancer, _digits400
from hyperdial.integrations.sklearn import HyperdialSearchCV
from hyperdial.pruners import PercentilePruner

METHODS = ("random", "hyperdial", "hyperdial-pruned")


@dataclass(frozen=True)
class Task:
    """A search problem: estimator, distributions (scipy/lists), data, CV and scoring."""

    name: str
    estimator: Callable[[], Any]
    space: dict[str, Any]
    data: Callable[[], tuple[np.ndarray, np.ndarray]]
    cv: Any
    scoring: str


def _digits() -> tuple[np.ndarray, np.ndarray]:
    data = load_digits()
    return data.data, data.target


def _diabetes() -> tuple[np.ndarray, np.ndarray]:
    data = load_diabetes()
    return data.data, data.target


class OneLayerMLP(MLPClassifier):
    """problems.mlp_digits' model: one hidden layer of ``hidden`` units (a log-uniform number,
    rounded), 20 epochs, seed 0; a scalar parameter, so both searches can draw it on a log
    scale (a list of 249 tuples would be uniform for RandomizedSearchCV and a 249-way
    categorical for a model-based sampler)."""

    def __init__(self, hidden: float = 100, alpha: float = 1e-4,
                 learning_rate_init: float = 1e-3, batch_size: int = 32,
                 activation: str = "relu") -> None:
        super().__init__(hidden_layer_sizes=(round(hidden),), alpha=alpha,
                         learning_rate_init=learning_rate_init, batch_size=batch_size,
                         activation=activation, max_iter=20, random_state=0)
        self.hidden = hidden

    def fit(self, X: np.ndarray, y: np.ndarray) -> OneLayerMLP:
        self.hidden_layer_sizes = (round(self.hidden),)
        return super().fit(X, y)  # type: ignore[no-any-return]


_CV = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)  # as problems._cv_loss
TASKS = {t.name: t for t in (
    Task("svc_breast_cancer", lambda: make_pipeline(StandardScaler(), SVC()),
         {"svc__C": stats.loguniform(1e-3, 1e3), "svc__gamma": stats.loguniform(1e-5, 10)},
         _breast_cancer, _CV, "accuracy"),
    Task("mlp_digits", lambda: make_pipeline(StandardScaler(), OneLayerMLP()),
         {"onelayermlp__hidden": stats.loguniform(8, 256),
          "onelayermlp__alpha": stats.loguniform(1e-6, 0.1),
          "onelayermlp__learning_rate_init": stats.loguniform(1e-4, 0.1),
          "onelayermlp__batch_size": [32, 64, 128],
          "onelayermlp__activation": ["relu", "tanh"]},
         _digits400, _CV, "accuracy"),
    Task("sgd_digits",
         lambda: make_pipeline(StandardScaler(), SGDClassifier(max_iter=15, tol=None,
                                                               random_state=0)),
         {"sgdclassifier__alpha": stats.loguniform(1e-7, 1.0),
          "sgdclassifier__loss": ["hinge", "log_loss", "modified_huber"],
          "sgdclassifier__penalty": ["l2", "l1", "elasticnet"],
          "sgdclassifier__l1_ratio": stats.uniform(0.0, 1.0)},
         _digits, _CV, "accuracy"),
    Task("gbr_diabetes", lambda: GradientBoostingRegressor(n_estimators=50, random_state=0),
         {"learning_rate": stats.loguniform(1e-3, 1.0), "max_depth": stats.randint(1, 8),
          "subsample": stats.uniform(0.3, 0.7), "min_samples_leaf": stats.randint(1, 50),
          "max_features": stats.uniform(0.1, 0.9)},
         _diabetes, KFold(n_splits=3, shuffle=True, random_state=0), "r2"),
)}


def _search(method: str, task: Task, n: int, seed: int) -> Any:
    common = dict(scoring=task.scoring, cv=task.cv, refit=False, random_state=seed)
    if method == "random":
        return RandomizedSearchCV(task.estimator(), task.space, n_iter=n, **common)
    pruner = PercentilePruner(75.0, n_startup_trials=10) if method == "hyperdial-pruned" else None
    return HyperdialSearchCV(task.estimator(), task.space, n_trials=n, pruner=pruner, **common)


def run_cell(task: Task, method: str, n: int, seed: int) -> dict[str, Any]:
    """One search; its best CV score, fits and times."""
    X, y = task.data()
    search = _search(method, task, n, seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLP / SGD convergence warnings are expected
        search.fit(X, y)
    wall = time.perf_counter() - start
    res = search.cv_results_
    n_fits = (res["n_splits_evaluated"] if "n_splits_evaluated" in res
              else np.full(len(res["params"]), search.n_splits_))
    return {"problem": task.name, "method": method, "seed": seed, "candidates": n,
            "best_score": float(search.best_score_), "fits": int(np.sum(n_fits)),
            "fit_time": float(np.sum(res["mean_fit_time"] * n_fits)), "wall": wall,
            "sampler": repr(search.study_.sampler) if method != "random" else "random"}


def _ms(values: list[float], digits: int = 4) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def _sampler_names(rows: list[dict[str, Any]]) -> str:
    return ", ".join(sorted({r["sampler"].split("(")[0] for r in rows
                             if r["method"] != "random"}))


def report(rows: list[dict[str, Any]], seeds: int, n: int) -> list[str]:
    """The markdown tables: per problem and method, then the two claims checked."""
    lines = [f"# scikit-learn search: RandomizedSearchCV vs HyperdialSearchCV "
             f"({datetime.date.today()})", "",
             f"{n} candidates per search, seeds 0..{seeds - 1}, `refit=False`, one BLAS/OMP "
             "thread, searches run one after the other in one process.",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), load average "
             f"{os.getloadavg()[0]:.1f} at the end; Python {platform.python_version()}, "
             f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, hyperdial "
             f"{hyperdial.__version__}. HyperdialSearchCV's default sampler: "
             f"{_sampler_names(rows)}.", "",
             "Best mean CV score (higher is better; R² for gbr_diabetes), fits made, total fit "
             "time (sum over fits) and wall time of `fit` (fits plus the sampler's own time), "
             "mean ± std over seeds. Fit times depend on the configurations a search visits "
             "and on the load of the shared machine; the number of fits does not.", "",
             "| problem | method | best CV score | fits | fit time (s) | wall (s) |",
             "|---|---|---:|---:|---:|---:|"]
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    get = {p: {m: [r for r in rows if r["problem"] == p and r["method"] == m] for m in METHODS}
           for p in problems}
    for p in problems:
        for m in METHODS:
            cell = get[p][m]
            lines.append(f"| {p} | {m} | {_ms([r['best_score'] for r in cell])} | "
                         f"{np.mean([r['fits'] for r in cell]):.0f} | "
                         f"{_ms([r['fit_time'] for r in cell], 1)} | "
                         f"{_ms([r['wall'] for r in cell], 1)} |")
    lines += ["", "Paired over seeds (same seed, same splits): score differences and the share "
              "of fit time the pruned search used.", "",
              "| problem | hyperdial − random | wins (of seeds) | pruned − unpruned | "
              "pruned fits / unpruned | pruned fit time / unpruned |",
              "|---|---:|---:|---:|---:|---:|"]
    for p in problems:
        score = {m: np.array([r["best_score"] for r in get[p][m]]) for m in METHODS}
        ratio = {key: sum(r[key] for r in get[p]["hyperdial-pruned"])
                 / sum(r[key] for r in get[p]["hyperdial"]) for key in ("fits", "fit_time")}
        lines.append(f"| {p} | {_ms(list(score['hyperdial'] - score['random']))} | "
                     f"{int(np.sum(score['hyperdial'] > score['random']))} | "
                     f"{_ms(list(score['hyperdial-pruned'] - score['hyperdial']))} | "
                     f"{ratio['fits']:.2f} | {ratio['fit_time']:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--problems", nargs="+", default=list(TASKS), choices=list(TASKS))
    args = parser.parse_args(argv)
    rows = []
    for name in args.problems:
        for seed in range(args.seeds):
            for method in METHODS:
                row = run_cell(TASKS[name], method, args.candidates, seed)
                rows.append(row)
                print(json.dumps(row), flush=True)
    lines = report(rows, args.seeds, args.candidates)
    path = write_result("sklearn-search", lines)
    raw = RESULTS / "raw" / path.with_suffix(".json").name
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(rows, indent=1) + "\n")
    print("\n".join(lines))
    print(f"wrote {path} and {raw}")


if __name__ == "__main__":
    main()
