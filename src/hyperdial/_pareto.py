"""Pareto dominance and hypervolume, as pure vectorised functions on minimisation arrays of
shape (n, m).

The hypervolume of a set of points is the measure of the region they dominate and that
dominates the reference point ``ref``; points that do not strictly dominate ``ref`` add
nothing. Two objectives: one sort and a sweep. Three: a sweep over the third objective, each
slab a two-objective hypervolume. Four or more: the WFG algorithm (While, Bradstreet and
Barone 2012), exact, whose exclusive hypervolumes also give each point's contribution.
"""

from __future__ import annotations

import numpy as np


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """True when ``a`` is no worse than ``b`` everywhere and strictly better somewhere."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(loss: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``loss`` that no other row dominates (duplicates all kept;
    a row holding NaN neither dominates nor is dominated)."""
    loss = np.asarray(loss, dtype=float)
    n = loss.shape[0]
    keep = np.ones(n, dtype=bool)
    if n < 2:
        return keep
    rows = np.flatnonzero(~np.isnan(loss).any(axis=1))
    # Distinct rows in lexicographic order: none is dominated by a later one.
    uniq, inverse = np.unique(loss[rows], axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    if uniq.shape[1] == 2:  # a row is dominated iff an earlier one is as low on the second
        prior = np.minimum.accumulate(uniq[:-1, 1])  # (the first row: nothing earlier)
        keep[rows] = np.concatenate([[True], prior > uniq[1:, 1]])[inverse]
        return keep
    # Peel (as Optuna does): the first row left is on the front; drop it and every row it
    # dominates (no better anywhere). Cost O(front x n x m) instead of a pass per row.
    on_front = np.zeros(len(uniq), dtype=bool)
    left, index = uniq, np.arange(len(uniq))
    while len(left):
        on_front[index[0]] = True
        better_somewhere = np.any(left < left[0], axis=1)
        left, index = left[better_somewhere], index[better_somewhere]
    keep[rows] = on_front[inverse]
    return keep


def front_ranks(loss: np.ndarray) -> np.ndarray:
    """Pareto front of every row: 0 for the non-dominated rows, 1 for those that only rows of
    front 0 dominate, and so on (the fast non-dominated sort of NSGA-II, on a dominance matrix)."""
    loss = np.asarray(loss, dtype=float)
    n = loss.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    le = np.all(loss[:, None, :] <= loss[None, :, :], axis=2)
    lt = np.any(loss[:, None, :] < loss[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: row i dominates row j
    count = dom.sum(axis=0)
    ranks = np.full(n, -1, dtype=np.int64)
    front = np.flatnonzero(count == 0)
    r = 0
    while front.size:
        ranks[front] = r
        count = count - dom[front].sum(axis=0)
        count[ranks >= 0] = -1
        front = np.flatnonzero(count == 0)
        r += 1
    return ranks


def _useful(loss: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The distinct non-dominated rows of ``loss`` that strictly dominate ``ref``."""
    pts = loss[np.all(loss < ref, axis=1)]
    if pts.shape[0] > 1:
        pts = np.unique(pts, axis=0)
        pts = pts[non_dominated(pts)]
    return pts


def _hv2(pts: np.ndarray, ref: np.ndarray) -> float:
    """Two objectives, points all below ``ref``: sort by the first, sweep the running minimum
    of the second."""
    order = np.argsort(pts[:, 0], kind="stable")
    x, y = pts[order, 0], np.minimum.accumulate(pts[order, 1])
    widths = np.diff(np.append(x, ref[0]))
    return float(np.sum(widths * (ref[1] - y)))


def _hv3(pts: np.ndarray, ref: np.ndarray) -> float:
    """Three objectives: slabs between consecutive values of the third objective, each the
    two-objective hypervolume of the points at or below it."""
    order = np.argsort(pts[:, 2], kind="stable")
    pts = pts[order]
    heights = np.diff(np.append(pts[:, 2], ref[2]))
    total = 0.0
    for i in np.flatnonzero(heights > 0):
        total += heights[i] * _hv2(pts[: i + 1, :2], ref[:2])
    return total


def _limit(pts: np.ndarray, p: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The part of the region of ``pts`` inside the box of ``p``: each point made no better
    than ``p``, then the non-dominated distinct rest (WFG's limit set)."""
    return _useful(np.maximum(pts, p), ref)


def _wfg(pts: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of distinct non-dominated points below ``ref``, any number of objectives."""
    n, m = pts.shape
    if n == 0:
        return 0.0
    if n == 1:
        return float(np.prod(ref - pts[0]))
    if m == 2:
        return _hv2(pts, ref)
    if m == 3:
        return _hv3(pts, ref)
    pts = pts[np.argsort(pts[:, -1], kind="stable")[::-1]]  # worst last objective first
    boxes = np.prod(ref - pts, axis=1)
    total = 0.0
    for k in range(n):
        total += boxes[k] - _wfg(_limit(pts[k + 1:], pts[k], ref), ref)
    return total


def hypervolume(loss: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume dominated by the rows of ``loss`` (n, m) and bounded by ``ref`` (m,)."""
    loss = np.asarray(loss, dtype=float).reshape(-1, np.size(ref))
    ref = np.asarray(ref, dtype=float)
    pts = _useful(loss, ref)
    if pts.shape[1] == 1:
        return float(ref[0] - pts[:, 0].min()) if pts.size else 0.0
    return _wfg(pts, ref)


def hypervolume_contributions(loss: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Exclusive hypervolume of every row: what the set loses without it (0 for a dominated
    row, a duplicate or a row not dominating ``ref``)."""
    loss = np.asarray(loss, dtype=float).reshape(-1, np.size(ref))
    ref = np.asarray(ref, dtype=float)
    n = loss.shape[0]
    out = np.zeros(n)
    inside = np.all(loss < ref, axis=1)
    mask = inside.copy()
    mask[inside] = non_dominated(loss[inside])
    _, first, counts = np.unique(loss, axis=0, return_index=True, return_counts=True)
    single = np.zeros(n, dtype=bool)
    single[first[counts == 1]] = True
    idx = np.flatnonzero(mask & single)
    pts = loss[inside]  # a dominated row can fill in part of what a removed one held
    for i in idx:
        others = pts[np.any(pts != loss[i], axis=1)]
        box = float(np.prod(ref - loss[i]))
        out[i] = box - _wfg(_limit(others, loss[i], ref), ref) if others.size else box
    return out


def greedy_hypervolume_subset(loss: np.ndarray, k: int, ref: np.ndarray) -> np.ndarray:
    """Indices of ``k`` rows of ``loss`` chosen greedily, each adding the most hypervolume to
    those before it (hypervolume subset selection, within a factor 1 - 1/e of the best subset).

    Lazy: a row's gain only shrinks as the subset grows, so a stale gain is an upper bound and
    only the row on top is recomputed."""
    loss = np.asarray(loss, dtype=float).reshape(-1, np.size(ref))
    ref = np.asarray(ref, dtype=float)
    n = loss.shape[0]
    k = min(max(int(k), 0), n)
    boxes = np.prod(np.maximum(ref - loss, 0.0), axis=1)
    gains = boxes.copy()
    fresh = np.ones(n, dtype=bool)  # gains[i] is exact for the current subset
    left = np.ones(n, dtype=bool)
    chosen: list[int] = []
    while len(chosen) < k:
        i = int(np.flatnonzero(left)[np.argmax(gains[left])])
        if not fresh[i]:
            sel = loss[chosen]
            gains[i] = boxes[i] - _wfg(_limit(sel, loss[i], ref), ref) if boxes[i] > 0 else 0.0
            fresh[i] = True
            continue
        chosen.append(i)
        left[i] = False
        fresh[:] = False
    return np.array(chosen, dtype=np.int64)
