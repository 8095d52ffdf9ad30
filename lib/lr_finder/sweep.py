"""Smith's learning-rate range test: one network, one mini-batch per rate, the rate growing each update.

Update i of a sweep of N updates trains one mini-batch at the rate
(:cite:`smith2017cyclical`, section 3.3; :func:`sweep_rates`)

    eta_i = start * (end / start) ** (i / (N - 1))        (or linearly from start to end),

and records the mini-batch loss just before the update.  The losses are smoothed
by the bias-corrected exponential moving average of :func:`lib.core.stats.ema`;
the sweep stops once that running average exceeds ``stop_factor`` times its
lowest value so far, or at once when a loss is not finite.  It runs on the
chapter's single-network loop (:func:`lib.core.loop.train_steps`) with the
batches of the one data order (:class:`lib.core.order.DataOrder`), inside
:func:`lib.core.loop.restored`: the model, its gradients and modes, the
optimiser and torch's random state come back exactly, whatever happens.

The running average runs late (:func:`lib.core.stats.smoothing_lag`;
:func:`smoothing_lag_factor` in rate), so the finished sweep is read from the
zero-lag :func:`lib.core.stats.smooth_centered` instead, by the rules of
:mod:`lib.lr_finder.rules`.  :func:`suggestions_across_seeds` summarises the
suggestions of several sweeps.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from lib.core import checks
from lib.core.data import Splits
from lib.core.loop import check_optimizer, restored, train_steps
from lib.core.losses import mean_loss_function
from lib.core.order import DataOrder
from lib.core.stats import ema, median_range, smooth_centered, smoothing_lag

from .rules import RULES, suggest

SWEEP_MODES = ("exp", "linear")
#: The curves the suggestions can be read from: the zero-lag smoothing, or the running average.
READ_FROM = ("centered", "running")


def sweep_rates(start: float, end: float, steps: int, mode: str = "exp") -> np.ndarray:
    """The rate of each update of a range test (:cite:`smith2017cyclical`, section 3.3).

    ``exp``:    eta_i = start * (end / start) ** (i / (steps - 1))
    ``linear``: eta_i = start + (end - start) * i / (steps - 1),   i = 0 .. steps - 1,

    the schedules of torch-lr-finder's ``ExponentialLR`` and ``LinearLR``.

    Args:
        start (float): the first rate (per update), > 0.
        end (float): the last rate, > ``start``.
        steps (int): updates, >= 2.
        mode (str): ``"exp"`` or ``"linear"``. Default ``"exp"``.

    Returns:
        ndarray (steps,): float64 rates.

    Raises:
        TypeError: a rate that is not a number, ``steps`` that is not an int.
        ValueError: rates not finite and > 0, ``end`` <= ``start``, ``steps`` < 2, an unknown mode.
    """
    start, end = checks.positive(start, "start"), checks.positive(end, "end")
    steps = checks.integer(steps, "steps", minimum=2)
    if not end > start:
        raise ValueError(f"end must be larger than start, got start={start:g}, end={end:g}")
    checks.choice(mode, "mode", SWEEP_MODES)
    return _rate_at(np.arange(steps, dtype=np.float64), start, end, steps, mode)


def _rate_at(position: np.ndarray, start: float, end: float, steps: int, mode: str) -> np.ndarray:
    """The sweep's rate at a (possibly fractional) update index."""
    fraction = np.asarray(position, dtype=np.float64) / (steps - 1)
    if mode == "exp":
        return start * (end / start) ** fraction
    return start + (end - start) * fraction


def smoothing_lag_factor(beta: float, start: float, end: float, steps: int, mode: str = "exp") -> float:
    """The factor by which a running average runs late at the end of a sweep, in rate.

    .. math:: \\eta_{N-1} / \\eta(N - 1 - \\ell_N),

    with :math:`\\ell_N` the lag of :func:`lib.core.stats.smoothing_lag` after the
    sweep's N updates and :math:`\\eta(\\cdot)` the sweep's rate at a fractional update.

    Args:
        beta (float): the running average's smoothing factor in [0, 1).
        start, end, steps, mode: the sweep, as in :func:`sweep_rates`.

    Returns:
        float: the factor, >= 1.

    Raises:
        TypeError, ValueError: as :func:`sweep_rates` and :func:`lib.core.stats.smoothing_lag`.
    """
    rates = sweep_rates(start, end, steps, mode)
    lag = float(smoothing_lag(beta, steps))
    return float(rates[-1] / _rate_at(np.array(steps - 1 - lag), rates[0], rates[-1], steps, mode))


@dataclass(frozen=True)
class RangeTest:
    """The record of one sweep (:func:`lr_range_test`), of the T updates it took.

    Attributes:
        lrs (ndarray, (T,)): the rate of each update.
        losses (ndarray, (T,)): the mini-batch loss measured just before each update.
        smoothed (ndarray, (T,)): the running average (:func:`lib.core.stats.ema`) that
            decided the stop, NaN where a loss was not finite: what the popular finders
            plot, late by :func:`lib.core.stats.smoothing_lag`.
        centered (ndarray, (T,)): the zero-lag :func:`lib.core.stats.smooth_centered` of
            the finite losses, which the suggestions are read from (by default).
        stopped_at (int): the update at which the stop rule fired; -1 if the sweep ran to ``end``.
        stop_reason (str): why it stopped.
        suggestions (dict[str, float]): each rule of :data:`lib.lr_finder.rules.RULES`
            -> its rate (NaN if the curve is too short for it).
        settings (dict): the sweep's settings, ``read_window`` included.
        seconds (float): wall-clock time of the sweep.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    centered: np.ndarray
    stopped_at: int
    stop_reason: str
    suggestions: dict[str, float]
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def stop_lr(self) -> float:
        """The rate at which the sweep stopped (the last rate if it did not)."""
        return float(self.lrs[self.stopped_at] if self.stopped_at >= 0 else self.lrs[-1])


class _StopRule:
    """The ``on_step`` callback that stops a sweep: s_t > stop_factor * min_{j <= t} s_j.

    That reading assumes a positive loss.  For a loss that reaches 0 or goes below it
    (a reader's own, say a negative log-likelihood with a constant dropped), the
    rise above the best is measured against its size instead:
    s_t - best > (stop_factor - 1) |best|, which is the same test when best > 0.

    s_t is the bias-corrected average of :func:`lib.core.stats.ema`, kept online,
    one loss at a time (m_t = beta m_(t-1) + (1 - beta) L_t, s_t = m_t / (1 - beta^t)),
    because the decision must be taken while the sweep runs; the same two products
    and the same division as ``ema``, so the record's ``smoothed`` (computed by
    ``ema`` afterwards) is the curve that decided.
    """

    def __init__(self, beta: float, stop_factor: float):
        self.beta, self.stop_factor = beta, stop_factor
        self.average, self.best = 0.0, math.inf

    def __call__(self, step: int, loss: float) -> str | None:
        self.average = self.beta * self.average + (1.0 - self.beta) * loss
        smoothed = self.average / (1.0 - self.beta ** (step + 1))
        self.best = min(self.best, smoothed)
        if self.best > 0:
            exceeded = smoothed > self.stop_factor * self.best
        else:   # a loss of one's own that reaches 0 or below: the rise measured against |best|
            exceeded = smoothed - self.best > (self.stop_factor - 1.0) * abs(self.best)
        if exceeded:
            return f"the smoothed loss exceeded {self.stop_factor:g} x its minimum"
        return None


def lr_range_test(model: nn.Module, data: Splits, *, optimizer: torch.optim.Optimizer | None = None,
                  start: float = 1e-5, end: float = 10.0, steps: int = 100, mode: str = "exp",
                  beta: float = 0.98, stop_factor: float = 4.0, batch_size: int = 64,
                  loss: str | Callable = "cross_entropy", data_seed: int = 0,
                  read_from: str = "centered", read_window: int | None = None,
                  skip_start: int | None = None, skip_end: int = 5) -> RangeTest:
    """Smith's learning-rate range test on ``model``, which is left exactly as it was.

    Update i trains one mini-batch (of ``DataOrder(n, seed=data_seed).stream(batch_size)``)
    at rate ``sweep_rates(start, end, steps, mode)[i]``, applied to every parameter
    group of ``optimizer``, on :func:`lib.core.loop.train_steps`.  The loss is
    recorded before each update.  The sweep stops after update i when the smoothed
    loss exceeds ``stop_factor`` times the lowest smoothed loss so far (fastai stops
    at 4 times, torch-lr-finder at 5), or at once when a loss is NaN or infinite.
    Everything runs inside :func:`lib.core.loop.restored`: the model's weights,
    gradients and train/eval modes, the optimiser's state (its rates and momentum
    buffers included) and torch's global random state come back bit for bit, even
    if the sweep fails.

    The running average decides the stop, since it must be computed as the sweep
    goes; the suggestions (:func:`lib.lr_finder.rules.suggest`) are read off the
    finished curve, by default its zero-lag smoothing (``read_from="centered"``),
    or, as the popular finders do, off the running average (``"running"``),
    without the first ``skip_start`` and last ``skip_end`` updates.  The centered
    curve is :func:`lib.core.stats.smooth_centered` with a time constant of
    ``read_window`` updates (beta = 1 - 1 / read_window): narrower than the running
    average's, because a window of w updates rounds off every feature of the curve
    narrower than w, lag or no lag, and the bottom of a range test's curve is narrow.

    Args:
        model (nn.Module): the network, on ``data``'s device.
        data (Splits): the training split is swept.
        optimizer (torch.optim.Optimizer, optional): holds (some of) the model's
            parameters. Default ``torch.optim.SGD(model.parameters(), lr=start)``.
        start (float): first rate (per update). Default 1e-5.
        end (float): last rate. Default 10.
        steps (int): updates, >= 2. Default 100.
        mode (str): ``"exp"`` or ``"linear"`` (:func:`sweep_rates`). Default ``"exp"``.
        beta (float): smoothing factor of the running average, in [0, 1). Default 0.98.
        stop_factor (float): stop when the running average exceeds this times its
            minimum, > 1. Default 4.
        batch_size (int): examples per update, in [1, n]. Default 64.
        loss (str or callable): ``"cross_entropy"``, ``"mse"`` or a function
            ``(outputs, targets) -> scalar``. Default ``"cross_entropy"``.
        data_seed (int): seed of the data order. Default 0.
        read_from (str): ``"centered"`` or ``"running"``. Default ``"centered"``.
        read_window (int, optional): updates, >= 1. Default: 2 % of ``steps``
            (``max(1, round(steps / 50))``, 10 updates of 500).
        skip_start (int, optional): updates left out at the start. Default: ``steps // 10`` (as fastai).
        skip_end (int): updates left out at the end. Default 5 (torch-lr-finder trims 10 and 5).

    Returns:
        RangeTest: the rates, losses, both smoothings, the stop and the suggestions.

    Raises:
        TypeError: ``model`` not an ``nn.Module``, ``data`` not ``Splits``, ``optimizer``
            not an optimiser, ``loss`` neither a name nor a function, a number or an int
            of the wrong type.
        ValueError: a model without parameters, an optimiser without the model's
            parameters, model and data on different devices, an unknown loss, mode or
            ``read_from``, values out of range (see Args).
    """
    checks.module(model)
    data = checks.splits(data)
    rates = sweep_rates(start, end, steps, mode)
    steps = len(rates)
    beta = checks.fraction(beta, "beta")
    stop_factor = checks.number(stop_factor, "stop_factor", low=1.0, low_open=True)
    batch_size = checks.batch_size(batch_size, data.n_train)
    data_seed = checks.seed(data_seed, "data_seed")
    skip_start = steps // 10 if skip_start is None else checks.integer(skip_start, "skip_start", minimum=0)
    skip_end = checks.integer(skip_end, "skip_end", minimum=0)
    checks.choice(read_from, "read_from", READ_FROM)
    read_window = max(1, round(steps / 50)) if read_window is None \
        else checks.integer(read_window, "read_window", minimum=1)
    mean_loss_function(loss)  # an unknown name or a wrong type fails here, before anything runs
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=float(rates[0]))
    else:
        check_optimizer(optimizer, model)
    device = next(model.parameters()).device
    if device != data.device:
        raise ValueError(f"the model is on {device} but the data on {data.device}; move one of them")
    checks.examples(data.x_train, data.y_train, loss=loss, model=model, names=("data.x_train", "data.y_train"))

    started = time.perf_counter()
    with restored(model, optimizer):
        run = train_steps(model, optimizer, data.x_train, data.y_train,
                          DataOrder(data.n_train, seed=data_seed).stream(batch_size), rates,
                          loss=loss, on_step=_StopRule(beta, stop_factor))
    seconds = time.perf_counter() - started

    lrs, losses = rates[:run.taken], run.losses[:run.taken]
    finite = np.isfinite(losses)            # all but a non-finite last loss
    smoothed = np.full(run.taken, np.nan)
    smoothed[finite] = ema(losses[finite], beta)
    centered = np.full(run.taken, np.nan)
    centered[finite] = smooth_centered(losses[finite], 1.0 - 1.0 / read_window)
    read = centered if read_from == "centered" else smoothed
    if finite.any():
        suggestions = suggest(lrs[finite], read[finite], skip_start=skip_start, skip_end=skip_end)
    else:   # the very first loss was not finite: nothing to read, and the record says why
        suggestions = {name: math.nan for name in RULES}
    settings = dict(start=float(rates[0]), end=float(rates[-1]), steps=steps, mode=mode, beta=beta,
                    stop_factor=stop_factor, batch_size=batch_size, data_seed=data_seed,
                    read_from=read_from, read_window=read_window)
    return RangeTest(lrs=lrs, losses=losses, smoothed=smoothed, centered=centered,
                     stopped_at=run.stopped_at, stop_reason=run.reason or "the sweep reached its last rate",
                     suggestions=suggestions, settings=settings, seconds=seconds)


def suggestions_across_seeds(results: Sequence[RangeTest]) -> dict[str, tuple[float, float, float]]:
    """For each rule: the median, lowest and highest suggestion over several sweeps
    (e.g. one per initial-weight seed), ignoring NaN (:func:`lib.core.stats.median_range`).

    Args:
        results (list[RangeTest]): the sweeps.

    Returns:
        dict[str, tuple[float, float, float]]: rule name -> (median, lowest, highest);
        NaNs for a rule no sweep could read.

    Raises:
        ValueError: ``results`` is not a non-empty list.
        TypeError: an entry is not a :class:`RangeTest`.
    """
    if isinstance(results, RangeTest) or not isinstance(results, Sequence) or not results:
        raise ValueError("results must be a non-empty list of RangeTest")
    if not all(isinstance(r, RangeTest) for r in results):
        raise TypeError("every result must be a RangeTest")
    return {name: median_range([r.suggestions[name] for r in results]) for name in RULES}
