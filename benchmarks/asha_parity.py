"""ASHA against Optuna's, decision for decision, on reports that skip steps.

hyperdial's `SuccessiveHalvingPruner` and Optuna 5's are driven in lockstep on the same
curves: each trial reports the same values at 5 random steps of 1..27 (so one report may pass
several rungs), both are asked `should_prune` after every report, and a trial ends as Optuna
ends it. Counted: the prune decisions where the two differ, over seeds and seven settings of
``(min_resource, reduction_factor, min_early_stopping_rate, bootstrap_count)``. Writes
``benchmarks/results/asha-parity-<date>.md``.

    python -m benchmarks.asha_parity [--seeds 6] [--trials 40]
"""

from __future__ import annotations

import benchmarks._one_thread  # noqa: F401 - before numpy: one thread per process

# isort: split

import argparse
import logging
import platform
import time
import warnings

import numpy as np

import hyperdial as hd
from benchmarks._common import write_result

SETTINGS = ((1, 2, 0, 0), (1, 3, 0, 0), (1, 4, 0, 0), (2, 3, 0, 0), (1, 3, 1, 0), (3, 3, 0, 0),
            (1, 3, 0, 4))


def differences(seed: int, setting: tuple[int, int, int, int], trials: int) -> tuple[int, int]:
    """(decisions, decisions that differ) for one seed and setting."""
    import optuna

    r, eta, s, b = setting
    rng = np.random.default_rng(seed)
    ours = hd.create_study(pruner=hd.pruners.SuccessiveHalvingPruner(
        r, eta, s, bootstrap_count=b))
    theirs = optuna.create_study(pruner=optuna.pruners.SuccessiveHalvingPruner(
        min_resource=r, reduction_factor=eta, min_early_stopping_rate=s, bootstrap_count=b))
    total = differ = 0
    for _ in range(trials):
        x = rng.random()
        steps = sorted(rng.choice(np.arange(1, 28), size=5, replace=False).tolist())
        a, o = ours.ask(), theirs.ask()
        value, pruned = 0.0, False
        for step in steps:
            value = (x - 0.3) ** 2 + (1 + 3 * x) / (step + 1)
            a.report(value, step)
            o.report(value, step)
            mine, optunas = a.should_prune(), o.should_prune()
            total, differ = total + 1, differ + (mine != optunas)
            if optunas:
                pruned = True
                break
        if pruned:
            ours.tell(a, state=hd.TrialState.PRUNED)
            theirs.tell(o, state=optuna.trial.TrialState.PRUNED)
        else:
            ours.tell(a, value)
            theirs.tell(o, value)
    return total, differ


def main() -> None:
    import optuna

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("hyperdial").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    lines = [f"# ASHA against Optuna's, decision for decision ({time.strftime('%Y-%m-%d')})",
             "",
             f"hyperdial {hd.__version__}, Optuna {optuna.__version__}, Python "
             f"{platform.python_version()}. Seeds 0..{args.seeds - 1}, {args.trials} trials "
             "each, 5 random report steps of 1..27 per trial. Command: `python -m "
             f"benchmarks.asha_parity --seeds {args.seeds} --trials {args.trials}`.",
             "",
             "| min_resource, reduction_factor, min_early_stopping_rate, bootstrap_count "
             "| decisions | differ |",
             "|---|---:|---:|"]
    all_total = all_differ = 0
    for setting in SETTINGS:
        total = differ = 0
        for seed in range(args.seeds):
            t, d = differences(seed, setting, args.trials)
            total, differ = total + t, differ + d
        all_total, all_differ = all_total + total, all_differ + differ
        lines.append(f"| {setting} | {total:,} | {differ} |")
    lines += [f"| **all** | **{all_total:,}** | **{all_differ}** |"]
    path = write_result("asha-parity", lines)
    print("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
