"""The pruner contract: decide *when* a running trial should stop."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from typing import Any

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

    def needs_history(self, trial: TrialRecord) -> bool:
        """Whether `decide` must see the other trials to judge ``trial`` now. False promises
        the same decision from a history without trials (the study's directions only), and
        lets a study skip reading its storage at that report: most reports reach no rung
        of halving, and a warm-up step decides nothing. A pruner that resolves a setting
        from the trials ("auto" resources) may answer from what its last `decide` saw."""
        return True

    def judge(self, history: History, trial: TrialRecord) -> tuple[Decision, dict[str, Any]]:
        """`decide`, and the system attributes to store with ``trial`` when it is pruned: what
        later decisions need to know of it that its curve does not say (none by default)."""
        return self.decide(history, trial), {}

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

    def needs_history(self, trial: TrialRecord) -> bool:
        return False
