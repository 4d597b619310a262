"""One (problem, optimizer, seed) cell, run by ``run_suite`` in its own subprocess.

Writes ``{"values", "seconds", "versions"}`` (or ``{"unavailable": why}``) as JSON to ``--out``;
a crash leaves no file and a non-zero exit code, which the runner records as the cell's error.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import math
import platform
import subprocess
import time
import warnings
from pathlib import Path

from benchmarks.peers import PEERS, Unavailable, require
from benchmarks.problems import SUITE

REPO = Path(__file__).resolve().parents[1]
COMMON_DISTRIBUTIONS = ("numpy", "scipy", "scikit-learn")
DISTRIBUTION_OF = {"sklearn": "scikit-learn", "skopt": "scikit-optimize"}


def version(distribution: str) -> str:
    """An installed distribution's version, read from metadata without importing it."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def git_revision() -> str:
    """The working tree's commit (plus -dirty), since hyperdial is benchmarked from source."""
    proc = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or "no commit"


def versions(modules: tuple[str, ...]) -> dict[str, str]:
    """Python, the common stack and the peer's modules (imported first: Unavailable if missing)."""
    found = {d: version(d) for d in COMMON_DISTRIBUTIONS}
    for module in modules:
        loaded = require(module)
        installed = version(DISTRIBUTION_OF.get(module, module))
        found[module] = (
            str(getattr(loaded, "__version__", installed))
            if installed == "not installed"
            else installed
        )
    if "hyperdial" in modules:
        found["hyperdial-git"] = git_revision()
    return {"python": platform.python_version(), **found}


def run_cell(problem_name: str, optimizer: str, seed: int, budget: int) -> dict[str, object]:
    """Run one cell in this process; non-finite values become None (failed trials)."""
    peer, problem = PEERS[optimizer], SUITE[problem_name]
    try:
        found = versions(peer.modules)
        start = time.perf_counter()
        values = peer.run(problem, seed, budget)
        seconds = time.perf_counter() - start
    except Unavailable as exc:
        return {"unavailable": str(exc)}
    clean = [float(v) if v is not None and math.isfinite(v) else None for v in values]
    return {"values": clean, "seconds": seconds, "versions": found}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("problem", choices=sorted(SUITE))
    parser.add_argument("optimizer", choices=sorted(PEERS))
    parser.add_argument("seed", type=int)
    parser.add_argument("budget", type=int)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    warnings.simplefilter(
        "ignore"
    )  # peers warn about fallbacks and experimental APIs on every trial
    logging.disable(logging.WARNING)
    result = run_cell(args.problem, args.optimizer, args.seed, args.budget)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
