"""Section 3's experiment sizes under the quick and the full budget (:mod:`lib.core.budget`).

The notebook reads them once, ``S = settings.current()``, and glues the ones
its prose quotes.
"""
from __future__ import annotations

from dataclasses import dataclass

from lib.core import budget


@dataclass(frozen=True)
class Settings:
    """Every size of section 3's experiments; one instance per budget."""

    sum_horizon: int            # updates over which the partial sums of the rates are drawn
    quad_steps: int             # updates of SGD on the noisy quadratic
    quad_runs: int              # independent runs averaged on the noisy quadratic (runs)
    n_train: int | None         # MNIST training examples (the first ones); None: all 55,000
    n_val: int | None           # validation examples; None: all 5,000
    n_test: int | None          # test examples; None: all 10,000
    epochs: int                 # epochs of the MNIST runs (Figure 12-9 and the schedule comparison)
    seeds: tuple[int, ...]      # seeds of every MNIST configuration (init_seed = data_seed = seed)
    batch_size: int             # examples per update of the MNIST runs
    eval_every: float           # epochs between evaluations of the MNIST runs
    train_eval_size: int        # training examples (the first ones) the training loss is measured on
    explorer_train: int         # training examples of the explorer's runs
    explorer_val: int           # validation examples of the explorer's data
    explorer_epochs: int        # epochs of one explorer run


QUICK = Settings(sum_horizon=10_000, quad_steps=10_000, quad_runs=300, n_train=5000, n_val=1000, n_test=2000,
                 epochs=3, seeds=(0, 1), batch_size=128, eval_every=0.5, train_eval_size=5000,
                 explorer_train=5000, explorer_val=1000, explorer_epochs=3)
FULL = Settings(sum_horizon=30_000, quad_steps=10_000, quad_runs=2000, n_train=None, n_val=None, n_test=None,
                epochs=30, seeds=(0, 1, 2), batch_size=128, eval_every=1.0, train_eval_size=5000,
                explorer_train=5000, explorer_val=1000, explorer_epochs=3)


def current() -> Settings:
    """The settings of the budget in force (``$LR_BOOK_BUDGET``)."""
    return budget.pick(quick=QUICK, full=FULL)
