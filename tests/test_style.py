"""lib.style: one colour per learning rate across the chapter, batch colours, and the shared helpers."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from lib import style

matplotlib.use("Agg")


def test_the_same_rate_always_gets_the_same_colour():
    assert style.lr_color(0.1) == style.lr_color(0.1) == style.lr_color(np.float64(0.1))


def test_colours_follow_log10_of_the_rate_on_a_fixed_scale():
    cmap = matplotlib.colormaps[style.LR_CMAP]
    # 1e-4 is the bottom of the scale, 10 the top (cut at 0.9 of viridis), 0.01 sits 2/5 of the way
    assert style.lr_color(1e-4) == pytest.approx(cmap(0.0))
    assert style.lr_color(10.0) == pytest.approx(cmap(0.9))
    assert style.lr_color(0.01) == pytest.approx(cmap(0.9 * 2 / 5))
    # outside the scale: the end colours
    assert style.lr_color(1e-7) == style.lr_color(1e-4)
    assert style.lr_color(1e3) == style.lr_color(10.0)


def test_lighter_colour_for_larger_rates():
    # viridis gets lighter along the map, so the luminance rises with the rate
    lum = [np.dot(style.lr_color(lr)[:3], [0.2126, 0.7152, 0.0722]) for lr in np.logspace(-4, 1, 12)]
    assert np.all(np.diff(lum) > 0)


def test_palette_is_okabe_ito():
    assert style.PALETTE["vermillion"] == "#D55E00" and style.PALETTE["blue"] == "#0072B2"
    assert style.series_color(0) == style.PALETTE["blue"]
    assert style.series_color(len(style.SERIES)) == style.series_color(0)


def test_lr_axis_is_logarithmic_and_labelled():
    fig, ax = plt.subplots()
    style.lr_axis(ax, "x")
    assert ax.get_xscale() == "log" and "learning rate" in ax.get_xlabel()
    plt.close(fig)


def test_batch_colours_follow_log2_of_the_batch_on_cividis():
    cmap = matplotlib.colormaps[style.BATCH_CMAP]
    assert style.batch_color(16) == pytest.approx(cmap(0.0))
    assert style.batch_color(2048) == pytest.approx(cmap(0.9))
    assert style.batch_color(128) == pytest.approx(cmap(0.9 * 3 / 7))
    assert style.batch_color(np.int64(128)) == style.batch_color(128.0)


def test_seed_band_draws_the_mean_and_the_range_and_skips_all_nan_columns():
    fig, ax = plt.subplots()
    curves = np.array([[1.0, 2.0, np.nan], [3.0, 6.0, np.nan]])
    style.seed_band(ax, [0, 1, 2], curves, label="mean", color="black")
    line = ax.lines[0]
    assert list(line.get_ydata()[:2]) == [2.0, 4.0] and np.isnan(line.get_ydata()[2])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == 1.0 and band[:, 1].max() == 6.0
    style.seed_band(ax, [0, 1, 2], curves, label="seed 1", line=1)
    assert list(ax.lines[1].get_ydata()[:2]) == [3.0, 6.0]
    plt.close(fig)


def test_seed_band_draws_the_range_and_the_chosen_line():
    curves = np.array([[1.0, 2.0, 3.0], [3.0, 0.0, 5.0]])
    fig, ax = plt.subplots()
    style.seed_band(ax, np.arange(3), curves, label="mean", color="k")
    style.seed_band(ax, np.arange(3), curves, label="seed 1", line=1)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 1.0, 4.0])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [3.0, 0.0, 5.0])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 0.0 and band.max() == 5.0
    with pytest.raises(ValueError, match="line must be"):
        style.seed_band(ax, np.arange(3), curves, label="x", line=2)
    with pytest.raises(ValueError, match="shape"):
        style.seed_band(ax, np.arange(4), curves, label="x")
    plt.close(fig)


BAD_CALLS = [
    (lambda: style.lr_color(0.0), ValueError),
    (lambda: style.lr_color(-1.0), ValueError),
    (lambda: style.lr_color(float("nan")), ValueError),
    (lambda: style.lr_color("0.1"), TypeError),
    (lambda: style.lr_color(True), TypeError),
    (lambda: style.series_color(-1), ValueError),
    (lambda: style.lr_axis(plt.gca(), "z"), ValueError),
    (lambda: style.new_figure(0), ValueError),
    (lambda: style.batch_color(0), ValueError),       # the batch colours section 4 and 5 figures use
    (lambda: style.batch_color("16"), TypeError),
    (lambda: style.plain_log(plt.gca(), "z"), ValueError),
    (lambda: style.seed_band(plt.gca(), [0, 1], [[1.0, 2.0, 3.0]], label="x"), ValueError),
    (lambda: style.seed_band(plt.gca(), [0, 1], [[1.0, 2.0]], label="x", line=3), ValueError),
]


@pytest.mark.parametrize("call, error", BAD_CALLS)
def test_bad_input_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()
    plt.close("all")
