"""TPE overhead: median time of one suggestion at 100 / 1,000 / 10,000 finished trials.

hyperdial's `TPESampler` (multivariate) against Optuna's ``TPESampler(multivariate=True)`` in
the same process, on a 5-d and a 20-d sphere whose finished trials are random points (the
cost of a suggestion does not depend on their values). hyperdial is timed on
``propose(history, infer_space(history), rng)``, what a study's ``ask`` calls; Optuna on
``study.ask(fixed_distributions)``, which runs its joint (relative) sampling. Peak traced
memory of one hyperdial suggestion is reported too. Writes
``benchmarks/results/tpe-overhead-<date>.md``.

    python -m benchmarks.tpe_overhead [--repeats 15] [--sizes 100 1000 10000] [--dims 5 20]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
import tracemalloc

# One BLAS thread: the cost of one suggestion on one worker, not of a contended thread pool
# (both samplers are measured under the same setting). Set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


from benchmarks._common import (  # noqa: E402
    optuna_sphere_study,
    sphere_points,
    sphere_trials,
    write_result,
)
from hyperdial.history import History  # noqa: E402
from hyperdial.samplers import TPESampler  # noqa: E402


def time_hyperdial(n: int, d: int, repeats: int) -> tuple[float, float, float]:
    """Median seconds per suggestion, seconds of the first (cold-cache) suggestion of a fresh
    sampler, and peak MiB of one warm suggestion."""
    x, y = sphere_points(n, d)
    trials = sphere_trials(x, y)
    # A study's view keeps the space its completed trials share up to date as they finish,
    # and hands it with every history (`History.known_space`).
    known = History(trials).completed_space
    sampler = TPESampler(seed=0)
    start = time.perf_counter()
    history = History(trials, known_space=known)
    sampler.propose(history, sampler.infer_space(history), sampler.rng(n))
    cold = time.perf_counter() - start
    times = []
    for r in range(repeats):
        history = History(trials, known_space=known)  # a fresh one per ask, as a study's
        start = time.perf_counter()
        sampler.propose(history, sampler.infer_space(history), sampler.rng(n + r))
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    history = History(trials, known_space=known)
    sampler.propose(history, sampler.infer_space(history), sampler.rng(n))
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), cold, peak


def time_optuna(n: int, d: int, repeats: int) -> float | None:
    try:
        import optuna
    except ImportError:
        return None
    x, y = sphere_points(n, d)
    study, dists = optuna_sphere_study(optuna.samplers.TPESampler(seed=0, multivariate=True),
                                       x, y)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        trial = study.ask(dists)
        times.append(time.perf_counter() - start)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)  # keeps the completed set fixed
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--dims", type=int, nargs="+", default=[5, 20])
    args = parser.parse_args()
    rows = []
    for d in args.dims:
        for n in args.sizes:
            ours, cold, peak = time_hyperdial(n, d, args.repeats)
            theirs = time_optuna(n, d, max(3, args.repeats if n < 10000 else 5))
            ratio = f"{ours / theirs:.2f}" if theirs else "n/a"
            theirs_ms = f"{theirs * 1e3:.1f}" if theirs else "n/a"
            rows.append(
                f"| {d} | {n:,} | {ours * 1e3:.2f} | {theirs_ms} | {ratio} | "
                f"{cold * 1e3:.1f} | {peak:.1f} |"
            )
            print(rows[-1], flush=True)
    today = datetime.date.today().isoformat()
    lines = [
        f"# TPE suggestion overhead ({today})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}. Median of {args.repeats} suggestions (Optuna: 5 at "
        "10,000 trials) on a sphere with random finished trials; both samplers multivariate, "
        "24 EI candidates, same process, one BLAS thread. "
        "`python -m benchmarks.tpe_overhead`.",
        "",
        "hyperdial's sampler caches the coordinates of the trial records it has seen (a study "
        "hands the same finished records on every ask, with the space they share, which its "
        "view keeps up to date), so a suggestion encodes only new trials; the *cold* column "
        "is the first suggestion of a fresh sampler (e.g. after a resume), which encodes them "
        "all. Peak memory: traced, one warm suggestion.",
        "",
        "| dims | finished trials | hyperdial TPE (ms) | Optuna TPE (ms) | ratio | "
        "hyperdial cold (ms) | hyperdial peak memory (MiB) |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    print(f"wrote {write_result('tpe-overhead', lines)}")


if __name__ == "__main__":
    main()
