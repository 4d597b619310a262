"""hyperdial: hyperparameter optimisation with better configurations in fewer trials.

>>> import hyperdial as hd
>>> study = hd.create_study(direction="minimize", sampler=hd.samplers.RandomSampler(seed=0))
>>> study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=20)
>>> round(study.best_params["x"], 1) in {0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4}
True
"""

from __future__ import annotations

import importlib
from typing import Any

from hyperdial import exceptions, pruners, samplers, storage
from hyperdial.exceptions import SearchExhausted, TrialPruned
from hyperdial.history import History, StudyDirection
from hyperdial.space import Categorical, Condition, Float, Int, SearchSpace
from hyperdial.study import (
                             Study,
                             copy_study,
                             create_study,
                             delete_study,
                             get_all_study_names,
                             get_all_study_summaries,
                             load_study,
)
from hyperdial.trial import (
    FixedTrial,
    FrozenTrial,
    Trial,
    TrialRecord,
    TrialState,
    create_trial,
)

__version__ = "0.1.0"

__all__ = [
    "Categorical",
    "Condition",
    "FixedTrial",
    "Float",
    "FrozenTrial",
    "History",
    "Int",
    "SearchExhausted",
    "SearchSpace",
    "Study",
    "StudyDirection",
    "Trial",
    "TrialPruned",
    "TrialRecord",
    "TrialState",
    "__version__",
    "copy_study",
    "create_study",
    "create_trial",
    "delete_study",
    "distributions",
    "exceptions",
    "executors",
    "get_all_study_names",
    "get_all_study_summaries",
    "importance",
    "load_study",
    "logging",
    "pruners",
    "samplers",
    "schedulers",
    "stoppers",
    "storage",
    "storages",
    "visualization",
    "warmstart",
]

#: Subpackages loaded on first use, so that ``import hyperdial`` stays fast.
_LAZY = ("distributions", "executors", "importance", "logging", "schedulers", "stoppers",
         "storages", "visualization", "warmstart")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"hyperdial.{name}")
    raise AttributeError(f"module 'hyperdial' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public surface (lazy subpackages included), not this module's helpers."""
    return sorted(__all__)

