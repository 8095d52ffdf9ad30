"""Hessian-vector products and the two Hessian measures against a peer Hessian and quadratics with known spectra."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lib.core.models import mlp
from lib.sharpness import hessian as H


def test_quadratic_model_has_the_hessian_it_was_built_with(quadratic_model, rotated_spectrum):
    spectrum = rotated_spectrum([3.0, 1.0, 0.5])
    model, X, t = quadratic_model(spectrum)
    f = H.loss_function(model, X, t, loss="mse")
    peer = torch.autograd.functional.hessian(lambda w: f({"weight": w}), model.weight.detach())
    assert torch.allclose(peer.reshape(3, 3), spectrum, atol=1e-10)
    # and torch.func's Hessian of the same function agrees
    assert torch.allclose(torch.func.hessian(lambda w: f({"weight": w}))(model.weight.detach()).reshape(3, 3),
                          spectrum, atol=1e-10)


def test_hessian_vector_product_matches_the_full_hessian_of_a_small_network():
    # Peer: torch.autograd.functional.hessian of the same cross-entropy loss, times v.
    torch.manual_seed(0)
    net = mlp((3, 4, 2), ("tanh",), init_seed=1).double()
    x = torch.randn(7, 3, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0])
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def loss_of_flat(w):
        params, start = {}, 0
        for name, shape in zip(names, shapes):
            size = math.prod(shape)
            params[name] = w[start:start + size].reshape(shape)
            start += size
        logits = torch.func.functional_call(net, params, (x,))
        return nn.functional.cross_entropy(logits, y)

    hessian = torch.autograd.functional.hessian(loss_of_flat, flat)
    v_flat = torch.randn(flat.numel(), dtype=torch.float64)
    vector, start = {}, 0
    for name, shape in zip(names, shapes):
        vector[name] = v_flat[start:start + math.prod(shape)].reshape(shape)
        start += math.prod(shape)
    hv = H.hessian_vector_product(net, x, y, vector)
    got = torch.cat([hv[n].reshape(-1) for n in names])
    assert torch.allclose(got, hessian @ v_flat, atol=1e-10)


def test_top_eigenvalue_of_a_known_spectrum_within_one_percent(quadratic_model, rotated_spectrum):
    spectrum = [10.0, 6.0, 3.0, 1.0, 0.5, 0.1, 0.0, 0.0]
    model, X, t = quadratic_model(rotated_spectrum(spectrum, seed=3))
    top = H.top_hessian_eigenvalue(model, X, t, loss="mse", iterations=20, seed=0)
    assert top == pytest.approx(10.0, rel=0.01)


def test_top_eigenvalue_of_a_network_matches_the_dense_eigendecomposition():
    net = mlp((4, 5, 3), ("sigmoid",), init_seed=2).double()
    x = torch.randn(20, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.randint(0, 3, (20,), generator=torch.Generator().manual_seed(1))
    f = H.loss_function(net, x, y)
    params = {n: p.detach() for n, p in net.named_parameters()}
    flat = torch.cat([p.reshape(-1) for p in params.values()])

    def loss_of_flat(w):
        out, start = {}, 0
        for n, p in params.items():
            out[n] = w[start:start + p.numel()].view_as(p)
            start += p.numel()
        return f(out)

    eig = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss_of_flat, flat))
    largest = float(eig[eig.abs().argmax()])
    assert H.top_hessian_eigenvalue(net, x, y, iterations=200) == pytest.approx(largest, rel=0.01)


def test_hutchinson_trace_of_a_known_spectrum_within_five_percent(quadratic_model, rotated_spectrum):
    spectrum = np.linspace(0.5, 8.0, 12)
    model, X, t = quadratic_model(rotated_spectrum(spectrum, seed=4))
    trace = H.hessian_trace(model, X, t, loss="mse", samples=400, seed=0)
    assert trace == pytest.approx(spectrum.sum(), rel=0.05)


def test_hutchinson_is_exact_for_a_diagonal_hessian(quadratic_model):
    # Rademacher probes: v^T H v = sum_i H_ii v_i^2 = tr H for every single probe.
    model, X, t = quadratic_model([4.0, 2.0, 1.0, 0.25])
    assert H.hessian_trace(model, X, t, loss="mse", samples=1, seed=5) == pytest.approx(7.25, rel=1e-12)


def test_the_loss_function_leaves_the_model_as_it_was():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = torch.randn(5, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 1, 0, 1])
    f = H.loss_function(net, x, y)
    value = f({n: p.detach() for n, p in net.named_parameters()})
    assert net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    net.eval()
    with torch.no_grad():
        assert float(value) == pytest.approx(float(nn.functional.cross_entropy(net(x), y)), rel=1e-6)


def no_parameters():
    return nn.Sequential(nn.Identity())


X3 = torch.zeros(2, 3)
Y3 = torch.tensor([0, 1])


@pytest.mark.parametrize("call, error, message", [
    (lambda: H.top_hessian_eigenvalue(no_parameters(), X3, Y3), ValueError, "no parameters"),
    (lambda: H.hessian_trace(no_parameters(), X3, Y3), ValueError, "no parameters"),
    (lambda: H.top_hessian_eigenvalue("net", X3, Y3), TypeError, "model must be an nn.Module"),
    (lambda: H.top_hessian_eigenvalue(nn.Linear(3, 2), X3, Y3, loss="hinge"), ValueError, "unknown loss"),
    (lambda: H.top_hessian_eigenvalue(nn.Linear(3, 2), X3, Y3, iterations=0), ValueError,
     "iterations must be an int >= 1"),
    (lambda: H.top_hessian_eigenvalue(nn.Linear(3, 2), X3, Y3, seed=-1), ValueError, "seed must be an int >= 0"),
    (lambda: H.hessian_trace(nn.Linear(3, 2), X3, Y3, samples=0), ValueError, "samples must be an int >= 1"),
    (lambda: H.hessian_trace(nn.Linear(3, 2), X3, torch.tensor([0])), ValueError, "same number"),
    (lambda: H.hessian_trace(nn.Linear(3, 2), X3.numpy(), Y3), TypeError, "x must be a torch.Tensor"),
    (lambda: H.hessian_trace(nn.Linear(3, 2), X3, Y3.float()), TypeError, "y must hold int64 class labels for cross_entropy, got floating-point"),
    (lambda: H.hessian_vector_product(nn.Linear(3, 2), X3, Y3, {"weight": torch.zeros(2, 3)}),
     ValueError, "missing ['bias']"),
    (lambda: H.hessian_vector_product(nn.Linear(3, 2), X3, Y3, {"weight": torch.zeros(3, 2),
                                                                 "bias": torch.zeros(2)}),
     ValueError, "shape (2, 3)"),
    (lambda: H.hessian_vector_product(nn.Linear(3, 2), X3, Y3, [1, 2]), TypeError, "dict of tensors"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
