"""Hypothesis strategies for search spaces, parameter dicts and pruning histories.

Every space these strategies build is valid, and every parameter dict is a complete, in-range,
active-only assignment of its space (`SearchSpace.validate` accepts it). Needs hypothesis.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from hyperdial.history import History, StudyDirection
from hyperdial.space import (
    Categorical,
    Condition,
    Distribution,
    Float,
    Int,
    SearchSpace,
    grid_value,
)
from hyperdial.trial import TrialRecord, TrialState

#: Category values of every allowed type; True, 1 and 1.0 are distinct choices.
choice_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), st.text(max_size=5))


def _choice_identity(value: Any) -> tuple[str, str]:
    return type(value).__name__, repr(value)


@st.composite
def floats(draw: st.DrawFn) -> Float:
    """A continuous, log-scaled or stepped Float."""
    kind = draw(st.sampled_from(["linear", "log", "step"]))
    if kind == "log":
        low = draw(st.floats(1e-6, 1e3))
        return Float(low, low * draw(st.floats(1.01, 1e6)), log=True)
    low = draw(st.floats(-1e3, 1e3))
    if kind == "step":
        step = draw(st.sampled_from([0.001, 0.1, 0.25, 1.0, 2.5]))
        return Float(low, low + draw(st.integers(1, 20)) * step, step=step)
    return Float(low, low + draw(st.floats(1e-3, 1e4)))


@st.composite
def ints(draw: st.DrawFn) -> Int:
    """A linear, log-scaled or stepped Int."""
    if draw(st.booleans()):
        low = draw(st.integers(1, 1000))
        return Int(low, low + draw(st.integers(1, 10**5)), log=True)
    low, step = draw(st.integers(-1000, 1000)), draw(st.integers(1, 5))
    return Int(low, low + draw(st.integers(1, 50)) * step, step=step)


def categoricals(max_size: int = 6) -> st.SearchStrategy[Categorical]:
    """A Categorical of distinct (type-aware) choices of mixed types."""
    return st.lists(choice_values, min_size=1, max_size=max_size,
                    unique_by=_choice_identity).map(lambda c: Categorical(tuple(c)))


def distributions() -> st.SearchStrategy[Distribution]:
    return st.one_of(floats(), ints(), categoricals())


def _finite_values(d: Distribution) -> list[Any]:
    if isinstance(d, Categorical):
        return list(d.choices)
    if isinstance(d, Int) and not d.log:
        return list(range(d.low, d.high + 1, d.step))
    return []  # continuous or too many values to condition on


@st.composite
def search_spaces(draw: st.DrawFn, max_params: int = 5,
                  conditional: bool = True) -> SearchSpace:
    """A space of 1..``max_params`` parameters; with ``conditional``, some depend on others."""
    params: dict[str, Distribution] = {}
    conditions: dict[str, Condition] = {}
    for i in range(draw(st.integers(1, max_params))):
        name = f"p{i}"
        parents = [n for n, d in params.items() if _finite_values(d)]
        if conditional and parents and draw(st.booleans()):
            parent = draw(st.sampled_from(parents))
            values = _finite_values(params[parent])
            held = draw(st.lists(st.sampled_from(values), min_size=1, max_size=4,
                                 unique_by=_choice_identity))
            conditions[name] = Condition(parent, tuple(held))
        params[name] = draw(distributions())
    return SearchSpace(params, conditions)


def values_of(d: Distribution) -> st.SearchStrategy[Any]:
    """Values a distribution contains, written as `decode` would write them."""
    if isinstance(d, Categorical):
        return st.sampled_from(d.choices)
    if isinstance(d, Int):
        if d.log:
            return st.integers(d.low, d.high)
        return st.integers(0, (d.high - d.low) // d.step).map(lambda k: d.low + k * d.step)
    if d.step is not None:
        n = round((d.high - d.low) / d.step)
        return st.integers(0, n).map(lambda k: grid_value(d, k))
    return st.floats(d.low, d.high)


@st.composite
def params_for(draw: st.DrawFn, space: SearchSpace) -> dict[str, Any]:
    """A valid assignment of ``space``: a value for each active parameter, nothing else."""
    out: dict[str, Any] = {}
    for name, d in space.items():
        if name in space.active(out):
            out[name] = draw(values_of(d))
    return out


#: Intermediate values: small integers (so that percentiles compare exactly in either
#: direction), now and then NaN or an infinity.
intermediate_values = st.one_of(st.integers(-20, 20).map(float),
                                st.sampled_from([math.nan, math.inf, -math.inf]))


def learning_curves(max_steps: int = 12, values: st.SearchStrategy[float] = intermediate_values,
                    ) -> st.SearchStrategy[dict[int, float]]:
    """Reports of one trial: a value at some of the steps ``0 .. max_steps - 1``."""
    return st.dictionaries(st.integers(0, max_steps - 1), values, max_size=max_steps)


@st.composite
def pruning_cases(draw: st.DrawFn, max_trials: int = 10,
                  values: st.SearchStrategy[float] = intermediate_values,
                  ) -> tuple[History, TrialRecord]:
    """A single-objective history of finished and running trials, and a running trial to judge."""
    states = st.sampled_from([TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED,
                              TrialState.FAIL, TrialState.RUNNING])
    trials = []
    for number in range(draw(st.integers(0, max_trials))):
        state = draw(states)
        value = draw(st.integers(-20, 20).map(float)) if state is TrialState.COMPLETE else None
        trials.append(TrialRecord(number, state, values=None if value is None else (value,),
                                  intermediate_values=draw(learning_curves(values=values))))
    trial = TrialRecord(len(trials), TrialState.RUNNING,
                        intermediate_values=draw(learning_curves(values=values)))
    direction = draw(st.sampled_from(list(StudyDirection)))
    return History((*trials, trial), (direction,)), trial
