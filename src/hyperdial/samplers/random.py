"""Uniform random search: the baseline every other sampler must beat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperdial._encode import decode_value
from hyperdial.history import History
from hyperdial.samplers.base import Sampler
from hyperdial.space import Distribution, SearchSpace


class RandomSampler(Sampler):
    """Samples each parameter uniformly (log-uniformly for log scales), ignoring the history."""

    reads_history = False

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        if not space:
            return {}
        draws = rng.random(len(space)).tolist()
        row = {name: decode_value(d, u) for (name, d), u in zip(space.items(), draws, strict=True)}
        return space.restrict(row) if space.is_conditional else row

    def propose_param(self, history: History, name: str, dist: Distribution,
                      rng: np.random.Generator, partial: Mapping[str, Any]) -> Any:
        """`propose` on the parameter's own space: the same draw without building that space,
        unless a subclass proposes its own way."""
        if getattr(self.propose, "__func__", None) is not _PROPOSE:  # a subclass's, or one
            return super().propose_param(history, name, dist, rng, partial)  # patched in
        return decode_value(dist, rng.random())


_PROPOSE = RandomSampler.propose
