"""Stochastic weight averaging (lib.swa) against independent references.

* the cyclical rate against the paper's eq. (2) transcribed literally (1-based
  iteration, ``mod``) and against values worked out by hand;
* SWALR's and LinearLR's rates against the closed forms in PyTorch's documentation;
* a whole SWA run against a reference written the way a tutorial would write it:
  ``DataLoader`` over the documented batch order, ``torch.optim.SGD``, the rate
  set from eq. (2) by hand, snapshots copied at every cycle's end and averaged
  with ``torch.stack(...).mean(0)``: no ``AveragedModel`` involved;
* the EMA against the recursion ``e <- d e + (1 - d) w`` in float64;
* ``update_bn``'s statistics against batch means and variances computed directly;
* the weight plane against its defining properties, and its losses against a
  plain forward pass of a network holding the point's weights.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from lib import swa
from lib.data import Splits
from lib.models import small_cnn, textbook_mlp
from lib.train import Member, train_grid

N, D = 256, 784


@pytest.fixture(scope="module")
def toy():
    g = torch.Generator().manual_seed(7)
    x = torch.rand(N + 128, D, generator=g)
    y = torch.randint(0, 10, (N + 128,), generator=g)
    return Splits(x[:N], y[:N], x[N:N + 64], y[N:N + 64], x[N + 64:], y[N + 64:])


def paper_rate(i: int, alpha_1: float, alpha_2: float, c: int) -> float:
    """Izmailov et al. (2018), eq. (2), for the 1-based iteration i, as printed."""
    t = (((i - 1) % c) + 1) / c
    return (1 - t) * alpha_1 + t * alpha_2


# --------------------------------------------------------------------------- rates

@pytest.mark.parametrize("alpha_1, alpha_2, c", [(1.0, 0.1, 4), (0.05, 0.0005, 7), (0.3, 0.3, 3), (2.0, 0.5, 1)])
def test_cyclical_rate_is_the_papers_formula_at_every_step(alpha_1, alpha_2, c):
    steps = 5 * c + 3
    expected = np.array([paper_rate(i, alpha_1, alpha_2, c) for i in range(1, steps + 1)])
    np.testing.assert_allclose(swa.cyclical_lr(np.arange(steps), alpha_1, alpha_2, c), expected, rtol=1e-12)
    assert swa.cyclical_lr(0, alpha_1, alpha_2, c) == pytest.approx(expected[0], rel=1e-12)
    plan = swa.cyclical(alpha_1, alpha_2, c)
    np.testing.assert_allclose(plan.learning_rates(alpha_1, steps), expected, rtol=1e-12)


def test_cyclical_rate_by_hand():
    # alpha_1 = 1, alpha_2 = 0.1, c = 4: t = 1/4, 2/4, 3/4, 1, then again.
    rates = swa.cyclical_lr(np.arange(8), 1.0, 0.1, 4)
    np.testing.assert_allclose(rates, [0.775, 0.55, 0.325, 0.1] * 2, rtol=1e-12)
    # one step per cycle is the constant rate alpha_2
    np.testing.assert_allclose(swa.cyclical_lr(np.arange(5), 1.0, 0.1, 1), [0.1] * 5)


def test_snapshots_fall_at_cycle_ends_where_the_rate_is_lowest():
    plan = swa.cyclical(0.5, 0.01, 5)
    steps = 23
    snaps = plan.snapshot_steps(steps)
    np.testing.assert_array_equal(snaps, [4, 9, 14, 19])           # the 5th, 10th, ... updates
    np.testing.assert_allclose(plan.learning_rates(0.5, steps)[snaps], 0.01)
    assert swa.decay(0.01).snapshot_steps(steps).size == 0


@pytest.mark.parametrize("strategy", ["linear", "cos"])
def test_constant_plan_uses_swalr_as_documented(strategy):
    start, target, anneal, steps = 0.8, 0.2, 5, 12
    rates = swa.constant(target, 3, anneal_steps=anneal, anneal_strategy=strategy).learning_rates(start, steps)
    # torch docs: the rate is annealed from its value to swa_lr over anneal_epochs steps, then held.
    k = np.minimum(np.arange(steps) / anneal, 1.0)
    shape = k if strategy == "linear" else (1 - np.cos(np.pi * k)) / 2
    np.testing.assert_allclose(rates, start + (target - start) * shape, rtol=1e-9)


def test_decay_plan_is_linear_to_the_final_rate():
    start, final, steps = 0.5, 0.005, 10
    rates = swa.decay(final).learning_rates(start, steps)
    factor = final / start
    np.testing.assert_allclose(rates, start * (1 + (factor - 1) * np.arange(steps) / steps), rtol=1e-9)


# --------------------------------------------------------------------------- training

def test_pretraining_is_the_engines_sgd(toy):
    checkpoint = swa.pretrain(toy, lr=0.3, epochs=2, batch_size=32, seed=1)
    engine = train_grid(Member(lr=0.3, init_seed=1, data_seed=1), toy, epochs=2, batch_size=32,
                        progress=False).model(0)
    for (name, p), q in zip(checkpoint.model.named_parameters(), engine.parameters()):
        torch.testing.assert_close(p, q, atol=2e-5, rtol=1e-5, msg=name)
    assert checkpoint.step == 2 * math.ceil(N / 32)


def test_continuing_follows_the_same_batches_as_one_long_run(toy):
    # 1 epoch + 2 more at the same constant rate = 3 epochs of the engine's SGD.
    checkpoint = swa.pretrain(toy, lr=0.2, epochs=1, batch_size=64, seed=3)
    run = swa.continue_run(checkpoint, swa.constant(0.2, 4), toy, epochs=2, track=False)
    engine = train_grid(Member(lr=0.2, init_seed=3, data_seed=3), toy, epochs=3, batch_size=64,
                        progress=False).model(0)
    for p, q in zip(run.iterate.parameters(), engine.parameters()):
        torch.testing.assert_close(p, q, atol=2e-5, rtol=1e-5)


def reference_cyclical_swa(data, lr, pre_epochs, phase_epochs, batch_size, seed, alpha_1, alpha_2, c):
    """SWA as a tutorial writes it: a DataLoader loop, the rate from eq. (2), snapshots averaged by hand."""
    net = textbook_mlp(seed)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    dataset = TensorDataset(data.x_train, data.y_train)
    rates, snapshots, i = [], [], 0
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
            F.cross_entropy(net(xb), yb).backward()
            opt.step()
            if averaging and i % c == 0:
                snapshots.append({k: p.detach().clone() for k, p in net.named_parameters()})
    mean = {k: torch.stack([s[k] for s in snapshots]).mean(0) for k in snapshots[0]}
    return np.array(rates), snapshots, mean, net


def test_cyclical_swa_run_against_a_hand_written_reference(toy):
    lr, alpha_1, alpha_2, c = 0.3, 0.4, 0.02, 3
    checkpoint = swa.pretrain(toy, lr=lr, epochs=1, batch_size=32, seed=2)
    run = swa.continue_run(checkpoint, swa.cyclical(alpha_1, alpha_2, c), toy, epochs=2, track=True,
                           keep_snapshots=True)
    rates, snapshots, mean, net = reference_cyclical_swa(toy, lr, 1, 2, 32, 2, alpha_1, alpha_2, c)
    np.testing.assert_allclose(run.rates, rates, rtol=1e-12)
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


def test_ema_is_the_exponential_recursion_over_every_iterate(toy):
    d = 0.9
    checkpoint = swa.pretrain(toy, lr=0.2, epochs=1, batch_size=64, seed=0)
    run = swa.continue_run(checkpoint, swa.constant(0.2, 1, ema_decay=d), toy, epochs=2, track=False,
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
    checkpoint = swa.pretrain(data, model=cnn, lr=0.1, epochs=1, batch_size=16, seed=0)
    assert checkpoint.batch_norm
    run = swa.continue_run(checkpoint, swa.constant(0.1, 2), data, epochs=2, track=False, keep_snapshots=True)
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


def test_recompute_bn_averages_the_statistics_of_its_batches():
    model = small_cnn(0, channels=2)
    x = torch.rand(40, 784, generator=torch.Generator().manual_seed(0))
    fresh = swa.recompute_bn(model, x, batch_size=16)             # batches of 16, 16, 8
    with torch.no_grad():
        z = model.features[0](x.reshape(-1, 1, 28, 28))
    chunks = [z[:16], z[16:32], z[32:]]
    torch.testing.assert_close(fresh.features[1].running_mean,
                               torch.stack([c.mean((0, 2, 3)) for c in chunks]).mean(0), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(fresh.features[1].running_var,
                               torch.stack([c.var((0, 2, 3)) for c in chunks]).mean(0), atol=1e-6, rtol=1e-5)
    assert model.features[1].running_mean.abs().max() == 0          # the original is untouched


def test_a_diverging_run_is_recorded_not_raised(toy):
    checkpoint = swa.pretrain(toy, lr=0.1, epochs=1, batch_size=64, seed=0)
    run = swa.continue_run(checkpoint, swa.cyclical(3e38, 1e38, 2), toy, epochs=2, track=True)
    assert run.diverged and 0 <= run.diverged_at < len(run.rates)
    assert np.isnan(run.step_loss[run.diverged_at:]).all()
    assert run.iterate is None and run.average is None
    metrics = swa.run_metrics(run, toy)
    assert math.isnan(metrics["average"]["test_acc"]) and math.isnan(metrics["iterate"]["test_loss"])
    swa.explorer_figure(run)


def test_compare_runs_every_plan_from_one_checkpoint_per_seed(toy):
    plans = [swa.decay(0.01), swa.cyclical(0.3, 0.03, 4)]
    comparison = swa.compare(toy, plans, lr=0.3, epochs=2, swa_start=1, batch_size=64, seeds=[0, 1], track=False)
    runs = comparison.runs
    assert list(runs) == [p.name for p in plans]
    assert sorted(comparison.checkpoints) == [0, 1] and comparison.checkpoints[1].step == math.ceil(N / 64)
    assert [r.seed for r in runs[plans[1].name]] == [0, 1]
    # both plans start from the same weights: the first batch loss is the same
    assert runs[plans[0].name][0].step_loss[0] == runs[plans[1].name][0].step_loss[0]
    table = swa.metrics_table(runs, toy)
    assert set(table) == {(plans[0].name, "iterate"), (plans[1].name, "iterate"), (plans[1].name, "average")}
    assert table[(plans[1].name, "average")]["test_acc"].shape == (2,)
    direct = (runs[plans[1].name][1].average(toy.x_test).argmax(1) == toy.y_test).double().mean().item()
    assert table[(plans[1].name, "average")]["test_acc"][1] == pytest.approx(direct, abs=1e-6)


# --------------------------------------------------------------------------- the plane

def test_plane_basis_and_coordinates():
    g = torch.Generator().manual_seed(0)
    w = [{"a": torch.randn(3, 4, generator=g), "b": torch.randn(5, generator=g)} for _ in range(3)]
    basis = swa.plane_basis(*w)
    assert float(basis.u @ basis.v) == pytest.approx(0, abs=1e-12)
    assert float(basis.u.norm()) == pytest.approx(1) and float(basis.v.norm()) == pytest.approx(1)
    flat = [torch.cat([t["a"].reshape(-1), t["b"]]).double() for t in w]
    assert swa.plane_coordinates(basis, w[0]) == pytest.approx((0, 0), abs=1e-9)
    assert swa.plane_coordinates(basis, w[1]) == pytest.approx((float((flat[1] - flat[0]).norm()), 0), abs=1e-6)
    x3, y3 = swa.plane_coordinates(basis, w[2])
    assert y3 > 0
    point = basis.point(x3, y3)
    torch.testing.assert_close(point["a"], w[2]["a"], atol=1e-5, rtol=1e-5)
    assert swa.plane_distance(basis, w[2]) == pytest.approx(0, abs=1e-5)
    centroid = {k: (w[0][k] + w[1][k] + w[2][k]) / 3 for k in w[0]}
    cx, cy = swa.plane_coordinates(basis, centroid)
    assert (cx, cy) == pytest.approx(((0 + flat[1].sub(flat[0]).norm().item() + x3) / 3, y3 / 3), abs=1e-5)


def test_plane_losses_equal_a_plain_forward_pass(toy):
    nets = [textbook_mlp(s) for s in range(3)]
    basis = swa.plane_basis(*nets)
    xs, ys = np.array([-0.5, 0.0, 1.5]), np.array([0.0, 2.0])
    loss, acc = swa.plane_losses(nets[0], basis, xs, ys, toy.x_test, toy.y_test, chunk=4)
    assert loss.shape == acc.shape == (2, 3)
    probe = textbook_mlp(0)
    for r, yv in enumerate(ys):
        for c, xv in enumerate(xs):
            probe.load_state_dict(basis.point(xv, yv))
            with torch.no_grad():
                logits = probe(toy.x_test)
            assert loss[r, c] == pytest.approx(F.cross_entropy(logits, toy.y_test).item(), rel=1e-4)
            assert acc[r, c] == pytest.approx((logits.argmax(1) == toy.y_test).double().mean().item(), abs=1e-6)
    # the three defining points are where they should be
    loss0, _ = swa.plane_losses(nets[0], basis, [0.0], [0.0], toy.x_test, toy.y_test)
    with torch.no_grad():
        assert loss0[0, 0] == pytest.approx(F.cross_entropy(nets[0](toy.x_test), toy.y_test).item(), rel=1e-4)


def test_plane_grid_covers_the_points_with_a_margin():
    xs, ys = swa.plane_grid([(0.0, 0.0), (4.0, 0.0), (1.0, 2.0)], margin=0.25, resolution=5)
    np.testing.assert_allclose(xs, np.linspace(-1.0, 5.0, 5))
    np.testing.assert_allclose(ys, np.linspace(-1.0, 3.0, 5))


def test_point_metrics_and_slices_at_the_solutions_themselves(toy):
    nets = [textbook_mlp(s) for s in range(3)]
    basis = swa.plane_basis(*nets)
    metrics = swa.plane_point_metrics(nets[0], basis, {"W1": (0.0, 0.0)}, toy)
    with torch.no_grad():
        logits_test, logits_train = nets[0](toy.x_test), nets[0](toy.x_train)
    error = 100 * (logits_test.argmax(1) != toy.y_test).double().mean().item()
    assert metrics["W1"]["test_error"] == pytest.approx(error, abs=1e-4)
    assert metrics["W1"]["train_loss"] == pytest.approx(F.cross_entropy(logits_train, toy.y_train).item(), rel=1e-4)
    curves = swa.slice_curves({"a": nets[0], "b": nets[1]}, [-0.5, 0.0, 0.5], toy, directions=2, examples=50)
    assert curves["a"]["train_loss"].shape == curves["b"]["test_error"].shape == (2, 3)
    with torch.no_grad():
        own = F.cross_entropy(nets[1](toy.x_train[:50]), toy.y_train[:50]).item()
    np.testing.assert_allclose(curves["b"]["train_loss"][:, 1], own, rtol=1e-4)   # alpha = 0: the solution
    assert not np.allclose(curves["b"]["train_loss"][:, 0], own)


# --------------------------------------------------------------------------- the explorer

def test_explorer_shows_a_message_for_invalid_rates(toy):
    checkpoint = swa.pretrain(toy, lr=0.2, epochs=1, batch_size=64, seed=0)
    explorer = swa.CyclicalExplorer(checkpoint, toy, epochs=1, cycles=[1, 2], alpha_1s=[0.1, 0.2],
                                    alpha_2s=[0.01, 0.15])
    assert "snapshots" not in explorer.message.value and "cycles" in explorer.message.value
    explorer.alpha_1.value = 0.1
    explorer.alpha_2.value = 0.15          # alpha_2 > alpha_1: a message, not a traceback
    assert explorer.redraw() is False
    assert "alpha_2" in explorer.message.value
    explorer.alpha_2.value = 0.01
    assert explorer.redraw() is True
    assert len(explorer.results) == 2
    pre = swa.CyclicalExplorer(checkpoint, toy, epochs=1, cycles=[1, 2], alpha_1s=[0.1, 0.2],
                               alpha_2s=[0.01, 0.15], precompute=True)
    assert len(pre.results) == 2 * 3       # the valid settings only


def test_figures_draw(toy):
    runs = swa.compare(toy, [swa.decay(0.01), swa.constant(0.2, 2, ema_decay=0.9), swa.cyclical(0.3, 0.03, 2)],
                       lr=0.3, epochs=2, swa_start=1, batch_size=64, seeds=[0, 1], track=True).runs
    swa.rates_figure([r[0] for r in runs.values()])
    table = swa.metrics_table(runs, toy)
    name = swa.constant(0.2, 2).name
    swa.comparison_figure(table, [("SWA", (name, "average"), "constant"), ("EMA", (name, "ema"), "ema")])
    swa.explorer_figure(runs[swa.cyclical(0.3, 0.03, 2).name][0])
    import matplotlib.pyplot as plt
    plt.close("all")


# --------------------------------------------------------------------------- bad input

@pytest.fixture(scope="module")
def checkpoint(toy):
    return swa.pretrain(toy, lr=0.2, epochs=1, batch_size=64, seed=0)


BAD_INPUTS = [
    (lambda d, c: swa.cyclical_lr(0, 0.1, 0.2, 5), ValueError, "alpha_2 = 0.2 exceeds alpha_1"),
    (lambda d, c: swa.cyclical(0.1, 0.2, 5), ValueError, "alpha_2 = 0.2 exceeds alpha_1"),
    (lambda d, c: swa.cyclical(0.1, 0.01, 0), ValueError, "cycle must be an int >= 1"),
    (lambda d, c: swa.cyclical(0.1, 0.01, 2.5), TypeError, "cycle must be an int"),
    (lambda d, c: swa.cyclical(-0.1, 0.01, 2), ValueError, "alpha_1 must be a finite number > 0"),
    (lambda d, c: swa.cyclical(0.1, float("nan"), 2), ValueError, "alpha_2 must be a finite number > 0"),
    (lambda d, c: swa.cyclical_lr(-1, 0.1, 0.01, 2), ValueError, "step must be >= 0"),
    (lambda d, c: swa.cyclical_lr(0.5, 0.1, 0.01, 2), TypeError, "step must be an int"),
    (lambda d, c: swa.constant(0.1, 0), ValueError, "every must be an int >= 1"),
    (lambda d, c: swa.constant(0.1, 2, anneal_steps=-1), ValueError, "anneal_steps must be an int >= 0"),
    (lambda d, c: swa.constant(0.1, 2, anneal_strategy="exp"), ValueError, "anneal_strategy must be one of"),
    (lambda d, c: swa.constant(0.1, 2, ema_decay=1.0), ValueError, "ema_decay must be a number in (0, 1)"),
    (lambda d, c: swa.decay(0.0), ValueError, "final_lr must be a finite number > 0"),
    (lambda d, c: swa.decay(1.0).learning_rates(0.1, 10), ValueError, "a decay needs final_lr <= start_lr"),
    (lambda d, c: swa.SWAPlan("average"), ValueError, "kind must be one of"),
    (lambda d, c: swa.SWAPlan("cyclical", every=3, alpha_1=0.1), TypeError, "alpha_2 must be a number"),
    (lambda d, c: swa.SWAPlan("constant", swa_lr=0.1), TypeError, "every must be an int"),
    (lambda d, c: swa.SWAPlan("decay"), TypeError, "final_lr must be a number"),
    (lambda d, c: swa.slices_figure([0.0], {"a": {}}, {"a": "blue"}), ValueError, "kinds"),
    (lambda d, c: swa.cyclical(0.1, 0.01, 100).snapshot_steps(10), ValueError, "fewer than one cycle"),
    (lambda d, c: swa.continue_run(c, swa.cyclical(0.2, 0.01, 1000), d, epochs=1), ValueError,
     "fewer than one cycle"),
    (lambda d, c: swa.continue_run(c, swa.decay(0.01), d, epochs=0), ValueError,
     "averaging must start before training ends"),
    (lambda d, c: swa.continue_run(c, "cyclical", d, epochs=1), TypeError, "plan must be a lib.swa.SWAPlan"),
    (lambda d, c: swa.continue_run("model", swa.decay(0.01), d, epochs=1), TypeError, "checkpoint must be"),
    (lambda d, c: swa.continue_run(c, swa.decay(0.01), d, epochs=1, bn_examples=10**6), ValueError,
     "bn_examples must be at most"),
    (lambda d, c: swa.continue_run(c, swa.decay(0.01), d, epochs=1, track=1), TypeError, "track must be True or False"),
    (lambda d, c: swa.compare(d, [swa.decay(0.01)], lr=0.1, epochs=3, swa_start=3), ValueError,
     "averaging would start at epoch 3, but training ends after 3 epochs"),
    (lambda d, c: swa.compare(d, [swa.decay(0.01), swa.decay(0.01)], lr=0.1, epochs=2, swa_start=1), ValueError,
     "plan names must be distinct"),
    (lambda d, c: swa.compare(d, [], lr=0.1, epochs=2, swa_start=1), TypeError, "plans must be a non-empty list"),
    (lambda d, c: swa.pretrain(d, lr=0.1, epochs=1, batch_size=10**6), ValueError, "batch_size must be at most"),
    (lambda d, c: swa.pretrain(d, lr=0.0, epochs=1), ValueError, "lr must be a finite number > 0"),
    (lambda d, c: swa.pretrain(d, lr=0.1, epochs=-1), ValueError, "epochs must be an int >= 0"),
    (lambda d, c: swa.pretrain((d.x_train, d.y_train), lr=0.1, epochs=1), TypeError, "data must be lib.data.Splits"),
    (lambda d, c: swa.pretrain(d, lr=3e38, epochs=1), ValueError, "pretraining at lr=3e+38 diverged"),
    (lambda d, c: swa.plane_basis(c.model, c.model, textbook_mlp(1)), ValueError, "w1 and w2 coincide"),
    (lambda d, c: swa.plane_basis(textbook_mlp(0), textbook_mlp(1), small_cnn(0)), ValueError,
     "w3 must have the same parameter names"),
    (lambda d, c: swa.plane_basis(*[{"a": torch.tensor([float(i), 2.0 * i])} for i in range(3)]), ValueError,
     "collinear"),
    (lambda d, c: swa.plane_basis([1, 2], [3], [4]), TypeError, "w1 must be an nn.Module or a dict"),
    (lambda d, c: swa.plane_losses(small_cnn(0), swa.plane_basis(small_cnn(0), small_cnn(1), small_cnn(2)),
                                   [0.0], [0.0], d.x_test, d.y_test), ValueError, "no batch norm"),
    (lambda d, c: swa.plane_losses(textbook_mlp(0), swa.plane_basis(textbook_mlp(0), textbook_mlp(1),
                                   textbook_mlp(2)), [], [0.0], d.x_test, d.y_test), ValueError, "xs must be"),
    (lambda d, c: swa.plane_coordinates("plane", c.model), TypeError, "basis must be a lib.swa.PlaneBasis"),
    (lambda d, c: swa.recompute_bn("model", d.x_train), TypeError, "model must be an nn.Module"),
    (lambda d, c: swa.bn_batches(d.x_train, 0), ValueError, "batch_size must be an int >= 1"),
    (lambda d, c: swa.run_metrics("run", d), TypeError, "run must be a lib.swa.SWARun"),
    (lambda d, c: swa.metrics_table([], d), TypeError, "runs must be a dict of runs"),
    (lambda d, c: swa.plane_grid([(0.0, 0.0)]), ValueError, "at least two finite"),
    (lambda d, c: swa.plane_grid([(0.0, 0.0), (1.0, 1.0)], resolution=1), ValueError, "resolution must be an int >= 2"),
    (lambda d, c: swa.rates_figure([]), TypeError, "runs must be a non-empty list"),
    (lambda d, c: swa.slice_curves({}, [0.0], d, directions=1, examples=5), TypeError, "solutions must be"),
    (lambda d, c: swa.slice_curves({"a": c.model}, [0.0], d, directions=0, examples=5), ValueError,
     "directions must be an int >= 1"),
    (lambda d, c: swa.plane_point_metrics(c.model, None, {}, d), TypeError, "coordinates must be"),
    (lambda d, c: swa.comparison_figure({}, [("x", ("a", "b"), "constant")]), ValueError, "is not in the table"),
    (lambda d, c: swa.CyclicalExplorer(c, d, epochs=1, cycles=[], alpha_1s=[0.1], alpha_2s=[0.01]), ValueError,
     "cycle options must be a non-empty list"),
    (lambda d, c: swa.CyclicalExplorer(c, d, epochs=1, cycles=[1000], alpha_1s=[0.1], alpha_2s=[0.01]),
     ValueError, "fewer than one cycle"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(toy, checkpoint, call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        call(toy, checkpoint)
