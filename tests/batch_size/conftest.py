"""Fixtures shared by section 4's tests: a learnable MNIST-shaped toy problem and one small sweep on it."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from lib.batch_size import batch_sweep
from lib.core.data import Splits

RATES = [0.1, 0.5, 500.0]     # the last one diverges
WARM = [0.5, 500.0]           # the rates that also train with warm-up
SEEDS = [0, 1]


@pytest.fixture(scope="session")
def axes():
    """The sweep's rates, warm-up rates and seeds, as given to it."""
    return SimpleNamespace(rates=RATES, warm=WARM, seeds=SEEDS)


@pytest.fixture(scope="session")
def toy():
    """A learnable MNIST-shaped problem: labels from a random linear teacher."""
    g = torch.Generator().manual_seed(5)
    x = torch.rand(320, 784, generator=g)
    y = (x @ torch.randn(784, 10, generator=g)).argmax(1)
    return Splits(x[:256], y[:256], x[256:], y[256:])


@pytest.fixture(scope="session")
def sweep(toy):
    """Batch sizes 16, 32, 64, three rates (one diverging), two seeds, warm-up from 32 on."""
    return batch_sweep.run_sweep(toy, [16, 32, 64], RATES, SEEDS, epochs=3, warmup_from=32, warmup_epochs=1.0,
                            warmup_rates=WARM, progress=False)
