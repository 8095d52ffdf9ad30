"""The figures draw the records they are given."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lib.lr_finder import figures
from lib.lr_finder.parallel import check_suggestions, parallel_range_test
from lib.lr_finder.problems import known_quadratic, sine_data, sine_net
from lib.lr_finder.sweep import lr_range_test, suggestions_across_seeds
from lib.lr_finder.zoom import segmented_sweep
from tests.lr_finder.toys import small_net


@pytest.fixture(scope="module")
def records(toy):
    sweep = lr_range_test(small_net(), toy, start=1e-3, end=10.0, steps=40, batch_size=32)
    sine = sine_data(n=6)
    rounds = [segmented_sweep(sine, rates, model=sine_net, epochs_per_point=1, batch_size=1, loss="mse")
              for rates in ([0.1, 0.2], [0.2, 0.3, 0.4])]
    parallel = parallel_range_test(toy, [0.01, 0.1, 1.0], model=small_net, updates=8, batch_size=32, tail=4)
    check = check_suggestions(toy, {"a": 0.05, "b": 0.5}, model=small_net, epochs=1, batch_size=32)
    return dict(sweep=sweep, rounds=rounds, parallel=parallel, check=check)


def test_plots_draw_the_data_they_are_given(records):
    result = records["sweep"]
    fig, ax = plt.subplots()
    figures.plot_sweep(ax, result, show_running=True)
    assert any(np.array_equal(line.get_ydata(), result.centered) for line in ax.lines)
    assert any(np.array_equal(line.get_ydata(), result.smoothed) for line in ax.lines)
    assert ax.get_xscale() == "log"
    plt.close(fig)
    sweep = records["rounds"][0]
    fig, ax = plt.subplots()
    figures.plot_segmented(ax, sweep)
    assert any(np.allclose(line.get_ydata(), sweep.mean_loss) for line in ax.lines if len(line.get_ydata()) == 2)
    plt.close(fig)


def test_the_page_figures_draw_their_records(records):
    sweep, rounds, parallel, check = (records[k] for k in ("sweep", "rounds", "parallel", "check"))
    quad = known_quadratic()
    made = [figures.smith_figure(sweep, suggestions_across_seeds([sweep]), 1),
            figures.quadratic_figure(quad, {"a": sweep}),
            figures.rounds_figure(rounds), figures.rounds_figure(rounds, show_epochs=False, log_loss=False),
            figures.parallel_figure(parallel), figures.parallel_figure(parallel, rounds, legend_size=7),
            figures.check_figure(sweep, rounds[0], parallel, {"a": 0.05, "b": 0.5}, check),
            figures.sweep_figure(sweep)]
    for fig in made:
        assert isinstance(fig, plt.Figure) and fig.axes[0].get_xscale() == "log"
        plt.close(fig)
    fig = figures.parallel_figure(parallel)
    assert any(np.array_equal(line.get_xdata(), parallel.rates) for line in fig.axes[0].lines)
    plt.close(fig)


BAD_INPUTS = [
    (lambda: figures.plot_sweep(None, "result"), TypeError, "result must be a RangeTest"),
    (lambda: figures.plot_segmented(None, "sweep"), TypeError, "sweep must be a SegmentedSweep"),
    (lambda: figures.plot_parallel(None, "test"), TypeError, "test must be a ParallelTest"),
    (lambda: figures.plot_check(None, "check"), TypeError, "check must be a SuggestionCheck"),
    (lambda: figures.plot_suggestion_rows(None, []), ValueError, "non-empty list"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
