"""Multi-fidelity benchmark: how much compute halving and Hyperband save, and how hyperdial's
Hyperband + TPE/BOHB/the default sampler compares with Optuna's HyperbandPruner + TPESampler.

``python -m benchmarks.multifidelity`` runs, on the learning-curve problems of
`benchmarks.learning_curves` (compute counted in epochs; a trial pays for every epoch it runs,
a curve trained earlier by another optimiser included):

(a) **Same configurations.** ``--sets`` sets of ``--configs`` configurations drawn at random;
    full-budget random search trains each for ``MAX_EPOCHS`` epochs. ASHA and Hyperband (eta 3)
    run the same configurations in the same order; we count the epochs they spend until a
    completed trial matches random search's best final loss, as a fraction of random search's
    compute (the target is at most 1/3), and how often that happens over the sets. Hyperband
    uses resources 1..27 (its brackets hedge over the first rung); ASHA's first rung is the
    latest that its idealised cost allows within ``ASHA_BUDGET`` of full training
    (`min_resource_for_budget`: 3, so rungs 3 and 9). Diagnostics per problem: the rank
    correlation of the losses at each rung with the final ones, and the rank at each rung of
    the configuration random search picks.
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
from benchmarks.scoring import wilcoxon_p
from hyperdial.pruners.halving import halving_cost, min_resource_for_budget
from hyperdial.samplers.bohb import BOHBSampler

ETA = 3
#: Part (a)'s allowance: ASHA and Hyperband may spend up to a third of random search's compute.
ASHA_BUDGET = 1 / 3
#: ASHA's first rung in part (a), by the documented grace-period rule.
ASHA_MIN_RESOURCE = min_resource_for_budget(MAX_EPOCHS, ETA, ASHA_BUDGET)
#: Epochs at which part (a) reports how well losses rank configurations.
DIAGNOSTIC_EPOCHS = (1, 3, 9)


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


#: Every learning-curve loss (an error rate, a log loss) is at least 0.
EXTRAPOLATED: dict[str, Any] = {"rank_by": "extrapolation", "best_possible": 0.0}


def hyperband(seed: int, sampler_scope: str = "study", **ranking: Any,
              ) -> hd.pruners.HyperbandPruner:
    return hd.pruners.HyperbandPruner(1, MAX_EPOCHS, ETA, seed=seed, sampler_scope=sampler_scope,
                                      **ranking)


#: Part (b): each optimiser from a seed.
OPTIMISERS: dict[str, Callable[[CurveCache, int, int], Run]] = {
    "random (full budget)": lambda c, s, b: run_hyperdial(
        c, hd.samplers.RandomSampler(seed=s), hd.pruners.NopPruner(), b),
    "hyperdial Hyperband + random": lambda c, s, b: run_hyperdial(
        c, hd.samplers.RandomSampler(seed=s), hyperband(s), b),
    "hyperdial Hyperband + TPE": lambda c, s, b: run_hyperdial(
        c, hd.samplers.TPESampler(seed=s), hyperband(s), b),
    "hyperdial Hyperband (extrapolated) + TPE": lambda c, s, b: run_hyperdial(
        c, hd.samplers.TPESampler(seed=s), hyperband(s, **EXTRAPOLATED), b),
    "hyperdial Hyperband + BOHB": lambda c, s, b: run_hyperdial(
        c, BOHBSampler(seed=s), hyperband(s), b),
    "hyperdial Hyperband + default sampler": lambda c, s, b: run_hyperdial(
        c, hd.samplers.AutoSampler(seed=s), hyperband(s), b),
    "optuna Hyperband + TPE": run_optuna,
}


#: With ``--ablation``: the defaults Hyperband + TPE had before (the sampler saw one bracket,
#: TPE kept its fixed bandwidth floor with pruned trials), one change at a time.
ABLATION: dict[str, Callable[[CurveCache, int, int], Run]] = {
    "TPE, fixed floor": lambda c, s, b: run_hyperdial(
        c, hd.samplers.TPESampler(seed=s, min_bandwidth=0.05), hyperband(s), b),
    "TPE, per bracket": lambda c, s, b: run_hyperdial(
        c, hd.samplers.TPESampler(seed=s), hyperband(s, "bracket"), b),
    "TPE, fixed floor, per bracket": lambda c, s, b: run_hyperdial(
        c, hd.samplers.TPESampler(seed=s, min_bandwidth=0.05), hyperband(s, "bracket"), b),
}


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation; NaN (quietly) when either side is constant."""
    from scipy.stats import spearmanr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConstantInputWarning: the NaN says it already
        return float(spearmanr(x, y).statistic)


def same_configs(cache: CurveCache, n_configs: int, seed: int) -> dict[str, Any]:
    """Part (a) on one set of configurations."""
    rng = np.random.default_rng(seed)
    configs = [sample_config(cache.problem.space, rng) for _ in range(n_configs)]
    finals = np.array([cache.loss(c, MAX_EPOCHS) for c in configs])
    target, full = float(finals.min()), n_configs * MAX_EPOCHS
    winners = np.flatnonzero(finals == target)
    out: dict[str, Any] = {"target": target, "random_compute": full,
                           "random_to_reach": MAX_EPOCHS * (int(winners[0]) + 1),
                           "spearman": {}, "target_rank": {}}
    for epoch in DIAGNOSTIC_EPOCHS:
        early = np.array([cache.loss(c, epoch) for c in configs])
        out["spearman"][epoch] = _spearman(early, finals)
        # configurations strictly better at ``epoch`` than the best-placed winner
        out["target_rank"][epoch] = int(min(np.sum(early < early[i]) for i in winners))
    for name, pruner in part_a_pruners(seed).items():
        run = run_hyperdial(cache, hd.samplers.RandomSampler(seed=seed), pruner, None, configs)
        best = run.best()
        out[name] = {"to_reach": run.compute_to_reach(target), "total": run.spent,
                     "best": best, "better": int(np.sum(finals < best))}
    return out


def _fmt(x: float | None, digits: int = 4) -> str:
    return "—" if x is None or x != x else f"{x:.{digits}f}"


METHODS = ("ASHA", "Hyperband", "ASHA, extrapolated", "Hyperband, extrapolated")
#: Sets whose curves were looked at while choosing the extrapolation (0-9); later ones are
#: held out.
DESIGN_SETS = 10


def part_a_pruners(seed: int) -> dict[str, hd.pruners.Pruner]:
    """Part (a)'s pruners, named as in `METHODS`."""
    return {
        "ASHA": hd.pruners.SuccessiveHalvingPruner(ASHA_MIN_RESOURCE, ETA,
                                                   max_resource=MAX_EPOCHS),
        "Hyperband": hyperband(seed),
        "ASHA, extrapolated": hd.pruners.SuccessiveHalvingPruner(
            ASHA_MIN_RESOURCE, ETA, max_resource=MAX_EPOCHS, **EXTRAPOLATED),
        "Hyperband, extrapolated": hyperband(seed, **EXTRAPOLATED),
    }


def part_a_lines(part_a: dict[str, list[dict[str, Any]]], args: argparse.Namespace,
                 ) -> list[str]:
    """Part (a) of the report: a summary per problem and method, diagnostics, then every set."""
    third = ASHA_BUDGET

    def reached(res: dict[str, Any], m: str) -> bool:
        return bool(res[m]["to_reach"] is not None
                    and res[m]["to_reach"] <= third * res["random_compute"])

    lines = [f"## (a) Same {args.configs} random configurations, {args.sets} set(s) per problem",
             "", f"ASHA: `SuccessiveHalvingPruner({ASHA_MIN_RESOURCE}, {ETA}, max_resource="
             f"{MAX_EPOCHS})`, its first rung from `min_resource_for_budget({MAX_EPOCHS}, {ETA}, "
             f"1/3)` (idealised cost {halving_cost(ASHA_MIN_RESOURCE, ETA, MAX_EPOCHS):.3f} of "
             f"full training per configuration); Hyperband: `HyperbandPruner(1, {MAX_EPOCHS}, "
             f"{ETA}, seed=set)`; *extrapolated*: the same with `rank_by=\"extrapolation\", "
             "best_possible=0.0` (rungs rank power-law fits of the curves, extrapolated to "
             f"epoch {MAX_EPOCHS}). All run the set's configurations in random search's order. "
             f"The extrapolation was chosen looking at sets 0-{DESIGN_SETS - 1}; sets from "
             f"{DESIGN_SETS} on are held out. "
             "*Reached*: a completed trial matched full-budget random search's best final loss "
             "after at most 1/3 of random search's compute (epochs); *to reach* and "
             "*total* are fractions of random search's compute (medians over sets; to reach over "
             "the sets where it was reached); *better* is how many of the set's configurations "
             "have a lower final loss than the method's best (mean over sets; 0 when reached); "
             "*gap* is how far its best final loss was above the target where it was not "
             "reached at all (median; on digits one validation image is 0.0025).",
             "", "| problem | method | reached | to reach | total | better | gap |",
             "|---|---|---|---|---|---|---|"]
    for problem, sets in part_a.items():
        target = _fmt(float(np.median([r["target"] for r in sets])))
        to_reach = _fmt(float(np.median([r["random_to_reach"] / r["random_compute"]
                                         for r in sets])), 3)
        lines.append(f"| {problem} | random search (target loss {target}, median) | | "
                     f"{to_reach} | 1.000 | | |")
        for m in METHODS:
            reach = [r[m]["to_reach"] / r["random_compute"] for r in sets if reached(r, m)]
            gaps = [r[m]["best"] - r["target"] for r in sets if r[m]["to_reach"] is None]
            lines.append(" | ".join([
                f"| {problem} | {m}", f"{len(reach)}/{len(sets)}",
                _fmt(float(np.median(reach)) if reach else None, 3),
                _fmt(float(np.median([r[m]["total"] / r["random_compute"] for r in sets])), 3),
                f"{np.mean([r[m]['better'] for r in sets]):.1f}",
                _fmt(float(np.median(gaps)) if gaps else None)]) + " |")
    summary = []
    for m in METHODS:
        design = sum(reached(r, m) for sets in part_a.values() for r in sets[:DESIGN_SETS])
        held = [reached(r, m) for sets in part_a.values() for r in sets[DESIGN_SETS:]]
        n_design = sum(len(sets[:DESIGN_SETS]) for sets in part_a.values())
        summary.append(f"{m} reached random search's best in {design + sum(held)} of "
                       f"{n_design + len(held)} sets" + (
                           f" ({design}/{n_design} design, {sum(held)}/{len(held)} held out)"
                           if held else ""))
    lines += ["", "- " + "; ".join(summary) + ".", "",
              "Why configurations are lost: Spearman's rank correlation between the losses at "
              "an epoch and the final ones over the set's configurations, and how many "
              "configurations are strictly better at that epoch than the one random search "
              "picks at the end (medians over sets; halving at eta 3 keeps it only while "
              f"fewer than about {args.configs // ETA} are).", "",
              "| problem | " + " | ".join(f"ρ(epoch {e}, final)" for e in DIAGNOSTIC_EPOCHS)
              + " | " + " | ".join(f"better at epoch {e}" for e in DIAGNOSTIC_EPOCHS) + " |",
              "|---|" + "---|" * 2 * len(DIAGNOSTIC_EPOCHS)]
    for problem, sets in part_a.items():
        rho = [_fmt(float(np.nanmedian([r["spearman"][e] for r in sets])), 2)
               for e in DIAGNOSTIC_EPOCHS]
        rank = [f"{np.median([r['target_rank'][e] for r in sets]):.0f}"
                for e in DIAGNOSTIC_EPOCHS]
        lines.append(f"| {problem} | " + " | ".join(rho + rank) + " |")
    lines += ["", "Every set: per method, compute to reach the target / total compute (fractions "
              "of random search's), then its best final loss; — where it never reached the "
              "target:", "",
              "| problem | set | target loss | random: to reach | " + " | ".join(METHODS) + " |",
              "|---|---|---|---|" + "---|" * len(METHODS)]
    for problem, sets in part_a.items():
        for i, res in enumerate(sets):
            full = res["random_compute"]
            cells = []
            for m in METHODS:
                reach = res[m]["to_reach"]
                cells.append(f"{_fmt(None if reach is None else reach / full, 3)} / "
                             f"{_fmt(res[m]['total'] / full, 3)}, {_fmt(res[m]['best'])}")
            lines.append(f"| {problem} | {i} | {_fmt(res['target'])} | "
                         f"{_fmt(res['random_to_reach'] / full, 3)} | " + " | ".join(cells) + " |")
    return lines


def _paired_lines(part_b: dict[str, dict[str, dict[str, list[float]]]], a: str,
                  b: str) -> list[str]:
    """Per problem: on how many seeds ``a``'s best is lower, equal and higher than ``b``'s, and
    the two-sided paired Wilcoxon p-value (`scoring.wilcoxon_p`)."""
    out = ["", f"{a} vs {b}, seed by seed (same seeds):", ""]
    for problem, by_name in part_b.items():
        x, y = np.array(by_name[a]["best"]), np.array(by_name[b]["best"])
        p = wilcoxon_p(x, y)
        out.append(f"- {problem}: lower on {int(np.sum(x < y))}, equal on {int(np.sum(x == y))}, "
                   f"higher on {int(np.sum(x > y))} of {len(x)} seeds (paired Wilcoxon p = "
                   f"{p:.2f}).")
    return out


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
             f"and ASHA use eta={ETA}; Hyperband's resources are 1..{MAX_EPOCHS}, ASHA's first "
             f"rung is at {ASHA_MIN_RESOURCE} in part (a). Command: `python -m "
             f"benchmarks.multifidelity {' '.join(sys.argv[1:])}`.", "",
             *part_a_lines(part_a, args)]
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
    lines.append("| mean over problems | " + " | ".join(
        _fmt(float(np.mean([m[n] for m in means.values()]))) for n in OPTIMISERS) + " |")
    ranks = {n: np.mean([sorted(m, key=m.__getitem__).index(n) + 1 for m in means.values()])
             for n in OPTIMISERS}
    lines += ["", "Average rank over problems (by mean): " + ", ".join(
        f"{n} {r:.2f}" for n, r in ranks.items()) + "."]
    for a, b in (("hyperdial Hyperband + BOHB", "hyperdial Hyperband + random"),
                 ("hyperdial Hyperband + BOHB", "hyperdial Hyperband + TPE"),
                 ("hyperdial Hyperband + TPE", "optuna Hyperband + TPE"),
                 ("hyperdial Hyperband (extrapolated) + TPE", "optuna Hyperband + TPE"),
                 ("hyperdial Hyperband + BOHB", "optuna Hyperband + TPE")):
        wins = [int(np.sign(m[b] - m[a])) for m in means.values()]
        lines.append(f"- {a} vs {b}: better mean on {wins.count(1)}, equal on {wins.count(0)}, "
                     f"worse on {wins.count(-1)} of {len(wins)} problems.")
    lines += _paired_lines(part_b, "hyperdial Hyperband + TPE", "optuna Hyperband + TPE")
    lines += _paired_lines(part_b, "hyperdial Hyperband (extrapolated) + TPE",
                           "optuna Hyperband + TPE")
    ablation = [n for n in ABLATION if all(n in by_name for by_name in part_b.values())]
    if ablation:
        lines += ["", "Ablation (`--ablation`): hyperdial Hyperband + TPE with the defaults before "
                  "this release, one at a time: *fixed floor* is `TPESampler(min_bandwidth=0.05)` "
                  "(now \"auto\": the magic clip once pruned trials are ranked), *per bracket* is "
                  "`HyperbandPruner(sampler_scope=\"bracket\")` (now \"study\"). Mean best final "
                  "loss over the same seeds:", "",
                  "| problem | hyperdial Hyperband + TPE | " + " | ".join(ablation) + " |",
                  "|---|---|" + "---|" * len(ablation)]
        for problem, by_name in part_b.items():
            lines.append(f"| {problem} | " + " | ".join(
                _fmt(float(np.nanmean(by_name[n]["best"])))
                for n in ("hyperdial Hyperband + TPE", *ablation)) + " |")
    return lines


def main(argv: list[str] | None = None, *, write: bool = True) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--configs", type=int, default=100, help="configurations in part (a)")
    parser.add_argument("--sets", type=int, default=2 * DESIGN_SETS,
                        help="configuration sets in part (a)")
    parser.add_argument("--budget", type=int, default=15, help="full runs of compute in (b)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--ablation", action="store_true",
                        help="also run Hyperband + TPE with its earlier defaults (part b)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    part_a: dict[str, list[dict[str, Any]]] = {}
    part_b: dict[str, dict[str, dict[str, list[float]]]] = {}
    optimisers = {**OPTIMISERS, **(ABLATION if args.ablation else {})}
    for name in args.problems.split(","):
        cache = CurveCache(PROBLEMS[name])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            part_a[name] = [same_configs(cache, args.configs, s) for s in range(args.sets)]
            part_b[name] = {}
            for opt, optimise in optimisers.items():
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
