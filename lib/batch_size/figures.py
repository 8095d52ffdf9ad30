"""Section 4's figures: each draws a record of the section's experiments and computes nothing a test would check.

* :func:`textbook_figure`, :func:`same_rate_figure`: the textbook's Figures
  12-12/12-13 and its one rate at several batch sizes, from a
  :class:`~lib.batch_size.batch_sweep.Sweep`;
* :func:`illustration_figure`: its Figure 12-14 and the best one-step rate
  against the batch size;
* :func:`loss_vs_rate_figure`, :func:`scaling_figure`: final loss against the
  rate, and the best rate against the batch size beside the scaling rules;
* :func:`noise_scale_figure`: :math:`B_{\\rm simple}` along training, from a
  :class:`~lib.batch_size.noise_tracker.NoiseScaleTrace`;
* :func:`tradeoff_figure`: steps against examples with McCandlish et al.'s hyperbola;
* :func:`equal_footing_figure`: batch sizes at equal epochs, at equal updates and to target losses;
* :func:`explorer_figure`: what :class:`lib.batch_size.explorer.ScalingExplorer` shows.

Colours follow :mod:`lib.style`: a learning rate's colour is the chapter's
(:func:`lib.style.lr_color`), a batch size's is :func:`lib.style.batch_color`.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import matplotlib.pyplot as plt
import numpy as np

from lib import style
from lib.core import checks

from .critical_batch import OptimalStepFit, StepsExamplesFit, Tradeoff
from .gradient_noise import optimal_step
from .illustration import ILLUSTRATION_POINTS, ILLUSTRATION_SLOPE, TEXTBOOK_BATCH_SIZES, TEXTBOOK_RATES, \
    population_noise_scale
from .noise_tracker import NoiseScaleTrace
from .scaling_rules import scaled_rate
from .batch_sweep import Sweep

if TYPE_CHECKING:
    from .explorer import ExplorerPoint
    from .study import BatchComparison


def textbook_figure(sweep: Sweep, batch_sizes: Sequence[int] = (32, 16), rates: Sequence[float] = TEXTBOOK_RATES,
                    metric: str = "val_acc"):
    """The textbook's Figures 12-12 and 12-13: one row per batch size, the metric against epochs and iterations.

    Args:
        sweep (Sweep): trained at ``batch_sizes`` with ``rates``.
        batch_sizes (list of ints): one row each. Default (32, 16).
        rates (list of floats): the constant rates drawn. Default :data:`TEXTBOOK_RATES`.
        metric (str): ``"val_acc"`` or ``"val_loss"``. Default ``"val_acc"``.

    Raises:
        ValueError: an unknown metric; a batch size or rate not in the sweep.
    """
    if metric not in ("val_acc", "val_loss"):
        raise ValueError(f"metric must be 'val_acc' or 'val_loss', got {metric!r}")
    fig, axes = plt.subplots(len(batch_sizes), 2, figsize=(7.6, 2.6 * len(batch_sizes)), layout="constrained",
                             sharey=True, squeeze=False)
    for row, b in zip(axes, batch_sizes):
        grid = sweep[b]
        history = grid.history
        for i, rate in enumerate(rates):
            curves = getattr(history, metric)[grid.index("constant")[grid.rate_index(rate)]]
            for ax, x in zip(row, (history.eval_epoch, history.eval_step)):
                style.seed_band(ax, x, curves, label=f"η = {rate:g}", color=style.lr_color(rate),
                                linestyle=style.RATE_LINESTYLES[i % len(style.RATE_LINESTYLES)])
        row[0].set_title(f"batch size {b}")
        row[1].set_title(f"batch size {b}")
        row[0].set_xlabel("epoch")
        row[1].set_xlabel("iteration (update)")
        row[0].set_ylabel("validation accuracy" if metric == "val_acc" else "validation loss")
    for ax in axes.ravel():
        if metric == "val_acc":
            ax.set_ylim(0.85, 1.0)
    axes[0, 1].legend(loc="lower right", ncol=2)
    return fig


def same_rate_figure(sweep: Sweep, rate: float = 0.5, batch_sizes: Sequence[int] = TEXTBOOK_BATCH_SIZES):
    """One rate at several batch sizes: validation accuracy against epochs and against iterations (log).

    Args:
        sweep (Sweep): trained at ``batch_sizes`` with ``rate``.
        rate (float): the constant rate drawn. Default 0.5.
        batch_sizes (list of ints): one curve each. Default :data:`TEXTBOOK_BATCH_SIZES`.
    """
    fig, axes = style.new_figure(2, width=7.6, height=3.0, sharey=True)
    for i, b in enumerate(batch_sizes):
        grid = sweep[b]
        curves = grid.history.val_acc[grid.index("constant")[grid.rate_index(rate)]]
        look = {"label": f"B = {b}", "color": style.batch_color(b),
                "linestyle": style.RATE_LINESTYLES[i % len(style.RATE_LINESTYLES)]}
        style.seed_band(axes[0], grid.history.eval_epoch, curves, **look)
        after_start = grid.history.eval_step > 0                   # update 0 has no place on a log axis
        style.seed_band(axes[1], grid.history.eval_step[after_start], curves[:, after_start], **look)
    axes[0].set_xlabel("epoch")
    axes[1].set_xlabel("iteration (update, log scale)")
    axes[1].set_xscale("log")
    style.plain_log(axes[1], "x")
    axes[0].set_ylabel(f"validation accuracy (η = {rate:g})")
    axes[0].set_ylim(0.85, 1.0)
    axes[1].legend(loc="lower right")
    return fig


def illustration_figure(batch_sizes=np.arange(1, 21)):
    """Left: the textbook's points and lines.  Right: the best one-step rate against the batch size.

    Args:
        batch_sizes (array-like): where :math:`\\epsilon_{\\rm opt}(B)` of batches drawn from the
            five points is drawn. Default 1 to 20.
    """
    fig, (left, right) = style.new_figure(2, width=7.6, height=3.0)
    for (n, points), marker, colour in zip(ILLUSTRATION_POINTS.items(), ("o", "s"), ("blue", "orange")):
        left.plot(points, np.zeros(n), marker, color=style.PALETTE[colour], label=f"{n} points",
                  markersize=9 if n == 3 else 5, zorder=3 if n == 5 else 2)
    x = np.linspace(-2.5, 2.5, 2)
    left.plot(x, ILLUSTRATION_SLOPE * x, color=style.PALETTE["vermillion"], label=f"z = {ILLUSTRATION_SLOPE:g} x")
    left.plot(x, 0 * x, color=style.PALETTE["green"], linestyle="--", label="z = 0 (the fit wanted)")
    left.set_xlabel("x")
    left.set_ylabel("y, z")
    left.legend(loc="upper left")
    eps_max, b_noise = population_noise_scale(ILLUSTRATION_POINTS[5])
    b = np.asarray(batch_sizes, dtype=np.float64)
    right.plot(b, optimal_step(b, eps_max, b_noise), color=style.PALETTE["blue"], marker=".",
               label="$\\epsilon_{\\rm opt}(B)$, batches drawn from the 5 points")
    right.axhline(eps_max, color="0.4", linestyle=":", label="$\\epsilon_{\\max} = 1/\\overline{x^2}$")
    right.set_xlabel("batch size B")
    right.set_ylabel("best one-step rate")
    right.set_ylim(0, 0.6)
    right.legend(loc="lower right")
    return fig


def loss_vs_rate_figure(sweep: Sweep):
    """Final validation loss against the rate at every batch size (left up to 128, right above); warm-up dashed.

    A rate that diverged in some seed is marked x at loss 2.
    """
    fig, axes = style.new_figure(2, width=7.8, height=3.3, sharey=True)
    for b in sweep.batch_sizes:
        grid = sweep[b]
        for variant in grid.variants:
            comparison = grid.compare(variants=(variant,))
            mean = np.where(np.isfinite(comparison.mean), comparison.mean, np.nan)
            ax = axes[0] if b <= 128 else axes[1]
            x = grid.rates_of(variant)
            constant = variant == "constant"
            ax.plot(x, mean, linestyle="-" if constant else "--", marker="o" if constant else "^",
                    markersize=3.5, color=style.batch_color(b),
                    label=f"B = {b}" + (", warm-up" if variant == "warmup" else ""))
            diverged = ~np.isfinite(comparison.mean)
            if diverged.any():
                ax.plot(x[diverged], np.full(diverged.sum(), 2.0), "x", color=style.batch_color(b))
    for ax in axes:
        style.lr_axis(ax)
        ax.set_yscale("log")
        ax.set_ylim(None, 2.5)
        style.plain_log(ax, "y")
        style.plain_log(ax, "x")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=7)
    axes[0].set_ylabel(f"validation loss after {sweep.epochs} epochs")
    return fig


def scaling_figure(sweep: Sweep, fit: OptimalStepFit | None = None, fit_given: OptimalStepFit | None = None):
    """Best rate against batch size on log-log axes, beside the linear and square-root rules.

    Args:
        sweep (Sweep): the sweep.
        fit, fit_given (OptimalStepFit, optional): :math:`\\epsilon_{\\rm opt}(B)` fitted freely and
            with a given :math:`B_{\\rm noise}` (drawn when given).
    """
    fig, ax = style.new_figure(1, width=6.6, height=5.0)
    b = np.array(sweep.batch_sizes, dtype=np.float64)
    tuned = sweep.best_rates()
    constant = sweep.best_rates(("constant",))
    seeds = sweep.seed_best_rates()
    for s in range(seeds.shape[1]):
        ax.plot(b * (1 + 0.04 * (s - 1)), seeds[:, s], ".", color="0.6", markersize=4,
                label="best rate of one seed" if s == 0 else None)
    ax.plot(b, tuned, "o-", color=style.PALETTE["blue"], label="best rate (mean over seeds), warm-up allowed")
    ax.plot(b, constant, "s--", color=style.PALETTE["orange"], markersize=4, label="best rate without warm-up")
    stable = sweep.largest_stable_rates("constant")
    ax.plot(b, stable, "v:", color=style.PALETTE["vermillion"], markersize=4,
            label="largest rate stable in every seed (no warm-up)")
    line = np.geomspace(b[0], b[-1], 50)
    ax.plot(line, scaled_rate(line, b[0], tuned[0], 1.0), color="0.3", linewidth=1,
            label="linear rule η ∝ B")
    ax.plot(line, scaled_rate(line, b[0], tuned[0], 0.5), color="0.3", linewidth=1, linestyle="-.",
            label="square-root rule η ∝ √B")
    for f, dashes, text in ((fit, "-", "fitted"), (fit_given, "--", "with $B_{\\rm noise} = B_{\\rm simple}$")):
        if f is not None:
            ax.plot(line, f(line), color=style.PALETTE["green"], linestyle=dashes, linewidth=1.4,
                    label=f"$\\epsilon_{{\\rm opt}}(B)$, {text}")
    style.batch_axis(ax, sweep.batch_sizes)
    style.lr_axis(ax, axis="y", label="learning rate η (log scale)")
    style.plain_log(ax, "y")
    ax.set_ylim(sweep.rates[0] / 1.5, sweep.rates[-1] * 2)
    ax.set_xlabel("batch size B (log scale)")
    style.legend_below(fig, ax, ncol=2)
    return fig


def noise_scale_figure(trace: NoiseScaleTrace, steps_per_epoch: int | None = None):
    """Left: :math:`B_{\\rm simple}` along training.  Right: at the checkpoints, against the training loss.

    Args:
        trace (NoiseScaleTrace): what the tracker measured.
        steps_per_epoch (int, optional): updates per epoch, to put epochs on the x axis (else updates).

    Raises:
        TypeError: ``trace`` is not a :class:`NoiseScaleTrace`.
        ValueError: ``steps_per_epoch`` < 1.
    """
    if not isinstance(trace, NoiseScaleTrace):
        raise TypeError(f"trace must be a lib.batch_size.noise_tracker.NoiseScaleTrace, got {type(trace).__name__}")
    scale = 1.0 if steps_per_epoch is None else float(checks.int_at_least(steps_per_epoch, "steps_per_epoch"))
    fig, (left, right) = style.new_figure(2, width=7.8, height=3.4)
    left.plot(trace.steps / scale, trace.two_batch_b_simple(), color=style.PALETTE["blue"], linewidth=1.2,
              label=f"two batch sizes ({trace.b_small}, {trace.b_big}), moving averages")
    for ax, x in ((left, trace.checkpoints / scale), (right, trace.checkpoint_loss)):
        ax.plot(x, trace.per_example_b_simple, "o", color=style.PALETTE["vermillion"], markersize=5,
                label="per-example gradients, at the checkpoint")
        ax.plot(x, trace.fixed_two_batch_b_simple, "x", color=style.PALETTE["black"], markersize=6,
                label="two batch sizes, same weights")
        ax.set_yscale("log")
        style.plain_log(ax, "y")
        ax.set_ylabel("$B_{\\rm simple}$ (log scale)")
    left.set_xlabel("epoch" if steps_per_epoch else "update")
    right.set_xscale("log")
    right.invert_xaxis()
    style.plain_log(right, "x")
    right.set_xlabel("training loss at the checkpoint (log scale, falling →)")
    style.legend_below(fig, left, ncol=2)
    return fig


def tradeoff_figure(tradeoff: Tradeoff, fit: StepsExamplesFit):
    """Steps against examples to reach the target, with McCandlish et al.'s hyperbola.

    Args:
        tradeoff (Tradeoff): steps and examples at each batch size.
        fit (StepsExamplesFit): the fitted hyperbola.
    """
    fig, ax = style.new_figure(1, width=6.0, height=3.6)
    line = np.geomspace(tradeoff.batch_sizes[0] / 4, tradeoff.batch_sizes[-1] * 4, 200)
    ax.plot(fit.examples(line), fit.steps(line), color="0.3", linewidth=1.2,
            label="$(S/S_{\\min} - 1)(E/E_{\\min} - 1) = 1$, fitted")
    for b, e, s in zip(tradeoff.batch_sizes, tradeoff.examples, tradeoff.steps):
        ax.plot(e, s, "o", color=style.batch_color(b), markersize=7)
        ax.annotate(f"B={b:.0f}", (e, s), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.axhline(fit.s_min, color=style.PALETTE["vermillion"], linestyle=":", linewidth=1, label="$S_{\\min}$")
    ax.axvline(fit.e_min, color=style.PALETTE["blue"], linestyle=":", linewidth=1, label="$E_{\\min}$")
    ax.plot([2 * fit.e_min], [2 * fit.s_min], "*", color="black", markersize=9,
            label="$B = B_{\\rm crit}$: $2E_{\\min}$, $2S_{\\min}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    style.plain_log(ax, "y")
    ax.set_xlabel(f"examples E to reach validation loss {tradeoff.target:g} (log scale)")
    ax.set_ylabel("updates S (log scale)")
    ax.legend(loc="upper right", fontsize=7)
    return fig


def equal_footing_figure(comparison: "BatchComparison"):
    """Left: the best validation loss at each batch size at equal epochs and at equal updates (mean, bars:
    one standard deviation over seeds).  Right: updates to each target loss, with the line of equal examples.

    Args:
        comparison (BatchComparison): :func:`lib.batch_size.study.compare_batch_sizes`'s record.
    """
    fig, (left, right) = style.new_figure(2, width=7.8, height=3.3)
    b = comparison.batch_sizes.astype(np.float64)
    for held, marker, colour, text in (("epochs", "o", "blue", f"after {comparison.epochs} epochs (equal examples)"),
                                       ("updates", "s", "vermillion", f"after {comparison.updates} updates")):
        left.errorbar(b, comparison.mean(held), yerr=comparison.std(held), marker=marker, capsize=3,
                      color=style.PALETTE[colour], label=text)
    _log_log_batch_axes(left, comparison.batch_sizes, "validation loss, best rate (log scale)")
    left.legend(loc="upper left", fontsize=7)
    for t, (target, colour) in enumerate(zip(comparison.targets, ("blue", "orange", "green", "black"))):
        steps = comparison.target_steps[t]
        reached = np.isfinite(steps)
        right.plot(b[reached], steps[reached], "o-", color=style.PALETTE[colour],
                   label=f"to validation loss {target:g}")
        if (~reached).any():
            top = np.nanmax(comparison.target_steps) * 2 if np.isfinite(comparison.target_steps).any() else 1.0
            right.plot(b[~reached], np.full((~reached).sum(), top), "x", color=style.PALETTE[colour], markersize=8,
                       label=f"loss {target:g} not reached")
        if reached.any():
            first = int(np.flatnonzero(reached)[0])
            right.plot(b, steps[first] * b[first] / b, ":", color=style.PALETTE[colour], linewidth=1,
                       label="same examples as the smallest batch" if t == 0 else None)
    _log_log_batch_axes(right, comparison.batch_sizes, "updates to the target (log scale)")
    right.legend(loc="lower left", fontsize=7)
    return fig


def _log_log_batch_axes(ax, batch_sizes, ylabel: str) -> None:
    """Both axes logarithmic, the batch sizes as x ticks, plain numbers on the y axis."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    style.batch_axis(ax, batch_sizes)
    style.plain_log(ax, "y")
    ax.set_xlabel("batch size B (log scale)")
    ax.set_ylabel(ylabel)


def explorer_figure(point: "ExplorerPoint"):
    """Left: validation loss of the nearest grid rate at that batch size (others grey).  Right: the scaling picture.

    ``point`` is :func:`lib.batch_size.explorer.explorer_point`'s record.
    """
    sweep, grid, variant = point.sweep, point.grid, point.variant
    history = grid.history
    fig, (left, right) = style.new_figure(2, width=7.8, height=3.2, width_ratios=(1.1, 1))
    for r, rate in enumerate(grid.rates_of(variant)):
        if math.isclose(rate, point.rate):
            continue
        left.plot(history.eval_epoch, history.val_loss[grid.index(variant)[r]].mean(axis=0),
                  color="0.8", linewidth=0.8)
    style.seed_band(left, history.eval_epoch, history.val_loss[point.rows], color=style.lr_color(point.rate),
                    label=f"η = {point.rate:g}")
    left.set_yscale("log")
    style.plain_log(left, "y")
    left.set_xlabel("epoch")
    left.set_ylabel("validation loss (log scale)")
    left.set_title(f"B = {point.batch_size}{', warm-up' if variant == 'warmup' else ''}: η = {point.rate:g}"
                   + (f" (diverged in {point.diverged} seed(s))" if point.diverged else ""))
    left.legend(loc="upper right")
    b = np.array(sweep.batch_sizes, dtype=np.float64)
    tuned = point.best_rates
    right.plot(b, tuned, "o-", color=style.PALETTE["blue"], markersize=4, label="best rate")
    right.plot(b, scaled_rate(b, b[0], tuned[0], 1.0), color="0.3", linewidth=1, label="linear")
    right.plot(b, scaled_rate(b, b[0], tuned[0], 0.5), color="0.3", linewidth=1, linestyle="-.", label="square root")
    # the star is the rate whose curves the left panel draws (the grid's, not the one asked for)
    right.plot([point.batch_size], [point.rate], "*", color=style.lr_color(point.rate), markeredgecolor="black",
               markersize=13, label="your choice")
    style.batch_axis(right, sweep.batch_sizes)
    style.lr_axis(right, axis="y", label="learning rate η (log scale)")
    style.plain_log(right, "y")
    right.set_xlabel("batch size B (log scale)")
    right.legend(loc="upper left", fontsize=7)
    return fig
