"""What one WilcoxonPruner decision costs, hyperdial's against Optuna's, on instance losses
that tie (error counts) and on ones that do not, as the number of shared instances grows.
With ties, scipy's default (which Optuna's pruner calls) runs an exact permutation test up to
13 instances; hyperdial's pruner enumerates the sign patterns itself, exact up to 16 nonzero
differences, and both take the tie-corrected normal approximation past that. Writes
``results/wilcoxon-decision-<date>.md``.

    python -m benchmarks.wilcoxon_decision [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from typing import Any

import numpy as np

from benchmarks._common import write_result


def fields(n: int, tied: bool) -> tuple[np.ndarray, np.ndarray]:
    """The best trial's and a worse trial's losses on ``n`` instances."""
    rng = np.random.default_rng(n)
    best = rng.normal(size=n)
    worse = best + rng.normal(0.5, 0.5, size=n)
    return (np.round(best), np.round(worse)) if tied else (best, worse)


def ours(best: np.ndarray, worse: np.ndarray) -> Any:
    from hyperdial.history import History
    from hyperdial.pruners import WilcoxonPruner
    from hyperdial.trial import TrialRecord, TrialState

    done = TrialRecord(0, TrialState.COMPLETE, intermediate_values=dict(enumerate(best)),
                       values=(float(best.mean()),))
    running = TrialRecord(1, TrialState.RUNNING, intermediate_values=dict(enumerate(worse)))
    history, pruner = History((done, running)), WilcoxonPruner()
    return lambda: pruner.decide(history, running).name == "PRUNE"


def theirs(best: np.ndarray, worse: np.ndarray) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(value=float(best.mean()),
                                              intermediate_values=dict(enumerate(best))))
    running = optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING,
                                        intermediate_values=dict(enumerate(worse)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pruner = optuna.pruners.WilcoxonPruner()
    return lambda: pruner.prune(study, running)


def seconds(decide: Any, repeats: int) -> float:
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            start = time.perf_counter()
            decide()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import optuna

    rows = []
    for tied in (False, True):
        for n in (8, 13, 20, 50):
            best, worse = fields(n, tied)
            mine, peer = ours(best, worse), theirs(best, worse)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                same = mine() == peer()
            a, b = seconds(mine, args.repeats), seconds(peer, args.repeats)
            rows.append((tied, n, a, b, same))
            print(tied, n, a, b, same, flush=True)
    lines = [f"# WilcoxonPruner: the cost of one decision ({time.strftime('%Y-%m-%d')})", "",
             f"optuna {optuna.__version__}, Python {platform.python_version()}; medians over "
             f"{args.repeats} decisions. Command: `python -m benchmarks.wilcoxon_decision`.", "",
             "| instance losses | shared instances | hyperdial (ms) | Optuna (ms) | ratio | "
             "same decision |",
             "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {'tied (rounded)' if tied else 'distinct'} | {n} | {a * 1e3:.2f} | "
              f"{b * 1e3:.2f} | {a / b:.2f} | {'yes' if same else 'no'} |"
              for tied, n, a, b, same in rows]
    print(f"wrote {write_result('wilcoxon-decision', lines)}")


if __name__ == "__main__":
    main()
