"""The cyclical-rate explorer: pick the cycle and the two rates of eq. (2), see what the average does.

Every setting continues one checkpoint with :func:`lib.swa.plans.cyclical`
(:func:`lib.swa.training.continue_run`, validation tracked) and draws
:func:`lib.swa.figures.tracking_figure`.  Runs are kept, so each setting trains
once; ``precompute=True`` trains every valid setting up front (the book does
that under the full budget, so the sliders answer at once).  An invalid setting
(:math:`\\alpha_2 > \\alpha_1`) shows its message instead of a traceback.  With a
cycle of one step the rate is :math:`\\alpha_2` at every step whatever
:math:`\\alpha_1` (eq. 2), so the :math:`\\alpha_1` slider is disabled there, and
the sentence (:func:`describe_run`) says what the drawn rate does.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from lib.core import checks
from lib.core.data import Splits
from lib.core.order import steps_per_epoch
from lib.explorer import Explorer, choice_slider

from . import figures
from .plans import cyclical
from .training import Checkpoint, SWARun, continue_run


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def describe_run(run: SWARun) -> str:
    """One sentence about a cyclical run, read off the rate it drew and its snapshots."""
    plan, rates = run.plan, run.rates
    snapshots = len(run.snapshot_steps)
    if np.all(rates == rates[0]):
        why = ("a cycle of one step: every step is the last of its cycle, so α₁ plays no part"
               if plan.every == 1 else "α₁ = α₂")
        text = (f"The rate is constant at α₂ = {plan.alpha_2:g} ({why}); {_plural(snapshots, 'snapshot')}, "
                f"one every {_plural(plan.every, 'step')}.")
    else:
        fall = (plan.alpha_1 - plan.alpha_2) / plan.every
        text = (f"{_plural(snapshots, 'snapshot')}, one at the end of each cycle of {_plural(plan.every, 'step')}; "
                f"in each cycle the rate falls by (α₁ − α₂)/c = {fall:.3g} per step, from {rates[0]:.3g} at "
                f"its first step to α₂ = {plan.alpha_2:g} at its last.")
    return text + (f" The run diverged at step {run.diverged_at}." if run.diverged else "")


class CyclicalExplorer(Explorer):
    """Sliders for the cycle length :math:`c` and the rates :math:`\\alpha_1`, :math:`\\alpha_2` of cyclical SWA.

    Args:
        checkpoint (Checkpoint): every setting continues it (:func:`lib.swa.training.pretrain`).
        data (Splits): training data, with the validation split the figure reads.
        epochs (int): epochs each setting trains after the checkpoint, >= 1.
        cycles (list[int]): the cycle lengths offered (updates); the middle one is the default.
        alpha_1s, alpha_2s (list[float]): the rates offered; the default is the largest
            :math:`\\alpha_1` (the last) and the smallest :math:`\\alpha_2` (the first).
        precompute (bool): train every valid setting now. Default False.

    With a cycle of one step, eq. (2) gives the rate :math:`\\alpha_2` at every step,
    so the :math:`\\alpha_1` slider is disabled and the run is that of
    :math:`\\alpha_1 = \\alpha_2` (:meth:`run_for`).

    Attributes:
        results (dict[(int, float, float), SWARun]): the runs trained so far, by setting.

    Raises:
        TypeError: ``checkpoint`` or ``data`` of the wrong type.
        ValueError: an empty list of options, or a cycle too long for one snapshot.
    """

    def __init__(self, checkpoint: Checkpoint, data: Splits, *, epochs: int, cycles: Sequence[int],
                 alpha_1s: Sequence[float], alpha_2s: Sequence[float], precompute: bool = False):
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError("checkpoint must be a lib.swa.training.Checkpoint (from pretrain)")
        self.checkpoint, self.data = checkpoint, checks.splits(data, classification=True)
        self.epochs = checks.integer(epochs, "epochs", minimum=1)
        self.options = {"cycle": list(checks.integers(cycles, "cycles", minimum=1)),
                         "alpha_1": checks.rates(alpha_1s, "alpha_1s").tolist(),
                         "alpha_2": checks.rates(alpha_2s, "alpha_2s").tolist()}
        cycles, alpha_1s, alpha_2s = self.options["cycle"], self.options["alpha_1"], self.options["alpha_2"]
        self.per_epoch = steps_per_epoch(data.x_train.shape[0], checkpoint.batch_size)
        for cycle in cycles:
            cyclical(max(alpha_1s), min(alpha_2s), cycle).snapshot_steps(self.epochs * self.per_epoch)
        self.results: dict[tuple[int, float, float], SWARun] = {}
        if checks.flag(precompute, "precompute"):
            for cycle in cycles:
                for alpha_1 in alpha_1s:
                    for alpha_2 in alpha_2s:
                        if alpha_2 <= alpha_1 or cycle == 1:
                            self.run_for(cycle, alpha_1, alpha_2)
        super().__init__()

    def run_for(self, cycle: int, alpha_1: float, alpha_2: float) -> SWARun:
        """The run for one setting (trained on first use, then kept).  A cycle of one step runs at
        :math:`\\alpha_2` whatever :math:`\\alpha_1`: its run is that of :math:`\\alpha_1 = \\alpha_2`."""
        if cycle == 1:
            alpha_1 = alpha_2
        key = (cycle, alpha_1, alpha_2)
        if key not in self.results:
            plan = cyclical(alpha_1, alpha_2, cycle)
            self.results[key] = continue_run(self.checkpoint, plan, self.data, epochs=self.epochs, track=True)
        return self.results[key]

    def controls(self):
        cycles, alpha_1s, alpha_2s = self.options["cycle"], self.options["alpha_1"], self.options["alpha_2"]

        def cycle_label(c: int) -> str:
            epochs = c / self.per_epoch
            return f"{_plural(c, 'step')} ({epochs:.2g} epoch{'s' if epochs > 1 else ''})"

        self.cycle, cycle_shown = choice_slider([(cycle_label(c), c) for c in cycles], cycles[len(cycles) // 2],
                                                "cycle c", 220, 150)
        self.alpha_1, alpha_1_shown = choice_slider([(f"{a:g}", a) for a in alpha_1s], alpha_1s[-1], "α₁", 200, 50)
        self.alpha_2, alpha_2_shown = choice_slider([(f"{a:g}", a) for a in alpha_2s], alpha_2s[0], "α₂", 200, 50)
        self.cycle.observe(self._alpha_1_in_play, names="value")
        self._alpha_1_in_play()
        return [{"cycle": self.cycle, "_cycle": cycle_shown},
                {"alpha_1": self.alpha_1, "_alpha_1": alpha_1_shown, "alpha_2": self.alpha_2, "_alpha_2": alpha_2_shown}]

    def _alpha_1_in_play(self, _change=None) -> None:
        """Disable the α₁ slider while the cycle is one step long (it cannot change the run)."""
        one = self.cycle.value == 1
        self.alpha_1.disabled = one
        self.alpha_1.tooltip = "a cycle of one step runs at α₂ whatever α₁" if one else None

    def compute(self, cycle: int, alpha_1: float, alpha_2: float) -> SWARun:
        return self.run_for(cycle, alpha_1, alpha_2)

    def draw(self, result: SWARun):
        return figures.tracking_figure(result)

    def describe(self, result: SWARun) -> str:
        return describe_run(result)
