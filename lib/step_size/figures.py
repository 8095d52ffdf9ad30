"""Section 1's figures: paths on toy surfaces, loss curves, the stability scan, plateaus, Robbins-Monro.

Each ``*_figure`` function takes what an experiment returned and draws it;
nothing here computes a number the text reports.  The path helpers
(:func:`surface_contours`, :func:`draw_path`, :func:`draw_path_1d`,
:func:`draw_loss`) draw one :class:`lib.step_size.gradient_descent.Path` in its
rate's colour (:func:`lib.style.lr_color`); rates whose colours are close are
told apart by the line style of their regime (:func:`regime_linestyle`).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from lib import style

from .gradient_descent import Path, step_regime
from .robbins_monro import LATEX
from .surfaces import Surface

#: Line style per :data:`lib.step_size.gradient_descent.STEP_REGIMES`.
REGIME_LINESTYLES = {
    "monotone": "-",
    "one step": "-",
    "oscillating": "--",
    "marginal": "-.",
    "divergent": ":",
}


def regime_linestyle(regime: str) -> str:
    """Line style for a step-size regime of :func:`lib.step_size.gradient_descent.step_regime`.

    Raises:
        ValueError: an unknown regime.
    """
    if regime not in REGIME_LINESTYLES:
        raise ValueError(f"regime must be one of {', '.join(REGIME_LINESTYLES)}; got {regime!r}")
    return REGIME_LINESTYLES[regime]


def surface_contours(ax, surface: Surface, levels: int = 18, resolution: int = 121):
    """Grey contour lines of a 2-D surface over its window, equal axes, labelled."""
    X, Y, L = surface.grid(resolution)
    lines = ax.contour(X, Y, L, levels=levels, colors="0.55", linewidths=0.6)
    ax.set_xlim(surface.window[0])
    ax.set_ylim(surface.window[1])
    ax.set_xlabel("parameter $x$")
    ax.set_ylabel("parameter $y$")
    ax.set_aspect("equal", adjustable="box")
    return lines


def draw_path(ax, path: Path, color=None, linestyle: str = "-", label: str | None = None, marker: str = "o"):
    """A gradient-descent path over a contour plot; a black square marks the start."""
    color = style.lr_color(path.lr) if color is None else color
    points = path.points[np.isfinite(path.points).all(axis=1)]
    (line,) = ax.plot(points[:, 0], points[:, 1], linestyle=linestyle, marker=marker, markersize=2.5,
                      color=color, label=label, linewidth=1.2)
    ax.plot(points[:1, 0], points[:1, 1], marker="s", color="black", markersize=4, linestyle="none")
    return line


def draw_path_1d(ax, surface: Surface, path: Path, color=None, linestyle: str = "-", label: str | None = None):
    """Iterates :math:`(w_k, L(w_k))` of a one-parameter path, joined in order, over the curve :math:`L`.

    Raises:
        ValueError: the surface has more than one parameter.
    """
    if surface.dim != 1:
        raise ValueError(f"draw_path_1d needs a one-parameter surface; {surface.name!r} has {surface.dim}")
    color = style.lr_color(path.lr) if color is None else color
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


def draw_loss(ax, path: Path, floor: float = 0.0, color=None, linestyle: str = "-", label: str | None = None):
    """Loss above ``floor`` (the minimum) against step, on a log axis."""
    color = style.lr_color(path.lr) if color is None else color
    excess = path.losses - floor
    excess = np.where(excess > 0, excess, np.nan)  # exactly at the minimum: nothing to draw on a log axis
    (line,) = ax.plot(np.arange(len(excess)), excess, color=color, linestyle=linestyle, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("step $k$")
    ax.set_ylabel("loss above minimum, $L(w_k) - L^*$")
    return line


def _labelled_runs(paths: Mapping[str, Path], curvature: float):
    for name, path in paths.items():
        yield path, regime_linestyle(step_regime(path.lr, curvature)), f"η = {path.lr:g} ({name})"


def parabola_figure(surface: Surface, paths: Mapping[str, Path], curvature: float):
    """Left: the iterates on the parabola.  Right: their losses.  One named run per rate."""
    fig, (left, right) = style.new_figure(2)
    for path, linestyle, label in _labelled_runs(paths, curvature):
        draw_path_1d(left, surface, path, linestyle=linestyle, label=label)
        draw_loss(right, path, linestyle=linestyle, label=label)
    left.set_ylim(0, 2.3)
    style.legend_below(fig, right)
    return fig


def ravine_figure(surface: Surface, paths: Mapping[str, Path], top_curvature: float):
    """Left: the paths on the ravine's contours.  Right: their losses."""
    fig, (left, right) = style.new_figure(2, width=7.6, height=3.4, width_ratios=(1.3, 1))
    surface_contours(left, surface)
    for path, linestyle, label in _labelled_runs(paths, top_curvature):
        draw_path(left, path, linestyle=linestyle, label=label)
        draw_loss(right, path, linestyle=linestyle, label=label)
    style.legend_below(fig, right)
    return fig


def stability_figure(rates, ratios: Mapping[float, np.ndarray], steps: int):
    """:math:`L(w_K)/L(w_0)` against the rate for each curvature, with :math:`2/\\lambda` dashed and :math:`\\eta = 1` dotted."""
    fig, ax = style.new_figure(1, width=6.0, height=3.4)
    for i, (lam, ratio) in enumerate(ratios.items()):
        color = style.series_color(i)
        ax.plot(rates, np.clip(ratio, 1e-30, 1e30), marker=".", color=color, label=f"λ = {lam:g}")
        ax.axvline(2 / lam, color=color, linestyle="--", linewidth=1)
    ax.axvline(1.0, color="0.3", linestyle=":", linewidth=1.2, label="η = 1")
    ax.axhline(1.0, color="0.3", linewidth=0.8)
    style.lr_axis(ax)
    ax.set_yscale("log")
    ax.set_ylabel(f"$L(w_{{{steps}}})\\,/\\,L(w_0)$ (log scale)")
    ax.legend(loc="upper left")
    return fig


def saddle_figure(surface: Surface, paths: Mapping[float, Path]):
    """Left: paths from starts at different distances :math:`y_0` from the ridge.  Right: their losses."""
    fig, (left, right) = style.new_figure(2, width=7.6, width_ratios=(1.1, 1))
    surface_contours(left, surface)
    for (y0, path), linestyle in zip(paths.items(), ("-", "--", ":")):
        label = f"$y_0$ = {y0:g}"
        draw_path(left, path, linestyle=linestyle, label=label)
        draw_loss(right, path, floor=surface.min_loss, linestyle=linestyle, label=label)
    right.legend(loc="lower left")
    return fig


def xor_figure(run, symmetric_loss: float):
    """The training loss of every XOR run (:class:`lib.step_size.plateaus.XorRun`), and the plateau's level."""
    fig, ax = style.new_figure(1, width=6.0, height=3.2)
    ax.plot(run.losses, color=style.lr_color(run.lr), linewidth=1.2)
    ax.axhline(symmetric_loss, color="0.3", linestyle="--", linewidth=1, label="output ½ for every input")
    ax.set_yscale("log")
    ax.set_xlabel("step $k$ (full-batch gradient descent)")
    ax.set_ylabel("training loss (log scale)")
    ax.legend(loc="lower left")
    return fig


def sparse_figure(runs: Mapping[str, object], batch_size: int):
    """Distance of the common and the rare weight to their true value, one panel per optimiser
    (:class:`lib.step_size.sparse_features.WeightHistory`)."""
    fig, axes = style.new_figure(2, sharey=True)
    for ax, (title, run) in zip(axes, runs.items()):
        errors = np.maximum(run.errors(), 1e-16)
        ax.plot(errors[:, 0], color=style.PALETTE["blue"], label="common weight $w_c$")
        ax.plot(errors[:, 1], color=style.PALETTE["vermillion"], linestyle="--", label="rare weight $w_r$")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel(f"step (mini-batches of {batch_size})")
    axes[0].set_ylabel("distance to the true weight, $|w - 1|$")
    axes[0].legend(loc="lower left")
    return fig


def robbins_monro_figure(sums: Mapping[str, tuple[np.ndarray, np.ndarray]], points: int = 400):
    """:math:`S_1(K)` and :math:`S_2(K)` of each sequence on log-log axes, at ``points`` log-spaced K."""
    horizon = len(next(iter(sums.values()))[0])
    shown = np.unique(np.geomspace(1, horizon, points).astype(int)) - 1
    fig, axes = style.new_figure(2)
    for i, (name, (first, second)) in enumerate(sums.items()):
        label = f"$\\eta_k = {LATEX[name]}$"
        axes[0].plot(shown + 1, first[shown], color=style.series_color(i), label=label)
        axes[1].plot(shown + 1, second[shown], color=style.series_color(i), label=label)
    for ax, what in zip(axes, ("$S_1(K) = \\sum_{k \\leq K} \\eta_k$", "$S_2(K) = \\sum_{k \\leq K} \\eta_k^2$")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of steps $K$ (log scale)")
        ax.set_ylabel(what + " (log scale)")
    axes[0].legend(loc="upper left")
    return fig


def path_figure(surface: Surface, surface_label: str, path: Path):
    """The explorer's figure: the path on the contours (left) and its loss above the minimum,
    :math:`L - L^*` (right), whose last value the right panel's title reports."""
    fig, (left, right) = style.new_figure(2, width=7.6, height=3.2, width_ratios=(1.3, 1), layout=None)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.9, wspace=0.3)
    surface_contours(left, surface)
    draw_path(left, path)
    left.set_title(f"{surface_label}, η = {path.lr:.4g}")
    draw_loss(right, path, floor=surface.min_loss)
    excess = path.losses[-1] - surface.min_loss
    right.set_title("diverges" if path.diverged
                    else f"$L - L^*$ after {path.steps} step{'' if path.steps == 1 else 's'}: {excess:.3g}")
    return fig
