"""The range-test explorer: the sweep's range, length, smoothing and batch size -> a quick sweep -> its figure.

:func:`quick_sweep` is the computation (a sweep of a fresh network, within
:data:`EXPLORER_LIMITS` so that a redraw takes a second or two); the figure is
:func:`lib.lr_finder.figures.sweep_figure`, which draws the running average
whose smoothing :math:`\beta` sets (the curve the popular finders draw, and the
one whose rise stops the sweep) beside the zero-lag curve the suggestions are
read from; :class:`RangeTestExplorer` wires them to controls on the shared
:class:`lib.explorer.Explorer`, every number typed in a
:class:`lib.explorer.NumberBox`.
"""
from __future__ import annotations

from typing import Callable

import ipywidgets as W
from torch import nn

from lib.core import checks
from lib.core.data import Splits
from lib.core.models import build_model
from lib.explorer import Explorer, NumberBox

from .figures import sweep_figure
from .sweep import RangeTest, lr_range_test

#: The explorer's allowed settings: (lowest, highest) of each.
EXPLORER_LIMITS = dict(start=(1e-6, 1.0), end=(1e-3, 100.0), steps=(20, 500), beta=(0.0, 0.999))


def quick_sweep(data: Splits, *, start: float = 1e-4, end: float = 10.0, steps: int = 150,
                beta: float = 0.98, batch_size: int = 64, init_seed: int = 0,
                model: str | Callable[[int], nn.Module] = "textbook") -> RangeTest:
    """A sweep (:func:`lib.lr_finder.sweep.lr_range_test`) of a fresh network with these settings,
    suggestions read without the first ``min(10, steps // 10)`` and last 5 updates.

    Args:
        data (Splits): the training split is swept.
        start (float): first rate, in [1e-6, 1]. Default 1e-4.
        end (float): last rate, in [1e-3, 100]. Default 10.
        steps (int): updates, in [20, 500]. Default 150.
        beta (float): smoothing factor of the running average, in [0, 0.999]. Default 0.98.
        batch_size (int): examples per update. Default 64.
        init_seed (int): seed of the fresh network's weights. Default 0.
        model (str or callable): a name in :data:`lib.core.models.MODELS` or ``init_seed -> nn.Module``.
            Default ``"textbook"``.

    Returns:
        RangeTest: the sweep.

    Raises:
        TypeError, ValueError: a setting outside :data:`EXPLORER_LIMITS`, or as
            :func:`lib.lr_finder.sweep.lr_range_test`.
    """
    for name, value in (("start", start), ("end", end), ("beta", beta)):
        low, high = EXPLORER_LIMITS[name]
        checks.number(value, name, low=low, high=high)
    low, high = EXPLORER_LIMITS["steps"]
    steps = checks.integer(steps, "steps", minimum=low, maximum=high)
    net = build_model(model, init_seed).to(data.device)
    return lr_range_test(net, data, start=start, end=end, steps=steps, beta=beta, batch_size=batch_size,
                         skip_start=min(10, steps // 10), skip_end=5)


def describe_sweep(result: RangeTest) -> str:
    """One sentence about a sweep, read off its record: what beta smooths, where the sweep stopped, and
    which curve the suggestions come from."""
    settings = result.settings
    taken = f"{len(result.lrs)} of {settings['steps']} updates"
    if result.stopped_at >= 0:
        where = f"the sweep stopped at η = {result.stop_lr:.3g} after {taken} ({result.stop_reason})"
    else:
        where = f"the sweep ran all {taken} to η = {result.stop_lr:.3g}"
    source = ("the zero-lag curve (black), which β does not change" if settings["read_from"] == "centered"
              else "the running average")
    return (f"β = {settings['beta']:g} sets the running average (dashed) whose rise stops the sweep: {where}. "
            f"The suggestions are read off {source}.")


class RangeTestExplorer(Explorer):
    """Boxes for the sweep range, the number of updates, the smoothing beta and the
    batch size; every change runs :func:`quick_sweep` and redraws.

    Text that is not a number, or a number outside :data:`EXPLORER_LIMITS` (the
    batch size: outside 1 to the training examples), shows a message and leaves
    the last figure.

    Args:
        data (Splits): the data swept.
        start, end, steps, beta, batch_size: the controls' first values (see :func:`quick_sweep`).

    Raises:
        TypeError: ``data`` is not ``Splits``.
        ValueError: a first value out of range.
    """

    def __init__(self, data: Splits, *, start: float = 1e-4, end: float = 10.0, steps: int = 150,
                 beta: float = 0.98, batch_size: int = 64):
        self.data = checks.splits(data)
        self.defaults = dict(start=start, end=end, steps=steps, beta=beta, batch_size=batch_size)
        super().__init__()

    def controls(self) -> list[dict[str, W.Widget]]:
        d, limits = self.defaults, EXPLORER_LIMITS
        return [{"start": NumberBox(d["start"], "start η", low=limits["start"][0], high=limits["start"][1],
                                    width=170),
                 "end": NumberBox(d["end"], "end η", low=limits["end"][0], high=limits["end"][1], width=170),
                 "steps": NumberBox(d["steps"], "updates", low=limits["steps"][0], high=limits["steps"][1],
                                    integer=True, width=170)},
                {"beta": NumberBox(d["beta"], "β (smoothing)", low=limits["beta"][0], high=limits["beta"][1],
                                   fmt="g", width=200),
                 "batch_size": NumberBox(d["batch_size"], "batch size", low=1, high=self.data.n_train,
                                         integer=True, width=170)}]

    def compute(self, **values) -> RangeTest:
        return quick_sweep(self.data, **values)

    def draw(self, result: RangeTest):
        return sweep_figure(result)

    def describe(self, result: RangeTest) -> str:
        return describe_sweep(result)
