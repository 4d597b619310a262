"""The one mapping between a search space and the unit cube, as a pure function pair.

Each parameter is one column in [0, 1]: floats linearly or in log space; the values of
integers, stepped floats and categoricals by the centre of their bin (value ``k`` of ``n``
at ``(k + 0.5) / n``, decoded by ``floor(u * n)``), so that every value owns an equal share
of the cube and a uniform draw gives each the same chance, ``low`` and ``high`` included.
Inactive (conditional) parameters encode as NaN. ``decode(space, encode(space, rows)) == rows``.

Integers are exact Python ints for any range: where the bounds pass 2**52, float arithmetic
cannot tell neighbouring values apart (nor int64 count them), and the index is computed
with integers instead. (Past 2**52 values, the bins are narrower than a float in [0, 1]
resolves: a value then decodes to one within a few bins of it, never out of range.)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from hyperdial.space import (
    Categorical,
    Distribution,
    Float,
    Int,
    SearchSpace,
    grid_index,
    grid_value,
    plain,
)

#: Integers up to this magnitude are exact floats (and their differences too).
_EXACT = 2**52


def _exact(d: Int) -> bool:
    """Whether ``d`` needs integer arithmetic: a bound beyond 2**52 in magnitude."""
    return d.low < -_EXACT or d.high > _EXACT


def _int_log_bounds(d: Int) -> tuple[float, float]:
    """Log-space bin edges so that each integer owns the interval [k - 0.5, k + 0.5] (beyond
    2**52 the half is below a float's precision)."""
    lo = d.low - 0.5 if d.low <= _EXACT else float(d.low)
    hi = d.high + 0.5 if d.high <= _EXACT else float(d.high)
    return float(np.log(lo)), float(np.log(hi))


def check_log_resolves(d: Distribution) -> None:
    """Refuse a log-scaled range whose encoding collapses: at its magnitude the logarithms of
    its ends are the same float, and samplers encoded it as NaN (evolution crashed) or
    proposed only ``low``. Checked where a distribution is suggested, not where a stored one
    is read, so that a study that holds one still loads."""
    if isinstance(d, Int | Float) and d.log and _log_collapses(d):
        raise ValueError(f"log=True cannot resolve [{d.low!r}, {d.high!r}]: at this "
                         "magnitude its ends have the same logarithm as a float; use log=False")


@functools.lru_cache(maxsize=1024)
def _log_collapses(d: Int | Float) -> bool:
    """Whether the log encoding of ``d`` maps its ends to one point (once per distribution:
    every suggestion of it asks)."""
    lo, hi = _int_log_bounds(d) if isinstance(d, Int) else (math.log(d.low), math.log(d.high))
    return not hi > lo


def _exact_index(u: float, n: int) -> int:
    """``min(floor(u * n), n - 1)`` computed exactly, for any ``n``."""
    a, b = float(u).as_integer_ratio()
    return min(a * n // b, n - 1)


def _exact_position(d: Int, value: Any) -> float:
    """The bin-centre encoding of ``value`` (any number) for an Int, computed exactly."""
    n = _grid_size(d)
    x = Fraction(plain(value))
    return float((2 * (x - d.low) + d.step) / (2 * d.step * n))


def _grid_size(d: Float | Int) -> int:
    """Number of values of an Int or a stepped Float (`grid_value` numbers them from 0)."""
    return grid_index(d, d.high) + 1


def n_values(d: Distribution) -> int | None:
    """Number of distinct values, or None for a continuous float."""
    if isinstance(d, Categorical):
        return len(d.choices)
    if isinstance(d, Int) or d.step is not None:
        return _grid_size(d)
    return None


def encode_column(d: Distribution, values: Sequence[Any]) -> np.ndarray:
    """Encode one parameter's values (None for inactive) to a float column in [0, 1] / NaN."""
    out = np.full(len(values), np.nan)
    if isinstance(d, Categorical):
        # None can be a real choice: here "absent" is signalled by the caller via _MISSING.
        idx = np.array([d.index(v) if v is not _MISSING else -1 for v in values], dtype=float)
        present = idx >= 0
        out[present] = (idx[present] + 0.5) / len(d.choices)
        return out
    mask = np.array([v is not None for v in values], dtype=bool)
    if not mask.any():
        return out
    given = [v for v in values if v is not None]
    if isinstance(d, Int) and not d.log and _exact(d):
        out[mask] = [_exact_position(d, v) for v in given]
        exact: np.ndarray = out.clip(0.0, 1.0)
        return exact
    x = np.array(given, dtype=float)
    if isinstance(d, Int):
        if d.log:
            lo, hi = _int_log_bounds(d)
            out[mask] = (np.log(x) - lo) / (hi - lo)
        else:
            n = _grid_size(d)
            out[mask] = ((x - d.low) / d.step + 0.5) / n
    elif d.log:
        lo, hi = np.log(d.low), np.log(d.high)
        out[mask] = (np.log(x) - lo) / (hi - lo)
    elif d.step is not None:
        n = _grid_size(d)
        out[mask] = ((x - d.low) / d.step + 0.5) / n
    else:
        out[mask] = (x - d.low) / (d.high - d.low)
    clipped: np.ndarray = out.clip(0.0, 1.0)
    return clipped


def decode_column(d: Distribution, u: np.ndarray) -> list[Any]:
    """Map a column of unit-cube values to parameter values (u is clipped to [0, 1])."""
    # ndarray.clip, not np.clip: the same result at half the call cost, paid on every trial
    u = np.asarray(u, dtype=float).clip(0.0, 1.0)
    if isinstance(d, Categorical):
        idx = np.minimum((u * len(d.choices)).astype(int), len(d.choices) - 1)
        return [d.choices[i] for i in idx]
    if isinstance(d, Int):
        if d.log:
            lo, hi = _int_log_bounds(d)
            v = np.round(np.exp(lo + u * (hi - lo)))
            return [min(max(int(x), d.low), d.high) for x in v.tolist()]  # exact bounds
        n = _grid_size(d)
        if _exact(d):
            return [d.low + _exact_index(x, n) * d.step for x in u.tolist()]
        k = np.minimum((u * n).astype(np.int64), n - 1)
        ints: list[int] = (d.low + k * d.step).tolist()  # Python ints
        return ints
    assert isinstance(d, Float)
    if d.step is not None:
        n = _grid_size(d)
        k = np.minimum(np.floor(u * float(n)), n - 1)
        grid = np.minimum(d.low + k * d.step, d.high)
        scale = d.grid_scale
        if scale is not None:
            grid = np.minimum(np.rint(grid * scale) / scale + 0.0, d.high)  # (-0.0 is 0.0)
        grid = np.where(k >= n - 1, d.high, grid)
        stepped: list[float] = grid.tolist()  # Python floats, as `grid_value` writes them
        return stepped
    if d.log:
        x: np.ndarray = np.exp(np.log(d.low) + u * (np.log(d.high) - np.log(d.low)))
    else:
        x = d.low + u * (d.high - d.low)
    values: list[float] = x.clip(d.low, d.high).tolist()  # Python floats
    return values


def decode_value(d: Distribution, u: float) -> Any:
    """`decode_column` for a single value, in plain Python floats: a fifth of the cost of a
    one-element array, for samplers that draw one point at a time (random search, local
    moves). The same value, to the last bit for all but log scales (``math.exp`` against
    numpy's, which may differ in the last place)."""
    u = min(max(float(u), 0.0), 1.0)
    if isinstance(d, Categorical):
        return d.choices[min(int(u * len(d.choices)), len(d.choices) - 1)]
    if isinstance(d, Int):
        if d.log:
            lo, hi = _int_log_bounds(d)
            return min(max(round(math.exp(lo + u * (hi - lo))), d.low), d.high)
        n = _grid_size(d)
        k = _exact_index(u, n) if _exact(d) else min(int(u * n), n - 1)
        return d.low + k * d.step
    assert isinstance(d, Float)
    if d.step is not None:
        n = _grid_size(d)
        return grid_value(d, min(int(u * float(n)), n - 1))
    if d.log:
        lo, hi = math.log(d.low), math.log(d.high)
        x = math.exp(lo + u * (hi - lo))
    else:
        x = d.low + u * (d.high - d.low)
    return min(max(x, d.low), d.high)


def snap(dists: Sequence[Distribution], u: np.ndarray) -> np.ndarray:
    """Rows ``u`` of the cube with each discrete column moved to the encoding of the value it
    decodes to (a continuous point made a valid one)."""
    out: np.ndarray = u.copy()
    for j, d in enumerate(dists):
        if n_values(d) is not None:
            out[:, j] = encode_column(d, decode_column(d, u[:, j]))
    return out


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def encode(space: SearchSpace, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Encode parameter dicts to an ``(len(rows), len(space))`` array; absent params are NaN."""
    cols = []
    for name, d in space.items():
        if isinstance(d, Categorical):
            vals = [r.get(name, _MISSING) for r in rows]
        else:
            vals = [r.get(name) for r in rows]
        cols.append(encode_column(d, vals))
    return np.column_stack(cols) if cols else np.empty((len(rows), 0))


def decode(space: SearchSpace, u: np.ndarray) -> list[dict[str, Any]]:
    """Decode unit-cube rows to parameter dicts holding only the active parameters.

    NaN means absent, as `encode` writes it: that parameter is left out of the row.
    """
    u = np.atleast_2d(np.asarray(u, dtype=float))
    if u.shape[1] != len(space):
        raise ValueError(f"expected {len(space)} columns, got {u.shape[1]}")
    absent = np.isnan(u)
    if space and not absent.any():  # the common case: every parameter active in every row
        columns = [decode_column(d, u[:, j]) for j, d in enumerate(space.values())]
        rows = [dict(zip(space, values, strict=True)) for values in zip(*columns, strict=True)]
    else:
        columns = [decode_column(d, np.where(absent[:, j], 0.0, u[:, j]))
                   for j, d in enumerate(space.values())]
        rows = [{name: col[i] for name, col, gone in zip(space, columns, absent[i], strict=True)
                 if not gone} for i in range(u.shape[0])]
    if space.is_conditional:
        rows = [space.restrict(r) for r in rows]
    return rows
