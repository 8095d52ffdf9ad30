"""The gradient noise scale on any model and loader (noise_scale) against plain autograd and a closed form.

* per-example and two-batch estimates against the same formulas evaluated on gradients taken by one
  plain ``backward`` per example (per batch), with the jackknife recomputed by hand;
* both estimates against the exact B_simple of a linear regression (lib.batch_size.synthetic's
  closed form), within their own standard errors;
* batch norm's statistics and every mode untouched; the bad-input table.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lib.batch_size.gradient_noise import noise_scale
from lib.batch_size.synthetic import linear_regression_moments
from tests.fakes import DictDataset


class Dicts(DictDataset):
    def __init__(self, n=96, seed=1):
        super().__init__(n, features=6, classes=3, seed=seed)


def net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))


def obj(model, batch):
    return F.cross_entropy(model(batch["image"]), batch["label"])


def flat_grad(model, loss):
    model.zero_grad()
    loss.backward()
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double().numpy()


def pooled(gradients):
    """(|G|^2, tr Sigma) from per-example gradients (n, P): the unbiased pair, written out."""
    n = len(gradients)
    mean = gradients.mean(0)
    trace = ((gradients - mean) ** 2).sum() / (n - 1)
    return mean @ mean - trace / n, trace


def jackknife(estimates):
    N = len(estimates)
    return np.sqrt((N - 1) / N * np.sum((estimates - estimates.mean()) ** 2))


def test_per_example_estimate_matches_plain_autograd_on_a_dict_loader():
    model, loader = net(), DataLoader(Dicts(), batch_size=16)
    batches = list(loader)
    per_batch = [np.stack([flat_grad(model, F.cross_entropy(model(b["image"][i:i + 1]), b["label"][i:i + 1]))
                           for i in range(16)]) for b in batches]
    g2, tr = pooled(np.concatenate(per_batch))
    got = noise_scale(model, loader, objective=obj, n_batches=6)
    assert got.g_squared == pytest.approx(g2, rel=1e-4) and got.trace_sigma == pytest.approx(tr, rel=1e-4)
    assert got.b_simple == pytest.approx(tr / g2, rel=1e-4) and got.examples == 96 and got.batches == 6
    replicates = np.array([(lambda p: p[1] / p[0])(pooled(np.concatenate(per_batch[:j] + per_batch[j + 1:])))
                           for j in range(6)])
    assert np.allclose(got.per_batch, replicates, rtol=1e-4)
    assert got.standard_error == pytest.approx(jackknife(replicates), rel=1e-3)
    # the loss form with keys gives the same numbers
    keyed = noise_scale(model, loader, loss=F.cross_entropy, inputs="image", target="label", n_batches=6)
    assert keyed.b_simple == pytest.approx(got.b_simple, rel=1e-12)


def test_two_batch_estimate_matches_plain_autograd():
    model, loader = net(1), DataLoader(Dicts(), batch_size=16)
    small_sq, big_sq = [], []
    for b in loader:
        big = flat_grad(model, F.cross_entropy(model(b["image"]), b["label"]))
        small = flat_grad(model, F.cross_entropy(model(b["image"][:4]), b["label"][:4]))
        big_sq.append(big @ big)
        small_sq.append(small @ small)
    small_sq, big_sq = np.array(small_sq), np.array(big_sq)
    g2 = (16 * big_sq - 4 * small_sq) / 12                          # McCandlish et al., Appendix A.1
    tr = (small_sq - big_sq) / (1 / 4 - 1 / 16)
    got = noise_scale(model, loader, objective=obj, n_batches=6, method="two_batch", b_small=4)
    assert got.g_squared == pytest.approx(g2.mean(), rel=1e-4)
    assert got.trace_sigma == pytest.approx(tr.mean(), rel=1e-4)
    replicates = np.array([np.delete(tr, j).mean() / np.delete(g2, j).mean() for j in range(6)])
    assert got.standard_error == pytest.approx(jackknife(replicates), rel=1e-3)


@pytest.mark.parametrize("method", ["per_example", "two_batch"])
def test_both_estimates_find_the_closed_form_within_their_standard_error(method):
    """Linear regression, x ~ N(0, C), y = eps: B_simple = [(d'Cd + s^2) tr C + |Cd|^2] / |Cd|^2."""
    d, n, noise = 5, 12_800, 0.5
    g = torch.Generator().manual_seed(0)
    scales = torch.linspace(0.5, 2.0, d, dtype=torch.float64)
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * scales.sqrt()
    y = noise * torch.randn(n, generator=g, dtype=torch.float64)
    model = nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.linspace(-1.0, 1.0, d, dtype=torch.float64)[None] + 0.3)
    G, Sigma = linear_regression_moments(model.weight.detach().numpy()[0], np.zeros(d), np.diag(scales.numpy()), noise)
    truth = np.trace(Sigma) / (G @ G)
    loader = DataLoader(TensorDataset(x, y), batch_size=256)
    got = noise_scale(model, loader, loss=lambda out, t: (out.squeeze(1) - t).pow(2).mean(),
                      n_batches=50, method=method)
    assert abs(got.b_simple - truth) < 4 * got.standard_error
    # an uncertainty, not a shrug; the two-batch estimate (two norms per batch) is far noisier
    assert 0.002 * truth < got.standard_error < (0.05 if method == "per_example" else 1.0) * truth
    low, high = got.batch_range(2.0)
    assert (low, high) == pytest.approx((got.b_simple / 2, got.b_simple * 2))
    # at the range's ends McCandlish et al.'s overheads reach 2: S/S_min - 1 = B/low, E/E_min - 1 = high/B
    assert got.b_simple / low == pytest.approx(2.0) and high / got.b_simple == pytest.approx(2.0)


def test_batch_norm_statistics_modes_and_gradients_are_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 3))
    model(torch.randn(32, 6))                                            # running statistics worth keeping
    model[3].eval()
    before = copy.deepcopy(model.state_dict())
    modes = [m.training for m in model.modules()]
    for method in ("per_example", "two_batch"):
        got = noise_scale(model, DataLoader(Dicts(), batch_size=16, shuffle=True), objective=obj, n_batches=3,
                          method=method)
        assert np.isfinite(got.b_simple)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert [m.training for m in model.modules()] == modes
    assert all(p.grad is None for p in model.parameters())


FROZEN = net().requires_grad_(False)
LOADER = DataLoader(Dicts(), batch_size=16)


@pytest.mark.parametrize("call, error, message", [
    (lambda: noise_scale(net(), [], objective=obj), ValueError, "batches is empty"),
    (lambda: noise_scale(FROZEN, LOADER, objective=obj), ValueError, "require gradients"),
    (lambda: noise_scale(net(), LOADER, loss=F.cross_entropy), ValueError, "naming its keys"),
    (lambda: noise_scale(net(), [(torch.zeros(4, 9), torch.zeros(4).long())], loss=F.cross_entropy),
     ValueError, r"received, tuple \(Tensor\(4, 9\)"),
    (lambda: noise_scale(net(), LOADER, objective=obj, n_batches=1), ValueError, "n_batches must be an int >= 2"),
    (lambda: noise_scale(net(), LOADER, objective=obj, method="three"), ValueError, "unknown method"),
    (lambda: noise_scale(net(), LOADER, objective=obj, method="two_batch", b_small=16), ValueError,
     "b_small must be smaller than b_big"),
    (lambda: noise_scale(net(), LOADER, objective=obj), None, None),
])
def test_bad_input_table(call, error, message):
    if error is None:
        assert np.isfinite(call().b_simple)
        return
    with pytest.raises(error, match=message):
        call()


def test_an_estimate_that_is_not_measurable_says_why():
    from lib.batch_size.gradient_noise import NoiseScale
    common = dict(standard_error=np.inf, per_batch=np.array([np.nan]), method="two_batch", batches=2,
                  examples=64, loss=1.0)
    negative_trace = NoiseScale(b_simple=np.nan, g_squared=0.3, trace_sigma=-2.0, **common)
    negative_signal = NoiseScale(b_simple=np.nan, g_squared=-0.1, trace_sigma=2.0, **common)
    assert "tr(Sigma) estimate is negative" in negative_trace.not_measurable
    assert "|G|^2 estimate is not positive" in negative_signal.not_measurable
    assert NoiseScale(b_simple=4.0, g_squared=0.5, trace_sigma=2.0, **common).not_measurable == ""
