"""The toy problems' closed forms against autograd."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.lr_finder import problems


def test_the_known_quadratic_has_the_hessian_it_claims():
    quad = problems.known_quadratic(scale=2.5, n=64)
    net = quad.model()
    for rows in (slice(0, 64), slice(3, 11)):           # the whole set and a mini-batch
        x, y = quad.data.x_train[rows], quad.data.y_train[rows]
        hessian = torch.autograd.functional.hessian(lambda w: F.mse_loss(x @ w.view(1, 1), y),
                                                    net.weight.detach().clone().view(1))
        assert hessian.item() == pytest.approx(quad.lambda_max, rel=1e-5)
    assert quad.stability_limit == pytest.approx(2 / (2 * 2.5 ** 2))


def test_the_sine_data_is_the_textbooks_regression():
    sine = problems.sine_data(n=50, seed=2)
    assert sine.x_train.shape == (50, 1) and sine.x_val.shape == (50, 1)
    assert np.allclose(sine.y_train.numpy(), np.sin(2 * np.pi * sine.x_train.numpy()), atol=1e-6)
    assert ((sine.x_train >= 0) & (sine.x_train < 1)).all()
    net = problems.sine_net(0)
    assert [p.shape for p in net.parameters()] == [(4, 1), (4,), (1, 4), (1,)]


BAD_INPUTS = [
    (lambda: problems.sine_data(n=1), ValueError, "n must be an int >= 2"),
    (lambda: problems.known_quadratic(scale=0), ValueError, "scale must be a finite number > 0"),
    (lambda: problems.known_quadratic(noise=-1), ValueError, "noise must be a finite number >= 0"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
