"""The textbook's illustration against the numbers printed in the source, its gradient step against
``torch.optim.SGD``, and the noisy one-step optimum against an exact enumeration of every batch."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from lib.batch_size import illustration
from lib.batch_size.gradient_noise import optimal_step


def test_illustration_reproduces_the_textbooks_numbers():
    three = illustration.textbook_illustration(illustration.ILLUSTRATION_POINTS[3])
    five = illustration.textbook_illustration(illustration.ILLUSTRATION_POINTS[5])
    # the source: loss (1 + 0 + 1)/2/3 = 0.333, eta_1 = 1.5; loss (1 + .25 + 0 + .25 + 1)/2/5 = 0.25, eta_2 = 2
    assert three.loss == pytest.approx(1 / 3) and three.textbook_rate == pytest.approx(1.5)
    assert five.loss == pytest.approx(0.25) and five.textbook_rate == pytest.approx(2.0)


@pytest.mark.parametrize("n", [3, 5])
def test_one_step_rate_is_what_a_real_sgd_step_needs(n):
    result = illustration.textbook_illustration(illustration.ILLUSTRATION_POINTS[n])
    x = torch.tensor(illustration.ILLUSTRATION_POINTS[n]).view(-1, 1)

    def step(lr):
        line = nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            line.weight.fill_(0.5)
        optimiser = torch.optim.SGD(line.parameters(), lr=lr)
        loss = 0.5 * (line(x) ** 2).mean()       # the textbook's loss, targets 0
        loss.backward()
        assert line.weight.grad.item() == pytest.approx(result.gradient)
        optimiser.step()
        return line.weight.item()

    assert step(result.one_step_rate) == pytest.approx(0.0, abs=1e-7)
    assert step(result.textbook_rate) == pytest.approx(result.w_after_textbook_step)


def test_repeating_the_points_changes_nothing():
    once = illustration.textbook_illustration(illustration.ILLUSTRATION_POINTS[3])
    twice = illustration.textbook_illustration(illustration.ILLUSTRATION_POINTS[3] * 2)
    assert (twice.loss, twice.textbook_rate, twice.one_step_rate) == pytest.approx(
        (once.loss, once.textbook_rate, once.one_step_rate))


@pytest.mark.parametrize("batch", [1, 2, 3, 4])
def test_noisy_one_step_optimum_matches_an_exact_enumeration_of_all_batches(batch):
    points = np.array(illustration.ILLUSTRATION_POINTS[5])
    w = 0.5
    # every batch of `batch` points drawn with replacement, equally likely
    gradients = np.array([w * np.mean(np.square(combo)) for combo in itertools.product(points, repeat=batch)])
    # E (w - eps g)^2 is a parabola in eps with its minimum at w E[g] / E[g^2]
    exact = w * gradients.mean() / np.mean(gradients**2)
    eps_max, b_noise = illustration.population_noise_scale(points)
    assert optimal_step(batch, eps_max, b_noise) == pytest.approx(exact, rel=1e-12)


BAD_CALLS = [
    (lambda: illustration.textbook_illustration([0.0, 0.0]), ValueError, "x = 0"),
    (lambda: illustration.textbook_illustration([]), ValueError, "non-empty"),
    (lambda: illustration.textbook_illustration([1.0], w=0.0), ValueError, "w must be"),
    (lambda: illustration.population_noise_scale([0.0]), ValueError, "not all 0"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
