"""Sharpness on any model and loader (hessian.sharpness) against PyHessian and the exact Hessian.

* PyHessian (PyPI ``pyhessian``, a test-only dependency) on the same model and DataLoader: the top
  eigenvalue agrees to 0.1 %, the trace within the two estimates' combined sampling error;
* the exact Hessian of the example-weighted loss over batches of different sizes
  (``torch.autograd.functional.hessian``): its largest eigenvalue and its trace;
* PyHessian's traps avoided: batch-norm statistics, modes and gradients untouched;
* the book's one-batch functions are the same computation; the bad-input table.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from pyhessian import hessian as PyHessian  # the peer: a test-only dependency (requirements.txt)

from lib.sharpness import hessian as H


def data(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    return x, (x @ torch.randn(5, 3, generator=g)).argmax(1)


def net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3))


def flat_hessian(model, batches):
    """The exact Hessian of sum_j (n_j / n) loss_j over the flattened parameters."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()
    total = sum(len(y) for _, y in batches)
    double = copy.deepcopy(model).double()

    def loss(w):
        params, start = {}, 0
        for name, shape in zip(names, shapes):
            params[name] = w[start:start + math.prod(shape)].reshape(shape)
            start += math.prod(shape)
        return sum(len(y) / total * F.cross_entropy(torch.func.functional_call(double, params, (x.double(),)), y)
                   for x, y in batches)

    return torch.autograd.functional.hessian(loss, flat)


def test_pyhessian_agrees_on_a_dataloader():
    x, y = data()
    loader = DataLoader(TensorDataset(x, y), batch_size=40)
    model = net(1)
    ours = H.sharpness(model, loader, loss=F.cross_entropy, n_batches=3, iterations=60, samples=100, seed=1)
    peer_model = net(1)
    torch.manual_seed(0)                                # PyHessian draws its probes from the global generator
    peer = PyHessian(peer_model, nn.CrossEntropyLoss(), dataloader=loader, cuda=False)
    top = peer.eigenvalues(maxIter=60, tol=1e-6)[0][0]
    values = np.array(peer.trace(maxIter=60, tol=0.0))
    assert ours.top_eigenvalue == pytest.approx(top, rel=1e-3)
    peer_error = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(ours.trace - values.mean()) < 4 * math.hypot(ours.trace_standard_error, peer_error)
    # PyHessian's trap: it leaves the model in evaluation mode with gradients set; ours leaves both alone
    assert not peer_model.training and model.training
    assert all(p.grad is None for p in model.parameters())


def test_exact_hessian_over_batches_of_different_sizes():
    x, y = data(70)
    batches = [(x[:40], y[:40]), (x[40:65], y[40:65]), (x[65:], y[65:])]
    model = net(2)
    exact = flat_hessian(model, batches)
    eigenvalues = torch.linalg.eigvalsh(exact)
    top = float(eigenvalues[torch.argmax(eigenvalues.abs())])
    got = H.sharpness(model, batches, loss=F.cross_entropy, n_batches=3, iterations=100, samples=100)
    assert got.top_eigenvalue == pytest.approx(top, rel=1e-4) and got.examples == 70
    assert abs(got.trace - float(exact.trace())) < 4 * got.trace_standard_error
    assert got.trace_standard_error < 0.2 * abs(float(exact.trace()))
    # Hutchinson's variance per probe, 2 sum_{i != j} H_ij^2, sets the standard error
    off = exact - torch.diag(torch.diag(exact))
    expected = math.sqrt(2 * float((off ** 2).sum()) / 100)
    assert got.trace_standard_error == pytest.approx(expected, rel=0.3)
    assert got.stable_rate == pytest.approx(2 / got.top_eigenvalue)


def test_dict_batches_and_an_objective_give_the_same_numbers():
    x, y = data()
    model = net(3)
    plain = H.sharpness(model, [(x, y)], loss=F.cross_entropy, samples=20)
    keyed = H.sharpness(model, [{"features": x, "class": y}], loss=F.cross_entropy, inputs="features",
                        target="class", samples=20)
    own = H.sharpness(model, [{"features": x, "class": y}], samples=20,
                      objective=lambda m, b: F.cross_entropy(m(b["features"]), b["class"]))
    assert plain == keyed == own


def test_the_books_one_batch_functions_are_the_same_computation():
    x, y = data()
    model = net(4)
    general = H.sharpness(model, [(x, y)], loss=F.cross_entropy, iterations=15, samples=30, seed=2)
    assert H.top_hessian_eigenvalue(model, x, y, iterations=15, seed=2) == general.top_eigenvalue
    assert H.hessian_trace(model, x, y, samples=30, seed=2) == general.trace


def test_batch_norm_statistics_modes_and_gradients_are_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Dropout(0.5), nn.Linear(6, 3))
    model(torch.randn(64, 5))                                   # running statistics worth keeping
    model[3].eval()
    model[0].weight.grad = torch.ones_like(model[0].weight)
    before = copy.deepcopy(model.state_dict())
    modes = [m.training for m in model.modules()]
    x, y = data()
    loader = DataLoader(TensorDataset(x, y), batch_size=30, shuffle=True)
    first = H.sharpness(model, loader, loss=F.cross_entropy, n_batches=2, samples=10)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert [m.training for m in model.modules()] == modes
    assert torch.equal(model[0].weight.grad, torch.ones_like(model[0].weight)) and model[4].weight.grad is None
    # evaluation mode: the running statistics, not the batch's, and no dropout; so the numbers repeat
    torch.manual_seed(5)
    second = H.sharpness(model, [(x, y)], loss=F.cross_entropy, samples=10)
    torch.manual_seed(6)
    assert H.sharpness(model, [(x, y)], loss=F.cross_entropy, samples=10) == second
    assert np.isfinite(first.top_eigenvalue)


FROZEN = net().requires_grad_(False)
X, Y = data()


@pytest.mark.parametrize("call, error, message", [
    (lambda: H.sharpness(net(), [], loss=F.cross_entropy), ValueError, "batches is empty"),
    (lambda: H.sharpness(net(), DataLoader(TensorDataset(X[:0], Y[:0])), loss=F.cross_entropy), ValueError, "empty"),
    (lambda: H.sharpness(FROZEN, [(X, Y)], loss=F.cross_entropy), ValueError, "require gradients"),
    (lambda: H.sharpness(nn.Tanh(), [(X, Y)], loss=F.cross_entropy), ValueError, "require gradients"),
    (lambda: H.sharpness(net(), [(X[:, :4], Y)], loss=F.cross_entropy), ValueError,
     r"received, tuple \(Tensor\(120, 4\) float32, Tensor\(120,\) int64\)"),
    (lambda: H.sharpness(net(), [{"x": X, "y": Y}], loss=F.cross_entropy), ValueError, "naming its keys"),
    (lambda: H.sharpness(net(), [(X, Y)]), TypeError, "exactly one of"),
    (lambda: H.sharpness(net(), [(X, Y)], loss=F.cross_entropy, n_batches=0), ValueError, "n_batches"),
    (lambda: H.sharpness(net(), [(X, Y)], loss=F.cross_entropy, samples=1), ValueError, "samples"),
    (lambda: H.sharpness(net(), [(X, Y)], loss=F.cross_entropy, iterations=1.5), TypeError, "iterations"),
    (lambda: H.sharpness(net(), X, loss=F.cross_entropy), TypeError, "iterable of batches"),
])
def test_bad_input_table(call, error, message):
    with pytest.raises(error, match=message):
        call()
