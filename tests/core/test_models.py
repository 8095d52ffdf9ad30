"""The textbook network, its initialisation, devices and the budget switch."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from lib.core import budget
from lib.core.device import pick_device, seeded_generator
from lib.core.models import build_model, mlp, relu_mlp, small_cnn, textbook_mlp, xavier_init_


def test_textbook_network_has_the_books_shape_and_activations():
    net = textbook_mlp()
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(784, 64), (64, 16), (16, 10)]
    assert [type(m) for m in net if not isinstance(m, nn.Linear)] == [nn.Sigmoid, nn.Tanh]
    assert sum(p.numel() for p in net.parameters()) == 784 * 64 + 64 + 64 * 16 + 16 + 16 * 10 + 10


def test_xavier_uniform_bound_and_variance_and_zero_biases():
    # Glorot & Bengio (2010), eq. 16: U(-r, r), r = sqrt(6 / (fan_in + fan_out)); variance r^2 / 3.
    net = textbook_mlp(init_seed=5)
    for layer in (m for m in net if isinstance(m, nn.Linear)):
        r = math.sqrt(6 / (layer.in_features + layer.out_features))
        w = layer.weight.detach()
        assert float(w.abs().max()) <= r
        if w.numel() > 10_000:
            assert abs(float(w.var()) - r * r / 3) < 0.02 * r * r / 3
        assert torch.count_nonzero(layer.bias) == 0


def test_same_seed_same_weights_different_seed_different_weights():
    a, b, c = textbook_mlp(3), textbook_mlp(3), textbook_mlp(4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[0].weight, c[0].weight)
    # Independent of the global RNG state.
    torch.manual_seed(999)
    assert torch.equal(textbook_mlp(3)[0].weight, a[0].weight)


def test_variants_build_and_run():
    x = torch.rand(5, 784)
    assert relu_mlp()(x).shape == (5, 10)
    assert small_cnn(channels=3)(x).shape == (5, 10)
    assert small_cnn(batch_norm=False)(x).shape == (5, 10)


@pytest.mark.parametrize("call, error, message", [
    (lambda: mlp((784,), ()), ValueError, r"sizes must be a list of at least 2 int\(s\)"),
    (lambda: mlp((784, 0, 10), ("tanh",)), ValueError, "every entry of sizes must be an int >= 1, got 0"),
    (lambda: mlp((784, 64, 10), ()), ValueError, "need 1 activations"),
    (lambda: mlp((784, 64, 10), ("swish",)), ValueError, "unknown activation"),
    (lambda: textbook_mlp(-1), ValueError, "init_seed must be an int >= 0, got -1"),
    (lambda: textbook_mlp(1.5), TypeError, "init_seed must be an int"),
    (lambda: small_cnn(channels=0), ValueError, "channels must be an int >= 1, got 0"),
    (lambda: build_model("vgg"), ValueError, "unknown model 'vgg'"),
    (lambda: build_model(3), TypeError, "a name or a callable"),
    (lambda: xavier_init_(nn.Linear(2, 2), "x"), TypeError, "init_seed must be an int"),
    (lambda: pick_device("gpu"), ValueError, "unknown device 'gpu'"),
    (lambda: pick_device(7), TypeError, "device must be a string"),
    (lambda: seeded_generator(-3), ValueError, "seed must be an int >= 0, got -3"),
])
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_integers_are_seeds_and_sizes():
    assert seeded_generator(np.int64(2)).initial_seed() == 2
    assert mlp(np.array([3, 4, 2]), ("tanh",), init_seed=np.int32(1))[0].in_features == 3


def test_device_choice_argument_environment_and_fallback(monkeypatch):
    monkeypatch.delenv("LR_BOOK_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device().type == expected
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("LR_BOOK_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    monkeypatch.setenv("LR_BOOK_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"unknown device 'tpu' \(from \$LR_BOOK_DEVICE\)"):
        pick_device()


def test_asking_for_a_missing_accelerator_is_an_error_not_a_fallback():
    if torch.cuda.is_available():
        assert pick_device("cuda").type == "cuda"
    else:
        with pytest.raises(ValueError, match="not available on this machine"):
            pick_device("cuda")


def test_budget_switch(monkeypatch):
    monkeypatch.delenv("LR_BOOK_BUDGET", raising=False)
    assert budget.current() == "full" and budget.pick(quick=1, full=2) == 2
    monkeypatch.setenv("LR_BOOK_BUDGET", "quick")
    assert budget.is_quick() and budget.pick(quick=1, full=2) == 1
    monkeypatch.setenv("LR_BOOK_BUDGET", "medium")
    with pytest.raises(ValueError, match="allowed: quick, full"):
        budget.current()


def test_has_batch_norm_finds_the_layers_anywhere():
    from lib.core.models import has_batch_norm

    assert has_batch_norm(small_cnn(0, batch_norm=True))
    assert not has_batch_norm(small_cnn(0, batch_norm=False)) and not has_batch_norm(textbook_mlp(0))
