"""The cyclical-rate explorer (lib.swa.explorer): a message, not a traceback, for an invalid setting."""
from __future__ import annotations

import re

import pytest

from lib.swa import explorer


def test_explorer_shows_a_message_for_invalid_rates(toy, checkpoint):
    view = explorer.CyclicalExplorer(checkpoint, toy, epochs=1, cycles=[1, 2], alpha_1s=[0.1, 0.2],
                                     alpha_2s=[0.01, 0.15])
    assert "snapshots" not in view.message.value and "cycles" in view.message.value
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
    assert len(pre.results) == 2 * 3       # the valid settings only


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
