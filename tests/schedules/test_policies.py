"""lib.schedules.policies against independent truth: the textbook's formulas and Table 12-5, the
papers' closed forms, peer torch schedulers, a training run.

Every closed form below is written out here from its source, not taken from lib.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import LambdaLR, MultiplicativeLR

from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.members import Member, learning_rates
from lib.schedules import policies as P


# --------------------------------------------------------------------------- closed forms, from the sources

def textbook_step(lr, t, step_size, gamma):            # textbook eq. 4 (Caffe "step")
    return lr * gamma ** np.floor(t / step_size)


def multistep(lr, t, milestones, gamma):               # Caffe "multistep"
    return lr * gamma ** np.array([sum(m <= k for m in milestones) for k in t])


def textbook_exp(lr, t, gamma):                        # textbook eq. 5
    return lr * gamma ** t


def textbook_inv(lr, t, gamma, power):                 # textbook eq. 6
    return lr * (1.0 + gamma * t) ** (-power)


def textbook_poly(lr, t, total_iters, power):          # textbook eq. 7; 0 once t >= max_iter
    return lr * np.clip(1.0 - t / total_iters, 0.0, None) ** power


def linear_warmup(lr, t, start_factor, total_iters):   # Goyal et al. 2017, gradual warm-up
    return lr * (start_factor + (1.0 - start_factor) * np.minimum(t, total_iters) / total_iters)


def sgdr(lr, t, T_max, eta_min):                       # Loshchilov & Hutter 2017, eq. 5
    return eta_min + 0.5 * (lr - eta_min) * (1.0 + np.cos(np.pi * t / T_max))


def sgdr_restarts(lr, t, T_0, T_mult, eta_min):        # the same, T_cur reset at each restart
    out = []
    for k in t:
        length, cur = T_0, int(k)
        while cur >= length:
            cur -= length
            length *= T_mult
        out.append(eta_min + 0.5 * (lr - eta_min) * (1.0 + math.cos(math.pi * cur / length)))
    return np.array(out)


def one_cycle(lr, t, total_steps, pct_start, div_factor, final_div_factor, anneal_strategy):
    """Smith & Topin's 1cycle in fastai's two-phase form: rise for pct_start of the steps, then fall."""
    start, low = lr / div_factor, lr / div_factor / final_div_factor
    if anneal_strategy == "cos":
        anneal = lambda a, b, x: b + (a - b) * (1.0 + np.cos(np.pi * x)) / 2.0
    else:
        anneal = lambda a, b, x: a + (b - a) * x
    turn = pct_start * total_steps - 1.0
    return np.where(t <= turn, anneal(start, lr, t / turn),
                    anneal(lr, low, (t - turn) / (total_steps - 1.0 - turn)))


def smith_triangular(lr, t, step_size_up, base_lr):   # Smith 2017, section 3.1
    cycle = np.floor(1 + t / (2 * step_size_up))
    x = np.abs(t / step_size_up - 2 * cycle + 1)
    return base_lr + (lr - base_lr) * np.maximum(0.0, 1.0 - x)


CASES = [  # (policy, parameters, base rate, updates, closed form)
    ("fixed", {}, 0.3, 50, lambda lr, t: np.full(len(t), lr)),
    ("step", {"step_size": 50, "gamma": 0.9}, 0.1, 400, functools.partial(textbook_step, step_size=50, gamma=0.9)),
    ("step", {"step_size": 7, "gamma": 0.5}, 0.8, 60, functools.partial(textbook_step, step_size=7, gamma=0.5)),
    ("multistep", {"milestones": [30, 80, 81], "gamma": 0.1}, 0.5, 120,
     functools.partial(multistep, milestones=[30, 80, 81], gamma=0.1)),
    ("exp", {"gamma": 0.99}, 0.1, 500, functools.partial(textbook_exp, gamma=0.99)),
    ("exp", {"gamma": 0.9}, 1.0, 100, functools.partial(textbook_exp, gamma=0.9)),
    ("inv", {"gamma": 1e-4, "power": 0.75}, 0.01, 3000, functools.partial(textbook_inv, gamma=1e-4, power=0.75)),
    ("inv", {"gamma": 0.1, "power": 1.0}, 0.5, 300, functools.partial(textbook_inv, gamma=0.1, power=1.0)),
    ("inv", {"gamma": 0.05, "power": 0.5}, 0.2, 300, functools.partial(textbook_inv, gamma=0.05, power=0.5)),
    ("poly", {"total_iters": 100, "power": 0.9}, 0.1, 150, functools.partial(textbook_poly, total_iters=100, power=0.9)),
    ("poly", {"total_iters": 60, "power": 2.0}, 0.4, 60, functools.partial(textbook_poly, total_iters=60, power=2.0)),
    ("poly", {"total_iters": 37, "power": 1.0}, 0.4, 80, functools.partial(textbook_poly, total_iters=37, power=1.0)),
    ("warmup", {"start_factor": 0.1, "total_iters": 20}, 0.5, 60,
     functools.partial(linear_warmup, start_factor=0.1, total_iters=20)),
    ("warmup", {"start_factor": 0.5, "total_iters": 1}, 0.5, 5,
     functools.partial(linear_warmup, start_factor=0.5, total_iters=1)),
    ("cosine", {"T_max": 100, "eta_min": 0.0}, 0.8, 101, functools.partial(sgdr, T_max=100, eta_min=0.0)),
    # beyond T_max torch's cosine climbs back up: the same formula, periodic with period 2 T_max
    ("cosine", {"T_max": 40, "eta_min": 0.01}, 0.5, 200, functools.partial(sgdr, T_max=40, eta_min=0.01)),
    ("cosine_restarts", {"T_0": 10, "T_mult": 1, "eta_min": 0.0}, 0.3, 55,
     functools.partial(sgdr_restarts, T_0=10, T_mult=1, eta_min=0.0)),
    ("cosine_restarts", {"T_0": 5, "T_mult": 2, "eta_min": 0.01}, 0.3, 80,
     functools.partial(sgdr_restarts, T_0=5, T_mult=2, eta_min=0.01)),
    ("one_cycle", {"total_steps": 100, "pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4,
                   "anneal_strategy": "cos"}, 0.8, 100,
     functools.partial(one_cycle, total_steps=100, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                       anneal_strategy="cos")),
    ("one_cycle", {"total_steps": 80, "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0,
                   "anneal_strategy": "linear"}, 0.5, 80,
     functools.partial(one_cycle, total_steps=80, pct_start=0.25, div_factor=10.0, final_div_factor=100.0,
                       anneal_strategy="linear")),
    ("triangular", {"step_size_up": 10, "base_lr": 0.01}, 0.1, 75,
     functools.partial(smith_triangular, step_size_up=10, base_lr=0.01)),
    ("triangular", {"step_size_up": 3, "base_lr": 0.2}, 0.9, 40,
     functools.partial(smith_triangular, step_size_up=3, base_lr=0.2)),
]


@pytest.mark.parametrize("name, params, lr, steps, formula", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rate_at_every_step_equals_the_formula(name, params, lr, steps, formula):
    t = np.arange(steps, dtype=np.float64)
    np.testing.assert_allclose(P.rates(P.schedule(name, **params), lr, steps), formula(lr, t),
                               rtol=1e-9, atol=1e-12)


def test_every_policy_is_in_the_table():
    assert {c[0] for c in CASES} == set(P.POLICIES)
    assert set(P.TEXTBOOK_POLICIES) | set(P.MODERN_POLICIES) == set(P.POLICIES)


# The textbook's Table 12-5: lr = 0.1 * 0.9^floor(n/50), as printed.
TABLE_12_5 = {0: 0.1, 50: 0.09, 100: 0.081, 150: 0.073, 200: 0.065, 250: 0.059, 300: 0.053}


def test_textbook_table_12_5():
    curve = P.rates(P.schedule("step", step_size=50, gamma=0.9), 0.1, 301)
    for n, printed in TABLE_12_5.items():
        assert curve[n] == pytest.approx(0.1 * 0.9 ** (n // 50), rel=1e-12)
        assert abs(curve[n] - printed) < 1e-3          # the table keeps three decimals
    # Every printed entry is the exact value rounded to 3 decimals except n = 200:
    # 0.9^4 / 10 = 0.06561 is printed as 0.065 (cut off, where rounding gives 0.066).
    mismatches = [n for n, printed in TABLE_12_5.items() if round(curve[n], 3) != printed]
    assert mismatches == [200]
    assert curve[200] == pytest.approx(0.06561, rel=1e-12)
    assert math.floor(curve[200] * 1000) / 1000 == TABLE_12_5[200]


def test_rates_between_the_table_columns_stay_flat():
    curve = P.rates(P.schedule("step", step_size=50, gamma=0.9), 0.1, 120)
    assert np.all(curve[:50] == 0.1) and np.all(curve[50:100] == curve[50]) and curve[100] < curve[99]


def test_polynomial_lr_is_equation_7():
    """PolynomialLR(total_iters=T, power=p) is eq. 7 with iteration_max = T, then stays at 0."""
    lr, T, p = 0.3, 50, 0.9
    curve = P.rates(P.schedule("poly", total_iters=T, power=p), lr, 2 * T)
    t = np.arange(T + 1)
    np.testing.assert_allclose(curve[:T + 1], lr * (1 - t / T) ** p, rtol=1e-9, atol=1e-15)
    assert np.all(curve[T:] == 0.0)
    # p > 1 sags below the straight line, p < 1 bulges above it (halfway: 0.5^p of the base)
    half = lambda power: P.rates(P.schedule("poly", total_iters=T, power=power), 1.0, T)[T // 2]
    assert half(2.0) == pytest.approx(0.25) and half(0.5) == pytest.approx(math.sqrt(0.5))


def test_inv_lambda_matches_a_peer_torch_scheduler():
    """LambdaLR (closed form) against MultiplicativeLR (ratio of successive rates): same sequence."""
    gamma, power, lr, steps = 0.02, 0.75, 0.4, 500
    peer_factor = lambda e: ((1 + gamma * (e - 1)) / (1 + gamma * e)) ** power
    peer = learning_rates(Member(lr=lr, schedule=functools.partial(MultiplicativeLR, lr_lambda=peer_factor)), steps)
    built = P.schedule("inv", gamma=gamma, power=power)
    assert built.func is LambdaLR
    np.testing.assert_allclose(P.rates(built, lr, steps), peer, rtol=1e-10)


def test_inv_has_no_positive_minimum():
    """Eq. 6 falls to 0 for every p > 0 (p sets how fast, not a floor)."""
    for power in (0.25, 0.5, 1.0):
        tail = P.rates(P.schedule("inv", gamma=1.0, power=power), 1.0, 10**4)[-1]
        assert tail == pytest.approx(1e4 ** -power, rel=1e-9)


def test_partial_is_what_the_trainer_takes_and_drawing_does_not_consume_it():
    g = torch.Generator().manual_seed(0)
    data = Splits(torch.rand(96, 784, generator=g), torch.randint(0, 10, (96,), generator=g),
                  torch.rand(20, 784, generator=g), torch.randint(0, 10, (20,), generator=g))
    built = P.schedule("cosine", T_max=12, eta_min=0.01)
    before = P.rates(built, 0.5, 12)                       # draw it first (d2l's trap)
    run = train_grid([Member(lr=0.5, schedule=built), Member(lr=0.2, schedule=built, init_seed=1)], data,
                     batch_size=16, epochs=2, progress=False)
    np.testing.assert_allclose(run.history.step_lr[0], before, rtol=1e-7)     # float32 inside the trainer
    np.testing.assert_allclose(run.history.step_lr[1], P.rates(built, 0.2, 12), rtol=1e-7)
    np.testing.assert_array_equal(P.rates(built, 0.5, 12), before)
    assert P.training_steps(96, 16, 2) == run.history.step_lr.shape[1]
    assert P.training_steps(100, 16, 3) == 21


def test_peak_rate_comes_from_the_member():
    for name in ("one_cycle", "triangular"):
        params = P.default_parameters(name, 200, lr=0.5)
        assert P.rates(P.schedule(name, **params), 0.5, 200).max() == pytest.approx(0.5, rel=1e-3)


@pytest.mark.parametrize("steps", [16, 430, 12900])
def test_default_parameters_are_valid(steps):
    for name in P.POLICIES:
        curve = P.rates(P.schedule(name, **P.default_parameters(name, steps, lr=0.8)), 0.8, steps)
        assert curve.shape == (steps,) and curve.max() <= 0.8 + 1e-12
        if name in ("exp", "inv", "multistep"):
            assert curve[-1] == pytest.approx(0.8 * 0.01, rel=1e-9)   # "end at 1% of lr"


def test_parameter_text():
    assert P.parameter_text({"step_size": 500, "gamma": 0.9}) == "s = 500; γ = 0.9"
    assert P.parameter_text({"milestones": [3000, 5500], "gamma": 0.5}) == "milestones = 3000, 5500; γ = 0.5"
    assert P.parameter_text({}) == "none"
    for name in P.POLICIES:                                  # every policy's parameters have a symbol
        P.parameter_text(P.default_parameters(name, 100))


def test_schedule_records_its_policy():
    built = P.schedule("exp", gamma=0.5)
    assert built.policy == "exp" and built.parameters == {"gamma": 0.5}


BAD_INPUTS = [
    (lambda: P.schedule("cosin"), ValueError, "valid names: fixed, step"),
    (lambda: P.schedule(3), ValueError, "unknown schedule"),
    (lambda: P.schedule("step", step=5, gamma=0.5), TypeError, "step takes: step_size, gamma"),
    (lambda: P.schedule("step", gamma=0.5), TypeError, "missing parameter(s) step_size"),
    (lambda: P.schedule("fixed", gamma=0.5), TypeError, "fixed takes: none"),
    (lambda: P.schedule("step", step_size=0, gamma=0.5), ValueError, "step: step_size must be an int >= 1, got 0"),
    (lambda: P.schedule("step", step_size=2.5, gamma=0.5), TypeError, "step_size must be an int"),
    (lambda: P.schedule("step", step_size=True, gamma=0.5), TypeError, "step_size must be an int"),
    (lambda: P.schedule("step", step_size=5, gamma=1.5), ValueError, "gamma must be a number in (0, 1], got 1.5"),
    (lambda: P.schedule("exp", gamma=0.0), ValueError, "gamma must be a number in (0, 1]"),
    (lambda: P.schedule("exp", gamma=float("nan")), ValueError, "gamma"),
    (lambda: P.schedule("exp", gamma="0.9"), TypeError, "gamma must be a real number"),
    (lambda: P.schedule("multistep", milestones=[50, 30], gamma=0.1), ValueError, "strictly increasing"),
    (lambda: P.schedule("multistep", milestones=[0, 30], gamma=0.1), ValueError,
     "every entry of milestones must be an int >= 1, got 0"),
    (lambda: P.schedule("multistep", milestones=[], gamma=0.1), ValueError, "milestones"),
    (lambda: P.schedule("multistep", milestones="30", gamma=0.1), TypeError, "milestones"),
    (lambda: P.schedule("multistep", milestones=[3.5], gamma=0.1), TypeError, "milestones"),
    (lambda: P.schedule("inv", gamma=-0.1, power=0.5), ValueError, "gamma must be a finite number > 0"),
    (lambda: P.schedule("inv", gamma=0.1, power=0), ValueError, "power must be a finite number > 0"),
    (lambda: P.schedule("poly", total_iters=0, power=1.0), ValueError, "total_iters"),
    (lambda: P.schedule("warmup", start_factor=0.0, total_iters=5), ValueError,
     "start_factor must be a number in (0, 1]"),
    (lambda: P.schedule("cosine", T_max=10, eta_min=-0.1), ValueError, "eta_min must be a finite number >= 0"),
    (lambda: P.schedule("cosine_restarts", T_0=10, T_mult=0, eta_min=0.0), ValueError, "T_mult"),
    (lambda: P.schedule("one_cycle", total_steps=100, pct_start=1.0, div_factor=25.0, final_div_factor=1e4,
                        anneal_strategy="cos"), ValueError, "pct_start must be a finite number strictly between 0 and 1"),
    (lambda: P.schedule("one_cycle", total_steps=5, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                        anneal_strategy="cos"), ValueError, "pct_start * total_steps"),
    (lambda: P.schedule("one_cycle", total_steps=100, pct_start=0.3, div_factor=0.5, final_div_factor=1e4,
                        anneal_strategy="cos"), ValueError, "div_factor must be a finite number >= 1"),
    (lambda: P.schedule("one_cycle", total_steps=100, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                        anneal_strategy="cosine"), ValueError, "anneal_strategy 'cosine'; allowed: cos, linear"),
    (lambda: P.rates(P.schedule("triangular", step_size_up=5, base_lr=0.6), 0.5, 20), ValueError,
     "below the peak"),
    (lambda: P.rates(P.schedule("one_cycle", total_steps=50, pct_start=0.3, div_factor=25.0,
                                final_div_factor=1e4, anneal_strategy="cos"), 0.5, 51), ValueError, "total steps"),
    (lambda: P.rates("step", 0.1, 10), TypeError, "partial of a scheduler class"),
    (lambda: P.rates(P.schedule("fixed"), -0.1, 10), ValueError, "lr"),
    (lambda: P.rates(P.schedule("fixed"), 0.1, 0), ValueError, "steps"),
    (lambda: P.default_parameters("step", 8), ValueError, "steps must be an int >= 16"),
    (lambda: P.default_parameters("nope", 100), ValueError, "valid names"),
    (lambda: P.training_steps(100, 0, 1), ValueError, "batch_size"),
    (lambda: P.training_steps(100, 200, 1), ValueError, "batch_size must be an int between 1 and 100, got 200"),
    (lambda: P.parameter_text({"gama": 0.9}), ValueError, "known: step_size"),
    (lambda: P.parameter_text([0.9]), TypeError, "mapping"),
]


@pytest.mark.parametrize("call, error, fragment", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_say_what_is_allowed(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
