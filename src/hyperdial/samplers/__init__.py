"""Samplers decide *what* to try next; `SAMPLERS` names them for the CLI."""

from __future__ import annotations

from hyperdial.samplers.base import Sampler
from hyperdial.samplers.grid import GridSampler
from hyperdial.samplers.qmc import QMCSampler
from hyperdial.samplers.random import RandomSampler

__all__ = ["SAMPLERS", "GridSampler", "QMCSampler", "RandomSampler", "Sampler"]

#: Every sampler by the name the CLI and configuration files use.
SAMPLERS: dict[str, type[Sampler]] = {
    "random": RandomSampler,
    "grid": GridSampler,
    "qmc": QMCSampler,
}
