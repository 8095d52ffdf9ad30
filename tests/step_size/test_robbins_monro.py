"""lib.robbins_monro against known sums: harmonic numbers, ζ(2), ζ(4), linear growth."""
import math

import numpy as np
import pytest

from lib.step_size import robbins_monro as rm

EULER_GAMMA = 0.5772156649015329


def test_constant_sequence_sums_linearly():
    first, second = rm.partial_sums(rm.sequence("constant", 1000, scale=0.3))
    assert first[-1] == pytest.approx(300.0) and second[-1] == pytest.approx(90.0)


def test_one_over_k_gives_harmonic_numbers_and_zeta_two():
    K = 100_000
    first, second = rm.partial_sums(rm.sequence("1/k", K))
    # H_K = ln K + γ + 1/(2K) - 1/(12K²) + …
    assert first[-1] == pytest.approx(math.log(K) + EULER_GAMMA + 1 / (2 * K), abs=1e-9)
    # Σ 1/k² = π²/6 - 1/K + O(1/K²)
    assert second[-1] == pytest.approx(math.pi**2 / 6 - 1 / K, abs=1e-9)
    # a divergent sum: every decade adds ln 10
    assert rm.growth(first, K // 10, K) == pytest.approx(math.log(10), abs=1e-4)


def test_one_over_sqrt_k_and_one_over_k_squared():
    K = 10_000
    first, second = rm.partial_sums(rm.sequence("1/sqrt(k)", K))
    # Σ k^(-1/2) = 2√K + ζ(1/2) + 1/(2√K) + …, ζ(1/2) = -1.4603545088…
    assert first[-1] == pytest.approx(2 * math.sqrt(K) - 1.4603545088095868 + 0.5 / math.sqrt(K), abs=1e-6)
    assert second[-1] == pytest.approx(math.log(K) + EULER_GAMMA + 1 / (2 * K), abs=1e-9)
    first, second = rm.partial_sums(rm.sequence("1/k^2", K))
    assert first[-1] == pytest.approx(math.pi**2 / 6 - 1 / K, abs=1e-8)
    assert second[-1] == pytest.approx(math.pi**4 / 90, abs=1e-10)


def test_scaling_a_sequence_scales_the_sums_by_c_and_c_squared():
    base = rm.partial_sums(rm.sequence("1/k", 500))
    scaled = rm.partial_sums(rm.sequence("1/k", 500, scale=5.0))
    np.testing.assert_allclose(scaled[0], 5 * base[0])
    np.testing.assert_allclose(scaled[1], 25 * base[1])


BAD_CALLS = [
    (lambda: rm.sequence("1/k^3", 10), ValueError),
    (lambda: rm.sequence("1/k", 0), ValueError),
    (lambda: rm.sequence("1/k", 10.0), TypeError),
    (lambda: rm.sequence("1/k", 10, scale=0), ValueError),
    (lambda: rm.sequence("1/k", 10, scale="2"), TypeError),
    (lambda: rm.partial_sums([]), ValueError),
    (lambda: rm.partial_sums([[1.0]]), ValueError),
    (lambda: rm.partial_sums([1.0, -1.0]), ValueError),
    (lambda: rm.growth(np.ones(5), 3, 3), ValueError),
    (lambda: rm.growth(np.ones(5), 1, 6), ValueError),
    (lambda: rm.growth(np.ones(5), 1.0, 3), TypeError),
]


@pytest.mark.parametrize("call, error", BAD_CALLS)
def test_bad_input_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()
