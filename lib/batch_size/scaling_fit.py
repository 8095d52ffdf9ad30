"""The best rate against the batch size, read so that its slope can be trusted (issue 14).

A grid of rates a factor of about 1.5 apart cannot tell a slope of 1/2 from one step per doubling
of the batch: counting grid steps reads "square root" by construction.  So

1. each seed's best rate at each batch size is *interpolated*: a parabola in :math:`\\log\\eta`
   through the grid minimum of the final validation loss and its two neighbours, whose vertex
   lies between them (:func:`interpolated_minimum`);
2. the slope of :math:`\\log\\eta^*` against :math:`\\log B` is fitted by least squares *per seed*,
   and reported as the mean over seeds with a Student-t interval (``ddof=1``)
   (:func:`fit_scaling`);
3. the verdict names the rules (linear: slope 1, square root: 1/2, flat: 0) that the interval
   contains; one rule only is a verdict, none or several are said as such.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from lib.core.stats import t_half_width

#: The rules the chapter tests, by slope of log rate against log batch size.
RULES = {"linear": 1.0, "square-root": 0.5, "flat": 0.0}


def interpolated_minimum(rates, losses) -> float:
    """The rate at the vertex of a parabola in ``log(rate)`` through the lowest finite loss and its
    two neighbours.

    Args:
        rates (array (R,)): increasing positive learning rates (a grid; spacing may vary).
        losses (array (R,)): the final loss at each rate; ``inf`` or NaN where the run diverged.

    Returns:
        float: the interpolated best rate.  At the grid's edge, or where the three points are not
        convex (a flat or noisy bottom), the grid minimum itself; the vertex is kept between the
        two neighbours.

    Raises:
        ValueError: shapes differ, fewer than 1 rate, rates not positive and increasing, or no
        finite loss.
    """
    rates = np.asarray(rates, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if rates.ndim != 1 or rates.shape != losses.shape or rates.size < 1:
        raise ValueError(f"rates and losses must be 1-D of the same length >= 1, got {rates.shape} and {losses.shape}")
    if not (rates > 0).all() or not (np.diff(rates) > 0).all():
        raise ValueError("rates must be positive and increasing")
    finite = np.isfinite(losses)
    if not finite.any():
        raise ValueError("losses must hold at least one finite value (every run diverged)")
    i = int(np.argmin(np.where(finite, losses, np.inf)))
    if i == 0 or i == rates.size - 1 or not (finite[i - 1] and finite[i + 1]):
        return float(rates[i])
    x = np.log(rates[i - 1:i + 2])
    y = losses[i - 1:i + 2]
    a, b, _ = np.polyfit(x, y, 2)
    if a <= 0:
        return float(rates[i])
    vertex = np.clip(-b / (2 * a), x[0], x[2])
    return float(np.exp(vertex))


@dataclass(frozen=True)
class ScalingFit:
    """The slope of ``log(best rate)`` against ``log(batch size)``, over seeds.

    Attributes:
        batch_sizes (ndarray (B,)): the batch sizes fitted.
        best_rates (ndarray (B, S)): each seed's interpolated best rate.
        seed_slopes (ndarray (S,)): the least-squares slope of each seed.
        slope (float): their mean.
        low, high (float): the 95 % Student-t interval of the mean (``ddof=1``, S - 1 degrees of
            freedom); equal to ``slope`` when every seed has the same slope.
        rules (tuple[str, ...]): the :data:`RULES` whose slope lies inside ``[low, high]``.
    """

    batch_sizes: np.ndarray
    best_rates: np.ndarray
    seed_slopes: np.ndarray
    slope: float
    low: float
    high: float
    rules: tuple[str, ...]

    @property
    def verdict(self) -> str:
        """The rule the interval singles out, or what it cannot decide, in words."""
        if len(self.rules) == 1:
            return f"the {self.rules[0]} rule"
        if not self.rules:
            return "none of the three rules"
        named = [f"the {rule}" for rule in self.rules]
        return "inconclusive between " + ", ".join(named[:-1]) + " and " + named[-1] + " rules"


def fit_scaling(batch_sizes: Sequence[int], best_rates, confidence: float = 0.95) -> ScalingFit:
    """Fit ``log(best rate) = a + slope * log(B)`` for each seed and summarise the slopes.

    Args:
        batch_sizes (sequence of B ints): increasing batch sizes, at least 2.
        best_rates (array (B, S)): each seed's best rate at each batch size (positive), S >= 2.
        confidence (float): the interval's coverage, in (0, 1). Default 0.95.

    Returns:
        ScalingFit.

    Raises:
        ValueError: fewer than 2 batch sizes or 2 seeds, shapes that do not match, rates that are
        not positive and finite, or ``confidence`` outside (0, 1).
    """
    b = np.asarray(batch_sizes, dtype=np.float64)
    rates = np.asarray(best_rates, dtype=np.float64)
    if b.ndim != 1 or b.size < 2 or not (b > 0).all() or not (np.diff(b) > 0).all():
        raise ValueError(f"batch_sizes must hold at least 2 increasing positive sizes, got {batch_sizes!r}")
    if rates.ndim != 2 or rates.shape[0] != b.size or rates.shape[1] < 2:
        raise ValueError(f"best_rates must have shape (batch sizes, seeds >= 2) = ({b.size}, S), got {rates.shape}")
    if not np.isfinite(rates).all() or not (rates > 0).all():
        raise ValueError("best_rates must be positive and finite")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    x = np.log(b)
    slopes = np.array([np.polyfit(x, np.log(rates[:, s]), 1)[0] for s in range(rates.shape[1])])
    mean = float(slopes.mean())
    half = t_half_width(slopes, confidence)
    low, high = mean - half, mean + half
    rules = tuple(name for name, value in RULES.items() if low - 1e-12 <= value <= high + 1e-12)
    return ScalingFit(batch_sizes=b.astype(int), best_rates=rates, seed_slopes=slopes, slope=mean, low=low,
                      high=high, rules=rules)


def seed_best_rates(sweep, batch_sizes: Sequence[int] | None = None) -> np.ndarray:
    """Each seed's interpolated best rate at each batch size of a :class:`lib.batch_size.batch_sweep.Sweep`.

    At each batch size every variant (constant, warm-up) gives one curve of final validation
    loss against the rate per seed; the seed's best rate is :func:`interpolated_minimum` of the
    variant whose lowest loss is lower.

    Returns:
        ndarray (B, S): rates, for ``batch_sizes`` (default: all of the sweep's) and its seeds.
    """
    sizes = list(sweep.batch_sizes if batch_sizes is None else batch_sizes)
    out = np.empty((len(sizes), len(sweep.seeds)))
    for i, size in enumerate(sizes):
        grid = sweep[size]
        for s in range(len(sweep.seeds)):
            candidates = []
            for variant in grid.variants:
                comparison = grid.compare(variants=(variant,))
                losses = comparison.loss[:, s]
                if np.isfinite(losses).any():
                    candidates.append((np.nanmin(np.where(np.isfinite(losses), losses, np.nan)),
                                       interpolated_minimum(comparison.rates, losses)))
            out[i, s] = min(candidates)[1]
    return out
