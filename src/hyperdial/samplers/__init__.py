"""Samplers decide *what* to try next; `SAMPLERS` names them for the CLI."""

from __future__ import annotations

from hyperdial.samplers.base import Sampler
from hyperdial.samplers.gp import GPSampler
from hyperdial.samplers.grid import GridSampler
from hyperdial.samplers.qmc import QMCSampler
from hyperdial.samplers.random import RandomSampler
from hyperdial.samplers.tpe import TPESampler

__all__ = ["SAMPLERS", "GPSampler", "GridSampler", "QMCSampler", "RandomSampler", "Sampler",
           "TPESampler"]

#: Every sampler by the name the CLI and configuration files use.
SAMPLERS: dict[str, type[Sampler]] = {
    "random": RandomSampler,
    "grid": GridSampler,
    "qmc": QMCSampler,
    "gp": GPSampler,
    "tpe": TPESampler,
}
