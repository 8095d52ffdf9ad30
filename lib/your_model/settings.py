"""The sizes of the last page's experiments, under the quick and the full budget."""
from __future__ import annotations

from dataclasses import dataclass

from lib.core import budget


@dataclass(frozen=True)
class Settings:
    """Every experiment size of the page."""

    batch_size: int                 # examples per update of the reader's loader
    sweep_steps: int                # updates of each range test
    sweep_start: float              # first rate of the sweeps
    sweep_end: float                # last rate of the sweeps
    adam_start: float               # first rate of the AdamW sweep
    adam_end: float                 # last rate of the AdamW sweep
    parallel_rates: int             # fixed rates of the parallel test, log-spaced from 1e-3 to 3
    parallel_updates: int           # updates of each copy in the parallel test
    parallel_tail: int              # last updates whose losses are averaged
    train_updates: int              # updates of the final training at the suggested rate (and a tenth of it)
    noise_batches: int              # batches the noise scale is measured over
    hessian_batches: int            # batches the Hessian is taken over
    hessian_iterations: int         # power-iteration steps
    hessian_samples: int            # Hutchinson probes


QUICK = Settings(batch_size=32, sweep_steps=80, sweep_start=1e-4, sweep_end=10.0, adam_start=1e-5, adam_end=1.0,
                 parallel_rates=5, parallel_updates=60, parallel_tail=15, train_updates=300,
                 noise_batches=20, hessian_batches=2, hessian_iterations=15, hessian_samples=20)

FULL = Settings(batch_size=32, sweep_steps=300, sweep_start=1e-4, sweep_end=10.0, adam_start=1e-5, adam_end=1.0,
                parallel_rates=9, parallel_updates=200, parallel_tail=40, train_updates=1500,
                noise_batches=41, hessian_batches=8, hessian_iterations=30, hessian_samples=100)


def current() -> Settings:
    """:data:`QUICK` or :data:`FULL`, as the budget says (``$LR_BOOK_BUDGET``)."""
    return budget.pick(quick=QUICK, full=FULL)
