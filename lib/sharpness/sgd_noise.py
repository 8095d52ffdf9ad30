"""Smith & Le's (2018) noise scale of SGD, and the two rules of thumb that follow from it.

Smith & Le, "A Bayesian perspective on generalization and stochastic gradient
descent" (ICLR 2018), read SGD as a discretised stochastic differential equation
whose noise has the scale

.. math:: g = \\frac{\\epsilon}{1 - m}\\Big(\\frac{N}{B} - 1\\Big) \\approx \\frac{\\epsilon N}{B (1 - m)}

(:func:`sgd_noise_scale`): a small batch and a large rate do the same job, and
the best batch size grows in proportion to :math:`\\epsilon N`
(:func:`best_batch_size` finds it on a grid).  :func:`epochs_for_updates` gives a
large batch, which makes few updates per epoch, a budget that lets it converge
as far as a small one.

Two experiments test the claims on the grid engine, returning records of
per-seed arrays:

* :func:`equal_noise_pairs` -> :class:`NoisePairs`: rates scaled with the batch
  size, so that runs of one base rate share :math:`g`;
* :func:`best_batch_study` -> :class:`BestBatchStudy`: the best batch size for
  two training-set sizes and two rates, read at equal epochs (noise scale and
  number of updates change together) and at equal updates (only the noise does),
  with per-seed growth factors and their t intervals
  (:mod:`lib.sharpness.seed_intervals`).

Not to be confused with McCandlish et al.'s (2018) gradient noise scale
:math:`B_{\\text{noise}}` (section 4, :mod:`lib.batch_size`), a property of the
gradients rather than of the optimiser's settings.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from torch import nn

from lib.core import checks, stats
from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.evaluate import evaluate_stacked
from lib.core.members import Member
from lib.core.order import steps_per_epoch

from .seed_intervals import SeedInterval, seed_interval


def sgd_noise_scale(lr: float, train_size: int, batch_size: float, *, momentum: float = 0.0,
                    exact: bool = False) -> float:
    """Smith & Le's (2018) SGD noise scale :math:`g`.

    .. math:: g = \\frac{\\epsilon}{1 - m}\\Big(\\frac{N}{B} - 1\\Big) \\approx \\frac{\\epsilon N}{B (1 - m)}

    for learning rate :math:`\\epsilon`, training-set size :math:`N`, batch size
    :math:`B` and momentum :math:`m` (their eq. 8 and section 5).  ``exact=False``
    (the default) gives the approximation for :math:`B \\ll N`, which is what
    makes "a small batch and a large rate do the same job": only the ratio
    :math:`\\epsilon/B` enters.

    Args:
        lr (float): the learning rate :math:`\\epsilon` (per update), > 0.
        train_size (int): N, training examples, >= 1.
        batch_size (float): B, examples per update, in [1, N]; a number, since a
            refined optimum (:func:`best_batch_size`) may lie between integers.
        momentum (float): heavy-ball momentum m in [0, 1). Default 0.
        exact (bool): use :math:`N/B - 1` instead of :math:`N/B`. Default False.

    Returns:
        float: g (a learning rate times a number of examples per batch, unitless).

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: ``lr`` not finite and > 0, ``train_size`` < 1, ``batch_size``
            outside [1, ``train_size``], ``momentum`` outside [0, 1).
    """
    lr = checks.positive(lr, "lr")
    train_size = checks.int_at_least(train_size, "train_size")
    batch_size = checks.number(batch_size, "batch_size", low=1.0, high=train_size)
    momentum = checks.fraction(momentum, "momentum")
    exact = checks.flag(exact, "exact")
    ratio = train_size / batch_size - (1.0 if exact else 0.0)
    return lr * ratio / (1.0 - momentum)


def epochs_for_updates(batch_size: int, train_size: int, *, min_epochs: int, min_updates: int) -> int:
    """Epochs for training "to convergence" at any batch size: enough epochs and enough updates.

    .. math:: E = \\max\\big(E_{\\min}, \\lceil U_{\\min} B / N \\rceil\\big)

    An epoch makes at least N/B updates, so E epochs make at least
    :math:`U_{\\min}`.  A batch of 10 % of the data takes only 10 updates per
    epoch, so it needs many more epochs than a small batch to travel as far.

    Args:
        batch_size (int): B, in [1, N].
        train_size (int): N, training examples, >= 1.
        min_epochs (int): :math:`E_{\\min}`, >= 1.
        min_updates (int): :math:`U_{\\min}`, >= 1.

    Returns:
        int: E, epochs.

    Raises:
        TypeError: an argument is not an int.
        ValueError: an argument < 1, or ``batch_size`` > ``train_size``.
    """
    train_size = checks.int_at_least(train_size, "train_size")
    batch_size = checks.batch_size(batch_size, train_size)
    min_epochs = checks.int_at_least(min_epochs, "min_epochs")
    min_updates = checks.int_at_least(min_updates, "min_updates")
    epochs_needed = -(-(min_updates * batch_size) // train_size)   # ceil(U B / N), in exact integers
    return max(min_epochs, epochs_needed)


def best_batch_size(batch_sizes, scores) -> float:
    """The batch size with the best score (e.g. mean test accuracy), refined between grid points.

    The batch sizes should be a geometric grid.  Around the best grid point
    :math:`k` a parabola through it and its two neighbours, in :math:`\\log_2 B`,
    :math:`s(u) = a u^2 + b u + c`, gives the peak :math:`u^* = -b / (2a)`
    (clipped to the neighbours; the grid point itself when :math:`a \\ge 0`); at
    either end of the grid, or next to a diverged run, the grid point itself is
    returned.  Non-finite scores (diverged runs) never win.

    Args:
        batch_sizes (sequence of numbers): increasing, > 0, at least 3.
        scores (sequence of float): one per batch size, higher is better; NaN for a diverged run.

    Returns:
        float: :math:`2^{u^*}`, the best batch size.

    Raises:
        TypeError: ``batch_sizes`` is not a list of numbers.
        ValueError: fewer than 3 batch sizes, not increasing, ``scores`` of another
            shape, or no finite score.
    """
    sizes = checks.rates(batch_sizes, "batch_sizes", minimum_count=3, increasing=True)
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != sizes.shape:
        raise ValueError(f"scores must hold one score per batch size, shape {sizes.shape}, got {values.shape}")
    if not np.isfinite(values).any():
        raise ValueError("scores has no finite value")
    values = np.where(np.isfinite(values), values, -np.inf)
    k = int(np.argmax(values))
    if k in (0, len(sizes) - 1) or not np.isfinite(values[[k - 1, k + 1]]).all():
        return float(sizes[k])
    x = np.log2(sizes[k - 1:k + 2])
    y = values[k - 1:k + 2]
    a, b, _ = np.polyfit(x, y, 2)
    peak = -b / (2 * a) if a < 0 else x[1]
    return float(2.0 ** np.clip(peak, x[0], x[2]))


# --------------------------------------------------------------------------- experiments

Model = str | Callable[[int], nn.Module]


def _test_accuracy(data: Splits, batch_size: int, epochs: int, *, rates, seeds, momentum: float,
                   model: Model, at_update: int | None = None):
    """One grid, every rate x every seed, at ``batch_size``: the test accuracy of each run as a
    fraction, (S, R) float32, NaN for a diverged run.

    With ``at_update`` = U (1 <= U <= the run's updates), also the test accuracy of the weights after
    exactly U updates, copied during training (``on_step``), as a second (S, R) array: NaN for a run
    that had diverged by then.
    """
    members = [Member(lr=r, momentum=momentum, init_seed=s, data_seed=s) for r in rates for s in seeds]
    snapshot = {}

    def keep(step, params):                       # params after step + 1 updates
        if step + 1 == at_update:
            snapshot.update({k: v.clone() for k, v in params.items()})

    run = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, eval_every=epochs,
                     on_step=None if at_update is None else keep)
    diverged = run.history.diverged_at

    def accuracy(params, dead) -> np.ndarray:
        values = evaluate_stacked(run.template, params, run.buffers, data.x_test, data.y_test)[1].numpy()
        # mask_diverged works in float64; back to evaluate's float32, in which the means below are taken
        values = stats.mask_diverged(values, dead).astype(values.dtype)
        return stats.by_seed(values, len(seeds))                        # (R * S,) -> (S, R)

    final = accuracy(run.params, diverged >= 0)
    if at_update is None:
        return final
    if not snapshot:
        raise ValueError(f"at_update must lie in [1, {run.history.step_loss.shape[1]}] (the run's updates), "
                         f"got {at_update}")
    # a run diverged at step d had a bad loss with the weights after d updates: those after U < d are fine
    return final, accuracy(snapshot, (diverged >= 0) & (diverged <= at_update))


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over ``axis`` of the finite entries; NaN (quietly) where every run diverged."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Mean of empty slice", category=RuntimeWarning)
        return np.nanmean(values, axis=axis)


def _check_experiment(data, seeds, epochs, momentum) -> tuple[tuple[int, ...], int, float]:
    checks.splits(data, test=True)
    return checks.seeds(seeds), checks.int_at_least(epochs, "epochs"), checks.fraction(momentum, "momentum")


@dataclass(frozen=True)
class NoisePairs:
    """Runs whose rates scale with the batch size, so that each base rate fixes one noise scale.

    Attributes:
        batch_sizes (tuple[int, ...]): the B batch sizes.
        base_rates (ndarray, (R,)): the rates at ``reference_batch`` (per update).
        reference_batch (int): the batch size at which the base rates apply.
        seeds (tuple[int, ...]): the S seeds.
        epochs (int): epochs of every run.
        rates (ndarray, (B, R)): the rate of each run, base rate x B / reference batch.
        noise_scale (ndarray, (B, R)): Smith & Le's g of each run (:func:`sgd_noise_scale`).
        test_acc (ndarray, (B, S, R)): test accuracy in percent (float32), NaN for a diverged run.
    """

    batch_sizes: tuple[int, ...]
    base_rates: np.ndarray
    reference_batch: int
    seeds: tuple[int, ...]
    epochs: int
    rates: np.ndarray
    noise_scale: np.ndarray
    test_acc: np.ndarray

    @property
    def mean_test_acc(self) -> np.ndarray:
        """(B, R): mean test accuracy over the seeds that did not diverge, in percent."""
        return _nanmean(self.test_acc, axis=1)

    @property
    def spread_at_equal_noise(self) -> np.ndarray:
        """(R,): for each base rate (one g), the largest minus the smallest mean accuracy over batch sizes."""
        return np.ptp(self.mean_test_acc, axis=0)

    def row(self, batch_size: int) -> int:
        """The row of ``batch_size`` in the (B, ...) arrays.

        Raises:
            ValueError: ``batch_size`` was not trained.
        """
        return self.batch_sizes.index(checks.choice(batch_size, "batch_size", self.batch_sizes))


def equal_noise_pairs(data: Splits, *, batch_sizes: Sequence[int], base_rates, reference_batch: int,
                      epochs: int, seeds: Sequence[int], momentum: float = 0.0,
                      model: Model = "textbook") -> NoisePairs:
    """Smith & Le's (2018) test: runs of equal noise scale should reach equal accuracy.

    For every batch size B and base rate :math:`\\epsilon_0`, train with
    :math:`\\epsilon = \\epsilon_0 B / B_{\\text{ref}}`, so that every run of one base
    rate has the same :math:`g \\approx \\epsilon N / (B (1 - m))`.  One grid per
    batch size (all rates x all seeds; initial weights and data order from the
    seed); test accuracy at the end, NaN for a diverged run.

    Args:
        data (Splits): training and test examples (N = its training examples).
        batch_sizes (sequence of int): examples per update, each in [1, N].
        base_rates (sequence of float): rates at ``reference_batch`` (per update), > 0.
        reference_batch (int): :math:`B_{\\text{ref}}` (examples), >= 1.
        epochs (int): epochs of every run, >= 1.
        seeds (sequence of int): distinct seeds >= 0.
        momentum (float): heavy-ball momentum m in [0, 1). Default 0.
        model (str or callable): as :func:`lib.core.engine.train_grid`. Default ``"textbook"``.

    Returns:
        NoisePairs: the per-seed record.

    Raises:
        TypeError: an argument of the wrong type (``data`` not ``Splits``); as
            :func:`lib.core.engine.train_grid`.
        ValueError: an argument out of range, ``data`` without a test split; as
            :func:`lib.core.engine.train_grid`.
    """
    seeds, epochs, momentum = _check_experiment(data, seeds, epochs, momentum)
    batch_sizes = checks.integers(batch_sizes, "batch_sizes", minimum=1, distinct=True)
    base_rates = checks.rates(base_rates, "base_rates")
    reference_batch = checks.int_at_least(reference_batch, "reference_batch")
    rates = np.array([base_rates * b / reference_batch for b in batch_sizes])              # (B, R)
    noise = np.array([[sgd_noise_scale(r, data.n_train, b, momentum=momentum) for r in row]
                      for b, row in zip(batch_sizes, rates)])                             # (B, R)
    accuracy = np.stack([100 * _test_accuracy(data, b, epochs, rates=row, seeds=seeds, momentum=momentum,
                                              model=model) for b, row in zip(batch_sizes, rates)])  # (B, S, R)
    return NoisePairs(batch_sizes=batch_sizes, base_rates=base_rates, reference_batch=reference_batch,
                      seeds=seeds, epochs=epochs, rates=rates, noise_scale=noise, test_acc=accuracy)


@dataclass(frozen=True)
class BestBatchStudy:
    """The best batch size for several training-set sizes N and rates :math:`\\epsilon`, read two ways.

    *At equal epochs* (the end of every run) a larger batch also makes fewer updates, so the
    noise scale g and the number of updates change together.  *At equal updates* every batch size
    is read after the same number U of updates (the updates the largest batch makes in the run,
    per N): with :math:`\\epsilon` and the momentum fixed, U updates integrate the same "time"
    :math:`\\epsilon U / (1 - m)` of Smith & Le's differential equation, so what differs between
    the batch sizes is the noise (and the examples seen, U B).

    Attributes:
        train_sizes (tuple[int, ...]): the N training-set sizes (the first examples).
        rates (ndarray, (R,)): learning rates (per update).
        batch_sizes (tuple[int, ...]): the Bs batch sizes, a geometric grid.
        seeds (tuple[int, ...]): the S seeds.
        epochs (int): epochs of every run.
        momentum (float): heavy-ball momentum.
        test_acc (ndarray, (N, Bs, S, R)): test accuracy in percent (float32) at the end, NaN for a diverged run.
        mean_test_acc (ndarray, (N, R, Bs)): 100 x the mean accuracy over the seeds that did not diverge.
        best_batch (ndarray, (N, R)): :func:`best_batch_size` of each row of ``mean_test_acc``.
        noise_scale (ndarray, (N, R)): g at the best batch size (:func:`sgd_noise_scale` with N examples).
        equal_updates (tuple[int, ...]): U for each N, updates: ``epochs`` x the updates per epoch of
            the largest batch size.
        test_acc_equal_updates (ndarray, (N, Bs, S, R)): test accuracy in percent after U updates.
        mean_test_acc_equal_updates (ndarray, (N, R, Bs)): its mean over the seeds.
        best_batch_equal_updates (ndarray, (N, R)): :func:`best_batch_size` of each of its rows.
    """

    train_sizes: tuple[int, ...]
    rates: np.ndarray
    batch_sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    epochs: int
    momentum: float
    test_acc: np.ndarray
    mean_test_acc: np.ndarray
    best_batch: np.ndarray
    noise_scale: np.ndarray
    equal_updates: tuple[int, ...]
    test_acc_equal_updates: np.ndarray
    mean_test_acc_equal_updates: np.ndarray
    best_batch_equal_updates: np.ndarray

    @property
    def rate_factor(self) -> float:
        """How much the best batch grows from the first rate to the last, mean over training-set sizes."""
        return float(np.mean(self.best_batch[:, -1] / self.best_batch[:, 0]))

    @property
    def size_factor(self) -> float:
        """How much the best batch grows from the first training-set size to the last, mean over rates."""
        return float(np.mean(self.best_batch[-1, :] / self.best_batch[0, :]))

    def seed_best_batch(self, equal_updates: bool = False) -> np.ndarray:
        """(N, R, S): each seed's own best batch size (:func:`best_batch_size` of its accuracies),
        at the end of the runs or, with ``equal_updates``, after U updates."""
        checks.flag(equal_updates, "equal_updates")
        acc = self.test_acc_equal_updates if equal_updates else self.test_acc          # (N, Bs, S, R)
        return np.array([[[best_batch_size(self.batch_sizes, acc[i, :, s, j]) for s in range(len(self.seeds))]
                          for j in range(len(self.rates))] for i in range(len(self.train_sizes))])

    def growth_interval(self, along: str, equal_updates: bool = False, confidence: float = 0.95) -> SeedInterval:
        """How much the best batch grows from the first rate to the last (``along="rate"``) or from
        the first training-set size to the last (``along="size"``), one number per seed.

        Each seed's value is :math:`\\log_2` of its own best batch at the last rate (size) over that
        at the first, averaged over the training-set sizes (rates); runs of one seed share their
        initial weights, so the ratio is paired.  Smith & Le predict :math:`\\log_2` of the rate
        ratio (size ratio).

        Returns:
            SeedInterval (:mod:`lib.sharpness.seed_intervals`) of the per-seed log2 growth factors.

        Raises:
            ValueError: ``along`` is not ``"rate"`` or ``"size"``; fewer than 2 seeds; as
                :func:`lib.sharpness.seed_intervals.seed_interval`.
        """
        along = checks.choice(along, "along", ("rate", "size"))
        log_best = np.log2(self.seed_best_batch(equal_updates))                        # (N, R, S)
        growth = (log_best[:, -1] - log_best[:, 0]).mean(axis=0) if along == "rate" \
            else (log_best[-1] - log_best[0]).mean(axis=0)                               # (S,)
        return seed_interval(growth, confidence)


def best_batch_study(data: Splits, *, train_sizes: Sequence[int], rates, batch_sizes: Sequence[int],
                     epochs: int, seeds: Sequence[int], momentum: float = 0.0,
                     model: Model = "textbook") -> BestBatchStudy:
    """Smith & Le's (2018) prediction: the best batch size grows in proportion to :math:`\\epsilon N`.

    For every training-set size N (the first N training examples) and batch
    size, one grid of every rate x every seed trains for the same number of
    epochs; the test accuracy (on the whole test split) is averaged over the seeds
    that did not diverge, and :func:`best_batch_size` refines the peak over the
    batch sizes for each (N, rate).  The same runs are also read after U updates,
    U = ``epochs`` x the updates per epoch of the largest batch (the weights are
    copied at that update during training), which gives the best batch size at equal
    updates (see :class:`BestBatchStudy`).

    Args:
        data, epochs, seeds, momentum, model: as in :func:`equal_noise_pairs`.
        train_sizes (sequence of int): the training-set sizes, each in [max(batch_sizes), N].
        rates (sequence of float): learning rates (per update), > 0.
        batch_sizes (sequence of int): a geometric grid of at least 3 increasing sizes.

    Returns:
        BestBatchStudy: the per-seed record.

    Raises:
        TypeError, ValueError: as :func:`equal_noise_pairs`.
    """
    seeds, epochs, momentum = _check_experiment(data, seeds, epochs, momentum)
    train_sizes = checks.integers(train_sizes, "train_sizes", minimum=1, distinct=True)
    rates = checks.rates(rates, "rates")
    batch_sizes = checks.integers(batch_sizes, "batch_sizes", minimum=1, minimum_count=3, distinct=True)
    for n in train_sizes:
        if not max(batch_sizes) <= n <= data.n_train:
            raise ValueError(f"train_sizes must each lie in [{max(batch_sizes)}, {data.n_train}] (the largest "
                             f"batch size, the training examples), got {n}")
    updates = tuple(epochs * steps_per_epoch(n, max(batch_sizes)) for n in train_sizes)
    final, equal = [], []                                                                 # per N: (Bs, S, R)
    for n, u in zip(train_sizes, updates):
        runs = [_test_accuracy(data.subset(n_train=n), b, epochs, rates=rates, seeds=seeds, momentum=momentum,
                               model=model, at_update=u) for b in batch_sizes]
        final.append(np.stack([end for end, _ in runs]))
        equal.append(np.stack([at_u for _, at_u in runs]))
    fraction, fraction_u = np.stack(final), np.stack(equal)                               # (N, Bs, S, R)

    def summary(values):
        mean = np.moveaxis(100 * _nanmean(values, axis=2), 1, 2)                          # (N, R, Bs)
        return mean, np.array([[best_batch_size(batch_sizes, row) for row in rows] for rows in mean])  # (N, R)

    mean, best = summary(fraction)
    mean_u, best_u = summary(fraction_u)
    noise = np.array([[sgd_noise_scale(r, n, b, momentum=momentum) for r, b in zip(rates, row)]
                      for n, row in zip(train_sizes, best)])                               # (N, R)
    return BestBatchStudy(train_sizes=train_sizes, rates=rates, batch_sizes=batch_sizes, seeds=seeds,
                          epochs=epochs, momentum=momentum, test_acc=100 * fraction, mean_test_acc=mean,
                          best_batch=best, noise_scale=noise, equal_updates=updates,
                          test_acc_equal_updates=100 * fraction_u, mean_test_acc_equal_updates=mean_u,
                          best_batch_equal_updates=best_u)
