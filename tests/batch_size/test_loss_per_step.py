"""The best decrease of one step against the batch size, against independent truth.

* the losses along a step against a copy of the network moved by hand (both code paths);
* the peak reader and the saturating fit against exact parabolas and exact laws;
* the whole measurement on a linear regression, whose loss is exactly quadratic: the fitted
  B_noise, Delta L_max and eps_max against tr(H Sigma)/G^T H G, |G|^4/(2 G^T H G) and
  |G|^2/G^T H G computed with NumPy from the per-example gradients of the finite data set;
* B_simple with an exact G against NumPy's tr(Sigma)/|G|^2; the agreement words; bad input.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from lib.batch_size import loss_per_step as lps
from lib.core import losses
from lib.core.models import textbook_mlp


class Branches(nn.Module):
    """A model that is not an nn.Sequential (the general path)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(784, 8)
        self.b = nn.Linear(8, 10)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


@pytest.mark.parametrize("make", [lambda: textbook_mlp(2), Branches], ids=["first-linear", "general"])
def test_losses_along_a_direction_match_the_network_moved_by_hand(make):
    torch.manual_seed(0)
    model = make()
    x, y = torch.rand(64, 784), torch.randint(0, 10, (64,))
    params = {k: v.detach() for k, v in model.named_parameters()}
    direction = {k: torch.randn_like(v) for k, v in params.items()}
    rates = torch.tensor([0.0, 0.01, 0.3, 2.0])
    got = lps.losses_along(model, params, direction, rates, x, y, losses.get("cross_entropy").mean)
    for rate, value in zip(rates, got):
        moved = copy.deepcopy(model)
        with torch.no_grad():
            for name, p in moved.named_parameters():
                p -= rate * direction[name]
        with torch.no_grad():
            expected = nn.functional.cross_entropy(moved(x), y)
        assert float(value) == pytest.approx(float(expected), rel=1e-5, abs=1e-6)


def test_read_peak_finds_the_vertex_of_a_parabola_and_flags_the_edge():
    rates = np.geomspace(0.01, 1, 15)
    best, rate, edge = lps.read_peak(rates, 2.0 * rates - 5.0 * rates ** 2)     # vertex 0.2, value 0.2
    assert rate == pytest.approx(0.2, rel=1e-9) and best == pytest.approx(0.2, rel=1e-9) and not edge
    _, rate, edge = lps.read_peak(rates, rates)                                   # still rising at the end
    assert edge and rate == rates[-1]


@pytest.mark.parametrize("kwargs, error", [
    (dict(rates=[1, 2, 3, 4], decrease=[1, 2, 3, 4]), ValueError),               # fewer than the window
    (dict(rates=[1, 2, 3, 4, 5], decrease=[1, 2, 3, 4]), ValueError),
    (dict(rates=[1, 2, 3, 5, 4], decrease=[1, 2, 3, 4, 5]), ValueError),         # not increasing
    (dict(rates=[1, 2, 3, 4, 5], decrease=[1, 2, np.nan, 4, 5]), ValueError),
    (dict(rates=[1, 2, 3, 4, 5], decrease=[1, 2, 3, 4, 5], window=4), ValueError),
    (dict(rates=[1, 2, 3, 4, 5], decrease=[1, 2, 3, 4, 5], window=3.0), TypeError),
])
def test_read_peak_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        lps.read_peak(**kwargs)


def test_the_saturating_fit_recovers_an_exact_law_with_and_without_weights():
    b = np.array([8, 16, 32, 64, 128, 256, 512, 1024])
    values = 0.03 / (1 + 120.0 / b)
    for weights in (None, np.linspace(1, 9, b.size)):
        top, noise = lps.fit_saturating(b, values, weights)
        assert top == pytest.approx(0.03, rel=1e-6) and noise == pytest.approx(120.0, rel=1e-6)
    fit = lps.fit_best_decrease(b, values)
    assert fit(b) == pytest.approx(values, rel=1e-6)
    rate_fit = lps.fit_best_rate(b, 0.4 / (1 + 50.0 / b))
    assert (rate_fit.eps_max, rate_fit.b_noise) == pytest.approx((0.4, 50.0), rel=1e-6)


@pytest.mark.parametrize("args, error", [
    (([8, 16], [1.0, 2.0]), ValueError),                  # two points, two parameters
    (([8, 16, 32], [1.0, -2.0, 3.0]), ValueError),
    (([8, 32, 16], [1.0, 2.0, 3.0]), ValueError),
    (([8, 16, 32], [1.0, 2.0]), ValueError),
    (([8, 16, 32], [1.0, 2.0, 3.0], [1.0, 1.0]), ValueError),
    (([8, 16, 32], [1.0, 2.0, 3.0], [1.0, 0.0, 1.0]), ValueError),
    (("8 16 32", [1.0, 2.0, 3.0]), TypeError),
])
def test_the_saturating_fit_rejects_bad_input(args, error):
    with pytest.raises(error):
        lps.fit_saturating(*args)


# --------------------------------------------------------------------------- a noisy quadratic with known answers

@pytest.fixture(scope="module")
def regression():
    """A linear regression on a finite data set: its loss (w^T x - y)^2 averaged is exactly quadratic."""
    g = torch.Generator().manual_seed(11)
    d, n = 6, 4000
    scales = torch.linspace(0.5, 2.0, d, dtype=torch.float64)
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * scales
    w_star = torch.randn(d, generator=g, dtype=torch.float64)
    y = (x @ w_star + 0.5 * torch.randn(n, generator=g, dtype=torch.float64))[:, None]
    model = nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_((w_star + 0.4 * torch.randn(d, generator=g, dtype=torch.float64))[None])
    # the truth, with NumPy: per-example gradients g_i = 2 x_i r_i, batches drawn with replacement
    X, Y, w = x.numpy(), y.numpy()[:, 0], model.weight.detach().numpy()[0]
    r = X @ w - Y
    per_example = 2 * X * r[:, None]
    G = per_example.mean(0)
    Sigma = per_example.T @ per_example / n - np.outer(G, G)
    H = 2 * X.T @ X / n
    GHG = G @ H @ G
    truth = dict(b_noise=np.trace(H @ Sigma) / GHG, delta_max=(G @ G) ** 2 / (2 * GHG), eps_max=(G @ G) / GHG,
                 b_simple=np.trace(Sigma) / (G @ G))
    return model, x, y, truth


def test_the_fitted_noise_scale_of_a_quadratic_is_tr_h_sigma_over_g_h_g(regression):
    model, x, y, truth = regression
    b_noise, eps_max = truth["b_noise"], truth["eps_max"]
    sizes = [int(s) for s in np.unique(np.geomspace(b_noise / 8, b_noise * 8, 7).round())]
    rates = np.geomspace(eps_max / 40, eps_max * 2, 40)
    measured = lps.step_decreases(model, x, y, batch_sizes=sizes, rates=rates, draws=400, loss="mse", seed=1)
    result = lps.analyse(measured, resamples=100, seed=2)
    assert not result.at_edge.any()
    assert result.fit.b_noise == pytest.approx(b_noise, rel=0.15)
    assert result.fit.delta_max == pytest.approx(truth["delta_max"], rel=0.05)
    assert result.rate_fit.eps_max == pytest.approx(eps_max, rel=0.05)
    assert result.rate_fit.b_noise == pytest.approx(b_noise, rel=0.15)
    low, high = result.interval("b_noise")
    assert low < b_noise < high
    exact = truth["delta_max"] / (1 + b_noise / np.array(sizes))          # the true best decrease at each B
    assert result.decrease_interval.shape == result.rate_interval.shape == (2, len(sizes))
    inside = (result.decrease_interval[0] <= exact) & (exact <= result.decrease_interval[1])
    assert inside.sum() >= len(sizes) - 1
    assert measured.g_squared == pytest.approx(truth["delta_max"] * 2 / eps_max, rel=1e-9)   # |G|^2, exactly


def test_simple_noise_scale_with_an_exact_g_is_numpys_trace_over_norm(regression):
    model, x, y, truth = regression
    result = lps.simple_noise_scale(model, x, y, loss="mse", parts=8)
    assert result.b_simple == pytest.approx(truth["b_simple"], rel=1e-9)
    assert result.parts.mean() == pytest.approx(truth["b_simple"], rel=1e-9)     # equal parts: mean = pooled
    assert result.low < truth["b_simple"] < result.high


def test_agreement_words():
    assert lps.agreement(100, (80, 120), 110, (105, 130)) == lps.AGREEMENT[0]
    assert lps.agreement(100, (90, 110), 180, (170, 190)) == lps.AGREEMENT[1]
    assert lps.agreement(100, (90, 110), 250, (240, 260)) == lps.AGREEMENT[2]
    with pytest.raises(ValueError):
        lps.agreement(100, (120, 80), 110, (105, 130))
    with pytest.raises(ValueError):
        lps.agreement(-1, (80, 120), 110, (105, 130))
    with pytest.raises(TypeError):
        lps.agreement("100", (80, 120), 110, (105, 130))


@pytest.mark.parametrize("kwargs, error", [
    (dict(batch_sizes=[16, 8, 32]), ValueError),
    (dict(batch_sizes=[16, 32, 100_000]), ValueError),
    (dict(rates=[0.1, 0.2, 0.3, 0.4]), ValueError),
    (dict(rates=[0.1, 0.3, 0.2, 0.4, 0.5]), ValueError),
    (dict(draws=1), ValueError),
    (dict(draws=2.5), TypeError),
    (dict(loss="hinge"), ValueError),
])
def test_step_decreases_rejects_bad_input(kwargs, error):
    model = textbook_mlp(0)
    x, y = torch.rand(64, 784), torch.randint(0, 10, (64,))
    arguments = dict(batch_sizes=[8, 16, 32], rates=[0.1, 0.2, 0.3, 0.4, 0.5], draws=2) | kwargs
    with pytest.raises(error):
        lps.step_decreases(model, x, y, **arguments)


def test_analyse_rejects_bad_input():
    with pytest.raises(TypeError):
        lps.analyse("decreases")
    measured = lps.StepDecreases(np.array([8.0, 16, 32]), np.linspace(0.1, 0.5, 5), -np.ones((3, 2, 5)), 1.0, 64, 1.0)
    with pytest.raises(ValueError, match="not > 0"):
        lps.analyse(measured)
    with pytest.raises(ValueError):
        lps.analyse(measured, resamples=5)
