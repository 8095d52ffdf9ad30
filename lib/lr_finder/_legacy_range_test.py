"""The learning-rate range test, three ways, and the rules that read a rate off it.

1. **Smith's sweep** (:func:`lr_range_test`, :cite:`smith2017cyclical`): one model,
   one mini-batch per learning rate, the rate growing exponentially (or linearly)
   from ``start`` to ``end`` over ``steps`` updates.  The mini-batch losses are
   smoothed by a bias-corrected exponential moving average (:func:`smooth`); the
   sweep stops early once the smoothed loss exceeds ``stop_factor`` times the best
   so far, or a loss is not finite.  The model, the optimiser and the random
   number generator are restored exactly afterwards, whatever happens.
2. **The textbook's segmented design** (:func:`segment_rates`,
   :func:`segmented_sweep`, :func:`zoom_rates`, :cite:`aiedu2020lr`): a list of
   rates in linear segments (its Table 12-3, :data:`TEXTBOOK_SEGMENTS`), each
   held for whole epochs or a number of updates, the loss measured on the
   training set after each; then a second, finer round past the point where the
   first was still falling, and a third around the turn.
3. **The parallel test** (:func:`parallel_range_test`): K copies of the network
   from the same initial weights, each trained at one fixed rate of a log grid
   for the same number of updates, all at once by :func:`lib.train.train_grid`.
   Its loss at a rate owes nothing to the smaller rates, unlike a sweep, whose
   loss at every rate carries the history of all the rates before it.

The suggestion rules (:data:`RULES`, :func:`suggest`) each read one rate off a
loss curve; they are applied side by side.  :func:`check_suggestions` trains with
each suggested rate (one grid) and compares validation losses.

Everything returns plain arrays in small dataclasses, so plots and tests read a
result without training again.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from numbers import Integral
from typing import Callable, Sequence

import numpy as np
import scipy.signal
import torch
import torch.nn.functional as F
from torch import nn

from . import checks, plots, widgets
from .data import Splits
from .device import seeded_generator
from .models import build_model, mlp
from .train import History, Member, grid, train_grid

SWEEP_MODES = ("exp", "linear")
LOSS_FUNCTIONS: dict[str, Callable] = {"cross_entropy": F.cross_entropy, "mse": F.mse_loss}

#: The textbook's Table 12-3: (first rate, last rate, step) of each segment.
TEXTBOOK_SEGMENTS = (
    (0.0001, 0.0009, 0.0001),
    (0.001, 0.009, 0.001),
    (0.01, 0.09, 0.01),
    (0.1, 0.9, 0.1),
    (1.0, 1.1, 0.01),
)

#: The textbook writes the regression loss as (1/2m) * sum (z - y)^2, half of
#: PyTorch's ``mse_loss``.  Gradients are linear in the loss, so SGD at rate eta on
#: c * L takes exactly the steps of SGD at rate c * eta on L: rates on the
#: textbook's scale are multiplied by this factor before training, and losses by
#: it before reporting.
TEXTBOOK_MSE_SCALE = 0.5


# --------------------------------------------------------------------------- checks

def _check_int(name: str, value, low: int = 1, high: int | None = None) -> int:
    if high is None:
        return checks.int_at_least(value, name, low)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be an int between {low} and {high}, got {value}")
    return int(value)


def _check_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_rate(name: str, value) -> float:
    return checks.positive(value, name)


def _check_beta(beta) -> float:
    beta = _check_real("beta", beta)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1) (0 = no smoothing), got {beta:g}")
    return beta


def _check_splits(data) -> Splits:
    if not isinstance(data, Splits):
        raise TypeError(f"data must be lib.data.Splits (e.g. from load_mnist), got {type(data).__name__}")
    return data


def _check_loss_name(loss) -> str:
    if loss not in LOSS_FUNCTIONS:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSS_FUNCTIONS)}")
    return loss


def _check_curve(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if lrs.ndim != 1 or lrs.shape != losses.shape:
        raise ValueError(f"lrs and losses must be 1-D arrays of one length, got shapes "
                         f"{lrs.shape} and {losses.shape}")
    if len(lrs) == 0:
        raise ValueError("the curve is empty")
    if not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError("learning rates must be finite and > 0")
    return lrs, losses


def _check_seeds(init_seeds) -> tuple[int, ...]:
    if isinstance(init_seeds, (str, bytes)) or not isinstance(init_seeds, Sequence) or not init_seeds:
        raise ValueError(f"init_seeds must be a non-empty list of ints, got {init_seeds!r}")
    return tuple(_check_int("init_seed", s, low=0) for s in init_seeds)


# --------------------------------------------------------------------------- Smith's sweep

def sweep_rates(start: float, end: float, steps: int, mode: str = "exp") -> np.ndarray:
    """The rate of each update of a range test (Smith 2017, section 3.3).

    ``exp``:    eta_i = start * (end / start) ** (i / (steps - 1))
    ``linear``: eta_i = start + (end - start) * i / (steps - 1),   i = 0 .. steps - 1,

    the schedules of torch-lr-finder's ``ExponentialLR`` and ``LinearLR``.
    """
    start, end = _check_rate("start", start), _check_rate("end", end)
    steps = _check_int("steps", steps, low=2)
    if not end > start:
        raise ValueError(f"end must be larger than start, got start={start:g}, end={end:g}")
    if mode not in SWEEP_MODES:
        raise ValueError(f"mode must be one of {', '.join(SWEEP_MODES)}; got {mode!r}")
    return _rate_at(np.arange(steps, dtype=np.float64), start, end, steps, mode)


def _rate_at(position: np.ndarray, start: float, end: float, steps: int, mode: str) -> np.ndarray:
    """The sweep's rate at a (possibly fractional) update index."""
    fraction = np.asarray(position, dtype=np.float64) / (steps - 1)
    if mode == "exp":
        return start * (end / start) ** fraction
    return start + (end - start) * fraction


def _finite_series(losses) -> np.ndarray:
    x = np.asarray(losses, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"losses must be a 1-D array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("losses must be finite (a sweep stops at the first non-finite loss)")
    return x


def smooth(losses, beta: float = 0.98) -> np.ndarray:
    """Exponential moving average with bias correction (as in Adam and fastai's ``lr_find``).

    m_t = beta * m_(t-1) + (1 - beta) * x_t  with m_0 = 0, and  s_t = m_t / (1 - beta ** t),
    t = 1, 2, ...  The correction divides out the weight the average gives its zero
    start, so a constant series stays constant.  ``beta = 0`` returns the losses.
    The recursion is a first-order IIR filter, run by :func:`scipy.signal.lfilter`.
    """
    beta = _check_beta(beta)
    x = _finite_series(losses)
    if len(x) == 0:
        return x
    average = scipy.signal.lfilter([1.0 - beta], [1.0, -beta], x)
    return average / (1.0 - beta ** np.arange(1, len(x) + 1))


def smooth_centered(losses, beta: float = 0.98) -> np.ndarray:
    """Zero-lag smoothing, for reading a finished sweep.

    The first-order filter of :func:`smooth` is run forward and then backward over
    the recorded losses (:func:`scipy.signal.filtfilt`); the two passes delay by the
    same amount in opposite directions, so the result has no lag.  It smooths
    log(loss) and exponentiates back, so that the blow-up at the end of a sweep,
    close to a straight line in log(loss), stays where it is instead of being
    smeared over the rates before it (a straight line in log(loss), that is a
    geometric sequence of losses, passes through nearly unchanged: what is left of
    the passes' start-up transients is a few per cent at the very ends).  Losses
    that are not all positive are smoothed as they are.  ``beta = 0`` returns the
    losses.
    """
    beta = _check_beta(beta)
    x = _finite_series(losses)
    if beta == 0.0 or len(x) < 2:
        return x.copy()
    positive = bool(np.all(x > 0))
    signal = np.log(x) if positive else x
    # Odd extension by the whole curve (scipy's default pads only 6 points): a point
    # reflection continues a straight line, and the start-up transient of each pass
    # dies out inside the padding instead of in the curve.
    smoothed = scipy.signal.filtfilt([1.0 - beta], [1.0, -beta], signal, padlen=len(x) - 1)
    return np.exp(smoothed) if positive else smoothed


def smoothing_lag(beta: float, count) -> np.ndarray:
    """How many updates the bias-corrected average of :func:`smooth` runs behind.

    After ``count`` = t losses the average weighs the loss of k updates ago by
    (1 - beta) beta^k / (1 - beta^t), k = 0 .. t - 1; the mean age of those weights is

        lag_t = beta / (1 - beta) - t beta^t / (1 - beta^t),

    which grows to beta / (1 - beta) (49 updates for beta = 0.98).  On a loss that
    changes linearly with the update the average equals the loss lag_t updates
    earlier, exactly: a running average plotted against the rate of its update runs
    late, and so does everything read off it (:func:`smooth_centered` does not).
    """
    beta = _check_beta(beta)
    t = np.asarray(count, dtype=np.float64)
    if np.any(t < 1) or not np.all(np.isfinite(t)):
        raise ValueError("count must be >= 1 (the number of losses averaged)")
    if beta == 0.0:
        return np.zeros_like(t)
    return beta / (1.0 - beta) - t * beta ** t / (1.0 - beta ** t)


def smoothing_lag_factor(beta: float, start: float, end: float, steps: int, mode: str = "exp") -> float:
    """The factor by which a running average runs late at the end of a sweep, in
    rate: eta_N / eta_(N - lag_N) (:func:`smoothing_lag`)."""
    rates = sweep_rates(start, end, steps, mode)
    lag = float(smoothing_lag(beta, steps))
    return float(rates[-1] / _rate_at(np.array(steps - 1 - lag), rates[0], rates[-1], steps, mode))


def sweep_batches(n: int, batch_size: int, steps: int, data_seed: int = 0) -> list[torch.Tensor]:
    """Example indices of each of ``steps`` mini-batches, in the engine's data order.

    As in :func:`lib.train.train_grid`: each epoch is one ``torch.randperm(n)`` from
    a generator seeded once with ``data_seed``, cut into consecutive slices (the
    last one of an epoch may be smaller); epochs follow each other as needed.
    """
    n = _check_int("n", n)
    batch_size = _check_int("batch_size", batch_size, low=1, high=n)
    steps = _check_int("steps", steps)
    data_seed = _check_int("data_seed", data_seed, low=0)
    generator = seeded_generator(data_seed)
    batches: list[torch.Tensor] = []
    while len(batches) < steps:
        order = torch.randperm(n, generator=generator)
        batches.extend(order[i:i + batch_size] for i in range(0, n, batch_size))
    return batches[:steps]


@dataclass(frozen=True)
class RangeTest:
    """The record of one sweep (:func:`lr_range_test`).

    ``lrs[i]`` is the rate of update i and ``losses[i]`` the mini-batch loss
    measured just before it.  ``smoothed`` is the running average of :func:`smooth`
    that decided the stop (NaN where a loss was not finite): what the popular
    finders plot, late by :func:`smoothing_lag`.  ``centered`` is the zero-lag
    :func:`smooth_centered` of the finite losses, which the suggestions are read
    from.  ``stopped_at`` is the update at which the stop rule fired (-1 if the
    sweep ran to ``end``), ``stop_reason`` says why.  ``suggestions`` maps each rule
    of :data:`RULES` to its rate (NaN if the curve is too short for it).
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


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def lr_range_test(model: nn.Module, data: Splits, *, optimizer: torch.optim.Optimizer | None = None,
                  start: float = 1e-5, end: float = 10.0, steps: int = 100, mode: str = "exp",
                  beta: float = 0.98, stop_factor: float = 4.0, batch_size: int = 64,
                  loss: str | Callable = "cross_entropy", data_seed: int = 0,
                  read_from: str = "centered", read_window: int | None = None,
                  skip_start: int | None = None, skip_end: int = 5) -> RangeTest:
    """Smith's learning-rate range test on ``model``, which is left exactly as it was.

    Update i trains one mini-batch (in the order of :func:`sweep_batches`) at rate
    ``sweep_rates(start, end, steps, mode)[i]``, applied to every parameter group
    of ``optimizer`` (default: ``torch.optim.SGD(model.parameters(), lr=start)``).
    The loss is recorded before each update.  The sweep stops after update i when
    the smoothed loss exceeds ``stop_factor`` times the lowest smoothed loss so far
    (fastai stops at 4 times, torch-lr-finder at 5), or at once when a loss is
    NaN or infinite.

    The model's ``state_dict``, the optimiser's ``state_dict`` (its rates and
    momentum buffers included), the model's train/eval mode and torch's global
    random state are copied before the sweep and put back afterwards, in a
    ``finally`` clause, so they are restored bit for bit even if the sweep fails.

    ``loss`` is ``"cross_entropy"``, ``"mse"`` or a function ``(outputs, targets) ->
    scalar``.  The running average decides the stop, since it must be computed as
    the sweep goes; the suggestions (:func:`suggest`) are read off the finished
    sweep, from the zero-lag ``centered`` curve (``read_from="centered"``) or, as
    the popular finders do, from the running average (``"running"``), without the
    first ``skip_start`` (default: a tenth of ``steps``, as fastai) and last
    ``skip_end`` updates (torch-lr-finder trims 10 and 5).  The centered curve is
    :func:`smooth_centered` with a time constant of ``read_window`` updates
    (beta = 1 - 1 / read_window; default: 2 % of the sweep, 10 updates of 500).
    It is narrower than the running average's because a window of w updates rounds
    off every feature of the curve narrower than w, lag or no lag, and the bottom
    of a range test's curve is narrow.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters()]
    if not params:
        raise ValueError("the model has no parameters to train")
    data = _check_splits(data)
    rates = sweep_rates(start, end, steps, mode)
    beta = _check_beta(beta)
    stop_factor = _check_real("stop_factor", stop_factor)
    if stop_factor <= 1:
        raise ValueError(f"stop_factor must be > 1 (the sweep stops when the smoothed loss "
                         f"exceeds stop_factor x its best), got {stop_factor:g}")
    batch_size = _check_int("batch_size", batch_size, low=1, high=data.n_train)
    skip_start = steps // 10 if skip_start is None else _check_int("skip_start", skip_start, low=0)
    skip_end = _check_int("skip_end", skip_end, low=0)
    if read_from not in ("centered", "running"):
        raise ValueError(f"read_from must be 'centered' or 'running', got {read_from!r}")
    read_window = max(1, round(steps / 50)) if read_window is None else _check_int("read_window", read_window)
    if isinstance(loss, str):
        loss_fn = LOSS_FUNCTIONS[_check_loss_name(loss)]
    elif callable(loss):
        loss_fn = loss
    else:
        raise TypeError(f"loss must be 'cross_entropy', 'mse' or a function, got {type(loss).__name__}")
    if optimizer is None:
        optimizer = torch.optim.SGD(params, lr=float(rates[0]))
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    else:
        owned = {id(p) for p in params}
        if not any(id(p) in owned for group in optimizer.param_groups for p in group["params"]):
            raise ValueError("the optimizer does not hold any of the model's parameters")
    if _model_device(model) != data.device:
        raise ValueError(f"the model is on {_model_device(model)} but the data on {data.device}; "
                         "move one of them")
    batches = sweep_batches(data.n_train, batch_size, steps, data_seed)

    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    saved_mode = model.training
    saved_rng = torch.get_rng_state()
    losses = np.full(steps, np.nan)
    smoothed = np.full(steps, np.nan)
    stopped_at, reason = -1, ""
    average, best = 0.0, math.inf
    started = time.perf_counter()
    try:
        model.train()
        for i, (rate, index) in enumerate(zip(rates, batches)):
            for group in optimizer.param_groups:
                group["lr"] = float(rate)
            index = index.to(data.device)
            optimizer.zero_grad(set_to_none=True)
            batch_loss = loss_fn(model(data.x_train[index]), data.y_train[index])
            value = float(batch_loss.detach())
            losses[i] = value
            if not math.isfinite(value):
                stopped_at, reason = i, "the loss was not finite"
                break
            batch_loss.backward()
            optimizer.step()
            average = beta * average + (1.0 - beta) * value
            smoothed[i] = average / (1.0 - beta ** (i + 1))
            best = min(best, smoothed[i])
            if smoothed[i] > stop_factor * best:
                stopped_at, reason = i, f"the smoothed loss exceeded {stop_factor:g} x its minimum"
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(saved_mode)
        torch.set_rng_state(saved_rng)
    taken = steps if stopped_at < 0 else stopped_at + 1
    lrs, losses, smoothed = rates[:taken], losses[:taken], smoothed[:taken]
    finite = np.isfinite(losses)
    centered = np.full(taken, np.nan)
    centered[finite] = smooth_centered(losses[finite], 1.0 - 1.0 / read_window)
    curve = centered if read_from == "centered" else smoothed
    suggestions = suggest(lrs[finite], curve[finite], skip_start=skip_start, skip_end=skip_end)
    settings = dict(start=float(rates[0]), end=float(rates[-1]), steps=steps, mode=mode, beta=beta,
                    stop_factor=stop_factor, batch_size=batch_size, data_seed=data_seed,
                    read_from=read_from, read_window=read_window)
    return RangeTest(lrs=lrs, losses=losses, smoothed=smoothed, centered=centered,
                     stopped_at=stopped_at,
                     stop_reason=reason or "the sweep reached its last rate",
                     suggestions=suggestions, settings=settings,
                     seconds=time.perf_counter() - started)


# --------------------------------------------------------------------------- suggestion rules

def steepest(lrs, losses) -> float:
    """The rate where the loss falls fastest per unit of log learning rate.

    argmin_i dL/d(log eta) at eta_i, the derivative by :func:`numpy.gradient`
    (central differences inside, one-sided at the ends).  Smith's reading of the
    range test; fastai's ``steep`` and torch-lr-finder's ``suggest_lr`` rule
    (for an exponential sweep, whose log-rates are evenly spaced, the argmin is
    the same as torch-lr-finder's gradient over the index).
    """
    lrs, losses = _check_curve(lrs, losses)
    if len(lrs) < 2:
        raise ValueError("the steepest-descent rule needs at least 2 points")
    return float(lrs[int(np.argmin(np.gradient(losses, np.log(lrs))))])


def minimum_over_ten(lrs, losses) -> float:
    """The rate of the lowest loss divided by 10: fastai's ``minimum`` rule, a
    decade below the point where the loss stops falling."""
    lrs, losses = _check_curve(lrs, losses)
    return float(lrs[int(np.argmin(losses))] / 10.0)


def turn(lrs, losses) -> float:
    """The textbook's reading: the rate at which the loss stops falling and turns
    upward, the lowest point of the curve."""
    lrs, losses = _check_curve(lrs, losses)
    return float(lrs[int(np.argmin(losses))])


def longest_falling_stretch(losses) -> tuple[int, int]:
    """First and last index of the longest strictly decreasing subsequence of ``losses``.

    A subsequence, not a run of neighbours, so that one noisy uptick does not cut
    a long descent in two.  Dynamic programming: ``length[i]`` is the longest
    decreasing subsequence ending at i, ``1 + max(length[j] : j < i, L_j > L_i)``,
    taking the latest such j among equals.
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1 or len(losses) == 0:
        raise ValueError("losses must be a non-empty 1-D array")
    length = np.ones(len(losses), dtype=np.int64)
    previous = np.full(len(losses), -1, dtype=np.int64)
    for i in range(1, len(losses)):
        candidates = np.where(losses[:i] > losses[i], length[:i], 0)
        j = i - 1 - int(np.argmax(candidates[::-1]))  # the latest of equals keeps the stretch compact
        if candidates[j] > 0:
            length[i], previous[i] = candidates[j] + 1, j
    last = int(np.argmax(length))
    first = last
    while previous[first] >= 0:
        first = int(previous[first])
    return first, last


def valley(lrs, losses) -> float:
    """fastai's ``valley`` rule (its default suggestion): the rate about
    halfway down the longest falling stretch of the curve
    (:func:`longest_falling_stretch`), halfway counted in updates."""
    lrs, losses = _check_curve(lrs, losses)
    first, last = longest_falling_stretch(losses)
    return float(lrs[first + (last - first) // 2])


#: The suggestion rules, applied side by side: name -> (function, one-line description).
RULES: dict[str, tuple[Callable, str]] = {
    "steepest": (steepest, "steepest descent of the loss against log learning rate"),
    "min_over_10": (minimum_over_ten, "rate of the lowest loss, divided by 10"),
    "valley": (valley, "halfway down the longest falling stretch"),
    "turn": (turn, "where the loss turns upward (the textbook's reading)"),
}
#: How the rules are named in figures and tables.
RULE_LABELS = {"steepest": "steepest", "min_over_10": "minimum ÷ 10", "valley": "valley", "turn": "turn"}


def suggest(lrs, losses, *, skip_start: int = 0, skip_end: int = 0) -> dict[str, float]:
    """Every rule of :data:`RULES` on the curve without its first ``skip_start`` and
    last ``skip_end`` points (torch-lr-finder's trimming; its defaults are 10 and 5).
    A rule the trimmed curve is too short for gives NaN."""
    lrs, losses = _check_curve(lrs, losses)
    skip_start = _check_int("skip_start", skip_start, low=0)
    skip_end = _check_int("skip_end", skip_end, low=0)
    lrs, losses = lrs[skip_start:len(lrs) - skip_end], losses[skip_start:len(losses) - skip_end]
    if not np.all(np.isfinite(losses)):
        raise ValueError("losses must be finite")
    result = {}
    for name, (rule, _) in RULES.items():
        try:
            result[name] = rule(lrs, losses)
        except ValueError:
            result[name] = float("nan")
    return result


def suggestions_across_seeds(results: Sequence[RangeTest]) -> dict[str, tuple[float, float, float]]:
    """For each rule: the median, lowest and highest suggestion over several sweeps
    (e.g. one per initial-weight seed), ignoring NaN."""
    if isinstance(results, RangeTest) or not isinstance(results, Sequence) or not results:
        raise ValueError("results must be a non-empty list of RangeTest")
    if not all(isinstance(r, RangeTest) for r in results):
        raise TypeError("every result must be a RangeTest")
    summary = {}
    for name in RULES:
        values = np.array([r.suggestions[name] for r in results])
        values = values[np.isfinite(values)]
        summary[name] = ((float(np.median(values)), float(values.min()), float(values.max()))
                         if len(values) else (math.nan, math.nan, math.nan))
    return summary


# --------------------------------------------------------------------------- the textbook's design

def segment_rates(segments: Sequence[tuple[float, float, float]] = TEXTBOOK_SEGMENTS) -> np.ndarray:
    """All rates of a segmented design: ``first, first + step, ..., last`` per segment.

    With :data:`TEXTBOOK_SEGMENTS` (the textbook's Table 12-3): 0.0001 ... 0.0009,
    0.001 ... 0.009, 0.01 ... 0.09, 0.1 ... 0.9, 1.00 ... 1.10, 47 rates.  Rates are
    computed as first + k * step and rounded to 12 decimals, so that 0.1 + 2 * 0.1
    is 0.3 and not 0.30000000000000004.
    """
    if isinstance(segments, (str, bytes)) or not isinstance(segments, Sequence) or not segments:
        raise ValueError("segments must be a non-empty list of (first, last, step)")
    rates = []
    for segment in segments:
        if not isinstance(segment, Sequence) or len(segment) != 3:
            raise ValueError(f"each segment must be (first, last, step), got {segment!r}")
        first, last, step = (_check_rate(name, v) for name, v in zip(("first", "last", "step"), segment))
        if last < first:
            raise ValueError(f"a segment's last rate must be >= its first, got {segment!r}")
        count = int(math.floor((last - first) / step + 1e-9)) + 1
        rates.extend(round(first + k * step, 12) for k in range(count))
    rates = np.array(rates)
    if np.any(np.diff(rates) <= 0):
        raise ValueError("the segments must give increasing rates")
    return rates


class PointSchedule:
    """A step function for :class:`lib.train.Member`: ``rates[k]`` for the k-th block
    of ``steps_per_point`` updates (the last rate after the design ends)."""

    def __init__(self, rates: np.ndarray, steps_per_point: int):
        self.rates = np.asarray(rates, dtype=np.float64)
        self.steps_per_point = int(steps_per_point)

    def __call__(self, step: int) -> float:
        return float(self.rates[min(step // self.steps_per_point, len(self.rates) - 1)])

    def __repr__(self) -> str:
        return f"PointSchedule({len(self.rates)} rates, {self.steps_per_point} updates each)"


@dataclass(frozen=True)
class SegmentedSweep:
    """One round of the textbook's design (:func:`segmented_sweep`).

    ``point_loss[s, k]``: training loss at the end of the k-th rate ``rates[k]``,
    for init seed ``init_seeds[s]`` (NaN once that run diverged); ``point_mean``
    the mean of all measurements taken while ``rates[k]`` was in force.
    ``eval_rate`` and ``eval_loss`` hold every measurement (for a design in
    epochs, one per epoch, as the textbook plots them) with the rate in force
    before it.
    """

    rates: np.ndarray
    point_loss: np.ndarray
    point_mean: np.ndarray
    eval_rate: np.ndarray
    eval_loss: np.ndarray
    init_seeds: tuple[int, ...]
    per_point: int
    unit: str
    seconds: float = 0.0

    @property
    def mean_loss(self) -> np.ndarray:
        """``point_mean`` averaged over seeds (NaN where any seed had diverged): the
        curve the turn is read from, the centre of the cloud the textbook plots."""
        return self.point_mean.mean(axis=0)

    @property
    def turn_lr(self) -> float:
        """:func:`turn` of the seed-averaged curve (diverged points count as +inf)."""
        return turn(self.rates, _inf_for_nan(self.mean_loss))

    @property
    def seed_turns(self) -> np.ndarray:
        """:func:`turn` of each seed's curve."""
        return np.array([turn(self.rates, _inf_for_nan(row)) for row in self.point_mean])


def _inf_for_nan(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.inf)


def _steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def segmented_sweep(data: Splits, rates, *, model: str | Callable[[int], nn.Module] = "textbook",
                    epochs_per_point: int | None = None, updates_per_point: int | None = None,
                    batch_size: int = 128, loss: str = "cross_entropy",
                    init_seeds: Sequence[int] = (0,), data_seed: int = 0,
                    train_eval_size: int | None = None, loss_scale: float = 1.0,
                    divergence_loss: float = math.inf) -> SegmentedSweep:
    """The textbook's sequential test: one model per seed, each rate held in turn.

    Each rate of ``rates`` is held for ``epochs_per_point`` epochs (the textbook's
    "iterations" on its small regression) or ``updates_per_point`` mini-batch
    updates (give exactly one), then the loss is measured on the training set (its
    first ``train_eval_size`` examples; ``None``: all of it).  The rate changes over
    time on one network, so this is a sweep, not a grid of rates; the grid engine
    only trains the seeds side by side, with a :class:`PointSchedule` as each
    member's step function.

    ``loss_scale`` trains on ``loss_scale * loss``, implemented as the rates times
    ``loss_scale`` (see :data:`TEXTBOOK_MSE_SCALE`); reported losses are scaled too.
    """
    data = _check_splits(data)
    rates = np.asarray(rates, dtype=np.float64)
    if rates.ndim != 1 or len(rates) == 0 or not np.all(np.isfinite(rates)) or np.any(rates <= 0):
        raise ValueError("rates must be a non-empty 1-D list of finite rates > 0")
    if (epochs_per_point is None) == (updates_per_point is None):
        raise ValueError("give exactly one of epochs_per_point and updates_per_point")
    batch_size = _check_int("batch_size", batch_size, low=1, high=data.n_train)
    seeds = _check_seeds(init_seeds)
    scale = _check_rate("loss_scale", loss_scale)
    steps_per_epoch = _steps_per_epoch(data.n_train, batch_size)
    if epochs_per_point is not None:
        per_point, unit = _check_int("epochs_per_point", epochs_per_point), "epochs"
        steps_per_point = per_point * steps_per_epoch
        epochs = per_point * len(rates)
        eval_every: float = 1
    else:
        per_point, unit = _check_int("updates_per_point", updates_per_point), "updates"
        steps_per_point = per_point
        epochs = -(-(per_point * len(rates)) // steps_per_epoch)
        eval_every = per_point / steps_per_epoch
    schedule = PointSchedule(rates * scale, steps_per_point)
    data = Splits(data.x_train, data.y_train)  # the design measures training loss only
    members = [Member(lr=None, schedule=schedule, init_seed=s, data_seed=data_seed,
                      label=f"segmented sweep, seed {s}") for s in seeds]
    run = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, loss=loss,
                     eval_every=eval_every, train_eval_size=train_eval_size,
                     divergence_loss=divergence_loss)
    history = run.history
    measured = history.eval_step >= 1
    eval_step = history.eval_step[measured]
    eval_loss = history.train_loss[:, measured] * scale
    keep = eval_step <= steps_per_point * len(rates)
    eval_step, eval_loss = eval_step[keep], eval_loss[:, keep]
    point_of = (eval_step - 1) // steps_per_point
    eval_rate = rates[point_of]
    ends = steps_per_point * np.arange(1, len(rates) + 1)
    where = np.searchsorted(eval_step, ends)
    if np.any(where >= len(eval_step)) or not np.array_equal(eval_step[where], ends):
        raise RuntimeError("the trainer did not measure at the end of every point")  # pragma: no cover
    point_mean = np.stack([eval_loss[:, point_of == k].mean(axis=1) for k in range(len(rates))], axis=1)
    return SegmentedSweep(rates=rates, point_loss=eval_loss[:, where], point_mean=point_mean,
                          eval_rate=eval_rate,
                          eval_loss=eval_loss, init_seeds=seeds, per_point=per_point, unit=unit,
                          seconds=history.seconds)


def nice_step(width: float) -> float:
    """The round step (1, 2 or 5 times a power of ten) closest to ``width`` on a log scale."""
    width = _check_rate("width", width)
    power = 10.0 ** math.floor(math.log10(width))
    candidates = [f * power for f in (1.0, 2.0, 5.0, 10.0)]
    best = min(candidates, key=lambda c: abs(math.log(c / width)))
    return float(f"{best:.12g}")


def zoom_rates(rates, losses, kind: str, points: int = 25) -> np.ndarray:
    """The rates of the textbook's next round, read off this round's point losses.

    ``kind="past_falling"`` (its second round): from two design points before the
    turn, where the loss was still clearly falling, to the last rate measured
    (the round's end, or the last point before the run diverged).  If the loss was
    still falling at the round's last rate, the range was too short and the next
    round reaches ten times further.
    ``kind="around_turn"`` (its third round): from five points before the turn to
    five points after it.  The new range is cut into about ``points`` rates at a
    round step (:func:`nice_step`), starting on a multiple of that step.
    """
    rates, losses = _check_curve(rates, losses)
    points = _check_int("points", points, low=3)
    finite = np.isfinite(losses)
    if not finite.any():
        raise ValueError("no finite loss in this round: every point diverged")
    t = int(np.argmin(_inf_for_nan(losses)))
    last = int(np.flatnonzero(finite)[-1])
    if kind == "past_falling":
        low, high = rates[max(t - 2, 0)], rates[last]
        if t == last == len(rates) - 1:
            high = 10.0 * rates[last]
    elif kind == "around_turn":
        low, high = rates[max(t - 5, 0)], rates[min(t + 5, last)]
    else:
        raise ValueError(f"kind must be 'past_falling' or 'around_turn', got {kind!r}")
    if high <= low:
        raise ValueError(f"cannot zoom: the range [{low:g}, {high:g}] is empty")
    step = nice_step((high - low) / (points - 1))
    first = math.floor(low / step + 1e-9) * step
    count = int(math.floor((high - first) / step + 1e-9)) + 1
    return np.round(first + step * np.arange(count), 12)


def zoom(data: Splits, first_rates=None, *, rounds: int = 3, points: int = 25,
         **sweep_kwargs) -> list[SegmentedSweep]:
    """The textbook's multi-round test: round 1 over ``first_rates`` (default: Table
    12-3), round 2 :func:`zoom_rates` ``"past_falling"``, round 3 ``"around_turn"``
    (further rounds zoom around the turn again).  Every round starts again from the
    same initial weights; ``sweep_kwargs`` go to :func:`segmented_sweep`."""
    rounds = _check_int("rounds", rounds, low=1)
    rates = segment_rates() if first_rates is None else np.asarray(first_rates, dtype=np.float64)
    done: list[SegmentedSweep] = []
    for r in range(rounds):
        if r > 0:
            kind = "past_falling" if r == 1 else "around_turn"
            rates = zoom_rates(done[-1].rates, done[-1].mean_loss, kind, points=points)
        done.append(segmented_sweep(data, rates, **sweep_kwargs))
    return done


# --------------------------------------------------------------------------- the parallel test

@dataclass(frozen=True)
class ParallelTest:
    """K copies trained at fixed rates (:func:`parallel_range_test`).

    ``final_loss[s, r]``: training loss (on the evaluation subset) after ``updates``
    updates at rate ``rates[r]`` from init seed ``init_seeds[s]``; NaN if that run
    diverged (``diverged[s, r]``).  ``tail_loss`` is the mean mini-batch loss over
    the last ``tail`` updates.  ``history`` is the grid's full record.
    """

    rates: np.ndarray
    init_seeds: tuple[int, ...]
    updates: int
    final_loss: np.ndarray
    tail_loss: np.ndarray
    diverged: np.ndarray
    history: History = field(repr=False)
    loss_scale: float = 1.0

    @property
    def mean_loss(self) -> np.ndarray:
        """Final loss averaged over seeds; +inf where any seed diverged."""
        return _inf_for_nan(self.final_loss).mean(axis=0)

    @property
    def best_lr(self) -> float:
        """The rate with the lowest seed-averaged final loss."""
        return float(self.rates[int(np.argmin(self.mean_loss))])

    @property
    def seed_best(self) -> np.ndarray:
        """The best rate of each seed on its own."""
        return self.rates[np.argmin(_inf_for_nan(self.final_loss), axis=1)]

    @property
    def failed(self) -> np.ndarray:
        """(S, R): the copy diverged, or ended above the loss it started from."""
        start = self.history.train_loss[:, 0].reshape(len(self.rates), len(self.init_seeds)).T
        return self.diverged | ~(self.final_loss < start * self.loss_scale)

    @property
    def stable_edge(self) -> float:
        """The largest rate below the first one at which any copy failed (:attr:`failed`);
        the last rate if none failed, NaN if the first one did."""
        bad = self.failed.any(axis=0)
        if not bad.any():
            return float(self.rates[-1])
        first = int(np.argmax(bad))
        return float(self.rates[first - 1]) if first > 0 else math.nan


def parallel_range_test(data: Splits, rates, *, model: str | Callable[[int], nn.Module] = "textbook",
                        updates: int = 300, batch_size: int = 128, loss: str = "cross_entropy",
                        init_seeds: Sequence[int] = (0,), data_seed: int = 0, tail: int = 50,
                        train_eval_size: int | None = 2048, loss_scale: float = 1.0,
                        divergence_loss: float = math.inf) -> ParallelTest:
    """Train one copy per (rate, seed), all from the seed's initial weights and on
    the same batches, for ``updates`` updates at a fixed rate; one grid.

    ``updates`` must either fit in one pass over the training set
    (``updates * batch_size <= n``: the run uses the first ``updates * batch_size``
    examples, one pass, no example seen twice, like the first updates of a sweep) or
    be a whole number of epochs.  ``loss_scale`` as in :func:`segmented_sweep`.
    """
    data = _check_splits(data)
    rates = np.asarray(rates, dtype=np.float64)
    if rates.ndim != 1 or len(rates) == 0 or not np.all(np.isfinite(rates)) or np.any(rates <= 0):
        raise ValueError("rates must be a non-empty 1-D list of finite rates > 0")
    updates = _check_int("updates", updates)
    batch_size = _check_int("batch_size", batch_size, low=1, high=data.n_train)
    tail = _check_int("tail", tail, low=1, high=updates)
    seeds = _check_seeds(init_seeds)
    scale = _check_rate("loss_scale", loss_scale)
    steps_per_epoch = _steps_per_epoch(data.n_train, batch_size)
    if updates * batch_size <= data.n_train:
        data, epochs = data.subset(n_train=updates * batch_size), 1
    elif updates % steps_per_epoch == 0:
        epochs = updates // steps_per_epoch
    else:
        raise ValueError(f"updates must fit in one pass (updates x batch_size <= {data.n_train}) or be a "
                         f"multiple of the {steps_per_epoch} updates of an epoch, got {updates}")
    members = grid(lr=[float(r * scale) for r in rates], init_seed=list(seeds), data_seed=[data_seed])
    data = Splits(data.x_train, data.y_train)  # the test measures training loss only
    eval_size = None if train_eval_size is None else min(train_eval_size, data.n_train)
    run = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, loss=loss,
                     eval_every=epochs, train_eval_size=eval_size, divergence_loss=divergence_loss)
    history = run.history
    R, S = len(rates), len(seeds)

    def by_seed(values: np.ndarray) -> np.ndarray:  # members run rate-major: (R*S,) -> (S, R)
        return values.reshape(R, S).T

    diverged = by_seed(history.diverged)
    final = by_seed(history.train_loss[:, -1] * scale)
    tail_loss = by_seed(history.step_loss[:, -tail:].mean(axis=1) * scale)
    final = np.where(diverged, np.nan, final)
    tail_loss = np.where(diverged, np.nan, tail_loss)
    return ParallelTest(rates=rates, init_seeds=seeds, updates=updates, final_loss=final,
                        tail_loss=tail_loss, diverged=diverged, history=history, loss_scale=scale)


# --------------------------------------------------------------------------- checking suggestions

@dataclass(frozen=True)
class SuggestionCheck:
    """Validation loss after a short run at each suggested rate (:func:`check_suggestions`).

    ``val_loss[s, i]`` belongs to suggestion ``names[i]`` (rate ``lrs[i]``) and init
    seed ``init_seeds[s]``; NaN if the run diverged.
    """

    names: list[str]
    lrs: np.ndarray
    init_seeds: tuple[int, ...]
    val_loss: np.ndarray
    val_acc: np.ndarray
    history: History = field(repr=False)

    @property
    def mean_val_loss(self) -> np.ndarray:
        return _inf_for_nan(self.val_loss).mean(axis=0)

    @property
    def best(self) -> str:
        """The suggestion with the lowest seed-averaged validation loss."""
        return self.names[int(np.argmin(self.mean_val_loss))]


def check_suggestions(data: Splits, suggestions: dict[str, float], *,
                      model: str | Callable[[int], nn.Module] = "textbook", epochs: int = 2,
                      batch_size: int = 128, loss: str = "cross_entropy",
                      init_seeds: Sequence[int] = (0,), data_seed: int = 0,
                      eval_every: float | None = None) -> SuggestionCheck:
    """Train at every suggested rate (names -> rates) for ``epochs`` epochs, as one grid,
    and report the validation loss at the end.  Equal rates are trained once."""
    data = _check_splits(data)
    if data.x_val is None:
        raise ValueError("data has no validation split to check the suggestions on")
    if not isinstance(suggestions, dict) or not suggestions:
        raise ValueError("suggestions must be a non-empty dict: name -> learning rate")
    names = list(suggestions)
    lrs = np.array([_check_rate(f"the rate of {name!r}", suggestions[name]) for name in names])
    seeds = _check_seeds(init_seeds)
    epochs = _check_int("epochs", epochs)
    distinct = sorted(set(float(v) for v in lrs))
    members = grid(lr=distinct, init_seed=list(seeds), data_seed=[data_seed])
    run = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, loss=loss,
                     eval_every=eval_every if eval_every is not None else epochs)
    history = run.history
    S = len(seeds)
    final_loss = history.val_loss[:, -1].reshape(len(distinct), S).T
    final_acc = history.val_acc[:, -1].reshape(len(distinct), S).T
    column = [distinct.index(float(v)) for v in lrs]
    return SuggestionCheck(names=names, lrs=lrs, init_seeds=seeds, val_loss=final_loss[:, column],
                           val_acc=final_acc[:, column], history=history)


# --------------------------------------------------------------------------- the sine problem

def sine_data(n: int = 100, *, seed: int = 0, device=None) -> Splits:
    """The textbook's non-linear regression: x ~ U[0, 1] (``n`` draws), y = sin(2 pi x).

    Inputs and targets are (n, 1) float32 columns; a second, independent sample of
    ``n`` points is the validation split.
    """
    n = _check_int("n", n, low=2)
    generator = seeded_generator(_check_int("seed", seed, low=0))
    x = torch.rand(2 * n, 1, generator=generator)
    y = torch.sin(2 * math.pi * x)
    if device is not None:
        x, y = x.to(device), y.to(device)
    return Splits(x[:n], y[:n], x[n:], y[n:])


def sine_net(init_seed: int = 0) -> nn.Sequential:
    """The textbook's 1-4-1 network: 4 sigmoid hidden units, a linear output,
    Xavier-uniform weights and zero biases (:func:`lib.models.mlp`)."""
    return mlp((1, 4, 1), ("sigmoid",), init_seed=init_seed)


# --------------------------------------------------------------------------- a known answer

@dataclass(frozen=True)
class KnownQuadratic:
    """A linear regression whose Hessian is known in closed form (:func:`known_quadratic`)."""

    data: Splits
    scale: float
    noise: float

    @property
    def lambda_max(self) -> float:
        """The Hessian of the mean squared error in the weight: 2 * scale^2, for the
        whole training set and for every mini-batch alike."""
        return 2.0 * self.scale ** 2

    @property
    def stability_limit(self) -> float:
        """2 / lambda_max: SGD on this problem stays bounded below it and diverges above."""
        return 2.0 / self.lambda_max

    def model(self) -> nn.Linear:
        """The one-weight linear model y = w x, starting at w = 0, in the data's dtype."""
        net = nn.Linear(1, 1, bias=False).to(self.data.x_train.dtype)
        with torch.no_grad():
            net.weight.zero_()
        return net


def known_quadratic(scale: float = 3.0, *, n: int = 512, slope: float = 0.7, noise: float = 0.5,
                    seed: int = 0, dtype: torch.dtype = torch.float32) -> KnownQuadratic:
    """A regression y = slope * x + noise * N(0, 1) whose inputs are x = +-``scale``.

    Every input has x^2 = scale^2, so the mean squared error of the whole set and of
    any mini-batch is, as a function of the weight w, a parabola with curvature
    lambda = 2 scale^2; only its minimum moves from batch to batch.  Writing e for
    the distance to the least-squares weight, an SGD step is
    e <- (1 - eta lambda) e + eta xi, with xi the batch's noise: the error stays
    bounded for eta < 2 / lambda (its variance is eta var(xi) / (lambda (2 - eta lambda)))
    and grows geometrically beyond.  The mini-batch noise keeps re-exciting e, so a
    sweep's blow-up follows 2 / lambda closely; a full-batch sweep, without that
    noise, first damps e to almost nothing near eta = 1 / lambda (where
    1 - eta lambda = 0) and blows up only well past the limit.
    """
    scale = _check_rate("scale", scale)
    n = _check_int("n", n, low=2)
    noise = _check_real("noise", noise)
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise:g}")
    generator = seeded_generator(_check_int("seed", seed, low=0))
    signs = torch.randint(0, 2, (n, 1), generator=generator).to(dtype) * 2 - 1
    x = scale * signs
    y = _check_real("slope", slope) * x + noise * torch.randn(n, 1, generator=generator).to(dtype)
    return KnownQuadratic(data=Splits(x, y), scale=scale, noise=noise)


# --------------------------------------------------------------------------- plots

RULE_STYLES = {
    "steepest": dict(color=plots.PALETTE["blue"], marker="v", linestyle="--"),
    "min_over_10": dict(color=plots.PALETTE["orange"], marker="s", linestyle=":"),
    "valley": dict(color=plots.PALETTE["green"], marker="D", linestyle="-."),
    "turn": dict(color=plots.PALETTE["vermillion"], marker="o", linestyle=(0, (5, 2, 1, 2, 1, 2))),
}


def plot_sweep(ax, result: RangeTest, *, show_raw: bool = True, show_running: bool = False,
               rules: Sequence[str] | None = None, label: str = "smoothed loss (zero lag)"):
    """A sweep's loss against its learning rate (log axis): the raw mini-batch losses
    in grey, the zero-lag smoothed curve in black, optionally the running average
    the popular finders draw (dashed), and a vertical line per suggestion."""
    if not isinstance(result, RangeTest):
        raise TypeError(f"result must be a RangeTest, got {type(result).__name__}")
    finite = np.isfinite(result.losses)
    if show_raw:
        ax.plot(result.lrs[finite], result.losses[finite], color="0.7", linewidth=0.8,
                label="mini-batch loss")
    if show_running:
        ax.plot(result.lrs, result.smoothed, color="0.35", linestyle="--", linewidth=1.0,
                label="running average (lags)")
    ax.plot(result.lrs, result.centered, color="black", label=label)
    for name in (RULES if rules is None else rules):
        if name not in RULES:
            raise ValueError(f"unknown rule {name!r}; allowed: {', '.join(RULES)}")
        lr = result.suggestions.get(name, float("nan"))
        if math.isfinite(lr):
            style = RULE_STYLES[name]
            ax.axvline(lr, color=style["color"], linestyle=style["linestyle"], linewidth=1.2,
                       label=f"{RULE_LABELS[name]}: {lr:.3g}")
    plots.lr_axis(ax)
    ax.set_ylabel("training loss")
    return ax


def plot_segmented(ax, sweep: SegmentedSweep, *, label: str | None = None, color=None,
                   show_epochs: bool = True):
    """A round of the textbook's design against log10 of the rate, as the textbook
    draws it (here on a log axis): every measurement as a faint dot, the loss at the
    end of each point as a line per seed, and the turn of the seed-averaged curve."""
    if not isinstance(sweep, SegmentedSweep):
        raise TypeError(f"sweep must be a SegmentedSweep, got {type(sweep).__name__}")
    color = plots.PALETTE["blue"] if color is None else color
    if show_epochs:
        ax.plot(np.tile(sweep.eval_rate, len(sweep.init_seeds)), sweep.eval_loss.ravel(), ".",
                color=color, alpha=0.15, markersize=2)
    for s, row in enumerate(sweep.point_loss):
        ax.plot(sweep.rates, row, color=color, linewidth=0.7, alpha=0.45)
    ax.plot(sweep.rates, sweep.mean_loss, color=color, linewidth=1.8, marker=".", markersize=4,
            label=label or f"mean of {len(sweep.init_seeds)} seeds")
    t = sweep.turn_lr
    style = RULE_STYLES["turn"]
    ax.axvline(t, color=style["color"], linestyle=style["linestyle"], linewidth=1.2,
               label=f"turn: {t:.3g}")
    plots.lr_axis(ax)
    _plain_ticks_if_narrow(ax, sweep.rates)
    ax.set_ylabel("training loss after each rate")
    return ax


def _plain_ticks_if_narrow(ax, rates) -> None:
    """Within less than a decade a log axis gets crowded 4x10^-1 labels: use a few plain ones."""
    from matplotlib import ticker

    rates = np.asarray(rates)
    if rates.max() / rates.min() < 10:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
        ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def plot_parallel(ax, test: ParallelTest, *, label: str | None = None):
    """Final loss against the fixed rate of each copy: one thin line per seed, the
    seed average thick, each point in its rate's colour (:func:`lib.plots.lr_color`),
    diverged copies as crosses on the top edge."""
    if not isinstance(test, ParallelTest):
        raise TypeError(f"test must be a ParallelTest, got {type(test).__name__}")
    for row in test.final_loss:
        ax.plot(test.rates, row, color="0.6", linewidth=0.7)
    mean = np.where(np.isfinite(test.mean_loss), test.mean_loss, np.nan)
    ax.plot(test.rates, mean, color="black", linewidth=1.6,
            label=label or f"mean of {len(test.init_seeds)} seeds")
    ax.scatter(test.rates, mean, c=[plots.lr_color(r) for r in test.rates], s=18, zorder=3)
    if test.diverged.any():
        top = np.nanmax(test.final_loss) if np.isfinite(test.final_loss).any() else 1.0
        bad = test.rates[test.diverged.any(axis=0)]
        ax.plot(bad, np.full(len(bad), top), "x", color=plots.PALETTE["vermillion"],
                label="diverged (a seed)")
    ax.axvline(test.best_lr, color=plots.PALETTE["purple"], linestyle="--", linewidth=1.2,
               label=f"lowest loss: {test.best_lr:.3g}")
    plots.lr_axis(ax)
    ax.set_ylabel(f"training loss after {test.updates} updates")
    return ax


def plot_suggestion_rows(ax, rows: Sequence[tuple[str, float, float, float]]):
    """A dot plot of suggested rates: one row per (label, rate, lowest, highest),
    the dot in the rate's colour, a bar over the range the seeds gave."""
    if not rows:
        raise ValueError("rows must be a non-empty list of (label, rate, lowest, highest)")
    for y, (label, lr, low, high) in enumerate(rows):
        ax.plot([low, high], [y, y], color="0.45", linewidth=2.5, solid_capstyle="round")
        ax.scatter([lr], [y], s=45, color=plots.lr_color(lr), edgecolor="black", zorder=3)
    ax.set_yticks(range(len(rows)), [row[0] for row in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    plots.lr_axis(ax, label="suggested learning rate $\\eta$ (log scale)")
    return ax


def plot_check(ax, check: SuggestionCheck, *, what: str = "val_loss"):
    """Validation loss (or accuracy) against epochs for each rate that was checked,
    averaged over seeds, in the rate's colour, labelled with its suggestions."""
    if not isinstance(check, SuggestionCheck):
        raise TypeError(f"check must be a SuggestionCheck, got {type(check).__name__}")
    if what not in ("val_loss", "val_acc"):
        raise ValueError(f"what must be 'val_loss' or 'val_acc', got {what!r}")
    history = check.history
    values = getattr(history, what)
    rates = np.array([m.lr for m in history.members])
    styles = ["-", "--", "-.", ":"]
    for k, lr in enumerate(sorted(set(rates))):
        rows = values[rates == lr]
        names = ", ".join(n for n, v in zip(check.names, check.lrs) if float(v) == lr)
        ax.plot(history.eval_epoch, np.nanmean(rows, axis=0) if np.isfinite(rows).any() else rows[0],
                color=plots.lr_color(lr), linestyle=styles[k % len(styles)],
                label=f"η = {lr:.3g} ({names})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss" if what == "val_loss" else "validation accuracy")
    return ax


# --------------------------------------------------------------------------- the explorer

EXPLORER_LIMITS = dict(start=(1e-6, 1.0), end=(1e-3, 100.0), steps=(20, 500), beta=(0.0, 0.999))


def sweep_figure(data: Splits, *, start: float = 1e-4, end: float = 10.0, steps: int = 150,
                 beta: float = 0.98, batch_size: int = 64, init_seed: int = 0,
                 model: str | Callable[[int], nn.Module] = "textbook"):
    """A quick sweep of a fresh network with these settings, drawn: the computation
    behind :class:`RangeTestExplorer`.  Settings outside :data:`EXPLORER_LIMITS`
    (kept small so that a redraw takes a second or two) raise ValueError."""
    import matplotlib.pyplot as plt

    for name, value in (("start", start), ("end", end)):
        low, high = EXPLORER_LIMITS[name]
        if _check_rate(name, value) < low or value > high:
            raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    low, high = EXPLORER_LIMITS["steps"]
    steps = _check_int("steps", steps, low=low, high=high)
    beta = _check_real("beta", beta)
    if not EXPLORER_LIMITS["beta"][0] <= beta <= EXPLORER_LIMITS["beta"][1]:
        raise ValueError(f"beta must be between 0 and {EXPLORER_LIMITS['beta'][1]:g}, got {beta:g}")
    net = build_model(model, init_seed).to(data.device)
    result = lr_range_test(net, data, start=start, end=end, steps=steps, beta=beta,
                           batch_size=batch_size, skip_start=min(10, steps // 10), skip_end=5)
    fig, ax = plt.subplots(figsize=(7.0, 3.4), layout="constrained")
    plot_sweep(ax, result)
    finite = result.losses[np.isfinite(result.losses)]
    if len(finite):
        ax.set_ylim(0, min(float(finite.max()), 4 * float(np.nanmin(result.centered))) * 1.05)
    ax.set_title(f"{len(result.lrs)} of {steps} updates at batch size {batch_size}: "
                 f"{result.stop_reason}")
    ax.legend(loc="upper left", fontsize=8)
    return fig


class RangeTestExplorer:
    """Controls for the sweep range, the number of updates, the smoothing beta and
    the batch size; every change runs a quick sweep (:func:`sweep_figure`) and
    redraws.  Invalid settings show a message instead of a traceback."""

    def __init__(self, data: Splits, *, start: float = 1e-4, end: float = 10.0, steps: int = 150,
                 beta: float = 0.98, batch_size: int = 64):
        import ipywidgets as W

        self.data = _check_splits(data)
        self.start = W.FloatText(value=start, description="start η")
        self.end = W.FloatText(value=end, description="end η")
        self.steps = W.IntText(value=steps, description="updates")
        self.beta = W.FloatText(value=beta, step=0.01, description="β (smoothing)")
        self.batch_size = W.IntText(value=batch_size, description="batch size")
        self.message = W.HTML()
        self.output = W.Output()
        self.last_figure = None  # the figure on show, e.g. to store a static copy for the page
        for control in (self.start, self.end, self.steps, self.beta, self.batch_size):
            control.observe(self.redraw, names="value")
        self.widget = W.VBox([W.HBox([self.start, self.end, self.steps]),
                              W.HBox([self.beta, self.batch_size]), self.message, self.output])
        self.redraw()

    def redraw(self, _change=None) -> bool:
        """Sweep and redraw; on invalid input show the message and keep the last figure."""

        try:
            fig = sweep_figure(self.data, start=self.start.value, end=self.end.value,
                               steps=self.steps.value, beta=self.beta.value,
                               batch_size=self.batch_size.value)
        except (ValueError, TypeError) as error:
            widgets.show_error(self.message, error)
            return False
        self.message.value = ""
        widgets.show_figure(self.output, fig)
        self.last_figure = fig
        return True

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
