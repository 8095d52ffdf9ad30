"""The chapter's figure style: colours, axes and the drawing helpers every section uses.

Colour rules, the same on every page:

* :func:`lr_color` gives a learning rate its colour from one fixed map,
  :math:`\\log_{10}\\eta \\in [-4, 1] \\mapsto` viridis (cut at 0.9 so that the
  lightest colour stays visible on white).  A learning rate of 0.1 has the same
  colour in section 1 as in section 6.  Viridis stays ordered for readers with
  colour-vision deficiencies and in greyscale.
* Learning rates that sit close together on that scale (0.19 and 0.21, say)
  differ by line style (:data:`RATE_LINESTYLES`) and by their legend labels,
  never by colour alone.
* A batch size has its colour from :func:`batch_color`: :math:`\\log_2 B` on
  cividis, another ordered map that stays readable with colour-vision
  deficiencies, so batch sizes never look like learning rates.
* Everything that is not a learning rate (optimisers, sequences, parameters)
  takes colours from :data:`PALETTE`, the Okabe–Ito palette.

Learning rates go on log axes (:func:`lr_axis`); every axis gets a label.
Curves over seeds are drawn by :func:`seed_band`: the mean as a line and the
seeds' range as a light band.

Figures are drawn by the sections' ``figures.py`` modules from the records
their experiments return; nothing here computes a result.
"""
from __future__ import annotations

import math
import warnings
from numbers import Real

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .core import checks

LR_MIN, LR_MAX = 1e-4, 10.0
LR_CMAP = "viridis"
BATCH_CMAP = "cividis"
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
    index = checks.integer(index, "index", minimum=0)
    return PALETTE[SERIES[index % len(SERIES)]]


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


def new_figure(ncols: int = 2, width: float = 7.0, height: float = 3.2, width_ratios=None,
               layout: str | None = "constrained", **kwargs):
    """A figure with ``ncols`` axes side by side, in the chapter's size.

    ``layout=None`` skips matplotlib's constrained layout, which costs about half
    of a redraw; the explorers use it and set their margins by hand.
    """
    ncols = checks.integer(ncols, "ncols", minimum=1)
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), layout=layout,
                             width_ratios=width_ratios, **kwargs)
    return fig, axes


def legend_below(fig, ax, ncol: int = 4) -> None:
    """One legend for the whole figure, under the axes, from the lines of ``ax``."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol)


def batch_color(batch_size: float, smallest: float = 16, largest: float = 2048):
    """A colour for a batch size: :math:`\\log_2 B` between ``smallest`` and ``largest`` on cividis."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (Real, np.integer, np.floating)):
        raise TypeError(f"batch_size must be a real number, got {type(batch_size).__name__}")
    b = float(batch_size)
    if not math.isfinite(b) or b <= 0:
        raise ValueError(f"batch_size must be a finite number > 0, got {b}")
    position = (math.log2(b) - math.log2(smallest)) / max(math.log2(largest) - math.log2(smallest), 1e-9)
    return tuple(float(c) for c in mpl.colormaps[BATCH_CMAP](0.9 * min(max(position, 0.0), 1.0)))


#: Line styles that tell apart learning rates whose colours are close (e.g. the textbook's 0.1 to 0.7).
RATE_LINESTYLES = ("-", "--", "-.", ":")


def _leading_digit(value: float) -> int:
    return int(round(value / 10 ** math.floor(math.log10(value) + 1e-9))) if value > 0 else 0


def plain_log(ax, axis: str = "y") -> None:
    """A log axis labelled with plain numbers (0.2, 0.5, 1, 2, 5) rather than powers of ten."""
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_formatter(mpl.ticker.FuncFormatter(
        lambda value, _: f"{value:g}" if _leading_digit(value) in (2, 5) else ""))


def batch_axis(ax, batch_sizes) -> None:
    """Batch sizes on a log-2 x axis, ticks at the sizes trained, plain numbers."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(batch_sizes))
    ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())


def seed_band(ax, x, curves, *, label: str, line: str | int = "mean", **style) -> None:
    """Curves over seeds (rows of ``curves``, (seeds, len(x))): a line, and their min-to-max range as a band.

    The line is the mean over seeds (``line="mean"``) or one seed's curve
    (``line=k``, row k), e.g. the seed that shares initial weights with a
    textbook figure.  NaN entries (a diverged stretch) are left out of both, and
    where every seed is NaN nothing is drawn.

    Raises:
        ValueError: ``curves`` does not have shape (seeds, len(x)), or ``line`` is neither.
    """
    curves = np.asarray(curves, dtype=np.float64)
    x = np.asarray(x)
    if curves.ndim != 2 or curves.shape[1] != x.shape[0]:
        raise ValueError(f"curves must have shape (seeds, {x.shape[0]}), got {curves.shape}")
    if not (line == "mean" or (isinstance(line, (int, np.integer)) and not isinstance(line, bool)
                               and 0 <= line < curves.shape[0])):
        raise ValueError(f"line must be 'mean' or a seed row in [0, {curves.shape[0]}), got {line!r}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(Mean of empty slice|All-NaN slice)", category=RuntimeWarning)
        centre = np.nanmean(curves, axis=0) if line == "mean" else curves[int(line)]
        ax.fill_between(x, np.nanmin(curves, axis=0), np.nanmax(curves, axis=0), alpha=0.18, linewidth=0,
                        color=style.get("color"))
    ax.plot(x, centre, label=label, **style)
