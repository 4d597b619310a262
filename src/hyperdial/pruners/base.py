"""The pruner contract: decide *when* a running trial should stop."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod

from hyperdial.history import History
from hyperdial.trial import TrialRecord


class Decision(enum.Enum):
    CONTINUE = "continue"
    PRUNE = "prune"


class Pruner(ABC):
    """Judges a running trial, given everything else the study has seen."""

    @abstractmethod
    def decide(self, history: History, trial: TrialRecord) -> Decision:
        """CONTINUE or PRUNE ``trial`` (a snapshot with its intermediate values so far)."""

    def sampler_view(self, history: History, number: int) -> History:
        """The part of ``history`` the sampler should learn from when proposing for trial
        ``number``: all of it, unless a pruner that splits trials into groups judged apart is
        asked to show only the trial's own group (Hyperband with ``sampler_scope="bracket"``)."""
        return history


class NopPruner(Pruner):
    """Never prunes."""

    def __repr__(self) -> str:
        return "NopPruner()"

    def decide(self, history: History, trial: TrialRecord) -> Decision:
        return Decision.CONTINUE
