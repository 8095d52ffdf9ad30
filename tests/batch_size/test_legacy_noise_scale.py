"""The gradient noise scale against known truth.

* the closed form for a linear regression with Gaussian inputs against a brute-force
  Monte Carlo average in NumPy (no torch, no lib code in the loop);
* both estimators against that closed form, within 10 %;
* per-example gradients against one plain ``torch.autograd`` backward pass per example;
* McCandlish et al.'s estimators and optimal step against their defining equations
  and a numerical minimisation.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import optimize
from torch import nn

from lib import noise_scale
from lib.data import Splits
from lib.models import textbook_mlp
from lib.train import Member, train_grid


# --------------------------------------------------------------------------- the synthetic ground truth

def test_linear_regression_moments_match_a_brute_force_monte_carlo_average():
    rng = np.random.default_rng(7)
    d, n, noise = 4, 1_000_000, 0.7
    cov = np.diag([0.5, 1.0, 1.5, 3.0])
    w_star = np.array([1.0, -2.0, 0.5, 0.0])
    w = np.array([0.3, -1.0, 1.5, 0.8])
    x = rng.standard_normal((n, d)) * np.sqrt(np.diag(cov))
    y = x @ w_star + noise * rng.standard_normal(n)
    g = 2.0 * (x @ w - y)[:, None] * x                      # gradient of (w.x - y)^2, example by example
    gradient, sigma = noise_scale.linear_regression_moments(w, w_star, cov, noise)
    assert np.allclose(g.mean(0), gradient, rtol=0.02, atol=0.02)
    empirical = np.cov(g, rowvar=False)
    assert np.linalg.norm(empirical - sigma) / np.linalg.norm(sigma) < 0.02
    assert abs(np.trace(empirical) / np.trace(sigma) - 1) < 0.01


def test_b_simple_closed_form_on_an_isotropic_example():
    # C = I, sigma = 0, delta = e_1 in d dimensions: G = 2 e_1, Sigma = 4 (I + e_1 e_1^T),
    # so tr Sigma = 4 (d + 1) and |G|^2 = 4: B_simple = d + 1.
    d = 6
    delta = np.eye(d)[0]
    gradient, sigma = noise_scale.linear_regression_moments(delta, np.zeros(d), np.eye(d), 0.0)
    assert np.trace(sigma) / (gradient @ gradient) == pytest.approx(d + 1)


def test_both_estimators_recover_the_exact_noise_scale_within_ten_percent():
    check = noise_scale.synthetic_check()
    for estimator, errors in check.relative_errors().items():
        for quantity, error in errors.items():
            assert error < 0.10, (estimator, quantity, error)
    assert check.worst_error < 0.10
    # the truth is what the closed form says, independent of the estimators
    assert check.exact.b_simple == pytest.approx(check.exact.trace_sigma / check.exact.g_squared)


# --------------------------------------------------------------------------- gradients

@pytest.fixture(scope="module")
def small_batch():
    g = torch.Generator().manual_seed(3)
    return torch.rand(12, 784, generator=g), torch.randint(0, 10, (12,), generator=g)


def autograd_gradient(model, x, y):
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


def test_per_example_gradients_match_one_backward_pass_per_example(small_batch):
    x, y = small_batch
    model = textbook_mlp(1)
    expected = torch.stack([autograd_gradient(model, x[i:i + 1], y[i:i + 1]) for i in range(len(x))])
    got = noise_scale.per_example_gradients(model, x, y)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_batch_gradient_matches_autograd_and_the_mean_of_per_example_gradients(small_batch):
    x, y = small_batch
    model = textbook_mlp(2)
    batch = noise_scale.batch_gradient(model, x, y)
    assert torch.allclose(batch, autograd_gradient(model, x, y), rtol=1e-4, atol=1e-6)
    assert torch.allclose(batch, noise_scale.per_example_gradients(model, x, y).mean(0), rtol=1e-4, atol=1e-6)


def test_params_replace_the_models_own_weights_without_touching_them(small_batch):
    x, y = small_batch
    model, other = textbook_mlp(0), textbook_mlp(5)
    before = [p.detach().clone() for p in model.parameters()]
    params = {name: p.detach() for name, p in other.named_parameters()}
    assert torch.allclose(noise_scale.batch_gradient(model, x, y, params=params),
                          autograd_gradient(other, x, y), rtol=1e-4, atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_per_example_statistics_are_the_textbook_unbiased_estimators(small_batch):
    x, y = small_batch
    model = textbook_mlp(4)
    g = noise_scale.per_example_gradients(model, x, y).double().numpy()
    n = len(g)
    trace = np.var(g, axis=0, ddof=1).sum()                    # sum of unbiased per-coordinate variances
    stats = noise_scale.per_example_statistics(model, x, y, chunk=5)   # chunks of 5, 5 and 2
    assert stats.trace_sigma == pytest.approx(trace, rel=1e-5)
    assert stats.g_squared == pytest.approx(g.mean(0) @ g.mean(0) - trace / n, rel=1e-4)
    losses = [nn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).item() for i in range(n)]
    assert stats.loss == pytest.approx(np.mean(losses), rel=1e-5)
    # with the true mean gradient known, tr Sigma = E|g|^2 - |G|^2
    full = torch.as_tensor(g.mean(0), dtype=torch.float32)
    known = noise_scale.per_example_statistics(model, x, y, mean_gradient=full)
    assert known.g_squared == pytest.approx(g.mean(0) @ g.mean(0), rel=1e-5)
    assert known.trace_sigma == pytest.approx((g * g).sum(1).mean() - g.mean(0) @ g.mean(0), rel=1e-4)


# --------------------------------------------------------------------------- McCandlish et al.'s formulas

def test_two_batch_estimates_invert_the_expected_norms():
    g_squared, trace, small, big = 2.5, 400.0, 16, 512
    expected_small = g_squared + trace / small       # E|G_B|^2 = |G|^2 + tr(Sigma)/B
    expected_big = g_squared + trace / big
    got_g, got_trace = noise_scale.two_batch_estimates([expected_small], [expected_big], small, big)
    assert got_g[0] == pytest.approx(g_squared)
    assert got_trace[0] == pytest.approx(trace)


def test_ema_is_debiased_and_matches_a_hand_computation():
    # beta = 0.5 on [1, 2, 3]: m = 0.5, 1.25, 2.125; divided by 0.5, 0.75, 0.875
    assert np.allclose(noise_scale.ema([1.0, 2.0, 3.0], 0.5), [1.0, 1.25 / 0.75, 2.125 / 0.875])
    assert np.allclose(noise_scale.ema(np.full(50, 7.0), 0.99), 7.0)
    assert np.allclose(noise_scale.ema([3.0, -1.0, 4.0], 0.0), [3.0, -1.0, 4.0])


def test_smoothed_noise_scale_takes_the_ratio_after_smoothing():
    g_squared = np.array([1.0, -0.5, 2.0])        # one negative estimate, as happens
    trace = np.array([10.0, 30.0, 20.0])
    ratio = noise_scale.smoothed_noise_scale(g_squared, trace, 0.0)
    assert np.isnan(ratio[1]) and ratio[0] == 10.0 and ratio[2] == 10.0
    smoothed = noise_scale.smoothed_noise_scale(g_squared, trace, 0.5)
    assert smoothed[-1] == pytest.approx(noise_scale.ema(trace, 0.5)[-1] / noise_scale.ema(g_squared, 0.5)[-1])


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
        assert noise_scale.optimal_step(batch, eps_max, b_noise) == pytest.approx(best, rel=1e-6)


def test_optimal_step_limits():
    assert noise_scale.optimal_step(1e9, 2.0, 100.0) == pytest.approx(2.0, rel=1e-6)
    assert noise_scale.optimal_step(100.0, 2.0, 100.0) == pytest.approx(1.0)
    assert noise_scale.optimal_step(0.01, 2.0, 100.0) == pytest.approx(2.0 * 0.01 / 100.0, rel=1e-3)
    assert np.allclose(noise_scale.optimal_step(np.array([100.0, 300.0]), 2.0, 100.0), [1.0, 1.5])


# --------------------------------------------------------------------------- tracking during training

@pytest.fixture(scope="module")
def toy():
    g = torch.Generator().manual_seed(11)
    x = torch.rand(300, 784, generator=g)
    teacher = torch.randn(784, 10, generator=g)
    y = (x @ teacher).argmax(1)
    return Splits(x[:256], y[:256], x[256:], y[256:])


def test_tracker_measures_without_changing_training(toy):
    members = [Member(lr=0.5), Member(lr=0.2, init_seed=1)]
    plain = train_grid(members, toy, batch_size=16, epochs=2, eval_every=1.0, progress=False)
    tracker = noise_scale.NoiseScaleTracker(toy, member=1, b_small=8, b_big=64, every=4,
                                            checkpoints=[5, 32], exact_examples=40, fixed_draws=400)
    tracked = train_grid(members, toy, batch_size=16, epochs=2, eval_every=1.0, progress=False, on_step=tracker)
    assert np.array_equal(plain.history.step_loss, tracked.history.step_loss)
    trace = tracker.trace
    assert trace.steps.tolist() == list(range(4, 33, 4))
    assert trace.checkpoints.tolist() == [5, 32]
    # after the last update the tracker saw member 1's final weights: recompute independently
    final = tracked.model(1)
    full = noise_scale.batch_gradient(final, toy.x_train, toy.y_train)
    again = noise_scale.per_example_statistics(final, tracker.x_exact, tracker.y_exact, mean_gradient=full)
    assert trace.per_example[-1].b_simple == pytest.approx(again.b_simple, rel=1e-4)
    assert trace.per_example[-1].g_squared == pytest.approx(float(full.double().pow(2).sum()), rel=1e-4)
    # at the same weights the averaged two-batch estimate of |G|^2 agrees with the exact one (early, where
    # |G|^2 is large next to the noise of a batch of 64: B_simple is about 25 there)
    assert trace.per_example[0].b_simple < 50
    assert trace.fixed_two_batch[0].g_squared == pytest.approx(trace.per_example[0].g_squared, rel=0.1)
    assert trace.two_batch_at(32) == pytest.approx(trace.two_batch_b_simple()[-1])
    assert trace.two_batch_at(31) == pytest.approx(trace.two_batch_b_simple()[-1])      # nearest measurement
    assert len(trace.checkpoint_loss) == 2 and np.isfinite(trace.checkpoint_loss).all()


# --------------------------------------------------------------------------- bad input

def test_tracker_refuses_a_member_the_grid_does_not_have(toy):
    tracker = noise_scale.NoiseScaleTracker(toy, member=3, b_small=8, b_big=64, every=1, exact_examples=8)
    with pytest.raises(ValueError, match="member=3"):
        train_grid([Member(lr=0.1)], toy, batch_size=64, epochs=1, progress=False, on_step=tracker)


BAD_CALLS = [
    (lambda toy, m, x, y: noise_scale.two_batch_estimates([1.0], [1.0], 64, 64), ValueError, "smaller than b_big"),
    (lambda toy, m, x, y: noise_scale.two_batch_estimates([1.0], [1.0], 0, 64), ValueError, ">= 1"),
    (lambda toy, m, x, y: noise_scale.two_batch_estimates([1.0, 2.0], [1.0], 8, 64), ValueError, "equally long"),
    (lambda toy, m, x, y: noise_scale.two_batch_estimates([-1.0], [1.0], 8, 64), ValueError, ">= 0"),
    (lambda toy, m, x, y: noise_scale.two_batch_estimates([1.0], [1.0], 8.0, 64), TypeError, "int"),
    (lambda toy, m, x, y: noise_scale.ema([1.0], 1.0), ValueError, r"\[0, 1\)"),
    (lambda toy, m, x, y: noise_scale.ema([], 0.5), ValueError, "non-empty"),
    (lambda toy, m, x, y: noise_scale.optimal_step(10, 0.0, 5.0), ValueError, "eps_max"),
    (lambda toy, m, x, y: noise_scale.optimal_step(10, 1.0, -5.0), ValueError, "b_noise"),
    (lambda toy, m, x, y: noise_scale.optimal_step(-1, 1.0, 5.0), ValueError, "batch sizes"),
    (lambda toy, m, x, y: noise_scale.per_example_gradients(m, x, y, loss="hinge"), ValueError, "unknown loss"),
    (lambda toy, m, x, y: noise_scale.per_example_gradients("model", x, y), TypeError, "nn.Module"),
    (lambda toy, m, x, y: noise_scale.per_example_gradients(m, x, y[:3]), ValueError, "same number"),
    (lambda toy, m, x, y: noise_scale.per_example_statistics(m, x[:1], y[:1]), ValueError, "at least 2"),
    (lambda toy, m, x, y: noise_scale.per_example_statistics(m, x, y, mean_gradient=torch.zeros(3)),
     ValueError, "flat tensor"),
    (lambda toy, m, x, y: noise_scale.NoiseScaleTracker(toy, b_small=64, b_big=32), ValueError, "smaller"),
    (lambda toy, m, x, y: noise_scale.NoiseScaleTracker(toy, b_small=8, b_big=1000), ValueError,
     "larger than the 256"),
    (lambda toy, m, x, y: noise_scale.NoiseScaleTracker(toy, b_small=8, b_big=64, exact_examples=999),
     ValueError, "exact_examples"),
    (lambda toy, m, x, y: noise_scale.NoiseScaleTracker(toy, b_small=8, b_big=64, checkpoints=[0], exact_examples=8),
     ValueError, ">= 1"),
    (lambda toy, m, x, y: noise_scale.NoiseScaleTracker(x, b_small=8, b_big=64), TypeError, "Splits"),
    (lambda toy, m, x, y: noise_scale.NoiseScaleTracker(toy, b_small=8, b_big=64, exact_examples=8, fixed_draws=0),
     ValueError, "fixed_draws"),
    (lambda toy, m, x, y: noise_scale.NoiseScaleTracker(toy, b_small=8, b_big=64, exact_examples=8).trace, ValueError,
     "nothing measured"),
    (lambda toy, m, x, y: noise_scale.linear_regression_moments([1.0], [1.0, 2.0], np.eye(2), 0.1),
     ValueError, "same length"),
    (lambda toy, m, x, y: noise_scale.linear_regression_moments([1.0, 0.0], [0.0, 0.0], -np.eye(2), 0.1),
     ValueError, "positive definite"),
    (lambda toy, m, x, y: noise_scale.linear_regression_moments([1.0, 0.0], [0.0, 0.0], np.eye(2), -1),
     ValueError, "noise_std"),
    (lambda toy, m, x, y: noise_scale.synthetic_check(draws=0), ValueError, "draws"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(toy, small_batch, call, error, message):
    x, y = small_batch
    with pytest.raises(error, match=message):
        call(toy, textbook_mlp(0), x, y)
