"""lib.schedules.conditions against independent truth: the partial sums of the rates (the
Robbins–Monro verdicts), and the noisy quadratic of lib.step_size.robbins_monro against its exact
recursion and the closed forms of its noise floor and of its 1/t law.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from lib.schedules import conditions as C
from lib.schedules import policies as P
from lib.step_size import robbins_monro as rm


ROBBINS_MONRO_CASES = [  # policy, parameters (over N = 20000 updates)
    ("fixed", {}),
    ("step", {"step_size": 100, "gamma": 0.5}),
    ("step", {"step_size": 100, "gamma": 1.0}),
    ("multistep", {"milestones": [100, 200], "gamma": 0.5}),
    ("exp", {"gamma": 0.99}),
    ("inv", {"gamma": 0.1, "power": 1.0}),
    ("inv", {"gamma": 0.1, "power": 0.4}),
    ("inv", {"gamma": 0.1, "power": 2.0}),
    ("poly", {"total_iters": 2000, "power": 1.0}),
    ("warmup", {"start_factor": 0.1, "total_iters": 100}),
    ("cosine", {"T_max": 2000, "eta_min": 0.0}),
    ("cosine_restarts", {"T_0": 100, "T_mult": 2, "eta_min": 0.0}),
    ("triangular", {"step_size_up": 50, "base_lr": 0.01}),
]


@pytest.mark.parametrize("name, params", ROBBINS_MONRO_CASES, ids=[c[0] + str(i) for i, c in enumerate(ROBBINS_MONRO_CASES)])
def test_robbins_monro_verdicts_match_the_partial_sums(name, params):
    """A divergent sum still grows by >= 20 % of its size in the last decade; a convergent one by < 5 %."""
    N = 20_000
    curve = P.rates(P.schedule(name, **params), 0.1, N)
    verdict = C.robbins_monro_conditions(name, **params)
    for sums, infinite in ((np.cumsum(curve), verdict.sum_infinite),
                           (np.cumsum(curve**2), not verdict.squares_finite)):
        late = (sums[-1] - sums[N // 10 - 1]) / sums[-1]
        assert (late > 0.2) if infinite else (late < 0.05), (name, late)


def test_robbins_monro_verdicts():
    assert C.robbins_monro_conditions("inv", gamma=0.1, power=1.0).met
    assert C.robbins_monro_conditions("inv", gamma=0.1, power=0.75).met
    assert not C.robbins_monro_conditions("inv", gamma=0.1, power=0.5).met       # squares: harmonic
    assert not C.robbins_monro_conditions("exp", gamma=0.999).met
    assert not C.robbins_monro_conditions("one_cycle", **P.default_parameters("one_cycle", 100)).met
    # policies other than inv (p in (1/2, 1]) never meet both
    for name in P.POLICIES:
        if name != "inv":
            assert not C.robbins_monro_conditions(name, **P.default_parameters(name, 1000)).met


def test_a_decaying_schedule_goes_below_the_noise_floor():
    lr, h, sigma = 0.2, 1.5, 0.7
    floor = rm.noise_floor(lr, curvature=h, noise=sigma)
    # η_t = η0 / (1 + γt), i.e. c/t with c h = (η0/γ) h > 1/2: E[L] ≈ h c² σ² / (2 (2 c h - 1) t)
    gamma = 0.02
    decay = P.rates(P.schedule("inv", gamma=gamma, power=1.0), lr, 4000)
    loss = rm.expected_quadratic_loss(decay, curvature=h, noise=sigma, start=3.0)
    c = lr / gamma
    assert loss[-1] < floor / 10
    assert loss[-1] == pytest.approx(h * c**2 * sigma**2 / (2 * (2 * c * h - 1) * 4000), rel=0.05)


def test_noisy_quadratic_record_holds_each_schedules_simulation_and_expectation():
    schedules = {"fixed": ("fixed", {}, 0.2), "inv": ("inv", {"gamma": 0.1, "power": 1.0}, 0.4)}
    record = C.noisy_quadratic(schedules, steps=300, runs=50, curvature=1.5, noise=0.7, start=2.0, seed=4)
    assert record.labels == ("fixed", "inv") and record.policies == ("fixed", "inv")
    assert record.rates.shape == (2, 300) and record.simulated.shape == record.exact.shape == (2, 301)
    inv = 0.4 / (1 + 0.1 * np.arange(300))                                  # textbook eq. 6, p = 1
    np.testing.assert_allclose(record.rates[1], inv, rtol=1e-12)
    np.testing.assert_array_equal(record.rates[0], np.full(300, 0.2))
    for row in range(2):                                                    # same calls, same numbers
        np.testing.assert_array_equal(record.simulated[row], rm.noisy_quadratic_sgd(
            record.rates[row], curvature=1.5, noise=0.7, start=2.0, runs=50, seed=4))
    # the exact recursion m_{k+1} = (1 - eta h)^2 m_k + eta^2 sigma^2, E[L] = h m / 2, written out here
    m = [4.0]
    for eta in inv:
        m.append((1 - eta * 1.5) ** 2 * m[-1] + (eta * 0.7) ** 2)
    np.testing.assert_allclose(record.exact[1], 0.75 * np.array(m), rtol=1e-12)
    assert record.floors == {0.2: pytest.approx(0.2 * 0.49 / (2 * (2 - 0.3)))}


def test_inv_late_loss_is_the_one_over_t_law():
    lr, gamma, h, sigma, steps = 0.2, 0.02, 1.5, 0.7, 4000
    c = lr / gamma
    assert C.inv_late_loss(lr, gamma, steps, curvature=h, noise=sigma) == pytest.approx(
        h * c**2 * sigma**2 / (2 * (2 * c * h - 1) * steps), rel=1e-12)
    exact = rm.expected_quadratic_loss(P.rates(P.schedule("inv", gamma=gamma, power=1.0), lr, steps),
                                       curvature=h, noise=sigma, start=3.0)
    assert exact[-1] == pytest.approx(C.inv_late_loss(lr, gamma, steps, curvature=h, noise=sigma), rel=0.05)


BAD_INPUTS = [
    (lambda: C.robbins_monro_conditions("step", step_size=5), TypeError, "missing"),
    (lambda: C.noisy_quadratic({}, steps=10, runs=2), ValueError, "non-empty"),
    (lambda: C.noisy_quadratic({"a": ("fixed", {})}, steps=10, runs=2), TypeError, "triple"),
    (lambda: C.noisy_quadratic({"a": ("fixed", {}, 0.1)}, steps=0, runs=2), ValueError, "steps must be an int >= 1"),
    (lambda: C.noisy_quadratic({"a": ("fixed", {}, 0.1)}, steps=10, runs=0), ValueError, "runs must be an int >= 1"),
    (lambda: C.inv_late_loss(0.01, 0.1, 100), ValueError, "1/t law"),
    (lambda: C.inv_late_loss(0.1, 0.0, 100), ValueError, "gamma must be a finite number > 0"),
]


@pytest.mark.parametrize("call, error, fragment", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_say_what_is_allowed(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
