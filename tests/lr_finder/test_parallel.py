"""The parallel test against independent torch.optim runs and the known quadratic's 2 / lambda;
the check of suggestions against its own grid."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.core.data import Splits
from lib.core.order import DataOrder
from lib.lr_finder import parallel as pt
from lib.lr_finder.problems import known_quadratic
from tests.lr_finder.toys import small_net


def test_each_copy_of_the_parallel_test_is_an_independent_run(toy):
    rates = [0.01, 0.1, 1.0]
    test = pt.parallel_range_test(toy, rates, model=small_net, updates=8, batch_size=32, init_seeds=[0, 1],
                                  tail=4, train_eval_size=None)
    assert test.final_loss.shape == (2, 3)
    for s, seed in enumerate((0, 1)):
        for r, lr in enumerate(rates):
            net = small_net(seed)
            opt = torch.optim.SGD(net.parameters(), lr=lr)
            for index in itertools.islice(DataOrder(8 * 32, seed=0).stream(32), 8):
                opt.zero_grad()
                F.cross_entropy(net(toy.x_train[index]), toy.y_train[index]).backward()
                opt.step()
            with torch.no_grad():
                final = float(F.cross_entropy(net(toy.x_train[:256]), toy.y_train[:256]))
            assert test.final_loss[s, r] == pytest.approx(final, rel=1e-4)
    assert test.best_lr == rates[int(np.argmin(test.final_loss.mean(0)))]


def test_whole_epochs_are_allowed_and_other_counts_are_not(toy):
    test = pt.parallel_range_test(toy, [0.1], model=small_net, updates=32, batch_size=32, tail=4)
    assert test.history.step_loss.shape == (1, 32)
    with pytest.raises(ValueError, match="multiple of the 16 updates"):
        pt.parallel_range_test(toy, [0.1], model=small_net, updates=20, batch_size=32, tail=4)


def test_the_parallel_test_separates_stable_from_unstable_rates():
    quad = known_quadratic(scale=3.0)
    limit = quad.stability_limit
    test = pt.parallel_range_test(quad.data, [0.3 * limit, 0.9 * limit, 1.3 * limit, 2.0 * limit],
                                  model=lambda seed: quad.model(), updates=400, batch_size=64, loss="mse",
                                  tail=20, divergence_loss=1e6)
    assert not test.diverged[0, :2].any() and test.diverged[0, 2:].all()
    assert np.isnan(test.final_loss[0, 2:]).all() and np.isinf(test.mean_loss[2:]).all()
    assert test.best_lr in (0.3 * limit, 0.9 * limit)
    assert test.largest_stable_rate == 0.9 * limit


def test_check_suggestions_trains_each_distinct_rate_once(toy):
    check = pt.check_suggestions(toy, {"a": 0.05, "b": 0.5, "c": 0.05}, model=small_net, epochs=1,
                                 batch_size=32, init_seeds=[0, 1])
    assert len(check.history.members) == 4                  # two distinct rates x two seeds
    assert check.val_loss.shape == (2, 3)
    assert np.array_equal(check.val_loss[:, 0], check.val_loss[:, 2])
    assert check.best == ("a" if check.mean_val_loss[0] < check.mean_val_loss[1] else "b")


BAD_INPUTS = [
    (lambda d: pt.parallel_range_test(d, [0.1], model=small_net, updates=0), ValueError,
     "updates must be an int >= 1"),
    (lambda d: pt.parallel_range_test(d, [0.1], model=small_net, updates=10, tail=11), ValueError,
     "tail must be an int between 1 and 10"),
    (lambda d: pt.parallel_range_test(d, [np.inf], model=small_net), ValueError,
     "every entry of rates must be a finite number > 0"),
    (lambda d: pt.parallel_range_test("data", [0.1]), TypeError, "data must be lib.core.data.Splits"),
    (lambda d: pt.check_suggestions(d, {}, model=small_net), ValueError, "non-empty dict"),
    (lambda d: pt.check_suggestions(d, {"x": -1.0}, model=small_net), ValueError,
     "the rate of 'x' must be a finite number > 0"),
    (lambda d: pt.check_suggestions(Splits(d.x_train, d.y_train), {"x": 0.1}, model=small_net), ValueError,
     "data needs a validation split"),
    (lambda d: pt.check_suggestions(d, {"x": 0.1}, model=small_net, epochs=0), ValueError,
     "epochs must be an int >= 1"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)
