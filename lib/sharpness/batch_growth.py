"""Don't decay the learning rate, increase the batch size (Smith, Kindermans, Ying & Le 2018).

If what matters is SGD's noise scale :math:`g \\approx \\epsilon N / (B(1 - m))`
(:func:`lib.sharpness.sgd_noise.sgd_noise_scale`), then dividing the rate by a
factor at a milestone and multiplying the batch by the same factor lower
:math:`g` alike, and the second needs fewer parameter updates.
:func:`milestone_schedules` builds the three schedules the paper compares, with
one noise-scale profile, in the form the grid engine takes: a batch size per
epoch and a rate per update (:class:`EpochRates`).  :func:`batch_growth_study`
trains all three over several seeds and returns a :class:`GrowthStudy`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from torch import nn

from lib.core import checks
from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.evaluate import evaluate_stacked
from lib.core.members import Member
from lib.core.order import steps_per_epoch

from .sgd_noise import sgd_noise_scale

#: The three ways of lowering the noise scale at the milestones.
SCHEDULE_KINDS = ("decay", "grow", "hybrid")


class EpochRates:
    """A step -> learning-rate function that is constant within each epoch.

    Args:
        rates (list[float]): the rate of each epoch.
        epoch_of_step (ndarray, (steps,)): the epoch of each 0-based update; a step
            past the end keeps the last epoch's rate.
    """

    def __init__(self, rates: list[float], epoch_of_step: np.ndarray):
        self.rates, self.epoch_of_step = rates, epoch_of_step

    def __call__(self, step: int) -> float:
        return self.rates[int(self.epoch_of_step[min(step, len(self.epoch_of_step) - 1)])]

    def __repr__(self) -> str:
        return f"rate per epoch {self.rates}"


def milestone_schedules(lr: float, batch_size: int, *, factor: float, milestones, epochs: int,
                        train_size: int, drop_last: bool = False) -> dict[str, tuple[list[int], EpochRates]]:
    """Smith, Kindermans, Ying & Le's (2018) three schedules with one noise-scale profile.

    At every milestone (an epoch index) the noise scale :math:`g \\approx \\epsilon N/B`
    falls by ``factor`` :math:`F`, in one of three ways; after :math:`k` milestones

    * ``"decay"``: :math:`\\epsilon = \\epsilon_0 / F^k`, :math:`B = B_0` (the usual step decay);
    * ``"grow"``: :math:`\\epsilon = \\epsilon_0`, :math:`B = B_0 F^k`;
    * ``"hybrid"``: the batch grows at the first milestone, the rate decays at the later ones.

    Args:
        lr (float): :math:`\\epsilon_0`, the starting rate (per update), > 0.
        batch_size (int): :math:`B_0`, the starting batch (examples), >= 1.
        factor (float): F, > 1.
        milestones (list[int]): increasing epoch indices in [1, ``epochs`` - 1].
        epochs (int): training epochs, >= 1.
        train_size (int): N, training examples; the largest batch
            :math:`B_0 F^{\\text{len(milestones)}}` must not exceed it.
        drop_last (bool): count updates as the engine does with ``drop_last``. Default False.

    Returns:
        dict: ``{kind: (batch sizes, one per epoch; rate as a function of the 0-based
        step)}`` for each of :data:`SCHEDULE_KINDS`, ready for
        ``train_grid(batch_size=...)`` and ``Member(schedule=...)``.  The step
        function maps each step to its epoch with the engine's count of updates per
        epoch (:func:`lib.core.order.steps_per_epoch`).

    Raises:
        TypeError: an argument of the wrong type (``milestones`` not a list of ints).
        ValueError: ``lr`` not > 0, ``factor`` not > 1, counts < 1, milestones not
            increasing inside the epochs, or a largest batch above ``train_size``.
    """
    lr = checks.positive(lr, "lr")
    batch_size = checks.int_at_least(batch_size, "batch_size")
    epochs = checks.int_at_least(epochs, "epochs")
    train_size = checks.int_at_least(train_size, "train_size")
    factor = checks.number(factor, "factor", low=1.0, low_open=True)
    checks.flag(drop_last, "drop_last")
    milestones = list(checks.integers(milestones, "milestones"))
    if milestones != sorted(set(milestones)) or milestones[0] < 1 or milestones[-1] >= epochs:
        raise ValueError(f"milestones must be increasing epoch indices in [1, {epochs - 1}], got {milestones}")
    largest = batch_size * factor ** len(milestones)
    if largest > train_size:
        raise ValueError(f"growing the batch {len(milestones)} time(s) by {factor:g} reaches {largest:g}, "
                         f"more than the {train_size} training examples; use fewer milestones or a smaller factor")
    passed = np.searchsorted(np.array(milestones), np.arange(epochs), side="right")  # milestones reached per epoch
    schedules = {}
    for kind in SCHEDULE_KINDS:
        grows = passed if kind == "grow" else (np.minimum(passed, 1) if kind == "hybrid" else 0 * passed)
        decays = passed - grows
        batches = [int(round(batch_size * factor ** int(k))) for k in grows]
        rates = [lr / factor ** int(k) for k in decays]
        epoch_of_step = np.repeat(np.arange(epochs), [steps_per_epoch(train_size, b, drop_last) for b in batches])
        schedules[kind] = (batches, EpochRates(rates, epoch_of_step))
    return schedules


@dataclass(frozen=True)
class GrowthRun:
    """One schedule of :func:`batch_growth_study`, over its seeds.

    Attributes:
        kind (str): one of :data:`SCHEDULE_KINDS`.
        batch_sizes (list[int]): the batch size of each epoch.
        noise_scale (ndarray, (epochs,)): g of each epoch, from the rate the engine
            applied at the epoch's first update (first seed) and its batch size.
        updates (int): parameter updates made.
        eval_epoch, eval_step (ndarray, (E,)): when the evaluations were made, in epochs and updates.
        val_acc (ndarray, (S, E)): validation accuracy in percent.
        test_acc (ndarray, (S,)): final test accuracy in percent (float32).
    """

    kind: str
    batch_sizes: list[int]
    noise_scale: np.ndarray
    updates: int
    eval_epoch: np.ndarray
    eval_step: np.ndarray
    val_acc: np.ndarray
    test_acc: np.ndarray


@dataclass(frozen=True)
class GrowthStudy:
    """The three schedules of :func:`milestone_schedules`, trained over the same seeds.

    Attributes:
        runs (dict[str, GrowthRun]): by kind, in the order of :data:`SCHEDULE_KINDS`.
        milestones (tuple[int, ...]): the epochs at which g falls.
        seeds (tuple[int, ...]): the S seeds.
    """

    runs: dict[str, GrowthRun]
    milestones: tuple[int, ...]
    seeds: tuple[int, ...]

    @property
    def largest_batch(self) -> int:
        """The largest batch size the growing schedule reaches."""
        return max(self.runs["grow"].batch_sizes)

    @property
    def saving(self) -> float:
        """The fraction of the decaying schedule's parameter updates that growing the batch saves."""
        return 1 - self.runs["grow"].updates / self.runs["decay"].updates


def batch_growth_study(data: Splits, *, lr: float, batch_size: int, factor: float, milestones,
                       epochs: int, seeds: Sequence[int], momentum: float = 0.0,
                       model: str | Callable[[int], nn.Module] = "textbook") -> GrowthStudy:
    """Smith et al.'s (2018) comparison: decay the rate, grow the batch, or both, at the same milestones.

    Each schedule of :func:`milestone_schedules` trains one grid of one member
    per seed (initial weights and data order from the seed, momentum ``momentum``),
    evaluated every half epoch, then on the test split.

    Args:
        data (Splits): training, validation and test examples (N = its training examples).
        lr, batch_size, factor, milestones, epochs: as in :func:`milestone_schedules`.
        seeds (sequence of int): distinct seeds >= 0.
        momentum (float): heavy-ball momentum m in [0, 1), also in g. Default 0.
        model (str or callable): as :func:`lib.core.engine.train_grid`. Default ``"textbook"``.

    Returns:
        GrowthStudy: the per-seed record of each schedule.

    Raises:
        TypeError: ``data`` is not ``Splits``; as :func:`milestone_schedules` and
            :func:`lib.core.engine.train_grid`.
        ValueError: ``data`` without a test split; as :func:`milestone_schedules` and
            :func:`lib.core.engine.train_grid`.
    """
    checks.splits(data, test=True)
    seeds = checks.seeds(seeds)
    momentum = checks.fraction(momentum, "momentum")
    plans = milestone_schedules(lr, batch_size, factor=factor, milestones=milestones, epochs=epochs,
                                train_size=data.n_train)
    runs = {}
    for kind, (batches, rate) in plans.items():
        members = [Member(lr=lr, schedule=rate, momentum=momentum, init_seed=s, data_seed=s) for s in seeds]
        run = train_grid(members, data, model=model, batch_size=batches, epochs=epochs, eval_every=0.5)
        h = run.history
        first_updates = np.searchsorted(h.step_epoch, np.arange(epochs))                  # (epochs,)
        noise = np.array([sgd_noise_scale(r, data.n_train, b, momentum=momentum)
                          for r, b in zip(h.step_lr[0, first_updates], h.batch_sizes)])
        test_acc = evaluate_stacked(run.template, run.params, run.buffers, data.x_test, data.y_test)[1].numpy()
        runs[kind] = GrowthRun(kind=kind, batch_sizes=list(batches), noise_scale=noise, updates=len(h.step_epoch),
                               eval_epoch=h.eval_epoch, eval_step=h.eval_step, val_acc=100 * h.val_acc,
                               test_acc=100 * test_acc)
    return GrowthStudy(runs=runs, milestones=tuple(int(m) for m in milestones), seeds=seeds)
