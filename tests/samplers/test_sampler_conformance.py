"""Every registered sampler passes the conformance suite of `hyperdial.testing.samplers`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperdial.history import History
from hyperdial.samplers import (
    SAMPLERS,
    BOHBSampler,
    CmaEsSampler,
    GPSampler,
    NSGAIIISampler,
    NSGAIISampler,
    RandomSampler,
    RegularizedEvolutionSampler,
    Sampler,
    TPESampler,
)
from hyperdial.space import Float, Int, SearchSpace
from hyperdial.testing.samplers import (
    check_batch,
    check_conditional,
    check_mixed_categorical,
    check_pending,
    check_picklable,
    check_reproducible,
    check_valid,
    factory_for,
    servable,
)
from hyperdial.testing.strategies import search_spaces

NAMES = sorted(SAMPLERS)
seeds = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(space=search_spaces(), seed=seeds)
def test_proposals_are_valid_over_random_spaces(name: str, space: SearchSpace, seed: int) -> None:
    factory = factory_for(SAMPLERS[name])
    check_valid(factory, servable(factory, space), seed)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10, deadline=None)
@given(space=search_spaces(max_params=3), seed=seeds)
def test_same_seed_same_proposals(name: str, space: SearchSpace, seed: int) -> None:
    factory = factory_for(SAMPLERS[name])
    check_reproducible(factory, servable(factory, space), seed)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=5, deadline=None)
@given(space=search_spaces(max_params=3), seed=seeds)
def test_a_pickled_copy_proposes_what_the_original_does(name: str, space: SearchSpace,
                                                        seed: int) -> None:
    factory = factory_for(SAMPLERS[name])
    check_picklable(factory, servable(factory, space), seed, n_trials=12)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10, deadline=None)
@given(space=search_spaces(max_params=3), seed=seeds)
def test_pending_trials_and_batches(name: str, space: SearchSpace, seed: int) -> None:
    factory = factory_for(SAMPLERS[name])
    check_pending(factory, servable(factory, space), seed)
    check_batch(factory, servable(factory, space), seed)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1])
def test_conditional_and_mixed_categorical(name: str, seed: int) -> None:
    check_conditional(factory_for(SAMPLERS[name]), seed)
    check_mixed_categorical(factory_for(SAMPLERS[name]), seed)


#: Integer ranges past int64 and past a float's exact integers, a stepped float of 1e305
#: values: every sampler proposed none of these (OverflowError in the encoding).
WIDE = SearchSpace({"a": Int(-2**62, 2**62), "b": Int(0, 2**70, step=2**10),
                    "c": Int(2**70, 2**70 + 40, step=4), "d": Int(1, 2**70, log=True),
                    "e": Int(-10**400, 10**400), "f": Float(0.0, 1e300, step=1e-5)})


@pytest.mark.parametrize("name", NAMES)
def test_proposals_are_valid_for_ranges_of_any_width(name: str) -> None:
    factory = factory_for(SAMPLERS[name])
    check_valid(factory, servable(factory, WIDE), seed=0, n_trials=14)


MODELLING: dict[str, Callable[[int | None], Sampler]] = {  # settings that reach each model soon
    "tpe": lambda seed: TPESampler(seed=seed, n_startup_trials=3),
    "gp": lambda seed: GPSampler(seed=seed, n_startup_trials=3, n_candidates=64, n_restarts=1),
    "cmaes": lambda seed: CmaEsSampler(seed=seed, popsize=4),
    "nsga2": lambda seed: NSGAIISampler(seed=seed, population_size=4),
    "nsga3": lambda seed: NSGAIIISampler(seed=seed, population_size=4),
    "evolution": lambda seed: RegularizedEvolutionSampler(seed=seed, population_size=3,
                                                          sample_size=2),
    "bohb": lambda seed: BOHBSampler(seed=seed, min_points=3),
}


@pytest.mark.parametrize("name", sorted(MODELLING))
def test_models_propose_valid_values_for_ranges_of_any_width(name: str) -> None:
    make = MODELLING[name]
    check_valid(lambda space, seed: make(seed), WIDE, seed=0, n_trials=16)


# -- the suite must catch broken samplers --------------------------------------------------------
class OutOfRange(RandomSampler):
    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        return {name: 2.0 for name in space}


class Unseeded(RandomSampler):
    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        return super().propose(history, space, np.random.default_rng())


class ForgetfulCopy(RandomSampler):
    """Proposes from a call count that a pickled copy drops: its copies drift."""

    _caches = ("calls",)

    def _fresh_caches(self) -> None:
        self.calls = 0

    def reseed(self, seed: int | None) -> None:
        super().reseed(seed)
        self._fresh_caches()

    def propose(self, history: History, space: SearchSpace,
                rng: np.random.Generator) -> dict[str, Any]:
        self.calls += 1
        return {name: (self.calls % 10) / 10 for name in space}


SPACE = SearchSpace({"x": Float(0.0, 1.0)})


def test_suite_catches_out_of_range_proposals() -> None:
    with pytest.raises(ValueError, match="outside"):
        check_valid(lambda space, seed: OutOfRange(seed=seed), SPACE, 0)


def test_suite_catches_unseeded_proposals() -> None:
    with pytest.raises(AssertionError):
        check_reproducible(lambda space, seed: Unseeded(seed=seed), SPACE, 0)


def test_suite_catches_copies_that_drift() -> None:
    with pytest.raises(AssertionError, match="a copy proposed"):
        check_picklable(lambda space, seed: ForgetfulCopy(seed=seed), SPACE, 0)


def test_registry_and_exports() -> None:
    import hyperdial.samplers as samplers

    assert set(samplers.__all__) == {"SAMPLERS", "AutoSampler", "BOHBSampler",
                                     "BruteForceSampler", "CmaEsSampler",
                                     "GPSampler", "GridSampler", "NSGAIISampler",
                                     "NSGAIIISampler", "PartialFixedSampler", "QMCSampler",
                                     "RandomSampler", "RegularizedEvolutionSampler", "Sampler",
                                     "TPESampler"}
    assert {"auto", "random", "grid", "qmc", "tpe", "gp", "cmaes", "nsga2", "nsga3",
            "bohb", "evolution", "bruteforce"} <= set(SAMPLERS)
    assert all(issubclass(cls, samplers.Sampler) for cls in SAMPLERS.values())
