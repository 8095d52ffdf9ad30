"""Section 1's experiments, sized for the quick and the full budget.

The notebook reads :func:`current` once; the prose glues its fields.  Toy
problems cost milliseconds, so only three sizes differ between the budgets:
the points of the stability scan, the XOR runs and the horizon of the
Robbins-Monro sums.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from lib.core import budget


@dataclass(frozen=True)
class Settings:
    # 1.1 gradient descent on a parabola L(w) = lambda w^2 / 2
    curvature: float          # lambda (1 / parameter^2)
    parabola_window: float    # half-width of the plotted interval (parameter units)
    parabola_rates: dict      # name -> step size (per step), one per regime the prose names
    parabola_steps: int       # steps of gradient descent
    # 1.2 a ravine: gentle and steep curvature
    ravine_gentle: float      # curvature along x
    ravine_steep: float       # curvature along y
    ravine_rates: dict        # name -> step size
    ravine_start: tuple       # (x, y) where every run starts
    ravine_steps: int         # steps of gradient descent
    # 1.3 the stability scan: loss ratio after K steps over a log grid of rates
    scan_low: float           # smallest rate
    scan_high: float          # largest rate
    scan_points: int          # rates in the log grid
    scan_curvatures: tuple    # the curvatures scanned
    scan_steps: int           # K, steps per run
    scan_probe: float         # a rate above 1 the prose quotes
    # 1.4 a saddle
    saddle_lr: float          # step size
    saddle_steps: int         # steps of gradient descent
    saddle_y_exit: float      # |y| at which a run has left the saddle
    saddle_offsets: tuple     # y_0: distances from the ridge at the start
    saddle_x_start: float     # x_0 of every start
    # 1.5 a plateau: a 2-2-1 sigmoid network on XOR, full-batch gradient descent
    xor_seeds: int            # initialisations (seeds 0 .. xor_seeds - 1)
    xor_steps: int            # steps of gradient descent
    xor_lr: float             # step size
    xor_init_scale: float     # standard deviation of the initial weights
    xor_plateau_step: int     # the step at which the Hessian inside the plateau is read
    # 1.6 sparse features: one common and one rare input
    sparse_n: int             # examples
    sparse_rare_prob: float   # probability that the rare feature is 1
    sparse_steps: int         # mini-batch steps
    sparse_batch: int         # examples per step
    sgd_lr: float             # SGD's step size
    sgd_too_large: float      # a step size at which SGD blows up
    adagrad_lr: float         # AdaGrad's step size
    # 1.7 Robbins-Monro
    rm_horizon: int           # K, the number of terms summed
    rm_big_scale: float       # c of a 1/k sequence with a large first step


FULL = Settings(
    curvature=4.0, parabola_window=1.6,
    parabola_rates={"too small": 0.01, "good": 0.2, "oscillates": 0.45, "diverges": 0.55}, parabola_steps=25,
    ravine_gentle=1.0, ravine_steep=10.0,
    ravine_rates={"too small": 0.02, "good": 0.1, "oscillates": 0.19, "diverges": 0.21},
    ravine_start=(-1.8, 0.6), ravine_steps=40,
    scan_low=1e-2, scan_high=10.0, scan_points=91, scan_curvatures=(0.5, 2.0, 8.0), scan_steps=50, scan_probe=3.0,
    saddle_lr=0.1, saddle_steps=250, saddle_y_exit=0.5, saddle_offsets=(1e-1, 1e-3, 1e-6), saddle_x_start=1.5,
    xor_seeds=12, xor_steps=12_000, xor_lr=1.0, xor_init_scale=0.5, xor_plateau_step=300,
    sparse_n=2000, sparse_rare_prob=0.005, sparse_steps=400, sparse_batch=10,
    sgd_lr=1.0, sgd_too_large=2.5, adagrad_lr=0.5,
    rm_horizon=10**6, rm_big_scale=5.0,
)
QUICK = replace(FULL, scan_points=31, xor_seeds=4, xor_steps=6000, rm_horizon=10**5)


def current() -> Settings:
    """The settings of the budget in force (``$LR_BOOK_BUDGET``, :mod:`lib.core.budget`)."""
    return budget.pick(quick=QUICK, full=FULL)
