"""The PBT run loop: one task per segment, on threads or on the simulated executor; and where
a study's checkpoints are kept, and removed.

A segment is written as a generator that yields the virtual cost of each step, so that the
`SimulatedExecutor` runs it as it is and a thread drains it. The plan and the trial's creation
happen under one lock when the segment starts (with the latest results); training runs outside
it; the result, and the deletion of checkpoints no member can still need, under it again.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import tempfile
import threading
import traceback
import weakref
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperdial.artifacts import ArtifactStore, DirectoryStore
from hyperdial.executors.simulated import SimulatedExecutor
from hyperdial.history import History
from hyperdial.schedulers.pbt import (
    CHECKPOINT_ATTR,
    PBT_ATTR,
    Plan,
    PopulationBasedTraining,
    TrainableFactory,
    checkpoint_key,
    latest,
    segments,
)
from hyperdial.space import SearchSpace
from hyperdial.storage.memory import InMemoryStorage
from hyperdial.trial import Trial, TrialState

if TYPE_CHECKING:
    from hyperdial.executors.base import Executor
    from hyperdial.storage import Storage
    from hyperdial.study import Study


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,255}")


def study_folder(name: str) -> str:
    """The folder under ``<db>.artifacts/`` of studies trained before folders were named by
    study id, one to one: a name of letters, digits, ``_``, ``.`` and ``-`` is its own folder;
    any other name is a readable slug, ``+`` (which no plain name holds) and a hash of the
    exact name. A rename changes it and a later study may take it: no longer used for new
    stores."""
    if _PLAIN_NAME.fullmatch(name) and name not in (".", ".."):
        return name
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64]
    return f"{slug}+{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def storage_key(storage: Storage) -> str:
    """Which storage this is, as recorded with a study's checkpoint store: a SQLite file's
    absolute path, a server database's address (no password), a journal's path; an in-memory
    storage is itself (within this process)."""
    url = getattr(storage, "url", None)
    if isinstance(url, str):
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        database = parsed.database or ""
        if parsed.get_backend_name() == "sqlite":
            if database in ("", ":memory:"):
                return f"sqlite-memory:{id(storage):x}"
            return "sqlite:" + (database if database.startswith("file:")
                                else str(Path(database).resolve()))
        return f"{parsed.get_backend_name()}://{parsed.host or ''}:{parsed.port or ''}/{database}"
    path = getattr(storage, "path", None)
    if isinstance(path, str):
        return f"journal:{Path(path).resolve()}"
    return f"{type(storage).__qualname__}:{id(storage):x}"


def study_owner(study: Study) -> dict[str, Any]:
    """What a segment records next to its store's location: the study it belongs to."""
    return {"storage": storage_key(study.storage), "study_id": study._info.id}


def _artifacts_root(study: Study) -> Path | None:
    """``<db>.artifacts/`` beside the study's SQLite file, else None."""
    return artifacts_root(getattr(study.storage, "url", None))


def holds_checkpoints(url: str, study_id: int, study_name: str) -> bool:
    """Whether a folder hyperdial chose for the study's checkpoints is there, beside its
    SQLite file (``study-<id>``, or the by-name folder of older versions): a look that reads
    no trial, before deleting a study. Whose checkpoints they are is for `own_store`."""
    root = artifacts_root(url)
    return root is not None and any(
        (root / folder).is_dir() for folder in (f"study-{study_id}", study_folder(study_name)))


def artifacts_root(url: str | None) -> Path | None:
    """``<db>.artifacts/`` beside the SQLite file of the storage ``url``, else None."""
    if isinstance(url, str) and url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            db = Path(database).resolve()
            return db.parent / f"{db.name}.artifacts"
    return None


def _sqlite_folder(study: Study) -> Path | None:
    """``<db>.artifacts/study-<id>`` beside a SQLite file, else None: named by the study's id,
    which stays through a rename and is never given to another study, even once it is
    deleted (the ``studies`` table never reuses an id)."""
    root = _artifacts_root(study)
    return None if root is None else root / f"study-{study._info.id}"


def recorded_store(study: Study) -> str | None:
    """The latest store location the study's segments recorded for the study itself; None if
    there is none (a new study, or a copy: its segments name the original's store).

    A segment written before owners were recorded counts as the study's own only where it is
    the folder beside the SQLite file that this study's name gave then (old copies named the
    original's, and training them deleted the original's checkpoints)."""
    owner = study_owner(study)
    root = _artifacts_root(study)
    by_name = None if root is None else root / study_folder(study.study_name)
    for _, record in reversed(segments(study.history())):
        meta = record.user_attrs[PBT_ATTR]
        location = meta.get("artifacts")
        if not isinstance(location, str):
            continue
        recorded_owner = meta.get("owner")
        if recorded_owner == owner or (recorded_owner is None and by_name is not None
                                       and Path(location) == by_name):
            return location
    return None


def _in_memory(storage: Storage) -> bool:
    """Whether ``storage`` ends with this process (`InMemoryStorage`, an in-memory SQLite)."""
    return (isinstance(storage, InMemoryStorage)
            or storage_key(storage).startswith("sqlite-memory:"))


def _remove_tree(path: str, pid: int) -> None:
    """Remove ``path``, unless this is a forked child of the process ``pid`` that made it."""
    if os.getpid() == pid:
        shutil.rmtree(path, ignore_errors=True)


def default_store(study: Study) -> ArtifactStore:
    """The store the study recorded for itself, else ``<db>.artifacts/study-<id>`` beside its
    SQLite file, else a new temporary directory. A copied study gets a store of its own: the
    original's checkpoints are never reused, overwritten or deleted by it. The temporary
    directory of an in-memory study lives as long as its storage, and so the study: it is
    removed when the storage is garbage-collected, or at exit."""
    location = recorded_store(study)
    if location is not None:
        return DirectoryStore(location)
    folder = _sqlite_folder(study)
    if folder is not None:
        return DirectoryStore(folder)
    root = tempfile.mkdtemp(prefix="hyperdial-pbt-")
    if _in_memory(study.storage):
        weakref.finalize(study.storage, _remove_tree, root, os.getpid())
    return DirectoryStore(root)


_CHECKPOINT = re.compile(r"trial-\d+")  # the keys `checkpoint_key` makes


def own_store(study: Study, store: ArtifactStore | None = None
              ) -> tuple[ArtifactStore | None, bool]:
    """The store holding the study's checkpoints (``store`` if given, else the one its
    segments recorded for it, if that is still there), and whether hyperdial chose it (then
    its folder goes with the last checkpoint). A study that never trained has none."""
    if store is not None:
        return store, False
    location = recorded_store(study)
    if location is None or not Path(location).is_dir():
        return None, False
    return DirectoryStore(location), True


def clear_checkpoints(store: ArtifactStore, chosen: bool) -> None:
    """Delete the checkpoints in ``store`` (the keys `checkpoint_key` makes; the user's own
    files stay); a folder hyperdial ``chosen`` that is left empty goes too."""
    for key in filter(_CHECKPOINT.fullmatch, store.keys()):
        store.delete(key)
    if chosen and isinstance(store, DirectoryStore) and not store.keys():
        shutil.rmtree(store.root, ignore_errors=True)


def live_checkpoints(history: History) -> set[str]:
    """Checkpoints a member may still need: each member's latest, and those running segments
    start from."""
    keep = {checkpoint_key(record.number) for _, record in latest(history).values()}
    keep.update(checkpoint_key(seg.parent) for seg, record in segments(history)
                if record.state is TrialState.RUNNING and seg.parent is not None)
    return keep


class Runner:
    """One `PopulationBasedTraining.optimize` call."""

    def __init__(self, pbt: PopulationBasedTraining, study: Study, factory: TrainableFactory,
                 space: SearchSpace, *, n_steps: int,
                 step_cost: Callable[[Mapping[str, Any]], float],
                 store: ArtifactStore | None, executor: Executor | None, n_jobs: int) -> None:
        self.pbt, self.study, self.factory, self.space = pbt, study, factory, space
        self.n_steps, self.step_cost = n_steps, step_cost
        self.store = store if store is not None else default_store(study)
        self.owner = study_owner(study)
        self.own_pool = executor is None
        self.pool: Executor = ThreadPoolExecutor(n_jobs) if executor is None else executor
        self.lock = threading.RLock()
        self.inflight = 0
        self.errors: list[BaseException] = []
        self.idle = threading.Event()

    def run(self) -> None:
        try:
            self._recover()
            for member in range(self.pbt.population_size):
                self._submit(member)
            if isinstance(self.pool, SimulatedExecutor):
                self.pool.run()
            else:
                self.idle.wait()
        except BaseException as exc:  # Ctrl-C: start no more segments, let running ones end
            with self.lock:
                self.errors.append(exc)
            raise
        finally:
            if self.own_pool:
                self.pool.shutdown()
        if self.errors:
            raise self.errors[0]

    def _recover(self) -> None:
        """Fail segments an interrupted run left running; drop checkpoints nobody needs."""
        history = self.study.history()
        if history.with_states(TrialState.WAITING):
            raise ValueError("the study has enqueued trials: PBT needs a study of its own")
        for _, record in segments(history):
            if record.state is TrialState.RUNNING:
                self.study.tell(record.number, state=TrialState.FAIL,
                                fail_reason="interrupted: still running when PBT resumed")
        history = self.study.history()
        self._check_checkpoints(history)
        for key in set(self.store.keys()) - live_checkpoints(history):
            if _CHECKPOINT.fullmatch(key):  # the store may hold files of the user's too
                self.store.delete(key)

    def _check_checkpoints(self, history: History) -> None:
        """Refuse to resume when a checkpoint some member must start from is not in the store
        (a copied study: its checkpoints stayed in the original's store)."""
        needed = {checkpoint_key(record.number)
                  for member, (seg, record) in latest(history).items()
                  if member < self.pbt.population_size and seg.end < self.n_steps}
        missing = sorted(needed - set(self.store.keys()), key=lambda k: int(k.split("-")[1]))
        if not missing:
            return
        metas = [record.user_attrs[PBT_ATTR] for _, record in segments(history)]
        elsewhere = {meta.get("artifacts") for meta in metas} - {self.store.location, None}
        start = (f"cannot resume PBT study {self.study.study_name!r}: the checkpoints "
                 f"{', '.join(missing)} are not in {self.store.location}")
        names = ", ".join(sorted(map(str, elsewhere)))
        if any(meta.get("owner") not in (None, self.owner) for meta in metas):
            raise ValueError(
                f"{start}: its segments were recorded by another study"
                f"{f' (in the store {names})' if names else ''}, of which this one is a copy "
                "(or its database file has moved). A copy does not carry its checkpoints: "
                "copy those entries into that folder (or pass artifact_store= holding them) "
                "to train on, or train a new study from scratch")
        raise ValueError(
            f"{start}{f' (its segments also name {names})' if names else ''}: they were "
            "deleted or moved. Put them back in that folder (or pass artifact_store= holding "
            "them) to train on, or train a new study from scratch")

    def _submit(self, member: int) -> None:
        """Queue ``member``'s next segment; the simulated executor runs the generator itself."""
        with self.lock:
            if self.errors:
                return
            self.inflight += 1
            self.idle.clear()
        task = self._segment if isinstance(self.pool, SimulatedExecutor) else self._drain
        future = self.pool.submit(task, member)
        future.add_done_callback(lambda f: self._done(member, f))

    def _done(self, member: int, future: Future[Any]) -> None:
        cancelled = future.cancelled()  # the simulated executor stopped on an interrupt
        exc = None if cancelled else future.exception()
        if exc is None and not cancelled and future.result():
            self._submit(member)
        with self.lock:
            if exc is not None:
                self.errors.append(exc)
            self.inflight -= 1
            if self.inflight == 0:
                self.idle.set()

    def _drain(self, member: int) -> bool:
        task = self._segment(member)
        while True:
            try:
                next(task)
            except StopIteration as stop:
                done: bool = stop.value
                return done

    def _segment(self, member: int) -> Generator[float, None, bool]:
        """Plan, train and record ``member``'s next segment; True if another one follows."""
        with self.lock:
            plan = self.pbt.plan(self.study.history(), self.space, member, self.n_steps)
            if plan is None:
                return False
            trial = self._start(plan)
        try:
            score = yield from self._train(plan, trial)
        except BaseException as exc:
            reason = ("interrupted: the run stopped while it trained"  # closed by the simulated
                      if isinstance(exc, GeneratorExit)  # executor on an interrupt elsewhere
                      else f"{type(exc).__name__}: {exc}")
            with self.lock:
                self.study.tell(trial, state=TrialState.FAIL, fail_reason=reason,
                                traceback="".join(traceback.format_exception(exc)))
            raise
        with self.lock:
            self.study.tell(trial, score)
            history = self.study.history()
            keep = live_checkpoints(history)
            for _, record in segments(history):
                key = record.user_attrs.get(CHECKPOINT_ATTR)
                # (a running segment's checkpoint is written before its end: not yet judged)
                if key is not None and key not in keep and record.state.is_finished():
                    self.store.delete(key)
        return plan.segment.end < self.n_steps

    def _start(self, plan: Plan) -> Trial:
        attr = plan.segment.attr(self.store.location, self.owner)
        number = self.study.enqueue_trial(plan.params, user_attrs={PBT_ATTR: attr})
        trial = self.study.ask()
        if trial.number != number:
            raise RuntimeError(f"PBT enqueued trial {number} but started {trial.number}: "
                               "another process is adding trials to this study")
        trial.suggest_space(self.space)
        return trial

    def _train(self, plan: Plan, trial: Trial) -> Generator[float, None, float]:
        seg = plan.segment
        model = self.factory(dict(plan.params))
        if seg.parent is not None:
            model.load(self.store.get(checkpoint_key(seg.parent)))
        cost = float(self.step_cost(plan.params))
        score = math.nan
        for step in range(seg.start + 1, seg.end + 1):
            yield cost
            raw = model.step()
            score = float(raw)
            if not math.isfinite(score):
                raise ValueError(f"step() returned {raw!r}; PBT needs a finite score")
            trial.report(score, step)
        with tempfile.TemporaryDirectory(prefix="hyperdial-ckpt-") as scratch:
            path = Path(scratch) / "checkpoint"
            path.mkdir()
            model.save(path)
            key = checkpoint_key(trial.number)
            self.store.put(key, path)
        trial.set_user_attr(CHECKPOINT_ATTR, key)
        return score
