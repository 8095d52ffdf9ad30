"""Fixtures shared by section 3's tests."""
import pytest
import torch

from lib.core.data import Splits


@pytest.fixture()
def toy_data():
    """256 training and 64 validation images of random pixels and labels (MNIST's shapes)."""
    g = torch.Generator().manual_seed(1)
    return Splits(torch.rand(256, 784, generator=g), torch.randint(0, 10, (256,), generator=g),
                  torch.rand(64, 784, generator=g), torch.randint(0, 10, (64,), generator=g))
