"""Parzen estimators for TPE, as pure vectorised numpy functions.

Coordinates: every numeric parameter lives in [0, 1] (`to_coords`), log scales already taken
by the encoding of `hyperdial._encode`; a discrete parameter (integer or stepped float) with
``n`` values owns ``n`` contiguous bins of [0, 1] (equal bins on a linear scale, the bins
``[log(v - 0.5), log(v + 0.5)]`` for a log-scaled integer). Categorical parameters are indices.

A `Mixture` is a weighted sum of product kernels, one per observation plus one prior kernel:
a Gaussian truncated to [0, 1] in every numeric dimension (for a discrete dimension the mass
it puts on the value's bin) times, for every categorical dimension, a distribution that puts
most of its weight on the observed choice and smooths the rest uniformly. The arrays have an
observation axis and a dimension axis; no function loops over observations in Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperdial._encode import _int_log_bounds, decode_column, encode_column, n_values
from hyperdial.space import Categorical, Float, Int

#: Sigma of the Scott-like multivariate rule at one observation, as a fraction of the range.
SIGMA0 = 0.2
#: Without a fixed floor (``min_bandwidth=None``), the smallest bandwidth is
#: ``1 / min(MAGIC_CLIP_MAX, n_kernels + 1)`` of the range, the prior kernel counted among the
#: kernels (hyperopt's ``1 + len(mus)``, Optuna's rule).
MAGIC_CLIP_MAX = 100.0
#: `TPESampler`'s default fixed floor of every bandwidth, as a fraction of the range (Watanabe
#: 2023's "minimum bandwidth factor" with the magic clip's exponent taken to infinity).
MIN_BANDWIDTH = 0.05
_TINY = 1e-300
#: Weight of a good observation that should barely count (dominated or infeasible).
WEIGHT_FLOOR = 1e-12
#: More bins than this (an int range past 2**53 values) are modelled as a continuous range:
#: their edges ``k / n`` no longer differ as floats, and past ~1e308 ``n`` is no float at all.
_FINEST_BINS = 2**53
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# -- coordinates ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dim:
    """How one numeric parameter maps to [0, 1]: ``kind`` is "cont", "bins" (``n`` equal bins)
    or "logint" (log-scaled integers ``low .. high``, log bounds ``lo, hi``)."""

    kind: str
    n: int = 0
    lo: float = 0.0
    hi: float = 1.0
    low: int = 0
    high: int = 0


def dim_of(d: Float | Int) -> Dim:
    """The coordinate description of a numeric distribution."""
    if isinstance(d, Int) and d.log:
        lo, hi = _int_log_bounds(d)
        return Dim("logint", lo=lo, hi=hi, low=d.low, high=d.high)
    n = n_values(d)
    if n is None or n > _FINEST_BINS:  # finer than floats resolve [0, 1]: continuous
        return Dim("cont")  # (decoding still puts every value on the grid)
    return Dim("bins", n=n)


def bin_edges(dim: Dim, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edges of the bins holding the points ``z`` (discrete dimensions)."""
    z = np.clip(z, 0.0, 1.0)
    if dim.kind == "bins":
        k = np.clip(np.floor(z * dim.n), 0, dim.n - 1)
        return k / dim.n, (k + 1.0) / dim.n
    v = np.clip(np.round(np.exp(dim.lo + z * (dim.hi - dim.lo))), dim.low, dim.high)
    span = dim.hi - dim.lo
    return (np.log(v - 0.5) - dim.lo) / span, (np.log(v + 0.5) - dim.lo) / span


def to_coords(d: Float | Int, values: Sequence[Any]) -> np.ndarray:
    """Coordinates of parameter values (None gives NaN): the encoding, which puts a discrete
    value at the centre of its bin."""
    return encode_column(d, values)


def from_coords(d: Float | Int, z: np.ndarray) -> list[Any]:
    """Parameter values of coordinates (always in bounds and on the step): the decoding, by
    the bin that holds each point."""
    return decode_column(d, np.asarray(z, dtype=float))


def category_index(d: Categorical, values: Sequence[Any]) -> np.ndarray:
    """Choice indices of categorical values."""
    return np.array([d.index(v) for v in values], dtype=np.int64)


# -- the good / bad split ------------------------------------------------------------------------
def default_gamma(n: int) -> int:
    """Optuna's default size of the good set: ``min(ceil(0.1 n), 25)``."""
    return min(math.ceil(0.1 * n), 25)


def default_weights(n: int) -> np.ndarray:
    """Observation weights by age (oldest first): flat for the newest 25, a ramp before them."""
    if n == 0:
        return np.empty(0)
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)])


def good_shares(n: int, n_good: int, loss: np.ndarray | None = None) -> np.ndarray:
    """Share of each of ``n`` ranked observations (best first) in the good set: 1 for the first
    ``n_good``, 0 after them, except for ties. Where the losses of the first ``loss.size``
    observations tie across the boundary, every tied observation gets the same share, the
    good set's free places divided among them (plateaus of accuracy-like metrics tie often;
    the rank order among tied trials carries no information)."""
    share = (np.arange(n) < n_good).astype(float)
    if loss is not None and 0 < n_good < loss.size:
        tied = np.zeros(n, dtype=bool)
        tied[:loss.size] = loss == loss[n_good - 1]
        n_tied, inside = int(tied.sum()), int(tied[:n_good].sum())
        if n_tied > inside:
            share[tied] = inside / n_tied
    return share


def rank_weights(n: int, loss: np.ndarray | None = None) -> np.ndarray:
    """Weights of ``n`` good observations ranked best first: ``1 / (1 + rank)``, so that
    ``l(x)`` centres on the very best trials rather than on the whole good set (its kernels
    stay, only lighter: the good set still spreads the proposals). Observations whose losses
    (``loss``: the sorted losses of the first ones) tie share the mean of their ranks."""
    rank = np.arange(n, dtype=float)
    if loss is not None and loss.size and n:
        head = loss[:n]
        _, first, inverse, counts = np.unique(head, return_index=True, return_inverse=True,
                                              return_counts=True)
        rank[:head.size] = (first + 0.5 * (counts - 1))[inverse]
    out: np.ndarray = 1.0 / (1.0 + rank)
    return out


def _reference_point(loss: np.ndarray) -> np.ndarray:
    """A hypervolume reference point just beyond the worst of ``loss`` in every objective
    (a tenth of the spread further, or of the magnitude when the spread is zero)."""
    worst, best = loss.max(axis=0), loss.min(axis=0)
    margin = np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    out: np.ndarray = worst + 0.1 * margin
    return out


def nondominated_rank(loss: np.ndarray, n_needed: int) -> np.ndarray:
    """Order of the rows of a minimisation ``loss`` (n, m): Pareto fronts first to last, peeled
    until ``n_needed`` rows are placed. The front that crosses ``n_needed`` is split by greedy
    hypervolume subset selection (as Optuna's MOTPE): its rows that add the most hypervolume
    come first. Within a front and after the peeled ones, rows follow by the sum of their
    per-objective ranks."""
    from hyperdial._pareto import greedy_hypervolume_subset, non_dominated

    n = loss.shape[0]
    ranksum = np.argsort(np.argsort(loss, axis=0, kind="stable"), axis=0).sum(axis=1)
    remaining = np.arange(n)
    order: list[np.ndarray] = []
    placed = 0
    while placed < n_needed and remaining.size:
        front = remaining[non_dominated(loss[remaining])]
        front = front[np.argsort(ranksum[front], kind="stable")]
        if placed + front.size > n_needed:
            finite = loss[front][np.isfinite(loss[front]).all(axis=1)]
            ref = _reference_point(finite) if finite.size else np.zeros(loss.shape[1])
            first = greedy_hypervolume_subset(np.minimum(loss[front], ref), n_needed - placed,
                                              ref)
            rest = np.setdiff1d(np.arange(front.size), first, assume_unique=True)
            front = front[np.concatenate([first, rest])]
        order.append(front)
        placed += front.size
        remaining = np.setdiff1d(remaining, front, assume_unique=True)
    order.append(remaining[np.argsort(ranksum[remaining], kind="stable")])
    return np.concatenate(order)


def hypervolume_weights(loss: np.ndarray, feasible: np.ndarray | None = None) -> np.ndarray:
    """Weights of the good observations of a multi-objective study: each one's exclusive
    hypervolume contribution within the good set, relative to the largest (a floor of
    ``WEIGHT_FLOOR`` for dominated ones), so that l(x) favours the points that spread the front.

    With ``feasible`` (a mask), only the feasible observations are weighed that way and the
    infeasible ones, there because too few trials were feasible, take the floor: their values
    say nothing of the front, and an infeasible point that dominates a feasible one must not
    pull l(x) towards itself. With none feasible, all weigh alike."""
    from hyperdial._pareto import hypervolume_contributions

    if feasible is not None and not feasible.all():
        if not feasible.any():
            return np.ones(loss.shape[0])
        out = np.full(loss.shape[0], WEIGHT_FLOOR)
        out[feasible] = hypervolume_weights(loss[feasible])
        return out
    if loss.shape[0] <= 1 or not np.isfinite(loss).all():
        return np.ones(loss.shape[0])
    contrib = hypervolume_contributions(loss, _reference_point(loss))
    top = contrib.max()
    return np.maximum(contrib / top, WEIGHT_FLOOR) if top > 0 else np.ones(loss.shape[0])


def loss_order(loss: np.ndarray, n_needed: int) -> np.ndarray:
    """Indices of ``loss`` (n, m), best first (NaN last; ties by index)."""
    loss = np.where(np.isnan(loss), np.inf, loss)
    if loss.shape[1] == 1:
        return np.argsort(loss[:, 0], kind="stable")
    return nondominated_rank(loss, n_needed)


# -- fitting -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mixture:
    """Kernels of a Parzen estimator; the last one is the prior (mean 0.5, sigma 1, uniform)."""

    log_weights: np.ndarray  # (k,), normalised
    mus: np.ndarray  # (k, d_num)
    sigmas: np.ndarray  # (k, d_num)
    cats: np.ndarray  # (k, d_cat) observed choice, -1 for the prior kernel
    n_choices: np.ndarray  # (d_cat,)
    smooth: float  # weight on every choice in an observation's categorical kernel
    log_norm: np.ndarray  # (k, d_num) log mass of each truncated kernel on [0, 1]

    @property
    def n_kernels(self) -> int:
        return int(self.log_weights.size)


def _gap_sigmas(mus: np.ndarray, consider_endpoints: bool) -> np.ndarray:
    """Per-kernel bandwidth: the larger gap to a neighbour (hyperopt's rule), column by column."""
    k = mus.shape[0]
    order = np.argsort(mus, axis=0, kind="stable")
    s = np.take_along_axis(mus, order, axis=0)
    if consider_endpoints:
        padded = np.vstack([np.zeros((1, s.shape[1])), s, np.ones((1, s.shape[1]))])
        left, right = np.diff(padded, axis=0)[:-1], np.diff(padded, axis=0)[1:]
    else:
        gaps = np.diff(s, axis=0)
        left = np.vstack([gaps[:1] if k > 1 else np.zeros((1, s.shape[1])), gaps])
        right = np.vstack([gaps, gaps[-1:] if k > 1 else np.zeros((1, s.shape[1]))])
    sig_sorted = np.maximum(left, right)
    out = np.empty_like(sig_sorted)
    np.put_along_axis(out, order, sig_sorted, axis=0)
    return out


def fit(num: np.ndarray, cats: np.ndarray, weights: np.ndarray, n_choices: Sequence[int], *,
        prior_weight: float = 1.0, scott: bool | np.ndarray = True,
        consider_endpoints: bool = False, min_bandwidth: float | None = None) -> Mixture:
    """Fit a Parzen estimator to observations ``num`` (n, d_num) in [0, 1] and ``cats``
    (n, d_cat) choice indices, weighted by ``weights`` (n,), plus a prior kernel.

    Bandwidths: in the columns where ``scott`` holds (a bool, or one per column) the
    multivariate rule ``SIGMA0 * n ** (-1 / (d + 4))`` (Scott's rule with a fixed spread, as
    Optuna's multivariate TPE before version 4), elsewhere the larger gap to a neighbouring
    observation (hyperopt, Optuna 5); both then clipped to ``[min_bandwidth, 1]`` or, with
    ``min_bandwidth=None``, to ``[1 / min(100, n + 2), 1]`` ("magic clip": ``n + 1`` kernels
    with the prior, plus one, as hyperopt and Optuna)."""
    n, d_num = num.shape
    k = n + 1
    mus = np.vstack([num, np.full((1, d_num), 0.5)])
    gaps = _gap_sigmas(num, consider_endpoints) if n else np.empty((0, d_num))
    sig = np.vstack([gaps, np.ones((1, d_num))])
    scott = np.broadcast_to(np.asarray(scott, dtype=bool), (d_num,))
    sig[:, scott] = SIGMA0 * max(n, 1) ** (-1.0 / (d_num + 4))
    floor = 1.0 / min(MAGIC_CLIP_MAX, float(k + 1)) if min_bandwidth is None else min_bandwidth
    sig = np.clip(sig, floor, 1.0)
    sig[-1] = 1.0
    w = np.append(np.asarray(weights, dtype=float), prior_weight)
    w = w / w.sum()
    cats = np.asarray(cats, dtype=np.int64).reshape(n, len(n_choices))
    cat_rows = np.vstack([cats, np.full((1, len(n_choices)), -1, dtype=np.int64)])
    return Mixture(log_weights=np.log(np.maximum(w, _TINY)), mus=mus, sigmas=sig,
                   cats=cat_rows, n_choices=np.asarray(n_choices, dtype=np.int64),
                   smooth=prior_weight / k, log_norm=_log_mass(-mus / sig, (1.0 - mus) / sig))


# -- evaluating and sampling -------------------------------------------------------------------
def _log_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(Phi(b) - Phi(a)) for standardised a <= b, accurate in both tails."""
    from scipy.special import ndtr

    flip = a > 0
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    out: np.ndarray = np.log(np.maximum(ndtr(hi) - ndtr(lo), _TINY))
    return out


def kernel_log_pdf(mix: Mixture, num: np.ndarray, cats: np.ndarray,
                   dims: Sequence[Dim]) -> np.ndarray:
    """log density (mass, for discrete and categorical dimensions) of every point under every
    kernel, shape (n_points, n_kernels)."""
    n_pts = num.shape[0]
    out = np.zeros((n_pts, mix.n_kernels))
    if mix.mus.shape[1]:
        cont = np.array([dm.kind == "cont" for dm in dims], dtype=bool)
        mu, sg = mix.mus[None, :, :], mix.sigmas[None, :, :]
        logz = mix.log_norm
        if cont.any():
            # sum_d ((x - mu) / s)^2 expanded into three matrix products (BLAS, no 3-d array)
            x, m = num[:, cont], mix.mus[:, cont]
            inv = 1.0 / mix.sigmas[:, cont] ** 2
            sq = (x * x) @ inv.T - 2.0 * x @ (m * inv).T + (m * m * inv).sum(axis=1)[None, :]
            const = (np.log(mix.sigmas[:, cont]) + _LOG_SQRT_2PI + logz[:, cont]).sum(axis=1)
            out += -0.5 * np.maximum(sq, 0.0) - const[None, :]
        disc = np.flatnonzero(~cont)
        if disc.size:
            edges = [bin_edges(dims[int(j)], num[:, j]) for j in disc]
            a = np.column_stack([e[0] for e in edges])[:, None, :]
            b = np.column_stack([e[1] for e in edges])[:, None, :]
            out += (_log_mass((a - mu[:, :, disc]) / sg[:, :, disc],
                              (b - mu[:, :, disc]) / sg[:, :, disc])
                    - logz[None, :, disc]).sum(axis=2)
    if mix.cats.shape[1]:
        total = 1.0 + mix.n_choices * mix.smooth  # normaliser of an observation's kernel
        hit = cats[:, None, :] == mix.cats[None, :, :]
        p = (hit + mix.smooth) / total[None, None, :]
        prior = mix.cats[None, :, :] < 0
        p = np.where(prior, 1.0 / mix.n_choices[None, None, :], p)
        out += np.log(p).sum(axis=2)
    return out


def log_pdf(mix: Mixture, num: np.ndarray, cats: np.ndarray, dims: Sequence[Dim]) -> np.ndarray:
    """log density of the mixture at every point, shape (n_points,)."""
    lp = kernel_log_pdf(mix, num, cats, dims) + mix.log_weights[None, :]
    m = lp.max(axis=1, keepdims=True)
    out: np.ndarray = (m + np.log(np.exp(lp - m).sum(axis=1, keepdims=True)))[:, 0]
    return out


def sample(mix: Mixture, rng: np.random.Generator, size: int,
           dims: Sequence[Dim]) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``size`` points: a kernel by weight, then each dimension from that kernel (numeric
    values inverse-CDF sampled inside [0, 1], discrete ones snapped to their bin centres)."""
    from scipy.special import ndtr, ndtri

    w = np.exp(mix.log_weights)
    which = rng.choice(mix.n_kernels, size=size, p=w / w.sum())
    mu, sg = mix.mus[which], mix.sigmas[which]
    pa, pb = ndtr(-mu / sg), ndtr((1.0 - mu) / sg)
    u = rng.random(mu.shape)
    num = np.clip(mu + sg * ndtri(np.clip(pa + u * (pb - pa), 1e-16, 1 - 1e-16)), 0.0, 1.0)
    for j, dm in enumerate(dims):
        if dm.kind != "cont":
            a, b = bin_edges(dm, num[:, j])
            num[:, j] = 0.5 * (a + b)
    cats = mix.cats[which].copy()
    if cats.shape[1]:
        p_own = 1.0 / (1.0 + mix.n_choices * mix.smooth)  # else uniform over every choice
        uniform = (rng.random(cats.shape) >= p_own[None, :]) | (cats < 0)
        draw = np.floor(rng.random(cats.shape) * mix.n_choices[None, :]).astype(np.int64)
        cats = np.where(uniform, draw, cats)
    return num, cats


def best_candidate(good: Mixture, bad: Mixture, rng: np.random.Generator, n_candidates: int,
                   dims: Sequence[Dim]) -> tuple[np.ndarray, np.ndarray]:
    """Sample candidates from ``good`` and return the one maximising log l(x) - log g(x)."""
    num, cats = sample(good, rng, n_candidates, dims)
    score = log_pdf(good, num, cats, dims) - log_pdf(bad, num, cats, dims)
    i = int(np.argmax(score))
    return num[i], cats[i]

