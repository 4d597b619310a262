"""The sampler contract's helpers: constraint values and the constraints a study stores."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperdial as hd
from hyperdial.samplers import (
    CmaEsSampler,
    GPSampler,
    PartialFixedSampler,
    RandomSampler,
    Sampler,
    TPESampler,
)
from hyperdial.samplers._evolution import violations
from hyperdial.samplers.base import checked_constraints, constraint_values
from hyperdial.trial import TrialRecord, TrialState, violation


def _record(number: int, **constraints: float) -> TrialRecord:
    return TrialRecord(number=number, state=TrialState.COMPLETE, values=(0.0,),
                       system_attrs={f"constraints:{k}": v for k, v in constraints.items()})


def test_infinite_constraint_values_mean_what_they_do_to_best_trial() -> None:
    """-inf is always satisfied and +inf always violated, for samplers as for `violation`
    (Optuna's reading); a value a trial lacks is NaN, violated for samplers."""
    trials = [_record(0, a=-math.inf, b=-1.0), _record(1, a=math.inf, b=0.0), _record(2, a=0.0)]
    c = constraint_values(None, trials)
    np.testing.assert_array_equal(c, [[-np.inf, -1.0], [np.inf, 0.0], [0.0, np.nan]])
    np.testing.assert_array_equal(violations(c), [0.0, np.inf, np.inf])
    assert [violation(t) for t in trials] == [0.0, math.inf, 0.0]
    by_func = constraint_values(lambda t: [-math.inf if t.number else math.inf], trials[:2])
    np.testing.assert_array_equal(violations(by_func), [np.inf, 0.0])


def _bowl(constraint: float | None) -> Callable[[hd.Trial], float]:
    def objective(trial: hd.Trial) -> float:
        x, y = trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5)
        if constraint is not None:
            trial.set_constraint("memory", constraint)
        return (x - 1) ** 2 + (y + 2) ** 2
    return objective


@pytest.mark.parametrize("make", [lambda: TPESampler(seed=0, n_startup_trials=4),
                                  lambda: CmaEsSampler(seed=0),
                                  lambda: GPSampler(seed=0, n_startup_trials=4)],
                         ids=["tpe", "cmaes", "gp"])
def test_a_constraint_of_minus_infinity_is_satisfied_for_samplers(
        make: Callable[[], Sampler]) -> None:
    """Mapped to NaN, -inf made every trial infeasible to the samplers while best_trial
    read it as satisfied: the search ran blind. Now it changes no proposal."""
    def run(constraint: float | None) -> hd.Study:
        study = hd.create_study(sampler=make())
        study.optimize(_bowl(constraint), n_trials=12)
        return study

    def points(study: hd.Study) -> np.ndarray:
        return np.array([[t.params["x"], t.params["y"]] for t in study.trials])

    free, satisfied, violated = run(None), run(-math.inf), run(math.inf)
    # (the GP adds a constant constraint model: equal up to rounding)
    np.testing.assert_allclose(points(satisfied), points(free), atol=1e-5)
    assert satisfied.best_value == pytest.approx(free.best_value)
    assert not np.allclose(points(violated), points(free))
    assert violated.history().feasible == ()


@pytest.mark.parametrize(("returned", "stored"), [
    ([0.5, -1], (0.5, -1.0)), ((np.float32(2.0),), (2.0,)), (np.array([-np.inf, np.inf]),
                                                                (-math.inf, math.inf)),
    ([], ())])
def test_checked_constraints_takes_sequences_of_numbers(returned: Any,
                                                        stored: tuple[float, ...]) -> None:
    assert checked_constraints(returned) == stored


@pytest.mark.parametrize("returned", [0.5, np.float64(0.5), "0", None, [math.nan], [True],
                                      [[0.1]], np.zeros((1, 1))])
def test_checked_constraints_refuses_anything_else(returned: Any) -> None:
    with pytest.raises(ValueError, match="constraints_func"):
        checked_constraints(returned)


def test_the_constraints_a_study_stores_come_from_the_sampler_or_what_it_wraps() -> None:
    def func(trial: TrialRecord) -> list[float]:
        return [0.0]

    assert RandomSampler().stored_constraints_func() is None
    tpe = TPESampler(constraints_func=func)
    assert tpe.stored_constraints_func() is func
    assert PartialFixedSampler({"x": 1}, tpe).stored_constraints_func() is func
    assert PartialFixedSampler({"x": 1}, RandomSampler()).stored_constraints_func() is None


@pytest.mark.parametrize("name", sorted(hd.samplers.SAMPLERS))
def test_every_sampler_refuses_a_negative_seed_when_built(name: str) -> None:
    """``AutoSampler(seed=-1)`` used to be built, and its second trial failed to start when
    scipy's Sobol engine refused the seed."""
    cls = hd.samplers.SAMPLERS[name]
    extra: dict[str, Any] = {"search_space": {"x": [0.0, 1.0]}} if name == "grid" else {}
    with pytest.raises(ValueError, match=r"seed must be a non-negative int or None, got -1"):
        cls(seed=-1, **extra)
    sampler = cls(seed=0, **extra)
    with pytest.raises(ValueError, match="non-negative"):
        sampler.reseed(-5)
    assert sampler.seed == 0  # left as it was


def test_reads_history_is_not_inherited() -> None:
    """Random search is handed no history; a subclass that looks at it (or a sampler that
    wraps random search) must see the trials unless it says otherwise itself."""

    class Subclass(hd.samplers.RandomSampler):
        pass

    class Promised(hd.samplers.RandomSampler):
        reads_history = False

    assert hd.samplers.RandomSampler.reads_history is False
    assert Subclass.reads_history is True and Promised.reads_history is False
    seen: list[int] = []

    class Counting(hd.samplers.RandomSampler):
        def propose(self, history, space, rng):  # type: ignore[no-untyped-def]
            seen.append(len(history.trials))
            return super().propose(history, space, rng)

    study = hd.create_study(sampler=Counting(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3)
    assert seen == [1, 2, 3]  # the trials so far, the asking one included, reached through
    # `propose_param`, which keeps to a subclass's `propose`


def test_random_search_draws_one_parameter_as_it_draws_its_space() -> None:
    from hyperdial.space import Categorical, Float, Int, single_space

    sampler = hd.samplers.RandomSampler(seed=7)
    for dist in (Float(0.0, 1.0), Float(1e-3, 1.0, log=True), Float(0.0, 1.0, step=0.1),
                 Int(1, 9), Int(1, 1000, log=True), Categorical(("a", None, 3))):
        for number in range(20):
            alone = sampler.propose_param(None, "p", dist, sampler.rng(number, "p"), {})  # type: ignore[arg-type]
            spaced = sampler.propose(None, single_space("p", dist), sampler.rng(number, "p"))  # type: ignore[arg-type]
            assert alone == spaced["p"]


def test_random_search_keeps_to_a_propose_patched_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test double replacing `propose` on the class or on one sampler is what proposes."""
    calls: list[str] = []

    def spy(self: Any, history: Any, space: Any, rng: Any) -> dict[str, Any]:
        calls.append("class")
        return {name: 0.25 for name in space}

    monkeypatch.setattr(hd.samplers.RandomSampler, "propose", spy)
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    assert calls == ["class", "class"] and study.best_params == {"x": 0.25}
    monkeypatch.undo()
    sampler = hd.samplers.RandomSampler(seed=0)
    sampler.propose = lambda history, space, rng: {name: 0.5 for name in space}  # type: ignore[method-assign]
    study = hd.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    assert [t.params["x"] for t in study.trials] == [0.5, 0.5]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2**64), min_size=1, max_size=3),
       st.sampled_from([(1, np.uint32), (4, np.uint64), (8, np.uint32), (16, np.uint32),
                        (17, np.uint32), (9, np.uint64), (624, np.uint32)]))
def test_a_trials_seed_words_are_its_keys_hash_stream(key: list[int],
                                                      request: tuple[int, Any]) -> None:
    """Block i of the stream hashes the key salted with i, whatever size a generator asks
    for: so a seeded study's draws do not depend on which numpy generator reads them."""
    import hashlib

    from hyperdial.samplers.base import _generator, _KeySeed

    _generator([0])  # (loads hashlib there)
    n_words, dtype = request
    size = n_words * np.dtype(dtype).itemsize
    stream = b"".join(hashlib.blake2b(repr(key).encode(), digest_size=64,
                                      salt=i.to_bytes(16, "little")).digest()
                      for i in range(-(-size // 64)))
    words = _KeySeed(key).generate_state(n_words, dtype)
    assert words.dtype == np.dtype(dtype) and words.flags.writeable
    assert words.tobytes() == stream[:size]
