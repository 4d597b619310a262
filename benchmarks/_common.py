"""Pieces the overhead and throughput benchmarks share: sphere histories and result files."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hyperdial.space import Float, distribution_from_dict
from hyperdial.trial import TrialRecord, TrialState

RESULTS = Path(__file__).resolve().parent / "results"

#: The environment for a benchmark's fresh interpreters, with bytecode writing on: where the
#: shell sets ``PYTHONDONTWRITEBYTECODE`` (this machine's does), hyperdial's editable source
#: was compiled at every import, Optuna's pip-installed bytecode not.
BYTECODE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def write_result(stem: str, lines: list[str]) -> Path:
    """Write ``results/<stem>-<date>.md`` and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{stem}-{time.strftime('%Y-%m-%d')}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def peer_cells(ours: Sequence[float], theirs: Sequence[float], spec: str) -> str:
    """Table cells ``ours | theirs | ratio``: the medians over rounds (``spec``: their format)
    and the median of the within-round ratios ``ours[i] / theirs[i]``; rounds alternate the
    libraries, so each ratio compares runs made at one speed of this shared machine."""
    ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
    return (f"{statistics.median(ours):{spec}} | {statistics.median(theirs):{spec}} | "
            f"{ratio:.2f}")


def publish(stem: str, lines: list[str], write: bool) -> list[str]:
    """Print a result's markdown ``lines``, written first to ``results/<stem>-<date>.md`` when
    ``write``; returns them."""
    if write:
        print(f"wrote {write_result(stem, lines)}")
    print("\n".join(lines))
    return lines


def sphere_points(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform points of [-5, 5]^d and their sphere values."""
    x = np.random.default_rng(seed).uniform(-5.0, 5.0, size=(n, d))
    return x, np.sum(x * x, axis=1)


def sphere_trials(x: np.ndarray, y: np.ndarray) -> tuple[TrialRecord, ...]:
    """Completed hyperdial trials at those points, their distributions read from JSON as a
    storage reads them back (equal numeric ones come out as one shared object)."""
    d = x.shape[1]
    spec = Float(-5.0, 5.0).to_dict()
    return tuple(
        TrialRecord(number=i, state=TrialState.COMPLETE,
                    params={f"x{j}": float(x[i, j]) for j in range(d)},
                    distributions={f"x{j}": distribution_from_dict(spec) for j in range(d)},
                    values=(float(y[i]),))
        for i in range(len(x)))


def optuna_sphere_study(sampler: Any, x: np.ndarray, y: np.ndarray) -> tuple[Any, dict[str, Any]]:
    """An Optuna study holding the same completed trials, and its distributions."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {f"x{j}": optuna.distributions.FloatDistribution(-5.0, 5.0)
             for j in range(x.shape[1])}
    study = optuna.create_study(sampler=sampler)
    study.add_trials([
        optuna.trial.create_trial(params={f"x{j}": float(v) for j, v in enumerate(row)},
                                  distributions=dists, value=float(value))
        for row, value in zip(x, y, strict=True)])
    return study, dists


def torch_epoch(net: Any, opt: Any, x: Any, y: Any, batch_size: int, gen: Any) -> None:
    """One epoch of minibatch training with cross-entropy, in the order ``gen`` draws: the
    training step of the torch learning-curve problem and of the PBT task."""
    import torch

    order = torch.randperm(len(x), generator=gen)
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()

