"""Pareto kernels: fronts, exact hypervolume (against inclusion-exclusion), contributions and
greedy subset selection."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hyperdial._pareto import (
    dominates,
    front_ranks,
    greedy_hypervolume_subset,
    hypervolume,
    hypervolume_contributions,
    non_dominated,
)


def brute_hypervolume(loss: np.ndarray, ref: np.ndarray) -> float:
    """Inclusion-exclusion over every subset of the points below ``ref``."""
    pts = [p for p in loss if np.all(p < ref)]
    total = 0.0
    for r in range(1, len(pts) + 1):
        for subset in itertools.combinations(pts, r):
            total += (-1) ** (r + 1) * float(np.prod(ref - np.max(subset, axis=0)))
    return total


def point_sets(max_points: int = 8) -> st.SearchStrategy[np.ndarray]:
    """Small integer-valued sets (many ties and duplicates) of 1 to 5 objectives."""
    return st.integers(1, 5).flatmap(lambda m: arrays(
        float, st.tuples(st.integers(0, max_points), st.just(m)),
        elements=st.integers(0, 4).map(float)))


REF = 4.0


@settings(max_examples=150, deadline=None)
@given(loss=point_sets())
def test_hypervolume_matches_inclusion_exclusion(loss: np.ndarray) -> None:
    ref = np.full(loss.shape[1], REF)
    assert hypervolume(loss, ref) == pytest.approx(brute_hypervolume(loss, ref), abs=1e-9)


def slab_hypervolume(loss: np.ndarray, ref: np.ndarray) -> float:
    """Three objectives by slabs: between consecutive third values, the area the points at or
    below the slab dominate in the first two, from a grid of every x and y they hold."""
    pts = loss[np.all(loss < ref, axis=1)]
    zs = np.append(np.sort(pts[:, 2]), ref[2])
    xs, ys = np.append(np.unique(pts[:, 0]), ref[0]), np.append(np.unique(pts[:, 1]), ref[1])
    total = 0.0
    for z, next_z in itertools.pairwise(zs):
        low = pts[pts[:, 2] <= z]
        covered = ((low[:, None, None, 0] <= xs[None, :-1, None])
                   & (low[:, None, None, 1] <= ys[None, None, :-1])).any(axis=0)
        cells = np.diff(xs)[:, None] * np.diff(ys)[None, :]
        total += (next_z - z) * float(np.sum(cells[covered]))
    return total


@settings(max_examples=100, deadline=None)
@given(loss=arrays(float, st.tuples(st.integers(1, 40), st.just(3)),
                   elements=st.floats(0.0, 1.0, width=16)))
def test_three_objective_sweep_matches_slabs_on_larger_sets(loss: np.ndarray) -> None:
    """The staircase sweep against a grid count, on sets too large for inclusion-exclusion
    (with half-precision values: ties, duplicates and dominated points are common)."""
    ref = np.full(3, 1.1)
    assert hypervolume(loss, ref) == pytest.approx(slab_hypervolume(loss, ref), abs=1e-9)
    assert greedy_hypervolume_subset(loss, 3, ref).size == min(3, len(loss))


@settings(max_examples=100, deadline=None)
@given(loss=point_sets(7))
def test_contributions_are_leave_one_out_differences(loss: np.ndarray) -> None:
    ref = np.full(loss.shape[1], REF)
    total = hypervolume(loss, ref)
    contrib = hypervolume_contributions(loss, ref)
    for i in range(loss.shape[0]):
        assert contrib[i] == pytest.approx(total - hypervolume(np.delete(loss, i, 0), ref),
                                           abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(loss=point_sets(), k=st.integers(0, 8))
def test_greedy_subset_adds_the_most_at_each_step(loss: np.ndarray, k: int) -> None:
    ref = np.full(loss.shape[1], REF)
    chosen = greedy_hypervolume_subset(loss, k, ref)
    assert len(chosen) == min(k, loss.shape[0]) and len(set(chosen.tolist())) == len(chosen)
    for step in range(len(chosen)):
        before = hypervolume(loss[chosen[:step]], ref)
        gains = [hypervolume(loss[[*chosen[:step], j]], ref) - before
                 for j in range(loss.shape[0]) if j not in chosen[:step]]
        assert hypervolume(loss[chosen[:step + 1]], ref) - before == pytest.approx(max(gains))


def test_an_infinite_side_makes_an_infinite_hypervolume() -> None:
    """Not NaN: the sweeps would multiply an infinite side by a zero width or height."""
    assert hypervolume(np.array([[1.0, -np.inf, 1.0], [1.0, 1.0, 0.0]]), np.full(3, 1.1)) \
        == np.inf
    assert hypervolume(np.array([[1.0, 1.0]]), np.array([np.inf, 2.0])) == np.inf
    assert hypervolume(np.array([[3.0, 1.0]]), np.array([2.0, np.inf])) == 0.0  # not below


def test_hypervolume_of_known_sets() -> None:
    two = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0]])
    assert hypervolume(two, np.array([4.0, 4.0])) == pytest.approx(6.0)
    assert hypervolume(np.empty((0, 3)), np.ones(3)) == 0.0
    assert hypervolume(np.array([[2.0, 0.0]]), np.array([1.0, 1.0])) == 0.0  # outside ref
    # Monte-Carlo check of a random 3-objective set with a continuous spread
    rng = np.random.default_rng(0)
    pts = rng.random((30, 3))
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    ref = np.full(3, 1.1)
    u = rng.random((200_000, 3)) * ref
    covered = np.zeros(len(u), dtype=bool)
    for p in pts:
        covered |= np.all(u >= p, axis=1)
    assert hypervolume(pts, ref) == pytest.approx(covered.mean() * 1.1 ** 3, rel=0.02)


def test_fronts() -> None:
    loss = np.array([[1.0, 4.0], [2.0, 2.0], [3.0, 3.0], [4.0, 1.0], [5.0, 5.0], [2.0, 2.0]])
    assert front_ranks(loss).tolist() == [0, 0, 1, 0, 2, 0]
    assert non_dominated(loss).tolist() == [True, True, False, True, False, True]
    assert dominates(loss[1], loss[2]) and not dominates(loss[1], loss[5])


@settings(max_examples=100, deadline=None)
@given(loss=point_sets(12))
def test_front_ranks_peel_non_dominated_sets(loss: np.ndarray) -> None:
    ranks = front_ranks(loss)
    rest = np.arange(loss.shape[0])
    r = 0
    while rest.size:
        front = rest[non_dominated(loss[rest])]
        assert (ranks[front] == r).all()
        rest = np.setdiff1d(rest, front)
        r += 1


@settings(max_examples=200, deadline=None)
@given(loss=st.integers(1, 5).flatmap(lambda m: arrays(
    float, st.tuples(st.integers(0, 14), st.just(m)),
    elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, np.inf, np.nan]))))
def test_non_dominated_is_no_other_row_dominating(loss: np.ndarray) -> None:
    """Against the definition, row by row (ties, duplicates, inf and NaN: a row with NaN
    compares false, so it neither dominates nor is dominated)."""
    expected = [not any(dominates(other, row) for other in loss) for row in loss]
    assert non_dominated(loss).tolist() == expected


def test_points_and_a_reference_point_of_other_widths_are_refused() -> None:
    """Two 3-objective points with a 2-long reference point were reshaped into three
    2-objective points, and the hypervolume was a silent 4.0."""
    points = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    for measure in (hypervolume, hypervolume_contributions):
        with pytest.raises(ValueError, match=r"shape \(2, 3\) and the reference point 2"):
            measure(points, np.array([2.0, 2.0]))
    assert hypervolume(np.array([0.5, 0.5]), np.array([1.0, 1.0])) == 0.25  # one point, flat
    assert hypervolume(np.empty((0, 3)), np.ones(2)) == 0.0  # no point at all
