"""The figures of section 4's sub-page on the noise scale: each draws a record and computes nothing a test would check.

* :func:`loss_per_step_figure`: the decrease of one step against the rate for every batch size,
  and the best decrease and best rate against the batch size with McCandlish et al.'s laws
  (from :class:`lib.batch_size.loss_per_step.LossPerStep`);
* :func:`variants_figure`: :math:`B_{\\rm simple}` of the task variants and of the training-set
  sizes, per seed and with t intervals (from :class:`lib.batch_size.noise_scale_variants.MeasuredNoise`);
* :func:`bridge_figure`: Smith and Le's :math:`g` at the best step against the batch size
  (:mod:`lib.batch_size.noise_bridge`).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from lib import style

from .gradient_noise import optimal_step
from .loss_per_step import LossPerStep
from .noise_bridge import large_batch_limit, noise_at_best_step, plateau
from .noise_scale_variants import MeasuredNoise


def loss_per_step_figure(result: LossPerStep):
    """Left: mean decrease against the rate per batch size (dots: the peaks).  Middle: the best
    decrease against B with the fitted law.  Right: the best rate against B with its law."""
    measured = result.measured
    fig, axes = style.new_figure(3, width=10.5, height=3.3)
    sizes = measured.batch_sizes
    curves = measured.mean_decrease()
    for b, curve, best, rate in zip(sizes, curves, result.best_decrease, result.best_rate):
        colour = style.batch_color(b, sizes[0], sizes[-1])
        axes[0].plot(measured.rates, curve, color=colour, label=f"B = {b:g}")
        axes[0].plot([rate], [best], "o", color=colour, markersize=4)
    top = float(np.max(result.best_decrease))
    axes[0].set_ylim(-0.5 * top, 1.25 * top)
    axes[0].axhline(0, color="grey", lw=0.8)
    style.lr_axis(axes[0], "x", "step size $\\epsilon$ (log scale)")
    axes[0].set_ylabel("loss decrease of one step (nats)")
    axes[0].legend(ncol=2, fontsize=7.5)
    dense = np.geomspace(sizes[0] / 2, sizes[-1] * 2, 200)
    panels = ((result.best_decrease, result.decrease_interval, result.fit(dense), result.fit.delta_max,
               result.fit.b_noise, result.interval("b_noise"), "best decrease $\\Delta L_{\\rm opt}$ (nats)"),
              (result.best_rate, result.rate_interval,
               optimal_step(dense, result.rate_fit.eps_max, result.rate_fit.b_noise), result.rate_fit.eps_max,
               result.rate_fit.b_noise, result.interval("b_noise_rate"), "best step $\\epsilon_{\\rm opt}$"))
    for i, (measured, interval, curve, limit, b_noise, (low, high), ylabel) in enumerate(panels):
        ax = axes[1 + i]                              # the measured peaks and the fitted law, B on log axes
        ax.errorbar(sizes, measured, yerr=np.abs(interval - measured), fmt="o", color=style.series_color(i),
                    capsize=3, label="measured")
        ax.plot(dense, curve, color=style.series_color(i),
                label=f"fit, $B_{{\\rm noise}}$ = {b_noise:.0f} [{low:.0f}, {high:.0f}]")
        ax.axhline(limit, color="grey", ls=":", lw=1)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size $B$ (log scale)")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7.5)
    for ax in axes[1:]:
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:g}"))
        style.plain_log(ax, "y")
    return fig


def _intervals(ax, records: Sequence[MeasuredNoise], labels: Sequence[str], colour: str, level: float) -> None:
    for i, record in enumerate(records):
        mean, low, high = record.interval(level)
        ax.errorbar([i], [mean], yerr=[[mean - low], [high - mean]], fmt="s", color=colour, capsize=4,
                    label="geometric mean, t interval" if i == 0 else None)
        ax.plot(np.full(record.b_simple.size, i) + np.linspace(-0.12, 0.12, record.b_simple.size), record.b_simple,
                "o", color="grey", markersize=3.5, label="one seed" if i == 0 else None)
    ax.set_xticks(range(len(records)))
    ax.set_xticklabels(labels)
    ax.set_xlim(-0.5, len(records) - 0.5)
    ax.set_yscale("log")
    style.plain_log(ax, "y")


def variants_figure(tasks: Sequence[MeasuredNoise], sizes: Sequence[MeasuredNoise], level: float = 0.95):
    """Left: :math:`B_{\\rm simple}` of each task variant; right: of each training-set size."""
    fig, axes = style.new_figure(2, width=8.0, height=3.2)
    _intervals(axes[0], tasks, [f"{r.label}\n(loss {r.loss.mean():.2f})" for r in tasks], style.series_color(0), level)
    axes[0].set_xlabel("task (same updates)")
    axes[0].set_ylabel("$B_{\\rm simple}$ (examples, log scale)")
    axes[0].legend(fontsize=7.5)
    _intervals(axes[1], sizes, [f"N = {r.examples:,}\n({r.updates.mean():.0f} updates)" for r in sizes],
               style.series_color(1), level)
    axes[1].set_xlabel("training examples N (same loss)")
    axes[1].set_ylabel("$B_{\\rm simple}$ (examples, log scale)")
    return fig


def bridge_figure(batch_sizes, eps_max: float, b_noise: float, train_size: int, b_noise_interval=None):
    """Smith and Le's :math:`g` at McCandlish et al.'s best step against B, with its two limits
    (and, given ``b_noise_interval``, the band its interval spans)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.3), layout="constrained")
    b = np.geomspace(min(batch_sizes) / 4, max(batch_sizes) * 4, 300)
    g = noise_at_best_step(b, eps_max, b_noise, train_size)
    ax.plot(b, g, color=style.series_color(0), label="$g_{\\rm opt} = \\epsilon_{\\max}N/(B + B_{\\rm noise})$")
    if b_noise_interval is not None:
        low, high = b_noise_interval
        ax.fill_between(b, noise_at_best_step(b, eps_max, high, train_size),
                        noise_at_best_step(b, eps_max, low, train_size), color=style.series_color(0), alpha=0.2,
                        lw=0, label="$B_{\\rm noise}$ interval")
    ax.axhline(plateau(eps_max, b_noise, train_size), color="grey", ls=":", lw=1,
               label="$\\epsilon_{\\max}N/B_{\\rm noise}$ (small $B$)")
    ax.plot(b, large_batch_limit(b, eps_max, train_size), color="grey", ls="--", lw=1,
            label="$\\epsilon_{\\max}N/B$ (large $B$)")
    ax.axvline(b_noise, color=style.series_color(1), lw=1, label="$B = B_{\\rm noise}$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(g.min() / 2, g.max() * 2)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:g}"))
    style.plain_log(ax, "y")
    ax.set_xlabel("batch size $B$ (log scale)")
    ax.set_ylabel("noise scale $g = \\epsilon N/B$ (log scale)")
    ax.legend(fontsize=7.5)
    return fig
