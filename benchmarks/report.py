"""Turn a suite's raw JSONL into the dated markdown report of BENCHMARKS.md.

Scores need, per problem, the median best-of-B of random search: it comes from a pool of
uniform random evaluations cached as ``<results-dir>/pool-<problem>.json`` (built on first
use; the ML pools take minutes). Writes ``<out-dir>/suite-YYYY-MM-DD.md`` and a copy of the
raw JSONL beside it.

    python -m benchmarks.report --suite public
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.peers import PEERS
from benchmarks.problems import SUITE, Problem, sample_config
from benchmarks.run_suite import RESULTS_DIR, load_records
from benchmarks.scoring import (
    FRACTIONS,
    average_ranks,
    best_of_first,
    checkpoints,
    normalised_score,
    random_median_best,
    wilcoxon_p,
)

POOL_SEED = 12345
BASELINE = "random"
SUBJECT_PREFIX = "hyperdial-"


def load_pool(problem: Problem, size: int, results_dir: Path) -> np.ndarray:
    """``size`` uniform random evaluations of ``problem``, cached (a larger cache is reused)."""
    path = results_dir / f"pool-{problem.name}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        if len(cached["values"]) >= size:
            return np.array(cached["values"], dtype=float)
    rng = np.random.default_rng(POOL_SEED)
    start, values = time.perf_counter(), []
    for i in range(size):
        values.append(problem.evaluate(sample_config(problem.space, rng)))
        if (i + 1) % max(1, size // 10) == 0:
            print(
                f"pool {problem.name}: {i + 1}/{size} ({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
            )
    path.write_text(json.dumps({"problem": problem.name, "seed": POOL_SEED, "values": values}))
    return np.array(values, dtype=float)


@dataclass
class ProblemResult:
    """Runs of every optimizer on one problem, with its random baseline and reference."""

    problem: Problem
    pool_size: int
    reference_best: float
    random_median: tuple[float, ...]  # at each checkpoint
    # optimizer -> seed -> objective values in evaluation order
    runs: dict[str, dict[int, list[float | None]]] = field(default_factory=dict)

    def seeds(self, optimizer: str) -> list[int]:
        return sorted(self.runs.get(optimizer, {}))

    def bests(self, optimizer: str, seeds: Sequence[int] | None = None) -> np.ndarray:
        """Best value so far per seed (rows) at each checkpoint (columns)."""
        points = checkpoints(self.problem.budget)
        chosen = self.seeds(optimizer) if seeds is None else seeds
        values = self.runs[optimizer]
        return np.array([[best_of_first(values[s], n) for n in points] for s in chosen])

    def scores(self, optimizer: str, seeds: Sequence[int] | None = None) -> np.ndarray:
        """Normalised score per seed (rows) at each checkpoint (columns)."""
        bests = self.bests(optimizer, seeds)
        return np.column_stack(
            [
                normalised_score(bests[:, j], rm, self.reference_best)
                for j, rm in enumerate(self.random_median)
            ]
        )

    def mean_final(self, optimizer: str) -> float:
        return float(np.mean(self.bests(optimizer)[:, -1]))


def collect(
    records: Sequence[dict], results_dir: Path, pool_sizes: tuple[int, int]
) -> dict[str, ProblemResult]:
    """Usable runs (full budget, no error) grouped by problem, with pools and references."""
    runs: dict[str, dict[str, dict[int, list[float | None]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for r in records:
        problem = SUITE.get(r["problem"])
        if problem is not None and r["budget"] == problem.budget and not r.get("error"):
            runs[r["problem"]][r["optimizer"]][r["seed"]] = r["values"]
    results = {}
    for name in (p for p in SUITE if p in runs):
        problem = SUITE[name]
        size = pool_sizes[1] if problem.optimum is None else pool_sizes[0]
        pool = load_pool(problem, size, results_dir)
        seen = [v for by_seed in runs[name].values() for vs in by_seed.values() for v in vs]
        best_seen = min([float(np.min(pool)), *(v for v in seen if v is not None)])
        reference = problem.optimum if problem.optimum is not None else best_seen
        medians = tuple(random_median_best(pool, n) for n in checkpoints(problem.budget))
        results[name] = ProblemResult(problem, pool.size, reference, medians, dict(runs[name]))
    return results


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _f(x: float, digits: int = 3) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.{digits}f}"


def _g(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.6g}"


def _p(p: float) -> str:
    return "n/a" if not np.isfinite(p) else "<0.001" if p < 0.001 else f"{p:.3f}"


def _optimizers(results: dict[str, ProblemResult]) -> list[str]:
    present = {o for r in results.values() for o in r.runs}
    return [o for o in PEERS if o in present]


def summary_section(results: dict[str, ProblemResult]) -> str:
    """Suite means of the score at each checkpoint, average rank, problems beating random."""
    optimizers, problems = _optimizers(results), list(results.values())
    means = np.array(
        [[r.mean_final(o) if o in r.runs else np.nan for o in optimizers] for r in problems]
    )
    ranks = average_ranks(means)
    rows = []
    for j, o in enumerate(optimizers):
        ran = [r for r in problems if o in r.runs]
        suite = np.nanmean([np.nanmean(r.scores(o), axis=0) for r in ran], axis=0)
        beats = sum(
            1 for r in ran if BASELINE in r.runs and r.mean_final(o) < r.mean_final(BASELINE)
        )
        rows.append((suite, ranks[j], o, "-" if o == BASELINE else f"{beats}/{len(ran)}", len(ran)))
    rows.sort(key=lambda row: -row[0][-1] if np.isfinite(row[0][-1]) else np.inf)
    headers = [
        "optimizer",
        *(f"score @{int(f * 100)}%" for f in FRACTIONS),
        "avg rank",
        "beats random on",
        "problems",
    ]
    table = _table(
        headers,
        [
            [o, *(_f(s) for s in suite), _f(rank, 2), beats, f"{n}/{len(problems)}"]
            for suite, rank, o, beats, n in rows
        ],
    )
    return (
        "## Suite summary\n\nMean normalised score over problems (1 = reference best, "
        "0 = random search, negative = worse than random), average rank by mean final value "
        "(1 = best), and the number of problems where the optimizer's mean final value beats "
        f"`{BASELINE}`'s.\n\n" + table
    )


def per_problem_section(results: dict[str, ProblemResult]) -> str:
    """Final score and final value (mean ± sd) per problem, plus each problem's baselines."""
    names, score_rows, value_rows = list(results), [], []
    for o in _optimizers(results):
        ran = {name: r for name, r in results.items() if o in r.runs}
        finals = {name: r.bests(o)[:, -1] for name, r in ran.items()}
        score_rows.append(
            [o, *(_f(np.nanmean(ran[n].scores(o)[:, -1])) if n in ran else "" for n in names)]
        )
        value_rows.append(
            [
                o,
                *(
                    f"{_g(np.mean(finals[n]))} ± {_g(np.std(finals[n]))}" if n in ran else ""
                    for n in names
                ),
            ]
        )
    base_rows = [
        [
            r.problem.name,
            r.problem.budget,
            _g(r.reference_best),
            "known optimum" if r.problem.optimum is not None else "best ever seen",
            r.pool_size,
            *(_g(m) for m in r.random_median),
        ]
        for r in results.values()
    ]
    return "\n\n".join(
        [
            "## Per problem\n\nNormalised score at 100 % of the budget (mean over seeds):\n\n"
            + _table(["optimizer", *names], score_rows),
            "Final best value, mean ± sd over seeds (lower is better):\n\n"
            + _table(["optimizer", *names], value_rows),
            "Baselines: reference best and the median best-of-B of random search from the pool "
            "at 25/50/100 %:\n\n"
            + _table(
                ["problem", "budget", "reference", "from", "pool", "random @25%", "@50%", "@100%"],
                base_rows,
            ),
        ]
    )


def _compare(subject: str, peer: str, results: dict[str, ProblemResult]) -> list[object]:
    """One row: suite-wide paired test on final scores, then per-problem tests on final values."""
    suite_a: list[float] = []
    suite_b: list[float] = []
    cells = []
    for r in results.values():
        seeds = sorted(set(r.seeds(subject)) & set(r.seeds(peer)))
        if not seeds:
            cells.append("")
            continue
        suite_a += list(r.scores(subject, seeds)[:, -1])
        suite_b += list(r.scores(peer, seeds)[:, -1])
        fa, fb = r.bests(subject, seeds)[:, -1], r.bests(peer, seeds)[:, -1]
        cells.append(f"{_p(wilcoxon_p(fa, fb))} {'+' if fa.mean() < fb.mean() else '-'}")
    if not suite_a:
        return [peer, 0, "", "", "no common cells", *cells]
    diff = float(np.nanmean(np.array(suite_a) - np.array(suite_b)))
    p = wilcoxon_p(np.array(suite_a), np.array(suite_b))
    verdict = "within noise" if not p < 0.05 else ("better" if diff > 0 else "worse")
    return [peer, len(suite_a), _f(diff), _p(p), verdict, *cells]


def significance_section(results: dict[str, ProblemResult]) -> str:
    """Paired Wilcoxon tests of each hyperdial optimizer against each peer."""
    optimizers = _optimizers(results)
    subjects = [o for o in optimizers if o.startswith(SUBJECT_PREFIX)]
    if not subjects:
        return "## Significance\n\nNo hyperdial results yet: no paired tests."
    parts = [
        "## Significance\n\nTwo-sided paired Wilcoxon signed-rank tests over seeds. Suite-wide: "
        "pairs are the (problem, seed) final normalised scores, `mean score diff` = hyperdial "
        "minus peer; per problem: p-value on the final values, `+` = the hyperdial optimizer's "
        "mean is better, `-` = not better. p ≥ 0.05 is within noise."
    ]
    headers = ["peer", "pairs", "mean score diff", "p (suite)", "verdict", *results]
    for subject in subjects:
        rows = [_compare(subject, peer, results) for peer in optimizers if peer != subject]
        parts.append(f"### {subject} vs each peer\n\n" + _table(headers, rows))
    return "\n\n".join(parts)


def runs_section(results: dict[str, ProblemResult], records: Sequence[dict]) -> str:
    """Seeds run per cell group, median seconds per cell, and errors."""
    seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        if not r.get("error"):
            seconds[(r["optimizer"], r["problem"])].append(r["seconds"])
    rows = []
    for o in _optimizers(results):
        cells = []
        for name, r in results.items():
            n = len(r.seeds(o))
            mark = "" if n == r.problem.seeds else f" ({n} seed{'s' * (n > 1)})"
            cells.append(f"{np.median(seconds[(o, name)]):.1f}{mark}" if n else "")
        rows.append([o, *cells])
    errors = [r for r in records if r.get("error")]
    error_lines = "".join(
        f"\n- {r['optimizer']} / {r['problem']} / seed {r['seed']}: "
        f"{str(r['error']).splitlines()[0][:200]}"
        for r in errors
    )
    protocol = ", ".join(f"{r.problem.name} {r.problem.seeds}" for r in results.values())
    same = ", ".join(
        f"{o} on {name}"
        for name, r in results.items()
        for o, by_seed in r.runs.items()
        if len(by_seed) > 1 and all(v == next(iter(by_seed.values())) for v in by_seed.values())
    )
    return (
        "## Runs\n\nMedian seconds per cell (optimisation only, one process at a time, one BLAS "
        f"thread); `(k seeds)` marks fewer seeds than the protocol ({protocol}).\n\n"
        + _table(["optimizer", *results], rows)
        + "\n\nSeed-independent (every seed evaluated exactly the same trials, so their spread "
        f"is zero): {same or 'none'}.\n\nCells with an error: {len(errors)}\n" + error_lines
    )


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown CPU"


def environment_section(records: Sequence[dict], unavailable: dict[str, str]) -> str:
    """Machine, load, library versions and optimizers that could not run."""
    found: dict[str, set[str]] = defaultdict(set)
    for r in records:
        for k, v in r.get("versions", {}).items():
            found[k].add(v)
    loads = np.array([r["loadavg"][0] for r in records if "loadavg" in r])
    load_now = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    load_run = f"median {np.median(loads):.2f}, max {loads.max():.2f}" if loads.size else "n/a"
    versions = ", ".join(f"{k} {' / '.join(sorted(v))}" for k, v in sorted(found.items()))
    ran = {r["optimizer"] for r in records}
    lines = [
        f"- Machine: {os.cpu_count()} cores ({_cpu_model()}), {platform.platform()}",
        f"- Load average now (1/5/15 min): {load_now}; at the end of each cell (1 min): {load_run}",
        f"- Versions: {versions}",
        *(f"- Unavailable: `{o}`: {why}" for o, why in sorted(unavailable.items())),
        *(f"- Not run: `{o}`" for o in PEERS if o not in unavailable and o not in ran),
    ]
    return "## Environment\n\n" + "\n".join(lines)


def render(
    records: Sequence[dict],
    results: dict[str, ProblemResult],
    unavailable: dict[str, str],
    day: str,
) -> str:
    """The whole markdown report."""
    title = f"# hyperdial benchmark suite: {day}"
    if not records:
        return f"{title}\n\nNo results.\n"
    seeds = sorted({r["seed"] for r in records})
    head = (
        f"{title}\n\nProtocol: shared/BENCHMARKS.md. Problems: {', '.join(results)}. "
        f"Seeds {seeds[0]}..{seeds[-1]} (fewer for some optimizers, see Runs); "
        f"{len(records)} cells. Raw results: `suite-{day}.jsonl` beside this file."
    )
    sections = [head, environment_section(records, unavailable)]
    if results:
        sections += [
            summary_section(results),
            per_problem_section(results),
            significance_section(results),
            runs_section(results, records),
        ]
    return "\n\n".join(sections) + "\n"


def latest_records(records: Sequence[dict]) -> list[dict]:
    """One record per cell: the last one written (a retried cell replaces its error)."""
    latest = {(r["optimizer"], r["problem"], r["seed"], r["budget"]): r for r in records}
    return list(latest.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", default="public")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR.parent)
    parser.add_argument(
        "--date", default=date.today().isoformat(), help="YYYY-MM-DD in the file name"
    )
    parser.add_argument(
        "--pool-size", type=int, default=20_000, help="random pool per synthetic problem"
    )
    parser.add_argument(
        "--pool-size-ml", type=int, default=2_000, help="random pool per ML problem"
    )
    args = parser.parse_args(argv)

    raw = args.results_dir / f"{args.suite}.jsonl"
    records = latest_records(load_records(raw))
    unavailable_path = args.results_dir / f"{args.suite}.unavailable.json"
    unavailable = json.loads(unavailable_path.read_text()) if unavailable_path.exists() else {}
    results = collect(records, args.results_dir, (args.pool_size, args.pool_size_ml))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"suite-{args.date}.md"
    out.write_text(render(records, results, unavailable, args.date))
    if raw.exists():
        shutil.copyfile(raw, args.out_dir / f"suite-{args.date}.jsonl")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
