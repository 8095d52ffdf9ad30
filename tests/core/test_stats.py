"""lib.core.stats against loops written here, closed forms and NumPy."""
import math

import numpy as np
import pytest

from lib.core import stats


def _ema_loop(values, beta):
    """The recursion as the textbooks write it, one value at a time."""
    out, running = [], 0.0
    for t, value in enumerate(values, start=1):
        running = beta * running + (1.0 - beta) * value
        out.append(running / (1.0 - beta ** t))
    return np.array(out)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.98])
def test_ema_is_the_bias_corrected_recursion_to_the_last_bit(beta):
    values = np.random.default_rng(0).lognormal(size=300)
    assert np.array_equal(stats.ema(values, beta), _ema_loop(values, beta))


def test_ema_keeps_a_constant_series_constant():
    assert np.allclose(stats.ema(np.full(50, 3.5), 0.98), 3.5, rtol=1e-13)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.98])
def test_the_lag_is_exact_on_a_linear_series(beta):
    t = np.arange(1, 400, dtype=float)
    smoothed = stats.ema(t, beta)
    # on x_t = t the average equals the value lag_t steps earlier
    assert np.allclose(smoothed, t - stats.smoothing_lag(beta, t), rtol=1e-12)
    assert stats.smoothing_lag(beta, 10 ** 9) == pytest.approx(beta / (1 - beta))


def test_centered_smoothing_has_no_lag_on_a_geometric_series():
    x = 2.0 ** np.linspace(0, 10, 200)           # a straight line in log
    smoothed = stats.smooth_centered(x, 0.9)
    middle = slice(20, 180)
    assert np.allclose(smoothed[middle], x[middle], rtol=1e-6)
    assert np.array_equal(stats.smooth_centered(x, 0.0), x)


def test_seed_summary_uses_the_sample_standard_deviation():
    values = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.5]])
    summary = stats.summarize_seeds(values, ["a", "b"])
    assert summary.value("a", "std") == pytest.approx(np.std([1.0, 2.0, 4.0], ddof=1))
    assert summary.value("b") == pytest.approx(9.5 / 3)
    assert summary.best == "b" and list(summary.wins_per_seed) == [1, 2]
    assert summary.value("a", "spread") == 3.0


def test_median_range_and_paired_difference():
    assert stats.median_range([3.0, np.nan, 1.0, 2.0]) == (2.0, 1.0, 3.0)
    assert all(math.isnan(v) for v in stats.median_range([np.nan]))
    assert np.allclose(stats.paired_difference([0.9, 0.8], [0.85, 0.9], scale=100), [5.0, -10.0], rtol=1e-12)


def test_diverged_runs_are_masked_and_reshaped_by_seed():
    values = np.arange(6.0)                          # rates r0, r0, r1, r1, r2, r2 for seeds s0, s1
    table = stats.by_seed(values, 2)
    assert table.shape == (2, 3) and list(table[1]) == [1.0, 3.0, 5.0]
    masked = stats.mask_diverged(values, values > 3)
    assert np.isnan(masked[4:]).all() and list(masked[:4]) == [0, 1, 2, 3]
    assert list(stats.inf_for_nan([1.0, np.nan])) == [1.0, np.inf]


def test_seed_summary_against_numpy():
    values = np.array([[0.97, 0.96, 0.98], [0.95, 0.99, 0.96]])
    summary = stats.summarize_seeds(values, ["a", "b"])
    assert summary.value("a") == pytest.approx(0.97)
    assert summary.value("a", "std") == pytest.approx(0.01)          # sample sd of 0.96, 0.97, 0.98
    assert summary.value("b", "spread") == pytest.approx(0.04)
    assert summary.best == "a"
    assert list(summary.wins_per_seed) == [2, 1]


@pytest.mark.parametrize("call, error, message", [
    (lambda: stats.ema([1.0, 2.0], 1.0), ValueError, r"beta must be in \[0, 1\)"),
    (lambda: stats.ema([1.0, 2.0], "0.9"), TypeError, "beta must be a number"),
    (lambda: stats.ema([1.0, np.nan], 0.5), ValueError, "values must be finite"),
    (lambda: stats.ema([[1.0]], 0.5), ValueError, "1-D"),
    (lambda: stats.smoothing_lag(0.9, 0), ValueError, "count must be >= 1"),
    (lambda: stats.summarize_seeds([[1.0]], ["a"]), ValueError, "at least 2 seeds"),
    (lambda: stats.summarize_seeds([[1.0, np.nan]], ["a"]), ValueError, "finite"),
    (lambda: stats.summarize_seeds([[1.0, 2.0]], ["a", "b"]), ValueError, "shape"),
    (lambda: stats.summarize_seeds(np.ones((2, 1)), ["a", "b"]), ValueError, "at least 2 seeds"),
    (lambda: stats.summarize_seeds(np.ones((2, 3)), ["a"]), ValueError, "shape"),
    (lambda: stats.summarize_seeds(np.array([[1.0, np.nan]]), ["a"]), ValueError, "finite"),
    (lambda: stats.summarize_seeds(np.ones((2, 2)), ["a", "a"]), ValueError, "distinct"),
    (lambda: stats.summarize_seeds(np.ones((1, 2)), ["a"]).value("b"), ValueError, "unknown label"),
    (lambda: stats.paired_difference([1.0], [2.0]), ValueError, "at least 2 seeds"),
    (lambda: stats.paired_difference([1.0, 2.0], [2.0]), ValueError, "one entry per seed"),
    (lambda: stats.by_seed(np.arange(5), 2), ValueError, "do not split into 2 seeds"),
    (lambda: stats.mask_diverged(np.arange(4), [True]), ValueError, "leading shape"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_t_half_width_is_scipys_t_interval_of_the_mean():
    # the peer library's interval: scipy.stats.t.interval around the mean with the standard error (ddof=1)
    from scipy import stats as scipy_stats

    values = np.array([0.31, 0.27, 0.35, 0.22, 0.30])
    for confidence in (0.5, 0.9, 0.95, 0.99):
        low, high = scipy_stats.t.interval(confidence, values.size - 1, loc=values.mean(),
                                           scale=scipy_stats.sem(values))
        assert stats.t_half_width(values, confidence) == pytest.approx((high - low) / 2, rel=1e-12)
    # two values, the 95 % interval: t_{1, 0.975} = 12.706 times s / sqrt(2) = |a - b| / 2
    assert stats.t_half_width([1.0, 3.0]) == pytest.approx(12.7062047 * 1.0, rel=1e-6)
    assert stats.t_half_width(np.float32([2.0, 2.0, 2.0])) == 0.0


@pytest.mark.parametrize("values, confidence, error, match", [
    ([1.0], 0.95, ValueError, "at least 2 numbers"),
    ([1.0, float("nan")], 0.95, ValueError, "finite"),
    ([1.0, 2.0], 1.0, ValueError, "confidence"),
    ([1.0, 2.0], "0.9", TypeError, "confidence"),
])
def test_t_half_width_refuses_what_has_no_interval(values, confidence, error, match):
    with pytest.raises(error, match=match):
        stats.t_half_width(values, confidence)
