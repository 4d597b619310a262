"""Optuna's ``optuna.samplers.nsgaii`` crossover classes, for ported code:
``NSGAIISampler(crossover=SBXCrossover(eta=15))`` is ``NSGAIISampler(crossover="sbx",
eta=15)``. hyperdial's own spelling is the string and the sampler's keywords.

Optuna's ``SPXCrossover``, ``UNDXCrossover`` and ``VSBXCrossover`` are not provided (nor
custom ``BaseCrossover`` subclasses): use ``"sbx"``, ``"uniform"`` or ``"blx"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hyperdial.samplers.nsga import NSGAIIISampler, NSGAIISampler

__all__ = ["BLXAlphaCrossover", "BaseCrossover", "NSGAIIISampler", "NSGAIISampler",
           "SBXCrossover", "UniformCrossover"]


class BaseCrossover:
    """A crossover of Optuna's that hyperdial names: ``name`` is the sampler's string, and
    `keywords` the sampler settings it carries."""

    name: str = ""

    def keywords(self) -> dict[str, float]:
        return {}


@dataclass(frozen=True)
class SBXCrossover(BaseCrossover):
    """Simulated binary crossover; ``eta`` is the sampler's ``eta`` (None: the sampler's)."""

    eta: float | None = None
    name = "sbx"

    def keywords(self) -> dict[str, float]:
        return {} if self.eta is None else {"eta": float(self.eta)}


@dataclass(frozen=True)
class UniformCrossover(BaseCrossover):
    """Uniform crossover; ``swapping_prob`` is the sampler's ``swapping_prob``."""

    swapping_prob: float = 0.5
    name = "uniform"

    def keywords(self) -> dict[str, float]:
        return {"swapping_prob": float(self.swapping_prob)}


@dataclass(frozen=True)
class BLXAlphaCrossover(BaseCrossover):
    """BLX-alpha crossover; ``alpha`` is the sampler's ``alpha``."""

    alpha: float = 0.5
    name = "blx"

    def keywords(self) -> dict[str, float]:
        return {"alpha": float(self.alpha)}
