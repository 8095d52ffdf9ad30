"""lib.glue: what reaches the prose is a plain number, a string or a figure."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from lib import glue

matplotlib.use("Agg")


def test_numpy_scalars_become_python_numbers(monkeypatch):
    stored = {}
    monkeypatch.setattr(glue, "_myst_glue", lambda name, value, display: stored.update({name: value}))
    glue.number("a", np.float64(0.25))
    glue.number("b", np.int64(7))
    glue.number("c", np.array([3.5]))
    assert stored == {"a": 0.25, "b": 7, "c": 3.5}
    assert type(stored["a"]) is float and type(stored["b"]) is int


def test_figures_are_shown_and_closed(monkeypatch):
    shown = []
    monkeypatch.setattr(glue, "_myst_glue", lambda name, value, display: shown.append((name, display)))
    fig = plt.figure()
    glue.figure("f", fig)
    assert shown == [("f", True)]
    assert not plt.fignum_exists(fig.number)


BAD_CALLS = [
    (lambda: glue.number("x", float("nan")), ValueError),
    (lambda: glue.number("x", None), TypeError),
    (lambda: glue.number("x", True), TypeError),
    (lambda: glue.number("x", "3"), TypeError),
    (lambda: glue.number("x", np.array([1.0, 2.0])), TypeError),
    (lambda: glue.number("two words", 1.0), ValueError),
    (lambda: glue.number("", 1.0), ValueError),
    (lambda: glue.text("x", 3), TypeError),
    (lambda: glue.figure("x", "figure"), TypeError),
]


@pytest.mark.parametrize("call, error", BAD_CALLS)
def test_bad_input_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()


def test_seed_summaries_and_paired_differences_glue_mean_std_and_wins(monkeypatch):
    from lib.core import stats

    stored = {}
    monkeypatch.setattr(glue, "_myst_glue", lambda name, value, display: stored.update({name: value}))
    summary = stats.summarize_seeds([[0.9, 0.8, 1.0], [0.5, 0.7, 0.6]], ["swa", "sgd"])
    glue.seed_summary("acc", summary, scale=100)
    assert stored["acc_swa"] == pytest.approx(90.0) and stored["acc_sgd_std"] == pytest.approx(10.0)
    glue.paired_difference("gain", stats.paired_difference([0.9, 0.8, 1.0], [0.5, 0.9, 0.6], scale=100))
    assert stored["gain_mean"] == pytest.approx(70 / 3) and stored["gain_wins"] == 2
    assert stored["gain_std"] == pytest.approx(np.std([40.0, -10.0, 40.0], ddof=1))
    with pytest.raises(TypeError, match="SeedSummary"):
        glue.seed_summary("x", {"swa": 1.0})
    with pytest.raises(ValueError, match="one finite value per seed"):
        glue.paired_difference("x", [1.0])
