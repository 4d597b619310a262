"""AutoML ensembles: what ensemble selection adds to the best single configuration.

On every dataset of `benchmarks.automl` (11 classification, 7 regression), seeds 0..S-1, each
a 75/25 train/test split, AutoML as shipped is fitted twice with the same seed: with
``ensemble_size=0`` (the best configuration refitted alone) and with the default ensemble. The
two searches are the same trial for trial (checked: the best CV scores must agree), so the
held-out difference is the ensemble's alone, and the wall-time difference its whole cost
(fold predictions, selection, refitting the members). Writes
``benchmarks/results/automl-ensemble-<date>.md``.

    python -m benchmarks.automl_ensemble [--seeds 5] [--trials 25]
"""

from __future__ import annotations

import benchmarks._one_thread  # noqa: F401 - before numpy: one thread per process

# isort: split

import json
import os
import platform
import statistics
import time
import warnings
from typing import Any

import sklearn
from scipy.stats import wilcoxon
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import hyperdial
from benchmarks.automl import (
    DATASETS,
    ESTIMATOR,
    _cv,
    parser_with_seeds,
    read_rows,
    write_report,
)


def _fit(task: str, X: Any, y: Any, Xt: Any, yt: Any, seed: int, trials: int,
         ensemble_size: int) -> tuple[Any, float, float]:
    model = ESTIMATOR[task](n_trials=trials, cv=_cv(task, seed), random_state=seed,
                            ensemble_size=ensemble_size)
    start = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - start, float(model.score(Xt, yt))


def evaluate(seeds: int, trials: int) -> list[dict[str, Any]]:
    rows = []
    for task, loaders in DATASETS.items():
        for name, load in loaders.items():
            X, y = load()
            for seed in range(seeds):
                Xtr, Xte, ytr, yte = train_test_split(
                    X, y, test_size=0.25, random_state=seed,
                    stratify=y if task == "classification" else None)
                alone, alone_s, single = _fit(task, Xtr, ytr, Xte, yte, seed, trials, 0)
                model, seconds, ensemble = _fit(task, Xtr, ytr, Xte, yte, seed, trials, 50)
                if model.best_score_ != alone.best_score_:
                    raise RuntimeError(f"{name} seed {seed}: the two searches differ "
                                       f"({model.best_score_} against {alone.best_score_})")
                row = {"task": task, "dataset": name, "seed": seed, "single": single,
                       "ensemble": ensemble, "members": len(model.ensemble_members_),
                       "models": sorted({m["model"] for m in model.ensemble_members_}),
                       "seconds_single": alone_s, "seconds_ensemble": seconds}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def _signed(x: float) -> str:
    return f"{x:+.4f}"


def report(rows: list[dict[str, Any]], seeds: int, trials: int, seconds: float) -> list[str]:
    lines = [
        f"# AutoML ensembles against the best configuration alone "
        f"({time.strftime('%Y-%m-%d')})",
        "",
        f"Every dataset of `benchmarks/automl.py`, seeds 0..{seeds - 1}, each a 75/25 "
        f"train/test split; AutoML as shipped ({trials} trials, 3-fold CV, warm start), "
        "fitted twice per seed with the same search: `ensemble_size=0` (*single*: the best "
        "configuration refitted) and the default ensemble (*ensemble*). Held-out accuracy "
        "(classification) or R² (regression), means over seeds; *better / same / worse*: "
        "seeds where the ensemble's test score is higher / equal / lower; *members*: mean "
        "number of configurations in the ensemble (0: the selection kept one, and the single "
        "model predicts); *time*: wall time of the fit with the ensemble over the fit "
        f"without. hyperdial {hyperdial.__version__}, scikit-learn {sklearn.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {seconds:.0f} s in all. "
        f"Command: `python -m benchmarks.automl_ensemble --seeds {seeds} --trials {trials}`.",
        "",
        "| task | dataset | single | ensemble | difference | better / same / worse "
        "| members | time |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    per_dataset = []
    for key in dict.fromkeys((r["task"], r["dataset"]) for r in rows):
        mine = [r for r in rows if (r["task"], r["dataset"]) == key]
        diffs = [r["ensemble"] - r["single"] for r in mine]
        per_dataset.append((key[0], statistics.fmean(diffs)))
        ratio = statistics.fmean(r["seconds_ensemble"] / r["seconds_single"] for r in mine)
        lines.append(
            f"| {key[0]} | {key[1]} | {statistics.fmean(r['single'] for r in mine):.4f} "
            f"| {statistics.fmean(r['ensemble'] for r in mine):.4f} "
            f"| {_signed(statistics.fmean(diffs))} "
            f"| {sum(d > 0 for d in diffs)} / {sum(d == 0 for d in diffs)} / "
            f"{sum(d < 0 for d in diffs)} "
            f"| {statistics.fmean(r['members'] for r in mine):.1f} | {ratio:.2f} × |")
    lines += ["", "Summary (every dataset and seed):", ""]
    for task in [*DATASETS, None]:
        mine = [r for r in rows if task is None or r["task"] == task]
        diffs = [r["ensemble"] - r["single"] for r in mine]
        sets = [d for t, d in per_dataset if task is None or t == task]
        p = wilcoxon(diffs).pvalue if any(diffs) else 1.0
        lines.append(
            f"- {task or 'all'}: mean difference {_signed(statistics.fmean(diffs))}; "
            f"ensemble better on {sum(d > 0 for d in diffs)}, the same on "
            f"{sum(d == 0 for d in diffs)}, worse on {sum(d < 0 for d in diffs)} of "
            f"{len(diffs)} splits (Wilcoxon signed-rank p = {p:.3g}); better on average on "
            f"{sum(d > 0 for d in sets)} of {len(sets)} datasets, worse on "
            f"{sum(d < 0 for d in sets)}; fit time "
            f"{statistics.fmean(r['seconds_ensemble'] / r['seconds_single'] for r in mine):.2f}"
            " × on average.")
    return lines


def main() -> None:
    args = parser_with_seeds(__doc__.splitlines()[0]).parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    if args.report:
        rows = read_rows(args.report)
        seconds = sum(r["seconds_single"] + r["seconds_ensemble"] for r in rows)
    else:
        rows = evaluate(args.seeds, args.trials)
        seconds = time.perf_counter() - start
    write_report("automl-ensemble", report(rows, args.seeds, args.trials, seconds), rows)

if __name__ == "__main__":
    main()
