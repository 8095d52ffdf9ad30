"""The gradient noise scale measured along a training run, by both estimators of :mod:`.gradient_noise`.

:class:`NoiseScaleTracker` is an ``on_step`` callback for
:func:`lib.core.engine.train_grid` (or :func:`lib.batch_size.batch_sweep.run_sweep`):
it reads one member's weights after its updates and measures them, without
touching training.  After the run, :attr:`NoiseScaleTracker.trace` holds a
:class:`NoiseScaleTrace`: the moving-average two-batch estimate along the run,
and at a few checkpoints (:func:`checkpoint_steps`) both estimators at the
same weights.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from lib.core import checks, losses
from lib.core.data import Splits
from lib.core.device import seeded_generator
from lib.core.models import build_model
from lib.core.timing import timed

from .gradient_noise import (GradientStatistics, flat_gradient, per_example_statistics, smoothed_b_simple,
                             two_batch_estimates)


def checkpoint_steps(total_steps: int, count: int = 8, first: int = 8) -> np.ndarray:
    """``count`` update counts from ``first`` to ``total_steps``, evenly spaced in log(updates).

    :math:`\\mathrm{round}(f\\,(T/f)^{k/(c-1)})`, k = 0 .. c - 1 (``np.geomspace``),
    with repeats merged, so early training, where the noise scale changes fastest,
    is measured as often as late training.

    Args:
        total_steps (int): updates of the run T (the last checkpoint), >= ``first``.
        count (int): checkpoints c, >= 1. Default 8.
        first (int): updates done at the first checkpoint f, >= 1. Default 8.

    Returns:
        ndarray (<= count,), int: increasing update counts.

    Raises:
        TypeError: an argument is not an int.
        ValueError: ``first`` or ``count`` < 1, or ``total_steps`` < ``first``.
    """
    first = checks.int_at_least(first, "first")
    total_steps = checks.int_at_least(total_steps, "total_steps", first)
    count = checks.int_at_least(count, "count")
    return np.unique(np.geomspace(first, total_steps, count).round().astype(int))


@dataclass(frozen=True)
class NoiseScaleTrace:
    """What :class:`NoiseScaleTracker` measured along one training run.

    Attributes:
        b_small, b_big (int): the two batch sizes (examples).
        decay (float): the moving average's factor.
        steps (ndarray (T,)): updates done at each two-batch measurement.
        small_sq, big_sq (ndarray (T,)): squared norms of the gradients at ``b_small``/``b_big``.
        checkpoints (ndarray (C,)): updates done at each checkpoint, where the weights
            were measured twice more, both estimators at the same weights:
        per_example (list of C GradientStatistics): per-example gradients, :math:`G`
            over the whole training set;
        fixed_two_batch (list of C GradientStatistics): the plain mean of the
            tracker's ``fixed_draws`` two-batch estimates.
    """

    b_small: int
    b_big: int
    decay: float
    steps: np.ndarray
    small_sq: np.ndarray
    big_sq: np.ndarray
    checkpoints: np.ndarray
    per_example: list[GradientStatistics] = field(default_factory=list)
    fixed_two_batch: list[GradientStatistics] = field(default_factory=list)

    def estimates(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-measurement (|G|^2, tr Sigma) from the two batch sizes, unsmoothed, each (T,)."""
        return two_batch_estimates(self.small_sq, self.big_sq, self.b_small, self.b_big)

    def two_batch_b_simple(self) -> np.ndarray:
        """(T,): :math:`B_{\\rm simple}` after each measurement: EMA of each estimate, then their ratio."""
        g_squared, trace = self.estimates()
        return smoothed_b_simple(g_squared, trace, self.decay)

    def two_batch_at(self, step: float) -> float:
        """The moving-average :math:`B_{\\rm simple}` at the measurement nearest to ``step``.

        Raises:
            ValueError: ``step`` not > 0 or outside the measured updates.
        """
        step = checks.positive(step, "step")
        if not self.steps[0] <= step <= self.steps[-1]:
            raise ValueError(f"step {step:g} is outside the measurements ({self.steps[0]} to {self.steps[-1]})")
        return float(self.two_batch_b_simple()[int(np.argmin(np.abs(self.steps - step)))])

    @property
    def per_example_b_simple(self) -> np.ndarray:
        """(C,): the per-example estimate at each checkpoint."""
        return np.array([s.b_simple for s in self.per_example])

    @property
    def fixed_two_batch_b_simple(self) -> np.ndarray:
        """(C,): the averaged two-batch estimate at each checkpoint."""
        return np.array([s.b_simple for s in self.fixed_two_batch])

    @property
    def estimator_gap(self) -> np.ndarray:
        """(C,): how far the two estimators disagree at each checkpoint.

        :math:`|B_{\\rm two\\,batch}/B_{\\rm per\\,example} - 1|`; both are :math:`B_{\\rm simple}` at the
        same weights (``fixed_two_batch`` and ``per_example``).
        """
        return np.abs(self.fixed_two_batch_b_simple / self.per_example_b_simple - 1)

    @property
    def not_measurable(self) -> int:
        """How many of the trace's estimates of :math:`B_{\\rm simple}` are not measurable (NaN):
        the smoothed two-batch values and both kinds of checkpoint estimates together
        (:attr:`lib.batch_size.gradient_noise.GradientStatistics.not_measurable` says why for each).
        Figures leave them out and their captions give this count."""
        values = np.concatenate([self.two_batch_b_simple(), self.per_example_b_simple, self.fixed_two_batch_b_simple])
        return int(np.isnan(values).sum())

    @property
    def checkpoint_loss(self) -> np.ndarray:
        """(C,): mean training loss on the per-example sample at each checkpoint."""
        return np.array([s.loss for s in self.per_example])


class NoiseScaleTracker:
    """An ``on_step`` callback for :func:`lib.core.engine.train_grid` that measures one member's noise scale.

    Every ``every`` updates it draws ``b_big`` training examples at random (with
    replacement, as the estimators assume) and records the squared norms of the
    gradient on all of them and on the first ``b_small`` of them: McCandlish et
    al.'s estimate, smoothed along the run.  At each update in ``checkpoints`` it
    holds the weights and measures them with both estimators: per-example
    gradients of a fixed random sample of ``exact_examples`` training images, with
    :math:`G` the exact gradient over the whole training set; and the plain mean
    of ``fixed_draws`` two-batch estimates.  Training itself is not touched: the
    callback reads member ``member``'s weights and draws from its own random
    generator.  Read the result from :attr:`trace` after training.

    Args:
        data (Splits): the training data of the run.
        member (int): the grid member measured (its row). Default 0.
        model (str or callable): the grid's architecture (:func:`lib.core.models.build_model`).
            Default ``"textbook"``.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        b_small, b_big (int): the two batch sizes (examples), ``b_small < b_big <= n``. Default 32, 1024.
        every (int): updates between two-batch measurements. Default 10.
        checkpoints (list[int]): updates done at which both estimators measure. Default none.
        exact_examples (int): examples of the per-example sample, 2 to n. Default 2048.
        fixed_draws (int): two-batch draws averaged at a checkpoint. Default 50.
        decay (float): the moving average's factor in [0, 1). Default 0.9.
        seed (int): seed of the tracker's own draws. Default 0.

    Raises:
        TypeError: ``data`` is not ``Splits``; a count that is not an int.
        ValueError: an unknown loss; a value out of range (see Args).
    """

    def __init__(self, data: Splits, *, member: int = 0, model: str | Callable = "textbook",
                 loss: str = "cross_entropy", b_small: int = 32, b_big: int = 1024, every: int = 10,
                 checkpoints: Sequence[int] = (), exact_examples: int = 2048, fixed_draws: int = 50,
                 decay: float = 0.9, seed: int = 0):
        checks.splits(data)
        n = data.x_train.shape[0]
        template = build_model(model, 0).to(data.x_train.device)
        checks.examples(data.x_train, data.y_train, loss=loss, model=template, names=("data.x_train", "data.y_train"))
        self.member = checks.int_at_least(member, "member", 0)
        self.loss = losses.get(loss).name
        self.b_small, self.b_big = checks.two_batch_sizes(b_small, b_big)
        checks.batch_size(self.b_big, n, "b_big")
        self.every = checks.int_at_least(every, "every")
        self.exact_examples = checks.integer(exact_examples, "exact_examples", minimum=2, maximum=n)
        self.fixed_draws = checks.int_at_least(fixed_draws, "fixed_draws")
        self.checkpoints = sorted(set(checks.integers(checkpoints, "checkpoints", minimum=1, minimum_count=0)))
        self.decay = checks.fraction(decay, "decay")
        self.data = data
        self.template = template
        self.mean = losses.get(loss).mean
        self.generator = seeded_generator(checks.seed(seed))
        sample = torch.randperm(n, generator=self.generator)[:self.exact_examples].to(data.x_train.device)
        self.x_exact, self.y_exact = data.x_train[sample], data.y_train[sample]
        self._steps: list[int] = []
        self._small: list[float] = []
        self._big: list[float] = []
        self._checkpoints: list[int] = []
        self._per_example: list[GradientStatistics] = []
        self._fixed: list[GradientStatistics] = []

    def _norms(self, params) -> tuple[float, float]:
        """Squared norms of the gradients on a fresh random batch of ``b_big`` and on its first ``b_small``."""
        index = torch.randint(self.data.x_train.shape[0], (self.b_big,), generator=self.generator)
        index = index.to(self.data.x_train.device)
        x, y = self.data.x_train[index], self.data.y_train[index]
        big = flat_gradient(self.template, params, x, y, self.mean)
        small = flat_gradient(self.template, params, x[:self.b_small], y[:self.b_small], self.mean)
        return float(small.double().pow(2).sum()), float(big.double().pow(2).sum())

    @timed("measuring")
    def __call__(self, step: int, params: dict[str, torch.Tensor]) -> None:
        done = step + 1   # train_grid calls back after update number `step` (0-based)
        if done % self.every and done not in self.checkpoints:
            return
        K = next(iter(params.values())).shape[0]
        if self.member >= K:
            raise ValueError(f"member={self.member} but the grid has only {K} member(s)")
        mine = {name: p[self.member] for name, p in params.items()}
        if done % self.every == 0:
            small, big = self._norms(mine)
            self._steps.append(done)
            self._small.append(small)
            self._big.append(big)
        if done in self.checkpoints:
            full = flat_gradient(self.template, mine, self.data.x_train, self.data.y_train, self.mean)
            self._checkpoints.append(done)
            self._per_example.append(per_example_statistics(self.template, self.x_exact, self.y_exact,
                                                            loss=self.loss, params=mine, mean_gradient=full))
            small, big = np.array([self._norms(mine) for _ in range(self.fixed_draws)]).T
            g_squared, trace = two_batch_estimates(small, big, self.b_small, self.b_big)
            self._fixed.append(GradientStatistics(float(g_squared.mean()), float(trace.mean()),
                                                  examples=self.fixed_draws))

    @property
    def trace(self) -> NoiseScaleTrace:
        """What was measured so far.

        Raises:
            ValueError: nothing measured yet.
        """
        if not self._steps:
            raise ValueError("nothing measured yet: pass the tracker as on_step to train_grid first")
        return NoiseScaleTrace(self.b_small, self.b_big, self.decay, np.array(self._steps),
                               np.array(self._small), np.array(self._big), np.array(self._checkpoints),
                               list(self._per_example), list(self._fixed))
