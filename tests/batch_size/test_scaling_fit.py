"""lib.batch_size.scaling_fit against hand-computed truths: parabola vertices, power laws, t intervals."""
import numpy as np
import pytest
from scipy import stats as scipy_stats

from lib.batch_size import scaling_fit


def test_the_vertex_of_an_exact_parabola_in_log_rate_is_found_between_grid_points():
    rates = np.array([0.1, 0.2, 0.3, 0.5, 0.7, 1.0])
    best = 0.42                                         # not on the grid
    losses = 2.0 + 3.0 * (np.log(rates) - np.log(best)) ** 2
    assert scaling_fit.interpolated_minimum(rates, losses) == pytest.approx(best, rel=1e-9)


def test_edges_flat_bottoms_and_divergence_fall_back_to_the_grid_minimum():
    rates = np.array([0.1, 0.3, 1.0, 3.0])
    assert scaling_fit.interpolated_minimum(rates, [1.0, 2.0, 3.0, 4.0]) == 0.1        # minimum at the edge
    assert scaling_fit.interpolated_minimum(rates, [4.0, 3.0, 2.0, 1.0]) == 3.0
    assert scaling_fit.interpolated_minimum(rates, [3.0, 1.0, np.inf, 5.0]) == 0.3    # a diverged neighbour
    # symmetric neighbours on a geometric grid: the vertex is the middle rate itself
    geometric = np.array([0.1, 1.0, 10.0, 100.0])
    assert scaling_fit.interpolated_minimum(geometric, [5.0, 2.0, 1.0, 2.0]) == pytest.approx(10.0)


def test_a_power_law_per_seed_gives_its_exponent_with_an_interval_of_zero_width():
    b = np.array([16, 32, 64, 128])
    rates = np.stack([0.01 * b ** 0.5, 0.02 * b ** 0.5, 0.015 * b ** 0.5], axis=1)   # (B, S): slope 1/2, 3 seeds
    fit = scaling_fit.fit_scaling(b, rates)
    assert fit.slope == pytest.approx(0.5) and fit.low == pytest.approx(0.5) and fit.high == pytest.approx(0.5)
    assert fit.rules == ("square-root",) and fit.verdict == "the square-root rule"


def test_the_interval_is_the_student_t_interval_of_the_seed_slopes():
    b = np.array([16, 64])
    slopes = np.array([0.9, 0.5, 0.7])                  # one exact slope per seed: log rate = slope * log(B / 16)
    rates = np.exp(np.log(b / 16)[:, None] * slopes[None, :]) * 0.1
    fit = scaling_fit.fit_scaling(b, rates)
    half = scipy_stats.t.ppf(0.975, 2) * np.std(slopes, ddof=1) / np.sqrt(3)   # 4.303 * 0.2 / 1.732
    assert half == pytest.approx(4.302652729911275 * 0.2 / np.sqrt(3))
    assert fit.slope == pytest.approx(0.7) and fit.low == pytest.approx(0.7 - half) and fit.high == pytest.approx(0.7 + half)
    assert fit.rules == ("linear", "square-root")   # [0.203, 1.197] holds 1 and 1/2, not 0
    assert fit.verdict == "inconclusive between the linear and the square-root rules"


def test_an_interval_that_covers_all_three_rules_names_them_in_one_list():
    b = np.array([16, 64])
    rates = np.exp(np.log(b / 16)[:, None] * np.array([1.5, -0.5])[None, :])   # slopes 1.5 and -0.5: mean 0.5
    fit = scaling_fit.fit_scaling(b, rates)
    assert fit.rules == ("linear", "square-root", "flat")
    assert fit.verdict == "inconclusive between the linear, the square-root and the flat rules"


def test_an_interval_that_misses_every_rule_says_so():
    b = np.array([16, 32, 64])
    rates = np.stack([0.01 * b ** 2.0, 0.011 * b ** 2.0], axis=1)
    assert scaling_fit.fit_scaling(b, rates).verdict == "none of the three rules"


@pytest.mark.parametrize("call", [
    lambda: scaling_fit.interpolated_minimum([0.1, 0.2], [1.0]),
    lambda: scaling_fit.interpolated_minimum([0.2, 0.1], [1.0, 2.0]),
    lambda: scaling_fit.interpolated_minimum([0.1, 0.2], [np.inf, np.nan]),
    lambda: scaling_fit.fit_scaling([16], [[0.1, 0.2]]),
    lambda: scaling_fit.fit_scaling([16, 32], [[0.1], [0.2]]),
    lambda: scaling_fit.fit_scaling([16, 32], [[0.1, 0.2], [0.0, 0.3]]),
    lambda: scaling_fit.fit_scaling([16, 32], [[0.1, 0.2], [0.2, 0.3]], confidence=1.0),
])
def test_bad_input_is_refused(call):
    with pytest.raises(ValueError):
        call()
