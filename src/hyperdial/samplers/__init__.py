"""Samplers decide *what* to try next; `SAMPLERS` names them for the CLI.

Each sampler's module is imported when the class is first used (``hd.samplers.GPSampler``,
``SAMPLERS["gp"]``), so that importing hyperdial stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperdial._lazy import LazyRegistry, module_getattr
from hyperdial.samplers.base import Sampler

if TYPE_CHECKING:
    from hyperdial.samplers.auto import AutoSampler
    from hyperdial.samplers.bohb import BOHBSampler
    from hyperdial.samplers.bruteforce import BruteForceSampler
    from hyperdial.samplers.cmaes import CmaEsSampler
    from hyperdial.samplers.evolution import RegularizedEvolutionSampler
    from hyperdial.samplers.fixed import PartialFixedSampler
    from hyperdial.samplers.gp import GPSampler
    from hyperdial.samplers.grid import GridSampler
    from hyperdial.samplers.nsga import NSGAIIISampler, NSGAIISampler
    from hyperdial.samplers.qmc import QMCSampler
    from hyperdial.samplers.random import RandomSampler
    from hyperdial.samplers.tpe import TPESampler

_MODULES = {
    "AutoSampler": "auto", "BOHBSampler": "bohb", "BruteForceSampler": "bruteforce",
    "CmaEsSampler": "cmaes", "GPSampler": "gp",
    "GridSampler": "grid", "NSGAIISampler": "nsga", "NSGAIIISampler": "nsga",
    "PartialFixedSampler": "fixed", "QMCSampler": "qmc", "RandomSampler": "random",
    "RegularizedEvolutionSampler": "evolution", "TPESampler": "tpe",
}

__all__ = ["SAMPLERS", "AutoSampler", "BOHBSampler", "BruteForceSampler", "CmaEsSampler",
           "GPSampler", "GridSampler",
           "NSGAIIISampler", "NSGAIISampler", "PartialFixedSampler", "QMCSampler", "RandomSampler",
           "RegularizedEvolutionSampler", "Sampler", "TPESampler"]

__getattr__ = module_getattr(__name__, _MODULES, submodules=("nsgaii",))  # Optuna's crossovers

#: Every sampler by the name the CLI and configuration files use.
SAMPLERS: LazyRegistry[Sampler] = LazyRegistry(__name__, _MODULES, {
    "auto": "AutoSampler",
    "random": "RandomSampler",
    "grid": "GridSampler",
    "qmc": "QMCSampler",
    "gp": "GPSampler",
    "tpe": "TPESampler",
    "cmaes": "CmaEsSampler",
    "nsga2": "NSGAIISampler",
    "nsga3": "NSGAIIISampler",
    "bohb": "BOHBSampler",
    "evolution": "RegularizedEvolutionSampler",
    "bruteforce": "BruteForceSampler",
})
