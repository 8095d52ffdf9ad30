"""What the textbook shows: the rates and batch sizes of its grids, its winners, and its numeric illustration.

The textbook (its section 12.3.4) compares learning rates 0.1 to 0.7 on MNIST at
batch sizes 32 and 16 (its Figures 12-12 and 12-13) and one rate at batch sizes
32 to 256, and reports the winners :data:`TEXTBOOK_WINNERS`.  To make the
dependence of the rate on the batch size plausible it fits a line
:math:`z = wx` through three and then five points on :math:`y = 0` (its Figure
12-14) and solves :math:`w - \\eta L = 0` for the rate.
:func:`textbook_illustration` recomputes that calculation and the step a
gradient update would need; :func:`population_noise_scale` gives McCandlish
et al.'s :math:`\\epsilon_{\\max}` and :math:`B_{\\rm noise}` for batches drawn
from the points, so that :func:`lib.batch_size.gradient_noise.optimal_step`
gives the best one-step rate at every batch size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lib.core import checks

#: The rates of the textbook's Figures 12-12 and 12-13 (per update).
TEXTBOOK_RATES = (0.1, 0.3, 0.5, 0.7)
#: The batch sizes at which the textbook trains the rate 0.5.
TEXTBOOK_BATCH_SIZES = (32, 64, 128, 256)
#: What the textbook reports: the winning rate at batch sizes 128, 32 and 16.
TEXTBOOK_WINNERS = {128: 0.5, 32: 0.5, 16: 0.1}

#: The textbook's Figure 12-14: points on the line y = 0 at these x, and a fitted line of slope 0.5.
ILLUSTRATION_POINTS = {3: (-2.0, 0.0, 2.0), 5: (-2.0, -1.0, 0.0, 1.0, 2.0)}
ILLUSTRATION_SLOPE = 0.5


@dataclass(frozen=True)
class Illustration:
    """One column of the textbook's calculation, and the same with the gradient.

    The model is :math:`z = w x`, the loss :math:`L(w) = \\frac{1}{2m}\\sum_i (w x_i - y_i)^2`
    with all :math:`y_i = 0`.

    Attributes:
        points (tuple of m floats): the x values.
        w (float): the slope of the fitted line.
        loss (float): :math:`L(w)`.
        textbook_rate (float): solves the textbook's :math:`w - \\eta L = 0`.
        gradient (float): :math:`L'(w) = w\\,\\overline{x^2}`.
        one_step_rate (float): solves :math:`w - \\eta L'(w) = 0`, the step a gradient
            update would need, :math:`1/\\overline{x^2}` (the inverse curvature).
        w_after_textbook_step, loss_after_textbook_step (float): where a gradient
            step of the textbook's rate lands.
    """

    points: tuple[float, ...]
    w: float
    loss: float
    textbook_rate: float
    gradient: float
    one_step_rate: float
    w_after_textbook_step: float
    loss_after_textbook_step: float


def _points(points) -> np.ndarray:
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 1 or x.size < 1 or not np.isfinite(x).all():
        raise ValueError(f"points must be a non-empty list of finite x values, got {points!r}")
    return x


def textbook_illustration(points: Sequence[float], w: float = ILLUSTRATION_SLOPE) -> Illustration:
    """The textbook's numeric illustration for ``points`` (x values, targets 0), and what a gradient step does.

    Args:
        points (list of floats): the x values, not all 0.
        w (float): the slope of the line, > 0. Default :data:`ILLUSTRATION_SLOPE`.

    Returns:
        Illustration.

    Raises:
        TypeError: ``w`` is not a number.
        ValueError: ``points`` empty, not finite or all 0; ``w`` not > 0.
    """
    x = _points(points)
    w = checks.positive(w, "w")
    second_moment = float(np.mean(x**2))
    if second_moment == 0:
        raise ValueError("the points must not all sit at x = 0 (the loss would not depend on w)")
    loss = 0.5 * w**2 * second_moment
    gradient = w * second_moment
    textbook_rate = w / loss
    w_after = w - textbook_rate * gradient
    return Illustration(tuple(float(v) for v in x), w, loss, textbook_rate, gradient, w / gradient, w_after,
                        0.5 * w_after**2 * second_moment)


def population_noise_scale(points: Sequence[float]) -> tuple[float, float]:
    """(:math:`\\epsilon_{\\max}`, :math:`B_{\\rm noise}`) for batches drawn with replacement from ``points``.

    Per-example gradient :math:`g_i = w x_i^2`, so :math:`G = w\\,\\mathbb E[x^2]`,
    :math:`\\operatorname{Var} g = w^2 \\operatorname{Var}(x^2)` and the curvature is
    :math:`h = \\mathbb E[x^2]`: :math:`\\epsilon_{\\max} = 1/h` and
    :math:`B_{\\rm noise} = \\operatorname{Var}(x^2)/\\mathbb E[x^2]^2` (independent of :math:`w`).

    Args:
        points (list of floats): the x values, not all 0.

    Returns:
        (eps_max, b_noise): floats, per update and examples.

    Raises:
        ValueError: ``points`` empty, not finite or all 0.
    """
    x = _points(points)
    if not (x**2).any():
        raise ValueError(f"points must be finite x values, not all 0; got {points!r}")
    second = float(np.mean(x**2))
    return 1.0 / second, float(np.var(x**2)) / second**2
