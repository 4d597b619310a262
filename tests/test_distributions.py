"""`hyperdial.distributions`: Optuna's names for hyperdial's distributions."""

from __future__ import annotations

import hyperdial as hd
from hyperdial.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)


def test_optuna_names_build_hyperdial_distributions() -> None:
    assert FloatDistribution(1e-4, 1.0, log=True) == hd.Float(1e-4, 1.0, log=True)
    assert IntDistribution(0, 10, step=2) == hd.Int(0, 10, step=2)
    assert CategoricalDistribution(["a", None]) == hd.Categorical(("a", None))


def test_ask_with_optuna_named_distributions() -> None:
    study = hd.create_study(sampler=hd.samplers.RandomSampler(seed=0))
    trial = study.ask({"lr": FloatDistribution(1e-4, 1e-1, log=True),
                       "k": IntDistribution(1, 9, step=2),
                       "c": CategoricalDistribution(["a", "b"])})
    assert 1e-4 <= trial.params["lr"] <= 1e-1
    assert trial.params["k"] in {1, 3, 5, 7, 9} and trial.params["c"] in {"a", "b"}
