"""Statistics the sections share: moving averages, zero-lag smoothing, seed summaries, diverged runs.

* :func:`ema`: the bias-corrected exponential moving average (Adam's, fastai's
  ``lr_find``'s, McCandlish et al.'s smoothing of noise-scale estimates), and
  :func:`smoothing_lag`, how far behind it runs;
* :func:`smooth_centered`: zero-lag smoothing of a finished series;
* :class:`SeedSummary` / :func:`summarize_seeds`: several configurations over the
  same seeds, mean, sample standard deviation (``ddof=1``), range, winner;
  :func:`median_range`, the median and range of a value over seeds;
  :func:`paired_difference`, the per-seed difference of two configurations that
  share their seeds;
* :func:`mask_diverged` and :func:`inf_for_nan`: how a diverged run enters a
  comparison (NaN, or +inf so that it never wins a minimum);
  :func:`by_seed`, a grid's rate-major rows as a (seeds, configurations) table.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.signal
import scipy.stats

from . import checks


def _series(values, name: str = "values") -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def _beta(beta) -> float:
    if not checks.is_real(beta):
        raise TypeError(f"beta must be a number, got {type(beta).__name__}")
    beta = float(beta)
    if not (math.isfinite(beta) and 0.0 <= beta < 1.0):
        raise ValueError(f"beta must be in [0, 1) (0 = no smoothing), got {beta:g}")
    return beta


def ema(values, beta: float) -> np.ndarray:
    """Exponential moving average with bias correction, as in Adam and fastai's ``lr_find``.

    .. math:: m_t = \\beta m_{t-1} + (1 - \\beta) x_t,\\quad m_0 = 0, \\qquad s_t = m_t / (1 - \\beta^t),

    t = 1, 2, ...  The correction divides out the weight the average gives its
    zero start, so a constant series stays constant.  ``beta = 0`` returns the
    values.  The recursion is a first-order IIR filter, run by
    :func:`scipy.signal.lfilter` (which adds the same two products as the loop
    above, so the results agree to the last bit).

    Args:
        values (array-like, (T,)): finite numbers.
        beta (float): the smoothing factor in [0, 1).

    Returns:
        ndarray (T,): the smoothed series.

    Raises:
        TypeError: ``beta`` is not a number.
        ValueError: ``beta`` outside [0, 1), or ``values`` not a finite 1-D series.
    """
    beta = _beta(beta)
    x = _series(values, "values")
    if len(x) == 0:
        return x
    average = scipy.signal.lfilter([1.0 - beta], [1.0, -beta], x)
    return average / (1.0 - beta ** np.arange(1, len(x) + 1))


def smoothing_lag(beta: float, count) -> np.ndarray:
    """How many steps the bias-corrected average of :func:`ema` runs behind.

    After ``count`` = t values the average weighs the value of k steps ago by
    (1 - beta) beta^k / (1 - beta^t), k = 0 .. t - 1; the mean age of those weights is

    .. math:: \\text{lag}_t = \\frac{\\beta}{1 - \\beta} - \\frac{t \\beta^t}{1 - \\beta^t},

    which grows to beta / (1 - beta) (49 steps for beta = 0.98).  On a series that
    changes linearly, the average equals the value lag_t steps earlier, exactly.

    Raises:
        ValueError: ``count`` < 1 or not finite; ``beta`` outside [0, 1).
    """
    beta = _beta(beta)
    t = np.asarray(count, dtype=np.float64)
    if np.any(t < 1) or not np.all(np.isfinite(t)):
        raise ValueError("count must be >= 1 (the number of values averaged)")
    if beta == 0.0:
        return np.zeros_like(t)
    return beta / (1.0 - beta) - t * beta ** t / (1.0 - beta ** t)


def smooth_centered(values, beta: float = 0.98) -> np.ndarray:
    """Zero-lag smoothing of a finished series.

    The first-order filter of :func:`ema` is run forward and then backward
    (:func:`scipy.signal.filtfilt`); the two passes delay by the same amount in
    opposite directions, so the result has no lag.  A positive series is smoothed
    in log space and exponentiated back, so that a blow-up (close to a straight
    line in log) stays where it is instead of being smeared over the points before
    it; a series that is not all positive is smoothed as it is.  The series is
    padded by an odd extension of its whole length, so each pass's start-up
    transient dies out in the padding (what is left is a few per cent at the very
    ends).  ``beta = 0`` returns a copy of the values.

    Raises:
        ValueError: ``beta`` outside [0, 1), or ``values`` not a finite 1-D series.
    """
    beta = _beta(beta)
    x = _series(values, "values")
    if beta == 0.0 or len(x) < 2:
        return x.copy()
    positive = bool(np.all(x > 0))
    signal = np.log(x) if positive else x
    smoothed = scipy.signal.filtfilt([1.0 - beta], [1.0, -beta], signal, padlen=len(x) - 1)
    return np.exp(smoothed) if positive else smoothed


# --------------------------------------------------------------------------- seeds

@dataclass(frozen=True)
class SeedSummary:
    """One number per configuration and seed, ``values[c, s]``, and what the seeds say about it."""

    labels: tuple[str, ...]
    values: np.ndarray          # (configurations, seeds)

    @property
    def mean(self) -> np.ndarray:
        """(configurations,): mean over seeds."""
        return self.values.mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        """(configurations,): sample standard deviation over seeds (``ddof=1``)."""
        return self.values.std(axis=1, ddof=1)

    @property
    def spread(self) -> np.ndarray:
        """(configurations,): largest minus smallest value over seeds."""
        return self.values.max(axis=1) - self.values.min(axis=1)

    @property
    def best(self) -> str:
        """The label with the highest mean (values are scores, e.g. accuracies)."""
        return self.labels[int(np.argmax(self.mean))]

    @property
    def wins_per_seed(self) -> np.ndarray:
        """(configurations,): how many seeds each configuration is the best on."""
        return np.bincount(np.argmax(self.values, axis=0), minlength=len(self.labels))

    def value(self, label: str, what: str = "mean") -> float:
        """``mean``, ``std`` or ``spread`` of configuration ``label``.

        Raises:
            ValueError: an unknown label or ``what``.
        """
        if label not in self.labels:
            raise ValueError(f"unknown label {label!r}; labels: {', '.join(self.labels)}")
        if what not in ("mean", "std", "spread"):
            raise ValueError(f"what must be 'mean', 'std' or 'spread', got {what!r}")
        return float(getattr(self, what)[self.labels.index(label)])


def t_half_width(values, confidence: float = 0.95) -> float:
    """Half the width of the Student-t interval of the mean of ``values``: the interval is mean +- this.

    .. math:: t_{n-1,\\,(1+c)/2}\\; s / \\sqrt n, \\qquad s^2 = \\tfrac{1}{n-1} \\sum (x_i - \\bar x)^2

    (the sample standard deviation, ``ddof = 1``, the chapter's one convention).  Every interval over
    seeds, parts or draws in the chapter takes its width from here.

    Args:
        values (array-like, (n,)): finite numbers, n >= 2 (one per seed, say).
        confidence (float): the coverage c, in (0, 1). Default 0.95.

    Returns:
        float, >= 0.

    Raises:
        TypeError: ``confidence`` is not a number.
        ValueError: fewer than 2 values, a value that is not finite, ``confidence`` outside (0, 1).
    """
    confidence = checks.number(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size < 2:
        raise ValueError(f"values must hold at least 2 numbers for an interval, got {x.size}")
    if not np.isfinite(x).all():
        raise ValueError("values must be finite for an interval")
    return float(scipy.stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


def summarize_seeds(values, labels: Sequence[str]) -> SeedSummary:
    """``values[c, s]`` for configuration ``c`` (named ``labels[c]``) and seed ``s``; needs >= 2 seeds.

    Raises:
        ValueError: a shape that does not match the labels, fewer than 2 seeds,
            values that are not finite (report diverged runs separately), repeated labels.
    """
    values = np.asarray(values, dtype=np.float64)
    labels = tuple(labels)
    if values.ndim != 2 or values.shape[0] != len(labels) or values.shape[0] < 1:
        raise ValueError(f"values must have shape ({len(labels)}, seeds), got {values.shape}")
    if values.shape[1] < 2:
        raise ValueError("a spread over seeds needs at least 2 seeds")
    if not np.isfinite(values).all():
        raise ValueError("values must be finite (a diverged run has no final accuracy: report it separately)")
    if len(set(labels)) != len(labels):
        raise ValueError("labels must be distinct")
    return SeedSummary(labels, values)


def median_range(values) -> tuple[float, float, float]:
    """(median, lowest, highest) of the finite entries of ``values`` (e.g. one per seed); NaNs if none."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan, math.nan
    return float(np.median(values)), float(values.min()), float(values.max())


def paired_difference(better, baseline, scale: float = 1.0) -> np.ndarray:
    """``scale * (better - baseline)``, seed by seed, for two configurations that share their seeds.

    Runs of one seed share their initial weights (and data order), so the
    paired difference removes the seed-to-seed variation both share.

    Raises:
        ValueError: shapes differ, fewer than 2 seeds, or values that are not finite.
    """
    better = np.asarray(better, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=np.float64)
    if better.shape != baseline.shape or better.ndim != 1:
        raise ValueError(f"better and baseline must be 1-D with one entry per seed, got shapes "
                         f"{better.shape} and {baseline.shape}")
    difference = scale * (better - baseline)
    if difference.size < 2 or not np.isfinite(difference).all():
        raise ValueError("a paired difference needs at least 2 seeds and finite values (no diverged runs)")
    return difference


# --------------------------------------------------------------------------- diverged runs

def inf_for_nan(values) -> np.ndarray:
    """``values`` with NaN (a diverged run) replaced by +inf, so that it never wins a minimum."""
    values = np.asarray(values)
    return np.where(np.isfinite(values), values, np.inf)


def mask_diverged(values, diverged, fill: float = math.nan) -> np.ndarray:
    """A float64 copy of ``values`` with the rows of diverged runs set to ``fill``.

    ``diverged`` is a bool array of the shape of ``values``' leading axes (one
    entry per run); a diverged run has no final accuracy or loss to report.
    """
    values = np.array(values, dtype=np.float64)
    diverged = np.asarray(diverged, dtype=bool)
    if values.shape[:diverged.ndim] != diverged.shape:
        raise ValueError(f"diverged must have the leading shape of values, got {diverged.shape} "
                         f"and {values.shape}")
    values[diverged] = fill
    return values


def by_seed(values, seeds: int) -> np.ndarray:
    """A grid's per-member values in rate-major order, (R * S, ...), as a (S, R, ...) table.

    :func:`lib.core.members.grid` with the rates as its first axis and the seeds
    as its last orders members rate by rate, the seeds of each rate together.
    """
    values = np.asarray(values)
    seeds = checks.integer(seeds, "seeds", minimum=1)
    if values.shape[0] % seeds:
        raise ValueError(f"{values.shape[0]} members do not split into {seeds} seeds")
    table = values.reshape(values.shape[0] // seeds, seeds, *values.shape[1:])
    return np.swapaxes(table, 0, 1)
