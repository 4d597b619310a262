"""Search spaces: invalid ones are refused with the parameter and the problem named."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperdial as hd
from hyperdial._encode import decode_column
from hyperdial.space import (
    Categorical,
    Condition,
    Distribution,
    Float,
    Int,
    SearchSpace,
    canonical,
    distribution_from_dict,
    grid_value,
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
    ({"type": "float", "low": -1e308, "high": 1e308}, "high - low must be finite"),
    ({"type": "float", "low": 0.0, "high": 1e300, "step": 1e-300}, "step 1e-300 is too small"),
    ({"type": "float", "low": 1e-4, "high": 1.0, "log": "false"}, "log must be a bool"),
    ({"type": "float", "low": 1e-4, "high": 1.0, "log": 1}, "log must be a bool"),
    ({"type": "int", "low": 3, "high": 3}, r"low \(3\) must be < high \(3\)"),
    ({"type": "int", "low": 0, "high": 10, "log": True}, "log scale needs low >= 1"),
    ({"type": "int", "low": 0, "high": 10, "step": 3}, "step 3 does not divide"),
    ({"type": "int", "low": 0, "high": 10, "step": 0}, "step must be >= 1"),
    ({"type": "int", "low": 1, "high": 9, "step": 2, "log": True},
     "step and log cannot be combined"),
    ({"type": "int", "low": 0.5, "high": 3}, "low must be an integer"),
    ({"type": "int", "low": 1, "high": 3, "log": "true"}, "log must be a bool"),
    ({"type": "int", "low": 1, "high": 3, "log": None}, "log must be a bool"),
    ({"type": "int", "low": 1, "high": 2**1100, "log": True}, "log-scaled int's high"),
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


#: Spec typos, which were ignored silently: the scale or the condition was lost.
MISSPELT = [
    ({"type": "float", "low": 1e-3, "high": 1.0, "lgo": True}, r"unknown key\(s\) \['lgo'\]"),
    ({"type": "int", "low": 1, "high": 3, "conditon": {"parent": "ok", "in": [1]}},
     r"unknown key\(s\) \['conditon'\]"),
    ({"type": "categorical", "choices": [1, 2], "log": True}, r"unknown key\(s\) \['log'\]"),
    ({"type": "int", "low": 1, "high": 3, "condition": {"parent": "ok", "values": [1]}},
     r"unknown key\(s\) \['values'\] in condition"),
]


@pytest.mark.parametrize(("spec", "problem"), INVALID + MISSPELT)
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


def test_a_log_scale_whose_encoding_collapses_is_refused_where_it_is_suggested(
        tmp_path: Path) -> None:
    """At 2**60 the ends' logarithms are one float: samplers encoded the range as NaN
    (evolution crashed) or proposed only ``low``. A study that stored one still loads."""
    study = hd.create_study(storage=f"sqlite:///{tmp_path / 'log.db'}", study_name="s")
    for dist in (hd.Int(2**60, 2**60 + 10, log=True),
                 hd.Float(1e300, math.nextafter(1e300, math.inf), log=True)):
        with pytest.raises(ValueError, match=r"log=True cannot resolve .* use log=False"):
            study.ask().suggest("n", dist)
    for wide in (hd.Int(10**15, 10**16, log=True), hd.Int(1, 2**62, log=True)):
        assert wide.contains(study.ask().suggest("n", wide))  # ranges that resolve
    study.add_trial(hd.create_trial(params={"n": 2**60}, value=1.0, distributions={
        "n": hd.Int(2**60, 2**60 + 10, log=True)}))
    loaded = hd.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'log.db'}")
    assert loaded.best_params == {"n": 2**60}


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


# -- log flags, widths, canonical values, hashing ------------------------------------------------
def test_a_numpy_bool_log_is_a_bool_and_anything_else_is_refused() -> None:
    np = pytest.importorskip("numpy")
    for make in (lambda log: Float(1e-4, 1.0, log=log), lambda log: Int(1, 100, log=log)):
        dist = make(np.True_)
        assert dist.log is True and type(dist.log) is bool
        assert json.loads(json.dumps(dist.to_dict()))["log"] is True  # storable as JSON
        assert make(np.False_).log is False
        for bad in ("false", "true", 1, 0, None):
            with pytest.raises(TypeError, match="log must be a bool"):
                make(bad)


def test_a_string_log_in_a_declarative_space_is_refused_not_taken_as_true() -> None:
    with pytest.raises(ValueError, match="parameter 'lr': log must be a bool, got 'false'"):
        SearchSpace.from_dict({"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": "false"}})
    space = SearchSpace.from_dict({"lr": {"type": "float", "low": 1e-4, "high": 1.0}})
    assert space["lr"] == Float(1e-4, 1.0, log=False)  # an absent flag is still off


def test_suggest_takes_a_numpy_bool_log_and_refuses_a_string() -> None:
    np = pytest.importorskip("numpy")
    t = trial()
    t.suggest_float("lr", 1e-4, 1.0, log=np.True_)
    assert t.distributions["lr"] == Float(1e-4, 1.0, log=True)
    with pytest.raises(ValueError, match="parameter 'x': log must be a bool"):
        t.suggest_float("x", 1e-4, 1.0, log="false")  # type: ignore[arg-type]


def test_a_float_range_must_have_a_finite_width() -> None:
    with pytest.raises(ValueError, match="high - low must be finite"):
        Float(-1e308, 1e308)
    assert Float(0.0, 1.7e308).high == 1.7e308  # wide but finite is fine


def test_ints_wider_than_int64_are_accepted() -> None:
    assert Int(-2**62, 2**62).contains(2**61 + 1)
    assert Int(0, 2**70, step=2**10).contains(2**69)
    assert not Int(2**70, 2**70 + 8, step=4).contains(2**70 + 2)


def test_a_fixed_value_becomes_the_value_samplers_write() -> None:
    assert canonical(Int(1, 4), 3.0) == 3 and type(canonical(Int(1, 4), 3.0)) is int
    assert type(canonical(Float(0.0, 2.0), 1)) is float
    grid = Float(0.0, 1.0, step=0.1)
    assert canonical(grid, 0.3) == grid_value(grid, 3) == 0.3  # not 3 * 0.1
    assert canonical(grid, 0.1 * 3) == 0.3  # (0.30000000000000004 is on the grid too)
    # a grid through 0 from below: 0.0 in Python and numpy alike (numpy's rint kept -0.0)
    through = Float(-0.9, 0.9, step=0.3)
    assert math.copysign(1, grid_value(through, 3)) == 1.0
    assert [math.copysign(1, v) for v in decode_column(through, np.array([3.5 / 7]))] == [1.0]
    coarse = Float(180.38766469274606, 180.38866469274606, step=0.001)  # too fine for 1e-14
    assert grid_value(coarse, 0) == coarse.low and grid_value(coarse, 1) == coarse.high
    assert canonical(Categorical(("a", 1)), 1) == 1
    assert type(canonical(Int(1, 4), np.int64(2))) is int


@settings(max_examples=60, deadline=None)
@given(low=st.floats(-1e3, 1e3), step=st.sampled_from([0.001, 0.1, 0.25, 0.3, 1.0, 2.5]),
       n=st.integers(1, 40))
def test_the_grid_ends_exactly_at_high(low: float, step: float, n: int) -> None:
    """``low + k * step`` may round past or short of ``high``; the grid's last value is high,
    every value is in range and increasing, and canonical is idempotent on the grid."""
    try:
        d = Float(low, low + n * step, step=step)
    except ValueError:  # the rounding of low + n * step made the step not divide the range
        return
    values = [grid_value(d, k) for k in range(n + 1)]
    assert values[0] == d.low and values[-1] == d.high
    assert all(a < b for a, b in itertools.pairwise(values))
    assert [canonical(d, v) for v in values] == values


def test_an_int_parent_given_as_a_float_activates_its_children() -> None:
    space = SearchSpace.from_dict({
        "layers": {"type": "int", "low": 1, "high": 3},
        "w2": {"type": "int", "low": 8, "high": 64,
               "condition": {"parent": "layers", "in": [2, 3]}}})
    assert space.active({"layers": 2.0}) == ["layers", "w2"]
    assert space.active({"layers": 1.0}) == ["layers"]
    assert space.restrict({"layers": 3.0, "w2": 16}) == {"layers": 3.0, "w2": 16}
    # without the parent's distribution, the condition stays type-aware
    assert not space.conditions["w2"].holds({"layers": 2.0})
    assert space.conditions["w2"].holds({"layers": 2.0}, space["layers"])
    # a categorical parent keeps telling 2 and 2.0 apart
    cat = SearchSpace({"c": Categorical((2, 2.0)), "x": Int(0, 1)},
                      conditions={"x": Condition("c", (2,))})
    assert cat.active({"c": 2.0}) == ["c"] and cat.active({"c": 2}) == ["c", "x"]


def test_suggest_space_activates_a_child_of_an_enqueued_float_for_an_int() -> None:
    space = SearchSpace.from_dict({
        "layers": {"type": "int", "low": 1, "high": 3},
        "w2": {"type": "int", "low": 8, "high": 64,
               "condition": {"parent": "layers", "in": [2, 3]}}})
    t = Trial(Driver(), 0, fixed={"layers": 2.0, "w2": 16},  # type: ignore[arg-type]
              datetime_start=datetime.now(timezone.utc))
    assert t.suggest_space(space) == {"layers": 2, "w2": 16}
    assert type(t.params["layers"]) is int


@settings(max_examples=60, deadline=None)
@given(data=st.data(), space=search_spaces())
def test_equal_spaces_hash_alike_whatever_the_order(data: st.DataObject,
                                                    space: SearchSpace) -> None:
    names = data.draw(st.permutations(list(space)))
    conditions = dict(reversed(list(space.conditions.items())))
    again = SearchSpace({n: space[n] for n in names}, conditions)
    assert again == space
    assert hash(again) == hash(space)
    assert len({space, again}) == 1


def test_spaces_in_another_order_are_one_set_member() -> None:
    s1 = SearchSpace({"a": Float(0, 1), "b": Int(0, 3)})
    s2 = SearchSpace({"b": Int(0, 3), "a": Float(0, 1)})
    assert s1 == s2 and hash(s1) == hash(s2) and len({s1, s2}) == 1
    assert s1 != SearchSpace({"a": Float(0, 1), "b": Int(0, 4)})
