"""The sizes of the experiments of section 4's sub-page on the noise scale, under the quick and the full budget.

The notebook reads them once (``S = settings_further.current()``).  ``FULL`` is the page as
readers see it; ``QUICK`` shrinks it to seconds for tests and CI (:mod:`lib.core.budget`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lib.core import budget


@dataclass(frozen=True)
class Settings:
    """One checkpoint measured step by step, task variants and training-set sizes measured after training."""

    # the checkpoint: a short run of plain SGD on all 55,000 training images
    checkpoint_rate: float              # learning rate (per update) of the short run
    checkpoint_batch: int               # its examples per update
    checkpoint_updates: int             # its updates: the checkpoint's weights
    checkpoint_seed: int                # its seed (initial weights and data order)
    # one step from the checkpoint, McCandlish et al.'s Delta L_opt(B)
    measure_examples: int               # training images the loss is measured on and batches are drawn from
    step_batch_sizes: tuple[int, ...]   # examples per step, increasing
    step_rate_low: float                # smallest step size of the grid (per update)
    step_rate_high: float               # largest step size
    step_rate_count: int                # step sizes, evenly spaced in log(rate)
    draws: int                          # batches drawn per batch size
    resamples: int                      # bootstrap resamples of the draws
    b_simple_parts: int                 # disjoint parts of the sample for B_simple's t interval
    # B_simple after training, on task variants and training-set sizes
    variant_rate: float                 # learning rate (per update) of every run
    variant_batch: int                  # examples per update
    variant_updates: int                # updates of the task variants (matched progress)
    variant_seeds: tuple[int, ...]      # one run per seed and variant
    easy_classes: tuple[int, ...]       # the digits of the easier task
    noisy_fraction: float               # fraction of training labels redrawn at random in the harder task
    train_sizes: tuple[int, ...]        # training examples N of the size comparison, increasing
    size_target_loss: float             # training loss (nats) each size is trained down to
    size_max_updates: int               # the most updates a run may take to reach it
    check_every: int                    # updates between two checks of the training loss
    monitor_examples: int               # training images the loss is checked on
    exact_examples: int                 # training images of the per-example estimate of B_simple

    @property
    def step_rates(self) -> np.ndarray:
        """The step sizes of the grid (per update), increasing, evenly spaced in log(rate)."""
        return np.geomspace(self.step_rate_low, self.step_rate_high, self.step_rate_count)


FULL = Settings(
    checkpoint_rate=0.5, checkpoint_batch=128, checkpoint_updates=100, checkpoint_seed=0,
    measure_examples=4096, step_batch_sizes=(16, 32, 64, 128, 256, 512, 1024),
    step_rate_low=0.005, step_rate_high=2.0, step_rate_count=24, draws=16, resamples=200, b_simple_parts=8,
    variant_rate=0.5, variant_batch=128, variant_updates=300, variant_seeds=(0, 1, 2),
    easy_classes=(0, 1), noisy_fraction=0.3,
    train_sizes=(5000, 20000, 55000), size_target_loss=0.5, size_max_updates=1500, check_every=5,
    monitor_examples=2048, exact_examples=1024,
)

QUICK = dataclasses.replace(
    FULL,
    measure_examples=1024, step_batch_sizes=(16, 32, 64, 128, 256, 512), step_rate_count=16, draws=8,
    resamples=100, b_simple_parts=4,
    variant_updates=120,
    train_sizes=(2000, 5000, 20000), size_target_loss=0.9, size_max_updates=600,
    monitor_examples=1024, exact_examples=256,
)


def current() -> Settings:
    """The settings of the budget in force (``$LR_BOOK_BUDGET``)."""
    return budget.pick(quick=QUICK, full=FULL)
