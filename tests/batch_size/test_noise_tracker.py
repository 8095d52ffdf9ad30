"""The noise-scale tracker during training: it changes nothing in training, and what it measured at
the last checkpoint equals an independent recomputation on the trained network."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lib.batch_size import gradient_noise, noise_tracker
from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.members import Member


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
    tracker = noise_tracker.NoiseScaleTracker(toy, member=1, b_small=8, b_big=64, every=4,
                                              checkpoints=[5, 32], exact_examples=40, fixed_draws=400)
    tracked = train_grid(members, toy, batch_size=16, epochs=2, eval_every=1.0, progress=False, on_step=tracker)
    assert np.array_equal(plain.history.step_loss, tracked.history.step_loss)
    trace = tracker.trace
    assert trace.steps.tolist() == list(range(4, 33, 4))
    assert trace.checkpoints.tolist() == [5, 32]
    # after the last update the tracker saw member 1's final weights: recompute independently
    final = tracked.model(1)
    full = gradient_noise.batch_gradient(final, toy.x_train, toy.y_train)
    again = gradient_noise.per_example_statistics(final, tracker.x_exact, tracker.y_exact, mean_gradient=full)
    assert trace.per_example[-1].b_simple == pytest.approx(again.b_simple, rel=1e-4)
    assert trace.per_example[-1].g_squared == pytest.approx(float(full.double().pow(2).sum()), rel=1e-4)
    # at the same weights the averaged two-batch estimate of |G|^2 agrees with the exact one (early, where
    # |G|^2 is large next to the noise of a batch of 64: B_simple is about 25 there)
    assert trace.per_example[0].b_simple < 50
    assert trace.fixed_two_batch[0].g_squared == pytest.approx(trace.per_example[0].g_squared, rel=0.1)
    assert trace.two_batch_at(32) == pytest.approx(trace.two_batch_b_simple()[-1])
    assert trace.two_batch_at(31) == pytest.approx(trace.two_batch_b_simple()[-1])      # nearest measurement
    assert len(trace.checkpoint_loss) == 2 and np.isfinite(trace.checkpoint_loss).all()
    assert np.allclose(trace.estimator_gap,
                       [abs(f.b_simple / p.b_simple - 1) for f, p in zip(trace.fixed_two_batch, trace.per_example)])


def test_checkpoints_are_even_in_log_updates():
    assert noise_tracker.checkpoint_steps(32).tolist() == [8, 10, 12, 14, 18, 22, 26, 32]
    assert noise_tracker.checkpoint_steps(1000, count=4, first=1).tolist() == [1, 10, 100, 1000]
    assert noise_tracker.checkpoint_steps(9, count=8, first=8).tolist() == [8, 9]       # repeats merged


def test_tracker_refuses_a_member_the_grid_does_not_have(toy):
    tracker = noise_tracker.NoiseScaleTracker(toy, member=3, b_small=8, b_big=64, every=1, exact_examples=8)
    with pytest.raises(ValueError, match="member=3"):
        train_grid([Member(lr=0.1)], toy, batch_size=64, epochs=1, progress=False, on_step=tracker)


BAD_CALLS = [
    (lambda toy: noise_tracker.NoiseScaleTracker(toy, b_small=64, b_big=32), ValueError, "smaller"),
    (lambda toy: noise_tracker.NoiseScaleTracker(toy, b_small=8, b_big=1000), ValueError,
     "b_big must be an int between 1 and 256"),
    (lambda toy: noise_tracker.NoiseScaleTracker(toy, b_small=8, b_big=64, exact_examples=999),
     ValueError, "exact_examples"),
    (lambda toy: noise_tracker.NoiseScaleTracker(toy, b_small=8, b_big=64, checkpoints=[0], exact_examples=8),
     ValueError, ">= 1"),
    (lambda toy: noise_tracker.NoiseScaleTracker(toy.x_train, b_small=8, b_big=64), TypeError, "Splits"),
    (lambda toy: noise_tracker.NoiseScaleTracker(toy, b_small=8, b_big=64, exact_examples=8, fixed_draws=0),
     ValueError, "fixed_draws"),
    (lambda toy: noise_tracker.NoiseScaleTracker(toy, b_small=8, b_big=64, exact_examples=8, loss="hinge"),
     ValueError, "unknown loss"),
    (lambda toy: noise_tracker.NoiseScaleTracker(toy, b_small=8, b_big=64, exact_examples=8).trace, ValueError,
     "nothing measured"),
    (lambda toy: noise_tracker.checkpoint_steps(4, first=8), ValueError, "total_steps"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)
