"""lib.plots: one colour per learning rate across the chapter, and the figure helpers."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from lib import landscapes, plots

matplotlib.use("Agg")


def test_the_same_rate_always_gets_the_same_colour():
    assert plots.lr_color(0.1) == plots.lr_color(0.1) == plots.lr_color(np.float64(0.1))


def test_colours_follow_log10_of_the_rate_on_a_fixed_scale():
    cmap = matplotlib.colormaps[plots.LR_CMAP]
    # 1e-4 is the bottom of the scale, 10 the top (cut at 0.9 of viridis), 0.01 sits 2/5 of the way
    assert plots.lr_color(1e-4) == pytest.approx(cmap(0.0))
    assert plots.lr_color(10.0) == pytest.approx(cmap(0.9))
    assert plots.lr_color(0.01) == pytest.approx(cmap(0.9 * 2 / 5))
    # outside the scale: the end colours
    assert plots.lr_color(1e-7) == plots.lr_color(1e-4)
    assert plots.lr_color(1e3) == plots.lr_color(10.0)


def test_lighter_colour_for_larger_rates():
    # viridis gets lighter along the map, so the luminance rises with the rate
    lum = [np.dot(plots.lr_color(lr)[:3], [0.2126, 0.7152, 0.0722]) for lr in np.logspace(-4, 1, 12)]
    assert np.all(np.diff(lum) > 0)


def test_palette_is_okabe_ito():
    assert plots.PALETTE["vermillion"] == "#D55E00" and plots.PALETTE["blue"] == "#0072B2"
    assert plots.series_color(0) == plots.PALETTE["blue"]
    assert plots.series_color(len(plots.SERIES)) == plots.series_color(0)


def test_lr_axis_is_logarithmic_and_labelled():
    fig, ax = plt.subplots()
    plots.lr_axis(ax, "x")
    assert ax.get_xscale() == "log" and "learning rate" in ax.get_xlabel()
    plt.close(fig)


def test_path_helpers_draw_labelled_axes():
    plots.use_style()
    surface = landscapes.valley()
    path = landscapes.gd_path(surface, (-1.0, 0.5), 0.1, 10)
    fig, (left, right) = plots.new_figure(2)
    plots.surface_contours(left, surface)
    line = plots.draw_path(left, path)
    plots.draw_loss(right, path, floor=surface.min_loss)
    assert line.get_color() == plots.lr_color(0.1)
    for ax in (left, right):
        assert ax.get_xlabel() and ax.get_ylabel()
    assert right.get_yscale() == "log"
    plt.close(fig)


BAD_CALLS = [
    (lambda: plots.lr_color(0.0), ValueError),
    (lambda: plots.lr_color(-1.0), ValueError),
    (lambda: plots.lr_color(float("nan")), ValueError),
    (lambda: plots.lr_color("0.1"), TypeError),
    (lambda: plots.lr_color(True), TypeError),
    (lambda: plots.series_color(-1), ValueError),
    (lambda: plots.regime_linestyle("wild"), ValueError),
    (lambda: plots.lr_axis(plt.gca(), "z"), ValueError),
    (lambda: plots.new_figure(0), ValueError),
    (lambda: plots.draw_path_1d(plt.gca(), landscapes.valley(), None), ValueError),
]


@pytest.mark.parametrize("call, error", BAD_CALLS)
def test_bad_input_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()
    plt.close("all")
