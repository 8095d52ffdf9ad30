"""The small network and data set section 2's tests share (imported by the test modules)."""
from __future__ import annotations

import torch
from torch import nn

from lib.core.data import Splits
from lib.core.models import mlp


def small_net(init_seed: int = 0) -> nn.Sequential:
    """A 20-16-4 tanh perceptron."""
    return mlp((20, 16, 4), ("tanh",), init_seed=init_seed)


def toy_splits() -> Splits:
    """A learnable 4-class problem: labels are the argmax of a fixed linear map; 512 + 128 examples."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(640, 20, generator=g)
    w = torch.randn(20, 4, generator=g)
    y = (x @ w).argmax(1)
    return Splits(x[:512], y[:512], x[512:], y[512:])
