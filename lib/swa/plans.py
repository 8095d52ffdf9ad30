"""What a run does after its checkpoint: decay the rate, or hold or cycle it and average (section 6).

Izmailov et al. (2018) train as usual for most of the budget, then, instead of
decaying the learning rate to zero, hold it high (constant) or cycle it, and
average the weights SGD visits.  A :class:`SWAPlan` says which, for the phase
after the checkpoint:

* :func:`decay`: the SGD baseline; the rate falls linearly from the
  checkpoint's rate to ``final_lr`` (``torch.optim.lr_scheduler.LinearLR``),
  nothing is averaged;
* :func:`constant`: :class:`torch.optim.swa_utils.SWALR` anneals the rate to a
  constant ``swa_lr`` over ``anneal_steps`` updates (linearly or along a half
  cosine) and holds it; a snapshot is averaged every ``every`` updates;
* :func:`cyclical`: the paper's cyclical rate (their eq. 2, :func:`cyclical_lr`)
  with a snapshot at the end of each cycle, where the rate is lowest:

.. math:: \\alpha(i) = (1 - t(i))\\,\\alpha_1 + t(i)\\,\\alpha_2, \\qquad
          t(i) = \\frac{\\operatorname{mod}(i - 1, c) + 1}{c}.

Any plan may also keep an exponential moving average of every iterate
(``ema_decay``).  Steps are counted in updates from the checkpoint.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from torch.optim.lr_scheduler import LinearLR
from torch.optim.swa_utils import SWALR

from lib.core import checks
from lib.core.members import Member, learning_rates

#: The three ways a run may continue from its checkpoint.
PLAN_KINDS = ("decay", "constant", "cyclical")
#: How ``SWALR`` anneals to its constant rate.
ANNEAL_STRATEGIES = ("linear", "cos")


def cyclical_lr(step, alpha_1: float, alpha_2: float, cycle: int):
    """The cyclical rate of Izmailov et al. (2018), their eq. (2), at 0-based ``step``.

    With the paper's 1-based iteration :math:`i` = ``step + 1``:

    .. math:: \\alpha(i) = (1 - t(i))\\,\\alpha_1 + t(i)\\,\\alpha_2, \\qquad
              t(i) = \\frac{\\operatorname{mod}(i - 1, c) + 1}{c}.

    Within each cycle of :math:`c` = ``cycle`` steps the rate falls linearly and
    reaches :math:`\\alpha_2` at the cycle's last step; the next step jumps back
    up.  ``cycle=1`` gives the constant rate :math:`\\alpha_2`.

    Args:
        step (int or array of ints): update(s), counted from 0 after the checkpoint.
        alpha_1 (float): the rate a cycle starts from (per update), > 0.
        alpha_2 (float): the rate a cycle ends at, in (0, ``alpha_1``].
        cycle (int): updates per cycle, >= 1.

    Returns:
        float for an int ``step``, else a float64 array of ``step``'s shape.

    Raises:
        TypeError: ``step`` is not an int or an array of ints; a rate is not a number;
            ``cycle`` is not an int.
        ValueError: a rate is not finite and > 0, ``alpha_2 > alpha_1``, ``cycle`` < 1,
            or a step < 0.

    Example::

        >>> cyclical_lr(np.arange(4), 1.0, 0.1, 4)
        array([0.775, 0.55 , 0.325, 0.1  ])
    """
    alpha_1 = checks.positive(alpha_1, "alpha_1")
    alpha_2 = checks.positive(alpha_2, "alpha_2")
    if alpha_2 > alpha_1:
        raise ValueError(f"alpha_2 = {alpha_2:g} exceeds alpha_1 = {alpha_1:g}: within a cycle the rate "
                         "falls from alpha_1 to alpha_2 (Izmailov et al. 2018, eq. 2), so alpha_2 <= alpha_1")
    cycle = checks.integer(cycle, "cycle", minimum=1)
    scalar = checks.is_integer(step)
    steps = np.asarray(step)
    if steps.dtype == bool or not np.issubdtype(steps.dtype, np.integer):
        raise TypeError(f"step must be an int or an array of ints, got {step!r}")
    if (steps < 0).any():
        raise ValueError(f"step must be an int >= 0 (steps are counted from 0), got {step!r}")
    i = steps + 1
    t = (np.mod(i - 1, cycle) + 1) / cycle
    rates = (1 - t) * alpha_1 + t * alpha_2
    return float(rates) if scalar else rates.astype(np.float64)


@dataclass(frozen=True)
class SWAPlan:
    """What a run does after its checkpoint; build one with :func:`decay`, :func:`constant` or :func:`cyclical`.

    Attributes:
        kind (str): ``"decay"``, ``"constant"`` or ``"cyclical"`` (:data:`PLAN_KINDS`).
        every (int or None): updates between snapshots (``constant``), the cycle
            length :math:`c` (``cyclical``).
        final_lr (float or None): the rate ``decay`` ends at (per update).
        swa_lr (float or None): the rate ``SWALR`` holds (``constant``).
        anneal_steps (int): updates ``SWALR`` takes to reach ``swa_lr``. Default 0.
        anneal_strategy (str): ``"linear"`` or ``"cos"``. Default ``"linear"``.
        alpha_1, alpha_2 (float or None): the cyclical rate's start and end (eq. 2).
        ema_decay (float or None): also keep the exponential moving average
            :math:`\\bar w \\leftarrow d\\,\\bar w + (1 - d)\\,w` of every iterate, with
            :math:`d` in (0, 1).
        label (str or None): the plan's name in tables and legends (default: :attr:`name`'s).

    Raises:
        TypeError: a field of the wrong type (a missing rate, a float ``every``).
        ValueError: an unknown kind or strategy, a rate not finite and > 0,
            ``every`` < 1, ``anneal_steps`` < 0, ``alpha_2 > alpha_1``, ``ema_decay`` outside (0, 1).
    """

    kind: str
    every: int | None = None
    final_lr: float | None = None
    swa_lr: float | None = None
    anneal_steps: int = 0
    anneal_strategy: str = "linear"
    alpha_1: float | None = None
    alpha_2: float | None = None
    ema_decay: float | None = None
    label: str | None = None

    def __post_init__(self):
        checks.choice(self.kind, "kind", PLAN_KINDS)
        if self.kind == "decay":
            checks.positive(self.final_lr, "final_lr")
        elif self.kind == "constant":
            checks.positive(self.swa_lr, "swa_lr")
            checks.integer(self.every, "every", minimum=1)
            checks.integer(self.anneal_steps, "anneal_steps", minimum=0)
            checks.choice(self.anneal_strategy, "anneal_strategy", ANNEAL_STRATEGIES)
        else:
            cyclical_lr(0, self.alpha_1, self.alpha_2, self.every)   # the formula's own checks
        if self.ema_decay is not None:
            checks.number_in(self.ema_decay, "ema_decay", 0.0, 1.0)

    @property
    def averages(self) -> bool:
        """True when the plan keeps an equal-weight average (SWA)."""
        return self.kind != "decay"

    @property
    def name(self) -> str:
        """``label``, or a description such as ``"SWA, cyclical 1 to 0.05"``."""
        if self.label:
            return self.label
        if self.kind == "decay":
            return f"SGD, rate decayed to {self.final_lr:g}"
        if self.kind == "constant":
            return f"SWA, constant rate {self.swa_lr:g}"
        return f"SWA, cyclical {self.alpha_1:g} to {self.alpha_2:g}"

    def learning_rates(self, start_lr: float, steps: int) -> np.ndarray:
        """The rate of each of the ``steps`` updates after a checkpoint trained at ``start_lr``.

        ``decay``: ``torch.optim.lr_scheduler.LinearLR`` from ``start_lr`` towards
        ``final_lr``; ``constant``: :class:`~torch.optim.swa_utils.SWALR`;
        ``cyclical``: :func:`cyclical_lr`.  The schedulers are read through
        :func:`lib.core.members.learning_rates`, stepped once per update.

        Args:
            start_lr (float): the checkpoint's rate (per update), > 0.
            steps (int): updates after the checkpoint, >= 1.

        Returns:
            ndarray (steps,): float64 rates.

        Raises:
            TypeError, ValueError: a bad ``start_lr`` or ``steps``; a ``decay`` whose
                ``final_lr`` is above ``start_lr``.
        """
        start_lr = checks.positive(start_lr, "start_lr")
        steps = checks.integer(steps, "steps", minimum=1)
        if self.kind == "cyclical":
            return cyclical_lr(np.arange(steps), self.alpha_1, self.alpha_2, self.every)
        if self.kind == "decay":
            if self.final_lr > start_lr:
                raise ValueError(f"final_lr = {self.final_lr:g} is above the rate {start_lr:g} it decays "
                                 "from; a decay needs final_lr <= start_lr")
            schedule = functools.partial(LinearLR, start_factor=1.0, end_factor=self.final_lr / start_lr,
                                         total_iters=steps)
        else:
            schedule = functools.partial(SWALR, swa_lr=self.swa_lr, anneal_epochs=self.anneal_steps,
                                         anneal_strategy=self.anneal_strategy)
        return learning_rates(Member(lr=start_lr, schedule=schedule), steps)

    def snapshot_steps(self, steps: int) -> np.ndarray:
        """0-based updates after which the average takes a snapshot: every ``every``-th (none for ``decay``).

        Args:
            steps (int): updates in the averaging phase, >= 1.

        Returns:
            ndarray (snapshots,): int64 steps ``every - 1, 2 every - 1, ...`` (the end of each cycle).

        Raises:
            ValueError: ``steps`` < 1, or a phase too short for a single snapshot.
        """
        steps = checks.integer(steps, "steps", minimum=1)
        if not self.averages:
            return np.zeros(0, dtype=np.int64)
        if self.every > steps:
            raise ValueError(f"the averaging phase has {steps} steps, fewer than one cycle of {self.every}: "
                             "no snapshot would ever be taken; shorten the cycle or train longer")
        return np.arange(self.every - 1, steps, self.every, dtype=np.int64)


def decay(final_lr: float, *, ema_decay: float | None = None, label: str | None = None) -> SWAPlan:
    """The SGD baseline: the rate falls linearly from the checkpoint's rate to ``final_lr``; no average.

    Raises:
        TypeError, ValueError: as :class:`SWAPlan`.
    """
    return SWAPlan("decay", final_lr=final_lr, ema_decay=ema_decay, label=label)


def constant(swa_lr: float, every: int, *, anneal_steps: int = 0, anneal_strategy: str = "linear",
             ema_decay: float | None = None, label: str | None = None) -> SWAPlan:
    """SWA with PyTorch's ``SWALR``: anneal to ``swa_lr`` over ``anneal_steps`` updates, hold it,
    and average a snapshot every ``every`` updates.

    Raises:
        TypeError, ValueError: as :class:`SWAPlan`.
    """
    return SWAPlan("constant", every=every, swa_lr=swa_lr, anneal_steps=anneal_steps,
                   anneal_strategy=anneal_strategy, ema_decay=ema_decay, label=label)


def cyclical(alpha_1: float, alpha_2: float, cycle: int, *, ema_decay: float | None = None,
             label: str | None = None) -> SWAPlan:
    """SWA with the paper's cyclical rate (:func:`cyclical_lr`), a snapshot at the end of every cycle
    of ``cycle`` updates.

    Raises:
        TypeError, ValueError: as :class:`SWAPlan` and :func:`cyclical_lr`.
    """
    return SWAPlan("cyclical", every=cycle, alpha_1=alpha_1, alpha_2=alpha_2, ema_decay=ema_decay, label=label)
