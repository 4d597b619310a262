"""The space ⇄ unit-cube mapping: decode(encode(x)) == x, and the cube is really [0, 1]."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hyperdial._encode import decode, decode_column, decode_value, encode, n_values
from hyperdial.space import Categorical, Condition, Float, Int, SearchSpace
from hyperdial.testing.strategies import params_for, search_spaces

spaces_with_rows = search_spaces().flatmap(
    lambda s: st.lists(params_for(s), min_size=1, max_size=5).map(lambda rows: (s, rows)))


def same_value(space: SearchSpace, name: str, a: Any, b: Any) -> bool:
    """Exact (and of the same type) for ints and categoricals; floats to rel 1e-9, or to
    1e-12 of the bounds' magnitude near zero, the rounding a linear map cannot avoid."""
    d = space[name]
    if isinstance(d, Float) and d.step is None:
        scale = max(abs(d.low), abs(d.high))
        return isinstance(b, float) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * scale)
    return type(a) is type(b) and a == b


@settings(max_examples=150, deadline=None)
@given(case=spaces_with_rows)
def test_decode_inverts_encode(case: tuple[SearchSpace, list[dict[str, Any]]]) -> None:
    space, rows = case
    back = decode(space, encode(space, rows))
    for row, got in zip(rows, back, strict=True):
        assert set(got) == set(row)
        for name in row:
            assert same_value(space, name, row[name], got[name]), (name, row[name], got[name])


@settings(max_examples=150, deadline=None)
@given(case=spaces_with_rows)
def test_encode_is_in_the_unit_cube_and_nan_when_inactive(
        case: tuple[SearchSpace, list[dict[str, Any]]]) -> None:
    space, rows = case
    u = encode(space, rows)
    assert u.shape == (len(rows), len(space))
    active = np.array([[name in row for name in space] for row in rows])
    assert np.all(np.isnan(u) == ~active)
    assert np.all((u[active] >= 0.0) & (u[active] <= 1.0))


@settings(max_examples=100, deadline=None)
@given(data=st.data(), space=search_spaces())
def test_any_point_of_the_cube_decodes_to_a_valid_assignment(data: st.DataObject,
                                                             space: SearchSpace) -> None:
    u = data.draw(arrays(float, (4, len(space)), elements=st.floats(0.0, 1.0)))
    rows = decode(space, u)
    for row, again in zip(rows, decode(space, encode(space, rows)), strict=True):
        space.validate(row)
        assert set(again) == set(row)
        assert all(same_value(space, name, row[name], again[name]) for name in row)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), space=search_spaces())
def test_decode_value_is_decode_column_for_one_value(data: st.DataObject,
                                                     space: SearchSpace) -> None:
    """The scalar decoder random search uses agrees with the vectorised one: exactly off log
    scales, to the last places of ``exp`` on them (an integer may then sit one away, at a bin
    edge only)."""
    for name, d in space.items():
        u = data.draw(st.floats(-0.5, 1.5), label=name)  # out of the cube: both clip
        one, column = decode_value(d, u), decode_column(d, np.array([u]))[0]
        assert type(one) is type(column)
        if getattr(d, "log", False):
            assert math.isclose(one, column, rel_tol=1e-12) or (
                isinstance(d, Int) and abs(one - column) == 1), (name, u, one, column)
        else:
            assert one == column, (name, u, one, column)


def test_every_int_and_category_owns_an_equal_share_of_the_cube() -> None:
    u = (np.arange(1000) + 0.5) / 1000
    for d in (Int(0, 9), Int(-10, 10, step=5), Categorical(tuple("abcd"))):
        values = [str(r["p"]) for r in decode(SearchSpace({"p": d}), u[:, None])]
        counts = np.unique(values, return_counts=True)[1]
        assert len(counts) == n_values(d)
        assert counts.max() - counts.min() <= 1


def test_nan_decodes_to_absent() -> None:
    space = SearchSpace({"i": Int(0, 3), "c": Categorical((None, 1))})
    assert decode(space, np.array([[np.nan, 0.9], [0.1, np.nan]])) == [{"c": 1}, {"i": 0}]


def test_inactive_parameters_are_dropped_when_decoding() -> None:
    space = SearchSpace({"m": Categorical(("a", "b")), "x": Float(0.0, 1.0)},
                        conditions={"x": Condition("m", ("a",))})
    assert decode(space, np.array([[0.9, 0.5], [0.1, 0.5]])) == [{"m": "b"}, {"m": "a", "x": 0.5}]
    assert np.isnan(encode(space, [{"m": "b"}])[0, 1])


def test_mixed_type_choices_keep_their_type() -> None:
    space = SearchSpace({"c": Categorical((None, True, 1, 1.0, "a"))})
    rows = [{"c": v} for v in (None, True, 1, 1.0, "a")]
    back = decode(space, encode(space, rows))
    assert [(type(r["c"]), r["c"]) for r in back] == [(type(r["c"]), r["c"]) for r in rows]
