"""The rates of the SWA plans (lib.swa.plans) against the paper's eq. (2) and PyTorch's documented closed forms.

* the cyclical rate against the paper's eq. (2) transcribed literally (1-based
  iteration, ``mod``) and against values worked out by hand;
* SWALR's and LinearLR's rates against the closed forms in PyTorch's documentation.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from lib.swa import plans


@pytest.mark.parametrize("alpha_1, alpha_2, c", [(1.0, 0.1, 4), (0.05, 0.0005, 7), (0.3, 0.3, 3), (2.0, 0.5, 1)])
def test_cyclical_rate_is_the_papers_formula_at_every_step(paper_rate, alpha_1, alpha_2, c):
    steps = 5 * c + 3
    expected = np.array([paper_rate(i, alpha_1, alpha_2, c) for i in range(1, steps + 1)])
    np.testing.assert_allclose(plans.cyclical_lr(np.arange(steps), alpha_1, alpha_2, c), expected, rtol=1e-12)
    assert plans.cyclical_lr(0, alpha_1, alpha_2, c) == pytest.approx(expected[0], rel=1e-12)
    plan = plans.cyclical(alpha_1, alpha_2, c)
    np.testing.assert_allclose(plan.learning_rates(alpha_1, steps), expected, rtol=1e-12)


def test_cyclical_rate_by_hand():
    # alpha_1 = 1, alpha_2 = 0.1, c = 4: t = 1/4, 2/4, 3/4, 1, then again.
    rates = plans.cyclical_lr(np.arange(8), 1.0, 0.1, 4)
    np.testing.assert_allclose(rates, [0.775, 0.55, 0.325, 0.1] * 2, rtol=1e-12)
    # one step per cycle is the constant rate alpha_2
    np.testing.assert_allclose(plans.cyclical_lr(np.arange(5), 1.0, 0.1, 1), [0.1] * 5)


def test_numpy_numbers_are_numbers():
    assert plans.cyclical_lr(np.int64(3), np.float64(1.0), 0.1, np.int64(4)) == pytest.approx(0.1)
    assert plans.cyclical(np.float32(0.5), 0.1, np.int64(2)).learning_rates(0.5, 2).shape == (2,)


def test_snapshots_fall_at_cycle_ends_where_the_rate_is_lowest():
    plan = plans.cyclical(0.5, 0.01, 5)
    steps = 23
    snaps = plan.snapshot_steps(steps)
    np.testing.assert_array_equal(snaps, [4, 9, 14, 19])           # the 5th, 10th, ... updates
    np.testing.assert_allclose(plan.learning_rates(0.5, steps)[snaps], 0.01)
    assert plans.decay(0.01).snapshot_steps(steps).size == 0


@pytest.mark.parametrize("strategy", ["linear", "cos"])
def test_constant_plan_uses_swalr_as_documented(strategy):
    start, target, anneal, steps = 0.8, 0.2, 5, 12
    rates = plans.constant(target, 3, anneal_steps=anneal, anneal_strategy=strategy).learning_rates(start, steps)
    # torch docs: the rate is annealed from its value to swa_lr over anneal_epochs steps, then held.
    k = np.minimum(np.arange(steps) / anneal, 1.0)
    shape = k if strategy == "linear" else (1 - np.cos(np.pi * k)) / 2
    np.testing.assert_allclose(rates, start + (target - start) * shape, rtol=1e-9)


def test_decay_plan_is_linear_to_the_final_rate():
    start, final, steps = 0.5, 0.005, 10
    rates = plans.decay(final).learning_rates(start, steps)
    factor = final / start
    np.testing.assert_allclose(rates, start * (1 + (factor - 1) * np.arange(steps) / steps), rtol=1e-9)


def test_plan_names():
    assert plans.decay(0.01).name == "SGD, rate decayed to 0.01"
    assert plans.constant(0.5, 3).name == "SWA, constant rate 0.5"
    assert plans.cyclical(1.0, 0.05, 3).name == "SWA, cyclical 1 to 0.05"
    assert plans.cyclical(1.0, 0.05, 3, label="mine").name == "mine"
    assert plans.constant(0.5, 3).averages and not plans.decay(0.01).averages


BAD_INPUTS = [
    (lambda: plans.cyclical_lr(0, 0.1, 0.2, 5), ValueError, "alpha_2 = 0.2 exceeds alpha_1"),
    (lambda: plans.cyclical(0.1, 0.2, 5), ValueError, "alpha_2 = 0.2 exceeds alpha_1"),
    (lambda: plans.cyclical(0.1, 0.01, 0), ValueError, "cycle must be an int >= 1"),
    (lambda: plans.cyclical(0.1, 0.01, 2.5), TypeError, "cycle must be an int"),
    (lambda: plans.cyclical(-0.1, 0.01, 2), ValueError, "alpha_1 must be a finite number > 0"),
    (lambda: plans.cyclical(0.1, float("nan"), 2), ValueError, "alpha_2 must be a finite number > 0"),
    (lambda: plans.cyclical_lr(-1, 0.1, 0.01, 2), ValueError, "step must be an int >= 0"),
    (lambda: plans.cyclical_lr(0.5, 0.1, 0.01, 2), TypeError, "step must be an int"),
    (lambda: plans.constant(0.1, 0), ValueError, "every must be an int >= 1"),
    (lambda: plans.constant(0.1, 2, anneal_steps=-1), ValueError, "anneal_steps must be an int >= 0"),
    (lambda: plans.constant(0.1, 2, anneal_strategy="exp"), ValueError,
     "unknown anneal_strategy 'exp'; allowed: linear, cos"),
    (lambda: plans.constant(0.1, 2, ema_decay=1.0), ValueError,
     "ema_decay must be a finite number strictly between 0 and 1"),
    (lambda: plans.decay(0.0), ValueError, "final_lr must be a finite number > 0"),
    (lambda: plans.decay(1.0).learning_rates(0.1, 10), ValueError, "a decay needs final_lr <= start_lr"),
    (lambda: plans.SWAPlan("average"), ValueError, "unknown kind 'average'; allowed: decay, constant, cyclical"),
    (lambda: plans.SWAPlan("cyclical", every=3, alpha_1=0.1), TypeError, "alpha_2 must be a real number"),
    (lambda: plans.SWAPlan("constant", swa_lr=0.1), TypeError, "every must be an int"),
    (lambda: plans.SWAPlan("decay"), TypeError, "final_lr must be a real number"),
    (lambda: plans.cyclical(0.1, 0.01, 100).snapshot_steps(10), ValueError, "fewer than one cycle"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
