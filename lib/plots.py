"""The chapter's figure style and the plots that recur across its sections.

Colour rules, the same on every page:

* :func:`lr_color` gives a learning rate its colour from one fixed map,
  :math:`\\log_{10}\\eta \\in [-4, 1] \\mapsto` viridis (cut at 0.9 so that the
  lightest colour stays visible on white).  A learning rate of 0.1 has the same
  colour in section 1 as in section 6.  Viridis stays ordered for readers with
  colour-vision deficiencies and in greyscale.
* Learning rates that sit close together on that scale (0.19 and 0.21, say)
  differ by line style (:data:`REGIME_LINESTYLES`) and by their legend labels,
  never by colour alone.
* Everything that is not a learning rate (optimisers, sequences, parameters)
  takes colours from :data:`PALETTE`, the Okabe–Ito palette.

Learning rates go on log axes (:func:`lr_axis`); every axis gets a label.
"""
from __future__ import annotations

import math
from numbers import Real

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

LR_MIN, LR_MAX = 1e-4, 10.0
LR_CMAP = "viridis"
_CMAP_TOP = 0.9  # the lightest tenth of viridis is too pale on white

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any common colour-vision deficiency.
PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
SERIES = ("blue", "vermillion", "green", "orange", "purple", "sky blue", "black")

REGIME_LINESTYLES = {
    "monotone": "-",
    "one step": "-",
    "oscillating": "--",
    "marginal": "-.",
    "divergent": ":",
}


def use_style() -> None:
    """Apply the chapter's matplotlib style (call once per notebook)."""
    mpl.rcParams.update({
        "figure.dpi": 110,
        "figure.figsize": (7.0, 3.2),
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "legend.fontsize": 8.5,
        "lines.linewidth": 1.6,
        "savefig.bbox": "tight",
        "axes.prop_cycle": mpl.cycler(color=[PALETTE[name] for name in SERIES]),
    })


def series_color(index: int) -> str:
    """The ``index``-th categorical colour (Okabe–Ito), cycling."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"index must be an int >= 0, got {index!r}")
    return PALETTE[SERIES[int(index) % len(SERIES)]]


def _lr_position(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (Real, np.floating)):
        raise TypeError(f"lr must be a real number, got {type(lr).__name__}")
    lr = float(lr)
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr}")
    span = math.log10(LR_MAX) - math.log10(LR_MIN)
    return min(max((math.log10(lr) - math.log10(LR_MIN)) / span, 0.0), 1.0)


def lr_color(lr: float) -> tuple[float, float, float, float]:
    """The RGBA colour of learning rate ``lr`` on every figure of the chapter.

    :math:`\\log_{10}` ``lr`` is placed on the fixed scale ``[LR_MIN, LR_MAX]``
    (rates outside it take the end colours) and looked up in viridis.
    """
    return tuple(float(c) for c in mpl.colormaps[LR_CMAP](_CMAP_TOP * _lr_position(lr)))


def lr_colorbar(fig, ax, label: str = "learning rate $\\eta$") -> mpl.colorbar.Colorbar:
    """A colour bar for the whole learning-rate scale, beside ``ax``."""
    cmap = mpl.colors.ListedColormap(mpl.colormaps[LR_CMAP](np.linspace(0, _CMAP_TOP, 256)))
    mappable = mpl.cm.ScalarMappable(norm=mpl.colors.LogNorm(LR_MIN, LR_MAX), cmap=cmap)
    bar = fig.colorbar(mappable, ax=ax, pad=0.02)
    bar.set_label(label)
    return bar


def lr_axis(ax, axis: str = "x", label: str = "learning rate $\\eta$ (log scale)") -> None:
    """Put learning rates on a log axis with its label."""
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    getattr(ax, f"set_{axis}scale")("log")
    getattr(ax, f"set_{axis}label")(label)


def regime_linestyle(regime: str) -> str:
    """Line style for a step-size regime of :func:`lib.landscapes.regime`."""
    if regime not in REGIME_LINESTYLES:
        raise ValueError(f"regime must be one of {', '.join(REGIME_LINESTYLES)}; got {regime!r}")
    return REGIME_LINESTYLES[regime]


def surface_contours(ax, surface, levels: int = 18, resolution: int = 121):
    """Grey contour lines of a 2-D :class:`lib.landscapes.Surface` over its window."""
    X, Y, L = surface.grid(resolution)
    lines = ax.contour(X, Y, L, levels=levels, colors="0.55", linewidths=0.6)
    ax.set_xlim(surface.window[0])
    ax.set_ylim(surface.window[1])
    ax.set_xlabel("parameter $x$")
    ax.set_ylabel("parameter $y$")
    ax.set_aspect("equal", adjustable="box")
    return lines


def draw_path(ax, path, color=None, linestyle: str = "-", label: str | None = None, marker: str = "o"):
    """A gradient-descent path (:class:`lib.landscapes.Path`) over a contour plot."""
    color = lr_color(path.lr) if color is None else color
    points = path.points[np.isfinite(path.points).all(axis=1)]
    (line,) = ax.plot(points[:, 0], points[:, 1], linestyle=linestyle, marker=marker, markersize=2.5,
                      color=color, label=label, linewidth=1.2)
    ax.plot(points[:1, 0], points[:1, 1], marker="s", color="black", markersize=4, linestyle="none")
    return line


def draw_path_1d(ax, surface, path, color=None, linestyle: str = "-", label: str | None = None):
    """Iterates :math:`(w_k, L(w_k))` of a one-parameter path, joined in order, over the curve :math:`L`."""
    if surface.dim != 1:
        raise ValueError(f"draw_path_1d needs a one-parameter surface; {surface.name!r} has {surface.dim}")
    color = lr_color(path.lr) if color is None else color
    low, high = surface.window[0]
    grid = np.linspace(low, high, 200)
    ax.plot(grid, surface.loss(grid[:, None]), color="0.55", linewidth=1.0)
    keep = np.isfinite(path.points[:, 0]) & (path.points[:, 0] >= low) & (path.points[:, 0] <= high)
    (line,) = ax.plot(path.points[keep, 0], path.losses[keep], marker="o", markersize=3, color=color,
                      linestyle=linestyle, linewidth=1.0, label=label)
    ax.set_xlim(low, high)
    ax.set_xlabel("parameter $w$")
    ax.set_ylabel("loss $L(w)$")
    return line


def draw_loss(ax, path, floor: float = 0.0, color=None, linestyle: str = "-", label: str | None = None):
    """Loss above ``floor`` (the minimum) against step, on a log axis."""
    color = lr_color(path.lr) if color is None else color
    excess = path.losses - floor
    excess = np.where(excess > 0, excess, np.nan)  # exactly at the minimum: nothing to draw on a log axis
    (line,) = ax.plot(np.arange(len(excess)), excess, color=color, linestyle=linestyle, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("step $k$")
    ax.set_ylabel("loss above minimum, $L(w_k) - L^*$")
    return line


def new_figure(ncols: int = 2, width: float = 7.0, height: float = 3.2, width_ratios=None,
               layout: str | None = "constrained", **kwargs):
    """A figure with ``ncols`` axes side by side, in the chapter's size.

    ``layout=None`` skips matplotlib's constrained layout, which costs about half
    of a redraw; the explorers use it and set their margins by hand.
    """
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be an int >= 1, got {ncols!r}")
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), layout=layout,
                             width_ratios=width_ratios, **kwargs)
    return fig, axes


def legend_below(fig, ax, ncol: int = 4) -> None:
    """One legend for the whole figure, under the axes, from the lines of ``ax``."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol)
