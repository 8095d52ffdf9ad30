"""The textbook's segmented design against its Table 12-3 and a hand-written loop of torch.optim.SGD."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.core.device import seeded_generator
from lib.lr_finder import zoom as zm
from lib.lr_finder.problems import TEXTBOOK_MSE_SCALE, sine_data, sine_net
from tests.lr_finder.toys import small_net


def test_table_12_3_has_47_rates_in_five_segments():
    rates = zm.segment_rates()
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
    sine = sine_data(n=12, seed=3)
    rates = np.array([0.1, 0.5, 1.0])
    sweep = zm.segmented_sweep(sine, rates, model=sine_net, epochs_per_point=2, batch_size=1, loss="mse",
                               init_seeds=[0], train_eval_size=None, loss_scale=TEXTBOOK_MSE_SCALE)
    half_mse = lambda out, target: 0.5 * F.mse_loss(out, target)  # noqa: E731
    expected = _hand_loop(sine, rates, 2 * 12, model=sine_net, loss_fn=half_mse, batch_size=1,
                          measure_every=12)
    assert np.allclose(sweep.eval_loss[0], expected, rtol=1e-4, atol=1e-7)
    assert np.allclose(sweep.point_loss[0], expected[1::2], rtol=1e-4, atol=1e-7)
    assert np.allclose(sweep.point_mean[0], expected.reshape(3, 2).mean(1), rtol=1e-4, atol=1e-7)
    assert np.array_equal(sweep.eval_rate, np.repeat(rates, 2))


def test_a_design_in_updates_measures_after_every_point(toy):
    rates = np.array([0.01, 0.05, 0.2, 0.4, 0.8])
    sweep = zm.segmented_sweep(toy, rates, model=small_net, updates_per_point=6, batch_size=32,
                               init_seeds=[0, 1], train_eval_size=None)
    expected = _hand_loop(toy, rates, 6, model=small_net, loss_fn=F.cross_entropy, batch_size=32,
                          measure_every=6)
    assert sweep.point_loss.shape == (2, 5)
    assert np.allclose(sweep.point_loss[0], expected, rtol=1e-4, atol=1e-6)
    assert sweep.turn_lr in rates and len(sweep.seed_turns) == 2


def test_nice_steps_are_round_numbers_close_to_the_width():
    assert zm.nice_step(0.029) == 0.02
    assert zm.nice_step(0.042) == 0.05
    assert zm.nice_step(0.4) == 0.5
    assert zm.nice_step(7.0) == 5.0
    assert zm.nice_step(0.0012) == 0.001


def test_zoom_rates_follow_the_textbooks_rounds():
    rates = zm.segment_rates()
    losses = (np.log10(rates) - np.log10(0.6)) ** 2          # turns at 0.6
    second = zm.zoom_rates(rates, losses, "past_falling")
    assert second[0] == pytest.approx(0.4) and second[-1] == pytest.approx(1.1)
    assert np.allclose(np.diff(second), 0.02)
    third = zm.zoom_rates(rates, losses, "around_turn")            # five points either side: 0.1 .. 1.01
    assert third[0] == pytest.approx(0.1) and third[-1] == pytest.approx(1.0)
    assert np.allclose(np.diff(third), 0.05)
    still_falling = zm.zoom_rates(rates, -np.log(rates), "past_falling")
    assert still_falling[0] == pytest.approx(1.0) and still_falling[-1] == pytest.approx(11.0)
    diverged = losses.copy()
    diverged[40:] = np.nan                                    # the run diverged at rates[40]
    assert zm.zoom_rates(rates, diverged, "past_falling")[-1] <= rates[39] + 1e-12


def test_zoom_runs_three_rounds_from_the_same_weights():
    sine = sine_data(n=6)
    rounds = zm.zoom(sine, zm.segment_rates()[27:], rounds=3, model=sine_net, epochs_per_point=1,
                     batch_size=1, loss="mse", init_seeds=[0], train_eval_size=None,
                     loss_scale=TEXTBOOK_MSE_SCALE)
    assert len(rounds) == 3
    first = rounds[0]
    assert np.allclose(rounds[1].rates, zm.zoom_rates(first.rates, first.mean_loss, "past_falling"))
    assert np.allclose(rounds[2].rates, zm.zoom_rates(rounds[1].rates, rounds[1].mean_loss, "around_turn"))


BAD_INPUTS = [
    (lambda d: zm.segment_rates([]), ValueError, "non-empty list"),
    (lambda d: zm.segment_rates([(0.1, 0.9)]), ValueError, r"\(first, last, step\)"),
    (lambda d: zm.segment_rates([(0.9, 0.1, 0.1)]), ValueError, "last rate must be >= its first"),
    (lambda d: zm.segment_rates([(0.1, 0.5, 0.1), (0.2, 0.3, 0.1)]), ValueError, "increasing rates"),
    (lambda d: zm.segment_rates([(0.1, 0.5, 0.0)]), ValueError, "step must be a finite number > 0"),
    (lambda d: zm.segmented_sweep(d, [0.1], model=small_net), ValueError, "exactly one of"),
    (lambda d: zm.segmented_sweep(d, [0.1], model=small_net, epochs_per_point=1, updates_per_point=1),
     ValueError, "exactly one of"),
    (lambda d: zm.segmented_sweep(d, [], model=small_net, epochs_per_point=1), ValueError,
     "rates must hold at least 1 value"),
    (lambda d: zm.segmented_sweep(d, [0.1], model=small_net, epochs_per_point=0), ValueError,
     "epochs_per_point must be an int >= 1"),
    (lambda d: zm.segmented_sweep(d, [0.1], model=small_net, updates_per_point=1, init_seeds=[]), ValueError,
     "init_seeds must be a list of at least 1 int"),
    (lambda d: zm.segmented_sweep(d, [0.1], model=small_net, updates_per_point=1, loss_scale=0), ValueError,
     "loss_scale must be a finite number > 0"),
    (lambda d: zm.segmented_sweep((d.x_train, d.y_train), [0.1], updates_per_point=1), TypeError,
     "data must be lib.core.data.Splits"),
    (lambda d: zm.nice_step(-1.0), ValueError, "width must be a finite number > 0"),
    (lambda d: zm.zoom_rates([0.1, 0.2, 0.3], [1.0, 0.5, 0.7], "sideways"), ValueError,
     "unknown kind 'sideways'; allowed: past_falling, around_turn"),
    (lambda d: zm.zoom_rates([0.1, 0.2], [np.nan, np.nan], "past_falling"), ValueError, "every point diverged"),
    (lambda d: zm.zoom_rates([0.1, 0.2, 0.3], [1.0, 0.5, 0.7], "past_falling", points=2), ValueError,
     "points must be an int >= 3"),
    (lambda d: zm.zoom(d, rounds=0), ValueError, "rounds must be an int >= 1"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)
