"""The space ⇄ unit-cube mapping: decode(encode(x)) == x, and the cube is really [0, 1]."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hyperdial._encode import (
    decode,
    decode_column,
    decode_value,
    encode,
    encode_column,
    n_values,
    snap,
)
from hyperdial.space import Categorical, Condition, Float, Int, SearchSpace, grid_value
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


# -- stepped floats own equal bins; integers of any width ----------------------------------------
def _safe(make: Any) -> Any:
    try:
        return make()
    except ValueError:  # low + n * step rounded so that the step no longer divides the range
        return None


@settings(max_examples=100, deadline=None)
@given(low=st.floats(-1e3, 1e3), step=st.sampled_from([0.001, 0.1, 0.25, 0.3, 1.0, 2.5]),
       n=st.integers(1, 30), m=st.integers(1, 7))
def test_every_stepped_float_value_owns_an_equal_share_of_the_cube(
        low: float, step: float, n: int, m: int) -> None:
    """A uniform grid of the cube decodes to every grid value equally often, ``low`` and
    ``high`` included (linear decoding then rounding gave the ends half bins)."""
    d = _safe(lambda: Float(low, low + n * step, step=step))
    if d is None:
        return
    k = n_values(d)
    assert k is not None
    u = (np.arange(m * k) + 0.5) / (m * k)
    values = decode_column(d, u)
    assert values == [grid_value(d, i) for i in range(k) for _ in range(m)]
    assert [decode_value(d, x) for x in u] == values


@settings(max_examples=100, deadline=None)
@given(low=st.floats(-1e3, 1e3), step=st.sampled_from([0.001, 0.1, 0.25, 0.3, 1.0, 2.5]),
       n=st.integers(1, 30))
def test_stepped_floats_encode_at_bin_centres_and_round_trip(low: float, step: float,
                                                             n: int) -> None:
    d = _safe(lambda: Float(low, low + n * step, step=step))
    if d is None:
        return
    k = n_values(d)
    assert k is not None
    grid = [grid_value(d, i) for i in range(k)]
    u = encode_column(d, grid)
    assert np.allclose(u, (np.arange(k) + 0.5) / k, rtol=0, atol=1e-9)
    assert decode_column(d, u) == grid
    assert snap([d], u[:, None])[:, 0].tolist() == u.tolist()
    # an off-grid value (an enqueued 0.3 where the grid writes 0.30000000000000004) rounds
    # to the nearest grid value
    assert decode_column(d, encode_column(d, [x + 0.2 * d.step for x in grid[:-1]])) == grid[:-1]


def test_uniform_draws_give_the_ends_of_a_stepped_float_their_share() -> None:
    """The dogfooding case: Float(0, 1, step=0.25) drew 0 and 1 half as often as 0.5."""
    d = Float(0.0, 1.0, step=0.25)
    values = decode_column(d, np.random.default_rng(0).random(20_000))
    counts = np.unique(values, return_counts=True)[1]
    assert len(counts) == 5 and counts.min() > 0.9 * 4_000


WIDE = [Int(-2**62, 2**62), Int(0, 2**70), Int(0, 2**70, step=2**10),
        Int(2**70, 2**70 + 40, step=4), Int(-10**400, 10**400, step=10**390),
        Int(0, 2**64 + 1), Int(-(2**53) - 3, 2**53 + 5)]


@settings(max_examples=100, deadline=None)
@given(data=st.data(), d=st.sampled_from(WIDE))
def test_ints_of_any_width_round_trip_exactly(data: st.DataObject, d: Int) -> None:
    """Ranges past int64 (or past a float's exact integers) decode to exact ints in range,
    and the encoding of a value decodes back to that value."""
    k = data.draw(st.integers(0, (d.high - d.low) // d.step), label="k")
    value = d.low + k * d.step
    u = encode_column(d, [value])
    assert 0.0 <= u[0] <= 1.0
    back = decode_column(d, u)[0]
    assert type(back) is int and d.contains(back)
    if n_values(d) <= 2**52:  # type: ignore[operator]
        assert back == value  # bins wider than a float's resolution of [0, 1]
    x = data.draw(st.floats(0.0, 1.0), label="u")
    one, column = decode_value(d, x), decode_column(d, np.array([x]))[0]
    assert one == column and type(one) is int and d.contains(one)


def test_the_ends_of_a_wide_int_are_reached_exactly() -> None:
    for d in WIDE:
        assert decode_column(d, np.array([0.0, 1.0])) == [d.low, d.high]
        assert decode_value(d, 1.0) == d.high and decode_value(d, 0.0) == d.low
        assert encode_column(d, [d.low, d.high]).tolist() == [
            0.5 / n_values(d), 1.0 - 0.5 / n_values(d)]  # type: ignore[operator]
    log = Int(1, 2**70, log=True)
    assert decode_column(log, np.array([0.0, 1.0])) == [1, 2**70]
    assert all(1 <= v <= 2**70 and type(v) is int
               for v in decode_column(log, np.linspace(0, 1, 101)))
