"""SWA training (lib.swa.training) against independent references.

* pretraining, and pretraining plus continuing at the same rate, against the grid engine's SGD;
* a whole SWA run against a reference written the way a tutorial would write it:
  ``DataLoader`` over the documented batch order, ``torch.optim.SGD``, the rate
  set from eq. (2) by hand, snapshots copied at every cycle's end and averaged
  with ``torch.stack(...).mean(0)``: no ``AveragedModel`` involved;
* the EMA against the recursion ``e <- d e + (1 - d) w`` in float64;
* ``update_bn``'s statistics against batch means and variances computed directly.
"""
from __future__ import annotations

import copy

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from lib.core.engine import train_grid
from lib.core.members import Member
from lib.core.models import small_cnn, textbook_mlp
from lib.swa import plans, training

N = 256


def test_pretraining_is_the_engines_sgd(toy):
    checkpoint = training.pretrain(toy, lr=0.3, epochs=2, batch_size=32, seed=1)
    engine = train_grid(Member(lr=0.3, init_seed=1, data_seed=1), toy, epochs=2, batch_size=32,
                        progress=False).model(0)
    for (name, p), q in zip(checkpoint.model.named_parameters(), engine.parameters()):
        torch.testing.assert_close(p, q, atol=2e-5, rtol=1e-5, msg=name)
    assert checkpoint.step == 2 * math.ceil(N / 32)
    assert checkpoint.step_loss.shape == (checkpoint.step,) and np.isfinite(checkpoint.step_loss).all()


def test_zero_epochs_of_pretraining_is_the_initial_network(toy):
    checkpoint = training.pretrain(toy, lr=0.3, epochs=0, batch_size=32, seed=4)
    for p, q in zip(checkpoint.model.parameters(), textbook_mlp(4).parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert checkpoint.step == 0 and checkpoint.step_loss.size == 0


def test_continuing_follows_the_same_batches_as_one_long_run(toy):
    # 1 epoch + 2 more at the same constant rate = 3 epochs of the engine's SGD.
    checkpoint = training.pretrain(toy, lr=0.2, epochs=1, batch_size=64, seed=3)
    run = training.continue_run(checkpoint, plans.constant(0.2, 4), toy, epochs=2, track=False)
    engine = train_grid(Member(lr=0.2, init_seed=3, data_seed=3), toy, epochs=3, batch_size=64,
                        progress=False).model(0)
    for p, q in zip(run.iterate.parameters(), engine.parameters()):
        torch.testing.assert_close(p, q, atol=2e-5, rtol=1e-5)


def reference_cyclical_swa(paper_rate, data, lr, pre_epochs, phase_epochs, batch_size, seed, alpha_1, alpha_2, c):
    """SWA as a tutorial writes it: a DataLoader loop, the rate from eq. (2), snapshots averaged by hand."""
    net = textbook_mlp(seed)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    dataset = TensorDataset(data.x_train, data.y_train)
    rates, snapshots, losses, i = [], [], [], 0
    for epoch in range(pre_epochs + phase_epochs):
        perm = torch.randperm(len(dataset), generator=order).tolist()
        for xb, yb in DataLoader(dataset, batch_size=batch_size, sampler=perm):
            averaging = epoch >= pre_epochs
            if averaging:
                i += 1
                for group in opt.param_groups:
                    group["lr"] = paper_rate(i, alpha_1, alpha_2, c)
                rates.append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            loss = F.cross_entropy(net(xb), yb)
            if averaging:
                losses.append(loss.item())
            loss.backward()
            opt.step()
            if averaging and i % c == 0:
                snapshots.append({k: p.detach().clone() for k, p in net.named_parameters()})
    mean = {k: torch.stack([s[k] for s in snapshots]).mean(0) for k in snapshots[0]}
    return np.array(rates), snapshots, mean, net, np.array(losses)


def test_cyclical_swa_run_against_a_hand_written_reference(toy, paper_rate):
    lr, alpha_1, alpha_2, c = 0.3, 0.4, 0.02, 3
    checkpoint = training.pretrain(toy, lr=lr, epochs=1, batch_size=32, seed=2)
    run = training.continue_run(checkpoint, plans.cyclical(alpha_1, alpha_2, c), toy, epochs=2, track=True,
                                keep_snapshots=True)
    rates, snapshots, mean, net, losses = reference_cyclical_swa(paper_rate, toy, lr, 1, 2, 32, 2, alpha_1, alpha_2, c)
    np.testing.assert_allclose(run.rates, rates, rtol=1e-12)
    np.testing.assert_allclose(run.step_loss, losses, rtol=1e-4)
    assert len(run.snapshots) == len(snapshots) == (2 * N // 32) // c
    for mine, theirs in zip(run.snapshots, snapshots):
        for k in theirs:
            torch.testing.assert_close(mine[k], theirs[k], atol=2e-5, rtol=1e-5)
    # the averaged weights are the mean of the snapshots (AveragedModel against torch.stack().mean())
    for k, p in run.average.named_parameters():
        torch.testing.assert_close(p, mean[k], atol=2e-5, rtol=1e-5)
    # ... and exactly the mean of the snapshots the run itself took
    own_mean = {k: torch.stack([s[k] for s in run.snapshots]).mean(0) for k in run.snapshots[0]}
    for k, p in run.average.named_parameters():
        torch.testing.assert_close(p, own_mean[k], atol=1e-6, rtol=1e-6)
    for p, q in zip(run.iterate.parameters(), net.parameters()):
        torch.testing.assert_close(p, q, atol=2e-5, rtol=1e-5)
    # tracking: the last running-average accuracy is the final average's accuracy on the validation set
    correct = (run.average(toy.x_val).argmax(1) == toy.y_val).double().mean().item()
    assert run.average_val_acc[-1] == pytest.approx(correct, abs=1e-6)
    assert run.average_stale_bn is None and run.ema is None
    # the epochs of the record: the run starts after the checkpoint's epoch
    per_epoch = math.ceil(N / 32)
    np.testing.assert_allclose(run.update_epochs[[0, -1]], [1 + 1 / per_epoch, 3])
    np.testing.assert_allclose(run.snapshot_epochs, (per_epoch + np.arange(c, 2 * per_epoch + 1, c)) / per_epoch)


def test_the_checkpoint_is_left_unchanged(toy, checkpoint):
    before = {k: v.clone() for k, v in checkpoint.model.state_dict().items()}
    state = checkpoint.generator_state.clone()
    training.continue_run(checkpoint, plans.cyclical(0.2, 0.02, 2), toy, epochs=1, track=False)
    for k, v in checkpoint.model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    assert torch.equal(checkpoint.generator_state, state)


def test_ema_is_the_exponential_recursion_over_every_iterate(toy):
    d = 0.9
    checkpoint = training.pretrain(toy, lr=0.2, epochs=1, batch_size=64, seed=0)
    run = training.continue_run(checkpoint, plans.constant(0.2, 1, ema_decay=d), toy, epochs=2, track=False,
                                keep_snapshots=True)          # every=1: a snapshot of every iterate
    assert len(run.snapshots) == 2 * N // 64
    ema = {k: v.double() for k, v in run.snapshots[0].items()}
    for snap in run.snapshots[1:]:
        ema = {k: d * ema[k] + (1 - d) * snap[k].double() for k in ema}
    for k, p in run.ema.named_parameters():
        torch.testing.assert_close(p.double(), ema[k], atol=1e-6, rtol=1e-5)


def cnn(seed):
    return small_cnn(seed, channels=2)


def test_batch_norm_statistics_are_recomputed_for_the_average(toy):
    data = toy.subset(n_train=64)
    checkpoint = training.pretrain(data, model=cnn, lr=0.1, epochs=1, batch_size=16, seed=0)
    assert checkpoint.batch_norm
    run = training.continue_run(checkpoint, plans.constant(0.1, 2), data, epochs=2, track=False,
                                keep_snapshots=True)
    # the stale statistics are the iterate's (the last snapshot is the last step)
    for (name, stale), iterate in zip(run.average_stale_bn.named_buffers(), run.iterate.buffers()):
        torch.testing.assert_close(stale, iterate, msg=name)
    # the weights are the mean of the snapshots, with or without fresh statistics
    mean = {k: torch.stack([s[k] for s in run.snapshots]).mean(0) for k in run.snapshots[0]}
    for model in (run.average, run.average_stale_bn):
        for k, p in model.named_parameters():
            torch.testing.assert_close(p, mean[k], atol=1e-6, rtol=1e-6)
    # recomputed: mean and unbiased variance of the first layer's channels over the training images
    average = run.average
    with torch.no_grad():
        z = average.features[0](data.x_train.reshape(-1, 1, 28, 28))      # one update_bn batch of 64
    bn = average.features[1]
    torch.testing.assert_close(bn.running_mean, z.mean((0, 2, 3)), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(bn.running_var, z.var((0, 2, 3), unbiased=True), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(bn.running_mean, run.average_stale_bn.features[1].running_mean)


def test_recompute_bn_gives_the_statistics_of_all_examples_whatever_the_batches():
    model = small_cnn(0, channels=2)
    x = torch.rand(40, 784, generator=torch.Generator().manual_seed(0))
    fresh = training.recompute_bn(model, x, batch_size=16)             # batches of 16, 16, 8
    with torch.no_grad():
        z = model.features[0](x.reshape(-1, 1, 28, 28)).double()       # the first layer's input to batch norm
    torch.testing.assert_close(fresh.features[1].running_mean, z.mean((0, 2, 3)).float(), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(fresh.features[1].running_var, z.var((0, 2, 3)).float(), atol=1e-6, rtol=1e-5)
    assert model.features[1].running_mean.abs().max() == 0          # the original is untouched
    assert [len(b) for b in training.bn_batches(x, 16)] == [16, 16, 8]


def test_update_bn_weighs_a_last_batch_of_one_as_much_as_a_full_one_and_recompute_bn_does_not():
    # 513 inputs in batches of 512: torch's update_bn averages the two batches' statistics
    from torch.optim.swa_utils import update_bn

    layer = torch.nn.Sequential(torch.nn.Unflatten(1, (1, 4, 4)), torch.nn.BatchNorm2d(1))   # 16 pixels, 1 channel
    x = torch.randn(513, 16, generator=torch.Generator().manual_seed(1)) * 2.0 + 0.5
    x[-1] = torch.linspace(20.0, 40.0, 16)                            # the lone last image is unusual
    truth_mean, truth_var = x.double().mean().reshape(1), x.double().var().reshape(1)
    torch_way = copy.deepcopy(layer)
    update_bn(training.bn_batches(x, 512), torch_way)
    ours = training.recompute_bn(layer, x, batch_size=512)
    torch.testing.assert_close(ours[1].running_mean.double(), truth_mean, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ours[1].running_var.double(), truth_var, rtol=1e-6, atol=1e-6)
    assert abs(float(torch_way[1].running_mean) / float(truth_mean) - 1) > 0.1     # update_bn: > 10 % off
    assert abs(float(torch_way[1].running_var) / float(truth_var) - 1) > 0.1
    assert int(ours[1].num_batches_tracked) == int(torch_way[1].num_batches_tracked) == 2


def test_a_diverging_run_is_recorded_not_raised(toy):
    checkpoint = training.pretrain(toy, lr=0.1, epochs=1, batch_size=64, seed=0)
    run = training.continue_run(checkpoint, plans.cyclical(3e38, 1e38, 2), toy, epochs=2, track=True)
    assert run.diverged and 0 <= run.diverged_at < len(run.rates)
    assert np.isnan(run.step_loss[run.diverged_at:]).all()
    assert np.isfinite(run.step_loss[:run.diverged_at]).all()
    assert run.iterate is None and run.average is None


def test_compare_runs_every_plan_from_one_checkpoint_per_seed(toy):
    plan_list = [plans.decay(0.01), plans.cyclical(0.3, 0.03, 4)]
    comparison = training.compare(toy, plan_list, lr=0.3, epochs=2, swa_start=1, batch_size=64, seeds=[0, 1],
                                  track=False)
    runs = comparison.runs
    assert list(runs) == [p.name for p in plan_list]
    assert sorted(comparison.checkpoints) == [0, 1] and comparison.checkpoints[1].step == math.ceil(N / 64)
    assert [r.seed for r in runs[plan_list[1].name]] == [0, 1]
    # both plans start from the same weights: the first batch loss is the same
    assert runs[plan_list[0].name][0].step_loss[0] == runs[plan_list[1].name][0].step_loss[0]


BAD_INPUTS = [
    (lambda d, c: training.continue_run(c, plans.cyclical(0.2, 0.01, 1000), d, epochs=1), ValueError,
     "fewer than one cycle"),
    (lambda d, c: training.continue_run(c, plans.decay(0.01), d, epochs=0), ValueError,
     "epochs must be an int >= 1, got 0"),
    (lambda d, c: training.continue_run(c, "cyclical", d, epochs=1), TypeError,
     "plan must be a lib.swa.plans.SWAPlan"),
    (lambda d, c: training.continue_run("model", plans.decay(0.01), d, epochs=1), TypeError,
     "checkpoint must be a lib.swa.training.Checkpoint"),
    (lambda d, c: training.continue_run(c, plans.decay(0.01), d, epochs=1, bn_examples=10**6), ValueError,
     "bn_examples must be an int between 1 and 256, got 1000000"),
    (lambda d, c: training.continue_run(c, plans.decay(0.01), d, epochs=1, track=1), TypeError,
     "track must be True or False"),
    (lambda d, c: training.continue_run(c, plans.decay(0.01), d.subset(), epochs=1, keep_snapshots="yes"),
     TypeError, "keep_snapshots must be True or False"),
    (lambda d, c: training.continue_run(c, plans.decay(0.01), type(d)(d.x_train, d.y_train), epochs=1), ValueError,
     "track=True measures validation accuracy, but data has no validation split"),
    (lambda d, c: training.compare(d, [plans.decay(0.01)], lr=0.1, epochs=3, swa_start=3), ValueError,
     "averaging would start at epoch 3, but training ends after 3 epochs"),
    (lambda d, c: training.compare(d, [plans.decay(0.01), plans.decay(0.01)], lr=0.1, epochs=2, swa_start=1),
     ValueError, "plan names must be distinct"),
    (lambda d, c: training.compare(d, [], lr=0.1, epochs=2, swa_start=1), TypeError,
     "plans must be a non-empty list"),
    (lambda d, c: training.compare(d, [plans.decay(0.01)], lr=0.1, epochs=2, swa_start=1, seeds=[0, 0]),
     ValueError, "seeds must be distinct"),
    (lambda d, c: training.pretrain(d, lr=0.1, epochs=1, batch_size=10**6), ValueError,
     "batch_size must be an int between 1 and 256, got 1000000"),
    (lambda d, c: training.pretrain(d, lr=0.0, epochs=1), ValueError, "lr must be a finite number > 0"),
    (lambda d, c: training.pretrain(d, lr=0.1, epochs=-1), ValueError, "epochs must be an int >= 0"),
    (lambda d, c: training.pretrain((d.x_train, d.y_train), lr=0.1, epochs=1), TypeError,
     "data must be lib.core.data.Splits"),
    (lambda d, c: training.pretrain(type(d)(d.x_train, d.y_train.float()), lr=0.1, epochs=1), ValueError,
     "data.y_train must hold int64 class labels"),
    (lambda d, c: training.pretrain(d, lr=3e38, epochs=1), ValueError, "pretraining at lr=3e+38 diverged"),
    (lambda d, c: training.recompute_bn("model", d.x_train), TypeError, "model must be an nn.Module"),
    (lambda d, c: training.bn_batches(d.x_train, 0), ValueError, "batch_size must be an int >= 1"),
    (lambda d, c: training.bn_batches([1.0], 4), TypeError, "x must be a non-empty torch.Tensor"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(toy, checkpoint, call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(toy, checkpoint)
