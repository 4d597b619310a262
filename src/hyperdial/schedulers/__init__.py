"""Schedulers: decide *when* members of a population train, copy each other and change
hyperparameters (population-based training and PB2)."""

from __future__ import annotations

from hyperdial.schedulers.pbt import (
    PopulationBasedTraining,
    ScheduleRow,
    Segment,
    Trainable,
    delete_checkpoints,
    delete_study,
    lineage,
    schedule,
)

__all__ = ["PopulationBasedTraining", "ScheduleRow", "Segment", "Trainable", "delete_checkpoints",
           "delete_study", "lineage", "schedule"]
