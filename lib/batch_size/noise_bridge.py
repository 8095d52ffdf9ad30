"""The bridge between McCandlish et al.'s :math:`B_{\\rm noise}` and Smith and Le's :math:`g = \\epsilon N/B`.

Two quantities in the chapter are called a noise scale.  McCandlish et al. (2018) measure the
noise of one gradient, :math:`B_{\\rm noise} = \\operatorname{tr}(H\\Sigma)/G^\\top H G`, a batch
size (section 4).  Smith and Le (2018) measure the noise that SGD injects into the weights,
:math:`g = \\epsilon(N/B - 1) \\approx \\epsilon N/B` (section 5).  At McCandlish et al.'s best
step :math:`\\epsilon_{\\rm opt}(B) = \\epsilon_{\\max}/(1 + B_{\\rm noise}/B)` the second becomes

.. math::
    g_{\\rm opt}(B) = \\frac{\\epsilon_{\\rm opt}(B)\\,N}{B} = \\frac{\\epsilon_{\\max} N}{B + B_{\\rm noise}},

flat at :math:`\\epsilon_{\\max} N / B_{\\rm noise}` for :math:`B \\ll B_{\\rm noise}` (the rate
grows with the batch and the noise stays put: Smith and Le's linear scaling, with the best batch
size proportional to :math:`\\epsilon N`) and falling as :math:`\\epsilon_{\\max} N/B` for
:math:`B \\gg B_{\\rm noise}` (the rate stops growing, so a larger batch only removes noise).
"""
from __future__ import annotations

import numpy as np

from lib.core import checks

from .gradient_noise import optimal_step


def noise_at_best_step(batch_size, eps_max: float, b_noise: float, train_size: int):
    """Smith and Le's :math:`g = \\epsilon N/B` at McCandlish et al.'s best step:
    :math:`\\epsilon_{\\max}N/(B + B_{\\rm noise})`.

    Computed as written in the module docstring's first form,
    :func:`lib.batch_size.gradient_noise.optimal_step` times :math:`N/B`.

    Args:
        batch_size (float or array-like): batch sizes B (examples) > 0.
        eps_max (float): the best step without noise (per update), > 0.
        b_noise (float): the noise scale (examples), > 0.
        train_size (int): N, training examples, >= 1.

    Returns:
        float, or ndarray of ``batch_size``'s shape: g (a rate times examples per batch, unitless).

    Raises:
        TypeError: an argument of the wrong type.  ValueError: values not finite and > 0,
            ``train_size`` < 1.
    """
    train_size = checks.integer(train_size, "train_size", minimum=1)
    b = checks.positive_values(batch_size, "batch_size")
    result = optimal_step(b, eps_max, b_noise) * train_size / b
    return float(result) if np.ndim(result) == 0 else result


def plateau(eps_max: float, b_noise: float, train_size: int) -> float:
    """The small-batch limit of :func:`noise_at_best_step`: :math:`\\epsilon_{\\max} N / B_{\\rm noise}`.

    Raises:
        As :func:`noise_at_best_step`.
    """
    eps_max = checks.positive(eps_max, "eps_max")
    b_noise = checks.positive(b_noise, "b_noise")
    train_size = checks.integer(train_size, "train_size", minimum=1)
    return eps_max * train_size / b_noise


def large_batch_limit(batch_size, eps_max: float, train_size: int):
    """The large-batch limit of :func:`noise_at_best_step`: :math:`\\epsilon_{\\max} N / B`.

    Raises:
        As :func:`noise_at_best_step`.
    """
    eps_max = checks.positive(eps_max, "eps_max")
    train_size = checks.integer(train_size, "train_size", minimum=1)
    b = checks.positive_values(batch_size, "batch_size")
    result = eps_max * train_size / b
    return float(result) if result.ndim == 0 else result
