"""lib.explorer: the shared explorer base calls compute once per change, draws, and shows errors."""
import ipywidgets as W
import matplotlib
import matplotlib.pyplot as plt
import pytest

from lib.explorer import Explorer

matplotlib.use("Agg")


class Squares(Explorer):
    """A tiny explorer: n -> the squares 0 .. n-1, refusing n < 1."""

    def __init__(self):
        self.calls = []
        super().__init__()

    def controls(self):
        self.n = W.IntText(value=3, description="n")
        self.label = W.Text(value="x", description="label")
        return [{"n": self.n}, {"label": self.label}]

    def compute(self, n, label):
        self.calls.append((n, label))
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        return [k * k for k in range(n)]

    def draw(self, result):
        fig, ax = plt.subplots()
        ax.plot(result)
        return fig

    def describe(self, result):
        return f"{len(result)} squares, the last {result[-1]} <b>"


def test_one_compute_per_change_then_draw_and_describe():
    explorer = Squares()
    assert explorer.calls == [(3, "x")] and explorer.result == [0, 1, 4]
    assert explorer.message.value == "3 squares, the last 4 &lt;b&gt;"    # escaped: text, not HTML
    explorer.n.value = 5
    assert explorer.calls[-1] == (5, "x") and len(explorer.calls) == 2
    assert list(explorer.last_figure.axes[0].lines[0].get_ydata()) == [0, 1, 4, 9, 16]
    assert len(explorer.widget.children) == 4          # two rows of controls, message, output


def test_an_invalid_value_shows_its_message_and_keeps_the_last_result():
    explorer = Squares()
    assert explorer.redraw() is True
    figure = explorer.last_figure
    explorer.n.value = 0
    assert "n must be &gt;= 1, got 0" in explorer.message.value and "D55E00" in explorer.message.value
    assert explorer.result == [0, 1, 4] and explorer.last_figure is figure   # the last good one stays
    assert explorer.redraw() is False
    explorer.n.value = 2
    assert explorer.result == [0, 1] and "2 squares" in explorer.message.value


def test_a_subclass_must_say_what_it_computes():
    class Empty(Explorer):
        pass

    with pytest.raises(NotImplementedError):
        Empty()
