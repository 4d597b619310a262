"""The Parzen kernels of TPE: densities, masses, sampling, bandwidths, the good/bad split."""

from __future__ import annotations

import numpy as np
import pytest

from hyperdial.samplers import _parzen as pz
from hyperdial.space import Float, Int


def _mixture(n: int = 7, d: int = 1, *, scott: bool = False, cats: int = 0) -> pz.Mixture:
    rng = np.random.default_rng(n)
    num = rng.random((n, d))
    cat = rng.integers(0, 4, size=(n, cats))
    return pz.fit(num, cat, np.ones(n), [4] * cats, prior_weight=1.0, scott=scott)


@pytest.mark.parametrize("scott", [False, True])
def test_continuous_density_integrates_to_one(scott: bool) -> None:
    mix = _mixture(scott=scott)
    x = np.linspace(0.0, 1.0, 20001)
    dens = np.exp(pz.log_pdf(mix, x[:, None], np.empty((x.size, 0), np.int64), [pz.Dim("cont")]))
    assert np.trapezoid(dens, x) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("dist", [Int(0, 9), Int(1, 1000, log=True), Float(0.0, 1.0, step=0.25)])
def test_discrete_masses_sum_to_one(dist: Int | Float) -> None:
    mix = _mixture()
    n = pz.n_values(dist)
    assert n is not None
    values = pz.from_coords(dist, (np.arange(n) + 0.5) / n) if not isinstance(dist, Int) \
        or not dist.log else list(range(dist.low, dist.high + 1))
    z = pz.to_coords(dist, values)
    mass = np.exp(pz.log_pdf(mix, z[:, None], np.empty((z.size, 0), np.int64),
                             [pz.dim_of(dist)]))
    assert mass.sum() == pytest.approx(1.0, abs=1e-9)


def test_categorical_probabilities_sum_to_one() -> None:
    mix = _mixture(n=5, d=0, cats=1)
    probs = np.exp(pz.kernel_log_pdf(mix, np.empty((4, 0)), np.arange(4)[:, None], []))
    np.testing.assert_allclose(probs.sum(axis=0), 1.0)
    total = np.exp(pz.log_pdf(mix, np.empty((4, 0)), np.arange(4)[:, None], []))
    assert total.sum() == pytest.approx(1.0)


def test_samples_stay_in_the_cube_and_on_bins() -> None:
    mix = _mixture(n=30, d=3, scott=True, cats=2)
    dims = [pz.Dim("cont"), pz.Dim("bins", n=5), pz.dim_of(Int(1, 64, log=True))]
    num, cat = pz.sample(mix, np.random.default_rng(0), 500, dims)
    assert ((num >= 0) & (num <= 1)).all()
    assert set(np.round(num[:, 1] * 5 - 0.5, 9)) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert ((cat >= 0) & (cat < 4)).all()


@pytest.mark.parametrize("dist", [Float(1e-5, 1.0, log=True), Float(-2.0, 3.0, step=0.5),
                                  Int(0, 20, step=4), Int(2, 300, log=True),
                                  Float(0.0, 1.0)])
def test_coords_round_trip_respects_bounds_and_step(dist: Int | Float) -> None:
    values = pz.from_coords(dist, np.random.default_rng(1).random(200))
    assert all(dist.contains(v) for v in values)
    again = pz.from_coords(dist, pz.to_coords(dist, values))
    np.testing.assert_allclose(again, values)


def test_bandwidths_are_clipped() -> None:
    num = np.linspace(0.3, 0.3001, 50)[:, None]
    mix = pz.fit(num, np.empty((50, 0), np.int64), np.ones(50), [], scott=False)
    assert mix.sigmas.min() == pytest.approx(1.0 / 52)  # 51 kernels with the prior, plus one
    assert mix.sigmas[-1, 0] == 1.0


def test_a_fixed_bandwidth_floor_replaces_the_magic_clip() -> None:
    """With ``min_bandwidth`` the floor is that fraction of the range whatever the number of
    kernels: a few close observations keep narrow kernels (the magic clip, 1 / (n + 2), would
    widen three of them to a fifth of the range); the prior kernel stays at 1."""
    num = np.array([[0.30], [0.31], [0.33]])
    mix = pz.fit(num, np.empty((3, 0), np.int64), np.ones(3), [], scott=False,
                 min_bandwidth=0.05)
    np.testing.assert_allclose(mix.sigmas[:3, 0], 0.05)
    assert mix.sigmas[-1, 0] == 1.0
    wide = pz.fit(num, np.empty((3, 0), np.int64), np.ones(3), [], scott=False)
    np.testing.assert_allclose(wide.sigmas[:3, 0], 0.2)


def test_defaults_and_split() -> None:
    assert [pz.default_gamma(n) for n in (1, 10, 11, 1000)] == [1, 1, 2, 25]
    w = pz.default_weights(40)
    assert w.shape == (40,) and w[-25:].min() == 1.0 and w[0] < w[14] <= 1.0
    loss = np.array([[3.0], [np.nan], [1.0], [2.0]])
    assert pz.loss_order(loss, 1).tolist() == [2, 3, 0, 1]
    two = np.array([[1.0, 4.0], [2.0, 2.0], [3.0, 3.0], [4.0, 1.0], [5.0, 5.0]])
    order = pz.loss_order(two, 3)
    assert set(order[:3].tolist()) == {0, 1, 3} and order[-1] == 4


def test_bandwidth_rule_per_column() -> None:
    """Scott's rule where asked (one bandwidth for every kernel of the column), neighbour gaps
    elsewhere (each kernel as wide as its larger gap to another observation)."""
    num = np.array([[0.1, 0.1], [0.2, 0.5], [0.9, 0.6]])
    mix = pz.fit(num, np.empty((3, 0), dtype=np.int64), np.ones(3), [],
                 scott=np.array([True, False]))
    scott_col, gap_col = mix.sigmas[:3, 0], mix.sigmas[:3, 1]
    assert np.allclose(scott_col, scott_col[0])
    assert np.allclose(gap_col, [0.4, 0.4, 0.2])  # the last gap, 0.1, clipped to 1 / (3 + 2)
    assert np.allclose(mix.sigmas[3], 1.0)  # the prior kernel


def test_good_shares_without_ties_is_the_plain_split() -> None:
    np.testing.assert_array_equal(pz.good_shares(5, 2), [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(pz.good_shares(4, 2, np.array([0.1, 0.2, 0.3, 0.4])),
                                  [1, 1, 0, 0])


def test_good_shares_divide_the_free_places_among_tied_losses() -> None:
    # Two places, one taken by the strict best; three trials tie for the other one.
    share = pz.good_shares(6, 2, np.array([0.1, 0.2, 0.2, 0.2, 0.5]))
    np.testing.assert_allclose(share, [1, 1 / 3, 1 / 3, 1 / 3, 0, 0])
    assert share.sum() == pytest.approx(2.0)
    # A tie that lies wholly inside the good set changes nothing.
    np.testing.assert_array_equal(pz.good_shares(4, 2, np.array([0.1, 0.1, 0.3, 0.4])),
                                  [1, 1, 0, 0])


def test_rank_weights_fall_with_rank_and_ties_share_their_mean_rank() -> None:
    np.testing.assert_allclose(pz.rank_weights(4), [1, 1 / 2, 1 / 3, 1 / 4])
    # ranks 0, 1.5, 1.5, 3: the two tied losses weigh the same
    np.testing.assert_allclose(pz.rank_weights(4, np.array([0.1, 0.2, 0.2, 0.5, 0.9])),
                               [1, 1 / 2.5, 1 / 2.5, 1 / 4])
    # observations past the losses given (pruned trials) keep their place in the ranking
    np.testing.assert_allclose(pz.rank_weights(3, np.array([0.3, 0.3])), [1 / 1.5, 1 / 1.5, 1 / 3])
    assert pz.rank_weights(0).size == 0
