"""Pareto dominance, as pure vectorised functions on minimisation arrays of shape (n, m)."""

from __future__ import annotations

import numpy as np


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """True when ``a`` is no worse than ``b`` everywhere and strictly better somewhere."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(loss: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``loss`` that no other row dominates (duplicates all kept)."""
    loss = np.asarray(loss, dtype=float)
    n = loss.shape[0]
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        le = np.all(loss <= loss[i], axis=1)
        lt = np.any(loss < loss[i], axis=1)
        if np.any(le & lt):
            keep[i] = False
    return keep
