"""PBT's explore step as pure functions of ``(space, params, rng)`` (and the history, for PB2).

`perturb` is the explore of Jaderberg et al. (2017) as Ray Tune has it: each parameter is
resampled with some probability, otherwise a number is multiplied by a random factor (a shift
in log space for a log-scaled one), clipped to its bounds and snapped to its integer or step
grid; a categorical keeps its value unless resampled (choices have no neighbours).

`pb2_explore` is PB2 (Parker-Holder et al. 2020): a Gaussian process on
``(parameters, time) -> change of score over one interval``, whose ARD length scale in the time
column plays the part of the paper's time-varying kernel, and the new parameters maximise its
upper confidence bound at the current time among random candidates, with the configurations
other members are training now added at their predicted mean (their variance shrinks, as in
the paper's batch GP-UCB).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hyperdial._encode import decode, decode_column, encode, encode_column
from hyperdial.space import Categorical, Distribution, Int, SearchSpace


def _draw(dist: Distribution, rng: np.random.Generator) -> Any:
    return decode_column(dist, np.array([rng.random()]))[0]


def _scale(dist: Distribution, value: Any, factor: float) -> Any:
    """``value * factor`` in bounds and on the grid; an integer moves at least one step."""
    assert not isinstance(dist, Categorical)
    moved = min(max(float(value) * factor, dist.low), dist.high)
    snapped = decode_column(dist, encode_column(dist, [moved]))[0]
    if isinstance(dist, Int) and snapped == value and moved != value:
        step = dist.step if moved > value else -dist.step
        snapped = min(max(int(value) + step, dist.low), dist.high)
    return snapped


def perturb(space: SearchSpace, params: Mapping[str, Any], rng: np.random.Generator, *,
            factors: Sequence[float], resample_probability: float) -> dict[str, Any]:
    """New values for the active parameters of ``space``; a parameter missing from ``params``
    (all of them, for the initial population) is drawn uniformly."""
    out: dict[str, Any] = {}
    for name, dist in space.items():
        cond = space.conditions.get(name)
        if cond is not None and not cond.holds(out):
            continue
        resample = rng.random() < resample_probability
        factor = factors[int(rng.integers(len(factors)))]
        if resample or name not in params or not dist.contains(params[name]):
            out[name] = _draw(dist, rng)
        elif isinstance(dist, Categorical):
            out[name] = params[name]
        else:
            out[name] = _scale(dist, params[name], factor)
    return out


def ucb_beta(n: int, d: int, delta: float = 0.1) -> float:
    """Srinivas et al.'s exploration weight for ``n`` observations in ``d`` dimensions."""
    return 2.0 * math.log(max(d, 1) * max(n, 1) ** 2 * math.pi ** 2 / (6.0 * delta))


def pb2_explore(space: SearchSpace, params: Mapping[str, Any], rng: np.random.Generator, *,
                observed: Sequence[tuple[Mapping[str, Any], float, float]],
                pending: Sequence[tuple[Mapping[str, Any], float]], now: float,
                n_candidates: int = 512) -> dict[str, Any]:
    """The candidate of highest GP-UCB at time ``now``.

    ``observed`` holds ``(params, time, improvement)`` of finished intervals (improvement:
    higher is better), ``pending`` ``(params, time)`` of intervals being trained. Candidates are
    uniform points and perturbations of ``params``, so the search stays local as well.
    """
    from hyperdial.samplers import _gp_math as gpm

    x, y = _design(space, [(p, t) for p, t, _ in observed], now), np.array(
        [v for _, _, v in observed], dtype=float)
    sd = float(np.std(y)) or 1.0
    y = (y - float(np.mean(y))) / sd
    is_cat = np.array([isinstance(d, Categorical) for d in space.values()] + [False])
    d = x.shape[1]
    theta = gpm.fit_map(x, y, is_cat, gpm.default_theta(d, None)[None, :], maxiter=50)
    hyper = gpm.Hyper.from_theta(theta, d, None)
    post = gpm.posterior(x, y, hyper, is_cat)
    if pending:
        xp = _design(space, pending, now)
        post = gpm.posterior(np.vstack([x, xp]), np.concatenate([y, post.predict(xp)[0]]),
                             hyper, is_cat)
    local = [perturb(space, params, rng, factors=(0.8, 1.2), resample_probability=0.0)
             for _ in range(n_candidates // 8)]
    uniform = decode(space, rng.random((n_candidates, len(space))))
    candidates = [dict(params), *local, *uniform]
    mean, var = post.predict(_design(space, [(c, now) for c in candidates], now))
    score = mean + np.sqrt(ucb_beta(len(x), d) * var)
    return candidates[int(np.argmax(score))]


def _design(space: SearchSpace, rows: Sequence[tuple[Mapping[str, Any], float]],
            now: float) -> np.ndarray:
    """Encoded parameters (inactive ones at 0.5) and time scaled to (0, 1] by ``now``."""
    u = np.nan_to_num(encode(space, [p for p, _ in rows]), nan=0.5)
    t = np.array([[t / max(now, 1.0)] for _, t in rows], dtype=float)
    return np.hstack([u, t])
