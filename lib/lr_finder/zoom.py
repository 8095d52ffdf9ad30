"""The textbook's segmented range test and its multi-round zoom (:cite:`aiedu2020lr`).

Instead of a smooth sweep, the textbook holds each rate of a list for a while
and measures the loss on the training set after each:

* the list comes in linear segments (its Table 12-3, :data:`TEXTBOOK_SEGMENTS`,
  expanded by :func:`segment_rates`), each rate held for whole epochs or for a
  number of updates (:class:`PointSchedule`);
* :func:`segmented_sweep` runs one round, one network per initial-weight seed,
  the seeds side by side in one grid (:func:`lib.core.engine.train_grid`);
* :func:`zoom` chains the rounds: a second, finer one past the point where the
  first was still falling, a third around the turn (:func:`zoom_rates`, at a
  round step, :func:`nice_step`), each from the same initial weights again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from torch import nn

from lib.core import checks
from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.members import Member
from lib.core.order import steps_per_epoch
from lib.core.stats import inf_for_nan

from .rules import check_curve, turn

#: The textbook's Table 12-3: (first rate, last rate, step) of each segment.
TEXTBOOK_SEGMENTS = (
    (0.0001, 0.0009, 0.0001),
    (0.001, 0.009, 0.001),
    (0.01, 0.09, 0.01),
    (0.1, 0.9, 0.1),
    (1.0, 1.1, 0.01),
)
#: How :func:`zoom_rates` picks the next round's range.
ZOOM_KINDS = ("past_falling", "around_turn")


def segment_rates(segments: Sequence[tuple[float, float, float]] = TEXTBOOK_SEGMENTS) -> np.ndarray:
    """All rates of a segmented design: ``first, first + step, ..., last`` per segment.

    With :data:`TEXTBOOK_SEGMENTS` (the textbook's Table 12-3): 0.0001 ... 0.0009,
    0.001 ... 0.009, 0.01 ... 0.09, 0.1 ... 0.9, 1.00 ... 1.10, 47 rates.  Rates are
    computed as first + k * step and rounded to 12 decimals, so that 0.1 + 2 * 0.1
    is 0.3 and not 0.30000000000000004.

    Args:
        segments (list of (first, last, step)): rates > 0, last >= first. Default: Table 12-3.

    Returns:
        ndarray (R,): the increasing rates.

    Raises:
        TypeError: an entry of a segment is not a number.
        ValueError: no segments, a segment that is not a triple, a rate not finite and > 0,
            last < first, or segments whose rates do not increase.
    """
    if isinstance(segments, (str, bytes)) or not isinstance(segments, Sequence) or not segments:
        raise ValueError("segments must be a non-empty list of (first, last, step)")
    rates = []
    for segment in segments:
        if not isinstance(segment, Sequence) or len(segment) != 3:
            raise ValueError(f"each segment must be (first, last, step), got {segment!r}")
        first, last, step = (checks.positive(v, name) for name, v in zip(("first", "last", "step"), segment))
        if last < first:
            raise ValueError(f"a segment's last rate must be >= its first, got {segment!r}")
        count = int(math.floor((last - first) / step + 1e-9)) + 1
        rates.extend(round(first + k * step, 12) for k in range(count))
    rates = np.array(rates)
    if np.any(np.diff(rates) <= 0):
        raise ValueError("the segments must give increasing rates")
    return rates


class PointSchedule:
    """A step function for :class:`lib.core.members.Member`: ``rates[k]`` for the k-th
    block of ``steps_per_point`` updates (the last rate after the design ends).

    Args:
        rates (array-like, (R,)): the design's rates, in order.
        steps_per_point (int): updates each rate is held.

    Example::

        >>> schedule = PointSchedule([0.1, 0.2], steps_per_point=3)
        >>> [schedule(step) for step in range(7)]
        [0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2]
    """

    def __init__(self, rates: np.ndarray, steps_per_point: int):
        self.rates = np.asarray(rates, dtype=np.float64)
        self.steps_per_point = int(steps_per_point)

    def __call__(self, step: int) -> float:
        return float(self.rates[min(step // self.steps_per_point, len(self.rates) - 1)])

    def __repr__(self) -> str:
        return f"PointSchedule({len(self.rates)} rates, {self.steps_per_point} updates each)"


@dataclass(frozen=True)
class SegmentedSweep:
    """One round of the textbook's design (:func:`segmented_sweep`), R rates, S seeds, E measurements.

    Attributes:
        rates (ndarray, (R,)): the design's rates, in order.
        point_loss (ndarray, (S, R)): training loss at the end of each rate, per init
            seed (NaN once that run diverged).
        point_mean (ndarray, (S, R)): the mean of all measurements taken while each rate was in force.
        eval_rate (ndarray, (E,)): the rate in force before each measurement.
        eval_loss (ndarray, (S, E)): every measurement (for a design in epochs, one per
            epoch, as the textbook plots them).
        init_seeds (tuple[int, ...]): the S seeds.
        per_point (int): epochs or updates each rate was held.
        unit (str): ``"epochs"`` or ``"updates"``.
        seconds (float): wall-clock time of the grid.
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
        """(R,): ``point_mean`` averaged over seeds (NaN where any seed had diverged): the
        curve the turn is read from, the centre of the cloud the textbook plots."""
        return self.point_mean.mean(axis=0)

    @property
    def turn_lr(self) -> float:
        """:func:`lib.lr_finder.rules.turn` of the seed-averaged curve (diverged points count as +inf)."""
        return turn(self.rates, inf_for_nan(self.mean_loss))

    @property
    def seed_turns(self) -> np.ndarray:
        """(S,): :func:`lib.lr_finder.rules.turn` of each seed's curve."""
        return np.array([turn(self.rates, inf_for_nan(row)) for row in self.point_mean])


def segmented_sweep(data: Splits, rates, *, model: str | Callable[[int], nn.Module] = "textbook",
                    epochs_per_point: int | None = None, updates_per_point: int | None = None,
                    batch_size: int = 128, loss: str = "cross_entropy",
                    init_seeds: Sequence[int] = (0,), data_seed: int = 0,
                    train_eval_size: int | None = None, loss_scale: float = 1.0,
                    divergence_loss: float = math.inf) -> SegmentedSweep:
    """The textbook's sequential test: one model per seed, each rate held in turn.

    Each rate is held for ``epochs_per_point`` epochs (the textbook's "iterations"
    on its small regression) or ``updates_per_point`` mini-batch updates (give
    exactly one), then the loss is measured on the training set.  The rate changes
    over time on one network, so this is a sweep, not a grid of rates; the grid
    engine only trains the seeds side by side, with a :class:`PointSchedule` as
    each member's step function.  ``loss_scale`` = c trains on c * loss, implemented
    as the rates times c (SGD at rate eta on c L takes the steps of SGD at c eta on
    L; see :data:`lib.lr_finder.problems.TEXTBOOK_MSE_SCALE`); reported losses are
    scaled too.

    Args:
        data (Splits): the training split is trained and measured on.
        rates (array-like, (R,)): the design's rates (per update, on the loss_scale's scale), > 0.
        model (str or callable): a name in :data:`lib.core.models.MODELS` or ``init_seed -> nn.Module``.
            Default ``"textbook"``.
        epochs_per_point (int, optional): epochs each rate is held, >= 1.
        updates_per_point (int, optional): updates each rate is held, >= 1.
        batch_size (int): examples per update. Default 128.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        init_seeds (list[int]): seeds of the initial weights, one network each. Default (0,).
        data_seed (int): seed of the data order. Default 0.
        train_eval_size (int, optional): training examples (the first ones) the loss is
            measured on; ``None``: all. Default ``None``.
        loss_scale (float): c > 0. Default 1.
        divergence_loss (float): a mini-batch loss above this marks a run diverged. Default inf.

    Returns:
        SegmentedSweep: the point losses per seed and every measurement.

    Raises:
        TypeError: ``data`` not ``Splits``; numbers or ints of the wrong type.
        ValueError: no rates or rates not finite and > 0; not exactly one of the two
            holding times; values out of range (see Args).
    """
    data = checks.splits(data)
    rates = checks.rates(rates, "rates")
    if (epochs_per_point is None) == (updates_per_point is None):
        raise ValueError("give exactly one of epochs_per_point and updates_per_point")
    batch_size = checks.batch_size(batch_size, data.n_train)
    seeds = checks.seeds(init_seeds, "init_seeds")
    scale = checks.positive(loss_scale, "loss_scale")
    epoch_steps = steps_per_epoch(data.n_train, batch_size)
    if epochs_per_point is not None:
        per_point, unit = checks.integer(epochs_per_point, "epochs_per_point", minimum=1), "epochs"
        steps_per_point = per_point * epoch_steps
        epochs = per_point * len(rates)
        eval_every: float = 1
    else:
        per_point, unit = checks.integer(updates_per_point, "updates_per_point", minimum=1), "updates"
        steps_per_point = per_point
        epochs = math.ceil(per_point * len(rates) / epoch_steps)
        eval_every = per_point / epoch_steps
    schedule = PointSchedule(rates * scale, steps_per_point)
    data = Splits(data.x_train, data.y_train)  # the design measures training loss only
    members = [Member(lr=None, schedule=schedule, init_seed=s, data_seed=data_seed,
                      label=f"segmented sweep, seed {s}") for s in seeds]
    history = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, loss=loss,
                         eval_every=eval_every, train_eval_size=train_eval_size,
                         divergence_loss=divergence_loss).history
    measured = history.eval_step >= 1
    eval_step = history.eval_step[measured]
    eval_loss = history.train_loss[:, measured] * scale                 # (S, E)
    keep = eval_step <= steps_per_point * len(rates)
    eval_step, eval_loss = eval_step[keep], eval_loss[:, keep]
    point_of = (eval_step - 1) // steps_per_point                       # (E,): the rate in force
    ends = steps_per_point * np.arange(1, len(rates) + 1)
    where = np.searchsorted(eval_step, ends)
    if np.any(where >= len(eval_step)) or not np.array_equal(eval_step[where], ends):
        raise RuntimeError("the trainer did not measure at the end of every point")  # pragma: no cover
    point_mean = np.stack([eval_loss[:, point_of == k].mean(axis=1) for k in range(len(rates))], axis=1)
    return SegmentedSweep(rates=rates, point_loss=eval_loss[:, where], point_mean=point_mean,
                          eval_rate=rates[point_of], eval_loss=eval_loss, init_seeds=seeds,
                          per_point=per_point, unit=unit, seconds=history.seconds)


def nice_step(width: float) -> float:
    """The round step (1, 2 or 5 times a power of ten) closest to ``width`` on a log scale.

    Raises:
        TypeError, ValueError: ``width`` is not a finite number > 0.
    """
    width = checks.positive(width, "width")
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

    Args:
        rates (array-like, (R,)): this round's rates.
        losses (array-like, (R,)): its loss at each (NaN where diverged).
        kind (str): one of :data:`ZOOM_KINDS`.
        points (int): about how many rates the next round gets, >= 3. Default 25.

    Returns:
        ndarray: the next round's rates.

    Raises:
        ValueError: a bad curve, an unknown kind, ``points`` < 3, no finite loss, an empty range.
    """
    rates, losses = check_curve(rates, losses)
    points = checks.integer(points, "points", minimum=3)
    checks.choice(kind, "kind", ZOOM_KINDS)
    finite = np.isfinite(losses)
    if not finite.any():
        raise ValueError("no finite loss in this round: every point diverged")
    t = int(np.argmin(inf_for_nan(losses)))
    last = int(np.flatnonzero(finite)[-1])
    if kind == "past_falling":
        low, high = rates[max(t - 2, 0)], rates[last]
        if t == last == len(rates) - 1:
            high = 10.0 * rates[last]
    else:
        low, high = rates[max(t - 5, 0)], rates[min(t + 5, last)]
    if high <= low:
        raise ValueError(f"cannot zoom: the range [{low:g}, {high:g}] is empty")
    step = nice_step((high - low) / (points - 1))
    first = math.floor(low / step + 1e-9) * step
    count = int(math.floor((high - first) / step + 1e-9)) + 1
    return np.round(first + step * np.arange(count), 12)


def zoom(data: Splits, first_rates=None, *, rounds: int = 3, points: int = 25,
         **sweep_kwargs) -> list[SegmentedSweep]:
    """The textbook's multi-round test: round 1 over ``first_rates``, round 2
    :func:`zoom_rates` ``"past_falling"``, round 3 ``"around_turn"`` (further rounds
    zoom around the turn again), each read off the previous round's seed-averaged
    curve.  Every round starts again from the same initial weights.

    Args:
        data (Splits): as :func:`segmented_sweep`.
        first_rates (array-like, optional): round 1's rates. Default: :func:`segment_rates` (Table 12-3).
        rounds (int): >= 1. Default 3.
        points (int): about how many rates each later round gets (:func:`zoom_rates`). Default 25.
        **sweep_kwargs: passed to :func:`segmented_sweep`.

    Returns:
        list[SegmentedSweep]: one per round.

    Raises:
        TypeError, ValueError: as :func:`segmented_sweep` and :func:`zoom_rates`; ``rounds`` < 1.
    """
    rounds = checks.integer(rounds, "rounds", minimum=1)
    rates = segment_rates() if first_rates is None else first_rates
    done: list[SegmentedSweep] = []
    for r in range(rounds):
        if r > 0:
            kind = "past_falling" if r == 1 else "around_turn"
            rates = zoom_rates(done[-1].rates, done[-1].mean_loss, kind, points=points)
        done.append(segmented_sweep(data, rates, **sweep_kwargs))
    return done
