"""Batch size 1 and the textbook's two rate claims: the sweep against a plain torch.optim.SGD loop, the
best-rate and linear-rule arithmetic and the equal-training-loss comparison on made-up records."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from lib.core.data import Splits
from lib.core.order import DataOrder
from lib.sharpness import online
from lib.sharpness.seed_intervals import FAILS, HOLDS, NOT_SETTLED


def _plain_sgd(data, model, lr, seed, batch_size, updates, momentum):
    """Peer: one network, torch.optim.SGD, the chapter's data order, ``updates`` steps; its weights' losses."""
    torch.manual_seed(1234)                      # the model factory seeds itself; this only guards the loop
    net = model(seed)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    order = DataOrder(data.n_train, seed=seed)
    done = 0
    while done < updates:
        for index in order.batches(batch_size):
            optimizer.zero_grad()
            F.cross_entropy(net(data.x_train[index]), data.y_train[index]).backward()
            optimizer.step()
            done += 1
            if done == updates:
                break
    with torch.no_grad():
        train = F.cross_entropy(net(data.x_train), data.y_train).item()
        logits = net(data.x_val)
        return train, F.cross_entropy(logits, data.y_val).item(), 100 * (logits.argmax(1) == data.y_val).float().mean().item()


def test_the_sweep_at_batch_one_is_plain_sgd_one_example_at_a_time(toy, tiny_model):
    rates = [0.01, 0.05, 0.2]
    sweep = online.rate_sweep(toy, batch_sizes=[8, 1], rates=rates, epochs=1, seeds=[0, 1], momentum=0.5,
                              evaluations=2, model=tiny_model)
    assert sweep.batch_sizes == (1, 8)                                   # sorted
    assert list(sweep.eval_steps[0]) == [0, 48, 96] and list(sweep.eval_steps[1]) == [0, 6, 12]
    assert sweep.train_loss[0].shape == (2, 3, 3)                        # (seeds, rates, evaluations)
    for s, seed in enumerate([0, 1]):
        for r, lr in enumerate(rates):
            for t, updates in ((1, 48), (2, 96)):
                train, val, acc = _plain_sgd(toy, tiny_model, lr, seed, 1, updates, 0.5)
                assert sweep.train_loss[0][s, r, t] == pytest.approx(train, abs=1e-4)
                assert sweep.val_loss[0][s, r, t] == pytest.approx(val, abs=1e-4)
                assert sweep.val_acc[0][s, r, t] == pytest.approx(acc, abs=1e-3)
            train, val, acc = _plain_sgd(toy, tiny_model, lr, seed, 8, 12, 0.5)
            assert sweep.val_loss[1][s, r, -1] == pytest.approx(val, abs=1e-4)
    assert sweep.final_val_loss.shape == (2, 2, 3) and not sweep.diverged.any()


def _made_up_sweep(best_by_batch, batch_sizes=(1, 4, 16), rates=2.0 ** np.arange(-9, -1), seeds=3):
    """A RateSweep whose final validation loss is (ln r - ln best)^2 + 1 per (batch, seed): the vertex is known."""
    rates = np.asarray(rates, dtype=float)
    best = np.asarray(best_by_batch, dtype=float)                        # (Bn, S)
    loss = [np.stack([np.stack([(np.log(rates) - np.log(best[i, s])) ** 2 + 1] * 2, axis=-1)
                      for s in range(seeds)]) for i in range(len(batch_sizes))]    # (S, R, 2)
    steps = tuple(np.array([0, 10]) for _ in batch_sizes)
    return online.RateSweep(batch_sizes=tuple(batch_sizes), rates=rates, seeds=tuple(range(seeds)), epochs=1,
                            momentum=0.0, train_size=100, eval_steps=steps, train_loss=tuple(loss),
                            val_loss=tuple(loss), val_acc=tuple(np.zeros_like(x) for x in loss),
                            diverged=np.zeros((len(batch_sizes), seeds, len(rates)), bool))


def test_best_rates_are_the_vertices_and_the_linear_rule_predicts_from_the_larger_batches():
    c = 2.0 ** -7.3                                                      # best rate per example
    jitter = np.array([1.0, 1.1, 0.92])
    # batches 4 and 16 follow eta* = c B exactly (times a per-seed jitter); batch 1 sits 2^delta above
    for delta, verdict in ((0.0, HOLDS), (3.0, FAILS)):
        best = np.array([c * 1 * 2.0 ** delta * jitter, c * 4 * jitter, c * 16 * jitter])
        check = online.linear_scaling_check(_made_up_sweep(best), tolerance=1.0)
        assert check.best_rates == pytest.approx(best, rel=1e-9)
        assert check.predicted == pytest.approx(c * jitter, rel=1e-9)   # B * geomean(eta*_b / b)
        assert check.log2_ratio.values == pytest.approx(np.full(3, delta), abs=1e-9)
        assert check.ratio == pytest.approx(2.0 ** delta)
        assert check.verdict == verdict
        assert check.slope.slope == pytest.approx(1.0) and check.slope.rules == ("linear",)
    # seeds that disagree: not settled
    best = np.array([c * np.array([2.0, 0.25, 6.0]), c * 4 * jitter, c * 16 * jitter])
    assert online.linear_scaling_check(_made_up_sweep(best)).verdict == NOT_SETTLED


def test_rates_are_compared_where_each_first_reaches_the_common_training_loss():
    steps = np.array([0, 10, 20, 30])
    rates = np.array([0.1, 0.2, 0.4, 0.8])
    curve = {0: [2.0, 1.0, 0.5, 0.5], 1: [2.0, 0.5, 0.4, 0.3], 2: [2.0, 0.5, 0.3, 0.2], 3: [2.0, 0.3, np.nan, np.nan]}
    train = np.array([[curve[r] for r in range(4)]] * 3)                   # (S=3, R=4, T=4)
    bonus = np.array([[3.0, 2.0, 0.0, 0.0], [2.5, 2.0, 1.0, 0.0], [2.8, 2.1, 0.5, 0.0]])  # (S, R): offsets
    acc = 60 + 0.5 * steps[None, None, :] + bonus[:, :, None]              # (S, R, T)
    diverged = np.zeros((1, 3, 4), bool)
    diverged[0, 1, 3] = True                                               # rate 0.8 diverged in seed 1: left out
    sweep = online.RateSweep(batch_sizes=(4,), rates=rates, seeds=(0, 1, 2), epochs=1, momentum=0.0, train_size=50,
                             eval_steps=(steps,), train_loss=(train,), val_loss=(train,), val_acc=(acc,),
                             diverged=diverged)
    result = online.rate_generalization(sweep, 4, rates_compared=3)
    # worst-seed lowest losses 0.5, 0.3, 0.2: the third lowest, 0.5, is the target
    assert result.target_loss == 0.5 and list(result.rates) == [0.1, 0.2, 0.4]
    crossing = np.array([20, 10, 10])                                      # where each first reaches 0.5
    expected = 60 + 0.5 * crossing[None, :] + bonus[:, :3]
    assert result.acc_at_loss == pytest.approx(expected)
    assert result.acc_at_end == pytest.approx(acc[:, :3, -1])
    x = np.log2(rates[:3])
    assert result.slope_at_loss.values == pytest.approx([np.polyfit(x, row, 1)[0] for row in expected])
    assert result.verdict == FAILS                                         # every seed: larger rates lower here
    assert result.slope_at_end.values == pytest.approx([np.polyfit(x, row, 1)[0] for row in acc[:, :3, -1]])


@pytest.mark.parametrize("call, error, message", [
    (lambda d, m: online.rate_sweep(None, batch_sizes=[1], rates=[0.1], epochs=1, seeds=[0, 1]), TypeError,
     "data must be lib.core.data.Splits"),
    (lambda d, m: online.rate_sweep(Splits(d.x_train, d.y_train), batch_sizes=[1], rates=[0.1], epochs=1,
                                    seeds=[0, 1]), ValueError, "needs a validation split"),
    (lambda d, m: online.rate_sweep(d, batch_sizes=[1], rates=[0.1], epochs=1, seeds=[0]), ValueError,
     "at least 2 seeds"),
    (lambda d, m: online.rate_sweep(d, batch_sizes=[1, 200], rates=[0.1], epochs=1, seeds=[0, 1]), ValueError,
     "batch_sizes must be an int between 1 and 96"),
    (lambda d, m: online.rate_sweep(d, batch_sizes=[1], rates=[0.2, 0.1], epochs=1, seeds=[0, 1]), ValueError,
     "rates must be increasing"),
    (lambda d, m: online.rate_sweep(d, batch_sizes=[1], rates=[0.1], epochs=0, seeds=[0, 1]), ValueError,
     "epochs must be an int >= 1"),
    (lambda d, m: online.rate_sweep(d, batch_sizes=[1], rates=[0.1], epochs=1, seeds=[0, 1], evaluations=0),
     ValueError, "evaluations must be an int >= 1"),
    (lambda d, m: online.linear_scaling_check("sweep"), TypeError, "sweep must be a RateSweep"),
    (lambda d, m: online.linear_scaling_check(_made_up_sweep(np.ones((1, 3)), batch_sizes=(1,))), ValueError,
     "at least 2 batch sizes"),
    (lambda d, m: online.linear_scaling_check(_made_up_sweep(np.ones((3, 3)) * 0.01), tolerance=0), ValueError,
     "tolerance must be"),
    (lambda d, m: online.rate_generalization(_made_up_sweep(np.ones((3, 3)) * 0.01), 2), ValueError,
     r"unknown batch_size 2; allowed: 1, 4, 16"),
    (lambda d, m: online.rate_generalization(_made_up_sweep(np.ones((3, 3)) * 0.01), 1, rates_compared=20),
     ValueError, "only 8 rates"),
    (lambda d, m: online.rate_generalization(_made_up_sweep(np.ones((3, 3)) * 0.01), 1, rates_compared=1),
     ValueError, "rates_compared must be an int >= 2"),
])
def test_bad_input_is_rejected_with_a_clear_message(toy, tiny_model, call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        call(toy, tiny_model)
