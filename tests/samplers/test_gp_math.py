"""The GP algebra: kernel, likelihood gradient, log expected improvement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr

from hyperdial.samplers import _gp_math as gpm

RNG = np.random.default_rng(0)
X = RNG.random((12, 3))
X[:, 2] = (RNG.integers(0, 3, 12) + 0.5) / 3  # a categorical column
IS_CAT = np.array([False, False, True])
Y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2 + (X[:, 2] > 0.5)
Y = (Y - Y.mean()) / Y.std()


def test_kernel_matrix_is_symmetric_psd_with_signal_on_diagonal() -> None:
    hyper = gpm.Hyper(np.array([0.3, 0.5, 0.7]), 1.7, 1e-3)
    k = gpm.kernel(X, X, hyper, IS_CAT)
    assert np.allclose(k, k.T)
    assert np.allclose(np.diag(k), 1.7)
    assert np.linalg.eigvalsh(k).min() > -1e-10


@pytest.mark.parametrize("fixed_noise", [None, 1e-2])
def test_log_posterior_gradient_matches_finite_differences(fixed_noise: float | None) -> None:
    d = X.shape[1]
    theta = gpm.default_theta(d, fixed_noise) + RNG.normal(0, 0.5, d + (1 if fixed_noise else 2))
    _, grad = gpm.neg_log_posterior(theta, X, Y, IS_CAT, fixed_noise)
    eps = 1e-6
    for i in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[i] += eps
        down[i] -= eps
        fd = (gpm.neg_log_posterior(up, X, Y, IS_CAT, fixed_noise)[0]
              - gpm.neg_log_posterior(down, X, Y, IS_CAT, fixed_noise)[0]) / (2 * eps)
        assert grad[i] == pytest.approx(fd, rel=1e-4, abs=1e-6)


def test_fit_improves_the_log_posterior_and_posterior_interpolates() -> None:
    start = gpm.default_theta(3, None)
    theta = gpm.fit_map(X, Y, IS_CAT, start[None, :])
    assert gpm.neg_log_posterior(theta, X, Y, IS_CAT)[0] < \
        gpm.neg_log_posterior(start, X, Y, IS_CAT)[0]
    post = gpm.posterior(X, Y, gpm.Hyper.from_theta(theta, 3, None), IS_CAT)
    mean, var = post.predict(X)
    assert np.corrcoef(mean, Y)[0, 1] > 0.9
    assert np.all(var >= 0)


def test_log_ei_matches_the_naive_formula_where_that_is_stable() -> None:
    mean = np.linspace(-3, 3, 41)
    var = np.full_like(mean, 0.7)
    sd = np.sqrt(var)
    z = (0.2 - mean) / sd
    naive = sd * (z * ndtr(z) + np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi))
    assert np.allclose(gpm.log_ei(mean, var, 0.2), np.log(naive), rtol=1e-9, atol=1e-12)


def test_log_ei_is_finite_and_monotone_far_in_the_tail() -> None:
    z = -np.logspace(0, 9, 200)
    lh = gpm.log_h(z)
    assert np.all(np.isfinite(lh))
    assert np.all(np.diff(lh) < 0)  # EI falls as the mean moves further above the best
    # the asymptote log(phi(z) / z^2) holds in the tail
    assert lh[-1] == pytest.approx(-0.5 * z[-1] ** 2 - 0.5 * math.log(2 * math.pi)
                                   - 2 * math.log(-z[-1]), rel=1e-9)
    # and is continuous where the branches meet
    for edge in (-1.0, -1e6):
        assert gpm.log_h(np.array([edge - 1e-9]))[0] == pytest.approx(
            gpm.log_h(np.array([edge + 1e-9]))[0], rel=1e-6)


def test_log_ei_gradient_matches_finite_differences() -> None:
    theta = gpm.fit_map(X, Y, IS_CAT, gpm.default_theta(3, None)[None, :])
    post = gpm.posterior(X, Y, gpm.Hyper.from_theta(theta, 3, None), IS_CAT)
    xs = RNG.random((5, 3))
    xs[:, 2] = 0.5
    best = float(Y.min())
    _, grad = gpm.log_ei_and_grad(post, xs, best)
    eps = 1e-6
    for j in (0, 1):
        up, down = xs.copy(), xs.copy()
        up[:, j] += eps
        down[:, j] -= eps
        fd = (gpm.log_ei(*post.predict(up), best)
              - gpm.log_ei(*post.predict(down), best)) / (2 * eps)
        assert np.allclose(grad[:, j], fd, rtol=1e-4, atol=1e-5)
    assert np.all(grad[:, 2] == 0)
