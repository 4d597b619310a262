"""Executors decide *where* trials run; all have the `concurrent.futures` shape."""

from __future__ import annotations

from hyperdial.executors.base import Executor
from hyperdial.executors.distributed import optimize_distributed
from hyperdial.executors.ray_executor import RayExecutor
from hyperdial.executors.simulated import Event, SimulatedExecutor, optimize_simulated

__all__ = ["Event", "Executor", "RayExecutor", "SimulatedExecutor", "optimize_distributed",
           "optimize_simulated"]
