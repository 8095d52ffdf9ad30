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
