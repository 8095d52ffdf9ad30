"""lib.schedules.explorer: the explorer shows messages instead of tracebacks, and trains with the
schedule it draws."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lib.core.data import Splits  # noqa: E402
from lib.schedules import explorer as E  # noqa: E402
from lib.schedules import policies as P  # noqa: E402


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
