"""Fixtures shared by section 5's tests: quadratics with a known Hessian, and a tiny learnable data set."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lib.core.data import Splits
from lib.core.models import mlp


def _quadratic_model(hessian_diag_or_matrix, centre=None, weights=None):
    """A linear model y = w.x (no bias) whose mse loss is exactly 1/2 (w - c)^T H (w - c).

    With n = d examples X (d x d) and the loss mean((Xw - t)^2) = (1/d) |X(w - c)|^2,
    the Hessian is (2/d) X^T X.  Choosing X = sqrt(d/2) * H^(1/2) gives Hessian H.
    """
    H = torch.as_tensor(hessian_diag_or_matrix, dtype=torch.float64)
    H = torch.diag(H) if H.dim() == 1 else H
    d = H.shape[0]
    values, vectors = torch.linalg.eigh(H)
    root = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    X = math.sqrt(d / 2) * root
    c = torch.zeros(d, dtype=torch.float64) if centre is None else torch.as_tensor(centre, dtype=torch.float64)
    t = (X @ c).reshape(d, 1)
    model = nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.zeros(1, d, dtype=torch.float64) if weights is None
                           else torch.as_tensor(weights, dtype=torch.float64).reshape(1, d))
    return model, X, t


def _rotated_spectrum(eigenvalues, seed=0):
    eigenvalues = torch.as_tensor(eigenvalues, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=torch.Generator().manual_seed(seed),
                                       dtype=torch.float64))
    return q @ torch.diag(eigenvalues) @ q.T


@pytest.fixture(scope="session")
def quadratic_model():
    """``quadratic_model(H or its diagonal, centre=None, weights=None) -> (model, X, t)``."""
    return _quadratic_model


@pytest.fixture(scope="session")
def rotated_spectrum():
    """``rotated_spectrum(eigenvalues, seed=0) -> Q diag(eigenvalues) Q^T``, Q a seeded random rotation."""
    return _rotated_spectrum


@pytest.fixture(scope="session")
def toy():
    """A learnable three-class problem in 6 dimensions (a random linear teacher): 96 train, 32 val, 40 test."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(168, 6, generator=g)
    y = (x @ torch.randn(6, 3, generator=g)).argmax(1)
    return Splits(x[:96], y[:96], x[96:128], y[96:128], x[128:], y[128:])


@pytest.fixture(scope="session")
def tiny_model():
    """A model factory ``init_seed -> nn.Module`` for :func:`toy`: 6-8-3 with tanh."""
    return lambda seed: mlp((6, 8, 3), ("tanh",), init_seed=seed)
