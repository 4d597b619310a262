"""Optuna's names for hyperdial's distributions (defined in `hyperdial.space`), so that code
written against ``optuna.distributions`` runs after changing the import:
``FloatDistribution(low, high, log=False, step=None)``, ``IntDistribution(low, high,
log=False, step=1)`` and ``CategoricalDistribution(choices)``, and Optuna's JSON form of them
(``distribution_to_json`` / ``json_to_distribution``), so that distributions Optuna code stored
read back alike."""

from __future__ import annotations

import json
from typing import Any

from hyperdial.space import Categorical as CategoricalDistribution
from hyperdial.space import Distribution as BaseDistribution
from hyperdial.space import Float as FloatDistribution
from hyperdial.space import Int as IntDistribution

__all__ = ["BaseDistribution", "CategoricalDistribution", "FloatDistribution",
           "IntDistribution", "distribution_to_json", "json_to_distribution"]

_NAMES = {FloatDistribution: "FloatDistribution", IntDistribution: "IntDistribution",
          CategoricalDistribution: "CategoricalDistribution"}
_CLASSES = {name: cls for cls, name in _NAMES.items()}


def distribution_to_json(dist: BaseDistribution) -> str:
    """Optuna's JSON of a distribution: ``{"name": "FloatDistribution", "attributes": ...}``.

    >>> distribution_to_json(IntDistribution(1, 9, step=2))
    '{"name": "IntDistribution", "attributes": {"low": 1, "high": 9, "log": false, "step": 2}}'
    """
    attributes = dist.to_dict()
    del attributes["type"]
    return json.dumps({"name": _NAMES[type(dist)], "attributes": attributes})


def json_to_distribution(text: str) -> BaseDistribution:
    """The distribution of Optuna's JSON form (`distribution_to_json`); ValueError for one
    hyperdial has no counterpart of (Optuna's deprecated ``UniformDistribution`` and kin)."""
    spec: dict[str, Any] = json.loads(text)
    cls = _CLASSES.get(spec.get("name", ""))
    if cls is None:
        raise ValueError(f"no distribution named {spec.get('name')!r}: expected one of "
                         f"{sorted(_CLASSES)}")
    return cls(**spec["attributes"])  # type: ignore[no-any-return]
