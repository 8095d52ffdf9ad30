"""One batch size's grid: a grid member against the same member trained alone by the engine, the warm-up
against ``torch.optim.lr_scheduler.LinearLR``, the early probes against the engine's own evaluations,
the comparison against the history it reads."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import LinearLR

from lib.batch_size import probes, rate_grid
from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.members import Member


def test_probe_steps_are_about_sqrt2_apart_and_stop_at_four_evaluation_spacings():
    steps = probes.probe_steps(10_000, 100.0, per_octave=2)
    assert steps.tolist() == [1, 2, 3, 4, 6, 8, 12, 16, 23, 32, 46, 64, 91, 128, 182, 256, 363]
    assert probes.probe_steps(3, 100.0).tolist() == [1, 2]
    assert probes.probe_steps(1, 100.0).size == 0


def test_member_index_matches_the_grid_order(sweep, axes):
    grid = sweep[32]
    assert len(grid.history.members) == (len(axes.rates) + len(axes.warm)) * len(axes.seeds)
    assert grid.rates_of("warmup").tolist() == axes.warm
    for variant, rates in (("constant", axes.rates), ("warmup", axes.warm)):
        for rate, seed in itertools.product(rates, axes.seeds):
            k = rate_grid.member_index(axes.rates, axes.seeds, rate=rate, seed=seed, variant=variant,
                                       warmup_rates=axes.warm)
            member = grid.history.members[k]
            assert (member.lr, member.init_seed, member.data_seed) == (rate, seed, seed)
            assert (member.schedule is not None) == (variant == "warmup")
            assert k == grid.index(variant)[grid.rate_index(rate, variant), axes.seeds.index(seed)]
    with pytest.raises(ValueError, match="not in the grid"):
        rate_grid.member_index(axes.rates, axes.seeds, rate=0.1, seed=0, variant="warmup", warmup_rates=axes.warm)


def test_a_grid_member_equals_the_same_member_trained_alone(toy, sweep, axes):
    grid = sweep[16]
    k = rate_grid.member_index(axes.rates, axes.seeds, rate=0.5, seed=1)
    alone = train_grid([Member(lr=0.5, init_seed=1, data_seed=1)], toy, batch_size=16, epochs=3,
                       eval_every=0.25, progress=False).history
    assert np.allclose(grid.history.step_loss[k], alone.step_loss[0], rtol=1e-4, atol=1e-5)
    assert np.allclose(grid.history.val_loss[k], alone.val_loss[0], rtol=1e-4, atol=1e-5)


def test_warmup_members_follow_torchs_linear_lr(sweep, axes):
    grid = sweep[64]
    assert grid.variants == ("constant", "warmup") and sweep[16].variants == ("constant",)
    k = rate_grid.member_index(axes.rates, axes.seeds, rate=0.5, seed=0, variant="warmup", warmup_rates=axes.warm)
    optimiser = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    scheduler = LinearLR(optimiser, start_factor=0.01, total_iters=grid.warmup_steps)
    expected = []
    for _ in range(grid.history.step_lr.shape[1]):
        expected.append(optimiser.param_groups[0]["lr"])
        optimiser.step()
        scheduler.step()
    assert grid.warmup_steps == 4            # one epoch of 256 examples at batch size 64
    assert np.allclose(grid.history.step_lr[k], expected)


def test_probes_agree_with_the_engines_evaluations_where_both_measured(sweep):
    grid = sweep[16]                          # 16 updates per epoch, evaluations every 4
    common = np.intersect1d(grid.probe_steps, grid.history.eval_step)
    assert common.tolist() == [4, 8, 12]      # probes stop before four evaluation spacings
    for step in common:
        e = np.flatnonzero(grid.history.eval_step == step)[0]
        p = np.flatnonzero(grid.probe_steps == step)[0]
        alive = ~grid.history.diverged
        assert np.allclose(grid.probe_val_loss[alive, p], grid.history.val_loss[alive, e], rtol=1e-5)


def test_diverged_runs_are_recorded_and_never_win(sweep):
    for b in sweep.batch_sizes:
        grid = sweep[b]
        rows = grid.index("constant")[grid.rate_index(500.0)]
        assert grid.history.diverged[rows].all()
        comparison = grid.compare(variants=("constant",))
        assert comparison.mean[grid.rate_index(500.0)] == np.inf
        assert comparison.best_rate != 500.0
        assert grid.largest_stable_rate() == 0.5
        assert np.isnan(grid.probe_val_loss[rows][:, grid.probe_steps > grid.history.diverged_at[rows].max()]).all()


def test_comparison_scores_final_validation_loss_over_seeds(sweep, axes):
    grid = sweep[32]
    comparison = grid.compare(rates=[0.1, 0.5], variants=("constant",))
    rows = grid.index("constant")
    expected = [grid.history.val_loss[rows[grid.rate_index(r)], -1].mean() for r in (0.1, 0.5)]
    assert np.allclose(comparison.mean, expected)
    assert comparison.best_rate == (0.1, 0.5)[int(np.argmin(expected))]
    assert comparison.wins_per_seed.sum() == len(axes.seeds)
    assert comparison.value(0.5, what="accuracy") == pytest.approx(
        grid.history.val_acc[rows[grid.rate_index(0.5)], -1].mean())


def test_warmup_gain_compares_the_best_final_losses_with_and_without_warmup(sweep):
    grid = sweep[32]
    final = grid.history.val_loss[:, -1].astype(np.float64)
    final[grid.history.diverged] = np.inf
    constant = final[grid.index("constant")].mean(axis=1).min()
    either = min(constant, final[grid.index("warmup")].mean(axis=1).min())
    assert grid.warmup_gain() == pytest.approx(1 - either / constant)
    with pytest.raises(ValueError, match="no 'warmup' members"):
        sweep[16].warmup_gain()


BAD_CALLS = [
    (lambda toy: rate_grid.train_rate_grid(toy, 300, [0.1, 0.2], [0], epochs=1), ValueError,
     "batch_size must be an int between 1 and 256"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, [0.5], [0], epochs=1), ValueError, "rates must hold at least 2"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, [0.5, 0.5], [0], epochs=1), ValueError, "distinct"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, [0.5, -1.0], [0], epochs=1), ValueError, "> 0"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, "0.5", [0], epochs=1), TypeError, "rates must be a list"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, [0.1, 0.5], [], epochs=1), ValueError, "seeds"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, [0.1, 0.5], [0, 0], epochs=1), ValueError, "distinct"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, [0.1, 0.5], [0], epochs=0), ValueError, "epochs"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, [0.1, 0.5], [0], epochs=1, warmup_epochs=2.0), ValueError,
     r"warmup_epochs must be a number in \[0, 1\]"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16.0, [0.1, 0.5], [0], epochs=1), TypeError, "batch_size"),
    (lambda toy: rate_grid.train_rate_grid(Splits(toy.x_train, toy.y_train), 16, [0.1, 0.5], [0], epochs=1),
     ValueError, "validation split"),
    (lambda toy: rate_grid.train_rate_grid(toy.x_train, 16, [0.1, 0.5], [0], epochs=1), TypeError, "Splits"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, [0.1, 0.5], [0], epochs=1, warmup_epochs=1.0,
                                           warmup_rates=[]), ValueError, "at least 1"),
    (lambda toy: rate_grid.train_rate_grid(toy, 16, [0.1, 0.5], [0], epochs=1, on_step=3), TypeError, "on_step"),
    (lambda toy: rate_grid.member_index([0.1, 0.5], [0], rate=0.3, seed=0), ValueError, "not in the grid"),
    (lambda toy: rate_grid.member_index([0.1, 0.5], [0], rate=0.1, seed=4), ValueError, "not among"),
    (lambda toy: rate_grid.member_index([0.1, 0.5], [0], rate=0.1, seed=0, variant="cosine"), ValueError,
     "variant"),
    (lambda toy: rate_grid.grid_rates([0.1, 0.5], [0.3]), ValueError, "warmup_rates must be among the grid's rates"),
    (lambda toy: probes.probe_steps(100, 10.0, per_octave=0), ValueError, "per_octave"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)


def test_bad_queries_on_a_finished_grid(sweep):
    with pytest.raises(ValueError, match="not in the constant grid"):
        sweep[16].compare(rates=[0.3])
    with pytest.raises(ValueError, match="not in the warmup grid"):
        sweep[32].compare(rates=[0.1], variants=("warmup",))
    with pytest.raises(ValueError, match="no 'warmup' members"):
        sweep[16].index("warmup")
    with pytest.raises(ValueError, match="member index"):
        sweep[16].val_loss_curve(99)
    with pytest.raises(ValueError, match="what"):
        sweep[16].compare().value(0.5, what="median")
