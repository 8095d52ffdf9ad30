"""Smith's sweep against known truth: closed forms, a plain PyTorch loop, a peer library, 2 / lambda.

* the sweep's schedule against its formula, computed here independently;
* the smoothing the sweep runs on (lib.core.stats) against sums written out here,
  where core's own tests do not make the same assertion;
* ``lr_range_test`` against ``torch-lr-finder`` (PyPI) on the same model, initial weights,
  mini-batches and settings, and against the grid engine on the same schedule;
* the blow-up point against 2 / lambda on a regression whose Hessian is known in closed form;
* the restoration of the model and optimiser, bit for bit, even after a failure.
"""
from __future__ import annotations

import copy
import itertools
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import torch_lr_finder  # the peer: a test-only dependency (requirements.txt)

from lib.core import stats
from lib.core.device import seeded_generator
from lib.core.engine import train_grid
from lib.core.members import Member
from lib.core.order import DataOrder
from lib.lr_finder import sweep as sw
from lib.lr_finder.problems import known_quadratic
from tests.lr_finder.toys import small_net


def fresh(model: nn.Module) -> dict[str, torch.Tensor]:
    return copy.deepcopy(model.state_dict())


# --------------------------------------------------------------------------- schedule

def test_exponential_and_linear_sweeps_follow_their_formulas():
    assert np.allclose(sw.sweep_rates(1e-4, 10.0, 51), np.geomspace(1e-4, 10.0, 51), rtol=1e-12)
    assert np.allclose(sw.sweep_rates(0.1, 1.1, 11, mode="linear"), np.linspace(0.1, 1.1, 11), rtol=1e-12)
    rates = sw.sweep_rates(1e-3, 1.0, 4)
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1.0)
    assert np.allclose(rates[1:] / rates[:-1], 10.0)


def test_lag_factor_is_the_rate_ratio_over_the_lag():
    lag = float(stats.smoothing_lag(0.98, 100))
    expected = (10.0 / 1e-7) ** (lag / 99)
    assert sw.smoothing_lag_factor(0.98, 1e-7, 10.0, 100) == pytest.approx(expected, rel=1e-9)


def test_the_sweeps_data_order_is_the_engines():
    """The sweep takes its batches from DataOrder(n, seed).stream(B): epochs of seeded permutations."""
    batches = list(itertools.islice(DataOrder(10, seed=3).stream(4), 7))
    g = seeded_generator(3)
    first, second, third = (torch.randperm(10, generator=g) for _ in range(3))
    expected = [first[0:4], first[4:8], first[8:10], second[0:4], second[4:8], second[8:10], third[0:4]]
    assert all(torch.equal(a, b) for a, b in zip(batches, expected))


# --------------------------------------------------------------------------- the smoothing it runs on

def test_smoothing_is_the_bias_corrected_weighted_average():
    g = np.random.default_rng(0)
    losses = g.uniform(1, 3, size=40)
    beta = 0.9
    expected = []
    for t in range(1, len(losses) + 1):
        weights = (1 - beta) * beta ** np.arange(t)[::-1]          # weight of loss j <= t-1
        expected.append(np.sum(weights * losses[:t]) / (1 - beta ** t))
    assert np.allclose(stats.ema(losses, beta), expected, rtol=1e-12)


def test_bias_correction_keeps_a_constant_constant():
    assert np.allclose(stats.ema(np.full(30, 2.5), 0.98), 2.5, rtol=1e-12)
    raw = np.array([3.0, 1.0, 2.0])
    assert np.array_equal(stats.ema(raw, 0.0), raw)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.98])
def test_smoothing_lag_is_the_mean_age_and_exact_on_a_ramp(beta):
    t = np.arange(1, 300)
    ages = [np.sum(np.arange(n) * (1 - beta) * beta ** np.arange(n)) / (1 - beta ** n) for n in t]
    assert np.allclose(stats.smoothing_lag(beta, t), ages, rtol=1e-9, atol=1e-9)
    ramp = np.arange(len(t), dtype=np.float64)
    # On a loss linear in the update, the average is the loss lag_t updates earlier.
    assert np.allclose(stats.ema(ramp, beta), ramp - stats.smoothing_lag(beta, t), atol=1e-9)
    assert stats.smoothing_lag(beta, 10**9) == pytest.approx(beta / (1 - beta))


def test_zero_lag_smoothing_keeps_constants_and_geometric_sequences():
    t = np.arange(200)
    geometric = 0.5 * np.exp(0.03 * t)             # a straight line in log(loss): the blow-up's shape
    error = np.abs(np.log(stats.smooth_centered(geometric, 0.98) / geometric))
    # A symmetric filter leaves a line unchanged; only the passes' start-up transients remain,
    # decaying like 0.98^k over the padding: under one update's change (0.03) at the very ends,
    # under a third of it inside.
    assert error.max() < 0.03 and error[50:150].max() < 0.01
    # The running average of exp(c t) settles at exp(c t) (1 - beta) / (1 - beta e^-c): here
    # a factor 2.45 low, the value of about 30 updates earlier.
    running = np.log(geometric / stats.ema(geometric, 0.98))
    assert running[199] == pytest.approx(np.log((1 - 0.98 * np.exp(-0.03)) / 0.02), rel=0.02)
    assert np.allclose(stats.smooth_centered(np.full(50, 2.0), 0.9), 2.0, rtol=1e-12)
    raw = np.array([3.0, 1.0, 2.0])
    assert np.array_equal(stats.smooth_centered(raw, 0.0), raw)
    noisy = np.exp(np.random.default_rng(0).normal(0.0, 0.3, 400))
    assert np.std(np.log(stats.smooth_centered(noisy, 0.9))) < 0.3 * np.std(np.log(noisy))


# --------------------------------------------------------------------------- Smith's sweep

def test_the_model_and_optimiser_come_back_bit_for_bit(toy):
    net = small_net()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for _ in range(3):  # give the optimiser momentum buffers worth restoring
        opt.zero_grad()
        F.cross_entropy(net(toy.x_train[:32]), toy.y_train[:32]).backward()
        opt.step()
    net.eval()
    model_before, opt_before = fresh(net), copy.deepcopy(opt.state_dict())
    grads_before = [p.grad.clone() for p in net.parameters()]
    torch.manual_seed(11)
    rng_before = torch.get_rng_state()
    result = sw.lr_range_test(net, toy, optimizer=opt, start=1e-3, end=50.0, steps=80, batch_size=32)
    assert len(result.lrs) > 10
    assert all(torch.equal(model_before[k], v) for k, v in net.state_dict().items())
    assert all(torch.equal(g, p.grad) for g, p in zip(grads_before, net.parameters()))
    after = opt.state_dict()
    assert after["param_groups"] == opt_before["param_groups"]
    for key, state in opt_before["state"].items():
        assert torch.equal(state["momentum_buffer"], after["state"][key]["momentum_buffer"])
    assert not net.training
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_the_model_comes_back_even_when_the_sweep_fails(toy):
    net = small_net()
    before = fresh(net)
    calls = {"n": 0}

    def failing_loss(outputs, targets):
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("interrupted")
        return F.cross_entropy(outputs, targets)

    with pytest.raises(RuntimeError, match="interrupted"):
        sw.lr_range_test(net, toy, start=1e-2, end=1.0, steps=20, batch_size=32, loss=failing_loss)
    assert calls["n"] == 6
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_non_finite_loss_stops_the_sweep_at_once(toy):
    calls = {"n": 0}

    def blows_up(outputs, targets):
        calls["n"] += 1
        value = F.cross_entropy(outputs, targets)
        return value * float("inf") if calls["n"] == 9 else value

    result = sw.lr_range_test(small_net(), toy, start=1e-3, end=1e-2, steps=40, batch_size=16, loss=blows_up)
    assert result.stopped_at == 8 and "not finite" in result.stop_reason
    assert len(result.lrs) == 9 and np.isinf(result.losses[-1]) and np.isnan(result.smoothed[-1])
    assert np.isfinite(result.smoothed[:-1]).all()


def _rate_driven_loss(optimizer_box, target_lr):
    """A loss that is a known function of the current rate: a parabola in log(eta)."""
    def loss(outputs, targets):
        lr = optimizer_box["opt"].param_groups[0]["lr"]
        return outputs.sum() * 0.0 + (math.log10(lr) - math.log10(target_lr)) ** 2 + 1.0
    return loss


def test_the_stop_rule_fires_where_the_formula_says(toy):
    net = small_net()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    loss = _rate_driven_loss({"opt": opt}, target_lr=0.01)
    result = sw.lr_range_test(net, toy, optimizer=opt, start=1e-4, end=1e4, steps=200, beta=0.9,
                              stop_factor=3.0, batch_size=8, loss=loss)
    rates = sw.sweep_rates(1e-4, 1e4, 200)
    raw = (np.log10(rates) + 2.0) ** 2 + 1.0
    smoothed = stats.ema(raw, 0.9)
    expected = int(np.argmax(smoothed > 3.0 * np.minimum.accumulate(smoothed)))
    assert result.stopped_at == expected
    assert np.allclose(result.losses, raw[:expected + 1], rtol=1e-6)
    # the recorded running average is the one that decided: it crosses the line at the stop, not before
    crossed = result.smoothed > 3.0 * np.minimum.accumulate(result.smoothed)
    assert crossed[-1] and not crossed[:-1].any()


def test_zero_lag_smoothing_reads_the_minimum_where_it_is(toy):
    """A loss that is a parabola in log(eta) with its minimum at 0.01: the zero-lag curve finds
    it (to one update: 50 updates per decade here); the running average puts it about
    lag = 41 updates, 0.8 decade, too late."""
    target = 0.01
    turns = {}
    for read_from in ("centered", "running"):
        net = small_net()
        opt = torch.optim.SGD(net.parameters(), lr=1e-5)
        result = sw.lr_range_test(net, toy, optimizer=opt, start=1e-5, end=10.0, steps=300, beta=0.98,
                                  stop_factor=1e9, batch_size=8, loss=_rate_driven_loss({"opt": opt}, target),
                                  read_from=read_from)
        turns[read_from] = result.suggestions["turn"]
    assert abs(math.log10(turns["centered"] / target)) <= 1 / 50 + 1e-9
    assert result.settings["read_window"] == 6                # 2 % of 300 updates
    lag = float(stats.smoothing_lag(0.98, 150))
    assert math.log10(turns["running"] / target) == pytest.approx(lag / 50, abs=0.1)


def test_a_sweep_reproduces_the_grid_engine_on_the_same_schedule(toy):
    """Same data order and the same SGD as the grid engine (itself tested against torch.optim)."""
    steps = 40
    net = small_net(init_seed=3)
    result = sw.lr_range_test(net, toy, start=0.05, end=0.5, steps=steps, beta=0.0, stop_factor=1e9,
                              batch_size=32, data_seed=5, skip_start=0, skip_end=0)
    schedule = lambda step: float(result.lrs[step]) if step < steps else 0.0  # noqa: E731
    run = train_grid([Member(lr=None, schedule=schedule, init_seed=3, data_seed=5)], toy, model=small_net,
                     batch_size=32, epochs=3, progress=False)
    assert np.allclose(run.history.step_loss[0, :steps], result.losses, rtol=1e-4, atol=1e-6)


def test_suggestions_across_seeds_are_median_and_range(toy):
    results = [sw.lr_range_test(small_net(s), toy, start=1e-3, end=10.0, steps=40, batch_size=32)
               for s in range(3)]
    summary = sw.suggestions_across_seeds(results)
    values = sorted(r.suggestions["turn"] for r in results)
    assert summary["turn"] == (values[1], values[0], values[2])


# --------------------------------------------------------------------------- the peer: torch-lr-finder

@pytest.mark.parametrize("mode, end, steps", [("exp", 30.0, 80), ("exp", 0.5, 60), ("linear", 3.0, 60)])
def test_torch_lr_finder_gives_the_same_curve_stop_and_steepest_point(toy, mode, end, steps):
    """torch-lr-finder smooths without bias correction (s_i = f L_i + (1-f) s_(i-1), s_0 = L_0), so
    smoothed curves differ by design; with smoothing off on both sides (smooth_f=0, beta=0)
    everything must agree: rates, losses and the early stop, and for an exponential sweep the
    steepest-descent suggestion.  (For a linear sweep torch-lr-finder differentiates against the
    update index and we against log(rate), which weighs the points differently: the one reason
    the suggestions may differ there.)"""
    start, batch, seed, threshold = 1e-3, 32, 4, 5.0
    ours = sw.lr_range_test(small_net(init_seed=2), toy, start=start, end=end, steps=steps, mode=mode,
                            beta=0.0, stop_factor=threshold, batch_size=batch, data_seed=seed,
                            read_from="running", skip_start=10, skip_end=5)

    peer_net = small_net(init_seed=2)
    optimizer = torch.optim.SGD(peer_net.parameters(), lr=start)
    finder = torch_lr_finder.LRFinder(peer_net, optimizer, nn.CrossEntropyLoss())
    order = [b.tolist() for b in itertools.islice(DataOrder(toy.n_train, seed=seed).stream(batch), steps)]
    loader = DataLoader(TensorDataset(toy.x_train, toy.y_train), batch_sampler=order)
    finder.range_test(loader, end_lr=end, num_iter=steps, step_mode=mode, smooth_f=0.0, diverge_th=threshold)

    peer_lrs, peer_losses = np.array(finder.history["lr"]), np.array(finder.history["loss"])
    assert len(peer_lrs) == len(ours.lrs)
    assert np.allclose(peer_lrs, ours.lrs, rtol=1e-12)
    assert np.allclose(peer_losses, ours.losses, rtol=1e-5, atol=1e-7)
    fig, ax = plt.subplots()
    _, peer_suggestion = finder.plot(skip_start=10, skip_end=5, suggest_lr=True, ax=ax)
    plt.close(fig)
    if mode == "exp":
        assert ours.suggestions["steepest"] == pytest.approx(peer_suggestion, rel=1e-12)
    else:
        trimmed = slice(10, len(ours.lrs) - 5)
        by_index = ours.lrs[trimmed][np.argmin(np.gradient(ours.losses[trimmed]))]
        assert peer_suggestion == pytest.approx(by_index, rel=1e-12)


# --------------------------------------------------------------------------- ground truth: 2 / lambda

@pytest.mark.parametrize("scale", [1.0, 3.0, 6.0])
def test_a_mini_batch_sweep_blows_up_near_two_over_lambda(scale):
    quad = known_quadratic(scale=scale, seed=1)
    result = sw.lr_range_test(quad.model(), quad.data, start=1e-4, end=10.0, steps=5000, batch_size=64,
                              loss="mse", beta=0.98, data_seed=1)
    assert result.stopped_at >= 0
    assert 0.9 <= result.stop_lr / quad.stability_limit <= 1.2


def test_a_full_batch_sweep_cannot_blow_up_before_the_limit():
    """Below 2 / lambda every full-batch step shrinks the error, so the loss only falls."""
    quad = known_quadratic(scale=3.0)
    result = sw.lr_range_test(quad.model(), quad.data, start=1e-4, end=10.0, steps=1000,
                              batch_size=quad.data.n_train, loss="mse", beta=0.0)
    assert result.stop_lr >= quad.stability_limit
    below = result.lrs < quad.stability_limit
    assert np.all(np.diff(result.losses[below]) <= 1e-6)


# --------------------------------------------------------------------------- bad input

BAD_INPUTS = [
    (lambda d: sw.sweep_rates(0, 1, 10), ValueError, "start must be a finite number > 0"),
    (lambda d: sw.sweep_rates(1, 0.1, 10), ValueError, "end must be larger than start"),
    (lambda d: sw.sweep_rates(1e-3, 1, 1), ValueError, "steps must be an int >= 2"),
    (lambda d: sw.sweep_rates(1e-3, 1, 10.0), TypeError, "steps must be an int"),
    (lambda d: sw.sweep_rates(1e-3, 1, 10, mode="cosine"), ValueError, "unknown mode 'cosine'; allowed: exp, linear"),
    (lambda d: sw.sweep_rates(1e-3, float("inf"), 10), ValueError, "end must be a finite number > 0"),
    # the smoothing the sweep runs on, where core's table has no such row
    (lambda d: stats.smooth_centered([1.0, np.inf]), ValueError, "values must be finite"),
    (lambda d: sw.lr_range_test("net", d), TypeError, "model must be an nn.Module"),
    (lambda d: sw.lr_range_test(nn.ReLU(), d), ValueError, "no parameters"),
    (lambda d: sw.lr_range_test(small_net(), (d.x_train, d.y_train)), TypeError,
     "data must be lib.core.data.Splits"),
    (lambda d: sw.lr_range_test(small_net(), d, stop_factor=1.0), ValueError,
     "stop_factor must be a finite number > 1"),
    (lambda d: sw.lr_range_test(small_net(), d, beta=1.0), ValueError, r"beta must be a number in \[0, 1\)"),
    (lambda d: sw.lr_range_test(small_net(), d, batch_size=0), ValueError, "batch_size must be an int between"),
    (lambda d: sw.lr_range_test(small_net(), d, loss="hinge"), ValueError, "unknown loss 'hinge'"),
    (lambda d: sw.lr_range_test(small_net(), d, loss=3), TypeError, "loss must be"),
    (lambda d: sw.lr_range_test(small_net(), d, optimizer="sgd"), TypeError, "torch.optim.Optimizer"),
    (lambda d: sw.lr_range_test(small_net(), d, optimizer=torch.optim.SGD(small_net().parameters(), lr=0.1)),
     ValueError, "does not hold any of the model's parameters"),
    (lambda d: sw.lr_range_test(small_net(), d, read_from="raw"), ValueError,
     "unknown read_from 'raw'; allowed: centered, running"),
    (lambda d: sw.lr_range_test(small_net(), d, read_window=0), ValueError, "read_window must be an int >= 1"),
    (lambda d: sw.lr_range_test(small_net(), d, skip_start=-1), ValueError, "skip_start must be an int >= 0"),
    (lambda d: sw.lr_range_test(small_net(), d, data_seed=-1), ValueError, "data_seed must be an int >= 0"),
    (lambda d: sw.suggestions_across_seeds([]), ValueError, "non-empty list of RangeTest"),
    (lambda d: sw.suggestions_across_seeds([1]), TypeError, "every result must be a RangeTest"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)
