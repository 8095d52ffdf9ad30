"""The section's explorer: pick a batch size and a learning rate, see that grid's curves against the rules.

:class:`ScalingExplorer` reads the cached :class:`~lib.batch_size.batch_sweep.Sweep`
only: nothing is trained.  Its one compute call is :func:`explorer_point` (the
nearest rate of the grid and its result over seeds, an :class:`ExplorerPoint`),
its figure :func:`lib.batch_size.figures.explorer_figure` and its sentence
:func:`describe_point`.  The rate slider offers exactly the rates trained at the
chosen batch size in the chosen variant (ticking *warm-up* switches it to the
warm-up rates, which may be fewer), so the slider, the star, the title and the
sentence all name the rate whose curves are drawn.  Warm-up at a batch size
trained without it shows a message instead of a traceback.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import ipywidgets as W
import numpy as np

from lib.core import checks
from lib.explorer import Explorer, choice_slider, sized

from .figures import explorer_figure
from .rate_grid import RateGrid
from .scaling_rules import scaled_rate
from .batch_sweep import Sweep


@dataclass(frozen=True)
class ExplorerPoint:
    """What the explorer shows for (batch size, rate, variant).

    Attributes:
        sweep (Sweep): the cached sweep.
        batch_size (int), lr (float), variant (str): the choice.
        grid (RateGrid): that batch size's grid.
        rate (float): the grid's rate nearest to ``lr`` (in log).
        rows (ndarray (seeds,)): its members' rows in the grid's history.
        loss, spread (float): mean and range over seeds of its final validation loss (inf if a seed diverged).
        diverged (int): seeds in which it diverged.
        best (tuple (rate, variant)): the winner at this batch size.
        best_rates (ndarray (B,)): the winning rate at every batch size.
    """

    sweep: Sweep
    batch_size: int
    lr: float
    variant: str
    grid: RateGrid
    rate: float
    rows: np.ndarray
    loss: float
    spread: float
    diverged: int
    best: tuple[float, str]
    best_rates: np.ndarray


def explorer_point(sweep: Sweep, batch_size: int, lr: float, variant: str = "constant") -> ExplorerPoint:
    """The nearest rate of ``batch_size``'s grid to ``lr`` and its result over seeds.

    Args:
        sweep (Sweep): the cached sweep.
        batch_size (int): one of the sweep's batch sizes.
        lr (float): a learning rate between the grid's smallest / 1.5 and largest x 1.5.
        variant (str): ``"constant"`` or ``"warmup"`` (only where warm-up was trained).

    Returns:
        ExplorerPoint.

    Raises:
        ValueError: a batch size not in the sweep, a rate outside the range, warm-up
            at a batch size trained without it.
    """
    grid = sweep[batch_size]
    low, high = sweep.rates[0] / 1.5, sweep.rates[-1] * 1.5
    if not checks.is_real(lr) or not math.isfinite(lr) or not low * (1 - 1e-9) <= lr <= high * (1 + 1e-9):
        raise ValueError(f"learning rate must be a number between {low:.3g} and "
                         f"{high:.3g} (the grid spans {sweep.rates[0]:g} to {sweep.rates[-1]:g}), "
                         f"got {lr!r}")
    if variant not in grid.variants:
        raise ValueError(f"batch size {batch_size} was trained without warm-up only; warm-up runs exist "
                         f"for batch sizes {[b for b in sweep.batch_sizes if 'warmup' in sweep[b].variants]}")
    own = grid.rates_of(variant)
    nearest = float(own[int(np.argmin(np.abs(np.log(own) - math.log(lr))))])
    rows = grid.index(variant)[grid.rate_index(nearest, variant)]
    comparison = grid.compare(rates=[nearest], variants=(variant,))
    return ExplorerPoint(sweep, batch_size, lr, variant, grid, nearest, rows, float(comparison.mean[0]),
                         float(comparison.spread[0]), int(grid.history.diverged[rows].sum()),
                         grid.compare().best, sweep.best_rates())


def describe_point(point: ExplorerPoint) -> str:
    """One sentence about a point: the drawn rate's result (naming the rate asked for when the grid's
    nearest differs), the warm-up rates when only some were trained, and the two rules' predictions."""
    sweep, batch_size, grid = point.sweep, point.batch_size, point.grid
    base_b, base_rate = sweep.batch_sizes[0], float(point.best_rates[0])
    best_rate, best_variant = point.best
    warmup = point.variant == "warmup"
    result = (f"diverged in {point.diverged} of {len(sweep.seeds)} seeds" if point.diverged
              else f"final validation loss {point.loss:.3f} (spread over seeds {point.spread:.3f})")
    asked = "" if math.isclose(point.lr, point.rate, rel_tol=1e-12) else f" (the grid's nearest to η = {point.lr:.3g})"
    own = grid.rates_of(point.variant)
    only = (f" Warm-up was trained at {'η = ' + ', '.join(f'{r:g}' for r in own)} only at this batch size."
            if warmup and len(own) < len(grid.rates) else "")
    return (f"B = {batch_size}{' with warm-up' if warmup else ''}, η = {point.rate:g}{asked}: {result}.{only} "
            f"Best at this batch size: η = {best_rate:g}{' with warm-up' if best_variant == 'warmup' else ''}. "
            f"From η = {base_rate:g} at B = {base_b}, the linear rule predicts "
            f"{scaled_rate(batch_size, base_b, base_rate, 1.0):.3g} and the square-root rule "
            f"{scaled_rate(batch_size, base_b, base_rate, 0.5):.3g}.")


class ScalingExplorer(Explorer):
    """Pick a batch size and a trained learning rate; see that grid's curves and where the point sits
    against the rules.

    The rate slider holds the rates trained at the chosen batch size in the chosen
    variant; ticking *warm-up* (or moving to a batch size whose grid has other
    rates) moves it to the nearest of those, so what it shows is what is drawn.

    Args:
        sweep (Sweep): the cached sweep.
        batch_size (int, optional): the first batch size shown. Default: the middle one.
        lr (float): the first learning rate shown: the grid's rate nearest to it. Default 0.5.

    Raises:
        TypeError: ``sweep`` is not a :class:`Sweep`.
        ValueError: ``batch_size`` not in the sweep; ``lr`` outside the range of :func:`explorer_point`.
    """

    def __init__(self, sweep: Sweep, batch_size: int | None = None, lr: float = 0.5):
        if not isinstance(sweep, Sweep):
            raise TypeError(f"sweep must be a lib.batch_size.batch_sweep.Sweep, got {type(sweep).__name__}")
        self.sweep = sweep
        self._batch_size = sweep.batch_sizes[len(sweep.batch_sizes) // 2] if batch_size is None else batch_size
        self._lr = explorer_point(sweep, self._batch_size, lr).rate     # checks both; the grid's nearest rate
        super().__init__()

    def controls(self) -> list[dict[str, W.Widget]]:
        self.batch, batch_shown = choice_slider(self.sweep.batch_sizes, self._batch_size, "batch size", 240, 60)
        self.lr, lr_shown = choice_slider(self._rate_options(self._batch_size, "constant"), self._lr, "η", 240, 60)
        self.warmup = sized(W.Checkbox(value=False, description="warm-up", indent=False), 110)
        # registered before the base's redraw: the rates on offer change first, then it computes once
        self.batch.observe(self._offer_rates, names="value")
        self.warmup.observe(self._offer_rates, names="value")
        return [{"batch_size": self.batch, "_batch": batch_shown, "lr": self.lr, "_lr": lr_shown,
                 "warmup": self.warmup}]

    def _rate_options(self, batch_size: int, variant: str) -> list[tuple[str, float]]:
        return [(f"{rate:g}", float(rate)) for rate in self.sweep[batch_size].rates_of(variant)]

    def _offer_rates(self, _change=None) -> None:
        """The rate slider's options: the rates trained at this batch size in this variant, the value the
        nearest (in log) to the current one.  Left as they are where the variant was not trained: the
        explorer then shows why."""
        variant = "warmup" if self.warmup.value else "constant"
        if variant not in self.sweep[self.batch.value].variants:
            return
        options = self._rate_options(self.batch.value, variant)
        if options == list(self.lr.options):
            return
        rates = np.array([rate for _, rate in options])
        nearest = float(rates[int(np.argmin(np.abs(np.log(rates) - math.log(self.lr.value))))])
        with self.hold():
            self.lr.options = options
            self.lr.value = nearest

    def compute(self, batch_size: int, lr: float, warmup: bool) -> ExplorerPoint:
        return explorer_point(self.sweep, batch_size, lr, "warmup" if warmup else "constant")

    def draw(self, point: ExplorerPoint):
        return explorer_figure(point)

    def describe(self, point: ExplorerPoint) -> str:
        return describe_point(point)
