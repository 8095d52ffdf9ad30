"""The sizes of section 4's experiments under the quick and the full budget, in one place.

The notebook reads them once (``S = settings.current()``) and glues the fields
the prose quotes.  ``FULL`` is the book as readers see it; ``QUICK`` shrinks it
to seconds for tests and CI (:mod:`lib.core.budget`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lib.core import budget


@dataclass(frozen=True)
class Settings:
    """One sweep of rates x seeds at every batch size, with a noise-scale tracker riding along one run."""

    # the data
    n_train: int | None                 # training examples (None: all 55,000)
    n_val: int | None                   # validation examples (None: all 5,000)
    n_test: int | None                  # test examples, used only to score the chosen rates (None: all 10,000)
    # the sweep: one grid of rates x seeds per batch size
    batch_sizes: tuple[int, ...]        # examples per update, one grid each
    rates: tuple[float, ...]            # learning rates (per update) of every grid, increasing
    seeds: tuple[int, ...]              # seeds; each sets the initial weights and the data order
    epochs: int                         # epochs every grid trains
    # the textbook's Figures 12-12 and 12-13 with its own length: its rates at batch sizes 32 and 16
    textbook_epochs: int                # epochs of those two grids (the textbook trains 30)
    textbook_n_train: int | None        # training examples they use (the first ones; None: all of n_train)
    textbook_eval_every: float          # epochs between their evaluations
    # warm-up copies (Goyal et al.)
    warmup_from: int                    # examples per update: batch sizes from this one up also train warm-up
    warmup_epochs: float                # epochs over which the rate rises to its value
    warmup_start_factor: float          # first warm-up rate / rate
    warmup_rate_floor: float            # learning rate (per update): rates from this one up get a warm-up copy
    # the noise-scale tracker (McCandlish et al.), riding along one run of the sweep
    tracked_batch: int                  # examples per update of the tracked run
    tracked_rate: float                 # its learning rate (per update); its seed is the first of seeds
    noise_b_small: int                  # examples: the small batch of the two-batch estimator
    noise_b_big: int                    # examples: its big batch
    noise_every: int                    # updates between two two-batch measurements
    noise_decay: float                  # factor of the moving average of the two-batch estimates
    checkpoints: int                    # checkpoints where both estimators measure, even in log(updates)
    first_checkpoint: int               # updates done at the first checkpoint
    exact_examples: int                 # examples (training images) of the per-example estimator's sample
    fixed_draws: int                    # two-batch draws averaged at each checkpoint

    @property
    def warmup_rates(self) -> tuple[float, ...]:
        """The rates that also train with warm-up: warm-up protects large rates, small ones need none."""
        return tuple(rate for rate in self.rates if rate >= self.warmup_rate_floor)


FULL = Settings(
    n_train=None, n_val=None, n_test=None,
    batch_sizes=(16, 32, 64, 128, 256, 512, 1024, 2048),
    rates=(0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0),
    seeds=(0, 1, 2),
    epochs=3,
    textbook_epochs=30, textbook_n_train=8_250, textbook_eval_every=1.0,
    warmup_from=512, warmup_epochs=1.0, warmup_start_factor=0.01, warmup_rate_floor=1.0,
    tracked_batch=128, tracked_rate=0.5,
    noise_b_small=32, noise_b_big=1024, noise_every=5, noise_decay=0.9,
    checkpoints=8, first_checkpoint=8, exact_examples=1024, fixed_draws=40,
)

QUICK = dataclasses.replace(
    FULL,
    n_train=2048, n_val=500, n_test=1000,
    batch_sizes=(16, 32, 64, 128, 256, 512),
    rates=(0.1, 0.3, 0.5, 0.7, 2.0),
    seeds=(0, 1),
    epochs=2,
    textbook_epochs=2, textbook_n_train=None, textbook_eval_every=0.5,
    warmup_from=256,
    exact_examples=256, fixed_draws=10,
)


def current() -> Settings:
    """The settings of the budget in force (``$LR_BOOK_BUDGET``)."""
    return budget.pick(quick=QUICK, full=FULL)
