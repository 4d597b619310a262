"""Warm starts across studies: begin a new study with configurations that did well before.

Two sources of prior knowledge, as in auto-sklearn (Feurer et al. 2015; 2022):

* **nearest studies**: the best configuration of each earlier study, nearest first, where
  "near" is the distance between datasets' meta-features (standardised over the studies
  compared) held as a study user attribute;
* **a portfolio**: a handful of configurations chosen offline from a (configuration x task)
  table of losses so that, on every task, one of them is close to the best the table knows
  (`greedy_portfolio`).

`warm_start` enqueues such configurations in a study, so they run before anything sampled and
the sampler learns from them like from any other trial.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hyperdial.space import SearchSpace, canonical
from hyperdial.study import Study
from hyperdial.trial import config_key

MetaFeatures = Mapping[str, float]


def normalised_losses(losses: np.ndarray) -> np.ndarray:
    """Scale each column (task) of a ``(configurations, tasks)`` loss table to [0, 1] by its
    best and worst finite entries; a missing (NaN) or failed entry becomes 1, the worst."""
    table = np.asarray(losses, dtype=float)
    finite = np.isfinite(table)
    low = np.where(finite, table, np.inf).min(axis=0)
    high = np.where(finite, table, -np.inf).max(axis=0)
    span = high - low
    with np.errstate(invalid="ignore"):
        out: np.ndarray = np.where(finite, (table - low) / np.where(span > 0, span, 1.0), 1.0)
    return out


def greedy_portfolio(losses: np.ndarray, k: int) -> list[int]:
    """Rows of a normalised ``(configurations, tasks)`` loss table chosen greedily so that the
    mean over tasks of the best chosen row's loss is as low as it gets, one row at a time
    (the portfolio construction of Auto-sklearn 2.0). Stops early when no row helps."""
    table = np.asarray(losses, dtype=float)
    if table.ndim != 2:
        raise ValueError(f"expected a (configurations, tasks) table, got shape {table.shape}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    chosen: list[int] = []
    best = np.full(table.shape[1], np.inf)
    for _ in range(min(k, table.shape[0])):
        scores = np.minimum(table, best).mean(axis=1)
        scores[chosen] = np.inf
        pick = int(np.argmin(scores))
        if chosen and not scores[pick] < best.mean():
            break
        chosen.append(pick)
        best = np.minimum(best, table[pick])
    return chosen


def nearest_best(sources: Sequence[tuple[MetaFeatures, Mapping[str, Any]]],
                 target: MetaFeatures) -> list[dict[str, Any]]:
    """The configurations of ``sources`` (meta-features, configuration), nearest first.

    A source's distance is the root mean square, over the meta-features that it and the
    target both have, of their differences, each divided by the feature's standard
    deviation over the target and the sources that have it (a feature that does not vary
    counts for nothing). A feature missing, NaN or not a number in one source leaves the
    others' distances as they were; a source that shares no feature with the target comes
    after those that do. Ties keep the given order.
    """
    if not sources:
        return []
    keys = sorted(k for k in target if math.isfinite(_number(target[k])))
    table = np.array([[_number(m.get(k)) for k in keys] for m, _ in sources],
                     dtype=float).reshape(len(sources), len(keys))
    table[~np.isfinite(table)] = np.nan  # what a source lacks
    here = np.array([_number(target[k]) for k in keys], dtype=float)
    spread = np.nanstd(np.vstack([table, here]), axis=0)  # the target's is always there
    varies = spread > 0
    scaled = ((table - here) / np.where(varies, spread, 1.0))[:, varies]
    shared = np.isfinite(scaled)
    n_shared = shared.sum(axis=1)
    squares = np.where(shared, scaled, 0.0) ** 2
    distance = np.where(n_shared > 0, np.sqrt(squares.sum(axis=1) / np.maximum(n_shared, 1)),
                        np.inf)
    order = np.argsort(distance, kind="stable")
    return [dict(sources[i][1]) for i in order]


def _number(value: Any) -> float:
    """A meta-feature as a float; NaN for a missing (None) or non-numeric one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def adapt(params: Mapping[str, Any], space: SearchSpace) -> dict[str, Any] | None:
    """``params`` as a configuration of ``space``, to enqueue: the values of its parameters
    that are active in ``space`` (those ``space`` lacks, or that its conditions turn off, are
    dropped); the parameters ``space`` adds are left out, for the sampler to choose when the
    trial suggests them. None when a value kept is outside its distribution in ``space`` (a
    narrower range, a choice no longer offered), or when no parameter is left. Values are
    written as the space's samplers write them (`canonical`: 3.0 of an Int is 3), so one
    configuration is not queued twice in two spellings."""
    kept = space.restrict(params)
    if not kept or not all(space[name].contains(value) for name, value in kept.items()):
        return None
    return {name: canonical(space[name], value) for name, value in kept.items()}


def warm_start(study: Study, sources: Sequence[Study], k: int = 5, *,
               meta_features: MetaFeatures | None = None, meta_key: str = "meta_features",
               space: SearchSpace | None = None,
               then: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Enqueue in ``study`` the best configurations of ``sources``, then those of ``then``
    (a portfolio, say), up to ``k`` in all.

    With ``meta_features`` (the new task's), sources whose user attribute ``meta_key`` holds
    theirs are taken nearest first and the others after them; without, in the given order.
    Sources without a feasible completed trial, or with several objectives, give nothing.
    Configurations the study already holds are not queued twice. Returns the queued
    configurations.

    Pass ``space`` (the new study's) whenever its ranges or parameters may differ from the
    sources': each configuration is then `adapt`-ed to it, so a parameter the new study adds
    is chosen by its sampler and one it dropped is left out, and a configuration with a value
    outside the new range (or no parameter in common) is skipped. Without ``space`` the
    configurations are queued as they are, as hints (`Study.enqueue_trial` with ``hints``):
    a value the objective suggests from a range that no longer holds it is left to the
    sampler, with a warning, and the rest of the configuration runs.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    known, unknown = [], []
    for source in sources:
        best = source.history().best() if len(source.directions) == 1 else None
        if best is None:  # several objectives, or no feasible completed trial
            continue
        meta = source.user_attrs.get(meta_key)
        if meta_features is not None and isinstance(meta, Mapping):
            known.append((meta, best.params))
        else:
            unknown.append(dict(best.params))
    queued: list[dict[str, Any]] = []
    seen: set[str] = set()  # by config_key: {"c": 1} and {"c": True} are two configurations
    for found in [*nearest_best(known, meta_features or {}), *unknown, *map(dict, then)]:
        if len(queued) == k:
            break
        config = found if space is None else adapt(found, space)
        if config is None:
            continue
        key = config_key(config)
        if key in seen:
            continue
        seen.add(key)
        if study.enqueue_trial(config, user_attrs={"warm_start": True}, skip_if_exists=True,
                               hints=True) is not None:
            queued.append(config)
    return queued


__all__ = ["adapt", "greedy_portfolio", "nearest_best", "normalised_losses", "warm_start"]
