"""The sizes of section 2's experiments, under the quick and the full budget.

The notebook reads them once, ``S = settings.current()``, and glues the ones the
prose quotes.  Rates are per update; the sine problem's rates are on the
textbook's loss scale (:data:`lib.lr_finder.problems.TEXTBOOK_MSE_SCALE`).
"""
from __future__ import annotations

from dataclasses import dataclass

from lib.core import budget


@dataclass(frozen=True)
class Settings:
    """Every experiment size of the section (see the module docstring)."""

    # MNIST
    mnist_train: int | None         # training examples used (None: all 55,000)
    mnist_val: int | None           # validation examples used (None: all 5,000)
    seeds: tuple[int, ...]          # initial-weight seeds of the sweeps and the textbook's rounds

    # Smith's sweep on MNIST
    sweep_start: float              # first rate
    sweep_end: float                # last rate
    sweep_steps: int                # updates (one mini-batch each)
    sweep_batch: int                # examples per update
    sweep_beta: float               # smoothing factor of the running average (dimensionless, in [0, 1))

    # the known quadratic
    quad_scale: float               # |x| of every input: lambda = 2 scale^2
    quad_steps: int                 # updates of each sweep
    quad_batch: int                 # examples per update of the mini-batch sweep

    # the textbook's design on the sine regression
    sine_n: int                     # training examples (and as many validation examples)
    sine_epochs_per_rate: int       # epochs each rate is held (one example per update)
    sine_horizon: int               # epochs of the parallel test
    sine_parallel_rates: int        # rates of the parallel test, log-spaced from 0.05 to 5

    # the textbook's design on MNIST
    mnist_updates_per_rate: int     # updates each rate is held
    zoom_batch: int                 # examples per update
    zoom_eval_size: int             # training examples the loss is measured on after each rate

    # the parallel test on MNIST
    parallel_rates: int             # rates, log-spaced from 1e-4 to 10
    parallel_seeds: tuple[int, ...]  # initial-weight seeds
    parallel_updates: int           # updates per copy
    parallel_tail: int              # last updates whose mini-batch losses are averaged
    parallel_batch: int             # examples per update

    # checking the suggestions on MNIST
    check_epochs: int               # epochs of training at each suggested rate
    check_seeds: tuple[int, ...]    # initial-weight seeds
    check_batch: int                # examples per update
    check_eval_every: float         # epochs between validation measurements

    @property
    def sweep(self) -> dict:
        """The MNIST sweep's keyword arguments for :func:`lib.lr_finder.sweep.lr_range_test`."""
        return dict(start=self.sweep_start, end=self.sweep_end, steps=self.sweep_steps,
                    batch_size=self.sweep_batch, beta=self.sweep_beta)

    @property
    def quad_sweep(self) -> dict:
        """The known quadratic's sweep settings (the batch size is the experiment's variable)."""
        return dict(start=self.sweep_start, end=self.sweep_end, steps=self.quad_steps, loss="mse",
                    beta=self.sweep_beta)


QUICK = Settings(
    mnist_train=6_000, mnist_val=1_000, seeds=(0, 1),
    sweep_start=1e-4, sweep_end=10.0, sweep_steps=120, sweep_batch=128, sweep_beta=0.98,
    quad_scale=3.0, quad_steps=2_000, quad_batch=64,
    sine_n=20, sine_epochs_per_rate=1, sine_horizon=5, sine_parallel_rates=9,
    mnist_updates_per_rate=2, zoom_batch=128, zoom_eval_size=2048,
    parallel_rates=11, parallel_seeds=(0, 1), parallel_updates=40, parallel_tail=10, parallel_batch=128,
    check_epochs=1, check_seeds=(0, 1), check_batch=128, check_eval_every=0.5,
)

FULL = Settings(
    mnist_train=None, mnist_val=None, seeds=(0, 1, 2, 3, 4),
    sweep_start=1e-4, sweep_end=10.0, sweep_steps=500, sweep_batch=128, sweep_beta=0.98,
    quad_scale=3.0, quad_steps=5_000, quad_batch=64,
    sine_n=100, sine_epochs_per_rate=10, sine_horizon=100, sine_parallel_rates=21,
    mnist_updates_per_rate=10, zoom_batch=128, zoom_eval_size=2048,
    parallel_rates=26, parallel_seeds=(0, 1, 2), parallel_updates=300, parallel_tail=50, parallel_batch=128,
    check_epochs=3, check_seeds=(0, 1, 2), check_batch=128, check_eval_every=0.5,
)


def current() -> Settings:
    """:data:`QUICK` or :data:`FULL`, as the budget says (``$LR_BOOK_BUDGET``)."""
    return budget.pick(quick=QUICK, full=FULL)
