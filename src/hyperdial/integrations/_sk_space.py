"""scikit-learn ``param_distributions`` as a hyperdial `SearchSpace`, and back.

Accepted per parameter: a hyperdial distribution (used as is), a list of choices
(`Categorical`; choices that are not JSON scalars, such as estimators or tuples, are coded by
their index), or a frozen scipy distribution. ``uniform``, ``loguniform`` and ``randint``
become `Float` / `Int` when they map exactly; any other frozen distribution is sampled through
its quantile function: the study holds a `Float` in [0, 1] and the estimator receives
``dist.ppf(u)``, so a model-based sampler still learns where the good quantiles lie.

A list of dicts (as `RandomizedSearchCV` takes) becomes a conditional space: a categorical
``grid`` picks the dict, and each of its parameters is named ``"<index>:<name>"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from hyperdial.space import Categorical, Condition, Distribution, Float, Int, SearchSpace

Decoder = Callable[[Any], Any]
GRID = "grid"  # the parameter that picks one dict of a list of dicts
_EPS = 1e-12  # quantiles are kept inside (0, 1): ppf(0) and ppf(1) may be infinite


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class ParamSpace:
    """The search space a study sees, and how its values become estimator parameters."""

    space: SearchSpace
    decoders: Mapping[str, tuple[str, Decoder]]  # study name -> (estimator name, decoder)

    def decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Estimator parameters for the study parameters of one trial."""
        return {est: decode(params[name]) for name, (est, decode) in self.decoders.items()
                if name in params}


def build_space(param_distributions: Mapping[str, Any] | Sequence[Mapping[str, Any]]
                | ParamSpace) -> ParamSpace:
    """Convert a dict (or a list of dicts) of scikit-learn-style distributions; a
    `ParamSpace` (AutoML builds one) is taken as it is."""
    if isinstance(param_distributions, ParamSpace):
        return param_distributions
    grids = ([param_distributions] if isinstance(param_distributions, Mapping)
             else list(param_distributions))
    if not grids or not all(isinstance(g, Mapping) and g for g in grids):
        raise ValueError("param_distributions must be a non-empty dict or a list of them, "
                         f"got {param_distributions!r}")
    many = len(grids) > 1
    params: dict[str, Distribution] = {}
    conditions: dict[str, Condition] = {}
    decoders: dict[str, tuple[str, Decoder]] = {}
    if many:
        params[GRID] = Categorical(tuple(range(len(grids))))
    for i, grid in enumerate(grids):
        for est_name, spec in grid.items():
            name = f"{i}:{est_name}" if many else est_name
            try:
                params[name], decoder = convert(spec)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"parameter {est_name!r}: {exc}") from exc
            decoders[name] = (est_name, decoder)
            if many:
                conditions[name] = Condition(GRID, (i,))
    return ParamSpace(SearchSpace(params, conditions), decoders)


def convert(spec: Any) -> tuple[Distribution, Decoder]:
    """One parameter's distribution and decoder (see the module docstring)."""
    if isinstance(spec, (Float, Int, Categorical)):
        return spec, _identity
    if hasattr(spec, "rvs"):
        exact = _exact(spec)
        if exact is not None:
            return exact, _identity
        if not hasattr(spec, "ppf"):
            raise TypeError(f"{spec!r} has rvs but no ppf: give a hyperdial distribution")
        return Float(0.0, 1.0), _Quantile(spec)
    if isinstance(spec, (str, bytes, Mapping)) or not isinstance(spec, (Sequence, np.ndarray)):
        raise TypeError(f"expected a list of choices, a scipy distribution or a hyperdial "
                        f"distribution, got {spec!r}")
    choices = [c.item() if isinstance(c, np.generic) else c for c in spec]
    if not choices:
        raise ValueError("the list of choices is empty")
    try:
        return Categorical(tuple(choices)), _identity
    except ValueError:  # not JSON scalars, or duplicates under the study's type-aware rules
        return Categorical(tuple(range(len(choices)))), choices.__getitem__


def _exact(dist: Any) -> Distribution | None:
    """`Float`/`Int` for a frozen uniform, loguniform or randint; None otherwise."""
    name = getattr(getattr(dist, "dist", None), "name", None)
    if name not in ("uniform", "loguniform", "reciprocal", "randint"):
        return None
    low, high = (float(v) for v in dist.support())
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    if name == "randint":
        return Int(int(low), int(high)) if high > low else None
    q = np.array([0.1, 0.5, 0.9])
    if name == "uniform":
        expected = low + q * (high - low)
        out: Distribution = Float(low, high)
    elif low > 0:
        expected = low * (high / low) ** q  # log-uniform only when loc == 0
        out = Float(low, high, log=True)
    else:
        return None
    return out if np.allclose(dist.ppf(q), expected, rtol=1e-9, atol=0.0) else None


@dataclass(frozen=True)
class _Quantile:
    """A quantile in (0, 1) as the value of a frozen scipy distribution; a class rather than a
    closure so that a search holding it pickles."""

    dist: Any

    def __call__(self, u: float) -> Any:
        value = self.dist.ppf(min(max(float(u), _EPS), 1.0 - _EPS))
        return int(value) if isinstance(getattr(self.dist, "dist", None), stats.rv_discrete) \
            else float(value)
