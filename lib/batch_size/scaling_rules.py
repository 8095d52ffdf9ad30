"""The rules for changing the learning rate with the batch size, and which one measured best rates follow.

* the linear rule :math:`\\eta \\propto B` (Goyal et al. 2017) and the
  square-root rule :math:`\\eta \\propto \\sqrt B` (Krizhevsky 2014), one
  formula :func:`scaled_rate` with power 1 or 1/2;
* :func:`local_slopes`: :math:`\\Delta\\log\\eta / \\Delta\\log B` between
  neighbouring batch sizes, and :func:`nearest_rule`, the rule (linear,
  square-root or flat) whose slope 1, 1/2 or 0 is nearest;
* :func:`rule_stretches`: consecutive batch sizes that follow the same rule,
  and :func:`describe_stretches`, the same as a phrase for the prose.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from lib.core import checks


#: The rules by the lowest slope that still counts as theirs: nearest of 1, 1/2 and 0.
SCALING_RULES = ((0.75, "linear"), (0.25, "square-root"), (-np.inf, "flat"))
#: The order in which the textbook says the rules take over as the batch grows.
TEXTBOOK_STAGES = ("linear", "square-root", "flat")


def scaled_rate(batch_size, base_batch: float, base_rate: float, power: float):
    """The rate a scaling rule gives at batch size B: :math:`\\eta(B) = \\eta_0 (B/B_0)^p`.

    p = 1 is the linear rule (Goyal et al. 2017), p = 1/2 the square-root rule
    (Krizhevsky 2014), p = 0 keeps the rate.

    Args:
        batch_size (float or array-like): batch sizes B (examples), > 0.
        base_batch (float): :math:`B_0` (examples), > 0.
        base_rate (float): the rate at :math:`B_0` (per update), > 0.
        power (float): p >= 0.

    Returns:
        float, or ndarray of ``batch_size``'s shape.

    Raises:
        TypeError: a scalar argument is not a number.
        ValueError: an argument out of range.
    """
    base_batch = checks.positive(base_batch, "base_batch")
    base_rate = checks.positive(base_rate, "base_rate")
    power = checks.non_negative(power, "power")
    b = checks.positive_values(batch_size, "batch_size")
    result = base_rate * (b / base_batch) ** power
    return float(result) if result.ndim == 0 else result


def local_slopes(batch_sizes, rates) -> np.ndarray:
    """:math:`\\Delta\\log\\eta / \\Delta\\log B` between neighbouring batch sizes: 1 linear, 1/2 square root, 0 flat.

    Args:
        batch_sizes (list or 1-D array): increasing batch sizes, at least 2.
        rates (list or 1-D array): the rate at each batch size, > 0.

    Returns:
        ndarray (len(batch_sizes) - 1,).

    Raises:
        TypeError: not lists of numbers.
        ValueError: fewer than 2 batch sizes, values not > 0, batch sizes not increasing,
            lengths that differ.
    """
    b, r = checks.batch_series(batch_sizes, rates, "rates", minimum_count=2)
    return np.diff(np.log(r)) / np.diff(np.log(b))


def nearest_rule(slope: float) -> str:
    """The rule whose slope (1, 1/2, 0) is nearest to ``slope``.

    ``linear`` for a slope >= 3/4, ``square-root`` from 1/4, else ``flat`` (:data:`SCALING_RULES`).

    Raises:
        TypeError: ``slope`` is not a number.
        ValueError: ``slope`` is not finite.
    """
    slope = checks.number(slope, "slope")
    return next(name for bound, name in SCALING_RULES if slope >= bound)


def rule_stretches(batch_sizes, rates) -> list[tuple[int, int, str]]:
    """Consecutive stretches of batch sizes whose local slopes have the same :func:`nearest_rule`.

    Args:
        batch_sizes, rates: as :func:`local_slopes`.

    Returns:
        list of (first batch size, last batch size, rule), in order of batch size.

    Raises:
        As :func:`local_slopes`.
    """
    b, _ = checks.batch_series(batch_sizes, rates, "rates")
    slopes = local_slopes(batch_sizes, rates)
    stretches: list[list] = []
    for i, slope in enumerate(slopes):
        name = nearest_rule(slope)
        if stretches and stretches[-1][2] == name:
            stretches[-1][1] = int(b[i + 1])
        else:
            stretches.append([int(b[i]), int(b[i + 1]), name])
    return [tuple(s) for s in stretches]


def describe_stretches(stretches: Sequence[tuple[int, int, str]]) -> str:
    """The stretches of :func:`rule_stretches` as a phrase: ``linear from 16 to 64, flat from 64 to 2048``.

    Raises:
        ValueError: no stretches.
    """
    if not stretches:
        raise ValueError("stretches must hold at least one (from, to, rule), got none: no stretches to describe")
    return ", ".join(f"{name} from {start} to {end}" for start, end, name in stretches)


def follows_textbook_stages(stretches: Sequence[tuple[int, int, str]]) -> bool:
    """Whether the stretches are the textbook's three stages in its order (:data:`TEXTBOOK_STAGES`)."""
    return tuple(s[2] for s in stretches) == TEXTBOOK_STAGES
