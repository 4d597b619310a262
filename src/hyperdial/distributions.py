"""Optuna's names for hyperdial's distributions (defined in `hyperdial.space`), so that code
written against ``optuna.distributions`` runs after changing the import:
``FloatDistribution(low, high, log=False, step=None)``, ``IntDistribution(low, high,
log=False, step=1)`` and ``CategoricalDistribution(choices)``."""

from __future__ import annotations

from hyperdial.space import Categorical as CategoricalDistribution
from hyperdial.space import Distribution as BaseDistribution
from hyperdial.space import Float as FloatDistribution
from hyperdial.space import Int as IntDistribution

__all__ = ["BaseDistribution", "CategoricalDistribution", "FloatDistribution",
           "IntDistribution"]
