"""The suggestion rules: each reads one learning rate off a range test's loss curve.

All rules share one signature, ``rule(lrs, losses) -> rate``, and live in one
registry, :data:`RULES` (as fastai's ``lr_find`` suggestion functions do), so
that :func:`suggest` applies them side by side:

* **steepest** (:func:`steepest`): where the loss falls fastest per unit of
  log rate (Smith's reading, :cite:`smith2017cyclical`; fastai's ``steep``,
  torch-lr-finder's ``suggest_lr``);
* **minimum / 10** (:func:`minimum_over_ten`): a decade below the lowest point
  (fastai's ``minimum``);
* **valley** (:func:`valley`): halfway down the longest falling stretch
  (:func:`longest_falling_stretch`; fastai's default);
* **turn** (:func:`turn`): the lowest point itself, where the loss turns upward
  (the textbook's reading, :cite:`aiedu2020lr`).

A sweep's curve may be read after :func:`despike`, which replaces lone outliers
(one bad batch) by their neighbours' median so that no rule reads them as a fall.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from lib.core import checks


def check_curve(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    """``lrs`` and ``losses`` as float64 arrays of one length: a loss curve a rule can read.

    Raises:
        TypeError: ``lrs`` is not a list or 1-D array of numbers.
        ValueError: ``lrs`` empty or not finite and > 0; ``losses`` of another shape.
    """
    lrs = checks.rates(lrs, "lrs")
    losses = np.asarray(losses, dtype=np.float64)
    if lrs.shape != losses.shape:
        raise ValueError(f"lrs and losses must be 1-D arrays of one length, got shapes "
                         f"{lrs.shape} and {losses.shape}")
    return lrs, losses


def steepest(lrs, losses) -> float:
    """The rate where the loss falls fastest per unit of log learning rate.

    .. math:: \\eta^* = \\eta_{i^*},\\quad i^* = \\arg\\min_i \\frac{dL}{d\\log\\eta}(\\eta_i),

    the derivative by :func:`numpy.gradient` (central differences inside,
    one-sided at the ends).  Smith's reading of the range test
    (:cite:`smith2017cyclical`, section 3.3); fastai's ``steep`` and
    torch-lr-finder's ``suggest_lr`` rule (for an exponential sweep, whose
    log-rates are evenly spaced, the argmin is the same as torch-lr-finder's
    gradient over the index).

    Args:
        lrs (array-like, (N,)): rates, finite and > 0.
        losses (array-like, (N,)): the loss at each rate.

    Returns:
        float: the rate.

    Raises:
        ValueError: fewer than 2 points, or a bad curve (:func:`check_curve`).
    """
    lrs, losses = check_curve(lrs, losses)
    if len(lrs) < 2:
        raise ValueError("the steepest-descent rule needs at least 2 points")
    return float(lrs[int(np.argmin(np.gradient(losses, np.log(lrs))))])


def minimum_over_ten(lrs, losses) -> float:
    """The rate of the lowest loss divided by 10: fastai's ``minimum`` rule, a
    decade below the point where the loss stops falling, argmin_i L_i / 10.

    Raises:
        ValueError: a bad curve (:func:`check_curve`).
    """
    lrs, losses = check_curve(lrs, losses)
    return float(lrs[int(np.argmin(losses))] / 10.0)


def turn(lrs, losses) -> float:
    """The textbook's reading (:cite:`aiedu2020lr`): the rate at which the loss stops
    falling and turns upward, the lowest point of the curve, argmin_i L_i.

    Raises:
        ValueError: a bad curve (:func:`check_curve`).
    """
    lrs, losses = check_curve(lrs, losses)
    return float(lrs[int(np.argmin(losses))])


def longest_falling_stretch(losses) -> tuple[int, int]:
    """First and last index of the longest strictly decreasing subsequence of ``losses``.

    A subsequence, not a run of neighbours, so that one noisy uptick does not cut
    a long descent in two.  Dynamic programming: ``length[i]``, the longest
    decreasing subsequence ending at i, is ``1 + max(length[j] : j < i, L_j > L_i)``,
    taking the latest such j among equals.

    Args:
        losses (array-like, (N,)): the curve.

    Returns:
        tuple[int, int]: (first, last) index of the stretch.

    Raises:
        ValueError: ``losses`` is empty or not 1-D.
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1 or len(losses) == 0:
        raise ValueError("losses must be a non-empty 1-D array")
    length = np.ones(len(losses), dtype=np.int64)
    previous = np.full(len(losses), -1, dtype=np.int64)
    for i in range(1, len(losses)):
        candidates = np.where(losses[:i] > losses[i], length[:i], 0)
        j = i - 1 - int(np.argmax(candidates[::-1]))  # the latest of equals keeps the stretch compact
        if candidates[j] > 0:
            length[i], previous[i] = candidates[j] + 1, j
    last = int(np.argmax(length))
    first = last
    while previous[first] >= 0:
        first = int(previous[first])
    return first, last


def valley(lrs, losses) -> float:
    """fastai's ``valley`` rule (its default suggestion): the rate about halfway down
    the longest falling stretch of the curve (:func:`longest_falling_stretch`),
    halfway counted in updates: lrs[first + (last - first) // 2].

    Raises:
        ValueError: a bad curve (:func:`check_curve`).
    """
    lrs, losses = check_curve(lrs, losses)
    first, last = longest_falling_stretch(losses)
    return float(lrs[first + (last - first) // 2])


@dataclass(frozen=True)
class Rule:
    """A suggestion rule: the function ``(lrs, losses) -> rate``, its name in figures and
    tables, and what it reads."""

    read: Callable[[np.ndarray, np.ndarray], float]
    label: str
    description: str


#: The suggestion rules, applied side by side, by name.
RULES: dict[str, Rule] = {
    "steepest": Rule(steepest, "steepest", "steepest descent of the loss against log learning rate"),
    "min_over_10": Rule(minimum_over_ten, "minimum ÷ 10", "rate of the lowest loss, divided by 10"),
    "valley": Rule(valley, "valley", "halfway down the longest falling stretch"),
    "turn": Rule(turn, "turn", "where the loss turns upward (the textbook's reading)"),
}


def suggest(lrs, losses, *, skip_start: int = 0, skip_end: int = 0) -> dict[str, float]:
    """Every rule of :data:`RULES` on the curve without its first ``skip_start`` and
    last ``skip_end`` points (torch-lr-finder's trimming; its defaults are 10 and 5).

    Args:
        lrs (array-like, (N,)): rates, finite and > 0.
        losses (array-like, (N,)): finite losses.
        skip_start (int): points dropped at the start, >= 0. Default 0.
        skip_end (int): points dropped at the end, >= 0. Default 0.

    Returns:
        dict[str, float]: rule name -> rate; NaN for a rule the trimmed curve is too short for.

    Raises:
        TypeError: ``skip_start`` or ``skip_end`` is not an int.
        ValueError: a bad curve (:func:`check_curve`), losses that are not finite, negative skips.
    """
    lrs, losses = check_curve(lrs, losses)
    skip_start = checks.integer(skip_start, "skip_start", minimum=0)
    skip_end = checks.integer(skip_end, "skip_end", minimum=0)
    lrs, losses = lrs[skip_start:len(lrs) - skip_end], losses[skip_start:len(losses) - skip_end]
    if not np.all(np.isfinite(losses)):
        raise ValueError("losses must be finite")
    result = {}
    for name, rule in RULES.items():
        try:
            result[name] = rule.read(lrs, losses)
        except ValueError:
            result[name] = float("nan")
    return result


def despike(losses, half_width: int = 5, threshold: float = 8.0) -> np.ndarray:
    """``losses`` with isolated outliers replaced by their neighbourhood's median (a Hampel filter).

    A loss is an outlier when it lies more than ``threshold`` scaled median absolute
    deviations (1.4826 MAD, the standard deviation of Gaussian noise) from the median of
    the ``2 half_width + 1`` losses around it (fewer at the ends); the threshold is high
    because a median of 11 noisy losses is itself noisy (at 3 deviations and 7 losses,
    one in twenty plain Gaussian losses would be replaced; at 8 and 11, under one in a
    thousand, and a replaced one is only moved to its neighbours' median).  One bad batch (a loss
    20 times too high, say) then no longer makes the steepest fall of the curve right
    after it; the rising tail of a sweep, a trend rather than a lone point, is only
    lowered at its very last points, which the rules skip (``skip_end``).

    Args:
        losses (array-like, (T,)): finite losses.
        half_width (int): neighbours on each side, >= 1. Default 5.
        threshold (float): scaled deviations, > 0. Default 8.

    Returns:
        ndarray (T,): float64, outliers replaced.
    """
    half_width = checks.integer(half_width, "half_width", minimum=1)
    threshold = checks.positive(threshold, "threshold")
    losses = np.asarray(losses, dtype=np.float64)
    out = losses.copy()
    for t in range(len(losses)):
        window = losses[max(0, t - half_width):t + half_width + 1]
        median = np.median(window)
        spread = 1.4826 * np.median(np.abs(window - median))
        if abs(losses[t] - median) > threshold * spread and spread > 0:
            out[t] = median
    return out
