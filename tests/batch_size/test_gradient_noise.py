"""The gradient noise scale's pieces against known truth.

* per-example gradients against one plain ``torch.autograd`` backward pass per example;
* the per-example statistics against NumPy's unbiased variances;
* McCandlish et al.'s two-batch estimators and optimal step against their defining equations
  and a numerical minimisation.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import optimize
from torch import nn

from lib.batch_size import gradient_noise
from lib.core import stats
from lib.core.models import textbook_mlp


@pytest.fixture(scope="module")
def small_batch():
    g = torch.Generator().manual_seed(3)
    return torch.rand(12, 784, generator=g), torch.randint(0, 10, (12,), generator=g)


def autograd_gradient(model, x, y):
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


# --------------------------------------------------------------------------- gradients

def test_per_example_gradients_match_one_backward_pass_per_example(small_batch):
    x, y = small_batch
    model = textbook_mlp(1)
    expected = torch.stack([autograd_gradient(model, x[i:i + 1], y[i:i + 1]) for i in range(len(x))])
    got = gradient_noise.per_example_gradients(model, x, y)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_batch_gradient_matches_autograd_and_the_mean_of_per_example_gradients(small_batch):
    x, y = small_batch
    model = textbook_mlp(2)
    batch = gradient_noise.batch_gradient(model, x, y)
    assert torch.allclose(batch, autograd_gradient(model, x, y), rtol=1e-4, atol=1e-6)
    assert torch.allclose(batch, gradient_noise.per_example_gradients(model, x, y).mean(0), rtol=1e-4, atol=1e-6)


def test_params_replace_the_models_own_weights_without_touching_them(small_batch):
    x, y = small_batch
    model, other = textbook_mlp(0), textbook_mlp(5)
    before = [p.detach().clone() for p in model.parameters()]
    params = {name: p.detach() for name, p in other.named_parameters()}
    assert torch.allclose(gradient_noise.batch_gradient(model, x, y, params=params),
                          autograd_gradient(other, x, y), rtol=1e-4, atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_per_example_statistics_are_the_textbook_unbiased_estimators(small_batch):
    x, y = small_batch
    model = textbook_mlp(4)
    g = gradient_noise.per_example_gradients(model, x, y).double().numpy()
    n = len(g)
    trace = np.var(g, axis=0, ddof=1).sum()                    # sum of unbiased per-coordinate variances
    statistics = gradient_noise.per_example_statistics(model, x, y, chunk=5)   # chunks of 5, 5 and 2
    assert statistics.trace_sigma == pytest.approx(trace, rel=1e-5)
    assert statistics.g_squared == pytest.approx(g.mean(0) @ g.mean(0) - trace / n, rel=1e-4)
    losses = [nn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).item() for i in range(n)]
    assert statistics.loss == pytest.approx(np.mean(losses), rel=1e-5)
    # with the true mean gradient known, tr Sigma = E|g|^2 - |G|^2
    full = torch.as_tensor(g.mean(0), dtype=torch.float32)
    known = gradient_noise.per_example_statistics(model, x, y, mean_gradient=full)
    assert known.g_squared == pytest.approx(g.mean(0) @ g.mean(0), rel=1e-5)
    assert known.trace_sigma == pytest.approx((g * g).sum(1).mean() - g.mean(0) @ g.mean(0), rel=1e-4)


# --------------------------------------------------------------------------- McCandlish et al.'s formulas

def test_two_batch_estimates_invert_the_expected_norms():
    g_squared, trace, small, big = 2.5, 400.0, 16, 512
    expected_small = g_squared + trace / small       # E|G_B|^2 = |G|^2 + tr(Sigma)/B
    expected_big = g_squared + trace / big
    got_g, got_trace = gradient_noise.two_batch_estimates([expected_small], [expected_big], small, big)
    assert got_g[0] == pytest.approx(g_squared)
    assert got_trace[0] == pytest.approx(trace)


def test_ema_is_debiased_and_matches_a_hand_computation():
    # the moving average the two-batch estimates are smoothed with (lib.core.stats.ema)
    # beta = 0.5 on [1, 2, 3]: m = 0.5, 1.25, 2.125; divided by 0.5, 0.75, 0.875
    assert np.allclose(stats.ema([1.0, 2.0, 3.0], 0.5), [1.0, 1.25 / 0.75, 2.125 / 0.875])
    assert np.allclose(stats.ema(np.full(50, 7.0), 0.99), 7.0)
    assert np.allclose(stats.ema([3.0, -1.0, 4.0], 0.0), [3.0, -1.0, 4.0])


def test_smoothed_b_simple_takes_the_ratio_after_smoothing():
    g_squared = np.array([1.0, -0.5, 2.0])        # one negative estimate, as happens
    trace = np.array([10.0, 30.0, 20.0])
    ratio = gradient_noise.smoothed_b_simple(g_squared, trace, 0.0)
    assert np.isnan(ratio[1]) and ratio[0] == 10.0 and ratio[2] == 10.0
    smoothed = gradient_noise.smoothed_b_simple(g_squared, trace, 0.5)
    assert smoothed[-1] == pytest.approx(stats.ema(trace, 0.5)[-1] / stats.ema(g_squared, 0.5)[-1])


def test_optimal_step_minimises_the_expected_loss_of_one_noisy_step():
    # Quadratic L(w) = h/2 |w|^2 in d dims, per-example gradient noise with covariance s^2 I:
    # E L(w - eps G_B) = h/2 (|w - eps h w|^2 + eps^2 d s^2 / B).  Minimise numerically.
    h, s, d = 2.0, 3.0, 5
    w = np.full(d, 0.4)
    G = h * w
    eps_max = (G @ G) / (h * G @ G)                       # |G|^2 / G^T H G
    b_noise = (h * d * s**2) / (h * G @ G)                # tr(H Sigma) / G^T H G
    for batch in (1, 4, 37, 1000):
        def expected(eps):
            return 0.5 * h * (np.sum((w - eps * G) ** 2) + eps**2 * d * s**2 / batch)
        best = optimize.minimize_scalar(expected, bounds=(0, 10), method="bounded", options={"xatol": 1e-10}).x
        assert gradient_noise.optimal_step(batch, eps_max, b_noise) == pytest.approx(best, rel=1e-6)


def test_optimal_step_limits():
    assert gradient_noise.optimal_step(1e9, 2.0, 100.0) == pytest.approx(2.0, rel=1e-6)
    assert gradient_noise.optimal_step(100.0, 2.0, 100.0) == pytest.approx(1.0)
    assert gradient_noise.optimal_step(0.01, 2.0, 100.0) == pytest.approx(2.0 * 0.01 / 100.0, rel=1e-3)
    assert np.allclose(gradient_noise.optimal_step(np.array([100.0, 300.0]), 2.0, 100.0), [1.0, 1.5])


# --------------------------------------------------------------------------- bad input

BAD_CALLS = [
    (lambda m, x, y: gradient_noise.two_batch_estimates([1.0], [1.0], 64, 64), ValueError, "smaller than b_big"),
    (lambda m, x, y: gradient_noise.two_batch_estimates([1.0], [1.0], 0, 64), ValueError, ">= 1"),
    (lambda m, x, y: gradient_noise.two_batch_estimates([1.0, 2.0], [1.0], 8, 64), ValueError, "equally long"),
    (lambda m, x, y: gradient_noise.two_batch_estimates([-1.0], [1.0], 8, 64), ValueError, ">= 0"),
    (lambda m, x, y: gradient_noise.two_batch_estimates([1.0], [1.0], 8.0, 64), TypeError, "int"),
    (lambda m, x, y: gradient_noise.smoothed_b_simple([1.0], [1.0], 1.0), ValueError, r"decay must be .*\[0, 1\)"),
    (lambda m, x, y: gradient_noise.smoothed_b_simple([], [], 0.5), ValueError, "non-empty"),
    (lambda m, x, y: gradient_noise.smoothed_b_simple([1.0, 2.0], [1.0], 0.5), ValueError, "equally long"),
    (lambda m, x, y: gradient_noise.optimal_step(10, 0.0, 5.0), ValueError, "eps_max"),
    (lambda m, x, y: gradient_noise.optimal_step(10, 1.0, -5.0), ValueError, "b_noise"),
    (lambda m, x, y: gradient_noise.optimal_step(-1, 1.0, 5.0), ValueError, "batch_size must be"),
    (lambda m, x, y: gradient_noise.per_example_gradients(m, x, y, loss="hinge"), ValueError, "unknown loss"),
    (lambda m, x, y: gradient_noise.per_example_gradients("model", x, y), TypeError, "nn.Module"),
    (lambda m, x, y: gradient_noise.per_example_gradients(m, x, y[:3]), ValueError, "same number"),
    (lambda m, x, y: gradient_noise.batch_gradient(m, x.numpy(), y), TypeError, "x must be a torch.Tensor"),
    (lambda m, x, y: gradient_noise.per_example_statistics(m, x[:1], y[:1]), ValueError, r"\(>= 2\) of examples"),
    (lambda m, x, y: gradient_noise.per_example_statistics(m, x, y, mean_gradient=torch.zeros(3)),
     ValueError, "flat tensor"),
    (lambda m, x, y: gradient_noise.per_example_statistics(m, x, y, chunk=0), ValueError, "chunk"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(small_batch, call, error, message):
    x, y = small_batch
    with pytest.raises(error, match=message):
        call(textbook_mlp(0), x, y)
