"""Section 1's static explorer: gradient-descent paths on the valley and the saddle, in the HTML book.

:func:`static_record` runs the kernel explorer's compute call,
:func:`lib.step_size.explorer.explore`, on a log grid of learning rates
(:data:`STATIC_RATES`) from a few start points (:data:`STATIC_STARTS`) on both of
the explorer's surfaces, for :data:`lib.step_size.explorer.DEFAULTS`'s number of
steps, and keeps each path, its loss above the minimum :math:`L - L^*` and the
kernel explorer's sentence (:func:`lib.step_size.explorer.describe`).  The
surfaces' contour lines come from contourpy (matplotlib's contouring engine) at
the levels the matplotlib figure uses.  :func:`static_explorer` draws it with Bokeh.
"""
from __future__ import annotations

import numpy as np

from lib.static_explorer import Control, StaticExplorer, StaticRecord, texts_over, views_over

from .explorer import DEFAULTS, EXPLORER_SURFACES, describe, explore

NAME = "step_size"
#: Learning rates: log-spaced from 0.005 to 1, with the explorer's default 0.15 and 0.19 and 0.21 either
#: side of the valley's stability bound 2/λ_max = 0.2.
STATIC_RATES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.19, 0.21, 0.3, 0.5, 1.0)
#: Start points (x, y), inside both surfaces' plotted boxes; the first is the explorer's default.
STATIC_STARTS = ((-1.8, 0.6), (1.5, 0.01), (1.0, -0.9))
CONTOUR_LEVELS = 18          # as lib.step_size.figures.surface_contours
CONTOUR_RESOLUTION = 81      # grid points per axis for the contours


def _contours(surface) -> dict:
    """The surface's contour lines as one NaN-broken polyline (x, y)."""
    import contourpy
    from matplotlib.ticker import MaxNLocator

    X, Y, L = surface.grid(CONTOUR_RESOLUTION)
    levels = MaxNLocator(CONTOUR_LEVELS + 1).tick_values(L.min(), L.max())   # matplotlib's choice for levels=18
    generator = contourpy.contour_generator(X, Y, L)
    xs, ys = [], []
    for level in levels[1:-1]:
        for line in generator.lines(level):
            xs.append(np.append(line[:, 0], np.nan))
            ys.append(np.append(line[:, 1], np.nan))
    return {"x": np.concatenate(xs), "y": np.concatenate(ys)}


def static_record(rates=STATIC_RATES, starts=STATIC_STARTS, steps: int = DEFAULTS["steps"]) -> StaticRecord:
    """Paths over surfaces x ``rates`` x ``starts`` (each :func:`explore`, as the kernel explorer computes them).

    Args:
        rates (sequence of float): learning rates, ascending, each within the explorer's limits.
        starts (sequence of (x, y)): start points inside both surfaces' boxes.
        steps (int): gradient-descent steps per path.

    Returns:
        StaticRecord with controls ``surface`` (drop-down), ``lr`` (slider), ``start`` (slider); sources
        ``path`` (x, y of the iterates, NaN after a blow-up), ``loss`` (step, excess = L - L*, with
        values <= 0 or not finite as NaN: a log axis cannot show them), ``start_point`` (x, y) and
        ``contours`` (x, y, NaN-broken); text ``sentence``.  ``meta["default"]``: the default view's
        rate, start and final L - L*.

    Raises:
        ValueError, TypeError: a rate, start or ``steps`` that :func:`explore` refuses.
    """
    rates = [float(r) for r in rates]
    if rates != sorted(rates):
        raise ValueError(f"rates must be ascending, got {rates}")
    names = list(EXPLORER_SURFACES)
    default_lr = min(range(len(rates)), key=lambda i: abs(np.log(rates[i] / DEFAULTS["lr"])))
    controls = (Control("surface", "surface", names, names, names.index(DEFAULTS["surface_name"]), kind="select"),
                Control("lr", "η", [f"{r:g}" for r in rates], rates, default_lr),
                Control("start", "start", [f"({x:g}, {y:g})" for x, y in starts], list(range(len(starts))), 0))
    runs = {(s, r, k): explore(s, r, starts[k], steps) for s in names for r in rates for k in range(len(starts))}

    def path(surface, lr, start):
        points = runs[surface, lr, start].path.points
        return {"x": points[:, 0], "y": points[:, 1]}

    def loss(surface, lr, start):
        run = runs[surface, lr, start]
        excess = run.path.losses - run.surface.min_loss
        return {"step": np.arange(len(excess), dtype=np.float64),
                "excess": np.where(np.isfinite(excess) & (excess > 0), excess, np.nan)}

    default = runs[DEFAULTS["surface_name"], rates[default_lr], 0]
    return StaticRecord(
        title="Section 1: gradient descent on a valley and a saddle",
        controls=controls,
        sources={"path": views_over(controls, ("surface", "lr", "start"), path),
                 "loss": views_over(controls, ("surface", "lr", "start"), loss),
                 "start_point": views_over(controls, ("start",), lambda start: {
                     "x": np.array([starts[start][0]], dtype=float), "y": np.array([starts[start][1]], dtype=float)}),
                 "contours": views_over(controls, ("surface",), lambda surface: _contours(EXPLORER_SURFACES[surface]))},
        texts={"sentence": texts_over(controls, ("surface", "lr", "start"),
                                      lambda surface, lr, start: describe(runs[surface, lr, start]))},
        meta={"default": {"lr": rates[default_lr], "start": list(starts[0]), "steps": int(steps),
                          "final_excess": float(default.path.losses[-1] - default.surface.min_loss)}})


def draw(sources: dict) -> list:
    """``{source: ColumnDataSource} -> [path on the contours, L - L* per step]``."""
    from bokeh.models import Range1d
    from bokeh.plotting import figure

    from lib.style import PALETTE

    left = figure(width=470, height=300, x_range=Range1d(-2, 2), y_range=Range1d(-1.5, 1.5), toolbar_location=None,
                  x_axis_label="parameter x", y_axis_label="parameter y", title="the path on the surface",
                  match_aspect=True)
    left.line("x", "y", source=sources["contours"], color="#aaaaaa", line_width=0.8)
    left.line("x", "y", source=sources["path"], color=PALETTE["blue"], line_width=1.5)
    left.scatter("x", "y", source=sources["path"], color=PALETTE["blue"], size=3)
    left.scatter("x", "y", source=sources["start_point"], marker="square", color="black", size=7)
    right = figure(width=380, height=300, y_axis_type="log", toolbar_location=None, x_axis_label="step k",
                   y_axis_label="L − L* (log scale)", title="loss above the minimum")
    right.line("step", "excess", source=sources["loss"], color=PALETTE["blue"], line_width=1.5)
    return [left, right]


def static_explorer(rates=STATIC_RATES, starts=STATIC_STARTS, steps: int = DEFAULTS["steps"]) -> StaticExplorer:
    """The section's static explorer (see :func:`static_record`); display it with :func:`lib.static_explorer.show`."""
    return StaticExplorer(NAME, static_record(rates, starts, steps), draw)
