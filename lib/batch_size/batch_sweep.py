"""Every batch size: one :class:`~lib.batch_size.rate_grid.RateGrid` each, and what they say together.

:func:`run_sweep` trains one grid of the same rates, seeds and epochs at every
batch size; :class:`Sweep` holds them and reads across them: the best rate at
each batch size (:meth:`Sweep.best_rates`), the largest stable rate, a target
loss every batch size reaches (:meth:`Sweep.reachable_target`) and the updates
and examples each needs to reach it (:meth:`Sweep.tradeoff`, McCandlish et
al.'s trade-off of :mod:`lib.batch_size.critical_batch`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from lib.core import checks

from .critical_batch import Tradeoff
from .rate_grid import RateGrid, grid_rates, train_rate_grid


def run_sweep(data, batch_sizes: Sequence[int], rates: Sequence[float], seeds: Sequence[int], *,
              epochs: int, warmup_from: int | None = None, warmup_epochs: float = 1.0,
              warmup_start_factor: float = 0.01, warmup_rates: Sequence[float] | None = None,
              eval_every: float = 0.25,
              on_step: Mapping[int, Callable] | None = None, progress: bool | None = None) -> "Sweep":
    """One :func:`lib.batch_size.rate_grid.train_rate_grid` per batch size, the same rates, seeds and epochs for all.

    Batch sizes of ``warmup_from`` and above also train a warmed-up copy of the
    members whose rate is in ``warmup_rates`` (default: all).

    Args:
        data (Splits): training data with a validation split.
        batch_sizes (list of ints): at least 2 distinct batch sizes (examples per update).
        rates, seeds, epochs, warmup_start_factor, warmup_rates, eval_every, progress:
            as :func:`lib.batch_size.rate_grid.train_rate_grid`.
        warmup_from (int, optional): the smallest batch size that trains warm-up copies;
            ``None``: none does.
        warmup_epochs (float): epochs of warm-up where there is warm-up. Default 1.
        on_step (dict, optional): batch size -> ``on_step`` callback for its grid (e.g. a
            :class:`lib.batch_size.noise_tracker.NoiseScaleTracker` riding along).

    Returns:
        Sweep.

    Raises:
        TypeError, ValueError: as :func:`lib.batch_size.rate_grid.train_rate_grid`;
            fewer than 2 or repeated batch sizes; ``on_step`` for a batch size not in the sweep.
    """
    data = checks.splits(data, validation=True)
    n_train = data.x_train.shape[0]
    sizes = checks.integers(batch_sizes, "batch_sizes", minimum=1, minimum_count=2, distinct=True)
    for b in sizes:
        checks.batch_size(b, n_train, "every entry of batch_sizes")
    grid_rates(rates, warmup_rates)
    checks.seeds(seeds)
    if warmup_from is not None:
        checks.int_at_least(warmup_from, "warmup_from")
    on_step = dict(on_step or {})
    unknown = sorted(set(on_step) - set(sizes))
    if unknown:
        raise ValueError(f"on_step names batch sizes {unknown} that are not in the sweep {sorted(sizes)}")
    grids = {}
    for b in sorted(sizes):
        warm = warmup_epochs if warmup_from is not None and b >= warmup_from else 0.0
        grids[b] = train_rate_grid(data, b, rates, seeds, epochs=epochs, warmup_epochs=warm,
                                   warmup_start_factor=warmup_start_factor, warmup_rates=warmup_rates,
                                   eval_every=eval_every, on_step=on_step.get(b), progress=progress)
    return Sweep(grids, epochs=epochs, n_train=n_train)


@dataclass(frozen=True)
class Sweep:
    """The grids of every batch size, trained for the same number of epochs.

    Attributes:
        grids (dict int -> RateGrid): the grid of each batch size.
        epochs (int): epochs every grid trained.
        n_train (int): training examples.
    """

    grids: dict[int, RateGrid]
    epochs: int
    n_train: int

    @property
    def batch_sizes(self) -> list[int]:
        """The batch sizes, increasing."""
        return sorted(self.grids)

    @property
    def rates(self) -> np.ndarray:
        """(R,): the rates of every grid."""
        return self.grids[self.batch_sizes[0]].rates

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds of every grid."""
        return self.grids[self.batch_sizes[0]].seeds

    @property
    def runs(self) -> int:
        """Members trained over all grids."""
        return sum(len(grid.history.members) for grid in self.grids.values())

    @property
    def seconds(self) -> float:
        """Wall-clock seconds of all grids' training."""
        return sum(self.grids[b].history.seconds for b in self.batch_sizes)

    def __getitem__(self, batch_size: int) -> RateGrid:
        if batch_size not in self.grids:
            raise ValueError(f"batch size {batch_size!r} was not trained; the sweep has {self.batch_sizes}")
        return self.grids[batch_size]

    def _comparisons(self, variants: Sequence[str] | None):
        """Each batch size's comparison over the given variants (default: all that were trained)."""
        for b in self.batch_sizes:
            grid = self.grids[b]
            chosen = grid.variants if variants is None else [v for v in variants if v in grid.variants]
            yield grid.compare(variants=chosen)

    def best_rates(self, variants: Sequence[str] | None = None) -> np.ndarray:
        """(B,): the winning rate at every batch size, over the given variants (default: all that were trained)."""
        return np.array([comparison.best_rate for comparison in self._comparisons(variants)])

    def best_configs(self) -> list[tuple[float, str]]:
        """The winning (rate, variant) at every batch size."""
        return [comparison.best for comparison in self._comparisons(None)]

    def seed_best_rates(self, variants: Sequence[str] | None = None) -> np.ndarray:
        """(B, seeds): each seed's own winning rate."""
        return np.array([comparison.seed_best_rates for comparison in self._comparisons(variants)])

    def largest_stable_rates(self, variant: str = "constant") -> np.ndarray:
        """(B,): :meth:`RateGrid.largest_stable_rate` of each batch size (NaN where ``variant`` was not trained)."""
        return np.array([self.grids[b].largest_stable_rate(variant) if variant in self.grids[b].variants
                         else np.nan for b in self.batch_sizes])

    def reachable_target(self, margin: float = 1.05) -> float:
        """A validation loss every batch size reaches: ``margin`` x the worst batch size's best, rounded up to 0.01.

        Raises:
            ValueError: ``margin`` < 1; a batch size without a run that finished.
        """
        margin = checks.number(margin, "margin", low=1.0)
        worst = max(self.grids[b].best_reached() for b in self.batch_sizes)
        if not math.isfinite(worst):
            raise ValueError("some batch size has no configuration that finished without diverging")
        return math.ceil(100 * worst * margin) / 100

    def tradeoff(self, target: float) -> Tradeoff:
        """For every batch size, the configuration that reaches ``target`` in the fewest updates (mean over seeds).

        A configuration counts only if every seed reaches the target.

        Raises:
            ValueError: ``target`` not > 0; a batch size where no configuration reaches it.
        """
        target = checks.positive(target, "target")
        steps, rates, variants = [], [], []
        for b in self.batch_sizes:
            best = self.grids[b].fastest_to_target(target)
            if not math.isfinite(best[0]):
                raise ValueError(f"no configuration at batch size {b} reaches the target {target:g} in every seed; "
                                 f"choose a higher target (see reachable_target)")
            steps.append(best[0])
            rates.append(best[1])
            variants.append(best[2])
        return Tradeoff(target, np.array(self.batch_sizes, dtype=np.float64), np.array(steps), np.array(rates),
                        tuple(variants))
