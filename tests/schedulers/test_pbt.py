"""Population-based training: decisions, explore, checkpoints, lineage, resume, errors.

The trainable is a number: each step adds ``lr`` to it and reports it (maximised), so whether a
segment really started from its parent's weights can be read off its first report.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperdial as hd
from hyperdial.artifacts import DirectoryStore
from hyperdial.executors import SimulatedExecutor
from hyperdial.schedulers import PopulationBasedTraining, Segment, lineage, schedule
from hyperdial.schedulers._explore import pb2_explore, perturb
from hyperdial.schedulers._run import default_store, study_folder
from hyperdial.schedulers.pbt import CHECKPOINT_ATTR, PBT_ATTR, checkpoint_key, latest

SPACE = hd.SearchSpace({"lr": hd.Float(1e-3, 1.0, log=True)})


class Counter:
    """Weights: one number, grown by ``lr`` per step."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.lr = config["lr"]
        self.w = 0.0

    def step(self) -> float:
        self.w += self.lr
        return self.w

    def save(self, path: Path) -> None:
        (path / "w.json").write_text(json.dumps(self.w))

    def load(self, path: Path) -> None:
        self.w = json.loads((path / "w.json").read_text())


def simulate(seed: int = 0, *, pbt_seed: int = 0, n_steps: int = 24, explore: str = "perturb",
             store: DirectoryStore | None = None, study: hd.Study | None = None,
             ) -> tuple[hd.Study, SimulatedExecutor]:
    study = study or hd.create_study(direction="maximize")
    pbt = PopulationBasedTraining(population_size=6, perturbation_interval=3, seed=pbt_seed,
                                  explore=explore)
    executor = SimulatedExecutor(3, seed=seed)
    pbt.optimize(study, Counter, SPACE, n_steps=n_steps, executor=executor,
                 step_cost=lambda c: 1.0 + c["lr"], artifact_store=store)
    return study, executor


def _trace(study: hd.Study) -> list[tuple[Any, ...]]:
    return [(t.number, t.state, dict(t.params), {k: v for k, v in t.user_attrs[PBT_ATTR].items()
                                                 if k not in ("artifacts", "owner")}, t.values)
            for t in study.trials]


def check_weights_restored(study: hd.Study) -> None:
    """Every segment's first step continued its parent's weights (0 for a fresh member)."""
    by_number = {t.number: t for t in study.trials}
    for t in study.get_trials([hd.TrialState.COMPLETE]):
        seg = Segment.of(t)
        assert seg is not None
        before = 0.0 if seg.parent is None else by_number[seg.parent].value
        assert before is not None
        assert t.intermediate_values[seg.start + 1] == pytest.approx(before + t.params["lr"])
        assert sorted(t.intermediate_values) == list(range(seg.start + 1, seg.end + 1))


def test_population_trains_to_the_end_exploits_and_restores_weights(tmp_path: Path) -> None:
    study, _ = simulate(store=DirectoryStore(tmp_path))
    last = latest(study.history())
    assert sorted(last) == list(range(6))
    assert all(seg.end == 24 for seg, _ in last.values())
    origins = [Segment.of(t).origin for t in study.trials]  # type: ignore[union-attr]
    assert origins.count("init") == 6 and "exploit" in origins and "continue" in origins
    check_weights_restored(study)
    # an exploit copies a member that was in the top quantile and changes the hyperparameters
    for t in study.trials:
        seg = Segment.of(t)
        assert seg is not None
        if seg.origin == "exploit":
            assert seg.donor != seg.member
            assert study.trials[seg.parent].params != t.params  # type: ignore[index]


def test_same_seed_same_lineage_and_trace() -> None:
    a, ex_a = simulate(seed=1)
    b, ex_b = simulate(seed=1)
    assert _trace(a) == _trace(b)
    assert ex_a.trace == ex_b.trace
    assert [t.number for t in lineage(a)] == [t.number for t in lineage(b)]
    c, _ = simulate(seed=1, pbt_seed=5)
    assert _trace(c) != _trace(a)


def test_plan_is_a_pure_function_of_the_history() -> None:
    def record(number: int, member: int, value: float) -> hd.TrialRecord:
        seg = Segment(member, 0, 0, 3, None, "init")
        return hd.TrialRecord(number=number, state=hd.TrialState.COMPLETE, params={"lr": 0.1},
                              distributions=dict(SPACE), values=(value,),
                              user_attrs={PBT_ATTR: seg.attr("x")})

    history = hd.History(tuple(record(i, i, v) for i, v in enumerate([4.0, 3.0, 2.0, 1.0])),
                         (hd.StudyDirection.MAXIMIZE,))
    pbt = PopulationBasedTraining(population_size=4, perturbation_interval=3, seed=0)
    worst = pbt.plan(history, SPACE, 3, n_steps=9)
    assert worst is not None and worst == pbt.plan(history, SPACE, 3, n_steps=9)
    assert (worst.segment.origin, worst.segment.donor, worst.segment.parent) == ("exploit", 0, 0)
    assert (worst.segment.start, worst.segment.end, worst.segment.index) == (3, 6, 1)
    middle = pbt.plan(history, SPACE, 1, n_steps=9)
    assert middle is not None and middle.segment.origin == "continue"
    assert middle.params == {"lr": 0.1} and middle.segment.parent == 1
    assert pbt.plan(history, SPACE, 3, n_steps=3) is None  # trained to the end
    fresh = pbt.plan(history, SPACE, 9, n_steps=9)
    assert fresh is not None and fresh.segment.origin == "init" and SPACE["lr"].contains(
        fresh.params["lr"])


MIXED = hd.SearchSpace(
    {"lr": hd.Float(1e-4, 1.0, log=True), "drop": hd.Float(0.0, 0.5, step=0.05),
     "layers": hd.Int(1, 6), "width": hd.Int(8, 512, log=True), "batch": hd.Int(16, 256, step=16),
     "opt": hd.Categorical(("sgd", "adam")), "beta": hd.Float(0.5, 0.999)},
    conditions={"beta": hd.Condition("opt", ("adam",))})


def test_explore_stays_in_the_space() -> None:
    rng = np.random.default_rng(0)
    params = perturb(MIXED, {}, rng, factors=(0.8, 1.2), resample_probability=0.25)
    for _ in range(300):
        params = perturb(MIXED, params, rng, factors=(0.8, 1.2), resample_probability=0.25)
        MIXED.validate(params)  # bounds, steps, ints, active-only


def test_perturbation_multiplies_and_snaps() -> None:
    start = {"lr": 0.1, "drop": 0.25, "layers": 2, "width": 64, "batch": 128, "opt": "sgd"}
    seen: dict[str, set[Any]] = {k: set() for k in start}
    rng = np.random.default_rng(1)
    for _ in range(50):
        out = perturb(MIXED, start, rng, factors=(0.8, 1.2), resample_probability=0.0)
        for k, v in out.items():
            seen[k].add(v)
    assert {round(v, 12) for v in seen["lr"]} == {0.08, 0.12}
    assert {round(v, 12) for v in seen["drop"]} == {0.2, 0.3}
    assert seen["layers"] == {1, 3}  # 2 * 0.8 and 2 * 1.2 round back to 2: one step instead
    assert seen["width"] == {51, 77}
    assert seen["batch"] == {96, 160}
    assert seen["opt"] == {"sgd"}  # categoricals change only by resampling
    edge = perturb(MIXED, {**start, "lr": 1.0, "layers": 6}, np.random.default_rng(2),
                   factors=(1.5,), resample_probability=0.0)
    assert edge["lr"] == 1.0 and edge["layers"] == 6  # clipped at the bounds
    assert len({perturb(MIXED, start, np.random.default_rng(i), factors=(0.8, 1.2),
                        resample_probability=1.0)["opt"] for i in range(20)}) == 2


def test_checkpoints_no_member_needs_are_deleted(tmp_path: Path) -> None:
    class Watched(DirectoryStore):
        most = 0

        def put(self, key: str, path: Path) -> None:
            super().put(key, path)
            Watched.most = max(Watched.most, len(self.keys()))

    store = Watched(tmp_path / "store")
    (tmp_path / "notes.txt").write_text("mine")
    store.put("notes.txt", tmp_path / "notes.txt")  # not a checkpoint: left alone
    study, _ = simulate(store=store)
    assert store.keys() == sorted([*(checkpoint_key(r.number)
                                     for _, r in latest(study.history()).values()), "notes.txt"])
    assert Watched.most <= 2 * 6 + 1  # never more than the latest and the next per member
    best = lineage(study)[-1]
    model = Counter(dict(best.params))
    model.load(store.get(best.user_attrs[CHECKPOINT_ATTR]))
    assert model.w == best.value


def test_lineage_and_schedule_cover_the_best_members_training() -> None:
    study, _ = simulate()
    chain = lineage(study)
    assert chain[-1].value == study.best_value
    segs = [Segment.of(t) for t in chain]
    assert segs[0].start == 0 and segs[-1].end == 24  # type: ignore[union-attr]
    for prev, nxt in itertools.pairwise(segs):
        assert nxt.parent is not None and prev.end == nxt.start  # type: ignore[union-attr]
    rows = schedule(study)
    assert rows[0].start == 0 and rows[-1].end == 24
    assert all(a.end == b.start and a.params != b.params for a, b in itertools.pairwise(rows))
    assert sum(len(r.trials) for r in rows) == len(chain)
    for member in range(6):
        assert Segment.of(lineage(study, member)[-1]).member == member  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="member 7"):
        lineage(study, 7)
    with pytest.raises(ValueError, match="no PBT segment"):
        schedule(hd.create_study())


def test_threads_run_the_same_protocol() -> None:
    study = hd.create_study(direction="maximize")
    PopulationBasedTraining(population_size=4, perturbation_interval=2, seed=0).optimize(
        study, Counter, {"lr": hd.Float(1e-3, 1.0, log=True)}, n_steps=10, n_jobs=3)
    assert all(seg.end == 10 for seg, _ in latest(study.history()).values())
    check_weights_restored(study)


def test_pb2_explore_is_deterministic_and_in_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(len(kwargs["observed"]))
        return pb2_explore(*args, **kwargs)

    monkeypatch.setattr("hyperdial.schedulers.pbt.pb2_explore", counted)
    a, _ = simulate(seed=2, explore="pb2", n_steps=15)
    b, _ = simulate(seed=2, explore="pb2", n_steps=15)
    assert calls and min(calls) >= 4  # the GP bandit chose, not the perturbation fallback
    assert _trace(a) == _trace(b)
    check_weights_restored(a)
    assert all(SPACE["lr"].contains(t.params["lr"]) for t in a.trials)


class Crash(Exception):
    pass


def test_resume_after_an_interruption_from_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    steps = [0]

    class Fragile(Counter):
        def step(self) -> float:
            steps[0] += 1
            if steps[0] == 40:
                raise Crash("power cut")
            return super().step()

    study = hd.create_study(storage=url, study_name="pop", direction="maximize")
    pbt = PopulationBasedTraining(population_size=4, perturbation_interval=3, seed=0)
    with pytest.raises(Crash):
        pbt.optimize(study, Fragile, SPACE, n_steps=18, executor=SimulatedExecutor(2))
    root = tmp_path / "pbt.db.artifacts" / "study-1"
    assert DirectoryStore(root).keys()  # the default store sits beside the database
    # what a killed process leaves: a running segment and a half-kept checkpoint
    seg = Segment(0, 99, 0, 3, None, "init")
    study.enqueue_trial({"lr": 0.5}, user_attrs={PBT_ATTR: seg.attr(str(root))})
    study.ask()
    (root / "trial-999").mkdir()

    resumed = hd.load_study(study_name="pop", storage=url)
    PopulationBasedTraining(population_size=4, perturbation_interval=3, seed=0).optimize(
        resumed, Counter, SPACE, n_steps=18, executor=SimulatedExecutor(2))
    history = resumed.history()
    reasons = sorted(t.fail_reason or "" for t in history.trials
                     if t.state is hd.TrialState.FAIL)
    assert len(reasons) == 2  # the crashed segment and the one left running
    assert reasons[0].startswith("Crash: power cut") and reasons[1].startswith("interrupted")
    assert all(s.end == 18 for s, _ in latest(history).values())
    check_weights_restored(resumed)
    assert sorted(DirectoryStore(root).keys()) == sorted(
        checkpoint_key(r.number) for _, r in latest(history).values())


@pytest.mark.parametrize("simulated", [True, False])
def test_non_finite_scores_fail_the_segment_and_stop(simulated: bool) -> None:
    class Diverging(Counter):
        def step(self) -> float:
            return math.nan if self.lr > 0.05 else super().step()

    study = hd.create_study(direction="maximize")
    with pytest.raises(ValueError, match="finite score"):
        PopulationBasedTraining(population_size=4, seed=0).optimize(
            study, Diverging, SPACE, n_steps=30, n_jobs=2,
            executor=SimulatedExecutor(4) if simulated else None)
    assert any(t.state is hd.TrialState.FAIL for t in study.trials)
    assert not study.get_trials([hd.TrialState.RUNNING])
    assert max(t.number for t in study.trials) < 8  # no new segment after the error


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"population_size": 1}, "population_size"),
    ({"perturbation_interval": 0}, "perturbation_interval"),
    ({"quantile_fraction": 0.6}, "quantile_fraction"),
    ({"resample_probability": 1.5}, "resample_probability"),
    ({"perturbation_factors": (0.8, -1.0)}, "perturbation_factors"),
    ({"explore": "bandit"}, "explore"),
])
def test_bad_settings_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PopulationBasedTraining(**kwargs)


def test_bad_runs_are_refused() -> None:
    pbt = PopulationBasedTraining(seed=0)
    study = hd.create_study()
    with pytest.raises(ValueError, match="n_steps"):
        pbt.optimize(study, Counter, SPACE, n_steps=0)
    with pytest.raises(ValueError, match="empty"):
        pbt.optimize(study, Counter, {}, n_steps=3)
    with pytest.raises(ValueError, match="single-objective"):
        pbt.optimize(hd.create_study(directions=["minimize", "minimize"]), Counter, SPACE,
                     n_steps=3)
    with pytest.raises(TypeError, match="trainable"):
        pbt.optimize(study, 3, SPACE, n_steps=3)  # type: ignore[arg-type]
    study.enqueue_trial({"lr": 0.1})
    with pytest.raises(ValueError, match="enqueued"):
        pbt.optimize(study, Counter, SPACE, n_steps=3)


# -- whose store: a copy never touches the original's checkpoints ----------------------------
def _train(study: hd.Study, n_steps: int) -> None:
    PopulationBasedTraining(population_size=4, perturbation_interval=3, seed=0).optimize(
        study, Counter, SPACE, n_steps=n_steps, executor=SimulatedExecutor(2))


def _listing(root: Path) -> dict[str, str]:
    return {p.name: (p / "w.json").read_text() for p in sorted(root.iterdir())
            if not p.name.startswith(".")}


def _folder(root: Path, study: hd.Study) -> Path:
    """The default store of ``study`` under ``root`` (``<db>.artifacts``): named by its id."""
    return root / f"study-{study._info.id}"


def test_training_a_copy_leaves_the_originals_checkpoints_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    original = hd.create_study(storage=url, study_name="orig", direction="maximize")
    _train(original, 6)
    root = tmp_path / "pbt.db.artifacts"
    kept = _listing(_folder(root, original))
    assert len(kept) == 4
    hd.copy_study(from_study_name="orig", from_storage=url, to_storage=url,
                  to_study_name="experiment")
    copy = hd.load_study(study_name="experiment", storage=url)
    own = _folder(root, copy)
    # its checkpoints stayed with the original: say what to do, touch nothing
    with pytest.raises(ValueError, match=(
            rf"trial-\d+.* not in {re.escape(str(own))}: its segments were recorded by "
            rf"another study \(in the store {re.escape(str(_folder(root, original)))}\), of "
            r"which this one is a copy")):
        _train(copy, 12)
    assert _listing(_folder(root, original)) == kept
    assert len(copy.trials) == len(original.trials)  # nothing was started
    # with the checkpoints copied into its own folder, the copy trains there
    shutil.copytree(_folder(root, original), own, dirs_exist_ok=True)
    _train(copy, 12)
    assert _listing(_folder(root, original)) == kept
    check_weights_restored(copy)
    assert all(s.end == 12 for s, _ in latest(copy.history()).values())
    assert {t.user_attrs[PBT_ATTR]["artifacts"] for t in copy.trials[len(original.trials):]} == {
        str(own)}
    # and the original resumes from its own, untouched checkpoints
    _train(hd.load_study(study_name="orig", storage=url), 12)
    check_weights_restored(hd.load_study(study_name="orig", storage=url))


def test_a_copy_on_another_storage_gets_a_store_of_its_own() -> None:
    original, _ = simulate(n_steps=6)
    store = original.trials[-1].user_attrs[PBT_ATTR]["artifacts"]
    kept = _listing(Path(store))
    other = hd.storage.InMemoryStorage()
    hd.copy_study(from_study_name=original.study_name, from_storage=original.storage,
                  to_storage=other)
    copy = hd.load_study(study_name=original.study_name, storage=other)
    with pytest.raises(ValueError, match="does not carry its checkpoints"):
        simulate(n_steps=12, study=copy)
    assert _listing(Path(store)) == kept
    simulate(n_steps=12, study=original)  # the original still resumes from its own


def test_a_renamed_study_keeps_its_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    _train(hd.create_study(storage=url, study_name="old", direction="maximize"), 6)
    hd.storage.get_storage(url).rename_study("old", "new")
    renamed = hd.load_study(study_name="new", storage=url)
    _train(renamed, 9)  # the same study: its checkpoints are where it recorded them
    check_weights_restored(renamed)
    assert len(DirectoryStore(_folder(tmp_path / "pbt.db.artifacts", renamed)).keys()) == 4


@pytest.mark.parametrize("by_name", [False, True])
def test_a_new_study_under_a_renamed_ones_name_leaves_its_checkpoints_alone(
        tmp_path: Path, by_name: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The renamed study resumes from its checkpoints, with folders named by study id, and
    (``by_name``) for a study trained when folders were named by study name."""
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    root = tmp_path / "pbt.db.artifacts"
    with monkeypatch.context() as old_layout:
        if by_name:
            old_layout.setattr("hyperdial.schedulers._run._sqlite_folder",
                               lambda study: root / study_folder(study.study_name))
        _train(hd.create_study(storage=url, study_name="pbt", direction="maximize"), 6)
    first = root / ("pbt" if by_name else "study-1")
    kept = _listing(first)
    assert len(kept) == 4
    hd.storage.get_storage(url).rename_study("pbt", "pbt-old")
    new = hd.create_study(storage=url, study_name="pbt", direction="maximize")
    _train(new, 9)
    assert _listing(first) == kept
    assert len(_listing(_folder(root, new))) == 4
    renamed = hd.load_study(study_name="pbt-old", storage=url)
    _train(renamed, 9)
    check_weights_restored(renamed)
    assert all(s.end == 9 for s, _ in latest(renamed.history()).values())
    assert sorted(p.name for p in root.iterdir()) == sorted([first.name, "study-2"])


def test_a_deleted_studys_folder_is_never_another_studys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    gone = hd.create_study(storage=url, study_name="pbt", direction="maximize")
    hd.delete_study(study_name="pbt", storage=url)
    again = hd.create_study(storage=url, study_name="pbt", direction="maximize")
    assert again._info.id != gone._info.id
    assert default_store(again).location == str(_folder(tmp_path / "pbt.db.artifacts", again))


def test_missing_checkpoints_of_the_studys_own_are_not_called_a_copy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    study = hd.create_study(storage=url, study_name="pop", direction="maximize")
    _train(study, 6)
    folder = _folder(tmp_path / "pbt.db.artifacts", study)
    shutil.rmtree(folder / "trial-4")
    with pytest.raises(ValueError, match=r"trial-4 are not in .*: they were deleted or moved"
                                         r"\. Put them back") as caught:
        _train(study, 9)
    assert "copy" not in str(caught.value)


def test_segments_recorded_without_an_owner_count_only_in_the_studys_own_folder(
        tmp_path: Path) -> None:
    """Copies made before owners were recorded name the original's folder: not reused."""
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    root = tmp_path / "pbt.db.artifacts"
    for name, folder, own in (("pop", "pop", "pop"), ("copy", "pop", "study-2")):
        study = hd.create_study(storage=url, study_name=name, direction="maximize")
        study.enqueue_trial({"lr": 0.5}, user_attrs={
            PBT_ATTR: Segment(0, 0, 0, 3, None, "init").attr(str(root / folder))})
        study.tell(study.ask(), 1.5)
        assert default_store(study).location == str(root / own)


def test_study_folders_are_one_to_one_and_keep_plain_names() -> None:
    for plain in ("pop", "resnet_lr", "a.b-c_1", "x" * 255):
        assert study_folder(plain) == plain  # existing folders keep working
    names = ["resnet lr", "resnet_lr", "resnet/lr", "résnet_lr", ".", "..", "a" * 300,
             "a" * 299 + "b", "resnet_lr+" + "0" * 16]
    folders = [study_folder(n) for n in names]
    assert len(set(folders)) == len(names)
    for folder in folders:
        assert re.fullmatch(r"[A-Za-z0-9_.+-]{1,255}", folder) and folder not in (".", "..")


def test_studies_whose_names_differ_in_punctuation_get_separate_folders(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    spaced = hd.create_study(storage=url, study_name="resnet lr", direction="maximize")
    _train(spaced, 6)
    _train(hd.create_study(storage=url, study_name="resnet_lr", direction="maximize"), 9)
    spaced = hd.load_study(study_name="resnet lr", storage=url)
    _train(spaced, 12)
    check_weights_restored(spaced)
    assert sorted(p.name for p in (tmp_path / "pbt.db.artifacts").iterdir()) == [
        "study-1", "study-2"]


# -- removing checkpoints: deleted studies, in-memory studies ------------------------------------
def test_delete_study_removes_its_checkpoints_and_no_one_elses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    root = tmp_path / "pbt.db.artifacts"
    a, b = (hd.create_study(storage=url, study_name=n, direction="maximize") for n in "ab")
    for study in (a, b):
        _train(study, 6)
    kept = _listing(_folder(root, a))
    hd.copy_study(from_study_name="a", from_storage=url, to_storage=url, to_study_name="a-copy")
    copy = hd.load_study(study_name="a-copy", storage=url)
    hd.schedulers.delete_study(study_name="b", storage=url)
    hd.schedulers.delete_study(study_name="a-copy", storage=url)  # a copy has none of its own
    assert hd.get_all_study_names(url) == ["a"]
    assert sorted(p.name for p in root.iterdir()) == [_folder(root, a).name]
    assert _listing(_folder(root, a)) == kept
    assert not _folder(root, copy).exists()
    hd.delete_study(study_name="a", storage=url)  # the trials only, as documented
    assert _listing(_folder(root, a)) == kept


def test_delete_checkpoints_keeps_the_trials_and_the_users_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    study = hd.create_study(storage=url, study_name="pop", direction="maximize")
    _train(study, 6)
    hd.schedulers.delete_checkpoints(study)
    assert not (tmp_path / "pbt.db.artifacts" / "study-1").exists()
    assert len(lineage(study)) == 2  # the record stays
    with pytest.raises(ValueError, match="deleted or moved"):
        _train(study, 9)
    store = DirectoryStore(tmp_path / "mine")
    (tmp_path / "notes.txt").write_text("mine")
    store.put("notes.txt", tmp_path / "notes.txt")
    other, _ = simulate(n_steps=6, store=store)
    hd.schedulers.delete_checkpoints(other, artifact_store=store)
    assert store.keys() == ["notes.txt"]
    hd.schedulers.delete_checkpoints(hd.create_study())  # never trained: nothing to do


def test_an_in_memory_studys_checkpoints_go_with_its_storage(tmp_path: Path) -> None:
    study, _ = simulate(n_steps=6)
    folder = Path(study.trials[-1].user_attrs[PBT_ATTR]["artifacts"])
    assert folder.name.startswith("hyperdial-pbt-") and len(_listing(folder)) == 6
    simulate(n_steps=9, study=study)  # it resumes while the study lives
    assert study.trials[-1].user_attrs[PBT_ATTR]["artifacts"] == str(folder)
    del study
    gc.collect()
    assert not folder.exists()
    # and a script that ends leaves none in the temporary directory
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import hyperdial as hd
        from hyperdial.schedulers import PopulationBasedTraining
        class Toy:
            def __init__(self, config): self.w = 0.0
            def step(self): self.w += 1.0; return self.w
            def save(self, path): (path / "w").write_text(repr(self.w))
            def load(self, path): self.w = float((path / "w").read_text())
        study = hd.create_study(direction="maximize")
        PopulationBasedTraining(population_size=2, perturbation_interval=2, seed=0).optimize(
            study, Toy, {"lr": hd.Float(0.1, 1.0)}, n_steps=4)
        print(study.trials[-1].user_attrs["pbt"]["artifacts"])
        """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert Path(out).name.startswith("hyperdial-pbt-") and not Path(out).exists()


def test_ctrl_c_on_the_simulated_executor_stops_at_once_and_fails_the_running_segments(
        tmp_path: Path) -> None:
    steps = [0]

    class Interrupted(Counter):
        def step(self) -> float:
            steps[0] += 1
            if steps[0] == 20:
                raise KeyboardInterrupt
            return super().step()

    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    study = hd.create_study(storage=url, study_name="pop", direction="maximize")
    pbt = PopulationBasedTraining(population_size=6, perturbation_interval=3, seed=0)
    with pytest.raises(KeyboardInterrupt):
        pbt.optimize(study, Interrupted, SPACE, n_steps=24, executor=SimulatedExecutor(3))
    assert steps[0] == 20  # no step after the interrupt
    failed = study.get_trials([hd.TrialState.FAIL])
    assert not study.get_trials([hd.TrialState.RUNNING]) and len(failed) == 3
    assert sorted(t.fail_reason.split(":")[0] for t in failed) == [  # type: ignore[union-attr]
        "KeyboardInterrupt", "interrupted", "interrupted"]
    pbt.optimize(study, Counter, SPACE, n_steps=24, executor=SimulatedExecutor(3))
    assert all(s.end == 24 for s, _ in latest(study.history()).values())


def test_the_cli_deletes_a_pbt_studys_checkpoints_and_only_its_own(tmp_path: Path) -> None:
    """``hyperdial delete`` sees the study's folder beside the SQLite file (reading no trial)
    and deletes its checkpoints with it; a copy's deletion touches the original's none."""
    from click.testing import CliRunner

    from hyperdial import _cli_app

    url = f"sqlite:///{tmp_path / 'pbt.db'}"
    root = tmp_path / "pbt.db.artifacts"
    a = hd.create_study(storage=url, study_name="a", direction="maximize")
    hd.create_study(storage=url, study_name="b", direction="maximize")
    _train(a, 6)
    kept = _listing(_folder(root, a))
    hd.copy_study(from_study_name="a", from_storage=url, to_storage=url, to_study_name="a-copy")

    def delete(name: str) -> str:
        result = CliRunner().invoke(_cli_app.app, ["delete", name, "--yes", "--storage", url])
        assert result.exit_code == 0, result.output
        return result.output.strip()

    assert delete("b") == "deleted study 'b'"  # never trained: nothing beside the file
    assert delete("a-copy") == "deleted study 'a-copy'"
    assert _listing(_folder(root, a)) == kept
    assert delete("a") == "deleted study 'a' and its checkpoints"
    assert hd.get_all_study_names(url) == [] and not _folder(root, a).exists()
