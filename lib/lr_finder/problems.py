"""Toy problems whose answers are known: the textbook's sine regression and a quadratic with a known Hessian.

* :func:`sine_data` and :func:`sine_net`: the non-linear regression the textbook
  runs its range test on (:cite:`aiedu2020lr`), y = sin(2 pi x) fitted by a
  1-4-1 sigmoid network; :data:`TEXTBOOK_MSE_SCALE` converts between its loss,
  half of PyTorch's mean squared error, and ours.
* :func:`known_quadratic` (:class:`KnownQuadratic`): a one-weight regression
  whose mean squared error has the same curvature lambda on the whole set and
  on every mini-batch, so the stability limit 2 / lambda of SGD is known in
  closed form and a sweep's blow-up can be checked against it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lib.core import checks
from lib.core.data import Splits
from lib.core.device import seeded_generator
from lib.core.models import mlp

#: The textbook writes the regression loss as (1/2m) * sum (z - y)^2, half of
#: PyTorch's ``mse_loss``.  Gradients are linear in the loss, so SGD at rate eta on
#: c * L takes exactly the steps of SGD at rate c * eta on L: rates on the
#: textbook's scale are multiplied by this factor before training, and losses by
#: it before reporting.
TEXTBOOK_MSE_SCALE = 0.5


def sine_data(n: int = 100, *, seed: int = 0, device=None) -> Splits:
    """The textbook's non-linear regression: x ~ U[0, 1], y = sin(2 pi x), no noise.

    Args:
        n (int): training examples; a second, independent sample of ``n`` points is
            the validation split. Default 100.
        seed (int): seed of the draw. Default 0.
        device (torch.device or str, optional): where the tensors live. Default: the CPU.

    Returns:
        Splits: inputs and targets as (n, 1) float32 columns, training and validation.

    Raises:
        TypeError: ``n`` or ``seed`` is not an int.
        ValueError: ``n`` < 2 or ``seed`` < 0.
    """
    n = checks.integer(n, "n", minimum=2)
    generator = seeded_generator(checks.seed(seed))
    x = torch.rand(2 * n, 1, generator=generator)
    y = torch.sin(2 * math.pi * x)
    if device is not None:
        x, y = x.to(device), y.to(device)
    return Splits(x[:n], y[:n], x[n:], y[n:])


def sine_net(init_seed: int = 0) -> nn.Sequential:
    """The textbook's 1-4-1 network: 4 sigmoid hidden units, a linear output,
    Xavier-uniform weights from ``init_seed`` and zero biases (:func:`lib.core.models.mlp`)."""
    return mlp((1, 4, 1), ("sigmoid",), init_seed=init_seed)


@dataclass(frozen=True)
class KnownQuadratic:
    """A linear regression whose Hessian is known in closed form (:func:`known_quadratic`).

    Attributes:
        data (Splits): the inputs x = +-``scale`` and targets, (n, 1) each, training split only.
        scale (float): |x| of every input.
        noise (float): standard deviation of the targets' noise.
    """

    data: Splits
    scale: float
    noise: float

    @property
    def lambda_max(self) -> float:
        """The Hessian of the mean squared error in the weight: 2 * scale^2, for the
        whole training set and for every mini-batch alike."""
        return 2.0 * self.scale ** 2

    @property
    def stability_limit(self) -> float:
        """2 / lambda_max: SGD on this problem stays bounded below it and diverges above."""
        return 2.0 / self.lambda_max

    def model(self) -> nn.Linear:
        """The one-weight linear model y = w x, starting at w = 0, in the data's dtype."""
        net = nn.Linear(1, 1, bias=False).to(self.data.x_train.dtype)
        with torch.no_grad():
            net.weight.zero_()
        return net


def known_quadratic(scale: float = 3.0, *, n: int = 512, slope: float = 0.7, noise: float = 0.5,
                    seed: int = 0, dtype: torch.dtype = torch.float32) -> KnownQuadratic:
    """A regression y = slope * x + noise * N(0, 1) whose inputs are x = +-``scale``.

    Every input has x^2 = scale^2, so the mean squared error of the whole set and of
    any mini-batch is, as a function of the weight w, a parabola with curvature

        lambda = 2 scale^2;

    only its minimum moves from batch to batch.  Writing e for the distance to the
    least-squares weight, an SGD step is e <- (1 - eta lambda) e + eta xi, with xi
    the batch's noise: the error stays bounded for eta < 2 / lambda (its variance is
    eta var(xi) / (lambda (2 - eta lambda))) and grows geometrically beyond.  The
    mini-batch noise keeps re-exciting e, so a sweep's blow-up follows 2 / lambda
    closely; a full-batch sweep, without that noise, first damps e to almost
    nothing near eta = 1 / lambda (where 1 - eta lambda = 0) and blows up only well
    past the limit.

    Args:
        scale (float): |x| of every input, > 0. Default 3.
        n (int): examples, >= 2. Default 512.
        slope (float): the true weight. Default 0.7.
        noise (float): standard deviation of the targets' Gaussian noise, >= 0. Default 0.5.
        seed (int): seed of the signs and the noise. Default 0.
        dtype (torch.dtype): of the tensors. Default float32.

    Returns:
        KnownQuadratic: the data and the closed forms ``lambda_max`` and ``stability_limit``.

    Raises:
        TypeError: a number or an int of the wrong type.
        ValueError: ``scale`` <= 0, ``n`` < 2, ``noise`` < 0, ``seed`` < 0.
    """
    scale = checks.positive(scale, "scale")
    n = checks.integer(n, "n", minimum=2)
    noise = checks.non_negative(noise, "noise")
    generator = seeded_generator(checks.seed(seed))
    signs = torch.randint(0, 2, (n, 1), generator=generator).to(dtype) * 2 - 1
    x = scale * signs
    y = checks.number(slope, "slope") * x + noise * torch.randn(n, 1, generator=generator).to(dtype)
    return KnownQuadratic(data=Splits(x, y), scale=scale, noise=noise)
