"""`hyperdial.distributions`: Optuna's names for hyperdial's distributions."""

from __future__ import annotations

import json
from typing import Any

import pytest

import hyperdial as hd
from hyperdial.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
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


@pytest.mark.parametrize(("dist", "text"), [
    (FloatDistribution(0.1, 10.0, log=True), '{"name": "FloatDistribution", "attributes": '
     '{"log": true, "step": null, "low": 0.1, "high": 10.0}}'),
    (IntDistribution(1, 9, step=2), '{"name": "IntDistribution", "attributes": '
     '{"log": false, "step": 2, "low": 1, "high": 9}}'),
    (CategoricalDistribution(["a", None, 1.5, True]), '{"name": "CategoricalDistribution", '
     '"attributes": {"choices": ["a", null, 1.5, true]}}'),
])
def test_optunas_json_of_a_distribution_reads_back_and_is_written_alike(
        dist: Any, text: str) -> None:
    """The texts are Optuna 5's ``distribution_to_json`` (its key order)."""
    assert json_to_distribution(text) == dist
    assert json.loads(distribution_to_json(dist)) == json.loads(text)
    with pytest.raises(ValueError, match="UniformDistribution"):
        json_to_distribution('{"name": "UniformDistribution", "attributes": {"low": 0, '
                             '"high": 1}}')
