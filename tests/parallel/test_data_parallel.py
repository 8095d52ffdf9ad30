"""Data-parallel SGD (two gloo processes under torchrun) against plain single-process torch loops written here.

One launch carries every case (each launch costs seconds of process start-up).  The truths are computed
independently: a plain ``torch.optim.SGD`` loop over the same examples, and for the failure cases what each
process really computes (padded shards, each half batch with its own batch-norm statistics).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.core.models import small_cnn, textbook_mlp
from lib.parallel import launch

W, N, B, STEPS, RATE, PADDED = 2, 256, 32, 3, 0.5, 101


def _order(n, count, seed=0):
    """The examples in training order: seeded permutations of range(n), epoch after epoch."""
    perms = [torch.randperm(n, generator=torch.Generator().manual_seed(seed + e)) for e in range(count // n + 1)]
    return torch.cat(perms)[:count]


def _grad(net):
    return torch.cat([p.grad.reshape(-1) for p in net.parameters()]).clone()


def _params(net):
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()]).numpy()


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(1)
    return {"x": torch.rand(N, 784, generator=g, dtype=torch.float64), "y": torch.randint(0, 10, (N,), generator=g)}


@pytest.fixture(scope="module")
def result(data):
    sgd = dict(kind="sgd", init_seed=0, seed=0, rate=RATE, global_batch=B, steps=STEPS, dtype="float64",
               reduction="mean", model="textbook")
    tasks = [dict(sgd, label="mean"), dict(sgd, label="sum", reduction="sum"),
             dict(sgd, label="bn", model="cnn", steps=1),
             dict(kind="epoch_gradient", label="padded", model="textbook", init_seed=0, dtype="float64",
                  examples=PADDED, sharding="sampler"),
             dict(kind="epoch_gradient", label="uneven", model="textbook", init_seed=0, dtype="float64",
                  examples=PADDED, sharding="uneven")]
    return launch.run_workers(tasks, data, W, timeout=180)


def _plain_sgd(data, reduction="mean", steps=STEPS):
    net = textbook_mlp(0).double()
    opt = torch.optim.SGD(net.parameters(), lr=RATE)
    order = _order(N, steps * B)
    first = None
    for s in range(steps):
        idx = order[s * B:(s + 1) * B]
        opt.zero_grad()
        F.cross_entropy(net(data["x"][idx]), data["y"][idx], reduction=reduction).backward()
        first = _grad(net) if first is None else first
        opt.step()
    return _params(net), first.numpy()


def test_two_processes_at_half_the_batch_match_one_process(result, data):
    params, first = _plain_sgd(data)
    assert result["world_size"] == W and result["backend"] == "gloo"
    assert np.abs(result["mean"]["params"] - params).max() < 1e-12
    assert np.abs(result["mean"]["first_gradient"] - first).max() < 1e-12


def test_the_hook_reads_each_process_s_own_gradient(result, data):
    """small_sq_norm: the mean over processes of |local gradient|^2; big: |averaged gradient|^2."""
    net = textbook_mlp(0).double()
    idx = _order(N, B)
    local = []
    for r in range(W):
        net.zero_grad()
        part = idx[r * B // W:(r + 1) * B // W]
        F.cross_entropy(net(data["x"][part]), data["y"][part]).backward()
        local.append(_grad(net))
    np.testing.assert_allclose(result["mean"]["small_sq_norm"][0], np.mean([float(g @ g) for g in local]),
                               rtol=1e-10)
    average = (local[0] + local[1]) / 2
    np.testing.assert_allclose(result["mean"]["big_sq_norm"][0], float(average @ average), rtol=1e-10)


def test_a_summed_loss_averages_sums_the_gradient_is_w_times_too_small(result, data):
    params, first = _plain_sgd(data, reduction="sum")
    ratio = np.linalg.norm(result["sum"]["first_gradient"]) / np.linalg.norm(first)
    assert abs(ratio - 1 / W) < 1e-12
    np.testing.assert_allclose(result["sum"]["first_gradient"], first / W, rtol=0, atol=1e-12)
    assert np.linalg.norm(result["sum"]["params"] - params) / np.linalg.norm(params) > 1e-3


def test_distributed_sampler_pads_unequal_shards_with_repeated_examples(result, data):
    net = textbook_mlp(0).double()
    x, y = data["x"][:PADDED], data["y"][:PADDED]
    F.cross_entropy(net(x), y).backward()
    full = _grad(net).numpy()
    # DistributedSampler without shuffling: indices 0..100 then index 0 again, rank r takes every W-th
    padded = list(range(PADDED)) + [0]
    shards = [padded[r::W] for r in range(W)]
    assert [len(s) for s in shards] == list(result["padded"]["shard_sizes"]) == [51, 51]
    grads = []
    for s in shards:
        net.zero_grad()
        F.cross_entropy(net(x[s]), y[s]).backward()
        grads.append(_grad(net).numpy())
    np.testing.assert_allclose(result["padded"]["gradient"], np.mean(grads, axis=0), rtol=0, atol=1e-12)
    assert np.linalg.norm(result["padded"]["gradient"] - full) / np.linalg.norm(full) > 1e-4
    np.testing.assert_allclose(result["uneven"]["gradient"], full, rtol=0, atol=1e-12)   # the weighted fix


def test_per_process_batch_norm_statistics_change_the_gradient(result, data):
    idx = _order(N, B)
    net = small_cnn(0).double()
    F.cross_entropy(net(data["x"][idx]), data["y"][idx]).backward()
    whole = _grad(net).numpy()
    halves = []
    for r in range(W):                   # what each process computes: batch norm over its own half
        net = small_cnn(0).double()
        part = idx[r * B // W:(r + 1) * B // W]
        F.cross_entropy(net(data["x"][part]), data["y"][part]).backward()
        halves.append(_grad(net).numpy())
    np.testing.assert_allclose(result["bn"]["first_gradient"], np.mean(halves, axis=0), rtol=0, atol=1e-12)
    assert np.linalg.norm(result["bn"]["first_gradient"] - whole) / np.linalg.norm(whole) > 1e-3
