"""Optuna 5's deprecated sampler keywords are accepted (a FutureWarning says what hyperdial
does instead, or they are honoured where they map to a setting); ``reseed_rng``; the
``nsgaii`` crossover classes."""

from __future__ import annotations

import pytest

import hyperdial as hd
from hyperdial.samplers import nsgaii


def test_tpe_keywords() -> None:
    with pytest.warns(FutureWarning, match="prior is always used"):
        hd.samplers.TPESampler(consider_prior=True)
    with pytest.warns(FutureWarning, match="magic clip"):
        sampler = hd.samplers.TPESampler(consider_magic_clip=True)
    assert sampler.min_bandwidth is None  # honoured: the magic clip
    with pytest.warns(FutureWarning, match="ignored"):
        assert hd.samplers.TPESampler(consider_magic_clip=False).min_bandwidth == "auto"
    with pytest.warns(FutureWarning, match="warn_independent_sampling"):
        hd.samplers.TPESampler(warn_independent_sampling=False)


def test_cmaes_qmc_gp_keywords() -> None:
    assert hd.samplers.CmaEsSampler(consider_pruned_trials=False)  # what it does: no warning
    with pytest.warns(FutureWarning, match="completed trials only"):
        hd.samplers.CmaEsSampler(consider_pruned_trials=True)
    with pytest.warns(FutureWarning, match="warn_independent_sampling"):
        hd.samplers.CmaEsSampler(warn_independent_sampling=True)
    with pytest.warns(FutureWarning, match="warn_independent_sampling"):
        hd.samplers.QMCSampler(warn_independent_sampling=False)
    with pytest.warns(FutureWarning, match="uniformly at random"):
        hd.samplers.GPSampler(independent_sampler=hd.samplers.RandomSampler(seed=0))
    with pytest.warns(FutureWarning, match="warn_independent_sampling"):
        hd.samplers.GPSampler(warn_independent_sampling=True)


def test_reseed_rng_draws_a_fresh_seed() -> None:
    sampler = hd.samplers.TPESampler(seed=1)
    sampler.reseed_rng()
    assert sampler.seed != 1
    random = hd.samplers.RandomSampler(seed=1)
    seeds = set()
    for _ in range(3):
        random.reseed_rng()
        seeds.add(random.seed)
    assert len(seeds) == 3


def test_nsgaii_crossover_classes_map_to_the_samplers_settings() -> None:
    assert nsgaii.NSGAIISampler is hd.samplers.NSGAIISampler
    sbx = hd.samplers.NSGAIISampler(crossover=nsgaii.SBXCrossover(eta=15))
    assert (sbx.crossover, sbx.eta) == ("sbx", 15.0)
    assert hd.samplers.NSGAIISampler(crossover=nsgaii.SBXCrossover()).eta == 20.0
    uniform = hd.samplers.NSGAIISampler(crossover=nsgaii.UniformCrossover(swapping_prob=0.3))
    assert (uniform.crossover, uniform.swapping_prob) == ("uniform", 0.3)
    assert hd.samplers.NSGAIISampler(crossover=nsgaii.BLXAlphaCrossover()).crossover == "blx"
    blx = hd.samplers.NSGAIISampler(crossover=nsgaii.BLXAlphaCrossover(alpha=0.3))
    assert (blx.crossover, blx.alpha) == ("blx", 0.3)
    with pytest.raises(ValueError, match="alpha must be"):
        hd.samplers.NSGAIISampler(crossover=nsgaii.BLXAlphaCrossover(alpha=-1.0))
    sampler = hd.samplers.NSGAIISampler(crossover=nsgaii.UniformCrossover(), population_size=4,
                                        seed=0)
    study = hd.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
                   n_trials=12)
    assert len(study.best_trials) >= 1
