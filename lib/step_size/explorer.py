"""Section 1's explorer: gradient descent on a ravine or a saddle, from any start, at any rate.

:class:`PathExplorer` (a :class:`lib.explorer.Explorer`) has a drop-down for the
surface, a box with a log slider for the learning rate, boxes for the start
point and a box with a slider for the number of steps
(:class:`lib.explorer.NumberBox`); every change runs :func:`explore` (one
:func:`lib.step_size.gradient_descent.gd_path`, milliseconds) and redraws
:func:`lib.step_size.figures.path_figure`.  Its sentence (:func:`describe`) says
what the drawn path did, read off the path by :func:`path_outcome`: it settles
into a minimum, ends at a stationary point that is not one (the saddle), zig-zags,
is still on its way, or diverges.  A start outside the plotted box, a rate
outside :data:`LR_LIMITS` or text that is not a number shows a message instead
of a figure.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import ipywidgets as W
import numpy as np

from lib.core import checks
from lib.explorer import Explorer, NumberBox, sized

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
#: A path that ends within this distance (in parameter units) of a stationary point has reached it:
#: a twentieth of a pixel of the explorer's plot, whose box is 4 units wide.
AT_POINT = 1e-3
#: The last steps read to tell a zig-zag from a straight descent.
TAIL_STEPS = 10


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


def _point_text(point) -> str:
    return "(" + ", ".join(f"{0.0 if abs(v) < 5e-4 else v:.3g}" for v in point) + ")"


def _steps_text(k: int) -> str:
    return f"{k} step{'' if k == 1 else 's'}"


def path_outcome(surface: Surface, path: Path) -> tuple[str, str]:
    """What the drawn path did, read off its iterates: ``(kind, clause)``.

    ``kind`` is one of ``"diverges"`` (the iterates blew up, or the loss ended
    above where it started), ``"minimum"`` (the last iterate lies within
    :data:`AT_POINT` of a minimum with the lowest loss :math:`L^*`), ``"local
    minimum"`` (of a higher loss), ``"stationary"`` (within :data:`AT_POINT` of a
    stationary point that is not a minimum: the Hessian there has an eigenvalue
    <= 0, as at the saddle), ``"oscillates"`` (the last :data:`TAIL_STEPS` steps
    mostly turn back on the one before) or ``"moving"`` (still on its way
    downhill).  The distance to the nearest stationary point is the length of the
    Newton step :math:`H^{+}\\nabla L` at the last iterate.  ``clause`` says it
    in words, with :math:`L - L^*`, the quantity the figure plots.
    """
    losses = path.losses
    excess = losses - surface.min_loss
    steps = path.steps
    finite = np.isfinite(losses)
    if not finite.all():
        return "diverges", (f"the path diverges: the iterates blew up at step {int(np.argmin(finite))} "
                            f"of {steps}")
    if losses[-1] > losses[0]:
        return "diverges", (f"the path diverges: L − L* grew from {excess[0]:.3g} to {excess[-1]:.3g} "
                            f"in {_steps_text(steps)}")
    end = path.points[-1]
    newton = np.linalg.lstsq(surface.hessian(end), surface.gradient(end), rcond=None)[0]
    nearest = end - newton                  # the stationary point the last iterate is nearest to (Newton's step)
    after = f"L − L* = {excess[-1]:.3g} after {_steps_text(steps)}"
    if float(np.linalg.norm(newton)) <= AT_POINT:
        moved = bool(np.any(path.points != path.points[0]))
        kind, what = _stationary(surface, nearest)
        if kind == "minimum":
            return kind, f"the path {'settles into' if moved else 'starts and stays at'} {what}: {after}"
        if kind == "local minimum":
            return kind, f"the path settles into {what}: {after}"
        return kind, (f"the path {'ends at' if moved else 'starts and stays at'} {what}; the gradient there is "
                      f"zero, so gradient descent does not leave it: {after}")
    tail = np.diff(path.points, axis=0)[-TAIL_STEPS:]                     # (<= TAIL_STEPS, dim)
    turns = [float(a @ b) < 0 for a, b in zip(tail, tail[1:])]
    if turns and sum(turns) > len(turns) / 2:
        # the steps' length changes by this factor per step over the tail
        factor = float(np.linalg.norm(tail[-1]) / np.linalg.norm(tail[0])) ** (1.0 / (len(tail) - 1))
        if factor < 0.999:
            return "oscillates", (f"the path zig-zags toward {_stationary(surface, nearest)[1]}, each step "
                                  f"{factor:.3g} times as long as the one before: {after}")
        if factor <= 1.001:
            return "oscillates", f"the path bounces back and forth without settling: {after}"
        return "oscillates", f"the path zig-zags with growing steps: {after}"
    return "moving", f"the path is still on its way downhill: {after}"


def _stationary(surface: Surface, point) -> tuple[str, str]:
    """What the stationary point ``point`` is (``"minimum"``, ``"local minimum"`` or ``"stationary"``), in words."""
    lowest = float(np.linalg.eigvalsh(surface.hessian(point))[0])
    where = _point_text(point)
    if lowest > 0:
        level = float(surface.loss(point)) - surface.min_loss
        if level <= 1e-9 * max(1.0, abs(surface.min_loss)):
            the = "the" if np.linalg.norm(point - np.asarray(surface.minimizer)) <= AT_POINT else "a"
            return "minimum", f"{the} minimum {where}"
        return "local minimum", f"a local minimum {where}, {level:.3g} above the lowest loss"
    if lowest < 0:
        return "stationary", (f"{where}, a saddle point, not a minimum (the Hessian there has the eigenvalue "
                              f"{lowest:.3g} < 0)")
    return "stationary", f"{where}, a stationary point that is not a strict minimum (a flat direction)"


def describe(exploration: Exploration) -> str:
    """One sentence: the rate against the stability bound :math:`2/\\lambda_{\\max}` at the minimum, then
    what the drawn path did (:func:`path_outcome`)."""
    surface, lr = exploration.surface, exploration.path.lr
    bound = stable_lr_bound(surface, surface.minimizer)
    top = float(surface.hessian_eigenvalues(surface.minimizer)[-1])
    verdict = "below" if lr < bound else ("equal to" if lr == bound else "above")
    _, clause = path_outcome(surface, exploration.path)
    return (f"η = {lr:g} is {verdict} 2/λ_max = 2/{top:g} = {bound:.3g} at the minimum "
            f"{_point_text(surface.minimizer)}; {clause}.")


def draw(exploration: Exploration):
    """The explorer's figure for an :class:`Exploration`."""
    return figures.path_figure(exploration.surface, exploration.surface_name, exploration.path)


def figure_for(surface_name: str, lr: float, start, steps: int):
    """:func:`explore` and :func:`draw` in one call (the static figure of the default settings)."""
    return draw(explore(surface_name, lr, start, steps))


class PathExplorer(Explorer):
    """The surface, the learning rate (a box and a log slider), the start point and the steps; redraws live.

    Every number is typed in a :class:`lib.explorer.NumberBox` (the sliders fill
    the boxes in): text that is not a number, or a number out of range, shows a
    message and leaves the last figure.

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
        self.surface = sized(W.Dropdown(options=list(EXPLORER_SURFACES), value=s["surface_name"],
                                        description="surface"), 220)
        self.lr = NumberBox(s["lr"], "η", low=LR_LIMITS[0], high=LR_LIMITS[1], slider=True, log=True,
                            width=130, slider_width=200)
        # the start's range depends on the surface: explore() checks it against the plotted box
        self.x = NumberBox(s["start"][0], "start x", width=150)
        self.y = NumberBox(s["start"][1], "start y", width=150)
        self.steps = NumberBox(s["steps"], "steps", low=1, high=MAX_STEPS, integer=True, slider=True,
                               width=130, slider_width=200)
        return [{"surface_name": self.surface, "lr": self.lr},
                {"x": self.x, "y": self.y, "steps": self.steps}]

    def compute(self, surface_name, lr, x, y, steps):
        return explore(surface_name, lr, (x, y), steps)

    def draw(self, result):
        return draw(result)

    def describe(self, result):
        return describe(result)
