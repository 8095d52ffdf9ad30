"""Batch size 1 (online learning) and its rate, and whether larger rates generalise better.

The textbook (``aiedu2020lr`` in references.bib) makes two claims this module measures on the chapter's network:

1. with a batch of one example the gradient is so noisy that "a very small learning rate is usually
   used", which suits online (streaming) learning;
2. "use as large a learning rate as you can, since many studies show that larger rates improve
   generalisation".

:func:`rate_sweep` trains a shared geometric grid of rates at several batch sizes, batch 1
included, every rate x every seed as one grid of the engine per batch size (the runs of one seed
share their initial weights and data order), and records the training loss, the validation loss
and the validation accuracy at a few points of each run (:class:`RateSweep`).

* :func:`linear_scaling_check` (claim 1): each seed's best rate at every batch size is the vertex
  of a parabola in :math:`\\log\\eta` through the lowest final validation loss
  (:func:`lib.batch_size.scaling_fit.interpolated_minimum`); the linear scaling rule of Goyal et al.
  (2017), :math:`\\eta^*(B) \\propto B`, fitted to the larger batches predicts the best rate at the
  smallest one; the per-seed log ratio measured / predicted and its t interval decide
  (:mod:`lib.sharpness.seed_intervals`).
* :func:`rate_generalization` (claim 2): the validation accuracy of each rate *at equal training
  loss* (where the run first reaches a common target loss, interpolated between evaluations) and
  at the end of the run (*equal updates*); one least-squares slope of accuracy against
  :math:`\\log_2\\eta` per seed, and the t interval of the slopes: above 0, the claim holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from torch import nn

from lib.batch_size.critical_batch import crossing_step
from lib.batch_size.scaling_fit import ScalingFit, fit_scaling, interpolated_minimum
from lib.core import checks, stats
from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.members import Member

from .seed_intervals import SeedInterval, seed_interval

Model = str | Callable[[int], nn.Module]


@dataclass(frozen=True)
class RateSweep:
    """A grid of rates at several batch sizes, every run evaluated a few times.

    Attributes:
        batch_sizes (tuple[int, ...]): the Bn batch sizes, increasing.
        rates (ndarray, (R,)): the learning rates (per update), increasing, the same at every batch size.
        seeds (tuple[int, ...]): the S seeds (initial weights and data order).
        epochs (int): epochs of every run.
        momentum (float): heavy-ball momentum of every run.
        train_size (int): N, the training examples.
        eval_steps (tuple of ndarray): per batch size, the T_b update counts of the evaluations.
        train_loss (tuple of ndarray): per batch size, (S, R, T_b): loss on all N training examples,
            NaN once the run diverged.
        val_loss, val_acc (tuple of ndarray): the same on the validation split (accuracy in percent).
        diverged (ndarray, (Bn, S, R)): whether each run diverged.
    """

    batch_sizes: tuple[int, ...]
    rates: np.ndarray
    seeds: tuple[int, ...]
    epochs: int
    momentum: float
    train_size: int
    eval_steps: tuple[np.ndarray, ...]
    train_loss: tuple[np.ndarray, ...]
    val_loss: tuple[np.ndarray, ...]
    val_acc: tuple[np.ndarray, ...]
    diverged: np.ndarray

    def row(self, batch_size: int) -> int:
        """The index of ``batch_size`` in ``batch_sizes``.

        Raises:
            ValueError: ``batch_size`` was not trained.
        """
        return self.batch_sizes.index(checks.choice(batch_size, "batch_size", self.batch_sizes))

    @property
    def final_val_loss(self) -> np.ndarray:
        """(Bn, S, R): the validation loss at the end of each run, NaN for a diverged run."""
        return np.stack([np.where(dead, np.nan, loss[..., -1]) for loss, dead in zip(self.val_loss, self.diverged)])

    def best_rates(self) -> np.ndarray:
        """(Bn, S): each seed's interpolated best rate at each batch size, by the final validation loss
        (:func:`lib.batch_size.scaling_fit.interpolated_minimum`).

        Raises:
            ValueError: every rate of some seed and batch size diverged.
        """
        final = self.final_val_loss
        return np.array([[interpolated_minimum(self.rates, final[i, s]) for s in range(len(self.seeds))]
                         for i in range(len(self.batch_sizes))])


def rate_sweep(data: Splits, *, batch_sizes: Sequence[int], rates, epochs: int, seeds: Sequence[int],
               momentum: float = 0.0, evaluations: int = 8, model: Model = "textbook") -> RateSweep:
    """Train every rate x every seed at each batch size (one engine grid per batch size).

    Every run takes ``epochs`` passes over the training data (so a smaller batch makes more
    updates: N/B per epoch), and is evaluated ``evaluations`` times at equal spacing in epochs,
    and at the start, on all its training examples and on the validation split.

    Args:
        data (Splits): training and validation examples (N = its training examples).
        batch_sizes (sequence of int): distinct batch sizes, each in [1, N]; 1 is online learning.
        rates (sequence of float): learning rates (per update), > 0, increasing.
        epochs (int): epochs of every run, >= 1.
        seeds (sequence of int): distinct seeds >= 0, at least 2 (the verdicts need a spread).
        momentum (float): heavy-ball momentum in [0, 1). Default 0.
        evaluations (int): evaluations after the start, >= 1. Default 8.
        model (str or callable): as :func:`lib.core.engine.train_grid`. Default ``"textbook"``.

    Returns:
        RateSweep.

    Raises:
        TypeError: an argument of the wrong type (``data`` not ``Splits``).
        ValueError: an argument out of range, ``data`` without a validation split, fewer than 2
            seeds, a batch size larger than N; as :func:`lib.core.engine.train_grid`.
    """
    checks.splits(data, validation=True)
    sizes = tuple(sorted(checks.integers(batch_sizes, "batch_sizes", minimum=1, distinct=True)))
    for b in sizes:
        checks.batch_size(b, data.n_train, "batch_sizes")
    rates = checks.rates(rates, "rates", increasing=True)
    epochs = checks.int_at_least(epochs, "epochs")
    seeds = checks.seeds(seeds)
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (the verdicts need a spread), got {list(seeds)}")
    momentum = checks.fraction(momentum, "momentum")
    evaluations = checks.int_at_least(evaluations, "evaluations")
    members = [Member(lr=float(r), momentum=momentum, init_seed=s, data_seed=s) for r in rates for s in seeds]
    steps, train, val, acc, dead = [], [], [], [], []
    for b in sizes:
        history = train_grid(members, data, model=model, batch_size=b, epochs=epochs,
                             eval_every=epochs / evaluations, train_eval_size=None).history
        steps.append(np.asarray(history.eval_step))
        for out, values in ((train, history.train_loss), (val, history.val_loss), (acc, 100 * history.val_acc)):
            out.append(stats.by_seed(values.astype(np.float64), len(seeds)))          # (R*S, T) -> (S, R, T)
        dead.append(stats.by_seed(history.diverged, len(seeds)))                       # (S, R)
    return RateSweep(batch_sizes=sizes, rates=rates, seeds=seeds, epochs=epochs, momentum=momentum,
                     train_size=data.n_train, eval_steps=tuple(steps), train_loss=tuple(train),
                     val_loss=tuple(val), val_acc=tuple(acc), diverged=np.stack(dead))


@dataclass(frozen=True)
class LinearScalingCheck:
    """The best rate at the smallest batch, measured and predicted by the linear rule from larger ones.

    Attributes:
        batch_size (int): the batch size tested (the sweep's smallest, 1 for online learning).
        base_batches (tuple[int, ...]): the larger batch sizes the prediction comes from.
        best_rates (ndarray, (Bn, S)): every seed's interpolated best rate at every batch size.
        measured (ndarray, (S,)): each seed's best rate at ``batch_size``.
        predicted (ndarray, (S,)): each seed's linear-rule prediction,
            :math:`B \\cdot \\operatorname{geomean}_b(\\eta^*_b / b)` over the base batches.
        log2_ratio (SeedInterval): :math:`\\log_2` (measured / predicted) over the seeds.
        tolerance (float): the agreement band, in factors of 2 (1: within a factor of 2).
        slope (ScalingFit or None): the free slope of :math:`\\log\\eta^*` against :math:`\\log B` over
            the base batches (:func:`lib.batch_size.scaling_fit.fit_scaling`), None with one base batch.
    """

    batch_size: int
    base_batches: tuple[int, ...]
    best_rates: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    log2_ratio: SeedInterval
    tolerance: float
    slope: ScalingFit | None

    @property
    def verdict(self) -> str:
        """``holds`` (the interval of the log ratio lies within +- ``tolerance``), ``does not hold``
        (it lies wholly outside), or ``not settled``."""
        return self.log2_ratio.agreement_verdict(0.0, self.tolerance)

    @property
    def ratio(self) -> float:
        """Measured over predicted, :math:`2^{\\text{mean log}_2 \\text{ratio}}` (a geometric mean over seeds)."""
        return float(2.0 ** self.log2_ratio.mean)


def linear_scaling_check(sweep: RateSweep, tolerance: float = 1.0, confidence: float = 0.95) -> LinearScalingCheck:
    """Is the best rate at the sweep's smallest batch what the linear rule predicts from the others?

    Per seed, the prediction is :math:`\\eta^*(B_1) = B_1 \\exp\\big(\\operatorname{mean}_b \\log(\\eta^*_b / b)\\big)`
    over the larger batch sizes b (linear scaling, Goyal et al. 2017, fitted with its slope held at
    1); the verdict reads the t interval of :math:`\\log_2` measured / predicted against the band
    +- ``tolerance``.

    Args:
        sweep (RateSweep): at least 2 batch sizes.
        tolerance (float): the band, in factors of 2, > 0. Default 1 (a factor of 2, one step of a
            rate grid spaced by factors of 2).
        confidence (float): the interval's coverage, in (0, 1). Default 0.95.

    Returns:
        LinearScalingCheck.

    Raises:
        TypeError: ``sweep`` is not a RateSweep.
        ValueError: fewer than 2 batch sizes, ``tolerance`` not > 0; as :func:`seed_interval`.
    """
    if not isinstance(sweep, RateSweep):
        raise TypeError(f"sweep must be a RateSweep (from rate_sweep), got {type(sweep).__name__}")
    if len(sweep.batch_sizes) < 2:
        raise ValueError(f"sweep must hold at least 2 batch sizes, got {list(sweep.batch_sizes)}")
    tolerance = checks.positive(tolerance, "tolerance")
    best = sweep.best_rates()                                                          # (Bn, S)
    sizes = np.asarray(sweep.batch_sizes, dtype=np.float64)
    per_example = np.log(best[1:] / sizes[1:, None]).mean(axis=0)                      # (S,) log(eta*/b)
    predicted = sizes[0] * np.exp(per_example)
    ratio = seed_interval(np.log2(best[0] / predicted), confidence)
    slope = fit_scaling(sweep.batch_sizes[1:], best[1:], confidence) if len(sizes) > 2 else None
    return LinearScalingCheck(batch_size=sweep.batch_sizes[0], base_batches=sweep.batch_sizes[1:], best_rates=best,
                              measured=best[0], predicted=predicted, log2_ratio=ratio, tolerance=tolerance,
                              slope=slope)


@dataclass(frozen=True)
class RateGeneralization:
    """Validation accuracy against the rate, at equal training loss and at equal updates, one batch size.

    Attributes:
        batch_size (int): the batch size.
        target_loss (float): the training loss at which the rates are compared.
        rates (ndarray, (r,)): the rates compared: no seed diverged and every seed reached the target.
        acc_at_loss (ndarray, (S, r)): validation accuracy (%) where the training loss first reaches
            the target, interpolated between evaluations.
        acc_at_end (ndarray, (S, r)): validation accuracy (%) at the end (equal updates).
        loss_at_end (ndarray, (S, r)): training loss at the end.
        slope_at_loss (SeedInterval): per seed, the least-squares slope of ``acc_at_loss`` against
            :math:`\\log_2\\eta` (percentage points per doubling of the rate).
        slope_at_end (SeedInterval): the same for ``acc_at_end``.
    """

    batch_size: int
    target_loss: float
    rates: np.ndarray
    acc_at_loss: np.ndarray
    acc_at_end: np.ndarray
    loss_at_end: np.ndarray
    slope_at_loss: SeedInterval
    slope_at_end: SeedInterval

    @property
    def verdict(self) -> str:
        """At equal training loss: ``holds`` (every slope in the interval > 0), ``does not hold`` (< 0),
        or ``not settled``."""
        return self.slope_at_loss.sign_verdict()


def _slopes(log2_rates: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(S,): the least-squares slope of each row of ``values`` (S, r) against ``log2_rates`` (r,)."""
    x = log2_rates - log2_rates.mean()
    return (values - values.mean(axis=1, keepdims=True)) @ x / (x @ x)


def rate_generalization(sweep: RateSweep, batch_size: int, *, rates_compared: int = 3,
                        confidence: float = 0.95) -> RateGeneralization:
    """Do larger rates generalise better at ``batch_size``?  Compared at equal training loss.

    The rates compared are those that no seed diverged at; each reaches, in its worst seed, some
    lowest training loss, and the target is the ``rates_compared``-th lowest of these, so that at
    least that many rates reach it in every seed.  Each run's validation accuracy where it first
    reaches the target (:func:`lib.batch_size.critical_batch.crossing_step`, then linear
    interpolation of the accuracy in the update count) is regressed on :math:`\\log_2\\eta`, one
    slope per seed; the same for the final accuracy (equal updates).

    Args:
        sweep (RateSweep): the runs.
        batch_size (int): one of the sweep's batch sizes.
        rates_compared (int): at least this many rates are compared, >= 2. Default 3.
        confidence (float): the intervals' coverage, in (0, 1). Default 0.95.

    Returns:
        RateGeneralization.

    Raises:
        TypeError: ``sweep`` is not a RateSweep, ``rates_compared`` not an int.
        ValueError: ``batch_size`` not in the sweep; fewer than ``rates_compared`` rates that no
            seed diverged at.
    """
    if not isinstance(sweep, RateSweep):
        raise TypeError(f"sweep must be a RateSweep (from rate_sweep), got {type(sweep).__name__}")
    i = sweep.row(batch_size)
    rates_compared = checks.int_at_least(rates_compared, "rates_compared", 2)
    train, steps = sweep.train_loss[i], sweep.eval_steps[i]                             # (S, R, T), (T,)
    alive = ~sweep.diverged[i].any(axis=0) & np.isfinite(train).all(axis=(0, 2))       # (R,)
    if alive.sum() < rates_compared:
        raise ValueError(f"rates_compared is {rates_compared}, but only {int(alive.sum())} rates trained without "
                         f"diverging at batch size {batch_size}")
    reached = np.where(alive, train.min(axis=2).max(axis=0), np.inf)                   # (R,) worst seed's lowest
    target = float(np.sort(reached)[rates_compared - 1])
    keep = np.flatnonzero(reached <= target)
    at_loss = np.empty((len(sweep.seeds), keep.size))
    for s in range(len(sweep.seeds)):
        for c, r in enumerate(keep):
            step = crossing_step(steps, train[s, r], target)
            at_loss[s, c] = np.interp(step, steps, sweep.val_acc[i][s, r])
    at_end = sweep.val_acc[i][:, keep, -1]
    x = np.log2(sweep.rates[keep])
    return RateGeneralization(batch_size=batch_size, target_loss=target, rates=sweep.rates[keep], acc_at_loss=at_loss,
                              acc_at_end=at_end, loss_at_end=train[:, keep, -1],
                              slope_at_loss=seed_interval(_slopes(x, at_loss), confidence),
                              slope_at_end=seed_interval(_slopes(x, at_end), confidence))
