"""Population-based training (Jaderberg et al. 2017), asynchronous, on a hyperdial study.

A population of ``population_size`` members trains in segments of ``perturbation_interval``
steps. Each segment is one trial of the study: its params are the hyperparameters it trained
with, it reports the score after each step (``step`` = steps of training the weights have had)
and finishes with the last one. When a member ends a segment and its latest score is in the
bottom ``quantile_fraction`` of the population, it *exploits*: its next segment starts from
the checkpoint of a member drawn from the top fraction, with that member's hyperparameters
*explored* (perturbed or resampled; PB2 picks them with a GP bandit instead). Otherwise it
continues from its own checkpoint with the same hyperparameters.

Trials are never edited: a segment's bookkeeping is written with its creation (user attribute
``"pbt"``: member, segment index, step range, parent trial, origin, artifact location and the
study that location belongs to) and its checkpoint key with its end (``"pbt_checkpoint"``), so
the lineage of any member is a chain of parent links in the event log, queryable with
`lineage` and `schedule`. The decisions (`plan`) are a pure function of the history and the
seed, like a sampler's proposals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from hyperdial._checks import check_int, resolve_seed
from hyperdial.history import History
from hyperdial.schedulers._explore import pb2_explore, perturb
from hyperdial.space import SearchSpace
from hyperdial.trial import TrialRecord, TrialState

if TYPE_CHECKING:
    from hyperdial.artifacts import ArtifactStore
    from hyperdial.executors.base import Executor
    from hyperdial.storage import Storage
    from hyperdial.study import Study

PBT_ATTR = "pbt"
CHECKPOINT_ATTR = "pbt_checkpoint"
_EXPLORES = ("perturb", "pb2")


class Trainable(Protocol):
    """What PBT trains: built from a configuration by the user's factory."""

    def step(self) -> float:
        """Train one step (an epoch, some batches) and return the score the study optimises."""
        ...

    def save(self, path: Path) -> None:
        """Write a checkpoint into the existing, empty directory ``path``."""
        ...

    def load(self, path: Path) -> None:
        """Restore the weights (and optimiser state) saved in ``path``; keep this instance's
        own hyperparameters, which the explore step may have changed."""
        ...


TrainableFactory = Callable[[dict[str, Any]], Trainable]


@dataclass(frozen=True)
class Segment:
    """One segment as recorded in its trial: ``member`` trains steps ``start + 1 .. end`` from
    the checkpoint of trial ``parent`` (None: from scratch)."""

    member: int
    index: int
    start: int
    end: int
    parent: int | None
    origin: str  # "init" | "continue" | "exploit"
    donor: int | None = None

    @classmethod
    def of(cls, record: TrialRecord) -> Segment | None:
        """The segment a trial ran, or None for a trial PBT did not create."""
        meta = record.user_attrs.get(PBT_ATTR)
        if not isinstance(meta, Mapping):
            return None
        return cls(int(meta["member"]), int(meta["segment"]), int(meta["start"]),
                   int(meta["end"]), meta["parent"], str(meta["origin"]), meta.get("donor"))

    def attr(self, artifacts: str, owner: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``"pbt"`` user attribute: the segment, its store's location and the study that
        store belongs to (``owner``: storage and study id; a copy of the study is another)."""
        out: dict[str, Any] = {"member": self.member, "segment": self.index, "start": self.start,
                               "end": self.end, "parent": self.parent, "origin": self.origin,
                               "donor": self.donor, "artifacts": artifacts}
        if owner is not None:
            out["owner"] = dict(owner)
        return out


@dataclass(frozen=True)
class Plan:
    """The next segment of a member and the hyperparameters it trains with."""

    segment: Segment
    params: dict[str, Any]


@dataclass(frozen=True)
class ScheduleRow:
    """Hyperparameters ``params`` trained the weights from step ``start + 1`` to ``end``."""

    start: int
    end: int
    params: dict[str, Any]
    trials: tuple[int, ...]


def checkpoint_key(number: int) -> str:
    """The artifact key of trial ``number``'s checkpoint."""
    return f"trial-{number}"


def segments(history: History) -> list[tuple[Segment, TrialRecord]]:
    """Every PBT segment of the history (any state) with its trial, in trial order."""
    out = []
    for record in history.trials:
        seg = Segment.of(record)
        if seg is not None:
            out.append((seg, record))
    return out


def latest(history: History) -> dict[int, tuple[Segment, TrialRecord]]:
    """Each member's latest completed segment."""
    out: dict[int, tuple[Segment, TrialRecord]] = {}
    for seg, record in segments(history):
        if record.state is TrialState.COMPLETE and (
                seg.member not in out or seg.index >= out[seg.member][0].index):
            out[seg.member] = (seg, record)
    return out


def _as_history(study: Study | History) -> History:
    return study if isinstance(study, History) else study.history()


def lineage(study: Study | History, member: int | None = None) -> list[TrialRecord]:
    """The completed trials whose checkpoints led to ``member``'s latest weights, oldest first.

    ``member=None`` takes the best member: among those that trained furthest, the one whose
    latest score is best.
    """
    history = _as_history(study)
    last = latest(history)
    if not last:
        raise ValueError("no PBT segment has completed in this study")
    if member is None:
        member = min(last, key=lambda m: (-last[m][0].end, history.sign() * _value(last[m][1]),
                                          m))
    elif member not in last:
        raise ValueError(f"member {member!r} has no completed segment; members: {sorted(last)}")
    by_number = {t.number: t for t in history.trials}
    chain = [last[member][1]]
    while (seg := Segment.of(chain[-1])) is not None and seg.parent is not None:
        chain.append(by_number[seg.parent])
    return chain[::-1]


def schedule(study: Study | History, member: int | None = None) -> list[ScheduleRow]:
    """The hyperparameter schedule along `lineage`: step ranges with the params used, adjacent
    segments with equal params merged."""
    rows: list[ScheduleRow] = []
    for record in lineage(study, member):
        seg = Segment.of(record)
        assert seg is not None
        if rows and rows[-1].params == dict(record.params):
            prev = rows.pop()
            rows.append(ScheduleRow(prev.start, seg.end, prev.params, (*prev.trials,
                                                                       record.number)))
        else:
            rows.append(ScheduleRow(seg.start, seg.end, dict(record.params), (record.number,)))
    return rows


class PopulationBasedTraining:
    """Asynchronous population-based training, with PBT's or PB2's explore step.

    Args:
        population_size: members trained side by side.
        perturbation_interval: steps per segment; members exploit and explore between them.
        quantile_fraction: a member in the bottom fraction copies one from the top fraction
            (at most half the population each).
        resample_probability: chance that a parameter is drawn afresh rather than perturbed.
        perturbation_factors: a perturbed number is multiplied by one of these at random.
        explore: ``"perturb"`` (PBT) or ``"pb2"`` (GP-UCB on the change of score; it falls back
            to perturbing until it has a few observations).
        seed: makes every decision reproducible.
    """

    def __init__(self, *, population_size: int = 8, perturbation_interval: int = 5,
                 quantile_fraction: float = 0.25, resample_probability: float = 0.25,
                 perturbation_factors: Sequence[float] = (0.8, 1.2), explore: str = "perturb",
                 seed: int | None = None) -> None:
        check_int("population_size", population_size, 2)
        check_int("perturbation_interval", perturbation_interval, 1)
        if not 0.0 < quantile_fraction <= 0.5:
            raise ValueError(f"quantile_fraction must be in (0, 0.5], got {quantile_fraction!r}")
        if not 0.0 <= resample_probability <= 1.0:
            raise ValueError(f"resample_probability must be in [0, 1], "
                             f"got {resample_probability!r}")
        factors = tuple(float(f) for f in perturbation_factors)
        if not factors or not all(math.isfinite(f) and f > 0 for f in factors):
            raise ValueError(f"perturbation_factors must be positive numbers, "
                             f"got {perturbation_factors!r}")
        if explore not in _EXPLORES:
            raise ValueError(f"explore must be one of {_EXPLORES}, got {explore!r}")
        self.population_size = population_size
        self.perturbation_interval = perturbation_interval
        self.quantile_fraction = quantile_fraction
        self.resample_probability = resample_probability
        self.perturbation_factors = factors
        self.explore = explore
        self.seed = resolve_seed(seed)

    def __repr__(self) -> str:
        return (f"PopulationBasedTraining(population_size={self.population_size}, "
                f"perturbation_interval={self.perturbation_interval}, explore={self.explore!r}, "
                f"seed={self.seed})")

    # -- decisions: pure functions of (history, seed) -------------------------------------------
    def plan(self, history: History, space: SearchSpace, member: int,
             n_steps: int) -> Plan | None:
        """``member``'s next segment, or None once its weights have ``n_steps`` steps."""
        last = {m: v for m, v in latest(history).items() if m < self.population_size}
        own = last.get(member)
        index = 0 if own is None else own[0].index + 1
        rng = np.random.default_rng([self.seed, member, index])
        if own is None:
            params = self._perturb(space, {}, rng)
            return Plan(Segment(member, 0, 0, min(self.perturbation_interval, n_steps), None,
                                "init"), params)
        if own[0].end >= n_steps:
            return None
        donor = self._donor(history, last, member, n_steps, rng)
        if donor is None:
            parent, params, origin = own, dict(own[1].params), "continue"
        else:
            parent, origin = last[donor], "exploit"
            params = self._explore(history, space, parent, rng)
        start = parent[0].end
        seg = Segment(member, index, start, min(start + self.perturbation_interval, n_steps),
                      parent[1].number, origin, donor)
        return Plan(seg, params)

    def _donor(self, history: History, last: Mapping[int, tuple[Segment, TrialRecord]],
               member: int, n_steps: int, rng: np.random.Generator) -> int | None:
        """A top member to copy if ``member`` is in the bottom quantile, else None."""
        sign = history.sign()
        ranked = sorted(last, key=lambda m: (sign * _value(last[m][1]), m))
        k = min(math.ceil(len(ranked) * self.quantile_fraction), len(ranked) // 2)
        if k == 0 or member not in ranked[len(ranked) - k:]:
            return None
        top = [m for m in ranked[:k] if last[m][0].end < n_steps]
        return top[int(rng.integers(len(top)))] if top else None

    def _perturb(self, space: SearchSpace, params: Mapping[str, Any],
                 rng: np.random.Generator) -> dict[str, Any]:
        return perturb(space, params, rng, factors=self.perturbation_factors,
                       resample_probability=self.resample_probability)

    def _explore(self, history: History, space: SearchSpace,
                 donor: tuple[Segment, TrialRecord], rng: np.random.Generator) -> dict[str, Any]:
        if self.explore == "perturb":
            return self._perturb(space, donor[1].params, rng)
        observed, pending = _improvements(history)
        if len(observed) < len(space) + 3:
            return self._perturb(space, donor[1].params, rng)
        return pb2_explore(space, donor[1].params, rng, observed=observed, pending=pending,
                           now=float(donor[0].end + self.perturbation_interval))

    # -- running ---------------------------------------------------------------------------------
    def optimize(self, study: Study, trainable: TrainableFactory,
                 space: SearchSpace | Mapping[str, Any], *, n_steps: int, n_jobs: int = 1,
                 executor: Executor | None = None,
                 step_cost: Callable[[Mapping[str, Any]], float] | None = None,
                 artifact_store: ArtifactStore | None = None) -> None:
        """Train the population until every member's weights have ``n_steps`` steps.

        ``trainable(config)`` builds a `Trainable`. Segments run on ``n_jobs`` threads, or on
        ``executor``: a `SimulatedExecutor` runs them on its virtual clock, each step costing
        ``step_cost(config)`` virtual seconds (1 by default). Checkpoints go to
        ``artifact_store``; by default the one the study recorded for itself, else the
        directory ``<db>.artifacts/study-<id>`` next to its SQLite file, else a temporary
        directory (removed with an in-memory study's storage; a copied study starts a store
        of its own: see docs/pbt.md). A study interrupted earlier resumes: its running
        segments are marked failed and redone from the last checkpoints; ValueError if a
        checkpoint a member needs is not in the store. `delete_checkpoints` removes them.
        """
        from hyperdial.schedulers._run import Runner

        check_int("n_steps", n_steps, 1)
        check_int("n_jobs", n_jobs, 1)
        if not isinstance(space, SearchSpace):
            space = SearchSpace.from_dict(space)
        if not space:
            raise ValueError("the search space is empty")
        if len(study.directions) != 1:
            raise ValueError("population-based training needs a single-objective study")
        if not callable(trainable):
            raise TypeError(f"trainable must build a Trainable from a config, got {trainable!r}")
        Runner(self, study, trainable, space, n_steps=n_steps,
               step_cost=step_cost or (lambda _: 1.0), store=artifact_store, executor=executor,
               n_jobs=n_jobs).run()


def delete_checkpoints(study: Study, artifact_store: ArtifactStore | None = None) -> None:
    """Delete the checkpoints PBT kept for ``study``, and the folder hyperdial chose for them
    (``<db>.artifacts/study-<id>``, a temporary directory) once it is empty; with
    ``artifact_store``, the checkpoints in that store (keys ``trial-<number>``; other files
    stay). The trials stay: `lineage` and `schedule` still work, training on does not. A
    copy's checkpoints are its own: the original's are never touched."""
    from hyperdial.schedulers._run import clear_checkpoints, own_store

    store, chosen = own_store(study, artifact_store)
    if store is not None:
        clear_checkpoints(store, chosen)


def delete_study(*, study_name: str, storage: str | Storage,
                 artifact_store: ArtifactStore | None = None) -> None:
    """`hyperdial.delete_study` for a PBT study: delete it and its checkpoints (see
    `delete_checkpoints`), which ``hyperdial.delete_study`` leaves on disk, as it knows
    nothing of artifact stores (``hyperdial delete`` calls this for a study whose folder
    beside its SQLite file it sees)."""
    from hyperdial.schedulers._run import clear_checkpoints, own_store
    from hyperdial.study import delete_study as delete_trials
    from hyperdial.study import load_study

    study = load_study(study_name=study_name, storage=storage, heartbeat_interval=None)
    store, chosen = own_store(study, artifact_store)
    delete_trials(study_name=study_name, storage=study.storage)
    if store is not None:  # after the trials: a failure then leaves files, not a broken study
        clear_checkpoints(store, chosen)


def _improvements(history: History) -> tuple[list[tuple[Mapping[str, Any], float, float]],
                                             list[tuple[Mapping[str, Any], float]]]:
    """PB2's data: (params, end step, score gain) of completed segments that started from a
    checkpoint, and (params, end step) of running ones."""
    sign = history.sign()
    by_number = {t.number: t for t in history.trials}
    observed, pending = [], []
    for seg, record in segments(history):
        if record.state is TrialState.RUNNING:
            pending.append((record.params, float(seg.end)))
        elif record.state is TrialState.COMPLETE and seg.parent is not None:
            before = by_number[seg.parent].values
            if before is not None and record.values is not None:
                gain = sign * (before[0] - record.values[0])
                observed.append((record.params, float(seg.end), gain))
    return observed, pending


def _value(record: TrialRecord) -> float:
    assert record.values is not None
    return record.values[0]


__all__ = ["CHECKPOINT_ATTR", "PBT_ATTR", "Plan", "PopulationBasedTraining", "ScheduleRow",
           "Segment", "Trainable", "TrainableFactory", "checkpoint_key", "delete_checkpoints",
           "delete_study", "latest", "lineage", "schedule", "segments"]
