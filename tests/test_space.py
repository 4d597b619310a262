"""Search spaces: invalid ones are refused with the parameter and the problem named."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings

from hyperdial.space import (
    Categorical,
    Condition,
    Distribution,
    Float,
    Int,
    SearchSpace,
    distribution_from_dict,
)
from hyperdial.testing.strategies import params_for, search_spaces
from hyperdial.trial import Trial

INVALID: list[tuple[dict[str, Any], str]] = [
    ({"type": "float", "low": 1.0, "high": 1.0}, r"low \(1.0\) must be < high \(1.0\)"),
    ({"type": "float", "low": 2.0, "high": 1.0}, r"low \(2.0\) must be < high \(1.0\)"),
    ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "log scale needs low > 0"),
    ({"type": "float", "low": -1.0, "high": 1.0, "log": True}, "log scale needs low > 0"),
    ({"type": "float", "low": 0.0, "high": 1.0, "step": 0.3}, "step 0.3 does not divide"),
    ({"type": "float", "low": 0.0, "high": 1.0, "step": 0.0}, "step must be > 0"),
    ({"type": "float", "low": 0.0, "high": 1.0, "step": -0.5}, "step must be > 0"),
    ({"type": "float", "low": 1.0, "high": 2.0, "step": 0.5, "log": True},
     "step and log cannot be combined"),
    ({"type": "float", "low": math.nan, "high": 1.0}, "low must be finite"),
    ({"type": "float", "low": 0.0, "high": math.inf}, "high must be finite"),
    ({"type": "float", "low": -math.inf, "high": 0.0}, "low must be finite"),
    ({"type": "float", "low": 0.0, "high": 1.0, "step": math.nan}, "step must be finite"),
    ({"type": "float", "low": "0", "high": 1.0}, "low must be a number"),
    ({"type": "int", "low": 3, "high": 3}, r"low \(3\) must be < high \(3\)"),
    ({"type": "int", "low": 0, "high": 10, "log": True}, "log scale needs low >= 1"),
    ({"type": "int", "low": 0, "high": 10, "step": 3}, "step 3 does not divide"),
    ({"type": "int", "low": 0, "high": 10, "step": 0}, "step must be >= 1"),
    ({"type": "int", "low": 1, "high": 9, "step": 2, "log": True},
     "step and log cannot be combined"),
    ({"type": "int", "low": 0.5, "high": 3}, "low must be an integer"),
    ({"type": "int", "low": 0, "high": math.inf}, "high must be an integer"),
    ({"type": "int", "low": math.nan, "high": 3}, "low must be an integer"),
    ({"type": "categorical", "choices": []}, "choices must not be empty"),
    ({"type": "categorical", "choices": ["a", "b", "a"]}, "duplicate choice 'a'"),
    ({"type": "categorical", "choices": [1, math.nan]}, "choice nan is not finite"),
    ({"type": "categorical", "choices": [[1]]}, "is not None, bool, int, float or str"),
    ({"type": "categorical", "choices": "ab"}, "choices must be a sequence"),
    ({"type": "uniform", "low": 0, "high": 1}, "unknown distribution type 'uniform'"),
    ({"type": "float", "low": 0.0}, "'high'"),
]


@pytest.mark.parametrize(("spec", "problem"), INVALID)
def test_from_dict_names_parameter_and_problem(spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=f"^parameter 'lr': .*{problem}"):
        SearchSpace.from_dict({"ok": {"type": "int", "low": 0, "high": 1}, "lr": spec})


class Driver:
    """The least a live Trial needs: every proposal is the lower bound."""

    def _propose_param(self, trial: Trial, name: str, dist: Distribution) -> Any:
        return dist.choices[0] if isinstance(dist, Categorical) else dist.low

    def _record_param(self, trial: Trial) -> None:
        pass  # nothing to store


def trial() -> Trial:
    return Trial(Driver(), 0, datetime_start=datetime.now(timezone.utc))  # type: ignore[arg-type]


def suggest(spec: dict[str, Any]) -> Callable[[], Any]:
    """The `Trial.suggest_*` call that asks for ``spec``."""
    t, kind = trial(), spec["type"]
    if kind == "float":
        return lambda: t.suggest_float("lr", spec["low"], spec["high"], step=spec.get("step"),
                                       log=spec.get("log", False))
    if kind == "int":
        return lambda: t.suggest_int("lr", spec["low"], spec["high"], step=spec.get("step", 1),
                                     log=spec.get("log", False))
    return lambda: t.suggest_categorical("lr", spec["choices"])


@pytest.mark.parametrize(("spec", "problem"), [
    (s, p) for s, p in INVALID if (s["type"] in ("float", "int") and "high" in s)
    or (s["type"] == "categorical" and isinstance(s["choices"], list))])
def test_suggest_names_parameter_and_problem(spec: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=f"^parameter 'lr': .*{problem}"):
        suggest(spec)()


def test_suggest_builds_the_same_distribution_as_from_dict() -> None:
    t = trial()
    t.suggest_float("a", 1e-3, 1.0, log=True)
    t.suggest_int("b", 0, 10, step=2)
    t.suggest_categorical("c", [None, True, 1, 1.0, "a"])
    assert t.distributions == dict(SearchSpace.from_dict({
        "a": {"type": "float", "low": 1e-3, "high": 1.0, "log": True},
        "b": {"type": "int", "low": 0, "high": 10, "step": 2},
        "c": {"type": "categorical", "choices": [None, True, 1, 1.0, "a"]}}))


@pytest.mark.parametrize(("conditions", "problem"), [
    ({"y": Condition("z", ("a",))}, "parameter 'y': condition on unknown parent 'z'"),
    ({"y": Condition("x", ("c",))}, "parameter 'y': condition value 'c' is not a possible"),
    ({"w": Condition("x", ("a",))}, "parameter 'w': has a condition but no distribution"),
    ({"x": Condition("y", (1,)), "y": Condition("x", ("a",))}, "conditions form a cycle"),
])
def test_invalid_conditions(conditions: dict[str, Condition], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SearchSpace({"x": Categorical(("a", "b")), "y": Int(0, 3)}, conditions)


def test_invalid_names() -> None:
    with pytest.raises(ValueError, match="non-empty strings"):
        SearchSpace({"": Int(0, 1)})
    with pytest.raises(ValueError, match="parameter 'x': expected Float, Int or Categorical"):
        SearchSpace({"x": (0, 1)})  # type: ignore[dict-item]


def as_json(space: SearchSpace) -> str:
    """JSON tells True, 1 and 1.0 apart, which Python's == does not."""
    return json.dumps(space.to_dict())


@settings(max_examples=60, deadline=None)
@given(space=search_spaces())
def test_to_dict_from_dict_round_trip(space: SearchSpace) -> None:
    back = SearchSpace.from_dict(json.loads(as_json(space)))
    assert back == space
    assert as_json(back) == as_json(space)
    assert list(back) == list(space)


@settings(max_examples=60, deadline=None)
@given(data=search_spaces().flatmap(lambda s: params_for(s).map(lambda p: (s, p))))
def test_generated_params_are_valid(data: tuple[SearchSpace, dict[str, Any]]) -> None:
    space, params = data
    space.validate(params)
    assert space.restrict(params) == params


def test_categorical_equality_is_type_aware() -> None:
    """Like `Categorical.index`: otherwise a joint space could swap 1 for True (fixed)."""
    assert Categorical((1, 2)) != Categorical((True, 2))
    assert Categorical((1, 2)) != Categorical((1.0, 2))
    assert Categorical((1, 2)) == Categorical((1, 2))
    assert len({Categorical((1,)), Categorical((True,)), Categorical((1.0,))}) == 3


def test_conditions_on_numbers_hold_for_the_values_samplers_produce() -> None:
    """Condition values are written as `decode` writes the parent's values (fixed): 0.3 on a
    0.1-step grid is 0.30000000000000004, and 2.0 for an Int parent is 2."""
    space = SearchSpace({"f": Float(0.0, 1.0, step=0.1), "i": Int(0, 3), "a": Int(0, 1),
                         "b": Int(0, 1)},
                        conditions={"a": Condition("f", (0.3,)), "b": Condition("i", (2.0,))})
    assert space.active({"f": 0.1 * 3, "i": 2}) == ["f", "i", "a", "b"]
    assert space.conditions["b"].values == (2,)
    assert type(space.conditions["b"].values[0]) is int


def test_from_dict_condition_with_a_single_string_value() -> None:
    space = SearchSpace.from_dict({
        "model": {"type": "categorical", "choices": ["ab", "cd"]},
        "lr": {"type": "float", "low": 0.1, "high": 1.0, "condition": {"parent": "model",
                                                                       "in": "ab"}}})
    assert space.conditions["lr"].values == ("ab",)
    assert space.active({"model": "ab"}) == ["model", "lr"]


def test_numeric_distributions_from_equal_dicts_are_shared_and_bad_ones_still_raise() -> None:
    spec = {"type": "float", "low": 0.0, "high": 1.0, "log": False, "step": None}
    first = distribution_from_dict(spec)
    assert distribution_from_dict(dict(spec)) is first  # immutable, so one instance serves
    assert distribution_from_dict({**spec, "high": 2.0}) == Float(0.0, 2.0)
    # -0.0 == 0.0 and both hash alike, but a shared instance must not turn one into the other:
    # the JSON round trip is exact (hypothesis found this through the cache, now and then)
    negative = distribution_from_dict({**spec, "low": -0.0})
    assert json.dumps(negative.to_dict()) == json.dumps({**spec, "low": -0.0})
    as_int = {"type": "int", "low": 0, "high": 1, "log": False, "step": 1}
    assert distribution_from_dict(as_int) == Int(0, 1)
    for _ in range(2):  # a refused spec is refused every time, not remembered
        with pytest.raises(ValueError, match="low"):
            distribution_from_dict({**spec, "low": 2.0})
    choices = {"type": "categorical", "choices": [True, 1, None]}
    assert distribution_from_dict(choices) == Categorical((True, 1, None))


def test_categoricals_from_equal_lists_are_shared_and_told_apart_exactly() -> None:
    spec = {"type": "categorical", "choices": [1, "relu", None]}
    first = distribution_from_dict(spec)
    assert distribution_from_dict({"type": "categorical", "choices": list(spec["choices"])}) \
        is first
    lookalikes = [[1.0, "relu", None], [True, "relu", None], [-0.0, 0.0], [0.0, -0.0]]
    built = [distribution_from_dict({"type": "categorical", "choices": c}) for c in lookalikes]
    for dist, choices in zip(built, lookalikes, strict=True):  # 1 == 1.0 == True, 0.0 == -0.0
        assert json.dumps(dist.to_dict()["choices"]) == json.dumps(choices)
    for _ in range(2):  # a refused list is refused every time, not remembered
        with pytest.raises(ValueError, match="empty"):
            distribution_from_dict({"type": "categorical", "choices": []})


def test_suggest_keeps_a_negative_zero_bound_after_a_positive_one() -> None:
    t = trial()
    t.suggest_float("a", 0.0, 1.0)
    t.suggest_float("b", -0.0, 1.0)
    assert math.copysign(1.0, t.distributions["b"].low) == -1.0
    assert math.copysign(1.0, t.distributions["a"].low) == 1.0


def test_numpy_scalars_become_python_values_and_bad_ones_still_raise() -> None:
    np = pytest.importorskip("numpy")
    f = Float(np.int64(-5), np.float32(2.5), step=np.float32(0.5))
    assert (f.low, f.high, f.step) == (-5.0, 2.5, 0.5) and type(f.low) is float
    i = Int(np.int64(1), np.float64(9.0), step=np.int64(2))
    assert (i.low, i.high, i.step) == (1, 9, 2) and type(i.high) is int
    c = Categorical((np.int64(1), np.float64(2.5), np.bool_(True), np.str_("a"), None))
    assert [type(v) for v in c.choices] == [int, float, bool, str, type(None)]
    assert f.contains(np.float32(0.5)) and i.contains(np.int64(3)) and c.contains(np.int64(1))
    assert not i.contains(np.int64(4)) and not c.contains(np.bool_(False))
    for make, problem in [(lambda: Float(np.bool_(True), 2.0), "must be a number"),
                          (lambda: Float(np.float64("nan"), 1.0), "must be finite"),
                          (lambda: Int(np.float32(1.5), 3), "must be an integer"),
                          (lambda: Categorical((np.int64(1), 1)), "duplicate choice")]:
        with pytest.raises(ValueError, match=problem):
            make()


def test_categorical_lookup_is_type_aware_and_refuses_what_is_no_choice() -> None:
    c = Categorical((True, 1, 1.0, 0.0, -0.0, "1", None))
    assert [c.index(v) for v in (True, 1, 1.0, 0.0, -0.0, "1", None)] == list(range(7))
    for absent in (False, 2, [1], {"a": 1}, object()):
        assert not c.contains(absent)
        with pytest.raises(ValueError, match="is not one of"):
            c.index(absent)
    assert c == Categorical((True, 1, 1.0, 0.0, -0.0, "1", None))
    assert c != Categorical((1, True, 1.0, 0.0, -0.0, "1", None))
    assert hash(c) == hash(Categorical(list(c.choices)))
    assert repr(Categorical(("a",))) == "Categorical(choices=('a',))"


def test_views_are_the_mappings_in_dependency_order_and_read_only() -> None:
    space = SearchSpace({"w": Int(1, 8), "layers": Int(1, 2)},
                        conditions={"w": Condition("layers", (2,))})
    assert list(space.keys()) == list(space) == ["layers", "w"]  # parents first
    assert list(space.items()) == [(k, space[k]) for k in space]
    assert list(space.values()) == [space[k] for k in space]
    assert not hasattr(space.items(), "__setitem__") and not hasattr(space.keys(), "add")
