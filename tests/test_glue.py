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


# ------------------------------------------------------------------ verdict helpers (issue 14)
# The truths below are worked out by hand, not read off the helpers.

@pytest.mark.parametrize("ratio, digits, written", [
    (0.4337, 2, "0.43"),        # a ratio below 0.5 once printed as "a factor of 0"
    (0.04, 2, "0.040"),
    (0.000123, 2, "0.00012"),   # no exponent notation
    (1.0, 2, "1.0"),
    (2.0, 1, "2"),
    (12.34, 2, "12"),
    (9.96, 2, "10"),            # rounding carries into a new digit: still two digits
    (0.996, 2, "1.0"),
    (99.6, 2, "100"),
    (1234.5, 2, "1,234"),       # 10**digits or more: whole numbers with a thousands separator
    (np.float64(3.14159), 3, "3.14"),
])
def test_factor_writes_significant_digits_and_never_zero(ratio, digits, written):
    assert glue.factor(ratio, digits) == written


@pytest.mark.parametrize("ratio, written", [
    (0.4337, "falls by a factor of 2.3"),   # 1 / 0.4337 = 2.306
    (2.5, "grows by a factor of 2.5"),
    (1.05, "hardly changes"),
    (1 / 1.05, "hardly changes"),
    (0.05, "falls by a factor of 20"),
])
def test_change_turns_a_ratio_into_a_direction_and_a_factor_above_one(ratio, written):
    assert glue.change(ratio) == written


def test_change_takes_its_own_words_and_tolerance():
    assert glue.change(1.3, up="rises", tolerance=0.5) == "hardly changes"
    assert glue.change(1.6, up="rises", tolerance=0.5) == "rises by a factor of 1.6"
    assert glue.change(0.1, down="shrinks") == "shrinks by a factor of 10"


@pytest.mark.parametrize("a, b, tolerance, word", [
    (2.0, 1.0, 0.0, "higher"), (1.0, 2.0, 0.0, "lower"), (1.0, 1.0, 0.0, "the same as"),
    (1.05, 1.0, 0.1, "the same as"), (1.2, 1.0, 0.1, "higher"), (np.float32(0.5), 0.7, 0.0, "lower"),
])
def test_compare_picks_the_word_the_numbers_support(a, b, tolerance, word):
    assert glue.compare(a, b, tolerance=tolerance) == word


def test_position_is_between_above_or_below_whatever_the_order_of_the_ends():
    # section 2's zoom: turns 0.9 and 1.1 against a best rate 0.3 and an edge 0.7 lie above both
    assert glue.position(0.9, 0.3, 0.7) == "above"
    assert glue.position(0.5, 0.7, 0.3) == "between"
    assert glue.position(0.3, 0.3, 0.7) == "between"          # the ends count as inside
    assert glue.position(0.1, 0.3, 0.7, below="under") == "under"


@pytest.mark.parametrize("n, total, words", [
    (0, 4, "none"), (1, 4, "one"), (3, 4, "three"), (4, 4, "all four"), (2, 2, "both"), (1, 2, "one"),
    (np.int64(5), 5, "all five"), (13, 20, "13"),
])
def test_count_says_how_many_in_words(n, total, words):
    assert glue.count(n, total) == words


def test_require_passes_silently_and_otherwise_names_the_sentence_and_its_numbers():
    glue.require(np.bool_(True), 'section 3, "the fixed rate ends lowest"')
    with pytest.raises(glue.VerdictError, match=r'section 3, "the fixed rate ends lowest".*lowest = 0\.5.*fixed = 0\.6'):
        glue.require(0.6 < 0.5, 'section 3, "the fixed rate ends lowest"', lowest=0.5, fixed=0.6)
    assert issubclass(glue.VerdictError, AssertionError)   # an assertion: the build stops on it


def test_choose_glues_the_sentence_that_the_condition_selects(monkeypatch):
    stored = {}
    monkeypatch.setattr(glue, "_myst_glue", lambda name, value, display: stored.update({name: value}))
    assert glue.choose("v", 1 > 2, "holds", "does not hold") == "does not hold"
    assert stored == {"v": "does not hold"}


BAD_VERDICT_CALLS = [
    (lambda: glue.factor(0.0), ValueError),
    (lambda: glue.factor(-2.0), ValueError),
    (lambda: glue.factor(float("inf")), ValueError),
    (lambda: glue.factor("3"), TypeError),
    (lambda: glue.factor(2.0, digits=0), ValueError),
    (lambda: glue.factor(2.0, digits=2.0), TypeError),
    (lambda: glue.change(0.0), ValueError),
    (lambda: glue.change(2.0, tolerance=-0.1), ValueError),
    (lambda: glue.compare(1.0, float("nan")), ValueError),
    (lambda: glue.compare(1.0, None), TypeError),
    (lambda: glue.compare(1.0, 2.0, more=3), TypeError),
    (lambda: glue.position(1.0, 0.0, np.array([1.0, 2.0])), TypeError),
    (lambda: glue.count(5, 4), ValueError),
    (lambda: glue.count(1.0, 4), TypeError),
    (lambda: glue.require(False, ""), TypeError),
    (lambda: glue.choose("two words", True, "a", "b"), ValueError),
    (lambda: glue.choose("x", True, 1, "b"), TypeError),
]


@pytest.mark.parametrize("call, error", BAD_VERDICT_CALLS)
def test_bad_input_to_verdict_helpers_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()
