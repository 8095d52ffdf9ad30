"""lib.step_size.gradient_descent against closed forms: GD on quadratics, the 2/λ bound, escaping a saddle."""
import math

import numpy as np
import pytest

from lib.step_size import gradient_descent as gd
from lib.step_size import surfaces


@pytest.mark.parametrize("lam, lr", [(4.0, 0.01), (4.0, 0.2), (4.0, 0.45), (4.0, 0.55), (0.5, 3.0)])
def test_gd_on_a_parabola_follows_the_geometric_sequence(lam, lr):
    path = gd.gd_path(surfaces.quadratic(lam), [1.5], lr, steps=30)
    k = np.arange(31)
    expected = (1 - lr * lam) ** k * 1.5
    np.testing.assert_allclose(path.points[:, 0], expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(path.losses, 0.5 * lam * expected**2, rtol=1e-12, atol=1e-300)


def test_gd_in_several_dimensions_moves_each_eigendirection_independently():
    lams = np.array([0.3, 2.0, 7.0])
    w0 = np.array([1.0, -2.0, 0.5])
    path = gd.gd_path(surfaces.quadratic(list(lams)), w0, lr=0.2, steps=12)
    expected = (1 - 0.2 * lams) ** 12 * w0
    np.testing.assert_allclose(path.points[-1], expected, rtol=1e-12)


@pytest.mark.parametrize("lam", [0.5, 2.0, 10.0])
def test_convergence_switches_at_two_over_lambda(lam):
    bound = 2.0 / lam
    below = gd.gd_path(surfaces.quadratic(lam), [1.0], 0.98 * bound, steps=400)
    above = gd.gd_path(surfaces.quadratic(lam), [1.0], 1.02 * bound, steps=400)
    assert below.losses[-1] < below.losses[0] * 1e-3 and not below.diverged
    assert above.losses[-1] > above.losses[0] * 1e3 and above.diverged


def test_a_rate_above_one_converges_when_the_curvature_is_below_two():
    path = gd.gd_path(surfaces.quadratic(0.5), [1.0], lr=3.0, steps=60)
    assert abs(path.points[-1, 0]) == pytest.approx(0.5**60, rel=1e-9)  # |1 - 3·0.5| = 0.5


def test_stable_lr_bound_is_two_over_the_largest_eigenvalue():
    surface = surfaces.ravine(gentle=1.0, steep=10.0)
    assert gd.stable_lr_bound(surface, (0.3, -0.2)) == pytest.approx(0.2, rel=1e-12)
    assert gd.stable_lr_bound(surfaces.quadratic([0.5, 3.0, 1.0]), (0, 0, 0)) == pytest.approx(2 / 3)


def test_stable_lr_bound_at_the_saddle_and_where_nothing_curves_up():
    # at the saddle the Hessian is diag(1, -1): only the positive eigenvalue limits the step
    assert gd.stable_lr_bound(surfaces.saddle(), (0.0, 0.0)) == pytest.approx(2.0)
    cap = surfaces.Surface(name="cap", equation="-w^2/2", dim=1, fn=lambda w: -0.5 * (w**2).sum(-1),
                             window=((-1.0, 1.0),), minimizer=(0.0,))
    assert gd.stable_lr_bound(cap, (0.3,)) == math.inf


@pytest.mark.parametrize("lr, lam, expected", [
    (0.01, 4.0, "monotone"), (0.25, 4.0, "one step"), (0.45, 4.0, "oscillating"),
    (0.5, 4.0, "marginal"), (0.55, 4.0, "divergent"),
])
def test_regime_classifies_the_factor_one_minus_eta_lambda(lr, lam, expected):
    assert gd.step_regime(lr, lam) == expected


def test_a_path_that_blows_up_is_cut_off_with_nan():
    path = gd.gd_path(surfaces.quadratic(10.0), [1.0], lr=5.0, steps=400)  # factor -49
    assert path.diverged
    assert np.isnan(path.points[-1]).all()
    assert np.isfinite(path.points[0]).all()


@pytest.mark.parametrize("y0", [1e-2, 1e-4, 1e-8])
def test_escape_from_the_saddle_takes_about_the_linearised_number_of_steps(y0):
    lr = 0.1
    path = gd.gd_path(surfaces.saddle(), (0.0, y0), lr, steps=400)
    measured = gd.escape_step(path, y_exit=0.5)
    predicted = gd.saddle_escape_estimate(y0, lr, y_exit=0.5)
    assert predicted == pytest.approx(math.log(0.5 / y0) / math.log(1.1))
    # the cubic term only slows the last few steps
    assert predicted <= measured <= predicted + 6


def test_a_run_on_the_ridge_never_escapes():
    path = gd.gd_path(surfaces.saddle(), (1.0, 0.0), 0.1, steps=200)
    assert gd.escape_step(path) is None
    assert path.points[-1, 0] == pytest.approx(0.9**200 * 1.0, abs=1e-12)


def test_loss_ratio_scan_matches_the_closed_form():
    lrs = [0.05, 0.3, 0.9, 1.1]
    ratios = gd.loss_ratio_scan(2.0, lrs, steps=20)
    np.testing.assert_allclose(ratios, [(1 - 2.0 * lr) ** 40 for lr in lrs], rtol=1e-10)


BAD_CALLS = [
    (lambda: gd.gd_path("ravine", (0, 0), 0.1, 10), TypeError),
    (lambda: gd.gd_path(surfaces.ravine(), (0, 0), 0.0, 10), ValueError),
    (lambda: gd.gd_path(surfaces.ravine(), (0, 0), "0.1", 10), TypeError),
    (lambda: gd.gd_path(surfaces.ravine(), (0, 0), 0.1, 0), ValueError),
    (lambda: gd.gd_path(surfaces.ravine(), (0, 0), 0.1, 2.5), TypeError),
    (lambda: gd.gd_path(surfaces.ravine(), (0, 0, 0), 0.1, 10), ValueError),
    (lambda: gd.gd_path(surfaces.ravine(), ("a", 0), 0.1, 10), TypeError),
    (lambda: gd.gd_path(surfaces.ravine(), (float("inf"), 0), 0.1, 10), ValueError),
    (lambda: gd.stable_lr_bound(None, (0, 0)), TypeError),
    (lambda: gd.step_regime(0.1, 0.0), ValueError),
    (lambda: gd.step_regime(-0.1, 1.0), ValueError),
    (lambda: gd.escape_step([1, 2, 3]), TypeError),
    (lambda: gd.escape_step(gd.gd_path(surfaces.saddle(), (0, 0.1), 0.1, 3), y_exit=0), ValueError),
    (lambda: gd.escape_step(gd.gd_path(surfaces.saddle(), (0, 0.1), 0.1, 3), coordinate=2), ValueError),
    (lambda: gd.saddle_escape_estimate(0.6, 0.1), ValueError),
    (lambda: gd.saddle_escape_estimate(0.0, 0.1), ValueError),
    (lambda: gd.loss_ratio_scan(1.0, [], 10), ValueError),
    (lambda: gd.loss_ratio_scan(1.0, "0.1", 10), TypeError),
    (lambda: gd.loss_ratio_scan(1.0, [0.1, -0.1], 10), ValueError),
]


@pytest.mark.parametrize("call, error", BAD_CALLS)
def test_bad_input_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()
