"""The range-test explorer: its computation, its limits, and messages instead of tracebacks."""
from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from lib.core.data import Splits
from lib.explorer import CONTROLS_WIDTH_PX
from lib.lr_finder import explorer as ex
from lib.lr_finder.figures import sweep_figure
from lib.lr_finder.sweep import RangeTest


@pytest.fixture(scope="module")
def digits() -> Splits:
    return Splits(torch.rand(512, 784), torch.randint(0, 10, (512,)))


def test_the_explorer_shows_a_message_instead_of_a_traceback(digits):
    explorer = ex.RangeTestExplorer(digits, steps=30, batch_size=32)
    first = explorer.message.value
    assert first.startswith("β = 0.98 sets the running average") and isinstance(explorer.last_figure, plt.Figure)
    assert isinstance(explorer.result, RangeTest) and len(explorer.result.lrs) <= 30
    controls = explorer.inputs
    for name, bad, text in (("end", "1e-5", r"end η must be a number in [0.001, 100]"),
                            ("end", "abc", "end η: 'abc' is not a number"),      # a FloatText made it 0
                            ("beta", "1", r"β (smoothing) must be a number in [0, 0.999]"),
                            ("steps", "3", "updates must be an int between 20 and 500"),
                            ("steps", "30.5", "updates: '30.5' is not an int"),
                            ("batch_size", "0", "batch size must be an int between 1 and 512"),
                            ("batch_size", "abc", "batch size: 'abc' is not an int")):
        good, figure = controls[name].value, explorer.last_figure
        controls[name].value = bad           # observe() calls redraw(); it must not raise
        assert text in html.unescape(explorer.message.value) and explorer.last_figure is figure
        controls[name].value = good
        assert explorer.message.value == first
    controls["end"].value = "0.2"
    controls["start"].value = "0.5"          # start above end
    assert "end must be larger than start" in explorer.message.value


def test_beta_changes_what_is_drawn(digits):
    """The tester's case: beta re-swept and redrew an identical figure.  Now the running average it
    smooths (the curve that stops the sweep) is drawn, so a new beta draws new data."""
    explorer = ex.RangeTestExplorer(digits, start=1e-4, end=1e-2, steps=40, batch_size=32)  # no stop: all 40

    def drawn(fig):
        return [line.get_ydata().copy() for line in fig.axes[0].lines]
    before = drawn(explorer.last_figure)
    explorer.inputs["beta"].value = "0.5"
    after = drawn(explorer.last_figure)
    assert len(explorer.result.lrs) == 40 and explorer.result.settings["beta"] == 0.5
    assert html.unescape(explorer.message.value) == (
        "β = 0.5 sets the running average (dashed) whose rise stops the sweep: the sweep ran all 40 of 40 "
        "updates to η = 0.01. The suggestions are read off the zero-lag curve (black), which β does not change.")
    assert any(len(a) != len(b) or not np.allclose(a, b, equal_nan=True) for a, b in zip(before, after))
    running = [line for line in explorer.last_figure.axes[0].lines
               if line.get_label().startswith("running average")]
    assert len(running) == 1 and "β = 0.5" in running[0].get_label()
    np.testing.assert_array_equal(running[0].get_ydata(), explorer.result.smoothed)
    explorer.inputs["beta"].value = "0"               # beta = 0: the running average is the raw curve
    running = next(line for line in explorer.last_figure.axes[0].lines
                   if line.get_label().startswith("running average"))
    np.testing.assert_allclose(running.get_ydata(), explorer.result.losses, rtol=1e-12)
    plt.close("all")


def test_the_controls_fit_a_1000_px_notebook(digits):
    assert ex.RangeTestExplorer(digits, steps=20, batch_size=32).widest_line() <= CONTROLS_WIDTH_PX
    plt.close("all")


def test_the_quick_sweep_and_its_figure():
    data = Splits(torch.rand(256, 784), torch.randint(0, 10, (256,)))
    result = ex.quick_sweep(data, steps=20, batch_size=32)
    assert result.settings["steps"] == 20 and result.settings["batch_size"] == 32
    fig = sweep_figure(result)
    assert isinstance(fig, plt.Figure) and fig.axes[0].get_xscale() == "log"
    plt.close(fig)


BAD_INPUTS = [
    (lambda d: ex.quick_sweep(d, start=10.0), ValueError, r"start must be a number in \[1e-06, 1\]"),
    (lambda d: ex.quick_sweep(d, steps=10_000), ValueError, "steps must be an int between 20 and 500"),
    (lambda d: ex.RangeTestExplorer("data"), TypeError, "data must be lib.core.data.Splits"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(digits, call, error, message):
    with pytest.raises(error, match=message):
        call(digits)
