"""lib.core.losses: every shape of every loss against torch.nn.functional and autograd."""
import pytest
import torch
import torch.nn.functional as F

from lib.core import losses


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    K, C, B = 3, 5, 7
    logits = torch.randn(K, C, B, generator=g, dtype=torch.float64)
    labels = torch.randint(0, C, (B,), generator=g)
    per_member_labels = torch.randint(0, C, (K, B), generator=g)
    targets = torch.randn(B, C, generator=g, dtype=torch.float64)
    return logits, labels, per_member_labels, targets


def test_cross_entropy_in_every_shape(batch):
    logits, labels, per_member, _ = batch
    loss = losses.get("cross_entropy")
    expected = torch.stack([F.cross_entropy(logits[k].T, labels) for k in range(3)])
    assert torch.allclose(loss.stacked(logits, labels), expected, rtol=1e-12)
    expected = torch.stack([F.cross_entropy(logits[k].T, per_member[k]) for k in range(3)])
    assert torch.allclose(loss.stacked(logits, per_member), expected, rtol=1e-12)
    assert torch.allclose(loss.mean(logits[0].T, labels), F.cross_entropy(logits[0].T, labels))
    assert torch.allclose(loss.per_example(logits[0].T, labels).mean(), F.cross_entropy(logits[0].T, labels))
    assert loss.classification


def test_mse_in_every_shape(batch):
    logits, _, _, targets = batch
    loss = losses.get("mse")
    expected = torch.stack([F.mse_loss(logits[k].T, targets) for k in range(3)])
    assert torch.allclose(loss.stacked(logits, targets), expected, rtol=1e-12)
    assert torch.equal(loss.mean(logits[0].T, targets), F.mse_loss(logits[0].T, targets))
    assert torch.allclose(loss.per_example(logits[0].T, targets), ((logits[0].T - targets) ** 2).mean(1))
    assert not loss.classification


@pytest.mark.parametrize("name", ["cross_entropy", "mse"])
def test_the_stacked_gradient_is_autograds(batch, name):
    logits, labels, _, targets = batch
    loss = losses.get(name)
    y = labels if name == "cross_entropy" else targets
    z = logits.clone().requires_grad_(True)
    (autograd,) = torch.autograd.grad(loss.stacked(z, y).sum(), z)
    assert torch.allclose(loss.stacked_gradient(logits.clone(), y), autograd, rtol=1e-10, atol=1e-14)


def test_a_readers_own_loss_function_is_taken_as_it_is():
    def hinge(outputs, targets):
        return (1 - outputs).clamp_min(0).mean()
    assert losses.mean_loss_function(hinge) is hinge
    assert losses.mean_loss_function("mse") is losses.LOSSES["mse"].mean


@pytest.mark.parametrize("call, error, message", [
    (lambda: losses.get("hinge"), ValueError, "unknown loss 'hinge'; allowed: cross_entropy, mse"),
    (lambda: losses.mean_loss_function(3), TypeError, "loss must be one of cross_entropy, mse or a function"),
    (lambda: losses.mean_loss_function("l1"), ValueError, "unknown loss 'l1'"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
