"""Uniform random search: the baseline every other sampler must beat."""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperdial._encode import decode
from hyperdial.history import History
from hyperdial.samplers.base import Sampler
from hyperdial.space import SearchSpace


class RandomSampler(Sampler):
    """Samples each parameter uniformly (log-uniformly for log scales), ignoring the history."""

    reads_history = False

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        if not space:
            return {}
        return decode(space, rng.random((1, len(space))))[0]
