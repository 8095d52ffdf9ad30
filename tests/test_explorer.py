"""lib.explorer: the shared explorer base calls compute once per change, draws, and shows errors;
numbers are typed and refused, never clamped or coerced; rows fit the notebook; output stays inside."""
import html

import ipywidgets as W
import matplotlib
import matplotlib.pyplot as plt
import pytest

from lib import explorer as E
from lib.explorer import CONTROLS_WIDTH_PX, Explorer, NumberBox
from tests.fakes import FakeKernel

matplotlib.use("Agg")


def shown(explorer) -> str:
    """The explorer's sentence or message as the reader reads it (HTML entities decoded)."""
    return html.unescape(explorer.message.value)


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


class Scaled(Explorer):
    """An explorer over one rate typed in a NumberBox with a log slider: draws [rate, 2 rate]."""

    def __init__(self, compute=None):
        self.seen = []
        self._compute = compute
        super().__init__()

    def controls(self):
        self.rate = NumberBox(0.15, "η", low=1e-3, high=10.0, slider=True, log=True)
        self.count = NumberBox(3, "count", low=1, high=500, integer=True)
        return [{"rate": self.rate, "count": self.count}]

    def compute(self, rate, count):
        self.seen.append((rate, count))
        return self._compute() if self._compute else [rate, 2 * rate]

    def draw(self, result):
        fig, ax = plt.subplots()
        ax.plot(result)
        return fig


def test_one_compute_per_change_then_draw_and_describe():
    explorer = Squares()
    assert explorer.calls == [(3, "x")] and explorer.result == [0, 1, 4]
    assert explorer.message.value == "3 squares, the last 4 &lt;b&gt;"    # escaped: text, not HTML
    explorer.n.value = 5
    assert explorer.calls[-1] == (5, "x") and len(explorer.calls) == 2
    assert list(explorer.last_figure.axes[0].lines[0].get_ydata()) == [0, 1, 4, 9, 16]
    # two rows of controls, message, the progress output, the figure
    assert len(explorer.widget.children) == 5
    assert explorer.widget.children[3] is explorer.progress and explorer.widget.children[4] is explorer.output


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


# ------------------------------------------------------------------ numbers: refused, never clamped or coerced

def test_a_number_out_of_range_is_refused_not_clamped():
    explorer = Scaled()
    figure, result = explorer.last_figure, explorer.result
    explorer.rate.value = "50"                       # a FloatLogSlider would have clamped this to 10
    assert "η must be a number in [0.001, 10], got 50.0" in explorer.message.value
    assert explorer.last_figure is figure and explorer.result == result == [0.15, 0.3]
    assert explorer.rate.value == "50" and explorer.rate.text.value == "50"   # the box keeps what was typed
    assert explorer.seen == [(0.15, 3)]              # compute never saw 10 (nor 50)
    explorer.rate.value = "0.5"
    assert explorer.result == [0.5, 1.0] and explorer.message.value == ""


@pytest.mark.parametrize("text, message", [("abc", "η: 'abc' is not a number; allowed: 0.001 to 10"),
                                           ("", "η: '' is not a number"),
                                           ("nan", "η must be a number in [0.001, 10], got nan"),
                                           ("inf", "η must be a number in [0.001, 10], got inf")])
def test_text_that_is_not_a_number_is_refused_not_coerced(text, message):
    explorer = Scaled()
    figure = explorer.last_figure
    explorer.rate.text.value = text                 # typed in the box (a FloatText would have made "abc" 0)
    assert message in shown(explorer) and explorer.last_figure is figure
    assert explorer.seen == [(0.15, 3)]


@pytest.mark.parametrize("text, message", [("7.5", "count: '7.5' is not an int"),
                                           ("600", "count must be an int between 1 and 500, got 600"),
                                           ("0", "count must be an int between 1 and 500, got 0")])
def test_an_int_box_refuses_fractions_and_values_out_of_range(text, message):
    explorer = Scaled()
    explorer.count.value = text
    assert message in shown(explorer) and explorer.seen == [(0.15, 3)]


def test_the_slider_fills_in_the_box_and_a_typed_number_moves_the_slider():
    box = NumberBox(0.15, "η", low=1e-3, high=10.0, slider=True, log=True)
    assert box.slider.readout is False               # no readout of its own to type into (and be clamped)
    box.slider.value = -1.0                          # 10 ** -1
    assert box.value == box.text.value == "0.1" and box.number() == 0.1
    box.value = "2"
    assert box.slider.value == pytest.approx(0.30103, abs=1e-5)
    box.value = "50"                                 # refused: the slider stays where it was
    assert box.slider.value == pytest.approx(0.30103, abs=1e-5)
    ints = NumberBox(60, "steps", low=1, high=500, integer=True, slider=True)
    ints.slider.value = 77
    assert ints.value == "77" and ints.number() == 77


def test_values_are_the_numbers_the_boxes_hold():
    explorer = Scaled()
    assert explorer.values() == {"rate": 0.15, "count": 3}
    assert isinstance(explorer.values()["count"], int)


BAD_BOXES = [
    (lambda: NumberBox(0.1, "η", slider=True), ValueError, "a slider needs both bounds"),
    (lambda: NumberBox(0.1, "η", low=0.0, high=1.0, slider=True, log=True), ValueError, "a log slider needs low > 0"),
    (lambda: NumberBox(20.0, "η", low=1e-3, high=10.0), ValueError, "η must be a number in [0.001, 10], got 20.0"),
]


@pytest.mark.parametrize("call, error, message", BAD_BOXES)
def test_bad_boxes_are_refused(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


# ------------------------------------------------------------------ widths

def test_rows_wrap_and_their_lines_are_measured_from_declared_widths():
    default = W.HBox([W.Text(description=str(i)) for i in range(4)])        # ipywidgets' 300 px each
    assert E.row_lines(default) == [4 * (300 + 4)] and E.row_lines(default)[0] > CONTROLS_WIDTH_PX
    wrapping = E.wrapping_row([E.sized(W.Text(description=str(i)), 400) for i in range(3)])
    assert E.row_lines(wrapping) == [808, 404]
    assert E.declared_width(NumberBox(1.0, "x", low=0.5, high=2.0, slider=True, width=120, slider_width=200)) == 328
    assert E.declared_width(W.Button()) == 152
    with pytest.raises(ValueError, match="only known for widths in px"):
        E.declared_width(W.Text(layout=W.Layout(width="50%")))
    explorer = Scaled()
    assert all("wrap" in row.layout.flex_flow for row in explorer.rows)
    assert explorer.widest_line() <= CONTROLS_WIDTH_PX


# ------------------------------------------------------------------ holding redraws; output kept in the explorer

def test_hold_makes_several_changes_one_redraw():
    explorer = Scaled()
    with explorer.hold():
        explorer.rate.value = "1"
        explorer.count.value = "5"
    assert explorer.seen == [(0.15, 3)]
    assert explorer.redraw() is True and explorer.seen[-1] == (1.0, 5)


def test_compute_runs_inside_the_explorers_progress_output(monkeypatch):
    import ipywidgets.widgets.widget_output as widget_output

    monkeypatch.setattr(widget_output, "get_ipython", lambda: FakeKernel())
    captured, explorers = [], []
    explorer = Scaled(compute=lambda: captured.append(explorers[0].progress.msg_id if explorers else None)
                      or [1.0, 2.0])
    explorers.append(explorer)
    explorer.rate.value = "1"                         # compute sees the progress output capturing
    assert captured == [None, "widget-callback"]      # its output (a tqdm bar) goes to that widget
    assert explorer.progress.msg_id == ""             # and only while it runs


def test_an_error_inside_the_capture_passes_through(monkeypatch):
    import ipywidgets.widgets.widget_output as widget_output

    monkeypatch.setattr(widget_output, "get_ipython", lambda: FakeKernel())

    def refuse():
        raise ValueError("refused inside")

    explorer = Scaled()
    explorer._compute = refuse
    explorer.rate.value = "1"
    assert "refused inside" in explorer.message.value   # a message, not a traceback swallowed by the Output
    explorer._compute = lambda: 1 / 0
    with pytest.raises(ZeroDivisionError):
        explorer.redraw()
