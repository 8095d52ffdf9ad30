"""Section 4's grids, rules and fits against independent truth.

* the textbook's illustration against the numbers printed in the source, and its
  gradient step against ``torch.optim.SGD``;
* the noisy one-step optimum against an exact enumeration of every batch;
* crossing times against power laws, McCandlish et al.'s fits against data generated
  from their own formulas;
* a grid member against the same member trained alone by the engine, the warm-up
  against ``torch.optim.lr_scheduler.LinearLR``, the early probes against the
  engine's own evaluations.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import LinearLR

from lib import noise_scale, scaling
from lib.data import Splits
from lib.train import Member, train_grid

RATES = [0.1, 0.5, 500.0]     # the last one diverges
WARM = [0.5, 500.0]           # the rates that also train with warm-up
SEEDS = [0, 1]


@pytest.fixture(scope="module")
def toy():
    """A learnable MNIST-shaped problem: labels from a random linear teacher."""
    g = torch.Generator().manual_seed(5)
    x = torch.rand(320, 784, generator=g)
    y = (x @ torch.randn(784, 10, generator=g)).argmax(1)
    return Splits(x[:256], y[:256], x[256:], y[256:])


@pytest.fixture(scope="module")
def sweep(toy):
    return scaling.run_sweep(toy, [16, 32, 64], RATES, SEEDS, epochs=3, warmup_from=32, warmup_epochs=1.0,
                             warmup_rates=WARM, progress=False)


# --------------------------------------------------------------------------- the textbook's illustration

def test_illustration_reproduces_the_textbooks_numbers():
    three = scaling.textbook_illustration(scaling.ILLUSTRATION_POINTS[3])
    five = scaling.textbook_illustration(scaling.ILLUSTRATION_POINTS[5])
    # the source: loss (1 + 0 + 1)/2/3 = 0.333, eta_1 = 1.5; loss (1 + .25 + 0 + .25 + 1)/2/5 = 0.25, eta_2 = 2
    assert three.loss == pytest.approx(1 / 3) and three.textbook_rate == pytest.approx(1.5)
    assert five.loss == pytest.approx(0.25) and five.textbook_rate == pytest.approx(2.0)


@pytest.mark.parametrize("n", [3, 5])
def test_one_step_rate_is_what_a_real_sgd_step_needs(n):
    result = scaling.textbook_illustration(scaling.ILLUSTRATION_POINTS[n])
    x = torch.tensor(scaling.ILLUSTRATION_POINTS[n]).view(-1, 1)

    def step(lr):
        line = nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            line.weight.fill_(0.5)
        optimiser = torch.optim.SGD(line.parameters(), lr=lr)
        loss = 0.5 * (line(x) ** 2).mean()       # the textbook's loss, targets 0
        loss.backward()
        assert line.weight.grad.item() == pytest.approx(result.gradient)
        optimiser.step()
        return line.weight.item()

    assert step(result.one_step_rate) == pytest.approx(0.0, abs=1e-7)
    assert step(result.textbook_rate) == pytest.approx(result.w_after_textbook_step)


def test_repeating_the_points_changes_nothing():
    once = scaling.textbook_illustration(scaling.ILLUSTRATION_POINTS[3])
    twice = scaling.textbook_illustration(scaling.ILLUSTRATION_POINTS[3] * 2)
    assert (twice.loss, twice.textbook_rate, twice.one_step_rate) == pytest.approx(
        (once.loss, once.textbook_rate, once.one_step_rate))


@pytest.mark.parametrize("batch", [1, 2, 3, 4])
def test_noisy_one_step_optimum_matches_an_exact_enumeration_of_all_batches(batch):
    points = np.array(scaling.ILLUSTRATION_POINTS[5])
    w = 0.5
    # every batch of `batch` points drawn with replacement, equally likely
    gradients = np.array([w * np.mean(np.square(combo)) for combo in itertools.product(points, repeat=batch)])
    # E (w - eps g)^2 is a parabola in eps with its minimum at w E[g] / E[g^2]
    exact = w * gradients.mean() / np.mean(gradients**2)
    eps_max, b_noise = scaling.population_noise_scale(points)
    assert noise_scale.optimal_step(batch, eps_max, b_noise) == pytest.approx(exact, rel=1e-12)


# --------------------------------------------------------------------------- rules and fits

def test_scaled_rate_rules():
    assert scaling.scaled_rate(128, 32, 0.1, 1.0) == pytest.approx(0.4)
    assert scaling.scaled_rate(128, 32, 0.1, 0.5) == pytest.approx(0.2)
    assert np.allclose(scaling.scaled_rate(np.array([16, 64]), 16, 0.3, 0.0), 0.3)


def test_slopes_and_regimes_of_a_curve_that_is_linear_then_square_root_then_flat():
    b = np.array([16, 32, 64, 128, 256, 512])
    rates = np.array([0.1, 0.2, 0.4, 0.4 * math.sqrt(2), 0.8, 0.8])
    assert np.allclose(scaling.local_slopes(b, rates), [1, 1, 0.5, 0.5, 0])
    assert scaling.scaling_regimes(b, rates) == [(16, 64, "linear"), (64, 256, "square-root"), (256, 512, "flat")]
    assert scaling.describe_regimes(scaling.scaling_regimes(b, rates)).startswith("linear from 16 to 64")
    assert [scaling.regime(s) for s in (1.2, 0.75, 0.5, 0.25, 0.1, -0.4)] == \
        ["linear", "linear", "square-root", "square-root", "flat", "flat"]


def test_steps_examples_fit_recovers_known_parameters():
    s_min, e_min = 120.0, 9000.0
    b = np.array([8, 16, 32, 64, 128, 256, 512, 1024], dtype=float)
    steps = s_min + e_min / b                   # (S/S_min - 1)(E/E_min - 1) = 1 with E = B S
    fit = scaling.fit_steps_examples(b, steps)
    assert fit.s_min == pytest.approx(s_min, rel=1e-6)
    assert fit.e_min == pytest.approx(e_min, rel=1e-6)
    assert fit.b_crit == pytest.approx(75.0, rel=1e-6)
    assert np.allclose(fit.residual(steps, b * steps), 0, atol=1e-6)
    assert np.allclose(fit.examples(b), b * fit.steps(b))
    noisy = steps * np.exp(np.random.default_rng(0).normal(0, 0.03, b.size))
    assert scaling.fit_steps_examples(b, noisy).b_crit == pytest.approx(75.0, rel=0.2)


def test_optimal_step_fit_recovers_known_parameters():
    b = np.array([16, 32, 64, 128, 256, 512, 1024], dtype=float)
    rates = noise_scale.optimal_step(b, 2.5, 90.0)
    free = scaling.fit_optimal_step(b, rates)
    assert (free.eps_max, free.b_noise) == pytest.approx((2.5, 90.0), rel=1e-5)
    given = scaling.fit_optimal_step(b, rates, b_noise=90.0)
    assert given.eps_max == pytest.approx(2.5) and not given.b_noise_fitted
    assert np.allclose(given(b), rates)


def test_crossing_step_interpolates_power_laws_exactly():
    steps = np.array([0, 1, 2, 4, 8, 16, 32], dtype=float)
    losses = np.r_[5.0, 2.0 * steps[1:] ** -0.5]
    target = 2.0 * 11.0 ** -0.5                   # reached at step 11, between 8 and 16
    assert scaling.crossing_step(steps, losses, target) == pytest.approx(11.0)
    assert scaling.crossing_step(steps, losses, 3.5) == pytest.approx(0.5)     # linear from step 0
    assert math.isnan(scaling.crossing_step(steps, losses, 0.01))             # never reached
    assert math.isnan(scaling.crossing_step(steps, np.r_[losses[:3], np.nan, losses[4:]], 0.5))  # diverged first
    assert scaling.crossing_step(steps, losses, 10.0) == 0.0


def test_probe_steps_are_about_sqrt2_apart_and_stop_at_four_evaluation_spacings():
    steps = scaling.probe_steps(10_000, 100.0, per_octave=2)
    assert steps.tolist() == [1, 2, 3, 4, 6, 8, 12, 16, 23, 32, 46, 64, 91, 128, 182, 256, 363]
    assert scaling.probe_steps(3, 100.0).tolist() == [1, 2]
    assert scaling.probe_steps(1, 100.0).size == 0


# --------------------------------------------------------------------------- the grids

def test_member_index_matches_the_grid_order(sweep):
    grid = sweep[32]
    assert len(grid.history.members) == (len(RATES) + len(WARM)) * len(SEEDS)
    assert grid.rates_of("warmup").tolist() == WARM
    for variant, rates in (("constant", RATES), ("warmup", WARM)):
        for rate, seed in itertools.product(rates, SEEDS):
            k = scaling.member_index(RATES, SEEDS, rate=rate, seed=seed, variant=variant, warmup_rates=WARM)
            member = grid.history.members[k]
            assert (member.lr, member.init_seed, member.data_seed) == (rate, seed, seed)
            assert (member.schedule is not None) == (variant == "warmup")
            assert k == grid.index(variant)[grid.rate_index(rate, variant), SEEDS.index(seed)]
    with pytest.raises(ValueError, match="not in the grid"):
        scaling.member_index(RATES, SEEDS, rate=0.1, seed=0, variant="warmup", warmup_rates=WARM)


def test_a_grid_member_equals_the_same_member_trained_alone(toy, sweep):
    grid = sweep[16]
    k = scaling.member_index(RATES, SEEDS, rate=0.5, seed=1)
    alone = train_grid([Member(lr=0.5, init_seed=1, data_seed=1)], toy, batch_size=16, epochs=3,
                       eval_every=0.25, progress=False).history
    assert np.allclose(grid.history.step_loss[k], alone.step_loss[0], rtol=1e-4, atol=1e-5)
    assert np.allclose(grid.history.val_loss[k], alone.val_loss[0], rtol=1e-4, atol=1e-5)


def test_warmup_members_follow_torchs_linear_lr(sweep):
    grid = sweep[64]
    assert grid.variants == ("constant", "warmup") and sweep[16].variants == ("constant",)
    k = scaling.member_index(RATES, SEEDS, rate=0.5, seed=0, variant="warmup", warmup_rates=WARM)
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


def test_comparison_scores_final_validation_loss_over_seeds(sweep):
    grid = sweep[32]
    comparison = grid.compare(rates=[0.1, 0.5], variants=("constant",))
    rows = grid.index("constant")
    expected = [grid.history.val_loss[rows[grid.rate_index(r)], -1].mean() for r in (0.1, 0.5)]
    assert np.allclose(comparison.mean, expected)
    assert comparison.best_rate == (0.1, 0.5)[int(np.argmin(expected))]
    assert comparison.wins_per_seed.sum() == len(SEEDS)
    assert comparison.value(0.5, what="accuracy") == pytest.approx(
        grid.history.val_acc[rows[grid.rate_index(0.5)], -1].mean())


def test_tradeoff_takes_the_fastest_configuration_at_each_batch_size(sweep):
    target = sweep.reachable_target()
    tradeoff = sweep.tradeoff(target)
    for b, steps, rate, variant in zip(tradeoff.batch_sizes, tradeoff.steps, tradeoff.rates, tradeoff.variants):
        grid = sweep[int(b)]
        per_seed = grid.steps_to_target(target, variant)[grid.rate_index(rate)]
        assert steps == pytest.approx(per_seed.mean())
        for v in grid.variants:
            means = grid.steps_to_target(target, v).mean(axis=1)
            assert np.all(np.isnan(means) | (means >= steps - 1e-9))
    assert np.allclose(tradeoff.examples, tradeoff.batch_sizes * tradeoff.steps)
    with pytest.raises(ValueError, match="reaches the target"):
        sweep.tradeoff(1e-6)


def test_explorer_shows_a_message_for_invalid_choices(sweep):
    explorer = scaling.ScalingExplorer(sweep, batch_size=32, lr=0.5)
    assert "nearest rate in the grid η = 0.5" in explorer.message.value
    explorer.lr.value = 10 ** explorer.lr.min          # the slider's end is a valid choice
    assert explorer.redraw() is True
    explorer.batch.value = 16
    explorer.warmup.value = True
    assert "without warm-up only" in explorer.message.value
    with pytest.raises(ValueError, match="learning rate must be"):
        scaling.explorer_point(sweep, 32, 5000.0)


# --------------------------------------------------------------------------- bad input

BAD_CALLS = [
    (lambda toy: scaling.train_rate_grid(toy, 300, [0.1, 0.2], [0], epochs=1), ValueError,
     "larger than the 256 training examples"),
    (lambda toy: scaling.train_rate_grid(toy, 16, [0.5], [0], epochs=1), ValueError, "at least 2 distinct rates"),
    (lambda toy: scaling.train_rate_grid(toy, 16, [0.5, 0.5], [0], epochs=1), ValueError, "distinct"),
    (lambda toy: scaling.train_rate_grid(toy, 16, [0.5, -1.0], [0], epochs=1), ValueError, "> 0"),
    (lambda toy: scaling.train_rate_grid(toy, 16, "0.5", [0], epochs=1), TypeError, "list of learning rates"),
    (lambda toy: scaling.train_rate_grid(toy, 16, [0.1, 0.5], [], epochs=1), ValueError, "seeds"),
    (lambda toy: scaling.train_rate_grid(toy, 16, [0.1, 0.5], [0, 0], epochs=1), ValueError, "distinct"),
    (lambda toy: scaling.train_rate_grid(toy, 16, [0.1, 0.5], [0], epochs=0), ValueError, "epochs"),
    (lambda toy: scaling.train_rate_grid(toy, 16, [0.1, 0.5], [0], epochs=1, warmup_epochs=2.0), ValueError,
     "longer than"),
    (lambda toy: scaling.train_rate_grid(toy, 16.0, [0.1, 0.5], [0], epochs=1), TypeError, "batch_size"),
    (lambda toy: scaling.train_rate_grid(Splits(toy.x_train, toy.y_train), 16, [0.1, 0.5], [0], epochs=1),
     ValueError, "validation split"),
    (lambda toy: scaling.train_rate_grid(toy.x_train, 16, [0.1, 0.5], [0], epochs=1), TypeError, "Splits"),
    (lambda toy: scaling.run_sweep(toy, [16], [0.1, 0.5], [0], epochs=1), ValueError, "at least 2 batch sizes"),
    (lambda toy: scaling.run_sweep(toy, [16, 32], [0.1, 0.5], [0], epochs=1, warmup_from=16, warmup_rates=[0.3]),
     ValueError, "not in the grid of rates"),
    (lambda toy: scaling.train_rate_grid(toy, 16, [0.1, 0.5], [0], epochs=1, warmup_epochs=1.0, warmup_rates=[]),
     ValueError, "at least 1"),
    (lambda toy: scaling.run_sweep(toy, [16, 16], [0.1, 0.5], [0], epochs=1), ValueError, "distinct"),
    (lambda toy: scaling.run_sweep(toy, [16, 512], [0.1, 0.5], [0], epochs=1), ValueError, "larger than"),
    (lambda toy: scaling.run_sweep(toy, [16, 32], [0.1, 0.5], [0], epochs=1, on_step={64: print}), ValueError,
     "not in the sweep"),
    (lambda toy: scaling.member_index([0.1, 0.5], [0], rate=0.3, seed=0), ValueError, "not in the grid"),
    (lambda toy: scaling.member_index([0.1, 0.5], [0], rate=0.1, seed=4), ValueError, "not among"),
    (lambda toy: scaling.member_index([0.1, 0.5], [0], rate=0.1, seed=0, variant="cosine"), ValueError,
     "variant"),
    (lambda toy: scaling.crossing_step([0, 1], [1.0], 0.5), ValueError, "equally long"),
    (lambda toy: scaling.crossing_step([1, 0], [1.0, 0.5], 0.5), ValueError, "increasing"),
    (lambda toy: scaling.crossing_step([0, 1], [1.0, 0.5], 0.0), ValueError, "target"),
    (lambda toy: scaling.fit_steps_examples([16, 32], [10.0, 5.0]), ValueError, "at least 3"),
    (lambda toy: scaling.fit_steps_examples([16, 32, 64], [10.0, -5.0, 1.0]), ValueError, "> 0"),
    (lambda toy: scaling.fit_steps_examples([64, 32, 16], [1.0, 2.0, 3.0]), ValueError, "increasing"),
    (lambda toy: scaling.fit_optimal_step([16, 32], [0.1, 0.2]), ValueError, "at least 3"),
    (lambda toy: scaling.fit_optimal_step([16, 32], [0.1, 0.2], b_noise=0.0), ValueError, "b_noise"),
    (lambda toy: scaling.local_slopes([16], [0.1]), ValueError, "at least 2"),
    (lambda toy: scaling.scaled_rate(-16, 16, 0.1, 1.0), ValueError, "batch sizes"),
    (lambda toy: scaling.scaled_rate(16, 16, 0.0, 1.0), ValueError, "base_rate"),
    (lambda toy: scaling.regime(float("nan")), ValueError, "finite"),
    (lambda toy: scaling.describe_regimes([]), ValueError, "no stretches"),
    (lambda toy: scaling.textbook_illustration([0.0, 0.0]), ValueError, "x = 0"),
    (lambda toy: scaling.textbook_illustration([]), ValueError, "non-empty"),
    (lambda toy: scaling.textbook_illustration([1.0], w=0.0), ValueError, "w must be"),
    (lambda toy: scaling.population_noise_scale([0.0]), ValueError, "not all 0"),
    (lambda toy: scaling.probe_steps(100, 10.0, per_octave=0), ValueError, "per_octave"),
    (lambda toy: scaling.batch_color(0), ValueError, "batch_size"),
    (lambda toy: scaling.noise_scale_figure("trace"), TypeError, "NoiseScaleTrace"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)


def test_bad_queries_on_a_finished_sweep(sweep):
    with pytest.raises(ValueError, match="was not trained"):
        sweep[128]
    with pytest.raises(ValueError, match="not in the constant grid"):
        sweep[16].compare(rates=[0.3])
    with pytest.raises(ValueError, match="not in the warmup grid"):
        sweep[32].compare(rates=[0.1], variants=("warmup",))
    with pytest.raises(ValueError, match="no 'warmup' members"):
        sweep[16].index("warmup")
    with pytest.raises(ValueError, match="margin"):
        sweep.reachable_target(margin=0.5)
    with pytest.raises(ValueError, match="member index"):
        sweep[16].val_loss_curve(99)
    with pytest.raises(ValueError, match="without warm-up only"):
        scaling.explorer_point(sweep, 16, 0.5, "warmup")
    with pytest.raises(TypeError, match="Sweep"):
        scaling.ScalingExplorer("sweep")


def toy_trace() -> noise_scale.NoiseScaleTrace:
    stats = [noise_scale.GradientStatistics(1.0, 20.0, 100, 2.0), noise_scale.GradientStatistics(0.2, 18.0, 100, 0.5)]
    return noise_scale.NoiseScaleTrace(8, 64, 0.5, np.array([4, 8, 12]), np.array([3.5, 3.4, 2.0]),
                                       np.array([1.3, 1.2, 0.5]), np.array([4, 12]), stats, stats)


def test_every_figure_draws_from_a_finished_sweep(sweep):
    import matplotlib.pyplot as plt

    target = sweep.reachable_target()
    tradeoff = sweep.tradeoff(target)
    fit = scaling.fit_steps_examples(tradeoff.batch_sizes, tradeoff.steps)
    rates = sweep.best_rates()
    figures = [scaling.textbook_figure(sweep, batch_sizes=(32, 16), rates=[0.1, 0.5]),
               scaling.same_rate_figure(sweep, rate=0.5, batch_sizes=(16, 32, 64)),
               scaling.illustration_figure(), scaling.loss_vs_rate_figure(sweep),
               scaling.scaling_figure(sweep, scaling.fit_optimal_step(sweep.batch_sizes, rates)),
               scaling.tradeoff_figure(tradeoff, fit), scaling.explorer_figure(sweep, 64, 0.5, "warmup"),
               scaling.noise_scale_figure(toy_trace(), steps_per_epoch=4)]
    for figure in figures:
        for ax in figure.axes:
            assert ax.get_xlabel(), figure
            if ax.get_subplotspec().is_first_col():          # shared y axes are labelled once per row
                assert ax.get_ylabel(), figure
        plt.close(figure)
