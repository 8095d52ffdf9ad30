"""Section 1's explorer: gradient descent on a ravine or a saddle, from any start, at any rate.

:class:`PathExplorer` (a :class:`lib.explorer.Explorer`) has a drop-down for the
surface, a log slider for the learning rate, boxes for the start point and a
slider for the number of steps; every change runs :func:`explore` (one
:func:`lib.step_size.gradient_descent.gd_path`, milliseconds) and redraws
:func:`lib.step_size.figures.path_figure`.  A start outside the plotted box or a
rate outside :data:`LR_LIMITS` shows a message instead of a figure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import ipywidgets as W

from lib.core import checks
from lib.explorer import Explorer

from . import figures
from .gradient_descent import Path, gd_path, stable_lr_bound
from .surfaces import Surface, ravine, saddle

#: The surfaces a reader can pick, by the name the explorer shows.
EXPLORER_SURFACES = {
    "narrow valley": ravine(gentle=1.0, steep=10.0),
    "saddle": saddle(a=1.0, b=1.0),
}
LR_LIMITS = (1e-3, 10.0)
MAX_STEPS = 500
DEFAULTS = {"surface_name": "narrow valley", "lr": 0.15, "start": (-1.8, 0.6), "steps": 60}


@dataclass(frozen=True)
class Exploration:
    """What the explorer shows: the surface picked (by name) and the path on it."""

    surface_name: str
    surface: Surface
    path: Path


def _surface(name: str) -> Surface:
    if name not in EXPLORER_SURFACES:
        raise ValueError(f"surface must be one of {', '.join(map(repr, EXPLORER_SURFACES))}; got {name!r}")
    return EXPLORER_SURFACES[name]


def _check_start(surface: Surface, start) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in start)
    except (TypeError, ValueError):
        raise TypeError(f"start must be two numbers (x, y), got {start!r}") from None
    (x0, x1), (y0, y1) = surface.window
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        raise ValueError(f"start ({x:g}, {y:g}) is outside the plotted box: "
                         f"x must lie in [{x0:g}, {x1:g}] and y in [{y0:g}, {y1:g}]")
    return x, y


def explore(surface_name: str, lr: float, start, steps: int) -> Exploration:
    """Gradient descent from ``start`` with step ``lr`` on the named surface (the explorer's compute).

    Raises:
        ValueError: an unknown surface, ``lr`` outside :data:`LR_LIMITS`, ``steps``
            outside [1, :data:`MAX_STEPS`], a start outside the plotted box.
        TypeError: ``start`` is not two numbers.
    """
    surface = _surface(surface_name)
    if not checks.is_real(lr) or not math.isfinite(lr) or not LR_LIMITS[0] <= lr <= LR_LIMITS[1]:
        raise ValueError(f"lr must be a number in [{LR_LIMITS[0]:g}, {LR_LIMITS[1]:g}], got {lr!r}")
    if not checks.is_integer(steps) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an int in [1, {MAX_STEPS}], got {steps!r}")
    start = _check_start(surface, start)
    return Exploration(surface_name, surface, gd_path(surface, start, lr, int(steps)))


def describe(surface_name: str, lr: float) -> str:
    """One sentence comparing ``lr`` with the stability bound :math:`2/\\lambda_{\\max}` at the minimum."""
    surface = _surface(surface_name)
    bound = stable_lr_bound(surface, surface.minimizer)
    top = float(surface.hessian_eigenvalues(surface.minimizer)[-1])
    verdict = "below" if lr < bound else "above"
    outcome = "steps settle into the minimum" if lr < bound else "steps overshoot and grow near the minimum"
    return f"η = {lr:.3g} is {verdict} 2/λ_max = 2/{top:g} = {bound:.3g} at the minimum: {outcome}."


def draw(exploration: Exploration):
    """The explorer's figure for an :class:`Exploration`."""
    return figures.path_figure(exploration.surface, exploration.surface_name, exploration.path)


def figure_for(surface_name: str, lr: float, start, steps: int):
    """:func:`explore` and :func:`draw` in one call (the static figure of the default settings)."""
    return draw(explore(surface_name, lr, start, steps))


class PathExplorer(Explorer):
    """Sliders for the learning rate (log scale), the surface, the start point and the steps; redraws live.

    Raises:
        TypeError: an unknown setting.
        ValueError: a setting :func:`explore` refuses (checked before any widget exists).
    """

    def __init__(self, **settings):
        unknown = set(settings) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; allowed: {', '.join(DEFAULTS)}")
        self.settings = {**DEFAULTS, **settings}
        explore(**self.settings)  # bad settings fail here, before any widget exists
        super().__init__()

    def controls(self):
        s = self.settings
        self.surface = W.Dropdown(options=list(EXPLORER_SURFACES), value=s["surface_name"], description="surface")
        self.lr = W.FloatLogSlider(value=s["lr"], base=10, min=math.log10(LR_LIMITS[0]),
                                   max=math.log10(LR_LIMITS[1]), step=0.01, description="η",
                                   readout_format=".3g", continuous_update=False)
        self.x = W.FloatText(value=s["start"][0], description="start x", step=0.1)
        self.y = W.FloatText(value=s["start"][1], description="start y", step=0.1)
        self.steps = W.IntSlider(value=s["steps"], min=1, max=MAX_STEPS, description="steps",
                                 continuous_update=False)
        return [{"surface_name": self.surface, "lr": self.lr},
                {"x": self.x, "y": self.y, "steps": self.steps}]

    def compute(self, surface_name, lr, x, y, steps):
        return explore(surface_name, lr, (x, y), steps)

    def draw(self, result):
        return draw(result)

    def describe(self, result):
        return describe(result.surface_name, result.path.lr)
