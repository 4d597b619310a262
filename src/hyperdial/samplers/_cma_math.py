"""CMA-ES kernels: pure numpy functions over small frozen states.

Hansen's (mu/mu_w, lambda)-CMA-ES with rank-one and rank-mu covariance updates and cumulative
step-size adaptation (Hansen 2016, "The CMA Evolution Strategy: A Tutorial"), with

- a diagonal variant (sep-CMA, Ros & Hansen 2008) whose faster learning rates suit many
  dimensions,
- the margin of Hamano et al. (2022) for discrete coordinates: a diagonal scaling ``A`` and a
  mean correction keep at least ``alpha`` of the probability outside the current bin, so
  integers never freeze,
- IPOP / BIPOP restarts (Auger & Hansen 2005; Hansen 2009) after the usual termination tests,
- warm starting from solutions of a similar task (WS-CMA-ES, Nomura et al. 2021),
- categorical coordinates as in CatCMA (Hamano et al. 2024): a categorical distribution per
  parameter beside the Gaussian, ranked by the same losses and updated by the adaptive
  stochastic natural gradient (ASNG, Akimoto et al. 2019), with a margin on each probability.

Solutions live in the unit cube of `hyperdial._encode`: ``x = m + sigma * A * y`` with
``y ~ N(0, C)``. The sampler in `hyperdial.samplers.cmaes` owns the bookkeeping around these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist

import numpy as np

# The standard normal's cdf and quantile, elementwise (stdlib: `import hyperdial` stays free
# of scipy). They run on one value per discrete coordinate, so speed does not matter.
_cdf = np.vectorize(NormalDist().cdf, otypes=[float])
_ppf = np.vectorize(NormalDist().inv_cdf, otypes=[float])


def _ndtr(x: np.ndarray) -> np.ndarray:
    return np.asarray(_cdf(x), dtype=float)


def _ndtri(p: np.ndarray | float) -> np.ndarray:
    return np.asarray(_ppf(p), dtype=float)


@dataclass(frozen=True, eq=False)
class Strategy:
    """Constants of one run: population, recombination weights and learning rates."""

    dim: int
    popsize: int
    weights: np.ndarray  # one per rank: the best mu positive (summing to 1), then negative ones
    mueff: float
    cc: float
    cs: float
    c1: float
    cmu: float
    damps: float
    chi_n: float
    separable: bool

    @property
    def mu(self) -> int:
        return int(np.count_nonzero(self.weights > 0))


def default_popsize(dim: int) -> int:
    """Hansen's default population size, ``4 + floor(3 ln d)``."""
    return 4 + math.floor(3 * math.log(dim))


def strategy(dim: int, popsize: int | None = None, separable: bool = False) -> Strategy:
    """The default constants for ``dim`` dimensions (Hansen 2016, table 1, with the negative
    weights of active CMA); sep-CMA keeps only the positive weights and scales ``c1`` and ``cmu``
    by ``(d + 2) / 3``."""
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    lam = default_popsize(dim) if popsize is None else int(popsize)
    if lam < 2:
        raise ValueError(f"popsize must be >= 2, got {lam}")
    mu = lam // 2
    raw = math.log((lam + 1) / 2) - np.log(np.arange(1, lam + 1))
    pos, neg = raw[:mu], raw[mu:]
    mueff = float(pos.sum() ** 2 / np.sum(pos**2))
    d = float(dim)
    cc = (4 + mueff / d) / (d + 4 + 2 * mueff / d)
    cs = (mueff + 2) / (d + mueff + 5)
    c1 = 2 / ((d + 1.3) ** 2 + mueff)
    cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((d + 2) ** 2 + mueff))
    if separable:
        c1, cmu = c1 * (d + 2) / 3, cmu * (d + 2) / 3
        cmu = min(cmu, 1 - c1)
    if separable or cmu <= 0 or not np.any(neg < 0):
        neg_scale = 0.0
    else:
        mueff_neg = float(neg.sum() ** 2 / np.sum(neg**2))
        neg_scale = min(1 + c1 / cmu, 1 + 2 * mueff_neg / (mueff + 2),
                        (1 - c1 - cmu) / (d * cmu)) / float(np.abs(neg).sum())
    weights = np.concatenate([pos / pos.sum(), np.minimum(neg, 0.0) * neg_scale])
    damps = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (d + 1)) - 1) + cs
    chi_n = math.sqrt(d) * (1 - 1 / (4 * d) + 1 / (21 * d * d))
    return Strategy(dim, lam, weights, mueff, cc, cs, c1, cmu, damps, chi_n, separable)


@dataclass(frozen=True, eq=False)
class Grid:
    """Bins of the discrete coordinates, for the margin.

    ``edges`` holds the interior bin edges of every discrete coordinate, those of coordinate
    ``j`` shifted by ``2 j`` (the cube is [0, 1]) so that one sorted array serves them all.
    """

    discrete: np.ndarray
    edges: np.ndarray


def grid(dim: int, edges: dict[int, np.ndarray]) -> Grid:
    """A `Grid` from the interior bin edges (in [0, 1]) of each discrete coordinate."""
    discrete = np.zeros(dim, dtype=bool)
    parts = [np.empty(0)]
    for j, e in sorted(edges.items()):
        discrete[j] = True
        parts.append(np.sort(np.asarray(e, dtype=float)) + 2.0 * j)
    return Grid(discrete, np.concatenate(parts))


def bins(g: Grid, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edge of the bin that holds each coordinate of ``x`` (-inf / inf at the
    ends of the range; -inf / inf for continuous coordinates)."""
    j = np.arange(x.size)
    if g.edges.size == 0:
        return np.full(x.size, -np.inf), np.full(x.size, np.inf)
    shifted = np.clip(x, 0.0, 1.0) + 2.0 * j
    pos = np.searchsorted(g.edges, shifted, side="right")
    below = g.edges[np.maximum(pos - 1, 0)] - 2.0 * j
    above = g.edges[np.minimum(pos, g.edges.size - 1)] - 2.0 * j
    lo = np.where((pos > 0) & (below >= 0.0) & (below <= 1.0) & g.discrete, below, -np.inf)
    hi = np.where((pos < g.edges.size) & (above >= 0.0) & (above <= 1.0) & g.discrete,
                  above, np.inf)
    return lo, hi


@dataclass(frozen=True, eq=False)
class State:
    """One generation of a run. ``cov`` is ``(d, d)``, or ``(d,)`` variances for sep-CMA;
    ``basis`` and ``scale`` are its eigenvectors and the square roots of its eigenvalues."""

    strategy: Strategy
    mean: np.ndarray
    sigma: float
    cov: np.ndarray
    basis: np.ndarray
    scale: np.ndarray
    ps: np.ndarray
    pc: np.ndarray
    margin: np.ndarray  # the diagonal scaling A (ones for continuous coordinates)
    sigma0: float
    generation: int = 0
    cat: Categories | None = None  # the categorical part (CatCMA), if any
    best: np.ndarray = field(default_factory=lambda: np.empty(0))  # per recent generation
    spread: float = math.inf  # range of the losses of the last generation


@dataclass(frozen=True, eq=False)
class Categories:
    """The categorical part of CatCMA (Hamano et al. 2024): one distribution per parameter.

    ``q[i, :counts[i]]`` are parameter ``i``'s probabilities (zero-padded to the widest),
    never below ``q_min[i]``; ``path``, ``gamma`` and ``trust`` are the state of ASNG's
    adaptive step (Akimoto et al. 2019): the accumulated normalised natural gradient, its
    expected squared length under no signal, and the inverse trust-region radius Delta.
    """

    counts: np.ndarray
    q: np.ndarray
    q_min: np.ndarray
    path: np.ndarray
    gamma: float = 0.0
    trust: float = 1.0


def categories(counts: Sequence[int]) -> Categories:
    """Uniform distributions over ``counts`` choices each, with CatCMA's margin
    ``q_min = (1 - 0.73^(1/n)) / (K - 1)`` for ``n`` categorical parameters."""
    k = np.asarray(counts, dtype=int)
    if k.ndim != 1 or k.size == 0 or np.any(k < 2):
        raise ValueError(f"categorical parameters need at least 2 choices each, got {counts}")
    q = np.zeros((k.size, int(k.max())))
    for i, n in enumerate(k):
        q[i, :n] = 1.0 / n
    q_min = (1 - 0.73 ** (1 / k.size)) / (k - 1)
    return Categories(k, q, q_min, np.zeros(int(np.sum(k - 1))))


def sample_categories(cat: Categories, rng: np.random.Generator, n: int = 1) -> np.ndarray:
    """``n`` rows of choice indices, one column per parameter."""
    u = rng.random((n, cat.counts.size, 1))
    picked = np.sum(np.cumsum(cat.q, axis=1)[None] <= u, axis=2)
    out: np.ndarray = np.minimum(picked, cat.counts - 1)
    return out


def update_categories(cat: Categories, choices: np.ndarray, weights: np.ndarray) -> Categories:
    """One ASNG step of the probabilities from ``choices`` (rows of indices, best first) and
    their recombination ``weights`` (only the positive ones count), then the margin."""
    w = np.maximum(np.asarray(weights, dtype=float), 0.0)
    k, kmax = cat.counts, cat.q.shape[1]
    onehot = (np.asarray(choices, dtype=int)[:, :, None] == np.arange(kmax)).astype(float)
    grad = np.einsum("r,rik->ik", w, onehot - cat.q[None])  # natural gradient in q
    # The natural gradient in the Fisher metric's square root (Akimoto et al. 2019, app. B).
    parts = []
    for i, n in enumerate(k):
        qi, last, g = cat.q[i, :n - 1], cat.q[i, n - 1], grad[i, :n - 1]
        parts.append(g / np.sqrt(qi) + np.sqrt(qi) * g.sum() / (last + math.sqrt(last)))
    sqf = np.concatenate(parts)
    norm = float(np.linalg.norm(sqf)) + 1e-30
    delta = 1.0 / cat.trust
    q = cat.q + (delta / norm) * grad
    beta = delta / math.sqrt(sqf.size)
    path = (1 - beta) * cat.path + math.sqrt(beta * (2 - beta)) * sqf / norm
    gamma = (1 - beta) ** 2 * cat.gamma + beta * (2 - beta)
    trust = cat.trust * math.exp(beta * (gamma - float(path @ path) / 1.5))
    for i, n in enumerate(k):  # the margin: lift small probabilities, keep the sum at 1
        row = np.maximum(q[i, :n], cat.q_min[i])
        total = row.sum()
        row -= (total - 1) * (row - cat.q_min[i]) / (total - cat.q_min[i] * n)
        q[i, :n] = row / row.sum()
    return replace(cat, q=q, path=path, gamma=gamma, trust=trust)


def _eigen(cov: np.ndarray, separable: bool) -> tuple[np.ndarray, np.ndarray]:
    if separable:
        return np.empty((0, 0)), np.sqrt(np.maximum(cov, 1e-300))
    vals, vecs = np.linalg.eigh(cov)
    return vecs, np.sqrt(np.maximum(vals, 1e-300))


def initial_state(mean: np.ndarray, sigma: float, cov: np.ndarray | None = None,
                  popsize: int | None = None, separable: bool = False,
                  counts: Sequence[int] = ()) -> State:
    """A fresh run at ``mean`` with step size ``sigma`` and covariance ``cov`` (identity),
    and uniform categorical distributions over ``counts`` choices (CatCMA; each at least 2).
    The default population counts the categorical parameters among the dimensions."""
    mean = np.asarray(mean, dtype=float)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if popsize is None and counts:
        popsize = default_popsize(mean.size + len(counts))
    s = strategy(mean.size, popsize, separable)
    if cov is None:
        c = np.ones(s.dim) if separable else np.eye(s.dim)
    else:
        c = np.diag(cov).copy() if separable else np.asarray(cov, dtype=float)
    basis, scale = _eigen(c, separable)
    zeros = np.zeros(s.dim)
    return State(s, mean, float(sigma), c, basis, scale, zeros, zeros, np.ones(s.dim),
                 float(sigma), cat=categories(counts) if len(counts) else None)


def _to_y(state: State, z: np.ndarray) -> np.ndarray:
    """``y = B D z`` row-wise (``D z`` for sep-CMA): z ~ N(0, I) becomes y ~ N(0, C)."""
    out: np.ndarray = z * state.scale
    if not state.strategy.separable:
        out = out @ state.basis.T
    return out


def _whiten(state: State, y: np.ndarray) -> np.ndarray:
    """``C^(-1/2) y`` row-wise."""
    if state.strategy.separable:
        out: np.ndarray = y / state.scale
        return out
    out = ((y @ state.basis) / state.scale) @ state.basis.T
    return out


def sample(state: State, rng: np.random.Generator, n: int = 1,
           max_tries: int = 4) -> np.ndarray:
    """``n`` solutions in [0, 1]^d. Each is redrawn (in rounds of 16) until it lies inside the
    cube, and clipped into it after ``max_tries`` rounds."""
    d = state.strategy.dim
    out = np.empty((n, d))
    for i in range(n):
        x = state.mean + state.sigma * state.margin * _to_y(state, rng.standard_normal((1, d)))
        for tries in range(max_tries + 1):  # the first draw, then max_tries rounds
            inside = np.flatnonzero(np.all((x >= 0.0) & (x <= 1.0), axis=1))
            if inside.size:
                x = x[inside[:1]]
                break
            if tries < max_tries:  # (the last round was drawn and never looked at: 49 of 65)
                x = state.mean + state.sigma * state.margin * _to_y(
                    state, rng.standard_normal((16, d)))
        out[i] = np.clip(x[0], 0.0, 1.0)
    return out


def history_length(s: Strategy) -> int:
    """Generations the tolfun test looks back over, ``10 + ceil(30 d / lambda)``."""
    return 10 + math.ceil(30 * s.dim / s.popsize)


def update(state: State, x: np.ndarray, losses: np.ndarray, g: Grid | None = None,
           choices: np.ndarray | None = None) -> State:
    """The next generation from solutions ``x`` (rows in the cube) and their losses, with
    their ``choices`` (rows of choice indices) when the state has a categorical part.

    Any number of rows is accepted (the best ``mu`` are recombined, the best ``lambda`` enter
    the covariance, the worst of them with negative weights); rows need not come from
    `sample`: as for injected solutions, each step is clipped to a Mahalanobis length of
    ``sqrt(d) + 2d / (d + 2)``. Non-finite losses rank last.
    """
    s = state.strategy
    losses = np.where(np.isnan(losses), np.inf, np.asarray(losses, dtype=float))
    order = np.argsort(losses, kind="stable")[:s.popsize]
    w = s.weights[:order.size].copy()
    top = w > 0
    w[top] /= w[top].sum()
    y = (np.asarray(x, dtype=float)[order] - state.mean) / (state.sigma * state.margin)
    white = _whiten(state, y)
    length = np.linalg.norm(white, axis=1)
    cap = math.sqrt(s.dim) + 2 * s.dim / (s.dim + 2)
    shrink = np.minimum(1.0, cap / np.maximum(length, 1e-300))[:, None]
    y, white = y * shrink, white * shrink
    y_w, white_w = w[top] @ y[top], w[top] @ white[top]
    mean = state.mean + state.sigma * state.margin * y_w
    ps = (1 - s.cs) * state.ps + math.sqrt(s.cs * (2 - s.cs) * s.mueff) * white_w
    gen = state.generation + 1
    ps_norm = float(np.linalg.norm(ps))
    h_sigma = ps_norm / math.sqrt(1 - (1 - s.cs) ** (2 * gen)) < (1.4 + 2 / (s.dim + 1)) * s.chi_n
    pc = (1 - s.cc) * state.pc + h_sigma * math.sqrt(s.cc * (2 - s.cc) * s.mueff) * y_w
    lost = (1 - h_sigma) * s.cc * (2 - s.cc)  # variance the stalled rank-one path misses
    decay = 1 - s.c1 - s.cmu * float(w.sum()) + s.c1 * lost
    # Negative weights act on directions rescaled to length sqrt(d), keeping C positive.
    w_cov = np.where(w >= 0, w, w * s.dim / np.maximum(np.sum(white**2, axis=1), 1e-300))
    if s.separable:
        cov = decay * state.cov + s.c1 * pc**2 + s.cmu * (w_cov @ y**2)
    else:
        cov = (decay * state.cov + s.c1 * np.outer(pc, pc)
               + s.cmu * (y.T * w_cov) @ y)
        cov = (cov + cov.T) / 2
    sigma = state.sigma * math.exp(min(1.0, (s.cs / s.damps) * (ps_norm / s.chi_n - 1)))
    basis, scale = _eigen(cov, s.separable)
    finite = losses[np.isfinite(losses)]
    spread = float(np.ptp(finite)) if finite.size else math.inf
    best = np.append(state.best, losses[order[0]])[-history_length(s):]
    cat = state.cat
    if cat is not None:
        if choices is None:
            raise ValueError("a state with categorical parameters needs their choices")
        cat = update_categories(cat, np.asarray(choices)[order], w)
    new = replace(state, mean=mean, sigma=sigma, cov=cov, basis=basis, scale=scale, ps=ps,
                  pc=pc, generation=gen, best=best, spread=spread, cat=cat)
    return apply_margin(new, g) if g is not None and g.discrete.any() else new


def apply_margin(state: State, g: Grid) -> State:
    """Hamano et al.'s margin: keep at least ``alpha = 1 / (d lambda)`` of each discrete
    coordinate's marginal outside the bin of the mean.

    At the end of the range (one neighbouring bin) the mean moves towards the edge until
    ``alpha`` crosses it. Inside the range, each tail below ``alpha / 2`` is raised to it by
    solving for the mean and the scale ``A`` that put the bin's edges at those quantiles.
    """
    s = state.strategy
    mean, margin = state.mean.copy(), state.margin.copy()
    sd = np.sqrt(np.diag(state.cov) if not s.separable else state.cov)
    scale = state.sigma * margin * sd
    lo, hi = bins(g, mean)
    p_lo = _ndtr((lo - mean) / scale)
    p_hi = _ndtr((mean - hi) / scale)
    alpha = 1.0 / (s.dim * s.popsize)
    # End bins: one finite edge.
    one = g.discrete & (np.isinf(lo) ^ np.isinf(hi))
    edge = np.where(np.isinf(lo), hi, lo)
    cross = np.where(np.isinf(lo), p_hi, p_lo)
    push = one & (cross < alpha)
    side = np.where(np.isinf(lo), 1.0, -1.0)  # direction from the edge back into the bin
    mean = np.where(push, edge - side * scale * _ndtri(1 - alpha), mean)
    # Interior bins: two finite edges.
    two = g.discrete & np.isfinite(lo) & np.isfinite(hi)
    q_lo, q_hi = np.maximum(p_lo, alpha / 2), np.maximum(p_hi, alpha / 2)
    fix = two & ((p_lo < alpha / 2) | (p_hi < alpha / 2))
    if fix.any():
        k_lo, k_hi = _ndtri(1 - q_lo[fix]), _ndtri(1 - q_hi[fix])
        width = (hi[fix] - lo[fix]) / (k_lo + k_hi)  # the new sigma * A * sd
        mean[fix] = lo[fix] + k_lo * width
        margin[fix] = width / (state.sigma * sd[fix])
    return replace(state, mean=mean, margin=margin)


def should_stop(state: State, tolfun: float = 1e-12, tolx: float = 1e-12) -> bool:
    """Hansen's termination tests: tolfun (recent best losses and the last generation within
    ``tolfun``), tolx, tolupsigma, condition number of C above 1e14, no effect of a principal
    axis or of a coordinate on the mean, and non-finite numbers."""
    s = state.strategy
    if not (np.all(np.isfinite(state.mean)) and math.isfinite(state.sigma)
            and np.all(np.isfinite(state.cov))):
        return True
    if state.best.size >= history_length(s) and state.spread < tolfun and \
            float(np.ptp(state.best)) < tolfun:
        return True
    sd = np.sqrt(state.cov if s.separable else np.diag(state.cov))
    step = state.sigma * state.margin
    if np.all(step * sd < tolx) and np.all(step * np.abs(state.pc) < tolx):
        return True
    if state.sigma / state.sigma0 > 1e20 * float(state.scale.max()):
        return True
    if (float(state.scale.max()) / float(state.scale.min())) ** 2 > 1e14:
        return True
    i = state.generation % s.dim
    axis = state.scale[i] * (np.eye(s.dim)[i] if s.separable else state.basis[:, i])
    if np.all(state.mean == state.mean + 0.1 * step * axis):
        return True
    return bool(np.any(state.mean == state.mean + 0.2 * step * sd))


@dataclass(frozen=True)
class Restarts:
    """Bookkeeping of IPOP / BIPOP: runs so far, large-population runs, and the evaluations
    spent in each regime (the first run counts as a large one)."""

    popsize0: int
    sigma0: float
    runs: int = 0
    n_large: int = 0
    evals_large: int = 0
    evals_small: int = 0
    small: bool = False  # the current run is a small-population one


def restart(r: Restarts, spent: int, rule: str, rng: np.random.Generator,
            inc_popsize: float = 2.0) -> tuple[Restarts, int, float]:
    """After a run that spent ``spent`` evaluations: the bookkeeping, population and step size
    of the next one. ``ipop`` multiplies the population by ``inc_popsize``; ``bipop`` runs a
    small population with a random smaller step size while the small runs have spent less
    than the large ones."""
    if r.small:
        r = replace(r, evals_small=r.evals_small + spent)
    else:
        r = replace(r, evals_large=r.evals_large + spent)
    if rule == "ipop":
        n_large = r.n_large + 1
        popsize = math.floor(r.popsize0 * inc_popsize**n_large)
        return replace(r, runs=r.runs + 1, n_large=n_large, small=False), popsize, r.sigma0
    if rule != "bipop":
        raise ValueError(f"restart rule must be 'ipop' or 'bipop', got {rule!r}")
    if r.runs > 0 and r.evals_small < r.evals_large:
        u = rng.random(2)
        large = r.popsize0 * inc_popsize**r.n_large
        popsize = max(2, math.floor(r.popsize0 * (0.5 * large / r.popsize0) ** (u[0] ** 2)))
        sigma = r.sigma0 * 10.0 ** (-2.0 * u[1])
        return replace(r, runs=r.runs + 1, small=True), popsize, sigma
    n_large = r.n_large + 1
    popsize = math.floor(r.popsize0 * inc_popsize**n_large)
    return replace(r, runs=r.runs + 1, n_large=n_large, small=False), popsize, r.sigma0


def warm_start(x: np.ndarray, losses: np.ndarray, gamma: float = 0.1,
               alpha: float = 0.1) -> tuple[np.ndarray, float, np.ndarray]:
    """WS-CMA-ES: the mean, step size and covariance (det 1) of the Gaussian that matches the
    mixture of ``N(x_i, alpha^2 I)`` over the best ``gamma`` share of source solutions."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError("warm start needs at least one source solution")
    n_top = max(1, math.floor(gamma * x.shape[0]))
    top = x[np.argsort(np.asarray(losses, dtype=float), kind="stable")[:n_top]]
    mean = top.mean(axis=0)
    diff = top - mean
    cov = alpha**2 * np.eye(x.shape[1]) + diff.T @ diff / n_top
    sign, logdet = np.linalg.slogdet(cov)
    sigma = math.exp(logdet / (2 * x.shape[1])) if sign > 0 else alpha
    return mean, sigma, cov / sigma**2
