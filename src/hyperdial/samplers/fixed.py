"""PartialFixedSampler: some parameters held at given values, the rest left to another sampler."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from hyperdial.history import History
from hyperdial.samplers.base import ConstraintsFunc, Sampler
from hyperdial.space import Distribution, SearchSpace, canonical
from hyperdial.trial import holds_values, json_ready


def without(space: SearchSpace, fixed: Mapping[str, Any]) -> SearchSpace:
    """``space`` less the parameters in ``fixed``. A parameter conditioned on a fixed parent
    loses its condition when the fixed value meets it (it is then always active) and is
    dropped when it does not (never active)."""
    params, conditions = {}, {}
    for name, dist in space.items():
        if name in fixed:
            continue
        cond = space.conditions.get(name)
        if cond is not None and cond.parent in fixed:
            if not cond.holds(fixed, space[cond.parent]):  # a fixed 2.0 of an int is 2
                continue
        elif cond is not None:
            conditions[name] = cond
        params[name] = dist
    # a child of a dropped parameter is dropped too
    while dropped := [n for n, c in conditions.items() if c.parent not in params]:
        for n in dropped:
            del params[n], conditions[n]
    return SearchSpace(params, conditions)


class PartialFixedSampler(Sampler):
    """Holds the parameters of ``fixed_params`` at their values and lets ``base_sampler``
    propose every other one (Optuna's ``PartialFixedSampler``): to search the rest of a space
    with, say, the batch size settled, without touching the objective.

    The base sampler learns from every trial, fixed values included; it shares its seed with
    this sampler (`reseed` sets both), and models running trials if it does (TPE's constant
    liar, the GP's kriging believer). A fixed value the objective's distribution does not
    hold raises ValueError when the objective asks for it. Brute force enumerates the
    combinations of the other parameters, and the study ends when it has tried them all.
    Grid search cannot be wrapped: leave the fixed parameters out of its grid instead.

    >>> from hyperdial import Categorical, Float
    >>> from hyperdial.samplers import RandomSampler
    >>> sampler = PartialFixedSampler({"batch": 64}, RandomSampler(seed=0))
    >>> space = SearchSpace({"batch": Categorical((32, 64)), "lr": Float(1e-4, 1.0, log=True)})
    >>> sampler.propose(History(()), space, sampler.rng(0))["batch"]
    64
    """

    def __init__(self, fixed_params: Mapping[str, Any], base_sampler: Sampler) -> None:
        if not isinstance(base_sampler, Sampler):
            raise TypeError(f"base_sampler must be a Sampler, got {type(base_sampler).__name__}")
        if base_sampler.exclusive:
            raise ValueError(f"{type(base_sampler).__name__} cannot be wrapped: a grid's points "
                             "are whole; leave the fixed parameters out of the grid instead")
        self.fixed_params = json_ready("fixed_params", dict(fixed_params))
        self.base_sampler = base_sampler
        self.uses_pending = base_sampler.uses_pending
        self.finite = base_sampler.finite
        super().__init__(seed=base_sampler.seed)

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self.base_sampler.reseed(self.seed)  # one seed: the base reads trial numbers from rng

    @property
    def multi_fidelity(self) -> bool:
        """The base sampler's: whether it models fidelities itself (BOHB)."""
        return bool(getattr(self.base_sampler, "multi_fidelity", False))

    def stored_constraints_func(self) -> ConstraintsFunc | None:
        """The base sampler's: the study stores what its ``constraints_func`` returns."""
        return self.base_sampler.stored_constraints_func()

    def infer_space(self, history: History) -> SearchSpace:
        return without(self.base_sampler.infer_space(history), self.fixed_params)

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        fixed = {name: self._fixed_value(name, space[name]) for name in space
                 if name in self.fixed_params}
        rest = without(space, fixed)
        return {**(self.base_sampler.propose(history, rest, rng) if rest else {}), **fixed}

    def propose_param(self, history: History, name: str, dist: Distribution,
                      rng: np.random.Generator, partial: Mapping[str, Any]) -> Any:
        if name in self.fixed_params:
            return self._fixed_value(name, dist)
        if not self.finite:
            return super().propose_param(history, name, dist, rng, partial)
        return self.base_sampler.propose_param(
            self._unfixed(history), name, dist, rng,
            {k: v for k, v in partial.items() if k not in self.fixed_params})

    def exhausted(self, history: History) -> bool:
        return self.base_sampler.exhausted(self._unfixed(history))

    def crowded(self, history: History) -> bool:
        return self.base_sampler.crowded(self._unfixed(history))

    def _fixed_value(self, name: str, dist: Distribution) -> Any:
        value = self.fixed_params[name]
        if not dist.contains(value):
            raise ValueError(f"fixed parameter {name!r}: {value!r} is not a value of {dist}")
        return canonical(dist, value)  # 2.0 of an int is 2

    def _unfixed(self, history: History) -> History:
        """What a finite base sampler counts combinations of: the trials that hold the fixed
        values (a trial with another value of a fixed parameter tried none of this sampler's
        combinations), with the fixed parameters left out. With them, brute force saw the
        fixed parameter's other values as untried and never ended."""
        fixed = self.fixed_params
        kept = []
        for t in history.trials:
            held = fixed.keys() & t.params.keys()
            if not held:
                kept.append(t)
            elif holds_values(t, {k: fixed[k] for k in held}):
                kept.append(replace(
                    t, params={k: v for k, v in t.params.items() if k not in fixed},
                    distributions={k: d for k, d in t.distributions.items() if k not in fixed}))
        return replace(history, known_space=None, trials=tuple(kept))

    def __repr__(self) -> str:
        return f"PartialFixedSampler({self.fixed_params!r}, {self.base_sampler!r})"
