"""Batch sizes on an equal footing (issue 14, items 2b, 2c, 3): the loss after a given number of updates
against power laws with known values, the equal-update and target comparisons against a hand-made record,
the test-split scores against a plain evaluation of the same network, and the textbook's grids read after
fewer epochs against the history read by hand."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.batch_size import critical_batch, rate_grid, settings, study
from lib.batch_size.batch_sweep import Sweep
from lib.batch_size.illustration import TEXTBOOK_RATES
from lib.batch_size.rate_grid import RateComparison, RateGrid
from lib.core.data import Splits
from lib.core.engine import History, train_grid
from lib.core.members import Member


# --------------------------------------------------------------------------- the curve, read at a step

def power_curve(steps, scale=2.0, power=0.5):
    steps = np.asarray(steps, dtype=np.float64)
    return scale * steps ** -power


def test_loss_at_step_is_exact_on_a_power_law_and_linear_after_step_zero():
    steps = np.array([0, 1, 2, 4, 8, 16, 32], dtype=float)
    losses = np.r_[5.0, power_curve(steps[1:])]
    assert critical_batch.loss_at_step(steps, losses, 11.0) == pytest.approx(2.0 * 11.0 ** -0.5)
    assert critical_batch.loss_at_step(steps, losses, 8.0) == losses[4]                  # a measurement itself
    assert critical_batch.loss_at_step(steps, losses, 0.25) == pytest.approx(5.0 - 0.25 * 3.0)   # 5 -> 2 linearly
    assert math.isnan(critical_batch.loss_at_step(steps, losses, 33.0))                 # beyond the record
    diverged = np.r_[losses[:4], np.nan, np.nan, np.nan]
    assert math.isnan(critical_batch.loss_at_step(steps, diverged, 6.0))                # NaN at the later point
    assert critical_batch.loss_at_step(steps, diverged, 3.0) == pytest.approx(2.0 * 3.0 ** -0.5)


def test_loss_at_step_undoes_crossing_step():
    steps = np.array([1, 3, 10, 30, 100], dtype=float)
    losses = np.array([2.3, 1.1, 0.7, 0.45, 0.3])       # not a single power law: piecewise in log-log
    for target in (1.5, 0.8, 0.5, 0.31):
        step = critical_batch.crossing_step(steps, losses, target)
        assert critical_batch.loss_at_step(steps, losses, step) == pytest.approx(target)


# --------------------------------------------------------------------------- a hand-made record

def hand_grid(batch_size, total_steps, curves, rates=(0.1, 0.3), seeds=(0, 1), diverged_at=None) -> RateGrid:
    """A grid whose validation curves are the given functions of the step, measured at 1, 2, 4, ... and the end."""
    eval_step = np.unique(np.r_[2 ** np.arange(int(math.log2(total_steps)) + 1), total_steps])
    K = len(rates) * len(seeds)
    val = np.array([curves[k](eval_step) for k in range(K)], dtype=np.float64)
    diverged_at = np.full(K, -1) if diverged_at is None else np.asarray(diverged_at)
    for k, at in enumerate(diverged_at):
        if at >= 0:
            val[k, eval_step > at] = np.nan
    members = [Member(lr=r, init_seed=s, data_seed=s) for r in rates for s in seeds]
    history = History(members=members, batch_sizes=[batch_size], step_loss=np.zeros((K, total_steps)),
                      step_lr=np.zeros((K, total_steps)), step_epoch=np.zeros(total_steps),
                      step_examples=np.full(total_steps, batch_size), eval_step=eval_step,
                      eval_epoch=eval_step / total_steps, train_loss=val, train_acc=np.full_like(val, 0.9),
                      val_loss=val, val_acc=np.full_like(val, 0.9), diverged_at=diverged_at)
    return RateGrid(batch_size, np.array(rates), np.zeros(0), tuple(seeds), ("constant",), 0, history,
                    np.zeros(0, dtype=int), np.zeros((K, 0)))


def law(scale, power=0.5):
    return lambda s: scale * np.asarray(s, dtype=np.float64) ** -power


@pytest.fixture
def hand_sweep():
    # batch 16: 64 updates; rate 0.3 is better (scale 1.0 vs 1.5); seed 1 a little worse.
    small = hand_grid(16, 64, [law(1.5), law(1.6), law(1.0), law(1.1)])
    # batch 64: 16 updates, each worth more: loss 0.6 s^-0.5 for its better rate; its rate 0.1 diverges in seed 1
    large = hand_grid(64, 16, [law(0.9), law(0.9), law(0.6), law(0.65)], diverged_at=[-1, 3, -1, -1])
    return Sweep({16: small, 64: large}, epochs=1, n_train=1024)


def test_equal_updates_read_the_largest_common_count(hand_sweep):
    comparison = study.compare_batch_sizes(hand_sweep, [0.2, 0.12])
    assert comparison.updates == 16                                       # the large batch's whole run
    assert comparison.updates_configs == ((0.3, "constant"), (0.3, "constant"))
    assert np.allclose(comparison.updates_loss, [[1.0 / 4, 1.1 / 4], [0.6 / 4, 0.65 / 4]])
    assert comparison.best("updates") == 64
    # at equal epochs the small batch has made 64 updates: 1.0/8 and 1.1/8 against the large batch's 16
    assert np.allclose(comparison.epochs_loss, [[1.0 / 8, 1.1 / 8], [0.6 / 4, 0.65 / 4]])
    assert comparison.best("epochs") == 16
    assert comparison.std("updates") == pytest.approx([np.std([0.25, 0.275], ddof=1), np.std([0.15, 0.1625], ddof=1)])


def test_steps_to_a_target_are_the_known_crossings_and_not_reached_is_nan(hand_sweep):
    comparison = study.compare_batch_sizes(hand_sweep, [0.2, 0.12])
    # target 0.2: batch 16 crosses where 1.0 s^-0.5 = 0.2 (s = 25) and 1.1 s^-0.5 = 0.2 (s = 30.25)
    expected_small = np.mean([25.0, 30.25])
    expected_large = np.mean([(0.6 / 0.2) ** 2, (0.65 / 0.2) ** 2])      # 9 and 10.5625
    assert comparison.target_steps[0] == pytest.approx([expected_small, expected_large])
    assert comparison.target_examples[0] == pytest.approx([16 * expected_small, 64 * expected_large])
    assert comparison.target_rates[0].tolist() == [0.3, 0.3]
    assert comparison.fewest_updates(0) == 64 and comparison.fewest_examples(0) == 16
    # target 0.12: batch 16's best run would cross it at (1/0.12)^2 = 69 updates, after its 64;
    # batch 64's at (0.6/0.12)^2 = 25 updates, after its 16: not reached anywhere
    assert not comparison.reached[1].any() and np.isnan(comparison.target_rates[1]).all()
    with pytest.raises(ValueError, match="no batch size"):
        comparison.fewest_updates(1)


def test_loss_at_marks_a_run_that_diverged_before_the_step(hand_sweep):
    grid = hand_sweep[64]
    values = grid.loss_at(8)
    assert np.isnan(values[0, 1]) and values[0, 0] == pytest.approx(0.9 / 8 ** 0.5)
    comparison = grid.compare(step=8)
    assert comparison.loss[0, 1] == np.inf and comparison.best_rate == 0.3
    assert comparison.accuracy[1].tolist() == [0.9, 0.9]                    # 8 is an evaluation step
    assert np.isnan(grid.compare(step=5).accuracy).all()                    # 5 is not


def test_the_hardest_target_is_what_the_best_batch_size_reaches(hand_sweep):
    # best reached in every seed: batch 16 -> rate 0.3's worse seed 1.1/8; batch 64 -> 0.65/4
    assert study.hardest_target(hand_sweep) == math.ceil(100 * 1.05 * 1.1 / 8) / 100


# --------------------------------------------------------------------------- the test split

@pytest.fixture(scope="module")
def toy_with_test():
    g = torch.Generator().manual_seed(7)
    x = torch.rand(448, 784, generator=g)
    y = (x @ torch.randn(784, 10, generator=g)).argmax(1)
    return Splits(x[:256], y[:256], x[256:320], y[256:320], x[320:], y[320:])


def test_test_scores_are_a_plain_evaluation_of_each_final_network(toy_with_test):
    data = toy_with_test
    grid = rate_grid.train_rate_grid(data, 32, [0.1, 0.5, 500.0], [0, 1], epochs=2, progress=False)
    k = rate_grid.member_index([0.1, 0.5, 500.0], [0, 1], rate=0.5, seed=1)
    alone = train_grid([Member(lr=0.5, init_seed=1, data_seed=1)], Splits(data.x_train, data.y_train, data.x_val,
                                                                              data.y_val),
                       batch_size=32, epochs=2, eval_every=0.25, progress=False)
    with torch.no_grad():
        logits = alone.model(0)(data.x_test)
    assert grid.test_loss[k] == pytest.approx(F.cross_entropy(logits, data.y_test).item(), rel=1e-4)
    assert grid.test_acc[k] == pytest.approx((logits.argmax(1) == data.y_test).float().mean().item(), abs=1e-6)
    blown = grid.index("constant")[2]
    assert grid.history.diverged[blown].all() and np.isnan(grid.test_loss[blown]).all()
    assert grid.compare(split="test").mean[2] == np.inf


def test_a_grid_without_a_test_split_says_so(sweep):
    assert sweep[16].test_loss is None
    with pytest.raises(ValueError, match="no test measurements"):
        sweep[16].compare(split="test")


def test_held_out_check_pairs_validation_choice_and_test_scores():
    configs = tuple((r, "constant") for r in (0.1, 0.3, 0.5))
    validation = RateComparison(configs, np.array([[0.5, 0.6], [0.39, 0.41], [0.41, 0.41]]), np.full((3, 2), 0.9))
    test = RateComparison(configs, np.array([[0.5, 0.6], [0.44, 0.47], [0.43, 0.45]]), np.full((3, 2), 0.9))
    check = study.HeldOutCheck(32, validation, test)
    assert check.chosen == (0.3, "constant")                   # validation means 0.55, 0.40, 0.41
    assert check.test_best == (0.5, "constant")                # test means 0.55, 0.455, 0.44
    assert not check.holds
    assert check.chosen_test_loss.tolist() == [0.44, 0.47]
    assert check.regret == pytest.approx([0.01, 0.02])
    same = study.HeldOutCheck(32, validation, validation)
    assert same.holds and same.regret.tolist() == [0.0, 0.0]


def test_comparison_std_is_the_sample_standard_deviation():
    comparison = RateComparison(((0.1, "constant"), (0.3, "constant")), np.array([[1.0, 2.0, 4.0], [1.0, np.inf, 2.0]]),
                                np.full((2, 3), 0.9))
    assert comparison.std[0] == pytest.approx(math.sqrt(7 / 3))        # deviations -4/3, -1/3, 5/3: 42/9 / 2
    assert comparison.std[1] == np.inf
    assert comparison.value(0.1, what="std") == pytest.approx(math.sqrt(7 / 3))
    with pytest.raises(ValueError, match="at least 2 seeds"):
        RateComparison(((0.1, "constant"),), np.array([[1.0]]), np.array([[0.9]])).std


# --------------------------------------------------------------------------- the textbook's grids, longer

TOY = dataclasses.replace(settings.QUICK, seeds=(0, 1), textbook_epochs=3, textbook_n_train=128,
                          textbook_eval_every=1.0)


@pytest.fixture(scope="module")
def textbook_grids(toy_with_test):
    return study.run_textbook_grids(toy_with_test, TOY, progress=False)


def test_textbook_grids_train_its_rates_on_the_first_images_for_its_epochs(textbook_grids, toy_with_test):
    assert textbook_grids.batch_sizes == [16, 32] and textbook_grids.epochs == 3
    assert textbook_grids.n_train == 128 and textbook_grids.rates.tolist() == list(TEXTBOOK_RATES)
    grid = textbook_grids[32]
    assert grid.total_steps == 3 * 4 and grid.history.eval_epoch.tolist() == [0, 1, 2, 3]
    k = rate_grid.member_index(TEXTBOOK_RATES, TOY.seeds, rate=0.3, seed=1)
    first = Splits(toy_with_test.x_train[:128], toy_with_test.y_train[:128], toy_with_test.x_val, toy_with_test.y_val)
    alone = train_grid([Member(lr=0.3, init_seed=1, data_seed=1)], first, batch_size=32, epochs=3, eval_every=1.0,
                       progress=False).history
    assert np.allclose(grid.history.val_loss[k], alone.val_loss[0], rtol=1e-4, atol=1e-5)
    assert grid.test_loss is not None and grid.test_loss.shape == (len(TEXTBOOK_RATES) * 2,)


def test_textbook_verdicts_after_fewer_epochs_read_the_history_there(textbook_grids):
    early = study.textbook_verdicts(textbook_grids, epoch=1)
    for b in (32, 16):
        grid = textbook_grids[b]
        column = int(np.flatnonzero(grid.history.eval_epoch == 1)[0])
        by_hand = grid.history.val_loss[grid.index("constant"), column].mean(axis=1)
        assert np.allclose(early[b].comparison.mean, by_hand, rtol=1e-6)
        assert early[b].winner == TEXTBOOK_RATES[int(np.argmin(by_hand))]
    late = study.textbook_verdicts(textbook_grids)
    assert np.allclose(late[16].comparison.mean, textbook_grids[16].history.val_loss[:, -1].reshape(4, 2).mean(1))


BAD_CALLS = [
    (lambda s: critical_batch.loss_at_step([0, 1], [1.0, 0.5], -1.0), ValueError, "step"),
    (lambda s: critical_batch.loss_at_step([0, 1], [1.0], 0.5), ValueError, "equally long"),
    (lambda s: critical_batch.loss_at_step([0, 1], [1.0, 0.5], "1"), TypeError, "step"),
    (lambda s: s[16].loss_at(65), ValueError, "step"),
    (lambda s: s[16].compare(step=100), ValueError, "step"),
    (lambda s: s[16].compare(split="train"), ValueError, "split"),
    (lambda s: s[16].compare(step=4, split="test"), ValueError, "step must be None"),
    (lambda s: study.compare_batch_sizes(s, []), ValueError, "targets"),
    (lambda s: study.compare_batch_sizes(s, [0.0]), ValueError, "targets"),
    (lambda s: study.compare_batch_sizes({16: s[16]}, [0.2]), TypeError, "Sweep"),
    (lambda s: study.compare_batch_sizes(s, [0.2]).best("steps"), ValueError, "held"),
    (lambda s: study.hardest_target(s, margin=0.9), ValueError, "margin"),
    (lambda s: study.textbook_verdicts(s, batch_sizes=(16,), epoch=2), ValueError, "epoch"),
    (lambda s: study.run_textbook_grids(None, {"epochs": 1}), TypeError, "Settings"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(hand_sweep, call, error, message):
    with pytest.raises(error, match=message):
        call(hand_sweep)


def test_textbook_grids_refuse_more_images_than_the_data_hold(toy_with_test):
    with pytest.raises(ValueError, match="textbook_n_train"):
        study.run_textbook_grids(toy_with_test, dataclasses.replace(TOY, textbook_n_train=10_000))


def test_the_equal_footing_figure_draws_reached_and_missed_targets(hand_sweep):
    import matplotlib.pyplot as plt

    from lib.batch_size import figures

    fig = figures.equal_footing_figure(study.compare_batch_sizes(hand_sweep, [0.2, 0.12]))
    left, right = fig.axes
    assert left.get_xlabel() and left.get_ylabel() and right.get_ylabel()
    assert any("not reached" in text.get_text() for text in right.get_legend().get_texts())
    plt.close(fig)
