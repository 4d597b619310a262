"""Conformance checks every sampler must pass, as plain functions of a sampler factory.

A factory builds a sampler from the search space it will serve and a seed; `factory_for` gives
the one for each registered sampler (`hyperdial.samplers.SAMPLERS`), building a grid for
`GridSampler`. Each ``check_*`` function raises AssertionError on a violation. The trials are
proposed the way a study does it (`ask`): the joint space of `Sampler.infer_space` first, then
each parameter the objective asks for that the joint proposal lacks (`Sampler.propose_param`,
with the values the trial holds already). A `Sampler.finite` sampler is asked `exhausted`
first and checked on finite spaces (`servable`).

Use from pytest::

    @pytest.mark.parametrize("name", sorted(SAMPLERS))
    def test_reproducible(name):
        check_reproducible(factory_for(SAMPLERS[name]), my_space, seed=1)
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from hyperdial._encode import decode_column, encode
from hyperdial.exceptions import SearchExhausted
from hyperdial.history import History
from hyperdial.samplers import GridSampler, Sampler
from hyperdial.space import Categorical, Condition, Float, Int, SearchSpace, canonical
from hyperdial.trial import TrialRecord, TrialState, config_key

SamplerFactory = Callable[[SearchSpace, int | None], Sampler]

#: Categories that are all distinct for hyperdial and JSON, though Python says True == 1 == 1.0.
MIXED = Categorical((None, True, 1, 1.0, "a"))

#: A space whose parameters depend on others, two levels deep.
CONDITIONAL = SearchSpace(
    {"model": Categorical(("linear", "tree", "knn")),
     "alpha": Float(1e-4, 1.0, log=True),
     "depth": Int(1, 8),
     "leaf": Int(1, 64, log=True),
     "k": Int(1, 9, step=2)},
    conditions={"alpha": Condition("model", ("linear",)),
                "depth": Condition("model", ("tree",)),
                "leaf": Condition("depth", (5, 6, 7, 8)),
                "k": Condition("model", ("knn",))})


def grid_of(space: SearchSpace, n: int = 5) -> SearchSpace:
    """A finite version of ``space``: every category, and for numbers ``n`` values spread
    over the range plus those that conditions name."""
    named: dict[str, list[Any]] = {}
    for cond in space.conditions.values():
        named.setdefault(cond.parent, []).extend(cond.values)
    params = {name: d if isinstance(d, Categorical) else Categorical(tuple(dict.fromkeys(
              [*decode_column(d, np.linspace(0.0, 1.0, n)), *named.get(name, [])])))
              for name, d in space.items()}
    return SearchSpace(params, space.conditions)


def factory_for(cls: type[Sampler]) -> SamplerFactory:
    """How the suite builds a registered sampler from a space and a seed."""
    if issubclass(cls, GridSampler):
        return lambda space, seed: cls(grid_of(space), seed=seed)
    return lambda space, seed: cls(seed=seed)


def key(params: Any) -> str:
    """Type-aware identity of a proposal (the study's exclusivity key): 1, 1.0 and True differ."""
    return config_key(params)


def ask(sampler: Sampler, history: History, space: SearchSpace,
        number: int) -> dict[str, Any] | None:
    """Propose trial ``number``'s parameters as a study does for an objective asking ``space``;
    None when the (exclusive or finite) sampler has nothing left."""
    if sampler.finite and sampler.exhausted(history):
        return None
    try:
        joint = sampler.propose(history, sampler.infer_space(history), sampler.rng(number))
    except SearchExhausted:
        assert sampler.exclusive, f"{sampler!r} raised SearchExhausted but is not exclusive"
        return None
    params: dict[str, Any] = {}
    for name, dist in space.items():
        if name not in space.active(params):
            continue
        if name in joint and dist.contains(joint[name]):
            params[name] = joint[name]
        else:
            params[name] = sampler.propose_param(history, name, dist, sampler.rng(number, name),
                                                 params)
    return params


def record(history: History, space: SearchSpace, params: dict[str, Any],
           state: TrialState = TrialState.COMPLETE) -> History:
    """``history`` plus one trial with ``params`` (a COMPLETE one gets a value from them)."""
    loss = float(np.nansum(encode(space, [params]))) if state is TrialState.COMPLETE else None
    trial = TrialRecord(number=len(history.trials), state=state, params=params,
                        distributions={n: space[n] for n in params},
                        values=None if loss is None else (loss,))
    return replace(history, trials=(*history.trials, trial), known_space=None)


def run(sampler: Sampler, space: SearchSpace, n_trials: int) -> list[dict[str, Any]]:
    """Propose and complete up to ``n_trials`` trials; stops early when the search is exhausted."""
    history = History(())
    out: list[dict[str, Any]] = []
    for number in range(n_trials):
        params = ask(sampler, history, space, number)
        if params is None:
            break
        out.append(params)
        history = record(history, space, params)
    return out


def _checked_proposal(sampler: Sampler, history: History, space: SearchSpace,
                      number: int) -> dict[str, Any] | None:
    """Ask as a study would and propose the whole space at once; both must be valid
    assignments, and an exclusive sampler must not repeat a point of the history."""
    params = ask(sampler, history, space, number)
    if params is None:
        return None
    whole = sampler.propose(history, space, sampler.rng(number))
    for proposal in (params, whole):
        space.validate(proposal)
        _check_canonical(space, proposal)
    _check_exclusive(sampler, [params], history)
    return params


def _check_canonical(space: SearchSpace, params: Mapping[str, Any]) -> None:
    """Every number is written as decoding writes it (`canonical`): an int for an Int, a
    float for a Float, a stepped float's grid value exactly (0.2 + 0.1, which is
    0.30000000000000004, is not the grid's 0.3), or conditions on it fail to hold."""
    for name, value in params.items():
        dist = space[name]
        if isinstance(dist, Categorical):
            continue
        want = canonical(dist, value)
        assert type(value) is type(want) and value == want, (
            f"{name}: {value!r} is not written as {dist} writes it ({want!r})")


def _check_exclusive(sampler: Sampler, proposals: Sequence[dict[str, Any]],
                     history: History | None = None) -> None:
    if not sampler.exclusive:
        return
    seen = [key(t.params) for t in history.trials] if history is not None else []
    keys = [key(p) for p in proposals]
    assert len(set(keys)) == len(keys), f"{sampler!r} proposed a point twice: {keys}"
    assert not set(keys) & set(seen), f"{sampler!r} proposed a point the history already has"


def check_valid(factory: SamplerFactory, space: SearchSpace, seed: int,
                n_trials: int = 6) -> None:
    """Every proposal is complete, in range (bounds, log, step) and holds only active params,
    both through the study protocol and when the whole space is proposed at once."""
    sampler = factory(space, seed)
    history = History(())
    proposals = []
    for number in range(n_trials):
        params = _checked_proposal(sampler, history, space, number)
        if params is None:
            break
        proposals.append(params)
        history = record(history, space, params)
    _check_exclusive(sampler, proposals)


def servable(factory: SamplerFactory, space: SearchSpace) -> SearchSpace:
    """``space``, or its finite version (`grid_of`) for a `Sampler.finite` sampler, which
    serves only finite distributions."""
    return grid_of(space) if factory(space, 0).finite else space


def check_conditional(factory: SamplerFactory, seed: int, n_trials: int = 12) -> None:
    """Only the active parameters of a conditional space are proposed."""
    check_valid(factory, servable(factory, CONDITIONAL), seed, n_trials)


def check_mixed_categorical(factory: SamplerFactory, seed: int, n_trials: int = 12) -> None:
    """None, True, 1, 1.0 and "a" are five choices, each proposed with its own type."""
    space = servable(factory, SearchSpace({"c": MIXED, "x": Float(0.0, 1.0)}))
    for params in run(factory(space, seed), space, n_trials):
        value = params["c"]
        choice = MIXED.choices[MIXED.index(value)]
        assert type(value) is type(choice), f"{value!r} came back as a {type(value).__name__}"


def check_reproducible(factory: SamplerFactory, space: SearchSpace, seed: int,
                       n_trials: int = 6) -> None:
    """The same seed gives the same proposals, also to a fresh sampler resuming a history."""
    first = run(factory(space, seed), space, n_trials)
    assert [key(p) for p in run(factory(space, seed), space, n_trials)] == \
        [key(p) for p in first]
    history = History(())
    for number, params in enumerate(first):
        resumed = ask(factory(space, seed), history, space, number)
        assert key(resumed) == key(params), f"trial {number}: resumed {resumed} != {params}"
        history = record(history, space, params)


def check_picklable(factory: SamplerFactory, space: SearchSpace, seed: int,
                    n_trials: int = 8) -> None:
    """A sampler pickled (or deep-copied) halfway through a run, its caches warm, goes on
    with the proposals the original makes: a copy is what a worker process receives."""
    original = factory(space, seed)
    history = History(())
    for number in range(n_trials):
        if number == n_trials // 2:
            copies = [pickle.loads(pickle.dumps(original)), copy.deepcopy(original)]
        params = ask(original, history, space, number)
        if params is None:
            return
        if number >= n_trials // 2:
            for twin in copies:
                got = ask(twin, history, space, number)
                assert key(got) == key(params), f"trial {number}: a copy proposed {got}, " \
                                                f"the original {params}"
        history = record(history, space, params)


def _pending_history(factory: SamplerFactory, space: SearchSpace, seed: int) -> History:
    """A history of complete, running and waiting trials (the last two with parameters)."""
    sampler = factory(space, seed)
    history = History(())
    states = [TrialState.COMPLETE, TrialState.RUNNING, TrialState.COMPLETE, TrialState.WAITING,
              TrialState.RUNNING]
    for number, state in enumerate(states):
        params = ask(sampler, history, space, number)
        if params is None:
            break
        history = record(history, space, params, state)
    return history


def check_pending(factory: SamplerFactory, space: SearchSpace, seed: int) -> None:
    """Running and waiting trials are accepted; an exclusive sampler never proposes them again."""
    history = _pending_history(factory, space, seed)
    sampler = factory(space, seed)
    _checked_proposal(sampler, history, space, len(history.trials))


def check_batch(factory: SamplerFactory, space: SearchSpace, seed: int, n: int = 4) -> None:
    """`propose_batch` gives ``n`` valid proposals, pairwise new for an exclusive sampler."""
    history = _pending_history(factory, space, seed)
    sampler = factory(space, seed)
    try:
        batch = sampler.propose_batch(history, space, n, sampler.rng(len(history.trials)))
    except SearchExhausted:
        assert sampler.exclusive, f"{sampler!r} raised SearchExhausted but is not exclusive"
        return
    assert len(batch) == n
    for p in batch:
        space.validate(p)
    _check_exclusive(sampler, batch, history)


def check_all(factory: SamplerFactory, space: SearchSpace, seed: int, *,
              n_trials: int = 12) -> None:
    """Every check of this module on one factory, runs of about ``n_trials`` trials: for a
    sampler whose model starts after a few trials, use enough to see it in use."""
    check_valid(factory, space, seed, n_trials=n_trials)
    check_reproducible(factory, space, seed, n_trials=max(n_trials // 2, 6))
    check_picklable(factory, space, seed, n_trials=max(n_trials // 2, 6))
    check_pending(factory, space, seed)
    check_batch(factory, space, seed)
    check_conditional(factory, seed, n_trials=n_trials)
    check_mixed_categorical(factory, seed, n_trials=n_trials)
