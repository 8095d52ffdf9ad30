"""One global learning rate against a rare feature; AdaGrad's per-parameter steps (section 1).

Linear regression :math:`\\hat y = w_c x_c + w_r x_r` on data where the common
feature :math:`x_c \\sim \\mathcal N(0, 1)` is present in every example and the
rare feature :math:`x_r \\in \\{0, 1\\}` is 1 with probability :math:`p`.  The
targets are noiseless, :math:`y = x_c + x_r`, so both weights should reach 1.

The mean squared error :math:`\\tfrac12\\,\\mathbb E[(\\hat y - y)^2]` is a quadratic
whose Hessian is :math:`\\mathbb E[x x^\\top] \\approx \\mathrm{diag}(1, p)`: the rare
weight sits in a direction about :math:`1/p` times flatter.  Plain SGD must keep
:math:`\\eta < 2/\\lambda_{\\max} \\approx 2` for the common weight, and then the rare
weight moves by a factor of only about :math:`(1 - \\eta p)` per step.  AdaGrad
(Duchi, Hazan & Singer, 2011) divides each parameter's step by the root of
that parameter's summed squared gradients, so rarely updated weights take
larger steps.  Both optimisers are torch's own (``torch.optim.SGD`` and
``torch.optim.Adagrad``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lib.core import checks
from lib.core.device import seeded_generator

DTYPE = torch.float64
TRUE_WEIGHTS = (1.0, 1.0)  # (common, rare)
OPTIMIZERS = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad}


@dataclass(frozen=True)
class RareFeatureData:
    inputs: torch.Tensor  # (n, 2): common, rare
    targets: torch.Tensor  # (n,)
    rare_prob: float

    def hessian(self) -> np.ndarray:
        """:math:`\\frac1n X^\\top X`, the Hessian of the mean squared error ``½·mean((Xw − y)²)``."""
        return (self.inputs.T @ self.inputs / len(self.inputs)).numpy()


@dataclass(frozen=True)
class WeightHistory:
    optimizer: str
    lr: float
    batch_size: int
    weights: np.ndarray  # (steps + 1, 2); NaN after a blow-up

    def errors(self) -> np.ndarray:
        """:math:`|w_k - w^*|` per parameter, shape ``(steps + 1, 2)``."""
        return np.abs(self.weights - np.array(TRUE_WEIGHTS))


def rare_feature_data(n: int = 2000, rare_prob: float = 0.005, seed: int = 0) -> RareFeatureData:
    """``n`` examples: :math:`x_c \\sim \\mathcal N(0,1)`, :math:`x_r \\sim \\mathrm{Bernoulli}(p)`, :math:`y = x_c + x_r`."""
    n = checks.int_at_least(n, "n", 2)
    rare_prob = checks.number_in(rare_prob, "rare_prob", 0.0, 1.0)
    generator = seeded_generator(seed)
    common = torch.randn(n, generator=generator, dtype=DTYPE)
    rare = (torch.rand(n, generator=generator, dtype=DTYPE) < rare_prob).to(DTYPE)
    if rare.sum() == 0:
        raise ValueError(f"with n={n} and rare_prob={rare_prob} the rare feature never occurs; raise n or rare_prob")
    inputs = torch.stack([common, rare], dim=1)
    return RareFeatureData(inputs, inputs @ torch.tensor(TRUE_WEIGHTS, dtype=DTYPE), rare_prob)


def train_linear(data: RareFeatureData, optimizer: str, lr: float, steps: int,
                 batch_size: int = 10, seed: int = 1) -> WeightHistory:
    """Mini-batch training of the two weights from zero with ``torch.optim.SGD`` or ``torch.optim.Adagrad``.

    Each step draws ``batch_size`` examples with replacement and minimises
    ``½·mean((x·w − y)²)`` over them.  A run whose weights blow up (non-finite
    or larger than 1e100) is stopped; the remaining rows are NaN.
    """
    if not isinstance(data, RareFeatureData):
        raise TypeError(f"data must come from rare_feature_data(), got {type(data).__name__}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")
    lr = checks.positive(lr, "lr")
    steps = checks.int_at_least(steps, "steps", 1)
    batch_size = checks.int_at_least(batch_size, "batch_size", 1)
    weights = torch.nn.Parameter(torch.zeros(2, dtype=DTYPE))
    opt = OPTIMIZERS[optimizer]([weights], lr=lr)
    generator = seeded_generator(seed)
    history = np.full((steps + 1, 2), np.nan)
    history[0] = 0.0
    n = len(data.targets)
    for step in range(1, steps + 1):
        index = torch.randint(0, n, (batch_size,), generator=generator)
        loss = 0.5 * ((data.inputs[index] @ weights - data.targets[index]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        current = weights.detach()
        if not torch.isfinite(current).all() or current.abs().max() > 1e100:
            break
        history[step] = current.numpy()
    return WeightHistory(optimizer=optimizer, lr=lr, batch_size=batch_size, weights=history)
