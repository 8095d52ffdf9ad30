"""Steps and examples to reach a target, and McCandlish et al.'s (2018) fits: the critical batch size.

At every batch size B, training needs some number of updates S and of examples
:math:`E = BS` to reach a target loss.  McCandlish et al. predict the trade-off

.. math:: \\left(\\frac{S}{S_{\\min}} - 1\\right)\\left(\\frac{E}{E_{\\min}} - 1\\right) = 1,
   \\qquad B_{\\rm crit} = E_{\\min}/S_{\\min},

Below :math:`B_{\\rm crit}` a larger batch saves updates at
almost no cost in examples, above it it costs examples and saves few updates.

* :func:`crossing_step`: when a measured loss curve first reaches the target,
  interpolated between measurements;
* :func:`loss_at_step`: the other reading of the same curve, its loss after a given
  number of updates (to compare batch sizes at equal updates);
* :class:`Tradeoff`: the steps and examples at each batch size (built by
  :meth:`lib.batch_size.batch_sweep.Sweep.tradeoff`);
* :func:`fit_steps_examples` (:class:`StepsExamplesFit`): the hyperbola above;
* :func:`fit_optimal_step` (:class:`OptimalStepFit`): their best step
  :math:`\\epsilon_{\\rm opt}(B) = \\epsilon_{\\max}/(1 + B_{\\rm noise}/B)`
  (:func:`lib.batch_size.gradient_noise.optimal_step`) fitted to measured best rates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from lib.core import checks

from .gradient_noise import optimal_step


def crossing_step(steps, losses, target: float) -> float:
    """The first update count at which ``losses`` reaches ``target``, interpolated; NaN if it never does.

    Between the last measurement above the target and the first at or below it
    the loss is taken to follow a power law of the step (a straight line on
    log-log axes), or a straight line when the earlier point is step 0.  A NaN
    (a diverged run) ends the search.

    Args:
        steps (array-like, (T,)): update counts, increasing, >= 0.
        losses (array-like, (T,)): the loss measured at each.
        target (float): the loss to reach, > 0.

    Returns:
        float: the interpolated update count (``steps[0]`` if already reached there), or NaN.

    Raises:
        TypeError: ``target`` is not a number.
        ValueError: ``target`` not > 0; arrays of different or zero length; steps
            not increasing or negative.
    """
    target = checks.positive(target, "target")
    steps, losses = _curve(steps, losses)
    for i, loss in enumerate(losses):
        if not np.isfinite(loss):
            return float("nan")
        if loss <= target:
            if i == 0:
                return float(steps[0])
            s0, s1, l0, l1 = steps[i - 1], steps[i], losses[i - 1], loss
            if s0 <= 0 or l1 <= 0:
                return float(s0 + (s1 - s0) * (l0 - target) / (l0 - l1))
            fraction = (math.log(l0) - math.log(target)) / (math.log(l0) - math.log(l1))
            return float(math.exp(math.log(s0) + fraction * (math.log(s1) - math.log(s0))))
    return float("nan")


def _curve(steps, losses) -> tuple[np.ndarray, np.ndarray]:
    steps = np.asarray(steps, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if steps.ndim != 1 or steps.shape != losses.shape or steps.size == 0:
        raise ValueError(f"steps and losses must be equally long non-empty 1-D arrays, got {steps.shape} "
                         f"and {losses.shape}")
    if (np.diff(steps) <= 0).any() or steps[0] < 0:
        raise ValueError("steps must be increasing and >= 0")
    return steps, losses


def loss_at_step(steps, losses, step: float) -> float:
    """The loss of a measured curve after ``step`` updates, interpolated as :func:`crossing_step` does; NaN if unknown.

    Between the two measurements around ``step`` the loss is taken to follow a
    power law of the step (:math:`\\log L` linear in :math:`\\log t`), or a straight
    line when the earlier measurement is at step 0, so that for a curve that
    crosses a target between two measurements ``loss_at_step(steps, losses,
    crossing_step(steps, losses, target)) == target``.  A step outside the measured
    range, or a NaN (a diverged run) at or before the later measurement, gives NaN.

    Args:
        steps (array-like, (T,)): update counts, increasing, >= 0.
        losses (array-like, (T,)): the loss measured at each, > 0 where finite.
        step (float): the update count to read, >= 0.

    Returns:
        float: the interpolated loss (the measurement itself at a measured step), or NaN.

    Raises:
        TypeError: ``step`` is not a number.
        ValueError: ``step`` < 0; arrays of different or zero length; steps not increasing or negative.
    """
    step = checks.non_negative(step, "step")
    steps, losses = _curve(steps, losses)
    if step < steps[0] or step > steps[-1]:
        return float("nan")
    i = int(np.searchsorted(steps, step, side="left"))     # steps[i - 1] < step <= steps[i]
    if not np.isfinite(losses[:i + 1]).all():
        return float("nan")
    if steps[i] == step:
        return float(losses[i])
    s0, s1, l0, l1 = steps[i - 1], steps[i], losses[i - 1], losses[i]
    if s0 <= 0 or l0 <= 0 or l1 <= 0:
        return float(l0 + (l1 - l0) * (step - s0) / (s1 - s0))
    fraction = (math.log(step) - math.log(s0)) / (math.log(s1) - math.log(s0))
    return float(math.exp(math.log(l0) + fraction * (math.log(l1) - math.log(l0))))


@dataclass(frozen=True)
class Tradeoff:
    """Steps and examples to reach ``target`` at each batch size, each with its fastest configuration.

    Attributes:
        target (float): the validation loss reached.
        batch_sizes (ndarray (B,)): batch sizes (examples), increasing.
        steps (ndarray (B,)): updates to the target (mean over seeds) of the fastest configuration.
        rates (ndarray (B,)): that configuration's rate (per update).
        variants (tuple of B str): its variant (``"constant"`` or ``"warmup"``).
    """

    target: float
    batch_sizes: np.ndarray
    steps: np.ndarray
    rates: np.ndarray
    variants: tuple[str, ...]

    @property
    def examples(self) -> np.ndarray:
        """(B,): examples to the target, :math:`E = BS`."""
        return self.batch_sizes * self.steps


@dataclass(frozen=True)
class StepsExamplesFit:
    """:math:`S(B) = S_{\\min}(1 + B_{\\rm crit}/B)`, :math:`E(B) = E_{\\min}(1 + B/B_{\\rm crit})`.

    Attributes:
        s_min (float): the fewest updates any batch size needs.
        e_min (float): the fewest examples any batch size needs.
    """

    s_min: float
    e_min: float

    @property
    def b_crit(self) -> float:
        """:math:`B_{\\rm crit} = E_{\\min}/S_{\\min}` (examples)."""
        return self.e_min / self.s_min

    def steps(self, batch_size):
        """Updates the fit predicts at ``batch_size`` (a number or an array)."""
        return self.s_min * (1.0 + self.b_crit / np.asarray(batch_size, dtype=np.float64))

    def examples(self, batch_size):
        """Examples the fit predicts at ``batch_size`` (a number or an array)."""
        return self.e_min * (1.0 + np.asarray(batch_size, dtype=np.float64) / self.b_crit)

    def residual(self, steps, examples) -> np.ndarray:
        """:math:`(S/S_{\\min} - 1)(E/E_{\\min} - 1) - 1` for measured points: 0 on the curve."""
        return (np.asarray(steps) / self.s_min - 1.0) * (np.asarray(examples) / self.e_min - 1.0) - 1.0


def fit_steps_examples(batch_sizes, steps) -> StepsExamplesFit:
    """Fit McCandlish et al.'s :math:`(S/S_{\\min} - 1)(E/E_{\\min} - 1) = 1` to steps measured at batch sizes.

    With :math:`E = BS` the relation is :math:`S = S_{\\min} + E_{\\min}/B`; it is
    fitted by least squares on :math:`\\log S` (every batch size weighs the same
    whatever its number of steps), with both parameters kept positive
    (``scipy.optimize.least_squares`` on their logarithms), starting from the
    linear least-squares solution.

    Args:
        batch_sizes (list or 1-D array): increasing batch sizes (examples), at least 3.
        steps (list or 1-D array): updates to the target at each, > 0.

    Returns:
        StepsExamplesFit.

    Raises:
        TypeError: not lists of numbers.
        ValueError: fewer than 3 batch sizes, values not > 0, batch sizes not
            increasing, lengths that differ.
    """
    b, s = checks.batch_series(batch_sizes, steps, "steps")
    if b.size < 3:
        raise ValueError(f"fitting two parameters needs at least 3 batch sizes, got {b.size}")
    design = np.column_stack([np.ones_like(b), 1.0 / b])
    start, *_ = np.linalg.lstsq(design, s, rcond=None)
    start = np.log(np.maximum(start, 1e-3 * s.min()))

    def residuals(log_params):
        s_min, e_min = np.exp(log_params)
        return np.log(s_min + e_min / b) - np.log(s)

    solution = optimize.least_squares(residuals, start)
    s_min, e_min = np.exp(solution.x)
    return StepsExamplesFit(float(s_min), float(e_min))


@dataclass(frozen=True)
class OptimalStepFit:
    """:math:`\\epsilon_{\\rm opt}(B) = \\epsilon_{\\max}/(1 + B_{\\rm noise}/B)` with fitted or given parameters.

    Attributes:
        eps_max (float): the best rate at large batches (per update).
        b_noise (float): the noise scale (examples).
        b_noise_fitted (bool): whether ``b_noise`` was fitted (else given).
    """

    eps_max: float
    b_noise: float
    b_noise_fitted: bool

    def __call__(self, batch_size):
        """:func:`lib.batch_size.gradient_noise.optimal_step` at ``batch_size``."""
        return optimal_step(batch_size, self.eps_max, self.b_noise)


def fit_optimal_step(batch_sizes, rates, b_noise: float | None = None) -> OptimalStepFit:
    """Fit :math:`\\epsilon_{\\rm opt}(B)` to the best rates, by least squares on :math:`\\log\\eta`.

    With ``b_noise`` given only :math:`\\epsilon_{\\max}` is fitted (a closed form:
    the geometric mean of :math:`\\eta_i (1 + B_{\\rm noise}/B_i)`); otherwise both,
    by ``scipy.optimize.least_squares`` on their logarithms.

    Args:
        batch_sizes (list or 1-D array): increasing batch sizes (examples); at least 3 to fit both.
        rates (list or 1-D array): the best rate at each (per update), > 0.
        b_noise (float, optional): a given noise scale (examples), > 0.

    Returns:
        OptimalStepFit.

    Raises:
        TypeError: not lists of numbers; ``b_noise`` not a number.
        ValueError: fewer than 3 batch sizes for a free fit, values not > 0, batch
            sizes not increasing, lengths that differ.
    """
    b, r = checks.batch_series(batch_sizes, rates, "rates")
    if b_noise is not None:
        b_noise = checks.positive(b_noise, "b_noise")
        eps_max = float(np.exp(np.mean(np.log(r * (1.0 + b_noise / b)))))
        return OptimalStepFit(eps_max, b_noise, False)
    if b.size < 3:
        raise ValueError(f"fitting two parameters needs at least 3 batch sizes, got {b.size}")

    def residuals(log_params):
        eps_max, noise = np.exp(log_params)
        return np.log(eps_max / (1.0 + noise / b)) - np.log(r)

    start = np.log([r.max(), float(np.sqrt(b[0] * b[-1]))])
    solution = optimize.least_squares(residuals, start)
    eps_max, noise = np.exp(solution.x)
    return OptimalStepFit(float(eps_max), float(noise), True)
