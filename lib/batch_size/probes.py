"""Probes that ride along a grid's training: the validation loss at update counts of its own choosing.

The engine (:func:`lib.core.engine.train_grid`) evaluates every ``eval_every``
epochs.  Early in training that is too coarse to time when a loss target is
reached, so :func:`lib.batch_size.rate_grid.train_rate_grid` also measures the
validation loss at the update counts :func:`probe_steps` spaces by factors of
:math:`\\sqrt 2`, through an ``on_step`` callback (:class:`ValidationProbe`;
:func:`chain_callbacks` runs it beside a caller's own).
"""
from __future__ import annotations

import math

import numpy as np

from lib.core import checks
from lib.core.evaluate import stacked_metrics


def probe_steps(total_steps: int, eval_spacing: float, per_octave: int = 2) -> np.ndarray:
    """Update counts :math:`\\lceil 2^{k/m} \\rceil` (m = ``per_octave``) below 4 regular evaluation spacings.

    Where the engine's evaluations come every ``eval_spacing`` updates, a loss
    that is reached after fewer than a few spacings would be timed coarsely; these
    extra points keep consecutive measurements within a factor :math:`2^{1/m}`.

    Args:
        total_steps (int): updates of the run, >= 1.
        eval_spacing (float): updates between regular evaluations, > 0.
        per_octave (int): probes per doubling of the update count, >= 1. Default 2.

    Returns:
        ndarray (P,), int: increasing update counts below min(total_steps, 4 x eval_spacing).

    Raises:
        TypeError, ValueError: an argument of the wrong type or out of range.
    """
    total_steps = checks.int_at_least(total_steps, "total_steps")
    per_octave = checks.int_at_least(per_octave, "per_octave")
    eval_spacing = checks.positive(eval_spacing, "eval_spacing")
    limit = min(total_steps, 4 * eval_spacing)
    if limit <= 1:
        return np.zeros(0, dtype=int)
    count = int(math.ceil(per_octave * math.log2(limit))) + 1
    steps = np.unique(np.ceil(2.0 ** (np.arange(count) / per_octave)).astype(int))
    return steps[steps < limit]


class ValidationProbe:
    """``on_step`` callback: the validation loss of every member after the updates in ``steps``."""

    def __init__(self, template, x_val, y_val, steps: np.ndarray):
        if any(True for _ in template.buffers()):
            raise ValueError("the validation probe needs a model without buffers (no batch norm)")
        self.template, self.x_val, self.y_val = template, x_val, y_val
        self.steps = set(int(s) for s in steps)
        self.done: list[int] = []
        self.losses: list[np.ndarray] = []

    def __call__(self, step: int, params: dict) -> None:
        if step + 1 in self.steps:
            # (K,); the data were checked once, by train_grid
            loss, _ = stacked_metrics(self.template, params, {}, self.x_val, self.y_val, loss="cross_entropy")
            self.done.append(step + 1)
            self.losses.append(loss.cpu().numpy().astype(np.float64))

    def result(self, K: int) -> tuple[np.ndarray, np.ndarray]:
        """(steps (P,), losses (K, P))."""
        if not self.done:
            return np.zeros(0, dtype=int), np.zeros((K, 0))
        return np.array(self.done), np.stack(self.losses, axis=1)


def chain_callbacks(*callbacks):
    """One ``on_step`` callback that calls each of ``callbacks`` (``None`` skipped) in turn."""
    callbacks = [checks.function(c, "on_step", "f(step, params)") for c in callbacks if c is not None]

    def call(step, params):
        for c in callbacks:
            c(step, params)

    return call
