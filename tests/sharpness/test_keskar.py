"""Keskar's epsilon-sharpness against closed forms on quadratics and brute force over the box corners."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from lib.sharpness import keskar as K


def keskar_closed_form(h, x, c, epsilon):
    """phi for f(w) = 1/2 sum h_i (w_i - c_i)^2: each coordinate goes to the box edge away from c."""
    h, x, c = (np.asarray(a, dtype=np.float64) for a in (h, x, c))
    bound = epsilon * (np.abs(x) + 1)
    f_x = 0.5 * np.sum(h * (x - c) ** 2)
    f_max = 0.5 * np.sum(h * (np.abs(x - c) + bound) ** 2)
    return 100 * (f_max - f_x) / (1 + f_x)


@pytest.mark.parametrize("epsilon", K.KESKAR_EPSILONS)
def test_epsilon_sharpness_at_a_quadratic_minimum_is_the_corner_value(epsilon, quadratic_model):
    # x = 0 is the minimum: f = 1/2 z^T H z, max over |z_i| <= eps at a corner = eps^2/2 tr H.
    h = [50.0, 20.0, 5.0, 1.0, 0.1]
    model, X, t = quadratic_model(h)
    phi = K.epsilon_sharpness(model, X, t, epsilon=epsilon, loss="mse", seed=0)
    assert phi == pytest.approx(100 * epsilon ** 2 / 2 * sum(h), rel=1e-6)


def test_epsilon_sharpness_away_from_the_minimum_matches_the_closed_form(quadratic_model):
    h = np.array([30.0, 8.0, 2.0, 0.5])
    c = np.array([0.5, -1.0, 2.0, 0.0])
    x = np.array([0.2, 1.0, -1.0, 3.0])  # every |x_i - c_i| exceeds the box: one maximising corner
    model, X, t = quadratic_model(h, centre=c, weights=x)
    for epsilon in K.KESKAR_EPSILONS:
        phi = K.epsilon_sharpness(model, X, t, epsilon=epsilon, loss="mse", seed=1)
        assert phi == pytest.approx(keskar_closed_form(h, x, c, epsilon), rel=1e-6)


def test_epsilon_sharpness_in_a_random_subspace_matches_brute_force_over_the_box_corners(quadratic_model,
                                                                                          rotated_spectrum):
    # A convex function is maximised over a box at one of its 2^p corners: enumerate them.
    d, p, epsilon = 6, 3, 1e-2
    hessian = rotated_spectrum([9.0, 4.0, 2.0, 1.0, 0.5, 0.25], seed=7)
    c = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 2.0])
    x = np.array([2.0, 1.0, -0.5, 0.0, 1.5, -2.0])
    model, X, t = quadratic_model(hessian, centre=c, weights=x)
    A = K.random_subspace(d, p, seed=11).numpy()
    bound = epsilon * (np.abs(np.linalg.pinv(A) @ x) + 1)  # peer: NumPy's pseudo-inverse
    Hn = hessian.numpy()
    f = lambda w: 0.5 * (w - c) @ Hn @ (w - c)  # noqa: E731
    best = max(f(x + A @ (np.array(s) * bound)) for s in itertools.product((-1, 1), repeat=p))
    expected = 100 * (best - f(x)) / (1 + f(x))
    phi = K.epsilon_sharpness(model, torch.as_tensor(X), t, epsilon=epsilon, subspace_dim=p, loss="mse", seed=11)
    assert phi == pytest.approx(expected, rel=1e-6)


def test_epsilon_sharpness_of_a_flat_loss_is_zero_and_grows_with_the_box(quadratic_model):
    model, X, t = quadratic_model([0.0, 0.0, 0.0])
    assert K.epsilon_sharpness(model, X, t, epsilon=1e-3, loss="mse") == pytest.approx(0.0, abs=1e-12)
    model, X, t = quadratic_model([5.0, 1.0])
    small, large = (K.epsilon_sharpness(model, X, t, epsilon=e, loss="mse") for e in (5e-4, 1e-3))
    assert large == pytest.approx(4 * small, rel=1e-6)  # quadratic in eps at a minimum


def test_epsilon_sharpness_of_a_float32_network_matches_its_float64_twin():
    # The search runs in the weights' own dtype; a float32 network gives its float64 twin's number.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    x, y = torch.randn(12, 4), torch.randint(0, 3, (12,))
    phi32 = K.epsilon_sharpness(net, x, y, epsilon=1e-2, seed=0)
    phi64 = K.epsilon_sharpness(net.double(), x.double(), y, epsilon=1e-2, seed=0)
    assert phi32 == pytest.approx(phi64, rel=1e-3)


def test_sharpness_box_full_space_and_subspace():
    w = torch.tensor([0.0, -2.0, 3.0], dtype=torch.float64)
    assert torch.allclose(K.sharpness_box(w, 1e-3), torch.tensor([1e-3, 3e-3, 4e-3], dtype=torch.float64))
    A = K.random_subspace(3, 2, seed=0)
    expected = 1e-3 * (np.abs(np.linalg.pinv(A.numpy()) @ w.numpy()) + 1)
    assert np.allclose(K.sharpness_box(w, 1e-3, A).numpy(), expected)


def test_the_report_holds_every_measure_under_keskars_names(quadratic_model):
    model, X, t = quadratic_model([4.0, 2.0, 1.0, 0.25])
    report = K.sharpness_report(model, X, t, loss="mse", subspace_dim=2, iterations=30, samples=1)
    assert list(report) == ["top_eigenvalue", "trace", "keskar_full_1e-03", "keskar_full_5e-04",
                            "keskar_sub2_1e-03", "keskar_sub2_5e-04"]
    assert report["top_eigenvalue"] == pytest.approx(4.0, rel=1e-6)
    assert report["trace"] == pytest.approx(7.25, rel=1e-12)
    assert report["keskar_full_1e-03"] == pytest.approx(100 * 1e-3 ** 2 / 2 * 7.25, rel=1e-6)
    assert K.keskar_key(5e-4, 100) == "keskar_sub100_5e-04"


def no_parameters():
    return nn.Sequential(nn.Identity())


X3 = torch.zeros(2, 3)
Y3 = torch.tensor([0, 1])


@pytest.mark.parametrize("call, error, message", [
    (lambda: K.epsilon_sharpness(no_parameters(), X3, Y3), ValueError, "no parameters"),
    (lambda: K.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, epsilon=0.0), ValueError,
     "epsilon must be a finite number > 0"),
    (lambda: K.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, epsilon=-1e-3), ValueError,
     "epsilon must be a finite number > 0"),
    (lambda: K.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, epsilon=math.nan), ValueError,
     "epsilon must be a finite number > 0"),
    (lambda: K.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, subspace_dim=9), ValueError,
     "subspace_dim must be an int between 1 and 8"),
    (lambda: K.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, subspace_dim=0), ValueError,
     "subspace_dim must be an int between 1 and 8"),
    (lambda: K.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, iterations=0), ValueError,
     "iterations must be an int >= 1"),
    (lambda: K.random_subspace(5, 6), ValueError, "dimension must be an int between 1 and 5"),
    (lambda: K.sharpness_box(torch.zeros(3), 0), ValueError, "epsilon must be a finite number > 0"),
    (lambda: K.sharpness_report(nn.Linear(3, 2), X3, Y3, epsilons=[]), ValueError,
     "epsilons must hold at least 1"),
    (lambda: K.sharpness_report(nn.Linear(3, 2), X3, Y3, epsilons=1e-3), TypeError,
     "epsilons must be a list of finite numbers > 0"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
