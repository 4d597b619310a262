"""Pruners decide *when* a running trial should stop; `PRUNERS` names them for the CLI."""

from __future__ import annotations

from hyperdial.pruners.base import Decision, NopPruner, Pruner
from hyperdial.pruners.median import MedianPruner, PercentilePruner

__all__ = ["PRUNERS", "Decision", "MedianPruner", "NopPruner", "PercentilePruner", "Pruner"]

#: Every pruner by the name the CLI and configuration files use.
PRUNERS: dict[str, type[Pruner]] = {
    "nop": NopPruner,
    "median": MedianPruner,
    "percentile": PercentilePruner,
}
