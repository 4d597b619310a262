"""AutoML over scikit-learn models: build the warm-start portfolio, and measure what it buys.

``--build-portfolio`` learns the portfolio that `AutoMLClassifier` / `AutoMLRegressor` try
first (``src/hyperdial/integrations/automl_portfolio.json``), from *training* tasks only
(synthetic data of several shapes, iris, and for regression Friedman's problems and
``make_regression``):

1. a cold AutoML search (no warm start) on each training task gives its best few
   configurations as candidates;
2. every candidate is cross-validated on every training task: a (candidate x task) table of
   losses (1 - score), normalised per task;
3. `hyperdial.warmstart.greedy_portfolio` picks the rows that together come closest to each
   task's best.

The default run evaluates on *held-out* tasks (breast cancer, digits, wine; diabetes), seeds
0..S-1, each a 75/25 train/test split: hyperdial's AutoML as shipped (portfolio warm start,
pruning), the same without warm start, Optuna's TPE on the same conditional space with the
same CV (its users' usual objective: ``cross_val_score``, no pruning), and two untuned
defaults (random forest, histogram gradient boosting). Reported: the best CV score after 5,
10 and the full number of trials, the held-out test score of the refitted best, the number of
fits and the wall time. Writes ``benchmarks/results/automl-<date>.md``.

    python -m benchmarks.automl --build-portfolio
    python -m benchmarks.automl [--seeds 5] [--trials 25]
"""

from __future__ import annotations

import benchmarks._one_thread  # noqa: F401 - before numpy: one thread per process

# isort: split

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.base import clone
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    KFold,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import Pipeline

import hyperdial
from benchmarks._common import RESULTS, write_result
from hyperdial import warmstart
from hyperdial.integrations import automl
from hyperdial.space import Categorical, Float, Int
from hyperdial.trial import TrialState

PORTFOLIO = Path(automl.__file__).with_name("automl_portfolio.json")
TABLE = RESULTS / "automl-portfolio-table.json"  # the raw table the portfolios come from
SIZE = 8
Data = Callable[[], tuple[np.ndarray, np.ndarray]]


def _load(loader: Callable[..., Any]) -> Data:
    return lambda: loader(return_X_y=True)


def _synthetic(**kw: Any) -> Data:
    return lambda: datasets.make_classification(random_state=0, **kw)


def _regression(maker: Callable[..., Any], **kw: Any) -> Data:
    return lambda: maker(random_state=0, **kw)


DATASETS: dict[str, dict[str, Data]] = {
    "classification": {
        "easy_linear": _synthetic(n_samples=400, n_features=10, n_informative=4, class_sep=1.5),
        "noisy_labels": _synthetic(n_samples=500, n_features=20, n_informative=6, flip_y=0.2),
        "many_features": _synthetic(n_samples=300, n_features=60, n_informative=8,
                                    n_redundant=10),
        "three_classes": _synthetic(n_samples=600, n_features=15, n_informative=6,
                                    n_classes=3, n_clusters_per_class=2),
        "imbalanced": _synthetic(n_samples=800, n_features=12, n_informative=5,
                                 weights=[0.85, 0.15]),
        "moons": lambda: datasets.make_moons(400, noise=0.3, random_state=0),
        "circles": lambda: datasets.make_circles(400, noise=0.15, factor=0.5, random_state=0),
        "iris": _load(datasets.load_iris),
        "breast_cancer": _load(datasets.load_breast_cancer),
        "digits": _load(datasets.load_digits),
        "wine": _load(datasets.load_wine),
    },
    "regression": {
        "friedman1": _regression(datasets.make_friedman1, n_samples=400, noise=1.0),
        "friedman2": _regression(datasets.make_friedman2, n_samples=400, noise=50.0),
        "friedman3": _regression(datasets.make_friedman3, n_samples=400, noise=0.1),
        "linear": _regression(datasets.make_regression, n_samples=300, n_features=20,
                              n_informative=8, noise=10.0),
        "low_rank": _regression(datasets.make_regression, n_samples=400, n_features=40,
                                effective_rank=5, noise=5.0),
        "sparse": _regression(datasets.make_sparse_uncorrelated, n_samples=400, n_features=10),
        "diabetes": _load(datasets.load_diabetes),
    },
}
#: Evaluated leave-one-dataset-out: with a portfolio built without their column of the table
#: and without the candidates their own search found.
HELD_OUT = {"classification": ("breast_cancer", "digits", "wine"), "regression": ("diabetes",)}
ESTIMATOR = {"classification": automl.AutoMLClassifier, "regression": automl.AutoMLRegressor}
DEFAULTS = {"classification": {"random forest (default)": RandomForestClassifier,
                               "gradient boosting (default)": HistGradientBoostingClassifier},
            "regression": {"random forest (default)": RandomForestRegressor,
                           "gradient boosting (default)": HistGradientBoostingRegressor}}


def _cv(task: str, seed: int = 0) -> Any:
    splitter = StratifiedKFold if task == "classification" else KFold
    return splitter(n_splits=3, shuffle=True, random_state=seed)


# -- the portfolio --------------------------------------------------------------------------
def _top_configs(task: str, X: np.ndarray, y: np.ndarray, trials: int, keep: int
                 ) -> list[dict[str, Any]]:
    search = ESTIMATOR[task](n_trials=trials, cv=_cv(task), warm_start=0, ensemble_size=0,
                             random_state=0)
    search.fit(X, y)
    done = sorted(search.study_.get_trials(states=(TrialState.COMPLETE,)),
                  key=lambda t: -t.value)
    out: list[dict[str, Any]] = []
    for t in done:
        if dict(t.params) not in out:
            out.append(dict(t.params))
        if len(out) == keep:
            break
    return out


def _config_score(task: str, config: dict[str, Any], X: np.ndarray, y: np.ndarray) -> float:
    space = automl.cash_space(automl.FAMILIES[task], seed=0)
    model = Pipeline([("prep", automl.preprocessor(X)), ("scale", "passthrough"),
                      ("model", automl.FAMILIES[task][config["model"]].make(0))])
    model.set_params(**space.decode(config))
    try:
        return float(cross_val_score(model, X, y, cv=_cv(task)).mean())
    except ValueError:
        return float("nan")


def build_table(trials: int, keep: int) -> dict[str, Any]:
    """Per task type: the datasets, the candidates (the best ``keep`` configurations of a cold
    search of ``trials`` on each dataset, with the dataset they came from) and the
    (candidate x dataset) table of mean CV scores."""
    out: dict[str, Any] = {}
    for task, tasks in DATASETS.items():
        data = {name: load() for name, load in tasks.items()}
        candidates: list[dict[str, Any]] = []
        for name, (X, y) in data.items():
            start = time.perf_counter()
            for config in _top_configs(task, X, y, trials, keep):
                if all(config != c["params"] for c in candidates):
                    candidates.append({"source": name, "params": config})
            print(f"{task} {name}: search {time.perf_counter() - start:.0f} s", flush=True)
        scores = [[_config_score(task, c["params"], X, y) for X, y in data.values()]
                  for c in candidates]
        out[task] = {"datasets": list(data), "candidates": candidates, "scores": scores}
    return out


def portfolio(table: dict[str, Any], size: int, without: str | None = None
              ) -> list[dict[str, Any]]:
    """The greedy portfolio of one task type's table, leaving out the dataset ``without``:
    its column, and the candidates its own search found."""
    names = table["datasets"]
    cols = [j for j, n in enumerate(names) if n != without]
    rows = [i for i, c in enumerate(table["candidates"]) if c["source"] != without]
    scores = np.array(table["scores"], dtype=float)[np.ix_(rows, cols)]
    chosen = warmstart.greedy_portfolio(warmstart.normalised_losses(1.0 - scores), size)
    return [table["candidates"][rows[i]]["params"] for i in chosen]


# -- the evaluation -------------------------------------------------------------------------
def _curve(scores: list[float], marks: list[int]) -> list[float]:
    """Best score after each mark (number of trials), NaN before the first complete one."""
    out = []
    for m in marks:
        seen = [s for s in scores[:m] if np.isfinite(s)]
        out.append(max(seen) if seen else float("nan"))
    return out


def _run_hyperdial(task: str, X: Any, y: Any, Xt: Any, yt: Any, seed: int, trials: int,
                   warm: int, marks: list[int], **options: Any) -> dict[str, Any]:
    model = ESTIMATOR[task](n_trials=trials, cv=_cv(task, seed), warm_start=warm,
                            random_state=seed, **options)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    results = model.search_.cv_results_
    scores = [s if state == "COMPLETE" else float("nan")
              for s, state in zip(results["mean_test_score"], results["state"], strict=True)]
    return {"curve": _curve(scores, marks), "test": float(model.score(Xt, yt)),
            "fits": int(sum(results["n_splits_evaluated"])), "seconds": seconds,
            "best": model.best_model_}


def _optuna_suggest(trial: Any, space: Any) -> dict[str, Any]:
    """Define-by-run suggestions of hyperdial's conditional space, in dependency order."""
    params: dict[str, Any] = {}
    for name in space.params:
        if name not in space.active(params):
            continue
        dist = space.params[name]
        if isinstance(dist, Float):
            params[name] = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        elif isinstance(dist, Int):
            params[name] = trial.suggest_int(name, dist.low, dist.high, log=dist.log)
        else:
            assert isinstance(dist, Categorical)
            params[name] = trial.suggest_categorical(name, list(dist.choices))
    return params


def _run_optuna(task: str, X: Any, y: Any, Xt: Any, yt: Any, seed: int, trials: int,
                marks: list[int]) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    families = automl.FAMILIES[task]
    space = automl.cash_space(families, seed)
    base = Pipeline([("prep", automl.preprocessor(X)), ("scale", "passthrough"),
                     ("model", next(iter(families.values())).make(seed))])

    def build(params: dict[str, Any]) -> Any:
        return clone(base).set_params(**space.decode(params))

    def objective(trial: Any) -> float:
        model = build(_optuna_suggest(trial, space.space))
        return float(cross_val_score(model, X, y, cv=_cv(task, seed)).mean())

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, catch=(ValueError,))
    best = build(study.best_params).fit(X, y)
    seconds = time.perf_counter() - start
    scores = [t.value if t.value is not None else float("nan") for t in study.trials]
    return {"curve": _curve(scores, marks), "test": float(best.score(Xt, yt)),
            "fits": 3 * len(study.trials), "seconds": seconds,
            "best": study.best_params["model"]}


def _run_default(task: str, X: Any, y: Any, Xt: Any, yt: Any, seed: int,
                 make: Callable[[], Any], marks: list[int]) -> dict[str, Any]:
    start = time.perf_counter()
    model = make()
    if "random_state" in model.get_params():
        model.set_params(random_state=seed)
    cv = float(cross_val_score(model, X, y, cv=_cv(task, seed)).mean())
    test = float(model.fit(X, y).score(Xt, yt))
    return {"curve": [cv] * len(marks), "test": test, "fits": 3,
            "seconds": time.perf_counter() - start, "best": "-"}


def evaluate(seeds: int, trials: int, table: dict[str, Any]
             ) -> tuple[list[dict[str, Any]], list[int]]:
    marks = sorted({5, 10, trials})
    rows = []
    for task, names in HELD_OUT.items():
        for name in names:
            X, y = DATASETS[task][name]()
            held_out = portfolio(table[task], SIZE, without=name)
            for seed in range(seeds):
                Xtr, Xte, ytr, yte = train_test_split(
                    X, y, test_size=0.25, random_state=seed,
                    stratify=y if task == "classification" else None)
                args = (task, Xtr, ytr, Xte, yte, seed)
                runs: dict[str, Callable[[], dict[str, Any]]] = {
                    "hyperdial AutoML": partial(_run_hyperdial, *args, trials, 5, marks,
                                                portfolio=held_out),
                    "hyperdial AutoML, no warm start": partial(_run_hyperdial, *args, trials,
                                                               0, marks),
                    "Optuna TPE, same space": partial(_run_optuna, *args, trials, marks),
                    **{label: partial(_run_default, *args, make, marks)
                       for label, make in DEFAULTS[task].items()},
                }
                for method, run in runs.items():
                    row = {"task": name, "seed": seed, "method": method, **run()}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    return rows, marks


def _mean(values: list[float]) -> float:
    return statistics.fmean(values)


def _wins(rows: list[dict[str, Any]], task: str, method: str, key: str) -> str:
    """Seeds where shipped AutoML is better / worse than ``method`` on ``key`` (final CV
    score or test score)."""
    def value(r: dict[str, Any]) -> float:
        return float(r["curve"][-1] if key == "cv" else r["test"])

    ours = {r["seed"]: value(r) for r in rows if r["task"] == task
            and r["method"] == "hyperdial AutoML"}
    theirs = {r["seed"]: value(r) for r in rows if r["task"] == task and r["method"] == method}
    seeds = sorted(set(ours) & set(theirs))
    return (f"{sum(ours[s] > theirs[s] for s in seeds)} / "
            f"{sum(ours[s] < theirs[s] for s in seeds)}")


def report(rows: list[dict[str, Any]], marks: list[int], seeds: int, trials: int,
           seconds: float) -> list[str]:
    import optuna

    lines = [
        f"# AutoML over scikit-learn models ({time.strftime('%Y-%m-%d')})",
        "",
        f"Leave one dataset out: each dataset below is searched with a portfolio built from the "
        f"table of `automl-portfolio-table.json` without its column and without the "
        f"candidates its own search found. Seeds 0..{seeds - 1}, each a 75/25 train/test "
        f"split; {trials} trials per search, 3-fold CV on the training part (stratified for "
        "classification). Scores: accuracy for classification, R² for regression; *CV @n* is "
        "the best mean CV score after n trials (pruned trials excluded), *test* the held-out "
        "score of the refitted best, both means over seeds (± standard deviation); *fits* and "
        "*seconds* are means per search; *AutoML better / worse* counts the seeds where the "
        "shipped AutoML (first row of each dataset) ends with a higher / lower CV and test "
        f"score. hyperdial {hyperdial.__version__}, Optuna {optuna.__version__}, scikit-learn "
        f"{sklearn.__version__}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"{seconds:.0f} s in all. Command: `python -m benchmarks.automl --seeds {seeds} "
        f"--trials {trials}`.",
        "",
        "| dataset | method | " + " | ".join(f"CV @{m}" for m in marks)
        + " | test | fits | seconds | AutoML better / worse (CV; test) | best model (seed 0) |",
        "|---|---|" + "---:|" * (len(marks) + 3) + "---|---|",
    ]
    order = list(dict.fromkeys((r["task"], r["method"]) for r in rows))
    for task, method in order:
        mine = [r for r in rows if r["task"] == task and r["method"] == method]
        curve = [_mean([r["curve"][i] for r in mine]) for i in range(len(marks) - 1)]
        final = [r["curve"][-1] for r in mine]
        tests = [r["test"] for r in mine]
        wins = ("" if method == "hyperdial AutoML" else
                f"{_wins(rows, task, method, 'cv')}; {_wins(rows, task, method, 'test')}")
        lines.append(
            f"| {task} | {method} | " + " | ".join(f"{c:.4f}" for c in curve)
            + f" | {_mean(final):.4f} ± {statistics.pstdev(final):.4f}"
            f" | {_mean(tests):.4f} ± {statistics.pstdev(tests):.4f}"
            f" | {_mean([r['fits'] for r in mine]):.0f} | {_mean([r['seconds'] for r in mine]):.1f}"
            f" | {wins} | {mine[0]['best']} |")
    return lines


def parser_with_seeds(description: str) -> argparse.ArgumentParser:
    """The options both AutoML benchmarks take: ``--seeds``, ``--trials`` and ``--report``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--report", metavar="JSONL",
                        help="only write the report again from the rows of an earlier run")
    return parser


def read_rows(path: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def write_report(stem: str, lines: list[str], rows: list[dict[str, Any]]) -> None:
    """The markdown report, its rows beside it as JSON lines, and the report printed."""
    path = write_result(stem, lines)
    path.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print("\n".join(lines))


def main() -> None:
    parser = parser_with_seeds(__doc__.splitlines()[0])
    parser.add_argument("--build-portfolio", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    if args.build_portfolio:
        table = build_table(trials=40, keep=3)
        TABLE.write_text(json.dumps(table) + "\n")
        shipped = {task: portfolio(t, SIZE) for task, t in table.items()}
        PORTFOLIO.write_text(json.dumps(shipped, indent=1) + "\n")
        print(f"wrote {TABLE} and {PORTFOLIO} in {time.perf_counter() - start:.0f} s")
        return
    if args.report:
        rows = read_rows(args.report)
        marks = sorted({5, 10, args.trials})
        seconds = sum(r["seconds"] for r in rows)
    else:
        rows, marks = evaluate(args.seeds, args.trials, json.loads(TABLE.read_text()))
        seconds = time.perf_counter() - start
    write_report("automl", report(rows, marks, args.seeds, args.trials, seconds), rows)

if __name__ == "__main__":
    main()
