"""lib.schedules.explorer: the explorer shows messages instead of tracebacks, and trains with the
schedule it draws."""
from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lib.core.data import Splits  # noqa: E402
from lib.explorer import CONTROLS_WIDTH_PX, NumberBox, row_lines  # noqa: E402
from lib.schedules import explorer as E  # noqa: E402
from lib.schedules import policies as P  # noqa: E402


def _shown(explorer) -> str:
    return html.unescape(explorer.message.value)


def test_explorer_shows_messages_and_trains(toy_data, monkeypatch):
    monkeypatch.setenv("LR_BOOK_PROGRESS", "0")
    explorer = E.ScheduleExplorer(toy_data, epochs=1, batch_size=16, name="step", lr=0.5)
    assert explorer.steps == 16 and "step" in explorer.message.value
    assert [c.description for c in explorer.fields.children] == ["step_size", "gamma"]
    explorer.fields.children[1].value = "1.5"                        # gamma > 1: a message, not a traceback
    assert "gamma" in explorer.message.value and "got 1.5" in explorer.message.value
    explorer.fields.children[1].value = "abc"
    assert "not a number" in explorer.message.value
    assert explorer.train() is False and explorer.runs == []
    explorer.policy.value = "cosine"                                 # new fields, valid defaults
    assert [c.description for c in explorer.fields.children] == ["T_max", "eta_min"]
    assert "cosine: 16 updates" in explorer.message.value
    assert explorer.train() is True and len(explorer.runs) == 1
    history = explorer.runs[0][1]
    np.testing.assert_allclose(history.step_lr[0], P.rates(P.schedule("cosine", T_max=16, eta_min=0.0), 0.5, 16),
                               rtol=1e-6)
    np.testing.assert_array_equal(explorer.result.rates, P.rates(P.schedule("cosine", T_max=16, eta_min=0.0),
                                                                 0.5, 16))
    assert len(explorer.result.runs) == 1
    explorer.policy.value = "one_cycle"
    explorer.fields.children[0].value = "10"                         # shorter than the run
    assert explorer.train() is False and "total steps" in explorer.message.value
    explorer.clear()
    assert explorer.runs == []


def test_the_base_rate_is_typed_and_refused_out_of_range(toy_data):
    explorer = E.ScheduleExplorer(toy_data, epochs=1, batch_size=16, name="exp", lr=0.5)
    figure = explorer.last_figure
    for text, message in (("50", "η0 must be a number in [0.001, 3], got 50.0"),     # a log slider clamped it to 3
                          ("abc", "η0: 'abc' is not a number")):
        explorer.lr.value = text
        assert message in _shown(explorer) and explorer.last_figure is figure
        assert explorer.train() is False and message in _shown(explorer)
    explorer.lr.value = "0.2"
    assert explorer.result.lr == 0.2 and explorer.result.rates[0] == pytest.approx(0.2)
    explorer.fields.children[0].value = "0.5.5"                      # a parameter box refuses the same way
    assert "gamma: '0.5.5' is not a number" in _shown(explorer)


def test_the_sentence_reads_the_drawn_rates(toy_data):
    explorer = E.ScheduleExplorer(toy_data, epochs=1, batch_size=16, name="step", lr=0.5)
    assert _shown(explorer) == ("step: 16 updates (1 epoch of 256 examples); the rate goes from 0.5 to "
                                f"{explorer.result.rates[-1]:.3g}.")        # "1 epoch", not "1 epochs"
    explorer.fields.children[0].value = "100"                        # no decay within the run: gamma plays no part
    assert "the rate stays at 0.5 for the whole run" in _shown(explorer)
    assert np.all(explorer.result.rates == 0.5)
    explorer.policy.value = "triangular"
    rates = explorer.result.rates
    assert f"the rate goes from {rates[0]:.3g} to {rates[-1]:.3g}, between {rates.min():.3g} and " \
           f"{rates.max():.3g}" in _shown(explorer)


def test_a_trained_run_is_labelled_with_its_parameters(toy_data, monkeypatch):
    monkeypatch.setenv("LR_BOOK_PROGRESS", "0")
    explorer = E.ScheduleExplorer(toy_data, epochs=1, batch_size=16, name="step", lr=0.5)
    assert explorer.clear_button.disabled is True                   # nothing to clear: it could change nothing
    explorer.fields.children[1].value = "0.25"
    assert explorer.train() is True and explorer.clear_button.disabled is False
    label = explorer.runs[0][0]
    assert label.startswith("step (") and "γ = 0.25" in label and label.endswith("η0=0.5")
    assert "1 trained run on the right" in _shown(explorer)
    legend = [text.get_text() for text in explorer.last_figure.axes[1].get_legend().get_texts()]
    assert legend == [label]
    figure = explorer.last_figure
    assert explorer.train() is False and "is already drawn" in _shown(explorer)   # the same curve again: refused
    assert len(explorer.runs) == 1 and explorer.last_figure is figure
    explorer.fields.children[1].value = "0.5"
    assert explorer.train() is True and len(explorer.runs) == 2
    explorer.clear()
    assert explorer.runs == [] and explorer.clear_button.disabled is True


def test_every_policys_controls_fit_a_1000_px_notebook(toy_data):
    """The tester's case: one_cycle's five fields overflowed the notebook at 1280 px."""
    explorer = E.ScheduleExplorer(toy_data, epochs=1, batch_size=16, name="step", lr=0.5)
    for name in P.POLICIES:
        explorer.policy.value = name
        assert "wrap" in explorer.fields.layout.flex_flow
        for control in explorer.fields.children:                    # every width declared, none the 300 px default
            widths = [control.text.layout.width] if isinstance(control, NumberBox) else [control.layout.width]
            assert all(w and w.endswith("px") for w in widths), (name, control)
        assert max(row_lines(explorer.fields)) <= CONTROLS_WIDTH_PX, name
        assert explorer.widest_line() <= CONTROLS_WIDTH_PX, name
    assert explorer.policy.value == "triangular" and explorer.result.name == "triangular"


def test_schedule_view_reads_the_scheduler():
    view = E.schedule_view("exp", {"gamma": 0.9}, 0.4, 30)
    np.testing.assert_allclose(view.rates, 0.4 * 0.9 ** np.arange(30), rtol=1e-12)
    assert view.parameters == {"gamma": 0.9} and view.runs == ()


def test_parse_parameter():
    milestones, gamma = P.policy("multistep").parameters
    assert E.parse_parameter(milestones, "100, 150; 200") == [100, 150, 200]
    assert E.parse_parameter(gamma, " 0.5 ") == 0.5


BAD_INPUTS = [
    (lambda: E.schedule_view("step", {"step_size": 5, "gamma": 0.5}, 10.0, 20), ValueError,
     "lr must be a number in [0.001, 3], got 10.0"),
    (lambda: E.parse_parameter(P.policy("step").parameters[0], "five"), ValueError, "'five' is not an int"),
    (lambda: E.parse_parameter(P.policy("step").parameters[0], 5), TypeError, "expected text"),
    (lambda: E.ScheduleExplorer(Splits(torch.rand(64, 784), torch.randint(0, 10, (64,))), epochs=1, batch_size=32),
     ValueError, "at least 16 updates"),
    (lambda: E.ScheduleExplorer("mnist"), TypeError, "Splits"),
]


@pytest.mark.parametrize("call, error, fragment", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_say_what_is_allowed(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
