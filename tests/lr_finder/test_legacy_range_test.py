"""The range tests against known truth: closed forms, a plain PyTorch loop, and a peer library.

* the sweep's schedule and smoothing against their formulas, computed here independently;
* the suggestion rules on curves whose answer is known by construction;
* ``lr_range_test`` against ``torch-lr-finder`` (PyPI) on the same model, initial weights,
  mini-batches and settings;
* the blow-up point against 2 / lambda on a regression whose Hessian is known in closed form;
* the textbook's segmented design against a hand-written loop of ``torch.optim.SGD``;
* the restoration of the model and optimiser, bit for bit, even after a failure.
"""
from __future__ import annotations

import copy
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

from lib import range_test as rt
from lib.data import Splits
from lib.device import seeded_generator
from lib.models import mlp
from lib.train import Member, train_grid


# --------------------------------------------------------------------------- fixtures

def small_net(init_seed: int = 0) -> nn.Sequential:
    return mlp((20, 16, 4), ("tanh",), init_seed=init_seed)


@pytest.fixture(scope="module")
def toy() -> Splits:
    """A learnable 4-class problem: labels are the argmax of a fixed linear map."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(640, 20, generator=g)
    w = torch.randn(20, 4, generator=g)
    y = (x @ w).argmax(1)
    return Splits(x[:512], y[:512], x[512:], y[512:])


def fresh(model: nn.Module) -> dict[str, torch.Tensor]:
    return copy.deepcopy(model.state_dict())


# --------------------------------------------------------------------------- schedule and smoothing

def test_exponential_and_linear_sweeps_follow_their_formulas():
    assert np.allclose(rt.sweep_rates(1e-4, 10.0, 51), np.geomspace(1e-4, 10.0, 51), rtol=1e-12)
    assert np.allclose(rt.sweep_rates(0.1, 1.1, 11, mode="linear"), np.linspace(0.1, 1.1, 11), rtol=1e-12)
    rates = rt.sweep_rates(1e-3, 1.0, 4)
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1.0)
    assert np.allclose(rates[1:] / rates[:-1], 10.0)


def test_smoothing_is_the_bias_corrected_weighted_average():
    g = np.random.default_rng(0)
    losses = g.uniform(1, 3, size=40)
    beta = 0.9
    expected = []
    for t in range(1, len(losses) + 1):
        weights = (1 - beta) * beta ** np.arange(t)[::-1]          # weight of loss j <= t-1
        expected.append(np.sum(weights * losses[:t]) / (1 - beta ** t))
    assert np.allclose(rt.smooth(losses, beta), expected, rtol=1e-12)


def test_bias_correction_keeps_a_constant_constant():
    assert np.allclose(rt.smooth(np.full(30, 2.5), 0.98), 2.5, rtol=1e-12)
    raw = np.array([3.0, 1.0, 2.0])
    assert np.array_equal(rt.smooth(raw, 0.0), raw)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.98])
def test_smoothing_lag_is_the_mean_age_and_exact_on_a_ramp(beta):
    t = np.arange(1, 300)
    ages = [np.sum(np.arange(n) * (1 - beta) * beta ** np.arange(n)) / (1 - beta ** n) for n in t]
    assert np.allclose(rt.smoothing_lag(beta, t), ages, rtol=1e-9, atol=1e-9)
    ramp = np.arange(len(t), dtype=np.float64)
    # On a loss linear in the update, the average is the loss lag_t updates earlier.
    assert np.allclose(rt.smooth(ramp, beta), ramp - rt.smoothing_lag(beta, t), atol=1e-9)
    assert rt.smoothing_lag(beta, 10**9) == pytest.approx(beta / (1 - beta))


def test_zero_lag_smoothing_keeps_constants_and_geometric_sequences():
    t = np.arange(200)
    geometric = 0.5 * np.exp(0.03 * t)             # a straight line in log(loss): the blow-up's shape
    error = np.abs(np.log(rt.smooth_centered(geometric, 0.98) / geometric))
    # A symmetric filter leaves a line unchanged; only the passes' start-up transients remain,
    # decaying like 0.98^k over the padding: under one update's change (0.03) at the very ends,
    # under a third of it inside.
    assert error.max() < 0.03 and error[50:150].max() < 0.01
    # The running average of exp(c t) settles at exp(c t) (1 - beta) / (1 - beta e^-c): here
    # a factor 2.45 low, the value of about 30 updates earlier.
    running = np.log(geometric / rt.smooth(geometric, 0.98))
    assert running[199] == pytest.approx(np.log((1 - 0.98 * np.exp(-0.03)) / 0.02), rel=0.02)
    assert np.allclose(rt.smooth_centered(np.full(50, 2.0), 0.9), 2.0, rtol=1e-12)
    raw = np.array([3.0, 1.0, 2.0])
    assert np.array_equal(rt.smooth_centered(raw, 0.0), raw)
    noisy = np.exp(np.random.default_rng(0).normal(0.0, 0.3, 400))
    assert np.std(np.log(rt.smooth_centered(noisy, 0.9))) < 0.3 * np.std(np.log(noisy))


def test_lag_factor_is_the_rate_ratio_over_the_lag():
    lag = float(rt.smoothing_lag(0.98, 100))
    expected = (10.0 / 1e-7) ** (lag / 99)
    assert rt.smoothing_lag_factor(0.98, 1e-7, 10.0, 100) == pytest.approx(expected, rel=1e-9)


def test_sweep_batches_follow_the_engines_data_order():
    batches = rt.sweep_batches(10, 4, 7, data_seed=3)
    g = seeded_generator(3)
    first, second, third = (torch.randperm(10, generator=g) for _ in range(3))
    expected = [first[0:4], first[4:8], first[8:10], second[0:4], second[4:8], second[8:10], third[0:4]]
    assert all(torch.equal(a, b) for a, b in zip(batches, expected))


# --------------------------------------------------------------------------- suggestion rules

def test_steepest_finds_the_steepest_point_of_a_known_curve():
    lrs = np.geomspace(1e-4, 10, 201)
    losses = 2 - np.tanh(2 * (np.log10(lrs) + 1.0))          # steepest fall at 10**-1
    assert rt.steepest(lrs, losses) == pytest.approx(0.1, rel=0.03)


def test_turn_and_minimum_over_ten_read_the_lowest_point():
    lrs = np.geomspace(1e-3, 10, 81)
    losses = (np.log10(lrs) - np.log10(0.5)) ** 2
    assert rt.turn(lrs, losses) == pytest.approx(0.5, rel=0.06)
    assert rt.minimum_over_ten(lrs, losses) == pytest.approx(rt.turn(lrs, losses) / 10)


def test_valley_is_halfway_down_the_longest_falling_stretch():
    losses = np.concatenate([np.full(20, 5.0), np.linspace(4.0, 1.0, 61), np.linspace(1.1, 6.0, 20)])
    losses[50] = losses[49] + 0.01        # one noisy uptick does not cut the stretch in two
    lrs = np.geomspace(1e-4, 1.0, len(losses))
    first, last = rt.longest_falling_stretch(losses)
    assert (first, last) == (19, 80)                          # the last plateau point, then the fall
    assert rt.valley(lrs, losses) == lrs[first + (last - first) // 2]
    assert rt.longest_falling_stretch([3.0, 2.0, 2.5, 1.0, 0.5]) == (0, 4)


def test_suggest_trims_and_reports_a_too_short_curve_as_nan():
    lrs = np.geomspace(1e-3, 1, 30)
    losses = np.linspace(3, 1, 30)
    out = rt.suggest(lrs, losses, skip_start=5, skip_end=5)
    assert set(out) == set(rt.RULES)
    assert out["turn"] == pytest.approx(lrs[24])
    short = rt.suggest(lrs[:1], losses[:1])
    assert math.isnan(short["steepest"]) and short["turn"] == pytest.approx(lrs[0])


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
    torch.manual_seed(11)
    rng_before = torch.get_rng_state()
    result = rt.lr_range_test(net, toy, optimizer=opt, start=1e-3, end=50.0, steps=80, batch_size=32)
    assert len(result.lrs) > 10
    assert all(torch.equal(model_before[k], v) for k, v in net.state_dict().items())
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
        rt.lr_range_test(net, toy, start=1e-2, end=1.0, steps=20, batch_size=32, loss=failing_loss)
    assert calls["n"] == 6
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_non_finite_loss_stops_the_sweep_at_once(toy):
    calls = {"n": 0}

    def blows_up(outputs, targets):
        calls["n"] += 1
        value = F.cross_entropy(outputs, targets)
        return value * float("inf") if calls["n"] == 9 else value

    result = rt.lr_range_test(small_net(), toy, start=1e-3, end=1e-2, steps=40, batch_size=16, loss=blows_up)
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
    result = rt.lr_range_test(net, toy, optimizer=opt, start=1e-4, end=1e4, steps=200, beta=0.9,
                              stop_factor=3.0, batch_size=8, loss=loss)
    rates = rt.sweep_rates(1e-4, 1e4, 200)
    raw = (np.log10(rates) + 2.0) ** 2 + 1.0
    smoothed = rt.smooth(raw, 0.9)
    expected = int(np.argmax(smoothed > 3.0 * np.minimum.accumulate(smoothed)))
    assert result.stopped_at == expected
    assert np.allclose(result.losses, raw[:expected + 1], rtol=1e-6)


def test_zero_lag_smoothing_reads_the_minimum_where_it_is(toy):
    """A loss that is a parabola in log(eta) with its minimum at 0.01: the zero-lag curve finds
    it (to one update: 50 updates per decade here); the running average puts it about
    lag = 41 updates, 0.8 decade, too late."""
    target = 0.01
    turns = {}
    for read_from in ("centered", "running"):
        net = small_net()
        opt = torch.optim.SGD(net.parameters(), lr=1e-5)
        result = rt.lr_range_test(net, toy, optimizer=opt, start=1e-5, end=10.0, steps=300, beta=0.98,
                                  stop_factor=1e9, batch_size=8, loss=_rate_driven_loss({"opt": opt}, target),
                                  read_from=read_from)
        turns[read_from] = result.suggestions["turn"]
    assert abs(math.log10(turns["centered"] / target)) <= 1 / 50 + 1e-9
    assert result.settings["read_window"] == 6                # 2 % of 300 updates
    lag = float(rt.smoothing_lag(0.98, 150))
    assert math.log10(turns["running"] / target) == pytest.approx(lag / 50, abs=0.1)


def test_a_sweep_reproduces_the_grid_engine_on_the_same_schedule(toy):
    """Same data order and the same SGD as lib.train (itself tested against torch.optim)."""
    steps = 40
    net = small_net(init_seed=3)
    result = rt.lr_range_test(net, toy, start=0.05, end=0.5, steps=steps, beta=0.0, stop_factor=1e9,
                              batch_size=32, data_seed=5, skip_start=0, skip_end=0)
    schedule = lambda step: float(result.lrs[step]) if step < steps else 0.0
    run = train_grid([Member(lr=None, schedule=schedule, init_seed=3, data_seed=5)], toy, model=small_net,
                     batch_size=32, epochs=3, progress=False)
    assert np.allclose(run.history.step_loss[0, :steps], result.losses, rtol=1e-4, atol=1e-6)


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
    ours = rt.lr_range_test(small_net(init_seed=2), toy, start=start, end=end, steps=steps, mode=mode,
                            beta=0.0, stop_factor=threshold, batch_size=batch, data_seed=seed,
                            read_from="running", skip_start=10, skip_end=5)

    peer_net = small_net(init_seed=2)
    optimizer = torch.optim.SGD(peer_net.parameters(), lr=start)
    finder = torch_lr_finder.LRFinder(peer_net, optimizer, nn.CrossEntropyLoss())
    order = [b.tolist() for b in rt.sweep_batches(toy.n_train, batch, steps, seed)]
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

def test_the_known_quadratic_has_the_hessian_it_claims():
    quad = rt.known_quadratic(scale=2.5, n=64)
    net = quad.model()
    for rows in (slice(0, 64), slice(3, 11)):           # the whole set and a mini-batch
        x, y = quad.data.x_train[rows], quad.data.y_train[rows]
        hessian = torch.autograd.functional.hessian(lambda w: F.mse_loss(x @ w.view(1, 1), y),
                                                    net.weight.detach().clone().view(1))
        assert hessian.item() == pytest.approx(quad.lambda_max, rel=1e-5)
    assert quad.stability_limit == pytest.approx(2 / (2 * 2.5 ** 2))


@pytest.mark.parametrize("scale", [1.0, 3.0, 6.0])
def test_a_mini_batch_sweep_blows_up_near_two_over_lambda(scale):
    quad = rt.known_quadratic(scale=scale, seed=1)
    result = rt.lr_range_test(quad.model(), quad.data, start=1e-4, end=10.0, steps=5000, batch_size=64,
                              loss="mse", beta=0.98, data_seed=1)
    assert result.stopped_at >= 0
    assert 0.9 <= result.stop_lr / quad.stability_limit <= 1.2


def test_a_full_batch_sweep_cannot_blow_up_before_the_limit():
    """Below 2 / lambda every full-batch step shrinks the error, so the loss only falls."""
    quad = rt.known_quadratic(scale=3.0)
    result = rt.lr_range_test(quad.model(), quad.data, start=1e-4, end=10.0, steps=1000,
                              batch_size=quad.data.n_train, loss="mse", beta=0.0)
    assert result.stop_lr >= quad.stability_limit
    below = result.lrs < quad.stability_limit
    assert np.all(np.diff(result.losses[below]) <= 1e-6)


def test_the_parallel_test_separates_stable_from_unstable_rates():
    quad = rt.known_quadratic(scale=3.0)
    limit = quad.stability_limit
    test = rt.parallel_range_test(quad.data, [0.3 * limit, 0.9 * limit, 1.3 * limit, 2.0 * limit],
                                  model=lambda seed: quad.model(), updates=400, batch_size=64, loss="mse",
                                  tail=20, divergence_loss=1e6)
    assert not test.diverged[0, :2].any() and test.diverged[0, 2:].all()
    assert np.isnan(test.final_loss[0, 2:]).all() and np.isinf(test.mean_loss[2:]).all()
    assert test.best_lr in (0.3 * limit, 0.9 * limit)
    assert test.stable_edge == 0.9 * limit


# --------------------------------------------------------------------------- the textbook's design

def test_table_12_3_has_47_rates_in_five_segments():
    rates = rt.segment_rates()
    assert len(rates) == 47
    assert rates[0] == 0.0001 and rates[8] == 0.0009 and rates[9] == 0.001
    assert 0.3 in rates and 1.05 in rates and rates[-1] == 1.1
    assert np.sum(rates < 1.0) == 36 and np.sum(rates >= 1.0) == 11


def _hand_loop(data, rates, steps_per_point, *, model, loss_fn, batch_size, measure_every, data_seed=0):
    """The textbook's procedure with torch.optim.SGD, written out: returns every measurement."""
    net = model(0)
    opt = torch.optim.SGD(net.parameters(), lr=rates[0])
    g = seeded_generator(data_seed)
    n = data.n_train
    measurements, step = [], 0
    total = steps_per_point * len(rates)
    while step < total:
        order = torch.randperm(n, generator=g)
        for start in range(0, n, batch_size):
            if step == total:
                break
            index = order[start:start + batch_size]
            opt.param_groups[0]["lr"] = rates[step // steps_per_point]
            opt.zero_grad()
            loss_fn(net(data.x_train[index]), data.y_train[index]).backward()
            opt.step()
            step += 1
            if step % measure_every == 0:
                with torch.no_grad():
                    measurements.append(float(loss_fn(net(data.x_train), data.y_train)))
    return np.array(measurements)


def test_the_segmented_sweep_is_the_textbooks_loop_with_half_the_mse():
    sine = rt.sine_data(n=12, seed=3)
    rates = np.array([0.1, 0.5, 1.0])
    sweep = rt.segmented_sweep(sine, rates, model=rt.sine_net, epochs_per_point=2, batch_size=1, loss="mse",
                               init_seeds=[0], train_eval_size=None, loss_scale=rt.TEXTBOOK_MSE_SCALE)
    half_mse = lambda out, target: 0.5 * F.mse_loss(out, target)
    expected = _hand_loop(sine, rates, 2 * 12, model=rt.sine_net, loss_fn=half_mse, batch_size=1,
                          measure_every=12)
    assert np.allclose(sweep.eval_loss[0], expected, rtol=1e-4, atol=1e-7)
    assert np.allclose(sweep.point_loss[0], expected[1::2], rtol=1e-4, atol=1e-7)
    assert np.allclose(sweep.point_mean[0], expected.reshape(3, 2).mean(1), rtol=1e-4, atol=1e-7)
    assert np.array_equal(sweep.eval_rate, np.repeat(rates, 2))


def test_a_design_in_updates_measures_after_every_point(toy):
    rates = np.array([0.01, 0.05, 0.2, 0.4, 0.8])
    sweep = rt.segmented_sweep(toy, rates, model=small_net, updates_per_point=6, batch_size=32,
                               init_seeds=[0, 1], train_eval_size=None)
    expected = _hand_loop(toy, rates, 6, model=small_net, loss_fn=F.cross_entropy, batch_size=32,
                          measure_every=6)
    assert sweep.point_loss.shape == (2, 5)
    assert np.allclose(sweep.point_loss[0], expected, rtol=1e-4, atol=1e-6)
    assert sweep.turn_lr in rates and len(sweep.seed_turns) == 2


def test_nice_steps_are_round_numbers_close_to_the_width():
    assert rt.nice_step(0.029) == 0.02
    assert rt.nice_step(0.042) == 0.05
    assert rt.nice_step(0.4) == 0.5
    assert rt.nice_step(7.0) == 5.0
    assert rt.nice_step(0.0012) == 0.001


def test_zoom_rates_follow_the_textbooks_rounds():
    rates = rt.segment_rates()
    losses = (np.log10(rates) - np.log10(0.6)) ** 2          # turns at 0.6
    second = rt.zoom_rates(rates, losses, "past_falling")
    assert second[0] == pytest.approx(0.4) and second[-1] == pytest.approx(1.1)
    assert np.allclose(np.diff(second), 0.02)
    third = rt.zoom_rates(rates, losses, "around_turn")            # five points either side: 0.1 .. 1.01
    assert third[0] == pytest.approx(0.1) and third[-1] == pytest.approx(1.0)
    assert np.allclose(np.diff(third), 0.05)
    still_falling = rt.zoom_rates(rates, -np.log(rates), "past_falling")
    assert still_falling[0] == pytest.approx(1.0) and still_falling[-1] == pytest.approx(11.0)
    diverged = losses.copy()
    diverged[40:] = np.nan                                    # the run diverged at rates[40]
    assert rt.zoom_rates(rates, diverged, "past_falling")[-1] <= rates[39] + 1e-12


def test_zoom_runs_three_rounds_from_the_same_weights():
    sine = rt.sine_data(n=6)
    rounds = rt.zoom(sine, rt.segment_rates()[27:], rounds=3, model=rt.sine_net, epochs_per_point=1,
                     batch_size=1, loss="mse", init_seeds=[0], train_eval_size=None,
                     loss_scale=rt.TEXTBOOK_MSE_SCALE)
    assert len(rounds) == 3
    first = rounds[0]
    assert np.allclose(rounds[1].rates, rt.zoom_rates(first.rates, first.mean_loss, "past_falling"))
    assert np.allclose(rounds[2].rates, rt.zoom_rates(rounds[1].rates, rounds[1].mean_loss, "around_turn"))


# --------------------------------------------------------------------------- the parallel test and the check

def test_each_copy_of_the_parallel_test_is_an_independent_run(toy):
    rates = [0.01, 0.1, 1.0]
    test = rt.parallel_range_test(toy, rates, model=small_net, updates=8, batch_size=32, init_seeds=[0, 1],
                                  tail=4, train_eval_size=None)
    assert test.final_loss.shape == (2, 3)
    for s, seed in enumerate((0, 1)):
        for r, lr in enumerate(rates):
            net = small_net(seed)
            opt = torch.optim.SGD(net.parameters(), lr=lr)
            for index in rt.sweep_batches(8 * 32, 32, 8, data_seed=0):
                opt.zero_grad()
                F.cross_entropy(net(toy.x_train[index]), toy.y_train[index]).backward()
                opt.step()
            with torch.no_grad():
                final = float(F.cross_entropy(net(toy.x_train[:256]), toy.y_train[:256]))
            assert test.final_loss[s, r] == pytest.approx(final, rel=1e-4)
    assert test.best_lr == rates[int(np.argmin(test.final_loss.mean(0)))]


def test_whole_epochs_are_allowed_and_other_counts_are_not(toy):
    test = rt.parallel_range_test(toy, [0.1], model=small_net, updates=32, batch_size=32, tail=4)
    assert test.history.step_loss.shape == (1, 32)
    with pytest.raises(ValueError, match="multiple of the 16 updates"):
        rt.parallel_range_test(toy, [0.1], model=small_net, updates=20, batch_size=32, tail=4)


def test_check_suggestions_trains_each_distinct_rate_once(toy):
    check = rt.check_suggestions(toy, {"a": 0.05, "b": 0.5, "c": 0.05}, model=small_net, epochs=1,
                                 batch_size=32, init_seeds=[0, 1])
    assert len(check.history.members) == 4                  # two distinct rates x two seeds
    assert check.val_loss.shape == (2, 3)
    assert np.array_equal(check.val_loss[:, 0], check.val_loss[:, 2])
    assert check.best == ("a" if check.mean_val_loss[0] < check.mean_val_loss[1] else "b")


def test_suggestions_across_seeds_are_median_and_range(toy):
    results = [rt.lr_range_test(small_net(s), toy, start=1e-3, end=10.0, steps=40, batch_size=32)
               for s in range(3)]
    summary = rt.suggestions_across_seeds(results)
    values = sorted(r.suggestions["turn"] for r in results)
    assert summary["turn"] == (values[1], values[0], values[2])


# --------------------------------------------------------------------------- plots and the explorer

def test_plots_draw_the_data_they_are_given(toy):
    result = rt.lr_range_test(small_net(), toy, start=1e-3, end=10.0, steps=40, batch_size=32)
    fig, ax = plt.subplots()
    rt.plot_sweep(ax, result, show_running=True)
    assert any(np.array_equal(line.get_ydata(), result.centered) for line in ax.lines)
    assert any(np.array_equal(line.get_ydata(), result.smoothed) for line in ax.lines)
    assert ax.get_xscale() == "log"
    plt.close(fig)
    sine = rt.sine_data(n=6)
    sweep = rt.segmented_sweep(sine, [0.1, 0.2], model=rt.sine_net, epochs_per_point=1, batch_size=1, loss="mse")
    fig, ax = plt.subplots()
    rt.plot_segmented(ax, sweep)
    assert any(np.allclose(line.get_ydata(), sweep.mean_loss) for line in ax.lines if len(line.get_ydata()) == 2)
    plt.close(fig)


def test_the_explorer_shows_a_message_instead_of_a_traceback(toy):
    big = Splits(torch.rand(512, 784), torch.randint(0, 10, (512,)))
    explorer = rt.RangeTestExplorer(big, steps=30, batch_size=32)
    assert explorer.message.value == "" and isinstance(explorer.last_figure, plt.Figure)
    for control, bad, text in ((explorer.end, 1e-5, "end must be between"),
                               (explorer.beta, 1.0, "beta must be between"),
                               (explorer.steps, 3, "steps must be an int between"),
                               (explorer.batch_size, 0, "batch_size must be an int between")):
        good = control.value
        control.value = bad                  # observe() calls redraw(); it must not raise
        assert text in explorer.message.value
        control.value = good
        assert explorer.message.value == ""
    explorer.end.value = 0.2
    explorer.start.value = 0.5               # start above end
    assert "end must be larger than start" in explorer.message.value


def test_sweep_figure_returns_a_figure():
    data = Splits(torch.rand(256, 784), torch.randint(0, 10, (256,)))
    fig = rt.sweep_figure(data, steps=20, batch_size=32)
    assert isinstance(fig, plt.Figure) and fig.axes[0].get_xscale() == "log"
    plt.close(fig)


# --------------------------------------------------------------------------- bad input

BAD_INPUTS = [
    (lambda d: rt.sweep_rates(0, 1, 10), ValueError, "start must be a finite number > 0"),
    (lambda d: rt.sweep_rates(1, 0.1, 10), ValueError, "end must be larger than start"),
    (lambda d: rt.sweep_rates(1e-3, 1, 1), ValueError, "steps must be >= 2"),
    (lambda d: rt.sweep_rates(1e-3, 1, 10.0), TypeError, "steps must be an int"),
    (lambda d: rt.sweep_rates(1e-3, 1, 10, mode="cosine"), ValueError, "mode must be one of exp, linear"),
    (lambda d: rt.sweep_rates(1e-3, float("inf"), 10), ValueError, "end must be a finite number > 0"),
    (lambda d: rt.smooth([1.0, 2.0], beta=1.0), ValueError, r"beta must be in \[0, 1\)"),
    (lambda d: rt.smooth([1.0, float("nan")]), ValueError, "losses must be finite"),
    (lambda d: rt.smooth([[1.0]]), ValueError, "1-D"),
    (lambda d: rt.smoothing_lag(0.9, 0), ValueError, "count must be >= 1"),
    (lambda d: rt.sweep_batches(10, 11, 3), ValueError, "batch_size must be an int between 1 and 10"),
    (lambda d: rt.lr_range_test("net", d), TypeError, "model must be an nn.Module"),
    (lambda d: rt.lr_range_test(nn.ReLU(), d), ValueError, "no parameters"),
    (lambda d: rt.lr_range_test(small_net(), (d.x_train, d.y_train)), TypeError, "lib.data.Splits"),
    (lambda d: rt.lr_range_test(small_net(), d, stop_factor=1.0), ValueError, "stop_factor must be > 1"),
    (lambda d: rt.lr_range_test(small_net(), d, batch_size=0), ValueError, "batch_size must be an int between"),
    (lambda d: rt.lr_range_test(small_net(), d, loss="hinge"), ValueError, "unknown loss 'hinge'"),
    (lambda d: rt.lr_range_test(small_net(), d, loss=3), TypeError, "loss must be"),
    (lambda d: rt.lr_range_test(small_net(), d, optimizer="sgd"), TypeError, "torch.optim.Optimizer"),
    (lambda d: rt.lr_range_test(small_net(), d, optimizer=torch.optim.SGD(small_net().parameters(), lr=0.1)),
     ValueError, "does not hold any of the model's parameters"),
    (lambda d: rt.lr_range_test(small_net(), d, read_from="raw"), ValueError, "read_from must be"),
    (lambda d: rt.lr_range_test(small_net(), d, read_window=0), ValueError, "read_window must be >= 1"),
    (lambda d: rt.smooth_centered([1.0, np.inf]), ValueError, "losses must be finite"),
    (lambda d: rt.lr_range_test(small_net(), d, skip_start=-1), ValueError, "skip_start must be >= 0"),
    (lambda d: rt.steepest([0.1], [1.0]), ValueError, "at least 2 points"),
    (lambda d: rt.turn([0.1, 0.2], [1.0]), ValueError, "1-D arrays of one length"),
    (lambda d: rt.turn([], []), ValueError, "empty"),
    (lambda d: rt.turn([0.1, -0.2], [1.0, 2.0]), ValueError, "finite and > 0"),
    (lambda d: rt.suggest([0.1, 0.2], [1.0, float("nan")]), ValueError, "losses must be finite"),
    (lambda d: rt.longest_falling_stretch([]), ValueError, "non-empty"),
    (lambda d: rt.suggestions_across_seeds([]), ValueError, "non-empty list of RangeTest"),
    (lambda d: rt.suggestions_across_seeds([1]), TypeError, "every result must be a RangeTest"),
    (lambda d: rt.segment_rates([]), ValueError, "non-empty list"),
    (lambda d: rt.segment_rates([(0.1, 0.9)]), ValueError, r"\(first, last, step\)"),
    (lambda d: rt.segment_rates([(0.9, 0.1, 0.1)]), ValueError, "last rate must be >= its first"),
    (lambda d: rt.segment_rates([(0.1, 0.5, 0.1), (0.2, 0.3, 0.1)]), ValueError, "increasing rates"),
    (lambda d: rt.segmented_sweep(d, [0.1], model=small_net), ValueError, "exactly one of"),
    (lambda d: rt.segmented_sweep(d, [0.1], model=small_net, epochs_per_point=1, updates_per_point=1),
     ValueError, "exactly one of"),
    (lambda d: rt.segmented_sweep(d, [], model=small_net, epochs_per_point=1), ValueError, "non-empty 1-D"),
    (lambda d: rt.segmented_sweep(d, [0.1], model=small_net, epochs_per_point=0), ValueError,
     "epochs_per_point must be >= 1"),
    (lambda d: rt.segmented_sweep(d, [0.1], model=small_net, updates_per_point=1, init_seeds=[]), ValueError,
     "init_seeds must be a non-empty list"),
    (lambda d: rt.segmented_sweep(d, [0.1], model=small_net, updates_per_point=1, loss_scale=0), ValueError,
     "loss_scale must be a finite number > 0"),
    (lambda d: rt.nice_step(-1.0), ValueError, "width must be a finite number > 0"),
    (lambda d: rt.zoom_rates([0.1, 0.2, 0.3], [1.0, 0.5, 0.7], "sideways"), ValueError, "kind must be"),
    (lambda d: rt.zoom_rates([0.1, 0.2], [np.nan, np.nan], "past_falling"), ValueError, "every point diverged"),
    (lambda d: rt.zoom_rates([0.1, 0.2, 0.3], [1.0, 0.5, 0.7], "past_falling", points=2), ValueError,
     "points must be >= 3"),
    (lambda d: rt.zoom(d, rounds=0), ValueError, "rounds must be >= 1"),
    (lambda d: rt.parallel_range_test(d, [0.1], model=small_net, updates=0), ValueError, "updates must be >= 1"),
    (lambda d: rt.parallel_range_test(d, [0.1], model=small_net, updates=10, tail=11), ValueError,
     "tail must be an int between 1 and 10"),
    (lambda d: rt.parallel_range_test(d, [np.inf], model=small_net), ValueError, "finite rates > 0"),
    (lambda d: rt.check_suggestions(d, {}, model=small_net), ValueError, "non-empty dict"),
    (lambda d: rt.check_suggestions(d, {"x": -1.0}, model=small_net), ValueError, "the rate of 'x'"),
    (lambda d: rt.check_suggestions(Splits(d.x_train, d.y_train), {"x": 0.1}, model=small_net), ValueError,
     "no validation split"),
    (lambda d: rt.sine_data(n=1), ValueError, "n must be >= 2"),
    (lambda d: rt.known_quadratic(scale=0), ValueError, "scale must be a finite number > 0"),
    (lambda d: rt.known_quadratic(noise=-1), ValueError, "noise must be >= 0"),
    (lambda d: rt.plot_sweep(None, "result"), TypeError, "result must be a RangeTest"),
    (lambda d: rt.plot_segmented(None, "sweep"), TypeError, "sweep must be a SegmentedSweep"),
    (lambda d: rt.plot_parallel(None, "test"), TypeError, "test must be a ParallelTest"),
    (lambda d: rt.plot_check(None, "check"), TypeError, "check must be a SuggestionCheck"),
    (lambda d: rt.plot_suggestion_rows(None, []), ValueError, "non-empty list"),
    (lambda d: rt.sweep_figure(d, start=10.0), ValueError, "start must be between"),
    (lambda d: rt.sweep_figure(d, steps=10_000), ValueError, "steps must be an int between 20 and 500"),
    (lambda d: rt.RangeTestExplorer("data"), TypeError, "lib.data.Splits"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)
