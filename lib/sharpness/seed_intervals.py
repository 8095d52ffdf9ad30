"""A number measured once per seed, its Student-t interval, and the verdicts section 5 draws from it.

A claim such as "the best batch size doubles when the rate doubles" or "larger rates generalise
better" is tested on one number per seed: a ratio (best batch at the larger rate / at the smaller),
or a slope (accuracy against log rate).  The runs of one seed share their initial weights and data
order, so each seed's number is already a *paired* comparison.  Over S seeds the mean has the
Student-t interval

.. math:: \\bar x \\pm t_{S-1,\\,(1+c)/2}\\; s / \\sqrt S, \\qquad s^2 = \\tfrac{1}{S-1} \\sum (x_s - \\bar x)^2

(``ddof = 1``), and

* :meth:`SeedInterval.sign_verdict`: *holds* when the whole interval lies above 0 (the claimed
  sign), *does not hold* when it lies below, *not settled* when it contains 0;
* :meth:`SeedInterval.agreement_verdict`: for a log ratio against a predicted log ratio, *holds*
  when the interval lies inside the prediction +- a tolerance, *does not hold* when it lies wholly
  outside that band, *not settled* otherwise (an equivalence test read from the interval).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.core import checks
from lib.core.stats import t_half_width

#: The three verdicts, as words the prose can use.
HOLDS, NOT_SETTLED, FAILS = "holds", "not settled", "does not hold"


@dataclass(frozen=True)
class SeedInterval:
    """One value per seed and the t interval of their mean.

    Attributes:
        values (ndarray, (S,)): the per-seed values (finite).
        mean (float): their mean.
        sd (float): their sample standard deviation (``ddof=1``).
        low, high (float): the interval of the mean at ``confidence``.
        confidence (float): the interval's coverage, in (0, 1).
    """

    values: np.ndarray
    mean: float
    sd: float
    low: float
    high: float
    confidence: float

    @property
    def seeds(self) -> int:
        """S, the number of seeds."""
        return int(self.values.size)

    def sign_verdict(self) -> str:
        """:data:`HOLDS` if the interval lies above 0, :data:`FAILS` if below, else :data:`NOT_SETTLED`."""
        if self.low > 0:
            return HOLDS
        if self.high < 0:
            return FAILS
        return NOT_SETTLED

    def agreement_verdict(self, predicted: float, tolerance: float) -> str:
        """Does the mean agree with ``predicted`` within ``tolerance``?

        :data:`HOLDS` if ``[low, high]`` lies inside ``[predicted - tolerance, predicted + tolerance]``,
        :data:`FAILS` if it does not overlap that band, :data:`NOT_SETTLED` otherwise.

        Raises:
            TypeError: an argument is not a number.
            ValueError: ``predicted`` not finite, ``tolerance`` not > 0.
        """
        predicted = checks.number(predicted, "predicted")
        tolerance = checks.positive(tolerance, "tolerance")
        lower, upper = predicted - tolerance, predicted + tolerance
        if lower <= self.low and self.high <= upper:
            return HOLDS
        if self.high < lower or self.low > upper:
            return FAILS
        return NOT_SETTLED


def seed_interval(values, confidence: float = 0.95) -> SeedInterval:
    """The mean of one value per seed with its Student-t interval (``ddof=1``, S - 1 degrees of freedom).

    Args:
        values (array-like, (S,)): one finite number per seed, S >= 2.
        confidence (float): the interval's coverage, in (0, 1). Default 0.95.

    Returns:
        SeedInterval.

    Raises:
        TypeError: ``confidence`` is not a number.
        ValueError: ``values`` not 1-D, fewer than 2 seeds, a value that is not finite (a diverged
            run: report it separately), ``confidence`` outside (0, 1).
    """
    confidence = checks.number(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"values must hold one number per seed, at least 2, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("values must be finite (a diverged run has no value: report it separately)")
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    half = t_half_width(x, confidence)
    return SeedInterval(values=x, mean=mean, sd=sd, low=mean - half, high=mean + half, confidence=confidence)
