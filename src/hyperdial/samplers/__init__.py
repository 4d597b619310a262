"""Samplers decide *what* to try next; `SAMPLERS` names them for the CLI."""

from __future__ import annotations

from hyperdial.samplers.auto import AutoSampler
from hyperdial.samplers.base import Sampler
from hyperdial.samplers.bohb import BOHBSampler
from hyperdial.samplers.cmaes import CmaEsSampler
from hyperdial.samplers.gp import GPSampler
from hyperdial.samplers.grid import GridSampler
from hyperdial.samplers.nsga import NSGAIIISampler, NSGAIISampler
from hyperdial.samplers.qmc import QMCSampler
from hyperdial.samplers.random import RandomSampler
from hyperdial.samplers.tpe import TPESampler

__all__ = ["SAMPLERS", "AutoSampler", "BOHBSampler", "CmaEsSampler", "GPSampler", "GridSampler",
           "NSGAIIISampler", "NSGAIISampler", "QMCSampler", "RandomSampler", "Sampler",
           "TPESampler"]

#: Every sampler by the name the CLI and configuration files use.
SAMPLERS: dict[str, type[Sampler]] = {
    "auto": AutoSampler,
    "random": RandomSampler,
    "grid": GridSampler,
    "qmc": QMCSampler,
    "gp": GPSampler,
    "tpe": TPESampler,
    "cmaes": CmaEsSampler,
    "nsga2": NSGAIISampler,
    "nsga3": NSGAIIISampler,
    "bohb": BOHBSampler,
}
