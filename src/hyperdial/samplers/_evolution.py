"""Kernels of evolutionary search, as pure numpy functions on the unit cube.

Individuals are rows of coordinates in [0, 1] (`hyperdial._encode`), so log scales, integers
and steps need no special case here: crossover and mutation move coordinates, decoding rounds
them. Objectives are minimisation arrays of shape (n, m); constraint values are (n, c) with
``<= 0`` feasible.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from hyperdial._pareto import front_ranks

#: A crossover: two parents' coordinates (d,) in, one child's coordinates (d,) out.
Crossover = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


# -- ranking ---------------------------------------------------------------------------------
def violations(constraints: np.ndarray) -> np.ndarray:
    """Total constraint violation of each row: the sum of its positive values (NaN counts as
    infinitely violated); 0 means feasible."""
    c = np.asarray(constraints, dtype=float)
    c = np.where(np.isnan(c), np.inf, c)
    out: np.ndarray = np.maximum(c, 0.0).sum(axis=1)
    return out


def feasible_first(loss: np.ndarray, violation: np.ndarray) -> np.ndarray:
    """One objective's losses (n,) remapped so that an order on them is Deb's feasibility
    rule: feasible rows keep their loss; infeasible ones come after every feasible row (and
    every finite loss of the batch), ordered by total violation. Losses are untouched when
    every row is feasible."""
    loss = np.asarray(loss, dtype=float)
    broken = violation > 0.0
    if not broken.any():
        return loss
    finite = loss[np.isfinite(loss)]
    ceiling = float(finite.max()) + 1.0 if finite.size else 0.0
    out: np.ndarray = np.where(broken, ceiling + violation, loss)
    return out


def constrained_ranks(loss: np.ndarray, violation: np.ndarray | None = None) -> np.ndarray:
    """Front of every row under Deb's constrained domination: feasible rows by their Pareto
    fronts, then every infeasible row after them, ordered by total violation (equal
    violations share a front). NaN losses count as infinitely bad."""
    loss = np.where(np.isnan(loss), np.inf, np.asarray(loss, dtype=float))
    n = loss.shape[0]
    feasible = np.ones(n, dtype=bool) if violation is None else violation <= 0.0
    ranks = np.empty(n, dtype=np.int64)
    ranks[feasible] = front_ranks(loss[feasible])
    if not feasible.all():
        base = int(ranks[feasible].max()) + 1 if feasible.any() else 0
        assert violation is not None
        _, level = np.unique(violation[~feasible], return_inverse=True)
        ranks[~feasible] = base + np.ravel(level)
    return ranks


def crowding_distance(loss: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of the rows of one front: per objective, the normalised gap
    between a row's neighbours, summed; the extreme rows of each objective get infinity."""
    loss = np.where(np.isnan(loss), np.inf, np.asarray(loss, dtype=float))
    n, m = loss.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(loss[:, j], kind="stable")
        v = loss[order, j]
        dist[order[[0, -1]]] = np.inf
        span = v[-1] - v[0]
        if np.isfinite(span) and span > 0:
            dist[order[1:-1]] += (v[2:] - v[:-2]) / span
    return dist


def crowding_by_front(loss: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Crowding distance of every row within its own front."""
    out = np.empty(loss.shape[0])
    for r in np.unique(ranks):
        members = ranks == r
        out[members] = crowding_distance(loss[members])
    return out


def select_elite(ranks: np.ndarray, crowding: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best rows: lower front first, then larger crowding distance, then
    lower index (NSGA-II's environmental selection)."""
    order = np.lexsort((np.arange(ranks.size), -crowding, ranks))
    return np.sort(order[:k])


def tournament(ranks: np.ndarray, crowding: np.ndarray, rng: np.random.Generator,
               n: int) -> np.ndarray:
    """Pick ``n`` distinct indices (when there are that many), each by a binary tournament:
    lower front wins, then larger crowding distance, then a coin toss."""
    size = ranks.size
    chosen: list[int] = []
    for _ in range(n):
        pool = np.setdiff1d(np.arange(size), chosen) if size > len(chosen) else np.arange(size)
        a, b = rng.choice(pool, size=2, replace=pool.size < 2)
        if ranks[a] != ranks[b]:
            win = a if ranks[a] < ranks[b] else b
        elif crowding[a] != crowding[b]:
            win = a if crowding[a] > crowding[b] else b
        else:
            win = a if rng.random() < 0.5 else b
        chosen.append(int(win))
    return np.array(chosen, dtype=np.int64)


# -- crossover -------------------------------------------------------------------------------
def sbx(p1: np.ndarray, p2: np.ndarray, rng: np.random.Generator, eta: float = 20.0,
        prob_per_gene: float = 0.5) -> np.ndarray:
    """Simulated binary crossover bounded to [0, 1] (Deb and Agrawal 1995; Deb's bounded
    form): each gene crosses with ``prob_per_gene`` into one of its two offspring values, at
    random; the others keep the first parent's value."""
    y1, y2 = np.minimum(p1, p2), np.maximum(p1, p2)
    gap = y2 - y1
    u = rng.random(p1.shape)
    side = rng.random(p1.shape) < 0.5
    cross = (rng.random(p1.shape) < prob_per_gene) & (gap > 1e-14)
    safe = np.where(gap > 1e-14, gap, 1.0)
    beta = np.where(side, 1.0 + 2.0 * y1 / safe, 1.0 + 2.0 * (1.0 - y2) / safe)
    alpha = 2.0 - beta ** -(eta + 1.0)
    betaq = np.where(u <= 1.0 / alpha, (u * alpha) ** (1.0 / (eta + 1.0)),
                     (1.0 / np.maximum(2.0 - u * alpha, 1e-300)) ** (1.0 / (eta + 1.0)))
    child = np.where(side, 0.5 * (y1 + y2 - betaq * gap), 0.5 * (y1 + y2 + betaq * gap))
    out: np.ndarray = np.where(cross, np.clip(child, 0.0, 1.0), p1)
    return out


def uniform(p1: np.ndarray, p2: np.ndarray, rng: np.random.Generator,
            swapping_prob: float = 0.5) -> np.ndarray:
    """Uniform crossover: each gene from the second parent with ``swapping_prob``."""
    out: np.ndarray = np.where(rng.random(p1.shape) < swapping_prob, p2, p1)
    return out


def blx_alpha(p1: np.ndarray, p2: np.ndarray, rng: np.random.Generator,
              alpha: float = 0.5) -> np.ndarray:
    """BLX-alpha (Eshelman and Schaffer 1993): uniform in the parents' interval widened by
    ``alpha`` of its length on both sides, clipped to [0, 1]."""
    lo, hi = np.minimum(p1, p2), np.maximum(p1, p2)
    d = hi - lo
    out: np.ndarray = np.clip(rng.uniform(lo - alpha * d, hi + alpha * d), 0.0, 1.0)
    return out


# -- mutation --------------------------------------------------------------------------------
def polynomial_mutation(x: np.ndarray, rng: np.random.Generator, prob: float,
                        eta: float = 20.0) -> np.ndarray:
    """Deb's bounded polynomial mutation on [0, 1]: each gene moves with probability ``prob``,
    by a perturbation whose spread shrinks as ``eta`` grows."""
    u = rng.random(x.shape)
    hit = rng.random(x.shape) < prob
    power = 1.0 / (eta + 1.0)
    low = u < 0.5
    d1, d2 = x, 1.0 - x  # distances to the bounds (the range is 1)
    left = (2.0 * u + (1.0 - 2.0 * u) * (1.0 - d1) ** (eta + 1.0)) ** power - 1.0
    right = 1.0 - (2.0 * (1.0 - u) + 2.0 * (u - 0.5) * (1.0 - d2) ** (eta + 1.0)) ** power
    moved = np.clip(x + np.where(low, left, right), 0.0, 1.0)
    out: np.ndarray = np.where(hit, moved, x)
    return out


# -- NSGA-III --------------------------------------------------------------------------------
def reference_points(n_objectives: int, divisions: int) -> np.ndarray:
    """Das and Dennis's structured points on the unit simplex: every vector of multiples of
    ``1 / divisions`` that sums to 1, shape (C(divisions + m - 1, m - 1), m)."""
    m, h = n_objectives, divisions
    rows = []
    for bars in itertools.combinations(range(h + m - 1), m - 1):  # stars and bars
        edges = np.array([-1, *bars, h + m - 1])
        rows.append(np.diff(edges) - 1)
    return np.array(rows, dtype=float) / h


def normalize(loss: np.ndarray) -> np.ndarray:
    """NSGA-III's normalisation: translate by the ideal point, then divide by the intercepts
    of the hyperplane through the extreme points (the per-objective maxima when that plane is
    degenerate)."""
    shifted = loss - loss.min(axis=0)
    m = loss.shape[1]
    weights = np.full((m, m), 1e-6) + np.eye(m) * (1.0 - 1e-6)
    asf = np.max(shifted[None, :, :] / weights[:, None, :], axis=2)  # (axis, point)
    extreme = shifted[np.argmin(asf, axis=1)]
    nadir = shifted.max(axis=0)
    try:
        intercepts = 1.0 / np.linalg.solve(extreme, np.ones(m))
    except np.linalg.LinAlgError:
        intercepts = nadir
    if not np.all(np.isfinite(intercepts)) or np.any(intercepts <= 1e-10):
        intercepts = nadir
    intercepts = np.where(intercepts > 1e-10, intercepts, 1.0)
    out: np.ndarray = shifted / intercepts
    return out


def associate(points: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest reference line (through the origin) of every normalised point, and the
    perpendicular distance to it."""
    unit = refs / np.linalg.norm(refs, axis=1, keepdims=True)
    proj = points @ unit.T  # (n, r) lengths along each line
    sq = np.maximum((points * points).sum(axis=1, keepdims=True) - proj ** 2, 0.0)
    nearest = np.argmin(sq, axis=1)
    return nearest, np.sqrt(sq[np.arange(points.shape[0]), nearest])


def niche_select(ranks: np.ndarray, loss: np.ndarray, k: int, refs: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """NSGA-III's environmental selection of ``k`` rows: whole fronts while they fit, then
    rows of the splitting front one at a time from the least crowded reference line (nearest
    to the line when the niche is empty, else at random)."""
    order = np.argsort(ranks, kind="stable")
    sorted_ranks = ranks[order]
    fits = sorted_ranks <= sorted_ranks[k - 1]
    pool = order[fits]  # every front up to the splitting one
    last = int(sorted_ranks[k - 1])
    chosen = list(pool[ranks[pool] < last])
    if len(pool) == k:
        return np.sort(pool)
    pts = loss[pool]
    finite = np.isfinite(pts)
    worst = np.where(finite, pts, -np.inf).max(axis=0)  # infinite losses count as the worst
    norm = normalize(np.where(finite, pts, np.where(np.isfinite(worst), worst, 0.0)))
    line, dist = associate(norm, refs)
    in_last = ranks[pool] == last
    count = np.bincount(line[~in_last], minlength=refs.shape[0])
    open_lines = np.ones(refs.shape[0], dtype=bool)
    left = np.flatnonzero(in_last)
    while len(chosen) < k:
        lowest = np.flatnonzero(open_lines & (count == count[open_lines].min()))
        j = int(rng.choice(lowest))
        members = left[line[left] == j]
        if members.size == 0:
            open_lines[j] = False
            continue
        pick = int(members[np.argmin(dist[members])] if count[j] == 0 else rng.choice(members))
        chosen.append(int(pool[pick]))
        left = left[left != pick]
        count[j] += 1
    return np.sort(np.array(chosen, dtype=np.int64))
