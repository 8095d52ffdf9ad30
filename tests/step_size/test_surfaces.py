"""lib.step_size.surfaces against closed forms: Hessians of the quadratics and of the saddle."""
import math

import numpy as np
import pytest

from lib.step_size import surfaces


def test_saddle_hessian_eigenvalues_match_the_closed_form():
    a, b = 1.5, 0.7
    surface = surfaces.saddle(a=a, b=b)
    np.testing.assert_allclose(surface.hessian_eigenvalues((0.0, 0.0)), sorted([a, -b]), atol=1e-12)
    # at the minima (0, ±1): d²L/dy² = -b + 3b·y² = 2b
    np.testing.assert_allclose(surface.hessian_eigenvalues((0.0, 1.0)), sorted([a, 2 * b]), atol=1e-12)
    assert surface.min_loss == pytest.approx(-b / 4)
    np.testing.assert_allclose(surface.gradient((0.0, 1.0)), [0.0, 0.0], atol=1e-15)


def test_gradient_and_hessian_of_a_quadratic():
    surface = surfaces.quadratic([2.0, 5.0])
    np.testing.assert_allclose(surface.gradient((1.0, -1.0)), [2.0, -5.0])
    np.testing.assert_allclose(surface.hessian((0.3, 0.1)), np.diag([2.0, 5.0]))


def test_loss_accepts_a_grid_of_points():
    surface = surfaces.ravine(gentle=1.0, steep=10.0)
    X, Y, L = surface.grid(resolution=5)
    np.testing.assert_allclose(L, 0.5 * (X**2 + 10 * Y**2))


BAD_CALLS = [
    (lambda: surfaces.quadratic([]), TypeError),
    (lambda: surfaces.quadratic("1,2"), TypeError),
    (lambda: surfaces.quadratic([1.0, -2.0]), ValueError),
    (lambda: surfaces.quadratic([1.0, float("nan")]), ValueError),
    (lambda: surfaces.quadratic(1.0, window=0), ValueError),
    (lambda: surfaces.ravine(gentle=5.0, steep=1.0), ValueError),
    (lambda: surfaces.ravine(gentle=True), TypeError),
    (lambda: surfaces.saddle(a=-1.0), ValueError),
    (lambda: surfaces.ravine().grid(resolution=0), ValueError),
    (lambda: surfaces.quadratic(1.0).grid(), ValueError),
    (lambda: surfaces.ravine().hessian([[0, 0], [1, 1]]), ValueError),
]


@pytest.mark.parametrize("call, error", BAD_CALLS)
def test_bad_input_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()
