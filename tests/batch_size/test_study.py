"""The section's experiment on the toy problem: the tracker rides along without changing the sweep, and
the summary's numbers equal what the grids and the trace give when read by hand."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from lib.batch_size import settings, study
from lib.batch_size.critical_batch import crossing_step, fit_optimal_step
from lib.batch_size.noise_tracker import checkpoint_steps
from lib.batch_size.rate_grid import RateComparison, member_index

TOY = dataclasses.replace(
    settings.QUICK, batch_sizes=(16, 32, 64), rates=(0.1, 0.5, 500.0), seeds=(0, 1), epochs=3,
    warmup_from=32, warmup_epochs=1.0, warmup_start_factor=0.01, warmup_rate_floor=0.5,
    tracked_batch=32, tracked_rate=0.5, noise_b_small=8, noise_b_big=64, noise_every=2, noise_decay=0.5,
    checkpoints=4, first_checkpoint=2, exact_examples=32, fixed_draws=5)


@pytest.fixture(scope="module")
def toy_study(toy):
    return study.run_study(toy, TOY, progress=False)


def test_the_study_trains_the_settings_sweep_with_the_tracker_riding_along(toy_study, sweep, axes):
    # the conftest's sweep has the same batch sizes, rates, seeds, epochs and warm-up, without a tracker
    assert TOY.warmup_rates == tuple(axes.warm)
    for b in sweep.batch_sizes:
        assert np.array_equal(toy_study.sweep[b].history.step_loss, sweep[b].history.step_loss, equal_nan=True)
    assert toy_study.tracked_member == member_index(TOY.rates, TOY.seeds, rate=0.5, seed=0)
    assert toy_study.tracked_steps_per_epoch == 8                       # 256 examples in batches of 32
    trace = toy_study.trace
    assert trace.steps.tolist() == list(range(2, 25, 2))
    assert trace.checkpoints.tolist() == checkpoint_steps(24, 4, 2).tolist()
    assert (trace.b_small, trace.b_big, trace.decay) == (8, 64, 0.5)
    assert all(s.examples == 32 for s in trace.per_example) and all(s.examples == 5 for s in trace.fixed_two_batch)


def test_the_summary_reads_the_grids_and_the_trace(toy_study):
    sweep, trace = toy_study.sweep, toy_study.trace
    summary = study.summarize_scaling(toy_study)
    assert summary.best_rates.tolist() == [sweep[b].compare().best_rate for b in (16, 32, 64)]
    assert summary.warmup_winners == [b for b in (16, 32, 64) if sweep[b].compare().best[1] == "warmup"]
    # every constant run at 500 diverged at 32 and 64 (the sizes with warm-up): updates done when it blew up
    expected = [sweep[b].history.diverged_at[sweep[b].index("constant")[2]] + 1 for b in (32, 64)]
    assert sorted(summary.blow_up_steps.tolist()) == sorted(np.concatenate(expected).tolist())
    assert summary.warmup_gain == pytest.approx(max(sweep[b].warmup_gain() for b in (32, 64)))
    # the tracked run (rate 0.5, seed 0, batch 32): its own crossing of the target, read by hand
    grid = sweep[32]
    steps, losses = grid.val_loss_curve(member_index(TOY.rates, TOY.seeds, rate=0.5, seed=0))
    assert summary.target == sweep.reachable_target()
    assert summary.tracked_target_step == pytest.approx(crossing_step(steps, losses, summary.target))
    assert summary.b_simple_at_target == trace.two_batch_at(summary.tracked_target_step)
    distance = [abs(math.log(c / summary.tracked_target_step)) for c in trace.checkpoints]
    assert sorted(summary.near_checkpoints.tolist()) == sorted(np.argsort(distance)[:2].tolist())
    assert summary.fit_given.b_noise == summary.b_simple_at_target and not summary.fit_given.b_noise_fitted
    assert summary.fit_free == fit_optimal_step([16, 32, 64], summary.best_rates)


def test_textbook_verdicts_judge_the_claimed_winner():
    loss = np.array([[0.8, 0.7], [0.5, 0.6], [0.45, 0.62], [np.inf, 0.4]])       # 0.7 diverged in seed 0
    accuracy = np.array([[0.80, 0.81], [0.90, 0.88], [0.89, 0.88], [np.nan, 0.95]])
    comparison = RateComparison(tuple((r, "constant") for r in (0.1, 0.3, 0.5, 0.7)), loss, accuracy)
    verdict = study.TextbookVerdict(32, 0.5, comparison)
    assert verdict.winner == 0.5                                 # mean 0.535 beats 0.55; 0.7 diverged once
    assert verdict.winner_wins == 1                              # seed 0 only (seed 1's best is 0.7)
    assert verdict.winner_by_accuracy == 0.3
    assert verdict.holds and not verdict.holds_by_accuracy


def test_bad_input_is_a_clear_error(toy, sweep):
    with pytest.raises(ValueError, match="not in the constant grid"):
        study.textbook_verdicts(sweep)                           # the toy sweep lacks the rates 0.3 and 0.7
    with pytest.raises(ValueError, match="batch_sizes must be among the textbook's"):
        study.textbook_verdicts(sweep, batch_sizes=(64,))
    with pytest.raises(TypeError, match="Settings"):
        study.run_study(toy, {"epochs": 1})
    with pytest.raises(TypeError, match="Study"):
        study.summarize_scaling(sweep)
