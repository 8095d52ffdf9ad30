"""Fixtures shared by section 6's tests: a toy MNIST-shaped problem, a checkpoint on it, the paper's eq. (2)."""
from __future__ import annotations

import pytest
import torch

from lib.core.data import Splits
from lib.swa import training

N, D = 256, 784


@pytest.fixture(scope="package")
def toy():
    g = torch.Generator().manual_seed(7)
    x = torch.rand(N + 128, D, generator=g)
    y = torch.randint(0, 10, (N + 128,), generator=g)
    return Splits(x[:N], y[:N], x[N:N + 64], y[N:N + 64], x[N + 64:], y[N + 64:])


@pytest.fixture(scope="package")
def checkpoint(toy):
    return training.pretrain(toy, lr=0.2, epochs=1, batch_size=64, seed=0)


def _paper_rate(i: int, alpha_1: float, alpha_2: float, c: int) -> float:
    """Izmailov et al. (2018), eq. (2), for the 1-based iteration i, as printed."""
    t = (((i - 1) % c) + 1) / c
    return (1 - t) * alpha_1 + t * alpha_2


@pytest.fixture(scope="package")
def paper_rate():
    return _paper_rate

