"""The range-test explorer: the sweep's range, length, smoothing and batch size -> a quick sweep -> its figure.

:func:`quick_sweep` is the computation (a sweep of a fresh network, within
:data:`EXPLORER_LIMITS` so that a redraw takes a second or two); the figure is
:func:`lib.lr_finder.figures.sweep_figure`; :class:`RangeTestExplorer` wires
them to controls on the shared :class:`lib.explorer.Explorer`.
"""
from __future__ import annotations

from typing import Callable

import ipywidgets as W
from torch import nn

from lib.core import checks
from lib.core.data import Splits
from lib.core.models import build_model
from lib.explorer import Explorer

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


class RangeTestExplorer(Explorer):
    """Controls for the sweep range, the number of updates, the smoothing beta and the
    batch size; every change runs :func:`quick_sweep` and redraws.

    Args:
        data (Splits): the data swept.
        start, end, steps, beta, batch_size: the controls' first values (see :func:`quick_sweep`).

    Raises:
        TypeError: ``data`` is not ``Splits``.
    """

    def __init__(self, data: Splits, *, start: float = 1e-4, end: float = 10.0, steps: int = 150,
                 beta: float = 0.98, batch_size: int = 64):
        self.data = checks.splits(data)
        self.defaults = dict(start=start, end=end, steps=steps, beta=beta, batch_size=batch_size)
        super().__init__()

    def controls(self) -> list[dict[str, W.Widget]]:
        d = self.defaults
        return [{"start": W.FloatText(value=d["start"], description="start η"),
                 "end": W.FloatText(value=d["end"], description="end η"),
                 "steps": W.IntText(value=d["steps"], description="updates")},
                {"beta": W.FloatText(value=d["beta"], step=0.01, description="β (smoothing)"),
                 "batch_size": W.IntText(value=d["batch_size"], description="batch size")}]

    def compute(self, **values) -> RangeTest:
        return quick_sweep(self.data, **values)

    def draw(self, result: RangeTest):
        return sweep_figure(result)
