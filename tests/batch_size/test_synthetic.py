"""The synthetic ground truth: the closed form for a linear regression with Gaussian inputs against a
brute-force Monte Carlo average in NumPy (no torch, no lib code in the loop), and both estimators
against that closed form, within 10 %."""
from __future__ import annotations

import numpy as np
import pytest

from lib.batch_size import synthetic


def test_linear_regression_moments_match_a_brute_force_monte_carlo_average():
    rng = np.random.default_rng(7)
    d, n, noise = 4, 1_000_000, 0.7
    cov = np.diag([0.5, 1.0, 1.5, 3.0])
    w_star = np.array([1.0, -2.0, 0.5, 0.0])
    w = np.array([0.3, -1.0, 1.5, 0.8])
    x = rng.standard_normal((n, d)) * np.sqrt(np.diag(cov))
    y = x @ w_star + noise * rng.standard_normal(n)
    g = 2.0 * (x @ w - y)[:, None] * x                      # gradient of (w.x - y)^2, example by example
    gradient, sigma = synthetic.linear_regression_moments(w, w_star, cov, noise)
    assert np.allclose(g.mean(0), gradient, rtol=0.02, atol=0.02)
    empirical = np.cov(g, rowvar=False)
    assert np.linalg.norm(empirical - sigma) / np.linalg.norm(sigma) < 0.02
    assert abs(np.trace(empirical) / np.trace(sigma) - 1) < 0.01


def test_b_simple_closed_form_on_an_isotropic_example():
    # C = I, sigma = 0, delta = e_1 in d dimensions: G = 2 e_1, Sigma = 4 (I + e_1 e_1^T),
    # so tr Sigma = 4 (d + 1) and |G|^2 = 4: B_simple = d + 1.
    d = 6
    delta = np.eye(d)[0]
    gradient, sigma = synthetic.linear_regression_moments(delta, np.zeros(d), np.eye(d), 0.0)
    assert np.trace(sigma) / (gradient @ gradient) == pytest.approx(d + 1)


def test_both_estimators_recover_the_exact_noise_scale_within_ten_percent():
    check = synthetic.synthetic_check()
    for estimator, errors in check.relative_errors().items():
        for quantity, error in errors.items():
            assert error < 0.10, (estimator, quantity, error)
    assert check.worst_error < 0.10
    # the truth is what the closed form says, independent of the estimators
    assert check.exact.b_simple == pytest.approx(check.exact.trace_sigma / check.exact.g_squared)


BAD_CALLS = [
    (lambda: synthetic.linear_regression_moments([1.0], [1.0, 2.0], np.eye(2), 0.1), ValueError, "same length"),
    (lambda: synthetic.linear_regression_moments([1.0, 0.0], [0.0, 0.0], -np.eye(2), 0.1), ValueError,
     "positive definite"),
    (lambda: synthetic.linear_regression_moments([1.0, 0.0], [0.0, 0.0], np.eye(2), -1), ValueError, "noise_std"),
    (lambda: synthetic.linear_regression_moments([1.0, 0.0], [0.0, 0.0], np.ones((2, 3)), 0.1), ValueError,
     "symmetric"),
    (lambda: synthetic.synthetic_check(draws=0), ValueError, "draws"),
    (lambda: synthetic.synthetic_check(decay=1.0), ValueError, "decay"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
