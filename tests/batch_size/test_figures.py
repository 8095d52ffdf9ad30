"""Every figure draws from finished records, with labelled axes; bad records are clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from lib.batch_size import critical_batch, explorer, figures
from lib.batch_size.gradient_noise import GradientStatistics
from lib.batch_size.noise_tracker import NoiseScaleTrace


def toy_trace() -> NoiseScaleTrace:
    statistics = [GradientStatistics(1.0, 20.0, 100, 2.0), GradientStatistics(0.2, 18.0, 100, 0.5)]
    return NoiseScaleTrace(8, 64, 0.5, np.array([4, 8, 12]), np.array([3.5, 3.4, 2.0]),
                           np.array([1.3, 1.2, 0.5]), np.array([4, 12]), statistics, statistics)


def test_every_figure_draws_from_a_finished_sweep(sweep):
    import matplotlib.pyplot as plt

    target = sweep.reachable_target()
    tradeoff = sweep.tradeoff(target)
    fit = critical_batch.fit_steps_examples(tradeoff.batch_sizes, tradeoff.steps)
    rates = sweep.best_rates()
    drawn = [figures.textbook_figure(sweep, batch_sizes=(32, 16), rates=[0.1, 0.5]),
             figures.same_rate_figure(sweep, rate=0.5, batch_sizes=(16, 32, 64)),
             figures.illustration_figure(), figures.loss_vs_rate_figure(sweep),
             figures.scaling_figure(sweep, critical_batch.fit_optimal_step(sweep.batch_sizes, rates)),
             figures.tradeoff_figure(tradeoff, fit),
             figures.explorer_figure(explorer.explorer_point(sweep, 64, 0.5, "warmup")),
             figures.noise_scale_figure(toy_trace(), steps_per_epoch=4)]
    for figure in drawn:
        for ax in figure.axes:
            assert ax.get_xlabel(), figure
            if ax.get_subplotspec().is_first_col():          # shared y axes are labelled once per row
                assert ax.get_ylabel(), figure
        plt.close(figure)


BAD_CALLS = [
    (lambda: figures.noise_scale_figure("trace"), TypeError, "NoiseScaleTrace"),
    (lambda: figures.noise_scale_figure(toy_trace(), steps_per_epoch=0), ValueError, "steps_per_epoch"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_textbook_figure_refuses_an_unknown_metric(sweep):
    with pytest.raises(ValueError, match="metric"):
        figures.textbook_figure(sweep, metric="train_loss")
