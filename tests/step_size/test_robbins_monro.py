"""lib.step_size.robbins_monro against known sums (harmonic numbers, ζ(2), ζ(4)) and the noisy quadratic against its exact recursion."""
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


def test_noisy_quadratic_matches_its_exact_expectation():
    etas = np.concatenate([np.full(200, 0.3), 0.3 / (1 + 0.05 * np.arange(300))])
    runs = 20_000
    simulated = rm.noisy_quadratic_sgd(etas, curvature=2.0, noise=0.5, start=1.5, runs=runs, seed=3)
    exact = rm.expected_quadratic_loss(etas, curvature=2.0, noise=0.5, start=1.5)
    assert simulated[0] == exact[0] == pytest.approx(0.5 * 2.0 * 1.5**2)
    # w_k is Gaussian, so L = λw²/2 has standard deviation sqrt(2) E[L]: 5 standard errors
    np.testing.assert_array_less(np.abs(simulated - exact), 5 * math.sqrt(2 / runs) * exact)


def test_the_noise_floor_is_the_fixed_point_of_the_expected_loss():
    lr, h, sigma = 0.2, 1.5, 0.7
    constant = rm.expected_quadratic_loss(np.full(4000, lr), curvature=h, noise=sigma, start=3.0)
    floor = rm.noise_floor(lr, curvature=h, noise=sigma)
    assert constant[-1] == pytest.approx(floor, rel=1e-9)
    assert floor == pytest.approx(lr * sigma**2 / (2 * (2 - lr * h)))


BAD_INPUTS = [
    (lambda: rm.noisy_quadratic_sgd([0.1, -0.1]), ValueError, ">= 0"),
    (lambda: rm.noisy_quadratic_sgd([0.1], runs=0), ValueError, "runs"),
    (lambda: rm.noisy_quadratic_sgd([0.1], curvature=0.0), ValueError, "curvature"),
    (lambda: rm.noisy_quadratic_sgd([0.1], start=float("inf")), ValueError, "start must be a finite number"),
    (lambda: rm.expected_quadratic_loss([], noise=1.0), ValueError, "rates must hold at least 1 value"),
    (lambda: rm.noise_floor(2.5, curvature=1.0), ValueError, "lr * curvature < 2"),
    (lambda: rm.noise_floor(0.1, noise=-1.0), ValueError, "noise"),
]


@pytest.mark.parametrize("call, error, fragment", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_say_what_is_allowed(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


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
