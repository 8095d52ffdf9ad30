"""The chapter's ipywidgets explorers.

An explorer only wires controls to a lib function that computes and draws; that
function (here :func:`path_figure`, behind :class:`PathExplorer`) is what the tests time and check.  Invalid
input (a start point outside the plotted box, say) shows the error message
under the controls instead of a traceback.

The explorers need a live kernel: Jupyter, Binder, Colab, or the page's Thebe
button.  The static HTML shows the figure for the default settings instead.
"""
from __future__ import annotations

import html
import math

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display

from lib import landscapes, plots

EXPLORER_SURFACES = {
    "narrow valley": landscapes.valley(gentle=1.0, steep=10.0),
    "saddle": landscapes.saddle(a=1.0, b=1.0),
}
LR_LIMITS = (1e-3, 10.0)
MAX_STEPS = 500
DEFAULTS = {"surface_name": "narrow valley", "lr": 0.15, "start": (-1.8, 0.6), "steps": 60}


def show_error(message: W.HTML, error: Exception) -> None:
    """Show an invalid setting's error under an explorer's controls, instead of a traceback."""
    message.value = f'<span style="color:{plots.PALETTE["vermillion"]}">{html.escape(str(error))}</span>'


def show_figure(output: W.Output, fig, show=display) -> None:
    """Replace the figure in an explorer's output area with ``fig``, then release ``fig``."""
    with output:
        output.clear_output(wait=True)
        show(fig)
    plt.close(fig)


def _surface(name: str) -> landscapes.Surface:
    if name not in EXPLORER_SURFACES:
        raise ValueError(f"surface must be one of {', '.join(map(repr, EXPLORER_SURFACES))}; got {name!r}")
    return EXPLORER_SURFACES[name]


def _check_start(surface: landscapes.Surface, start) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in start)
    except (TypeError, ValueError):
        raise TypeError(f"start must be two numbers (x, y), got {start!r}") from None
    (x0, x1), (y0, y1) = surface.window
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        raise ValueError(f"start ({x:g}, {y:g}) is outside the plotted box: "
                         f"x must lie in [{x0:g}, {x1:g}] and y in [{y0:g}, {y1:g}]")
    return x, y


def _validated(surface_name: str, lr: float, start, steps: int):
    surface = _surface(surface_name)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) \
            or not LR_LIMITS[0] <= lr <= LR_LIMITS[1]:
        raise ValueError(f"lr must be a number in [{LR_LIMITS[0]:g}, {LR_LIMITS[1]:g}], got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an int in [1, {MAX_STEPS}], got {steps!r}")
    return surface, _check_start(surface, start)


def describe(surface_name: str, lr: float) -> str:
    """One sentence comparing ``lr`` with the stability bound :math:`2/\\lambda_{\\max}` at the minimum."""
    surface = _surface(surface_name)
    bound = landscapes.stable_lr_bound(surface, surface.minimizer)
    top = float(surface.hessian_eigenvalues(surface.minimizer)[-1])
    verdict = "below" if lr < bound else "above"
    outcome = "steps settle into the minimum" if lr < bound else "steps overshoot and grow near the minimum"
    return (f"η = {lr:.3g} is {verdict} 2/λ_max = 2/{top:g} = {bound:.3g} at the minimum: {outcome}.")


def path_figure(surface_name: str, lr: float, start, steps: int):
    """Gradient descent from ``start`` with step ``lr``: the path on the contours, and its loss curve.

    The computation behind :class:`PathExplorer`; returns a matplotlib figure.
    Its defaults in the explorer are :data:`DEFAULTS`.
    """
    surface, start = _validated(surface_name, lr, start, steps)
    path = landscapes.gd_path(surface, start, lr, steps)
    fig, (left, right) = plots.new_figure(2, width=7.6, height=3.2, width_ratios=(1.3, 1), layout=None)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.9, wspace=0.3)
    plots.surface_contours(left, surface)
    plots.draw_path(left, path)
    left.set_title(f"{surface_name}, η = {lr:.3g}")
    plots.draw_loss(right, path, floor=surface.min_loss)
    right.set_title("diverges" if path.diverged else f"loss after {steps} steps: {path.losses[-1]:.3g}")
    return fig


class PathExplorer:
    """Sliders for the learning rate (log scale), the surface and the start point; redraws live."""

    def __init__(self, **settings):
        unknown = set(settings) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; allowed: {', '.join(DEFAULTS)}")
        settings = {**DEFAULTS, **settings}
        surface, lr, start, steps = (settings[key] for key in ("surface_name", "lr", "start", "steps"))
        _validated(surface, lr, start, steps)  # bad settings fail here, before any widget exists
        self.surface = W.Dropdown(options=list(EXPLORER_SURFACES), value=surface, description="surface")
        self.lr = W.FloatLogSlider(value=lr, base=10, min=math.log10(LR_LIMITS[0]), max=math.log10(LR_LIMITS[1]),
                                   step=0.01, description="η", readout_format=".3g",
                                   continuous_update=False)
        self.x = W.FloatText(value=start[0], description="start x", step=0.1)
        self.y = W.FloatText(value=start[1], description="start y", step=0.1)
        self.steps = W.IntSlider(value=steps, min=1, max=MAX_STEPS, description="steps", continuous_update=False)
        self.message = W.HTML()
        self.output = W.Output()
        for control in (self.surface, self.lr, self.x, self.y, self.steps):
            control.observe(self.redraw, names="value")
        self.widget = W.VBox([W.HBox([self.surface, self.lr]), W.HBox([self.x, self.y, self.steps]),
                              self.message, self.output])
        self.redraw()

    def redraw(self, _change=None) -> bool:
        """Recompute and redraw; on invalid input show the message and keep the last figure."""
        try:
            fig = path_figure(self.surface.value, self.lr.value, (self.x.value, self.y.value), self.steps.value)
        except (ValueError, TypeError) as error:
            show_error(self.message, error)
            return False
        self.message.value = html.escape(describe(self.surface.value, self.lr.value))
        show_figure(self.output, fig)
        return True

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
