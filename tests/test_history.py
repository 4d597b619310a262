"""History and RecordSequence: the views samplers receive, proposals of running trials."""

from __future__ import annotations

from typing import Any

import numpy as np

import hyperdial as hd
from hyperdial.history import History, RecordSequence, with_proposals
from hyperdial.samplers.gp import GPSampler
from hyperdial.space import Float
from hyperdial.trial import PROPOSAL_ATTR, TrialRecord, TrialState

X = Float(0.0, 1.0)


def _done(n: int, x: float) -> TrialRecord:
    return TrialRecord(number=n, state=TrialState.COMPLETE, params={"x": x},
                       distributions={"x": X}, values=(x,))


def _running(n: int, params: dict[str, Any] | None = None,
             proposal: dict[str, Any] | None = None) -> TrialRecord:
    attrs = {} if proposal is None else {PROPOSAL_ATTR: {
        "params": proposal, "dists": {k: X.to_dict() for k in proposal}}}
    return TrialRecord(number=n, state=TrialState.RUNNING, params=params or {},
                       distributions={k: X for k in params or {}}, system_attrs=attrs)


def test_running_trials_take_their_proposal_under_what_they_asked_for() -> None:
    trials = (_done(0, 0.1), _running(1, proposal={"x": 0.4, "y": 0.9}),
              _running(2, params={"x": 0.7}, proposal={"x": 0.2, "y": 0.3}), _running(3))
    seen = with_proposals(History(trials), trials)
    assert [t.params for t in seen.trials] == [
        {"x": 0.1}, {"x": 0.4, "y": 0.9}, {"x": 0.7, "y": 0.3}, {}]
    assert seen.trials[1].distributions == {"x": X, "y": X}
    assert seen.trials[0] is trials[0] and seen.trials[3] is trials[3]
    assert with_proposals(History(trials[:1]), trials).trials == trials[:1]  # others: ignored


def test_replacing_records_keeps_the_chunks_and_completed_records_it_does_not_touch() -> None:
    chunks = [(_done(0, 0.1), _done(1, 0.2)), (_done(2, 0.3), _running(3, proposal={"x": 0.5}))]
    seq = RecordSequence(chunks, [chunks[0], chunks[1][:1]])
    seen = with_proposals(History(seq), [seq[3]])
    assert isinstance(seen.trials, RecordSequence)
    assert seen.trials[3].params == {"x": 0.5}
    assert list(seen.trials)[:3] == list(seq)[:3]
    assert seen.completed == seq.completed()


def test_a_trial_publishes_its_proposal_while_it_runs_and_drops_it_at_the_end() -> None:
    study = hd.create_study(sampler=GPSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", 0.0, 1.0) - 0.3) ** 2, n_trials=4)
    trial = study.ask()
    published = study.trials[trial.number].system_attrs[PROPOSAL_ATTR]
    assert published["params"] == {"x": trial.suggest_float("x", 0.0, 1.0)}
    study.tell(trial, 0.5)
    assert PROPOSAL_ATTR not in study.trials[trial.number].system_attrs


def test_a_sampler_that_ignores_running_trials_publishes_nothing() -> None:
    study = hd.create_study(sampler=hd.samplers.TPESampler(seed=0, n_startup_trials=2))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=4)
    trial = study.ask()
    assert PROPOSAL_ATTR not in study.trials[trial.number].system_attrs


class _Watching(GPSampler):
    """A GP that records the running trials it was shown."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self.shown: list[dict[int, dict[str, Any]]] = []

    def propose(self, history: Any, space: Any, rng: np.random.Generator) -> dict[str, Any]:
        self.shown.append({t.number: dict(t.params) for t in history.running})
        return super().propose(history, space, rng)


def _quadratic(t: hd.Trial) -> float:
    return (t.suggest_float("x", 0.0, 1.0) - 0.3) ** 2 + t.suggest_float("y", 0.0, 1.0)


def test_another_worker_sees_where_a_running_trial_is_going(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'pending.db'}"
    first = hd.create_study(study_name="s", storage=url, sampler=_Watching(0))
    first.optimize(_quadratic, n_trials=4)
    running = first.ask()  # proposed and published; nothing suggested or reported yet
    other = _Watching(1)
    second = hd.load_study(study_name="s", storage=url, sampler=other)
    mine = second.ask()
    proposal = second.trials[running.number].system_attrs[PROPOSAL_ATTR]["params"]
    assert other.shown[-1][running.number] == proposal
    assert mine.number not in other.shown[-1] or other.shown[-1][mine.number] == {}
    unseen = _Watching(1)
    unseen.uses_pending = False  # the behaviour before proposals were published
    hd.load_study(study_name="s", storage=url, sampler=unseen).ask()
    assert unseen.shown[-1][running.number] == {}


class _NumpyProposals(hd.samplers.RandomSampler):
    """Proposes numpy float32s for the space of the completed trials, and models pending ones."""

    uses_pending = True

    def infer_space(self, history: Any) -> Any:
        return history.completed_space

    def propose(self, history: Any, space: Any, rng: np.random.Generator) -> dict[str, Any]:
        return {name: np.float32(0.25) for name in space}  # no float subclass


def test_a_proposal_is_published_as_plain_json() -> None:
    study = hd.create_study(sampler=_NumpyProposals(seed=0))
    study.enqueue_trial({"x": 0.5})
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=1)
    trial = study.ask()
    published = study.trials[trial.number].system_attrs[PROPOSAL_ATTR]["params"]
    assert published == {"x": 0.25} and type(published["x"]) is float
    assert trial.suggest_float("x", 0.0, 1.0) == 0.25
