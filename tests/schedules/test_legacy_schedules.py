"""lib.schedules against independent truth: the textbook's formulas and Table 12-5, the
papers' closed forms, peer torch schedulers; plus the Robbins–Monro additions of
lib.robbins_monro (the noisy quadratic) against their exact recursion.

Every closed form below is written out here from its source, not taken from lib.
"""
from __future__ import annotations

import functools
import math

import matplotlib
import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import LambdaLR, MultiplicativeLR

matplotlib.use("Agg")

from lib import robbins_monro as rm  # noqa: E402
from lib import schedules as S  # noqa: E402
from lib.data import Splits  # noqa: E402
from lib.train import Member, evaluate, learning_rates, train_grid  # noqa: E402


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
    np.testing.assert_allclose(S.rates(S.schedule(name, **params), lr, steps), formula(lr, t),
                               rtol=1e-9, atol=1e-12)


def test_every_policy_is_in_the_table():
    assert {c[0] for c in CASES} == set(S.POLICIES)
    assert set(S.TEXTBOOK_POLICIES) | set(S.MODERN_POLICIES) == set(S.POLICIES)


# The textbook's Table 12-5: lr = 0.1 * 0.9^floor(n/50), as printed.
TABLE_12_5 = {0: 0.1, 50: 0.09, 100: 0.081, 150: 0.073, 200: 0.065, 250: 0.059, 300: 0.053}


def test_textbook_table_12_5():
    curve = S.rates(S.schedule("step", step_size=50, gamma=0.9), 0.1, 301)
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
    curve = S.rates(S.schedule("step", step_size=50, gamma=0.9), 0.1, 120)
    assert np.all(curve[:50] == 0.1) and np.all(curve[50:100] == curve[50]) and curve[100] < curve[99]


def test_polynomial_lr_is_equation_7():
    """PolynomialLR(total_iters=T, power=p) is eq. 7 with iteration_max = T, then stays at 0."""
    lr, T, p = 0.3, 50, 0.9
    curve = S.rates(S.schedule("poly", total_iters=T, power=p), lr, 2 * T)
    t = np.arange(T + 1)
    np.testing.assert_allclose(curve[:T + 1], lr * (1 - t / T) ** p, rtol=1e-9, atol=1e-15)
    assert np.all(curve[T:] == 0.0)
    # p > 1 sags below the straight line, p < 1 bulges above it (halfway: 0.5^p of the base)
    half = lambda power: S.rates(S.schedule("poly", total_iters=T, power=power), 1.0, T)[T // 2]
    assert half(2.0) == pytest.approx(0.25) and half(0.5) == pytest.approx(math.sqrt(0.5))


def test_inv_lambda_matches_a_peer_torch_scheduler():
    """LambdaLR (closed form) against MultiplicativeLR (ratio of successive rates): same sequence."""
    gamma, power, lr, steps = 0.02, 0.75, 0.4, 500
    peer_factor = lambda e: ((1 + gamma * (e - 1)) / (1 + gamma * e)) ** power
    peer = learning_rates(Member(lr=lr, schedule=functools.partial(MultiplicativeLR, lr_lambda=peer_factor)), steps)
    built = S.schedule("inv", gamma=gamma, power=power)
    assert built.func is LambdaLR
    np.testing.assert_allclose(S.rates(built, lr, steps), peer, rtol=1e-10)


def test_inv_has_no_positive_minimum():
    """Eq. 6 falls to 0 for every p > 0 (p sets how fast, not a floor)."""
    for power in (0.25, 0.5, 1.0):
        tail = S.rates(S.schedule("inv", gamma=1.0, power=power), 1.0, 10**4)[-1]
        assert tail == pytest.approx(1e4 ** -power, rel=1e-9)


def test_partial_is_what_the_trainer_takes_and_drawing_does_not_consume_it():
    g = torch.Generator().manual_seed(0)
    data = Splits(torch.rand(96, 784, generator=g), torch.randint(0, 10, (96,), generator=g),
                  torch.rand(20, 784, generator=g), torch.randint(0, 10, (20,), generator=g))
    built = S.schedule("cosine", T_max=12, eta_min=0.01)
    before = S.rates(built, 0.5, 12)                       # draw it first (d2l's trap)
    run = train_grid([Member(lr=0.5, schedule=built), Member(lr=0.2, schedule=built, init_seed=1)], data,
                     batch_size=16, epochs=2, progress=False)
    np.testing.assert_allclose(run.history.step_lr[0], before, rtol=1e-7)     # float32 inside the trainer
    np.testing.assert_allclose(run.history.step_lr[1], S.rates(built, 0.2, 12), rtol=1e-7)
    np.testing.assert_array_equal(S.rates(built, 0.5, 12), before)
    assert S.training_steps(96, 16, 2) == run.history.step_lr.shape[1]
    assert S.training_steps(100, 16, 3) == 21


def test_peak_rate_comes_from_the_member():
    for name in ("one_cycle", "triangular"):
        params = S.default_parameters(name, 200, lr=0.5)
        assert S.rates(S.schedule(name, **params), 0.5, 200).max() == pytest.approx(0.5, rel=1e-3)


@pytest.mark.parametrize("steps", [16, 430, 12900])
def test_default_parameters_are_valid(steps):
    for name in S.POLICIES:
        curve = S.rates(S.schedule(name, **S.default_parameters(name, steps, lr=0.8)), 0.8, steps)
        assert curve.shape == (steps,) and curve.max() <= 0.8 + 1e-12
        if name in ("exp", "inv", "multistep"):
            assert curve[-1] == pytest.approx(0.8 * 0.01, rel=1e-9)   # "end at 1% of lr"


def test_parameter_text():
    assert S.parameter_text({"step_size": 500, "gamma": 0.9}) == "s = 500; γ = 0.9"
    assert S.parameter_text({"milestones": [3000, 5500], "gamma": 0.5}) == "milestones = 3000, 5500; γ = 0.5"
    assert S.parameter_text({}) == "none"
    for name in S.POLICIES:                                  # every policy's parameters have a symbol
        S.parameter_text(S.default_parameters(name, 100))


def test_schedule_records_its_policy():
    built = S.schedule("exp", gamma=0.5)
    assert built.policy == "exp" and built.parameters == {"gamma": 0.5}


BAD_INPUTS = [
    (lambda: S.schedule("cosin"), ValueError, "valid names: fixed, step"),
    (lambda: S.schedule(3), ValueError, "unknown schedule"),
    (lambda: S.schedule("step", step=5, gamma=0.5), TypeError, "step takes: step_size, gamma"),
    (lambda: S.schedule("step", gamma=0.5), TypeError, "missing parameter(s) step_size"),
    (lambda: S.schedule("fixed", gamma=0.5), TypeError, "fixed takes: none"),
    (lambda: S.schedule("step", step_size=0, gamma=0.5), ValueError, "1 <= step_size"),
    (lambda: S.schedule("step", step_size=2.5, gamma=0.5), TypeError, "an int"),
    (lambda: S.schedule("step", step_size=True, gamma=0.5), TypeError, "an int"),
    (lambda: S.schedule("step", step_size=5, gamma=1.5), ValueError, "gamma <= 1"),
    (lambda: S.schedule("exp", gamma=0.0), ValueError, "0 < gamma"),
    (lambda: S.schedule("exp", gamma=float("nan")), ValueError, "gamma"),
    (lambda: S.schedule("exp", gamma="0.9"), TypeError, "a number"),
    (lambda: S.schedule("multistep", milestones=[50, 30], gamma=0.1), ValueError, "strictly increasing"),
    (lambda: S.schedule("multistep", milestones=[0, 30], gamma=0.1), ValueError, "strictly increasing"),
    (lambda: S.schedule("multistep", milestones=[], gamma=0.1), TypeError, "milestones"),
    (lambda: S.schedule("multistep", milestones="30", gamma=0.1), TypeError, "milestones"),
    (lambda: S.schedule("multistep", milestones=[3.5], gamma=0.1), TypeError, "milestones"),
    (lambda: S.schedule("inv", gamma=-0.1, power=0.5), ValueError, "0 < gamma"),
    (lambda: S.schedule("inv", gamma=0.1, power=0), ValueError, "0 < power"),
    (lambda: S.schedule("poly", total_iters=0, power=1.0), ValueError, "total_iters"),
    (lambda: S.schedule("warmup", start_factor=0.0, total_iters=5), ValueError, "0 < start_factor <= 1"),
    (lambda: S.schedule("cosine", T_max=10, eta_min=-0.1), ValueError, "0 <= eta_min"),
    (lambda: S.schedule("cosine_restarts", T_0=10, T_mult=0, eta_min=0.0), ValueError, "T_mult"),
    (lambda: S.schedule("one_cycle", total_steps=100, pct_start=1.0, div_factor=25.0, final_div_factor=1e4,
                        anneal_strategy="cos"), ValueError, "pct_start < 1"),
    (lambda: S.schedule("one_cycle", total_steps=5, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                        anneal_strategy="cos"), ValueError, "pct_start * total_steps"),
    (lambda: S.schedule("one_cycle", total_steps=100, pct_start=0.3, div_factor=0.5, final_div_factor=1e4,
                        anneal_strategy="cos"), ValueError, "1 <= div_factor"),
    (lambda: S.schedule("one_cycle", total_steps=100, pct_start=0.3, div_factor=25.0, final_div_factor=1e4,
                        anneal_strategy="cosine"), ValueError, "'cos', 'linear'"),
    (lambda: S.rates(S.schedule("triangular", step_size_up=5, base_lr=0.6), 0.5, 20), ValueError,
     "below the peak"),
    (lambda: S.rates(S.schedule("one_cycle", total_steps=50, pct_start=0.3, div_factor=25.0,
                                final_div_factor=1e4, anneal_strategy="cos"), 0.5, 51), ValueError, "total steps"),
    (lambda: S.rates("step", 0.1, 10), TypeError, "partial of a scheduler class"),
    (lambda: S.rates(S.schedule("fixed"), -0.1, 10), ValueError, "lr"),
    (lambda: S.rates(S.schedule("fixed"), 0.1, 0), ValueError, "steps"),
    (lambda: S.default_parameters("step", 8), ValueError, "steps must be an int >= 16"),
    (lambda: S.default_parameters("nope", 100), ValueError, "valid names"),
    (lambda: S.training_steps(100, 0, 1), ValueError, "batch_size"),
    (lambda: S.training_steps(100, 200, 1), ValueError, "exceeds"),
    (lambda: S.policies_figure({}, 0.1, 10), ValueError, "non-empty"),
    (lambda: S.policy_style("nope"), ValueError, "valid names"),
    (lambda: S.summarize_seeds(np.ones((2, 1)), ["a", "b"]), ValueError, "at least 2 seeds"),
    (lambda: S.summarize_seeds(np.ones((2, 3)), ["a"]), ValueError, "shape"),
    (lambda: S.summarize_seeds(np.array([[1.0, np.nan]]), ["a"]), ValueError, "finite"),
    (lambda: S.summarize_seeds(np.ones((2, 2)), ["a", "a"]), ValueError, "distinct"),
    (lambda: S.summarize_seeds(np.ones((1, 2)), ["a"]).value("b"), ValueError, "unknown label"),
    (lambda: S.explorer_figure("step", {"step_size": 5, "gamma": 0.5}, 10.0, 20), ValueError, "lr must be"),
    (lambda: S.parse_parameter(S.policy("step").parameters[0], "five"), ValueError, "an int"),
    (lambda: S.robbins_monro_conditions("step", step_size=5), TypeError, "missing"),
    (lambda: S.seed_members({}, [0]), ValueError, "non-empty"),
    (lambda: S.parameter_text({"gama": 0.9}), ValueError, "known: step_size"),
    (lambda: S.parameter_text([0.9]), TypeError, "mapping"),
    (lambda: S.ScheduleExplorer(Splits(torch.rand(64, 784), torch.randint(0, 10, (64,))), epochs=1, batch_size=32),
     ValueError, "at least 16 updates"),
    (lambda: S.ScheduleExplorer("mnist"), TypeError, "Splits"),
    (lambda: S.seed_members({"a": {"lr": 0.1}}, [0, 0]), ValueError, "distinct"),
    (lambda: S.seed_members({"a": {"lr": 0.1, "init_seed": 3}}, [0]), ValueError, "other than"),
    (lambda: rm.noisy_quadratic_sgd([0.1, -0.1]), ValueError, ">= 0"),
    (lambda: rm.noisy_quadratic_sgd([0.1], runs=0), ValueError, "runs"),
    (lambda: rm.noisy_quadratic_sgd([0.1], curvature=0.0), ValueError, "curvature"),
    (lambda: rm.noisy_quadratic_sgd([0.1], start=float("inf")), TypeError, "start"),
    (lambda: rm.expected_quadratic_loss([], noise=1.0), ValueError, "non-empty"),
    (lambda: rm.noise_floor(2.5, curvature=1.0), ValueError, "lr * curvature < 2"),
    (lambda: rm.noise_floor(0.1, noise=-1.0), ValueError, "noise"),
]


@pytest.mark.parametrize("call, error, fragment", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_inputs_say_what_is_allowed(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


# --------------------------------------------------------------------------- Robbins–Monro

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
    curve = S.rates(S.schedule(name, **params), 0.1, N)
    verdict = S.robbins_monro_conditions(name, **params)
    for sums, infinite in ((np.cumsum(curve), verdict.sum_infinite),
                           (np.cumsum(curve**2), not verdict.squares_finite)):
        late = (sums[-1] - sums[N // 10 - 1]) / sums[-1]
        assert (late > 0.2) if infinite else (late < 0.05), (name, late)


def test_robbins_monro_verdicts():
    assert S.robbins_monro_conditions("inv", gamma=0.1, power=1.0).met
    assert S.robbins_monro_conditions("inv", gamma=0.1, power=0.75).met
    assert not S.robbins_monro_conditions("inv", gamma=0.1, power=0.5).met       # squares: harmonic
    assert not S.robbins_monro_conditions("exp", gamma=0.999).met
    assert not S.robbins_monro_conditions("one_cycle", **S.default_parameters("one_cycle", 100)).met
    # policies other than inv (p in (1/2, 1]) never meet both
    for name in S.POLICIES:
        if name != "inv":
            assert not S.robbins_monro_conditions(name, **S.default_parameters(name, 1000)).met


def test_noisy_quadratic_matches_its_exact_expectation():
    etas = np.concatenate([np.full(200, 0.3), 0.3 / (1 + 0.05 * np.arange(300))])
    runs = 20_000
    simulated = rm.noisy_quadratic_sgd(etas, curvature=2.0, noise=0.5, start=1.5, runs=runs, seed=3)
    exact = rm.expected_quadratic_loss(etas, curvature=2.0, noise=0.5, start=1.5)
    assert simulated[0] == exact[0] == pytest.approx(0.5 * 2.0 * 1.5**2)
    # w_k is Gaussian, so L = λw²/2 has standard deviation sqrt(2) E[L]: 5 standard errors
    np.testing.assert_array_less(np.abs(simulated - exact), 5 * math.sqrt(2 / runs) * exact)


def test_noise_floor_is_the_fixed_point_and_decay_goes_below_it():
    lr, h, sigma = 0.2, 1.5, 0.7
    constant = rm.expected_quadratic_loss(np.full(4000, lr), curvature=h, noise=sigma, start=3.0)
    floor = rm.noise_floor(lr, curvature=h, noise=sigma)
    assert constant[-1] == pytest.approx(floor, rel=1e-9)
    assert floor == pytest.approx(lr * sigma**2 / (2 * (2 - lr * h)))
    # η_t = η0 / (1 + γt), i.e. c/t with c h = (η0/γ) h > 1/2: E[L] ≈ h c² σ² / (2 (2 c h - 1) t)
    gamma = 0.02
    decay = S.rates(S.schedule("inv", gamma=gamma, power=1.0), lr, 4000)
    loss = rm.expected_quadratic_loss(decay, curvature=h, noise=sigma, start=3.0)
    c = lr / gamma
    assert loss[-1] < floor / 10
    assert loss[-1] == pytest.approx(h * c**2 * sigma**2 / (2 * (2 * c * h - 1) * 4000), rel=0.05)


# --------------------------------------------------------------------------- summaries and the widget

def test_seed_summary():
    values = np.array([[0.97, 0.96, 0.98], [0.95, 0.99, 0.96]])
    summary = S.summarize_seeds(values, ["a", "b"])
    assert summary.value("a") == pytest.approx(0.97)
    assert summary.value("a", "std") == pytest.approx(0.01)          # sample sd of 0.96, 0.97, 0.98
    assert summary.value("b", "spread") == pytest.approx(0.04)
    assert summary.best == "a"
    assert list(summary.wins_per_seed) == [2, 1]


def test_seed_members_and_final_accuracy(toy_data):
    configurations = {"fixed": {"lr": 0.3}, "cosine": {"lr": 0.3, "schedule": S.schedule("cosine", T_max=16,
                                                                                           eta_min=0.0)}}
    members = S.seed_members(configurations, [4, 7])
    assert [(m.label, m.init_seed, m.data_seed) for m in members] == [
        ("fixed", 4, 4), ("fixed", 7, 7), ("cosine", 4, 4), ("cosine", 7, 7)]
    run = train_grid(members, toy_data, batch_size=16, epochs=1, progress=False)
    summary = S.final_test_accuracy(run, toy_data.x_val, toy_data.y_val)
    expected = [evaluate(run.model(k), toy_data.x_val, toy_data.y_val)[1] for k in range(4)]   # one module at a time
    np.testing.assert_allclose(summary.values, np.reshape(expected, (2, 2)), atol=1e-6)
    assert summary.labels == ("fixed", "cosine")
    grouped = S.rows_by_label(run.history, run.history.val_acc)
    np.testing.assert_array_equal(grouped["cosine"], run.history.val_acc[2:])


@pytest.fixture()
def toy_data():
    g = torch.Generator().manual_seed(1)
    return Splits(torch.rand(256, 784, generator=g), torch.randint(0, 10, (256,), generator=g),
                  torch.rand(64, 784, generator=g), torch.randint(0, 10, (64,), generator=g))


def test_explorer_shows_messages_and_trains(toy_data, monkeypatch):
    monkeypatch.setenv("LR_BOOK_PROGRESS", "0")
    explorer = S.ScheduleExplorer(toy_data, epochs=1, batch_size=16, name="step", lr=0.5)
    assert explorer.steps == 16 and "step" in explorer.message.value
    assert [c.description for c in explorer.fields.children] == ["step_size", "gamma"]
    explorer.fields.children[1].value = "1.5"                        # gamma > 1: a message, not a traceback
    assert "gamma" in explorer.message.value and "got 1.5" in explorer.message.value
    explorer.fields.children[1].value = "abc"
    assert "not a number" in explorer.message.value
    assert explorer.train() is False and explorer.runs == []
    explorer.policy.value = "cosine"                                 # new fields, valid defaults
    assert [c.description for c in explorer.fields.children] == ["T_max", "eta_min"]
    assert explorer.train() is True and len(explorer.runs) == 1
    history = explorer.runs[0][1]
    np.testing.assert_allclose(history.step_lr[0], S.rates(S.schedule("cosine", T_max=16, eta_min=0.0), 0.5, 16),
                               rtol=1e-6)
    explorer.policy.value = "one_cycle"
    explorer.fields.children[0].value = "10"                         # shorter than the run
    assert explorer.train() is False and "total steps" in explorer.message.value
    explorer.clear()
    assert explorer.runs == []


def test_a_diverging_run_is_recorded(toy_data):
    steep = Splits(toy_data.x_train * 100, toy_data.y_train, toy_data.x_val * 100, toy_data.y_val)
    history = S.quick_training("fixed", {}, 3.0, steep, epochs=2, batch_size=16)
    assert history.diverged[0] and np.isnan(history.train_loss[0, -1])
    calm = S.quick_training("fixed", {}, 0.1, toy_data, epochs=1, batch_size=16)
    assert not calm.diverged[0] and calm.step_loss.shape == (1, 16)


def test_seed_band_draws_the_range_and_the_chosen_line():
    import matplotlib.pyplot as plt

    curves = np.array([[1.0, 2.0, 3.0], [3.0, 0.0, 5.0]])
    fig, ax = plt.subplots()
    S.seed_band(ax, np.arange(3), curves, label="mean", color="k")
    S.seed_band(ax, np.arange(3), curves, label="seed 1", line=1)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 1.0, 4.0])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [3.0, 0.0, 5.0])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 0.0 and band.max() == 5.0
    with pytest.raises(ValueError, match="line must be"):
        S.seed_band(ax, np.arange(3), curves, label="x", line=2)
    with pytest.raises(ValueError, match="shape"):
        S.seed_band(ax, np.arange(4), curves, label="x")
    plt.close(fig)


def test_figures_draw_from_the_schedulers():
    fig = S.policies_figure({"a": {"step": {"step_size": 5, "gamma": 0.5}, "fixed": {}}}, 0.2, 20)
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), S.rates(S.schedule("step", step_size=5, gamma=0.5), 0.2, 20))
    fig2 = S.partial_sums_figure({"c": np.full(10, 0.1)})
    np.testing.assert_allclose(fig2.axes[0].lines[0].get_ydata(), 0.1 * np.arange(1, 11))
