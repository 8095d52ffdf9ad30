"""Crossing times against power laws, McCandlish et al.'s fits against data generated from their own formulas."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lib.batch_size import critical_batch
from lib.batch_size.gradient_noise import optimal_step


def test_steps_examples_fit_recovers_known_parameters():
    s_min, e_min = 120.0, 9000.0
    b = np.array([8, 16, 32, 64, 128, 256, 512, 1024], dtype=float)
    steps = s_min + e_min / b                   # (S/S_min - 1)(E/E_min - 1) = 1 with E = B S
    fit = critical_batch.fit_steps_examples(b, steps)
    assert fit.s_min == pytest.approx(s_min, rel=1e-6)
    assert fit.e_min == pytest.approx(e_min, rel=1e-6)
    assert fit.b_crit == pytest.approx(75.0, rel=1e-6)
    assert np.allclose(fit.residual(steps, b * steps), 0, atol=1e-6)
    assert np.allclose(fit.examples(b), b * fit.steps(b))
    noisy = steps * np.exp(np.random.default_rng(0).normal(0, 0.03, b.size))
    assert critical_batch.fit_steps_examples(b, noisy).b_crit == pytest.approx(75.0, rel=0.2)


def test_optimal_step_fit_recovers_known_parameters():
    b = np.array([16, 32, 64, 128, 256, 512, 1024], dtype=float)
    rates = optimal_step(b, 2.5, 90.0)
    free = critical_batch.fit_optimal_step(b, rates)
    assert (free.eps_max, free.b_noise) == pytest.approx((2.5, 90.0), rel=1e-5)
    given = critical_batch.fit_optimal_step(b, rates, b_noise=90.0)
    assert given.eps_max == pytest.approx(2.5) and not given.b_noise_fitted
    assert np.allclose(given(b), rates)


def test_crossing_step_interpolates_power_laws_exactly():
    steps = np.array([0, 1, 2, 4, 8, 16, 32], dtype=float)
    losses = np.r_[5.0, 2.0 * steps[1:] ** -0.5]
    target = 2.0 * 11.0 ** -0.5                   # reached at step 11, between 8 and 16
    assert critical_batch.crossing_step(steps, losses, target) == pytest.approx(11.0)
    assert critical_batch.crossing_step(steps, losses, 3.5) == pytest.approx(0.5)     # linear from step 0
    assert math.isnan(critical_batch.crossing_step(steps, losses, 0.01))             # never reached
    assert math.isnan(critical_batch.crossing_step(steps, np.r_[losses[:3], np.nan, losses[4:]], 0.5))  # diverged
    assert critical_batch.crossing_step(steps, losses, 10.0) == 0.0


def test_tradeoff_examples_are_batch_size_times_steps():
    tradeoff = critical_batch.Tradeoff(0.5, np.array([16.0, 64.0]), np.array([10.0, 4.0]), np.array([0.1, 0.3]),
                                       ("constant", "warmup"))
    assert tradeoff.examples.tolist() == [160.0, 256.0]


BAD_CALLS = [
    (lambda: critical_batch.crossing_step([0, 1], [1.0], 0.5), ValueError, "equally long"),
    (lambda: critical_batch.crossing_step([1, 0], [1.0, 0.5], 0.5), ValueError, "increasing"),
    (lambda: critical_batch.crossing_step([0, 1], [1.0, 0.5], 0.0), ValueError, "target"),
    (lambda: critical_batch.fit_steps_examples([16, 32], [10.0, 5.0]), ValueError, "at least 3"),
    (lambda: critical_batch.fit_steps_examples([16, 32, 64], [10.0, -5.0, 1.0]), ValueError, "> 0"),
    (lambda: critical_batch.fit_steps_examples([64, 32, 16], [1.0, 2.0, 3.0]), ValueError, "increasing"),
    (lambda: critical_batch.fit_steps_examples("16", [1.0]), TypeError, "batch_sizes must be a list"),
    (lambda: critical_batch.fit_optimal_step([16, 32], [0.1, 0.2]), ValueError, "at least 3"),
    (lambda: critical_batch.fit_optimal_step([16, 32], [0.1, 0.2], b_noise=0.0), ValueError, "b_noise"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
