"""The bridge between B_noise and Smith and Le's g against a direct computation and section 5's formula."""
from __future__ import annotations

import numpy as np
import pytest

from lib.batch_size import noise_bridge
from lib.batch_size.gradient_noise import optimal_step
from lib.sharpness.sgd_noise import sgd_noise_scale

B = np.array([1.0, 4.0, 32.0, 100.0, 512.0, 4096.0])


def test_g_at_the_best_step_is_eps_max_n_over_b_plus_b_noise():
    got = noise_bridge.noise_at_best_step(B, 0.4, 100.0, 55_000)
    assert got == pytest.approx(0.4 * 55_000 / (B + 100.0), rel=1e-12)


def test_g_at_the_best_step_is_section_5s_noise_scale_at_mccandlishs_best_rate():
    for b in B:
        rate = optimal_step(b, 0.4, 100.0)
        assert noise_bridge.noise_at_best_step(b, 0.4, 100.0, 55_000) == pytest.approx(
            sgd_noise_scale(rate, 55_000, b), rel=1e-12)


def test_the_two_limits_and_the_half_way_point():
    top = noise_bridge.plateau(0.4, 100.0, 55_000)
    assert top == pytest.approx(0.4 * 55_000 / 100.0)
    assert noise_bridge.noise_at_best_step(1e-3, 0.4, 100.0, 55_000) == pytest.approx(top, rel=1e-4)
    assert noise_bridge.noise_at_best_step(100.0, 0.4, 100.0, 55_000) == pytest.approx(top / 2, rel=1e-12)
    assert noise_bridge.noise_at_best_step(25.0, 0.4, 100.0, 55_000) == pytest.approx(0.8 * top, rel=1e-12)
    big = 1e7
    assert noise_bridge.noise_at_best_step(big, 0.4, 100.0, 55_000) == pytest.approx(
        noise_bridge.large_batch_limit(big, 0.4, 55_000), rel=1e-4)
    assert isinstance(noise_bridge.noise_at_best_step(8, 0.4, 100.0, 55_000), float)


@pytest.mark.parametrize("args, error", [
    ((0, 0.4, 100.0, 55_000), ValueError),
    ((8, -0.4, 100.0, 55_000), ValueError),
    ((8, 0.4, 0.0, 55_000), ValueError),
    ((8, 0.4, 100.0, 0), ValueError),
    ((8, 0.4, 100.0, 5.5), TypeError),
    ((8, "0.4", 100.0, 55_000), TypeError),
    (([8, np.nan], 0.4, 100.0, 55_000), ValueError),
])
def test_bad_input_is_rejected(args, error):
    with pytest.raises(error):
        noise_bridge.noise_at_best_step(*args)
