"""Smith's learning-rate range test: one network, one mini-batch per rate, the rate growing each update.

Update i of a sweep of N updates trains one mini-batch at the rate
(:cite:`smith2017cyclical`, section 3.3; :func:`sweep_rates`)

    eta_i = start * (end / start) ** (i / (N - 1))        (or linearly from start to end),

and records the mini-batch loss just before the update.  The losses are smoothed
by the bias-corrected exponential moving average of :func:`lib.core.stats.ema`;
the sweep stops once that running average exceeds ``stop_factor`` times its
lowest value so far, or at once when a loss is not finite.  :func:`range_test`
runs it on any model, iterable of batches (a ``DataLoader``), loss and
``torch.optim`` optimiser, with gradient accumulation, mixed precision and a
validation-loss mode; :func:`lr_range_test` is the same sweep on the chapter's
MNIST splits and the batches of the one data order (:class:`lib.core.order.DataOrder`).
Both run inside :func:`lib.core.loop.restored`: the model, its gradients and modes,
the optimiser and torch's random state come back exactly, whatever happens.

The running average runs late (:func:`lib.core.stats.smoothing_lag`;
:func:`smoothing_lag_factor` in rate), so the finished sweep is read from the
zero-lag :func:`lib.core.stats.smooth_centered` instead, by the rules of
:mod:`lib.lr_finder.rules`.  :func:`suggestions_across_seeds` summarises the
suggestions of several sweeps.
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from lib.core import checks
from lib.core.data import Splits
from lib.core.batches import Batches, Objective, check_source, checked_loss, device_of, examples_in, to_device, trainable
from lib.core.batches import objective as make_objective
from lib.core.loop import NOT_FINITE, check_optimizer, restored
from lib.core.losses import mean_loss_function
from lib.core.order import DataOrder
from lib.core.stats import ema, median_range, smooth_centered, smoothing_lag

from .rules import RULES, despike, suggest

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
    """Smith's learning-rate range test on the chapter's data (:class:`lib.core.data.Splits`):
    :func:`range_test` on the batches of the one data order.

    Update i trains one mini-batch of ``DataOrder(n, seed=data_seed).stream(batch_size)``
    (:class:`lib.core.order.DataOrder`) of the training split; everything else is
    :func:`range_test`'s, which this function calls (see there for the sweep, the
    stop rule, the exact restore and the suggestions), reading the plain curve
    (``despiked=False``), as section 2 does.

    Args:
        model (nn.Module): the network, on ``data``'s device.
        data (Splits): the training split is swept.
        optimizer, start, end, steps, mode, beta, stop_factor, read_from, read_window,
            skip_start, skip_end: as :func:`range_test`.
        batch_size (int): examples per update, in [1, n]. Default 64.
        loss (str or callable): ``"cross_entropy"``, ``"mse"`` or a function
            ``(outputs, targets) -> scalar``. Default ``"cross_entropy"``.
        data_seed (int): seed of the data order. Default 0.

    Returns:
        RangeTest: the rates, losses, both smoothings, the stop and the suggestions.

    Raises:
        TypeError: ``model`` not an ``nn.Module``, ``data`` not ``Splits``, ``optimizer``
            not an optimiser, ``loss`` neither a name nor a function, a number or an int
            of the wrong type.
        ValueError: a model without parameters, an optimiser without the model's
            parameters, model and data on different devices, an unknown loss, mode or
            ``read_from``, data the model cannot take, values out of range (see Args).
    """
    checks.module(model)
    data = checks.splits(data)
    batch_size = checks.batch_size(batch_size, data.n_train)
    data_seed = checks.seed(data_seed, "data_seed")
    loss_fn = mean_loss_function(loss)  # an unknown name or a wrong type fails here, before anything runs
    device = next(model.parameters()).device
    if device != data.device:
        raise ValueError(f"the model is on {device} but the data on {data.device}; move one of them")
    checks.examples(data.x_train, data.y_train, loss=loss, model=model, names=("data.x_train", "data.y_train"))
    x, y = data.x_train, data.y_train
    batches = ((x[index], y[index]) for index in
               (i.to(x.device) for i in DataOrder(data.n_train, seed=data_seed).stream(batch_size)))
    result = range_test(model, batches, loss=loss_fn, optimizer=optimizer, start=start, end=end, steps=steps,
                        mode=mode, beta=beta, stop_factor=stop_factor, read_from=read_from,
                        read_window=read_window, skip_start=skip_start, skip_end=skip_end, despiked=False)
    settings = dict(result.settings, batch_size=batch_size, data_seed=data_seed)
    for key in ("accumulate", "amp", "skipped", "validation", "despiked"):
        settings.pop(key, None)
    return replace(result, settings=settings)


#: What ``amp=True`` autocasts to, per device type: float16 on CUDA (with a ``GradScaler``), bfloat16 elsewhere.
AMP_DTYPES = {"cuda": torch.float16, "cpu": torch.bfloat16, "mps": torch.float16}


def _group_ratios(optimizer: torch.optim.Optimizer) -> list[float]:
    """Each parameter group's rate over the largest one (1 for all when every rate is 0)."""
    rates = [float(group["lr"]) for group in optimizer.param_groups]
    top = max(rates)
    return [r / top if top > 0 else 1.0 for r in rates]


def _autocast(device: torch.device, amp) -> tuple[contextlib.AbstractContextManager, torch.dtype | None]:
    """The context each forward pass runs in, and the dtype it autocasts to (None: no mixed precision)."""
    if amp is False or amp is None:
        return contextlib.nullcontext(), None
    dtype = AMP_DTYPES.get(device.type) if amp is True else amp
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"amp must be True, False or a floating-point torch dtype, got {amp!r}")
    if not torch.amp.is_autocast_available(device.type):
        raise ValueError(f"mixed precision (amp) is not available on {device.type}; pass amp=False")
    return torch.autocast(device_type=device.type, dtype=dtype), dtype


def _validation_loss(model: nn.Module, fn: Objective, source: Iterable, device: torch.device, cast) -> float:
    """The example-weighted mean loss over every batch of ``source``, in evaluation mode, without gradients
    (torch-lr-finder's validation mode)."""
    was_training = [m.training for m in model.modules()]
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for batch in source:
                batch = to_device(batch, device)
                with cast:
                    value = fn(model, batch)
                n = examples_in(batch)
                total, count = total + float(value) * n, count + n
    finally:
        for m, mode in zip(model.modules(), was_training):
            m.training = mode
    if count == 0:
        raise ValueError("val_batches is empty: it yields no batch")
    return total / count


def range_test(model: nn.Module, batches: Iterable, *, loss: Callable | None = None,
               objective: Objective | None = None, inputs: str | Sequence[str] | None = None,
               target: str | None = None, optimizer: torch.optim.Optimizer | None = None,
               start: float = 1e-5, end: float = 10.0, steps: int = 100, mode: str = "exp",
               beta: float = 0.98, stop_factor: float = 4.0, accumulate: int = 1, amp=False,
               scaler: torch.amp.GradScaler | None = None, max_skipped: int = 20,
               val_batches: Iterable | None = None, read_from: str = "centered",
               read_window: int | None = None, skip_start: int | None = None,
               skip_end: int = 5, despiked: bool = True) -> RangeTest:
    """Smith's learning-rate range test on any model, batches, loss and optimiser; the model comes back exactly.

    Optimiser step i takes ``accumulate`` batches of ``batches`` (a ``DataLoader`` or
    any iterable of batches, started again when it runs out; :class:`lib.core.batches.Batches`)
    at rate ``sweep_rates(start, end, steps, mode)[i]`` (:cite:`smith2017cyclical`,
    section 3.3).  The rate is that of the parameter group with the largest rate;
    every group is scaled with it, so the ratios between groups stay as the optimiser
    had them (a head at 10 times the body's rate stays at 10 times).  The loss of a
    step is the mean of its batches' losses, measured before the update (or, with
    ``val_batches``, the mean loss over all of them after the update, as
    torch-lr-finder's validation mode), and its gradient is that mean's: each
    batch's loss is divided by ``accumulate`` before ``backward``.

    The sweep stops after step i when the running average (bias-corrected,
    :func:`lib.core.stats.ema` with ``beta``) exceeds ``stop_factor`` times its lowest
    value so far (fastai stops at 4 times, torch-lr-finder at 5), or at once when a
    loss is NaN or infinite, before that step's update.  The suggestions of
    :mod:`lib.lr_finder.rules` are read off the finite part of the finished curve: by
    default its zero-lag smoothing (``read_from="centered"``,
    :func:`lib.core.stats.smooth_centered` with a time constant of ``read_window``
    updates, narrower than the running average's, because a window of w updates rounds
    off every feature narrower than w, lag or no lag, and the bottom of a range test's
    curve is narrow), or, as the popular finders do, the running average
    (``"running"``), without the first ``skip_start`` and last ``skip_end`` steps.

    Everything runs inside :func:`lib.core.loop.restored`: the weights and buffers
    (batch-norm statistics), gradients, train/eval modes, the optimiser's state and
    rates, torch's random state (a shuffling loader and dropout draw from it) and a
    given ``scaler``'s state come back bit for bit, even if the sweep fails.

    Mixed precision (``amp``): each forward pass and loss run under ``torch.autocast``
    (float16 on CUDA, bfloat16 on the CPU, or the dtype given); on CUDA a
    ``torch.amp.GradScaler`` scales the loss, and a step whose gradients overflow is
    skipped by the scaler and not counted: the same rate is tried again on the next
    batches, at most ``max_skipped`` times in all.

    Args:
        model (nn.Module): the network, trained in train mode during the sweep.
        batches (iterable): the training batches; a batch is ``(inputs, target)``,
            ``(input_1, ..., target)``, a dict, or anything ``objective`` takes.
        loss (callable, optional): ``loss(output, target) -> scalar``, e.g. ``nn.CrossEntropyLoss()``.
        objective (callable, optional): ``(model, batch) -> scalar``, instead of ``loss``.
        inputs (str or list[str], optional), target (str, optional): the keys of a dict batch,
            with ``loss`` (:func:`lib.core.batches.objective`).
        optimizer (torch.optim.Optimizer, optional): any ``torch.optim`` optimiser holding
            (some of) the model's parameters. Default ``torch.optim.SGD(trainable, lr=start)``.
        start (float): first rate, > 0. Default 1e-5.
        end (float): last rate, > ``start``. Default 10.
        steps (int): optimiser steps, >= 2. Default 100.
        mode (str): ``"exp"`` or ``"linear"`` (:func:`sweep_rates`). Default ``"exp"``.
        beta (float): smoothing factor of the running average, in [0, 1). Default 0.98.
        stop_factor (float): > 1. Default 4.
        accumulate (int): batches per optimiser step (gradient accumulation), >= 1. Default 1.
        amp (bool or torch.dtype): mixed precision. Default False.
        scaler (torch.amp.GradScaler, optional): the loss scaler; default one on CUDA with ``amp``.
        max_skipped (int): steps the scaler may skip before the sweep stops, >= 0. Default 20.
        val_batches (iterable, optional): held-out batches; the loss recorded at each rate is
            their mean loss after the update.
        read_from (str): ``"centered"`` or ``"running"``. Default ``"centered"``.
        read_window (int, optional): steps, >= 1. Default: 2 % of ``steps`` (``max(1, round(steps / 50))``).
        skip_start (int, optional): steps left out at the start. Default ``steps // 10`` (as fastai).
        skip_end (int): steps left out at the end. Default 5 (torch-lr-finder trims 10 and 5).
        despiked (bool): read the suggestions off the curve after
            :func:`lib.lr_finder.rules.despike`, so that one bad batch does not become the steepest fall. Default True (the chapter's
            MNIST sweeps, :func:`lr_range_test`, read the plain curve).

    Returns:
        RangeTest: rates, losses, both smoothings, the stop and the suggestions; its
        ``settings`` hold the sweep's settings and ``skipped``, the steps the scaler skipped.

    Raises:
        TypeError: ``model`` not an ``nn.Module``; ``batches`` not an iterable; neither or both
            of ``loss`` and ``objective``; ``optimizer`` not an optimiser; numbers of the wrong type.
        ValueError: no parameter that requires gradients; an optimiser without the model's
            parameters; empty batches, fewer batches per pass than ``accumulate``, a first batch
            the loss cannot take (the message names what it held); mixed precision the device
            lacks; values out of range.  All before the first update.
    """
    params = trainable(model)
    rates = sweep_rates(start, end, steps, mode)
    steps = len(rates)
    beta = checks.fraction(beta, "beta")
    stop_factor = checks.number(stop_factor, "stop_factor", low=1.0, low_open=True)
    accumulate = checks.integer(accumulate, "accumulate", minimum=1)
    max_skipped = checks.integer(max_skipped, "max_skipped", minimum=0)
    skip_start = steps // 10 if skip_start is None else checks.integer(skip_start, "skip_start", minimum=0)
    skip_end = checks.integer(skip_end, "skip_end", minimum=0)
    checks.choice(read_from, "read_from", READ_FROM)
    read_window = max(1, round(steps / 50)) if read_window is None \
        else checks.integer(read_window, "read_window", minimum=1)
    despiked = checks.flag(despiked, "despiked")
    fn = make_objective(loss, objective, inputs=inputs, target=target)
    check_source(batches, needed=accumulate)
    if val_batches is not None:
        check_source(val_batches, name="val_batches")
    if optimizer is None:
        optimizer = torch.optim.SGD(params, lr=float(rates[0]))
    else:
        check_optimizer(optimizer, model)
    device = device_of(model)
    cast, dtype = _autocast(device, amp)
    if scaler is None and dtype == torch.float16 and device.type == "cuda":
        scaler = torch.amp.GradScaler("cuda")
    if scaler is not None and not isinstance(scaler, torch.amp.GradScaler):
        raise TypeError(f"scaler must be a torch.amp.GradScaler, got {type(scaler).__name__}")
    ratios = _group_ratios(optimizer)

    started = time.perf_counter()
    stream = Batches(batches, device)
    losses = np.full(steps, np.nan)
    stopped_at, reason, skipped = -1, "", 0
    saved_scaler = None if scaler is None else copy.deepcopy(scaler.state_dict())
    rule = _StopRule(beta, stop_factor)
    with restored(model, optimizer):
        try:
            model.train()
            step = 0
            while step < steps:
                for group, ratio in zip(optimizer.param_groups, ratios):
                    group["lr"] = float(rates[step] * ratio)
                optimizer.zero_grad(set_to_none=True)
                total, finite = 0.0, True
                for _ in range(accumulate):
                    batch = stream.next()
                    with cast:
                        value = checked_loss(fn, model, batch) if stream.taken == 1 else fn(model, batch)
                    number = float(value.detach())
                    total += number
                    if not math.isfinite(number):
                        finite = False
                        break
                    part = value / accumulate if accumulate > 1 else value
                    (part if scaler is None else scaler.scale(part)).backward()
                measured = total / accumulate if finite else total
                if not finite:
                    losses[step], stopped_at, reason = measured, step, NOT_FINITE
                    break
                if scaler is None:
                    optimizer.step()
                else:
                    scale = scaler.get_scale()
                    scaler.step(optimizer)
                    scaler.update()
                    if scaler.get_scale() < scale:        # overflowing gradients: the step was skipped
                        skipped += 1
                        if skipped > max_skipped:
                            stopped_at, reason = max(step - 1, 0), f"the loss scaler skipped more than {max_skipped} steps"
                            break
                        continue
                if val_batches is not None:
                    measured = _validation_loss(model, fn, val_batches, device, cast)
                losses[step] = measured
                if not math.isfinite(measured):
                    stopped_at, reason = step, NOT_FINITE
                    break
                said = rule(step, measured)
                if said:
                    stopped_at, reason = step, said
                    break
                step += 1
        finally:
            if scaler is not None:
                scaler.load_state_dict(saved_scaler)
    seconds = time.perf_counter() - started

    taken = steps if stopped_at < 0 else stopped_at + 1
    settings = dict(start=float(rates[0]), end=float(rates[-1]), steps=steps, mode=mode, beta=beta,
                    stop_factor=stop_factor, read_from=read_from, read_window=read_window,
                    accumulate=accumulate, amp=str(dtype).replace("torch.", "") if dtype else "off",
                    skipped=skipped, validation=val_batches is not None, despiked=despiked)
    return _record(rates[:taken], losses[:taken], stopped_at, reason or "the sweep reached its last rate",
                   beta=beta, read_from=read_from, read_window=read_window, skip_start=skip_start,
                   skip_end=skip_end, settings=settings, seconds=seconds, despiked=despiked)


def _record(lrs, losses, stopped_at, reason, *, beta, read_from, read_window, skip_start, skip_end,
            settings, seconds, despiked: bool = False) -> RangeTest:
    """The :class:`RangeTest` of a finished sweep: both smoothings of the finite losses (read, with
    ``despiked``, after :func:`despike`), and the suggestions."""
    finite = np.isfinite(losses)            # all but a non-finite last loss
    smoothed = np.full(len(losses), np.nan)
    smoothed[finite] = ema(losses[finite], beta)
    centered = np.full(len(losses), np.nan)
    read_losses = despike(losses[finite]) if despiked and finite.sum() >= 3 else losses[finite]
    centered[finite] = smooth_centered(read_losses, 1.0 - 1.0 / read_window)
    read = centered if read_from == "centered" else smoothed
    if finite.any():
        suggestions = suggest(lrs[finite], read[finite], skip_start=skip_start, skip_end=skip_end)
    else:   # the very first loss was not finite: nothing to read, and the record says why
        suggestions = {name: math.nan for name in RULES}
    return RangeTest(lrs=lrs, losses=losses, smoothed=smoothed, centered=centered, stopped_at=stopped_at,
                     stop_reason=reason, suggestions=suggestions, settings=settings, seconds=seconds)


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
