"""The range-test explorer: its computation, its limits, and messages instead of tracebacks."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from lib.core.data import Splits
from lib.lr_finder import explorer as ex
from lib.lr_finder.figures import sweep_figure
from lib.lr_finder.sweep import RangeTest


@pytest.fixture(scope="module")
def digits() -> Splits:
    return Splits(torch.rand(512, 784), torch.randint(0, 10, (512,)))


def test_the_explorer_shows_a_message_instead_of_a_traceback(digits):
    explorer = ex.RangeTestExplorer(digits, steps=30, batch_size=32)
    assert explorer.message.value == "" and isinstance(explorer.last_figure, plt.Figure)
    assert isinstance(explorer.result, RangeTest) and len(explorer.result.lrs) <= 30
    controls = explorer.inputs
    for name, bad, text in (("end", 1e-5, r"end must be a number in [0.001, 100]"),
                            ("beta", 1.0, r"beta must be a number in [0, 0.999]"),
                            ("steps", 3, "steps must be an int between 20 and 500"),
                            ("batch_size", 0, "batch_size must be an int between")):
        good = controls[name].value
        controls[name].value = bad           # observe() calls redraw(); it must not raise
        assert text in explorer.message.value
        controls[name].value = good
        assert explorer.message.value == ""
    controls["end"].value = 0.2
    controls["start"].value = 0.5            # start above end
    assert "end must be larger than start" in explorer.message.value


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
