"""lib.step_size.figures: the path helpers draw labelled axes in the rate's colour."""
import matplotlib
import matplotlib.pyplot as plt
import pytest

from lib import style
from lib.step_size import figures
from lib.step_size import gradient_descent as gd
from lib.step_size import surfaces

matplotlib.use("Agg")


def test_path_helpers_draw_labelled_axes():
    style.use_style()
    surface = surfaces.ravine()
    path = gd.gd_path(surface, (-1.0, 0.5), 0.1, 10)
    fig, (left, right) = style.new_figure(2)
    figures.surface_contours(left, surface)
    line = figures.draw_path(left, path)
    figures.draw_loss(right, path, floor=surface.min_loss)
    assert line.get_color() == style.lr_color(0.1)
    for ax in (left, right):
        assert ax.get_xlabel() and ax.get_ylabel()
    assert right.get_yscale() == "log"
    plt.close(fig)




def test_every_section_figure_draws_from_its_records():
    ravine = surfaces.ravine()
    paths = gd.gd_paths(ravine, (-1.8, 0.6), {"small": 0.02, "large": 0.21}, 20)
    fig = figures.ravine_figure(ravine, paths, 10.0)
    left = fig.axes[0]
    assert len([line for line in left.lines if len(line.get_xdata()) == 21]) == 2
    plt.close(fig)
    fig = figures.stability_figure([0.1, 1.0], {0.5: [0.5, 0.1], 2.0: [0.1, 2.0]}, 10)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_ylabel()
    plt.close(fig)


@pytest.mark.parametrize("call, error", [
    (lambda: figures.regime_linestyle("wild"), ValueError),
    (lambda: figures.draw_path_1d(plt.gca(), surfaces.ravine(), None), ValueError),
])
def test_bad_input_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()
    plt.close("all")
