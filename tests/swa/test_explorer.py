"""The cyclical-rate explorer (lib.swa.explorer): a message, not a traceback, for an invalid setting; a
sentence that says what the drawn rate does; no control that cannot change the figure."""
from __future__ import annotations

import html
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from lib.explorer import CONTROLS_WIDTH_PX
from lib.swa import explorer

matplotlib.use("Agg")


def test_explorer_shows_a_message_for_invalid_rates(toy, checkpoint):
    view = explorer.CyclicalExplorer(checkpoint, toy, epochs=1, cycles=[1, 2], alpha_1s=[0.1, 0.2],
                                     alpha_2s=[0.01, 0.15])
    assert "one at the end of each cycle of 2 steps" in view.message.value
    assert view.result is view.run_for(2, 0.2, 0.01)        # the defaults: middle cycle, largest alpha_1, smallest alpha_2
    view.alpha_1.value = 0.1
    view.alpha_2.value = 0.15          # alpha_2 > alpha_1: a message, not a traceback
    assert view.redraw() is False
    assert "alpha_2" in view.message.value
    view.alpha_2.value = 0.01
    assert view.redraw() is True
    assert len(view.results) == 2
    pre = explorer.CyclicalExplorer(checkpoint, toy, epochs=1, cycles=[1, 2], alpha_1s=[0.1, 0.2],
                                    alpha_2s=[0.01, 0.15], precompute=True)
    # the valid settings only, and a cycle of one step once per alpha_2 (alpha_1 plays no part there)
    assert sorted(pre.results) == [(1, 0.01, 0.01), (1, 0.15, 0.15), (2, 0.1, 0.01), (2, 0.2, 0.01), (2, 0.2, 0.15)]
    plt.close("all")


def test_a_cycle_of_one_step_is_said_to_be_constant_and_alpha_1_is_disabled(toy, checkpoint):
    """The tester's case: with a cycle of one step the text said the rate falls from 1 to 0.01 while the
    plot showed a flat 0.01, and the slider read "1 steps"."""
    view = explorer.CyclicalExplorer(checkpoint, toy, epochs=1, cycles=[1, 2], alpha_1s=[0.1, 1.0],
                                     alpha_2s=[0.01, 0.15])
    assert view.cycle.options[0][0].startswith("1 step (") and view.cycle.options[1][0].startswith("2 steps (")
    assert view.alpha_1.disabled is False
    view.cycle.value = 1
    text = html.unescape(view.message.value)
    rate_line = view.last_figure.axes[0].lines[0]
    assert np.all(rate_line.get_ydata() == 0.01)                                       # drawn: flat at alpha_2
    assert text.startswith("The rate is constant at α₂ = 0.01 (a cycle of one step")
    assert "α₁ plays no part" in text and "falls" not in text and "1 steps" not in text
    assert view.alpha_1.disabled is True                                               # it cannot change the figure
    result, trained = view.result, len(view.results)
    view.alpha_1.value = 0.1                                                           # nothing new to train or draw
    assert view.result is result and len(view.results) == trained
    view.cycle.value = 2
    assert view.alpha_1.disabled is False
    rates = view.result.rates
    text = html.unescape(view.message.value)
    assert rates[0] - rates[1] == pytest.approx((0.1 - 0.01) / 2)                      # the fall the text gives
    assert f"falls by (α₁ − α₂)/c = {(0.1 - 0.01) / 2:.3g} per step, from {rates[0]:.3g} at its first step " \
           "to α₂ = 0.01 at its last" in text
    assert view.widest_line() <= CONTROLS_WIDTH_PX
    plt.close("all")


BAD_INPUTS = [
    (lambda d, c: explorer.CyclicalExplorer(c, d, epochs=1, cycles=[], alpha_1s=[0.1], alpha_2s=[0.01]),
     ValueError, "cycles must be a list of at least 1 int(s), got []"),
    (lambda d, c: explorer.CyclicalExplorer(c, d, epochs=1, cycles=[1000], alpha_1s=[0.1], alpha_2s=[0.01]),
     ValueError, "fewer than one cycle"),
    (lambda d, c: explorer.CyclicalExplorer("checkpoint", d, epochs=1, cycles=[1], alpha_1s=[0.1],
                                            alpha_2s=[0.01]), TypeError, "checkpoint must be a lib.swa.training"),
    (lambda d, c: explorer.CyclicalExplorer(c, d, epochs=1, cycles=[1], alpha_1s=[0.1], alpha_2s=[0.01],
                                            precompute="no"), TypeError, "precompute must be True or False"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(toy, checkpoint, call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(toy, checkpoint)
