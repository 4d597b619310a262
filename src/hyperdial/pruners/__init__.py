"""Pruners decide *when* a running trial should stop; `PRUNERS` names them for the CLI."""

from __future__ import annotations

from hyperdial.pruners.base import Decision, NopPruner, Pruner
from hyperdial.pruners.halving import SuccessiveHalvingPruner
from hyperdial.pruners.hyperband import HyperbandPruner
from hyperdial.pruners.median import MedianPruner, PercentilePruner
from hyperdial.pruners.threshold import PatiencePruner, PatientPruner, ThresholdPruner
from hyperdial.pruners.wilcoxon import WilcoxonPruner

__all__ = ["PRUNERS", "Decision", "HyperbandPruner", "MedianPruner", "NopPruner",
           "PatiencePruner", "PatientPruner", "PercentilePruner", "Pruner",
           "SuccessiveHalvingPruner", "ThresholdPruner", "WilcoxonPruner"]

#: Every pruner by the name the CLI and configuration files use.
PRUNERS: dict[str, type[Pruner]] = {
    "nop": NopPruner,
    "median": MedianPruner,
    "percentile": PercentilePruner,
    "successive_halving": SuccessiveHalvingPruner,
    "hyperband": HyperbandPruner,
    "threshold": ThresholdPruner,
    "patience": PatiencePruner,
    "patient": PatientPruner,
    "wilcoxon": WilcoxonPruner,
}
