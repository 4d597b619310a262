"""Multi-fidelity benchmark: how much compute halving and Hyperband save, and how hyperdial's
Hyperband + TPE/BOHB compares with Optuna's HyperbandPruner + TPESampler.

``python -m benchmarks.multifidelity`` runs, on the learning-curve problems of
`benchmarks.learning_curves` (compute counted in epochs; a trial pays for every epoch it runs,
a curve trained earlier by another optimiser included):

(a) **Same configurations.** ``--configs`` configurations drawn at random; full-budget random
    search trains each for ``MAX_EPOCHS`` epochs. ASHA and Hyperband (eta 3, resources 1..27)
    run the same configurations in the same order; we count the epochs they spend until a
    completed trial matches random search's best final loss, as a fraction of random search's
    compute (the target is at most 1/3).
(b) **Equal compute.** Each optimiser gets ``--budget`` full-run equivalents of epochs and
    samples its own configurations; the score is the best final (epoch-27) validation loss among
    its completed trials, averaged over ``--seeds`` seeds.

Writes ``results/multifidelity-<date>.md`` and the raw numbers to ``results/raw/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import hyperdial as hd
from benchmarks._common import RESULTS, write_result
from benchmarks.learning_curves import MAX_EPOCHS, PROBLEMS, CurveCache, suggest
from benchmarks.problems import Config, sample_config
from hyperdial.samplers.bohb import BOHBSampler

ETA = 3


@dataclass
class Run:
    """What one optimiser run spent and found: per finished trial, the epochs spent so far and
    its final loss (None unless it trained to the end)."""

    spent: int = 0
    trials: list[tuple[int, float | None]] = field(default_factory=list)

    def best(self) -> float:
        finals = [f for _, f in self.trials if f is not None]
        return min(finals) if finals else float("nan")

    def compute_to_reach(self, target: float) -> int | None:
        for spent, final in self.trials:
            if final is not None and final <= target:
                return spent
        return None


def make_objective(cache: CurveCache, run: Run, budget: int | None, pruned: type[Exception],
                   fixed: Config | None = None) -> Callable[[Any], float]:
    """An objective for hyperdial or Optuna: trains epoch by epoch, reports, obeys the pruner;
    past ``budget`` epochs it stops the study and drops the unfinished trial."""

    def objective(trial: Any) -> float:
        config = suggest(trial, cache.problem.space) if fixed is None else fixed
        loss = float("nan")
        try:
            for epoch in range(1, MAX_EPOCHS + 1):
                if budget is not None and run.spent >= budget:
                    trial.study.stop()
                    raise pruned()
                run.spent += 1
                loss = cache.loss(config, epoch)
                trial.report(loss, epoch)
                if epoch < MAX_EPOCHS and trial.should_prune():
                    raise pruned()
        except pruned:
            run.trials.append((run.spent, None))
            raise
        run.trials.append((run.spent, loss))
        return loss

    return objective


class _StudyTrial:
    """Gives a hyperdial trial the ``trial.study`` attribute Optuna trials have."""

    def __init__(self, trial: hd.Trial, study: hd.Study) -> None:
        self._trial, self.study = trial, study

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trial, name)


def run_hyperdial(cache: CurveCache, sampler: hd.samplers.Sampler, pruner: hd.pruners.Pruner,
                  budget: int | None, configs: list[Config] | None = None) -> Run:
    run = Run()
    study = hd.create_study(sampler=sampler, pruner=pruner)
    for config in configs or []:
        study.enqueue_trial(config)
    objective = make_objective(cache, run, budget, hd.TrialPruned)
    study.optimize(lambda t: objective(_StudyTrial(t, study)),
                   n_trials=len(configs) if configs else 100_000)
    return run


def run_optuna(cache: CurveCache, seed: int, budget: int) -> Run:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run = Run()
    study = optuna.create_study(  # its Hyperband draws brackets from a hash of the name
        study_name=f"multifidelity-{seed}", sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS,
                                              reduction_factor=ETA))
    study.optimize(make_objective(cache, run, budget, optuna.TrialPruned), n_trials=100_000)
    return run


def hyperband(seed: int) -> hd.pruners.HyperbandPruner:
    return hd.pruners.HyperbandPruner(1, MAX_EPOCHS, ETA, seed=seed)


#: Part (b): each optimiser from a seed.
OPTIMISERS: dict[str, Callable[[CurveCache, int, int], Run]] = {
    "random (full budget)": lambda c, s, b: run_hyperdial(
        c, hd.samplers.RandomSampler(seed=s), hd.pruners.NopPruner(), b),
    "hyperdial Hyperband + random": lambda c, s, b: run_hyperdial(
        c, hd.samplers.RandomSampler(seed=s), hyperband(s), b),
    "hyperdial Hyperband + TPE": lambda c, s, b: run_hyperdial(
        c, hd.samplers.TPESampler(seed=s), hyperband(s), b),
    "hyperdial Hyperband + BOHB": lambda c, s, b: run_hyperdial(
        c, BOHBSampler(seed=s), hyperband(s), b),
    "optuna Hyperband + TPE": run_optuna,
}


def same_configs(cache: CurveCache, n_configs: int, seed: int) -> dict[str, Any]:
    """Part (a) on one set of configurations."""
    rng = np.random.default_rng(seed)
    configs = [sample_config(cache.problem.space, rng) for _ in range(n_configs)]
    finals = [cache.loss(c, MAX_EPOCHS) for c in configs]
    target, full = min(finals), n_configs * MAX_EPOCHS
    out: dict[str, Any] = {"target": target, "random_compute": full,
                           "random_to_reach": MAX_EPOCHS * (int(np.argmin(finals)) + 1)}
    pruners = {"ASHA": hd.pruners.SuccessiveHalvingPruner(1, ETA, max_resource=MAX_EPOCHS),
               "Hyperband": hyperband(seed)}
    for name, pruner in pruners.items():
        run = run_hyperdial(cache, hd.samplers.RandomSampler(seed=seed), pruner, None, configs)
        out[name] = {"to_reach": run.compute_to_reach(target), "total": run.spent,
                     "best": run.best()}
    return out


def _fmt(x: float | None, digits: int = 4) -> str:
    return "—" if x is None or x != x else f"{x:.{digits}f}"


def report(part_a: dict[str, list[dict[str, Any]]],
           part_b: dict[str, dict[str, dict[str, list[float]]]],
           args: argparse.Namespace, seconds: float) -> list[str]:
    """The markdown report."""
    import importlib
    import importlib.util

    import optuna
    import sklearn

    torch_version = (importlib.import_module("torch").__version__
                     if importlib.util.find_spec("torch") else "not installed")
    lines = [f"# Multi-fidelity benchmark ({time.strftime('%Y-%m-%d')})", "",
             f"hyperdial {hd.__version__} (working tree), optuna {optuna.__version__}, "
             f"scikit-learn {sklearn.__version__}, torch {torch_version}, numpy "
             f"{np.__version__}; Python {platform.python_version()}, {os.cpu_count()} cores "
             f"(load {os.getloadavg()[0]:.1f} at the end), {seconds:.0f} s in all.",
             "", f"Compute is counted in epochs; a full run is {MAX_EPOCHS} epochs; Hyperband "
             f"and ASHA use eta={ETA}, resources 1..{MAX_EPOCHS}. Command: `python -m "
             f"benchmarks.multifidelity {' '.join(sys.argv[1:])}`.", "",
             f"## (a) Same {args.configs} random configurations, {args.sets} set(s) per problem",
             "", "Compute to reach full-budget random search's best final loss, as a fraction "
             "of random search's compute (— where the method never reached it; its total "
             "compute and best final loss are given too).", "",
             "| problem | set | target loss | random: to reach | ASHA: to reach | ASHA: total | "
             "ASHA best | Hyperband: to reach | Hyperband: total | Hyperband best |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    ratios: dict[str, list[float]] = {"ASHA": [], "Hyperband": []}
    totals: dict[str, list[float]] = {"ASHA": [], "Hyperband": []}
    misses: dict[str, list[float]] = {"ASHA": [], "Hyperband": []}
    for problem, sets in part_a.items():
        for i, res in enumerate(sets):
            full = res["random_compute"]
            cells = []
            for name in ("ASHA", "Hyperband"):
                reach, total = res[name]["to_reach"], res[name]["total"] / full
                totals[name].append(total)
                if reach is None:
                    misses[name].append(res[name]["best"] - res["target"])
                else:
                    ratios[name].append(reach / full)
                cells += [_fmt(None if reach is None else reach / full, 3), _fmt(total, 3),
                          _fmt(res[name]["best"])]
            lines.append(f"| {problem} | {i} | {_fmt(res['target'])} | "
                         f"{_fmt(res['random_to_reach'] / full, 3)} | " + " | ".join(cells) + " |")
    lines.append("")
    for name in ratios:
        n = len(totals[name])
        line = (f"- {name}: reached random search's best in {len(ratios[name])} of {n} sets, "
                f"median {_fmt(float(np.median(ratios[name])) if ratios[name] else None, 3)} "
                f"of its compute; whole run: median {_fmt(float(np.median(totals[name])), 3)}")
        if misses[name]:
            line += (f"; where it missed, its best final loss was "
                     f"{', '.join(_fmt(m) for m in misses[name])} above the target")
        lines.append(line + ".")
    lines += ["", f"## (b) Equal compute: {args.budget} full-run equivalents "
              f"({args.budget * MAX_EPOCHS} epochs), {args.seeds} seeds", "",
              "Best final validation loss among completed trials, mean ± sd over seeds "
              "(lower is better); in brackets, the mean number of configurations tried.", "",
              "| problem | " + " | ".join(OPTIMISERS) + " |",
              "|---|" + "---|" * len(OPTIMISERS)]
    means: dict[str, dict[str, float]] = {}
    for problem, by_name in part_b.items():
        means[problem] = {n: float(np.nanmean(by_name[n]["best"])) for n in OPTIMISERS}
        lines.append(f"| {problem} | " + " | ".join(
            f"{_fmt(means[problem][n])} ± {_fmt(float(np.nanstd(by_name[n]['best'])), 3)} "
            f"({np.mean(by_name[n]['trials']):.0f})" for n in OPTIMISERS) + " |")
    ranks = {n: np.mean([sorted(m, key=m.__getitem__).index(n) + 1 for m in means.values()])
             for n in OPTIMISERS}
    lines += ["", "Average rank over problems (by mean): " + ", ".join(
        f"{n} {r:.2f}" for n, r in ranks.items()) + "."]
    for a, b in (("hyperdial Hyperband + BOHB", "hyperdial Hyperband + random"),
                 ("hyperdial Hyperband + BOHB", "hyperdial Hyperband + TPE"),
                 ("hyperdial Hyperband + TPE", "optuna Hyperband + TPE"),
                 ("hyperdial Hyperband + BOHB", "optuna Hyperband + TPE")):
        wins = [int(np.sign(m[b] - m[a])) for m in means.values()]
        lines.append(f"- {a} vs {b}: better mean on {wins.count(1)}, equal on {wins.count(0)}, "
                     f"worse on {wins.count(-1)} of {len(wins)} problems.")
    return lines


def main(argv: list[str] | None = None, *, write: bool = True) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--configs", type=int, default=100, help="configurations in part (a)")
    parser.add_argument("--sets", type=int, default=1, help="configuration sets in part (a)")
    parser.add_argument("--budget", type=int, default=15, help="full runs of compute in (b)")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    part_a: dict[str, list[dict[str, Any]]] = {}
    part_b: dict[str, dict[str, dict[str, list[float]]]] = {}
    for name in args.problems.split(","):
        cache = CurveCache(PROBLEMS[name])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            part_a[name] = [same_configs(cache, args.configs, s) for s in range(args.sets)]
            part_b[name] = {}
            for opt, optimise in OPTIMISERS.items():
                runs = [optimise(cache, s, args.budget * MAX_EPOCHS) for s in range(args.seeds)]
                part_b[name][opt] = {"best": [r.best() for r in runs],
                                     "trials": [len(r.trials) for r in runs]}
        print(f"{name}: {cache.epochs_trained} epochs trained, "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    lines = report(part_a, part_b, args, time.perf_counter() - start)
    if write:
        path = write_result("multifidelity", lines)
        raw = RESULTS / "raw" / path.name.replace(".md", ".json")
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps({"a": part_a, "b": part_b}, indent=1))
        print(path, file=sys.stderr)
    return lines


if __name__ == "__main__":
    main()
