"""The explorer over a finished sweep: the nearest grid rate, messages for invalid choices."""
from __future__ import annotations

import html

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from lib.batch_size import explorer
from lib.explorer import CONTROLS_WIDTH_PX

matplotlib.use("Agg")


def test_explorer_point_is_the_nearest_rate_of_the_grid(sweep):
    point = explorer.explorer_point(sweep, 32, 0.4)
    assert point.rate == 0.5 and point.variant == "constant"              # |log 0.4 - log 0.5| < |log 0.4 - log 0.1|
    grid = sweep[32]
    assert point.rows.tolist() == grid.index("constant")[grid.rate_index(0.5)].tolist()
    assert point.loss == pytest.approx(grid.history.val_loss[point.rows, -1].mean())
    assert point.diverged == 0 and point.best == grid.compare().best
    assert np.array_equal(point.best_rates, sweep.best_rates())
    blown = explorer.explorer_point(sweep, 16, 600.0)
    assert blown.rate == 500.0 and blown.diverged == 2
    assert "diverged in 2 of 2 seeds" in explorer.describe_point(blown)


def _star(fig) -> tuple[float, float]:
    (star,) = [line for line in fig.axes[1].lines if line.get_marker() == "*"]
    return float(star.get_xdata()[0]), float(star.get_ydata()[0])


def _drawn_rate(fig) -> float:
    """The rate whose seed band the left panel draws, read off its legend label ("η = 0.5")."""
    (label,) = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    return float(label.split("=")[1])


def test_explorer_shows_a_message_for_invalid_choices(sweep):
    widget = explorer.ScalingExplorer(sweep, batch_size=32, lr=0.5)
    assert "B = 32, η = 0.5: final validation loss" in widget.message.value
    widget.lr.value = widget.lr.options[0][1]      # the slider's end is a valid choice
    assert widget.redraw() is True
    widget.batch.value = 16
    widget.warmup.value = True
    assert "without warm-up only" in widget.message.value
    with pytest.raises(ValueError, match="learning rate must be"):
        explorer.explorer_point(sweep, 32, 5000.0)
    plt.close("all")


def test_the_slider_offers_the_trained_rates_only(sweep, axes):
    widget = explorer.ScalingExplorer(sweep, batch_size=32, lr=0.4)           # the grid's nearest: 0.5
    assert [rate for _, rate in widget.lr.options] == axes.rates and widget.lr.value == 0.5
    assert widget.result.rate == widget.result.lr == 0.5


def test_with_warm_up_the_slider_star_title_and_sentence_name_the_drawn_rate(sweep, axes):
    """The tester's case: with warm-up ticked the slider and the star showed a rate (0.149) that had no
    warm-up run while the curves drawn were the only warm-up rate's."""
    widget = explorer.ScalingExplorer(sweep, batch_size=32, lr=0.1)           # 0.1 has no warm-up copy
    widget.warmup.value = True
    point, fig = widget.result, widget.last_figure
    assert point.variant == "warmup" and [rate for _, rate in widget.lr.options] == axes.warm
    assert widget.lr.value == point.rate == 0.5 == point.lr                  # the slider: the drawn rate
    assert _drawn_rate(fig) == 0.5                                          # the curves drawn
    assert _star(fig) == (32.0, 0.5)                                         # the star
    assert "warm-up: η = 0.5" in fig.axes[0].get_title()                     # the title
    text = html.unescape(widget.message.value)
    assert text.startswith("B = 32 with warm-up, η = 0.5: ")                 # the sentence
    assert "Warm-up was trained at η = 0.5, 500 only at this batch size." in text
    np.testing.assert_array_equal(fig.axes[0].lines[-1].get_xdata(), point.grid.history.eval_epoch)
    widget.lr.value = 500.0
    assert widget.result.rate == 500.0 and _star(widget.last_figure) == (32.0, 500.0)
    widget.warmup.value = False                                               # back: the same rate, constant
    assert widget.result.variant == "constant" and widget.lr.value == widget.result.rate == 500.0
    assert [rate for _, rate in widget.lr.options] == axes.rates
    plt.close("all")


def test_one_change_is_one_computation(sweep, monkeypatch):
    widget = explorer.ScalingExplorer(sweep, batch_size=32, lr=0.1)
    seen = []
    compute = widget.compute
    monkeypatch.setattr(widget, "compute", lambda **values: seen.append(values) or compute(**values))
    widget.warmup.value = True                                                 # new options and value: one redraw
    assert seen == [{"batch_size": 32, "lr": 0.5, "warmup": True}]
    plt.close("all")


def test_the_star_is_the_drawn_rate_and_the_controls_fit(sweep):
    point = explorer.explorer_point(sweep, 32, 0.4)                            # asked 0.4, drawn 0.5
    fig = explorer.explorer_figure(point)
    assert _star(fig) == (32.0, 0.5) and _drawn_rate(fig) == 0.5
    assert "(the grid's nearest to η = 0.4)" in explorer.describe_point(point)
    assert explorer.ScalingExplorer(sweep, batch_size=32).widest_line() <= CONTROLS_WIDTH_PX
    plt.close("all")


def test_bad_queries_on_a_finished_sweep(sweep):
    with pytest.raises(ValueError, match="without warm-up only"):
        explorer.explorer_point(sweep, 16, 0.5, "warmup")
    with pytest.raises(ValueError, match="was not trained"):
        explorer.explorer_point(sweep, 128, 0.5)
    with pytest.raises(TypeError, match="Sweep"):
        explorer.ScalingExplorer("sweep")
    with pytest.raises(ValueError, match="was not trained"):
        explorer.ScalingExplorer(sweep, batch_size=128)
