"""A run of a grid (:class:`Member`), grids of runs (:func:`grid`), and the rate of every update.

A :class:`Member` says everything that may differ between the runs of one grid:
the learning rate and its schedule, momentum, weight decay, the seed of the
initial weights and the seed of the data order.  :func:`learning_rates` turns
its schedule into the rate of each update before training starts, which lets
the engine apply K different schedules as one (K, steps) array.

Schedules come in four forms, all read through ``torch.optim.lr_scheduler``
where one is involved:

* ``None``: constant ``lr``;
* ``functools.partial(StepLR, step_size=50, gamma=0.9)`` (or a scheduler
  class): built fresh on an optimiser whose rate is ``lr`` and stepped once per
  update (what :func:`lib.schedules.schedule` returns);
* a fresh ``LRScheduler`` object: its optimiser's rate is the base rate; it is
  used up by training;
* a function ``step -> learning rate`` (0-based step).

A scheduler object that was already stepped (say, to plot it) would start
training mid-schedule, the bug of d2l's scheduling chapter: that is an error.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

import numpy as np
import torch
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from . import checks

Schedule = Union[None, LRScheduler, functools.partial, type, Callable[[int], float]]


def _is_scheduler_class(schedule) -> bool:
    target = schedule.func if isinstance(schedule, functools.partial) else schedule
    return isinstance(target, type) and issubclass(target, LRScheduler)


def _is_step_function(schedule) -> bool:
    return callable(schedule) and not isinstance(schedule, LRScheduler) and not _is_scheduler_class(schedule)


@dataclass(frozen=True)
class Member:
    """One run of a grid.

    Args:
        lr (float or None): the base learning rate (per update); ``None`` only with a
            scheduler object or a step function that sets the rate itself.  Default 0.1.
        schedule: how the rate varies with the update (see the module docstring).
            Default ``None`` (constant).
        momentum (float): heavy-ball momentum m in [0, 1), as ``torch.optim.SGD``
            (dampening 0). Default 0.
        weight_decay (float): L2 coefficient >= 0 added to the gradient. Default 0.
        init_seed (int): seed of the initial weights. Default 0.
        data_seed (int): seed of the data order (:class:`lib.core.order.DataOrder`). Default 0.
        label (str, optional): the member's name in tables and legends.

    Two members that share ``init_seed`` and ``data_seed`` start from the same
    weights and see the same batches.

    Raises:
        TypeError: a field has the wrong type (a scheduler that depends on metrics,
            ``ReduceLROnPlateau``, included).
        ValueError: a field is out of range.
    """

    lr: float | None = 0.1
    schedule: Schedule = None
    momentum: float = 0.0
    weight_decay: float = 0.0
    init_seed: int = 0
    data_seed: int = 0
    label: str | None = None

    def __post_init__(self):
        if self.lr is not None:
            object.__setattr__(self, "lr", checks.positive(self.lr, "lr"))
        object.__setattr__(self, "momentum", checks.fraction(self.momentum, "momentum"))
        object.__setattr__(self, "weight_decay", checks.non_negative(self.weight_decay, "weight_decay"))
        for name in ("init_seed", "data_seed"):
            object.__setattr__(self, name, checks.seed(getattr(self, name), name))
        if self.lr is None and not isinstance(self.schedule, LRScheduler) and not _is_step_function(self.schedule):
            raise ValueError("lr=None is only allowed with a scheduler object or a step function "
                             "that sets the rate itself")
        if isinstance(self.schedule, ReduceLROnPlateau):
            raise TypeError("ReduceLROnPlateau depends on measured metrics and cannot be "
                            "precomputed; use a step-based scheduler")

    @property
    def name(self) -> str:
        """``label``, or a short description such as ``"lr=0.1 m=0.9 seed=1/1"``."""
        if self.label:
            return self.label
        parts = [f"lr={self.lr:g}" if self.lr is not None else "lr=schedule"]
        if self.momentum:
            parts.append(f"m={self.momentum:g}")
        if self.weight_decay:
            parts.append(f"wd={self.weight_decay:g}")
        if self.init_seed or self.data_seed:
            parts.append(f"seed={self.init_seed}/{self.data_seed}")
        return " ".join(parts)


def grid(**axes: Sequence[Any]) -> list[Member]:
    """Every combination of the given :class:`Member` fields, the first axis slowest.

    ``grid(lr=[0.1, 0.3], init_seed=[0, 1])`` gives four members:
    (0.1, 0), (0.1, 1), (0.3, 0), (0.3, 1).

    Raises:
        ValueError: no axis, an unknown field, or an empty axis.
    """
    fields = {f.name for f in dataclasses.fields(Member)}
    unknown = sorted(set(axes) - fields)
    if unknown:
        raise ValueError(f"unknown grid axis {unknown}; allowed: {sorted(fields)}")
    if not axes:
        raise ValueError("grid() needs at least one axis, e.g. grid(lr=[0.1, 0.5])")
    values = {}
    for name, axis in axes.items():
        if isinstance(axis, np.ndarray):
            axis = axis.tolist()
        if isinstance(axis, (str, bytes)) or not isinstance(axis, (Sequence, range)) or len(axis) == 0:
            raise ValueError(f"grid axis {name!r} must be a non-empty list, got {axis!r}")
        values[name] = list(axis)
    names = list(values)
    return [Member(**dict(zip(names, combo))) for combo in itertools.product(*values.values())]


def _scheduler_rates(scheduler: LRScheduler, steps: int) -> np.ndarray:
    """Step a scheduler ``steps`` times and read the rate it sets before each update.

    Raises:
        ValueError: a scheduler that also cycles the momentum (``OneCycleLR``, ``CyclicLR``
            with ``cycle_momentum=True``, their default): only rates are read from it.
    """
    if getattr(scheduler, "cycle_momentum", False):
        raise ValueError(
            f"this {type(scheduler).__name__} cycles the momentum as well as the rate "
            "(cycle_momentum=True, its default), but a Member's momentum is fixed: build it with "
            "cycle_momentum=False and set Member(momentum=...)")
    group = scheduler.optimizer.param_groups[0]
    rates = np.empty(steps, dtype=np.float64)
    with warnings.catch_warnings():
        # The scheduler's optimiser is never stepped: only its rate is read.
        warnings.filterwarnings("ignore", message=r".*lr_scheduler\.step\(\)")
        for step in range(steps):
            rates[step] = float(group["lr"])
            scheduler.step()
    return rates


def learning_rates(member: Member, steps: int) -> np.ndarray:
    """The learning rate ``member`` applies at each of its first ``steps`` updates, shape (steps,), float64.

    Raises:
        ValueError: ``steps`` < 1; a scheduler object that was already stepped or
            used; a scheduler whose base rate disagrees with ``member.lr``; a
            scheduler that cycles the momentum (``cycle_momentum=True``); a
            schedule that gives a rate that is negative or not finite.
        TypeError: a schedule of an unknown kind, or a scheduler class that cannot
            be built from the given arguments.
    """
    steps = checks.integer(steps, "steps", minimum=1)
    schedule = member.schedule
    if schedule is None:
        rates = np.full(steps, float(member.lr))
    elif isinstance(schedule, LRScheduler):
        if schedule.last_epoch != 0 or getattr(schedule, "_lr_book_spent", False):
            raise ValueError(
                f"this {type(schedule).__name__} has already been stepped {schedule.last_epoch} "
                "time(s), so training with it would start mid-schedule; pass a fresh scheduler, "
                "or better a functools.partial of the scheduler class, which the trainer builds fresh")
        base = float(schedule.optimizer.param_groups[0]["lr"])
        if member.lr is not None and not math.isclose(base, member.lr, rel_tol=1e-12):
            raise ValueError(f"the scheduler's optimiser starts at lr={base:g} but the member "
                             f"says lr={member.lr:g}; set lr=None or make them agree")
        rates = _scheduler_rates(schedule, steps)
        schedule._lr_book_spent = True
    elif _is_scheduler_class(schedule):
        proxy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=float(member.lr))
        try:
            scheduler = schedule(proxy)
        except TypeError as error:
            raise TypeError(f"could not build the scheduler from {schedule!r}: {error}") from error
        rates = _scheduler_rates(scheduler, steps)
    elif callable(schedule):
        rates = np.array([float(schedule(step)) for step in range(steps)], dtype=np.float64)
    else:
        raise TypeError(f"schedule must be None, an LRScheduler, a partial of a scheduler class "
                        f"or a function of the step, got {type(schedule).__name__}")
    bad = ~np.isfinite(rates) | (rates < 0)
    if bad.any():
        step = int(np.argmax(bad))
        raise ValueError(f"the schedule gives learning rate {rates[step]} at step {step}; "
                         "rates must be finite and >= 0")
    return rates
