"""`History`: the immutable view of a study that samplers and pruners receive, and nothing else."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hyperdial.space import Distribution, SearchSpace
from hyperdial.trial import TrialRecord, TrialState


class StudyDirection(enum.Enum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def parse(cls, value: str | StudyDirection) -> StudyDirection:
        if isinstance(value, StudyDirection):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ValueError(f"direction must be 'minimize' or 'maximize', got {value!r}") from None


def held_alike(space: Mapping[str, Distribution],
               distributions: Mapping[str, Distribution]) -> dict[str, Distribution]:
    """The parameters of ``space`` that ``distributions`` holds with the same distribution.
    Read back from a storage, equal distributions are mostly one shared object, so the
    identity test settles nearly every one before dataclass equality is needed."""
    return {k: d for k, d in space.items() if (e := distributions.get(k)) is d or e == d}


@dataclass(frozen=True)
class History:
    """Trials of one study (finished, running and waiting) plus its optimisation directions."""

    trials: tuple[TrialRecord, ...]
    directions: tuple[StudyDirection, ...] = (StudyDirection.MINIMIZE,)
    known_space: SearchSpace | None = None  # precomputed `completed_space`, if the caller has it

    @property
    def n_objectives(self) -> int:
        return len(self.directions)

    def with_states(self, *states: TrialState) -> list[TrialRecord]:
        return [t for t in self.trials if t.state in states]

    @cached_property
    def completed(self) -> tuple[TrialRecord, ...]:
        return tuple(t for t in self.trials if t.state is TrialState.COMPLETE)

    @cached_property
    def running(self) -> tuple[TrialRecord, ...]:
        return tuple(t for t in self.trials if t.state is TrialState.RUNNING)

    @cached_property
    def completed_space(self) -> SearchSpace:
        """Parameters that every completed trial has, with one distribution (define-by-run)."""
        if self.known_space is not None:
            return self.known_space
        space: dict[str, Distribution] | None = None
        for t in self.completed:
            space = dict(t.distributions) if space is None else held_alike(space,
                                                                            t.distributions)
        return SearchSpace(space or {})

    @cached_property
    def completed_union_space(self) -> SearchSpace:
        """Parameters that any completed trial has, each with one distribution throughout (a
        conditional space seen whole); a name seen with two distributions is left out."""
        seen: dict[str, Distribution] = {}
        clash: set[str] = set()
        for t in self.completed:
            for k, d in t.distributions.items():
                if seen.setdefault(k, d) != d:
                    clash.add(k)
        return SearchSpace({k: d for k, d in seen.items() if k not in clash})

    @cached_property
    def _signs(self) -> np.ndarray:
        return np.array([1.0 if d is StudyDirection.MINIMIZE else -1.0 for d in self.directions])

    def loss(self, trials: Iterable[TrialRecord] | None = None) -> np.ndarray:
        """Values of (by default completed) trials turned into minimisation, shape (n, m)."""
        trials = self.completed if trials is None else tuple(trials)
        vals = np.array([t.values for t in trials], dtype=float).reshape(-1, self.n_objectives)
        loss: np.ndarray = vals * self._signs
        return loss

    def sign(self, objective: int = 0) -> float:
        """+1 for a minimised objective, -1 for a maximised one."""
        return float(self._signs[objective])

    def best(self) -> TrialRecord | None:
        """Best completed trial of a single-objective study (lowest trial number on ties)."""
        if self.n_objectives != 1:
            raise RuntimeError("best() is for single-objective studies; use pareto_front()")
        if not self.completed:
            return None
        return self.completed[int(np.argmin(self.loss()[:, 0]))]

    def pareto_front(self) -> list[TrialRecord]:
        """Completed trials that no other completed trial dominates."""
        from hyperdial._pareto import non_dominated

        if not self.completed:
            return []
        mask = non_dominated(self.loss())
        return [t for t, keep in zip(self.completed, mask, strict=True) if keep]

    def intermediate_at(self, step: int, states: Sequence[TrialState] = (
            TrialState.COMPLETE, TrialState.PRUNED)) -> np.ndarray:
        """Values reported at exactly ``step`` by trials in ``states`` (1-D, as minimised)."""
        sign = self.sign()
        vals = [t.intermediate_values[step] for t in self.trials
                if t.state in states and step in t.intermediate_values]
        return np.asarray(vals, dtype=float) * sign
