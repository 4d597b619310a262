"""Pareto dominance and hypervolume, as pure vectorised functions on minimisation arrays of
shape (n, m).

The hypervolume of a set of points is the measure of the region they dominate and that
dominates the reference point ``ref``; points that do not strictly dominate ``ref`` add
nothing. Two objectives: one sort and a sweep. Three: a sweep over the third objective that
keeps the staircase of the first two and its area. Four or more: the WFG algorithm (While,
Bradstreet and Barone 2012), exact, whose exclusive hypervolumes also give each point's
contribution.
"""

from __future__ import annotations

from bisect import bisect_left

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
    uniq, inverse = unique_rows(loss[rows])
    keep[rows] = _front_of_sorted(uniq)[inverse]
    return keep


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a float array (n, m) in lexicographic order, and where each row
    went (rows without NaN): ``np.unique(a, axis=0, return_inverse=True)`` by one `lexsort`,
    a fifth of the time on the small sets hypervolume subset selection makes by the thousand."""
    n = a.shape[0]
    if n == 0:
        return a, np.empty(0, dtype=np.int64)
    order = np.lexsort(a.T[::-1])
    ordered = a[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.any(ordered[1:] != ordered[:-1], axis=1, out=starts[1:])
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse


def _front_of_sorted(uniq: np.ndarray) -> np.ndarray:
    """Non-dominated mask of distinct rows in lexicographic order (none is dominated by a
    later one)."""
    if len(uniq) < 2:
        return np.ones(len(uniq), dtype=bool)
    if uniq.shape[1] == 2:  # a row is dominated iff an earlier one is as low on the second
        prior = np.minimum.accumulate(uniq[:-1, 1])  # (the first row: nothing earlier)
        return np.concatenate([[True], prior > uniq[1:, 1]])
    # Peel (as Optuna does): the first row left is on the front; drop it and every row it
    # dominates (no better anywhere). Cost O(front x n x m) instead of a pass per row.
    on_front = np.zeros(len(uniq), dtype=bool)
    left, index = uniq, np.arange(len(uniq))
    while len(left):
        on_front[index[0]] = True
        better_somewhere = np.any(left < left[0], axis=1)
        left, index = left[better_somewhere], index[better_somewhere]
    return on_front


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
        pts = unique_rows(pts)[0]
        pts = pts[_front_of_sorted(pts)]
    return pts


def _hv2(pts: np.ndarray, ref: np.ndarray) -> float:
    """Two objectives, points all below ``ref``: sort by the first, sweep the running minimum
    of the second."""
    order = np.argsort(pts[:, 0], kind="stable")
    x, y = pts[order, 0], np.minimum.accumulate(pts[order, 1])
    widths = np.diff(np.append(x, ref[0]))
    return float(np.sum(widths * (ref[1] - y)))


def _hv3(pts: np.ndarray, ref: np.ndarray) -> float:
    """Three objectives: sweep the points in order of the third, keeping the staircase of the
    first two (ascending x, descending y) and its area, which each point grows by what it
    adds; each slab up to the next point's third value adds that area times its height.
    O(n) list work a point in plain Python: the points are few (a hypervolume subset
    selection's limit sets), and one numpy sweep per slab cost ten times as much."""
    order = np.argsort(pts[:, 2], kind="stable")
    xs, ys, zs = pts[order].T.tolist()
    rx, ry, rz = (float(v) for v in ref)
    front_x: list[float] = []
    front_y: list[float] = []
    area = total = 0.0
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        lo = bisect_left(front_x, x)  # front_x[:lo] < x
        dominated = (lo > 0 and front_y[lo - 1] <= y) or (
            lo < len(front_x) and front_x[lo] == x and front_y[lo] <= y)
        if not dominated:
            height = front_y[lo - 1] if lo > 0 else ry  # the staircase above x, before
            pos, k = x, lo
            while k < len(front_x) and front_y[k] >= y:  # points the new one dominates
                area += (front_x[k] - pos) * (height - y)
                pos, height = front_x[k], front_y[k]
                k += 1
            area += ((front_x[k] if k < len(front_x) else rx) - pos) * (height - y)
            front_x[lo:k] = [x]
            front_y[lo:k] = [y]
        total += area * ((zs[i + 1] if i + 1 < len(zs) else rz) - zs[i])
    return total


def _limit(pts: np.ndarray, p: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The part of the region of ``pts`` inside the box of ``p``: each point made no better
    than ``p``, then the non-dominated distinct rest (WFG's limit set). With two or three
    objectives, only the points below ``ref``: their sweeps pass over dominated points and
    duplicates at no cost, where finding them costs more than the sweep."""
    limited: np.ndarray = np.maximum(pts, p)
    if limited.shape[1] <= 3:
        below: np.ndarray = limited[np.all(limited < ref, axis=1)]
        return below
    return _useful(limited, ref)


def _wfg(pts: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of distinct non-dominated points below ``ref``, any number of objectives
    (with two or three, of any points below it)."""
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


def _rows(loss: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``loss`` as rows of as many objectives as ``ref`` has (one point may be given flat);
    rows of another width are refused: a reshape read two 3-objective points with a 2-long
    reference point as three 2-objective ones."""
    rows = np.asarray(loss, dtype=float)
    m = np.size(ref)
    flat_point = rows.ndim == 1 and rows.size in (0, m)
    if flat_point or (rows.ndim == 2 and (rows.shape[1] == m or rows.size == 0)):
        return rows.reshape(-1, m)
    raise ValueError(f"the points have shape {rows.shape} and the reference point {m} "
                     "objectives: they must agree")


def hypervolume(loss: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume dominated by the rows of ``loss`` (n, m) and bounded by ``ref`` (m,)."""
    loss = _rows(loss, ref)
    ref = np.asarray(ref, dtype=float)
    pts = _useful(loss, ref)
    if pts.size and not (np.isfinite(pts).all() and np.isfinite(ref).all()):
        return float("inf")  # a box with an infinite side (the sweeps would make inf * 0)
    if pts.shape[1] == 1:
        return float(ref[0] - pts[:, 0].min()) if pts.size else 0.0
    return _wfg(pts, ref)


def hypervolume_contributions(loss: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Exclusive hypervolume of every row: what the set loses without it (0 for a dominated
    row, a duplicate or a row not dominating ``ref``)."""
    loss = _rows(loss, ref)
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
    loss = _rows(loss, ref)
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
