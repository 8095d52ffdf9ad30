"""Every experiment size of section 5, under the quick and the full budget, in one place.

The notebook reads :func:`current` once (``S = settings.current()``) and glues
the fields the prose quotes.  Fields without a quick/full difference keep their
defaults; units are in the comments.
"""
from __future__ import annotations

from dataclasses import dataclass

from lib.core import budget


@dataclass(frozen=True)
class Settings:
    # the data
    train_examples: int | None          # MNIST training examples (the first ones); None: all 55,000
    val_examples: int | None            # validation examples; None: all 5,000
    test_examples: int | None           # test examples; None: all 10,000

    # Keskar et al.'s small- vs large-batch comparison
    seeds: int                          # seeds (0, 1, ...), each its own initial weights and data order
    min_epochs: int                     # epochs, at least, for every batch size
    min_updates: int                    # parameter updates, at least, for every batch size
    sharpness_examples: int             # training examples (the first ones) the sharpness is measured on
    hessian_iterations: int             # power-iteration steps (Hessian-vector products) for lambda_max
    hutchinson_samples: int             # random-sign probes of Hutchinson's trace estimate
    accuracy_floor: float | None        # percent: lower end of the accuracy axes; None: matplotlib's choice
    line_points: int                    # points of the parametric line, alpha from -1 to 2
    valley_directions: int              # filter-normalised random directions through each solution

    # Smith & Le's equal-noise pairs
    noise_epochs: int                   # epochs of every pair
    noise_seeds: tuple[int, ...]        # seeds

    # the best batch size against eps * N
    best_train_sizes: tuple[int, ...]   # training examples N (the first ones), one study each
    best_epochs: int                    # epochs at every batch size
    best_batch_sizes: tuple[int, ...]   # examples per update, a geometric grid
    best_seeds: tuple[int, ...]         # seeds
    best_accuracy_floor: float | None   # percent: lower end of the accuracy axes; None: matplotlib's choice

    # Smith et al.'s batch growth
    growth_batch: int                   # examples per update before the first milestone
    growth_epochs: int                  # epochs; milestones at a third and two thirds
    growth_seeds: tuple[int, ...]       # seeds

    # the explorer
    bank_batch_sizes: tuple[int, ...]   # batch sizes trained ahead (besides the comparison's two)
    explorer_batch_sizes: tuple[int, ...]  # further batch sizes the explorer offers, trained on demand

    # the textbook's batch size 1 (online learning) and "larger rates generalise better"
    online_train_examples: int          # training examples (the first ones) of the rate sweep
    online_val_examples: int            # validation examples (the first ones) it is evaluated on
    online_epochs: int                  # epochs at every batch size
    online_seeds: tuple[int, ...]       # seeds, at least 2 (the verdicts need a spread)
    online_evaluations: int             # evaluations per run after the start (for equal training loss)

    # the same under both budgets
    small_batch: int = 256              # Keskar's small batch (examples per update)
    large_fraction: int = 10            # Keskar's large batch: 1 / large_fraction of the training set
    lr: float = 0.3                     # learning rate of the comparison (per update)
    momentum: float = 0.9               # heavy-ball momentum of every run of the section
    noise_batches: tuple[int, ...] = (64, 256, 1024)          # batch sizes of the equal-noise pairs
    noise_reference_batch: int = 256    # the batch size at which the base rates apply
    noise_base_rates: tuple[float, ...] = (0.0125, 0.05, 0.2, 0.8)  # per update, at the reference batch
    best_rates: tuple[float, ...] = (0.25, 0.5)               # per update
    best_tolerance: float = 0.5         # log2: a growth factor agrees within a factor of 2^0.5 of the prediction
    growth_lr: float = 0.1              # per update, at the start
    growth_factor: float = 5            # the noise scale falls by this at each milestone
    online_batch_sizes: tuple[int, ...] = (1, 4, 16)         # examples per update; 1 is online learning
    online_rates: tuple[float, ...] = tuple(2.0 ** k for k in range(-9, -1))   # 2^-9 .. 2^-2, per update
    online_tolerance: float = 1.0       # the linear rule "holds" within this many factors of 2
    online_rates_compared: int = 3      # rates compared at equal training loss, at least

    @property
    def growth_milestones(self) -> tuple[int, int]:
        """Epoch indices of the two milestones: a third and two thirds of the way."""
        return self.growth_epochs // 3, 2 * self.growth_epochs // 3


QUICK = Settings(
    train_examples=5500, val_examples=1000, test_examples=2000,
    seeds=2, min_epochs=2, min_updates=60, sharpness_examples=500, hessian_iterations=5,
    hutchinson_samples=10, accuracy_floor=None, line_points=13, valley_directions=2,
    noise_epochs=1, noise_seeds=(0,),
    best_train_sizes=(1000, 2000), best_epochs=2, best_batch_sizes=(16, 64, 256), best_seeds=(0, 1),
    best_accuracy_floor=None,
    growth_batch=32, growth_epochs=3, growth_seeds=(0, 1),
    bank_batch_sizes=(), explorer_batch_sizes=(64,),
    online_train_examples=300, online_val_examples=300, online_epochs=1, online_seeds=(0, 1),
    online_evaluations=4,
)

FULL = Settings(
    train_examples=None, val_examples=None, test_examples=None,
    seeds=4, min_epochs=20, min_updates=1200, sharpness_examples=5000, hessian_iterations=20,
    hutchinson_samples=50, accuracy_floor=90, line_points=31, valley_directions=5,
    noise_epochs=5, noise_seeds=(0, 1),
    best_train_sizes=(2750, 11000), best_epochs=10, best_batch_sizes=(32, 64, 128, 256, 512, 1024),
    best_seeds=(0, 1, 2), best_accuracy_floor=85,
    growth_batch=256, growth_epochs=15, growth_seeds=(0, 1, 2),
    bank_batch_sizes=(1024,), explorer_batch_sizes=(),
    online_train_examples=1000, online_val_examples=1000, online_epochs=2, online_seeds=(0, 1, 2, 3),
    online_evaluations=6,
)


def current() -> Settings:
    """The settings of the budget in force (``$LR_BOOK_BUDGET``: quick or full)."""
    return budget.pick(quick=QUICK, full=FULL)
