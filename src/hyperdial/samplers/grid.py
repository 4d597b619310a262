"""Grid search: every point of a finite grid exactly once, in a seeded shuffled order."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperdial._encode import decode_column, n_values
from hyperdial.exceptions import SearchExhausted
from hyperdial.history import History
from hyperdial.samplers.base import Sampler
from hyperdial.space import Categorical, Distribution, Float, Int, SearchSpace, canonical
from hyperdial.trial import RESERVED_ATTR, TrialRecord

if TYPE_CHECKING:
    from hyperdial.study import Study


def grid_values(name: str, dist: Distribution) -> Categorical:
    """A finite distribution's values as a Categorical (floats exactly as `decode` makes them)."""
    if isinstance(dist, Categorical):
        return dist
    n = n_values(dist)
    if n is None:
        raise ValueError(f"parameter {name!r}: a continuous float has no grid; "
                         "give it a step or list its values")
    if isinstance(dist, Float):
        return Categorical(tuple(decode_column(dist, (np.arange(n) + 0.5) / n)))  # bin centres
    return Categorical(tuple(range(dist.low, dist.high + 1, dist.step)))


def grid_space(search_space: Mapping[str, Iterable[Any]] | SearchSpace) -> SearchSpace:
    """Turn a dict of value lists, or a finite `SearchSpace`, into a space of Categoricals."""
    if not search_space:
        raise ValueError("the grid has no parameters")
    if isinstance(search_space, SearchSpace):
        params = {name: grid_values(name, d) for name, d in search_space.items()}
        return SearchSpace(params, search_space.conditions)
    params = {}
    for name, values in search_space.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ValueError(f"parameter {name!r}: expected a list of values, got {values!r}")
        # numpy scalars (np.linspace grids) become the Python values that storage gives back
        choices = tuple(v.item() if isinstance(v, np.generic) else v for v in values)
        try:
            params[name] = Categorical(choices)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"parameter {name!r}: {exc}") from exc
    return SearchSpace(params)


def activation(space: SearchSpace) -> dict[str, np.ndarray]:
    """For each conditional parameter of a Categorical ``space``: which positions of its
    parent's choices make it active."""
    out = {}
    for name, cond in space.conditions.items():
        parent = space[cond.parent]
        assert isinstance(parent, Categorical)
        out[name] = np.array([cond.holds({cond.parent: c}) for c in parent.choices])
    return out


def canonical_points(space: SearchSpace, sizes: np.ndarray,
                     allowed: Mapping[str, np.ndarray]) -> np.ndarray:
    """Row-major indices of the distinct points of a grid of Categoricals with these ``sizes``.

    With conditions, points that differ only in inactive parameters are one point: the one
    whose inactive parameters all sit at their first value is kept.
    """
    digits = dict(zip(space, np.indices(tuple(sizes)).reshape(len(sizes), -1), strict=True))
    keep = np.ones(int(np.prod(sizes)), dtype=bool)
    active: dict[str, np.ndarray] = {}
    for name, d in digits.items():
        cond = space.conditions.get(name)
        active[name] = (np.ones_like(keep) if cond is None else
                        active[cond.parent] & allowed[name][digits[cond.parent]])
        keep &= active[name] | (d == 0)
    return np.flatnonzero(keep)


class GridSampler(Sampler):
    """Tries every point of a grid once, then raises `SearchExhausted`.

    ``search_space`` is Optuna's dict of value lists, or a `SearchSpace` whose parameters are all
    finite (Categorical, Int, stepped Float; its conditions are kept). Points are visited in a
    shuffled order fixed by ``seed`` so that a study stopped early has sampled the whole grid
    evenly; ``seed=None`` draws a fresh seed (a random order), as every sampler does: pass a seed
    to make the order reproducible. `propose` returns the first point in that order that no trial
    of the history (in any state, running and waiting included) already has.

    >>> sampler = GridSampler({"x": [1, 2], "act": ["relu", "tanh"]}, seed=0)
    >>> history = History(())
    >>> len(sampler), sorted(sampler.propose(history, sampler.infer_space(history), sampler.rng(0)))
    (4, ['act', 'x'])
    """

    exclusive = True

    def __init__(self, search_space: Mapping[str, Iterable[Any]] | SearchSpace, *,
                 seed: int | None = None) -> None:
        self.space = grid_space(search_space)
        self._choices = [d.choices for d in self.space.values() if isinstance(d, Categorical)]
        self._sizes = np.array([len(c) for c in self._choices])
        self._strides = np.cumprod(np.r_[self._sizes[1:], 1][::-1])[::-1]
        # canonical JSON (the study's exclusivity key) tells 1, 1.0 and True apart
        self._lookup = {name: {json.dumps(c): k for k, c in enumerate(choices)}
                        for name, choices in zip(self.space, self._choices, strict=True)}
        self._allowed = activation(self.space)
        self._points = canonical_points(self.space, self._sizes, self._allowed)
        # (name, a trial's distribution) -> its canonical form of each grid value -> positions
        self._numeric: dict[tuple[str, Distribution], dict[str, list[int]]] = {}
        super().__init__(seed=seed)

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._order = np.random.default_rng(self.seed).permutation(self._points)

    def __len__(self) -> int:
        """Number of distinct grid points."""
        return len(self._points)

    def infer_space(self, history: History) -> SearchSpace:
        """The grid itself, so that a study proposes a whole point at the start of each trial."""
        return self.space

    def point(self, index: int) -> dict[str, Any]:
        """The grid point at row-major ``index``, active parameters only."""
        digits = index // self._strides % self._sizes
        return self.space.restrict({name: c[k] for name, c, k in
                                    zip(self.space, self._choices, digits, strict=True)})

    def _indices(self, trial: TrialRecord) -> list[int]:
        """Row-major indices of the grid points that ``trial`` holds (none if it holds none;
        several if grid values the trial's distribution makes one, as 1 and 1.0 of an int),
        and the one reserved for it at its creation: an objective that never asks for some
        of its point's parameters ends with only those it asked for in its ``params``."""
        held = self._held(trial.params, trial.distributions)
        reserved = trial.system_attrs.get(RESERVED_ATTR)
        return held if reserved is None else held + self._held(reserved, {})

    def _held(self, params: Mapping[str, Any],
              distributions: Mapping[str, Distribution]) -> list[int]:
        combos = [0]
        digits: dict[str, int] = {}
        for (name, lookup), stride in zip(self._lookup.items(), self._strides, strict=True):
            cond = self.space.conditions.get(name)
            if cond is not None and not (cond.parent in digits
                                         and self._allowed[name][digits[cond.parent]]):
                continue
            if name not in params:
                return []
            ks = self._digits(name, lookup, params[name], distributions.get(name))
            if not ks:  # off the grid, or not JSON
                return []
            digits[name] = ks[0]
            combos = [c + int(stride) * k for c in combos for k in ks]
        return combos

    def _digits(self, name: str, lookup: Mapping[str, int], value: Any,
                dist: Distribution | None) -> list[int]:
        """Positions among ``name``'s grid values of ``value``: for a number, those the
        trial's distribution writes as ``value`` (a trial stores 1.0 for the grid's 1 of a
        float, and a stepped float's grid value as its grid writes it); else the value itself."""
        if isinstance(dist, (Float, Int)):
            table = self._numeric.get((name, dist))
            if table is None:
                table = {}
                for k, c in enumerate(self._choices[list(self._lookup).index(name)]):
                    if dist.contains(c):
                        table.setdefault(json.dumps(canonical(dist, c)), []).append(k)
                self._numeric[(name, dist)] = table
            if dist.contains(value):
                return table.get(json.dumps(canonical(dist, value)), [])
        try:
            found = lookup.get(json.dumps(value))
        except TypeError:  # not JSON
            return []
        return [] if found is None else [found]

    def _free(self, history: History) -> np.ndarray:
        """Positions in the visiting order of the points no trial of ``history`` holds."""
        used = np.zeros(int(np.prod(self._sizes)), dtype=bool)
        taken = (i for t in history.trials for i in self._indices(t))
        used[np.fromiter(taken, dtype=np.int64)] = True
        return np.flatnonzero(~used[self._order])

    def is_exhausted(self, study: Study | History) -> bool:
        """Whether every grid point is held by a trial of ``study`` (Optuna's method)."""
        history = study if isinstance(study, History) else study.history()
        return self._free(history).size == 0

    def _check(self, space: SearchSpace) -> None:
        """ValueError unless every parameter of ``space`` is in the grid and holds its values."""
        for name, dist in space.items():
            if name not in self.space:
                raise ValueError(f"parameter {name!r} is not in the grid {list(self.space)}")
            if dist is self.space[name]:
                continue
            outside = [v for v in self._choices[list(self.space).index(name)]
                       if not dist.contains(v)]
            if outside:
                raise ValueError(f"parameter {name!r}: grid values {outside} are outside {dist}")

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        """The next unused grid point; `SearchExhausted` if none is left.

        Asked for only some of the grid's parameters, the trial already holds its point and
        asks for parameters that point lacks (inactive ones): they come from the next unused
        point that has them, or from the first such point once all are used (a point without
        them gave none, and the trial failed on a KeyError), and never end the search.
        """
        self._check(space)
        free = self._free(history)
        if len(space) == len(self.space):
            if free.size == 0:
                raise SearchExhausted(f"all {len(self)} grid points have been tried")
            return self.point(int(self._order[free[0]]))
        for index in itertools.chain(self._order[free], self._order):  # (lazily: a tuple of
            point = self.point(int(index))  # both orders cost 24x on 300,000 points)
            if all(name in point for name in space):
                return {name: point[name] for name in space}
        first = {name: c[0] for name, c in zip(self.space, self._choices, strict=True)}
        return {name: first[name] for name in space}  # (no point holds them all together)
