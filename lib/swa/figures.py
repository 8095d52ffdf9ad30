"""Section 6's figures: each takes records of :mod:`lib.swa` and draws; none computes what a test checks.

* :func:`rates_figure`: the learning rate of each plan over the whole run and over its first snapshots;
* :func:`comparison_figure`: test error and training loss of chosen final networks, one dot per seed;
* :func:`plane_figure`: the paper's figure 1, the loss on the plane through three snapshots;
* :func:`slices_figure`: the loss along random filter-normalised directions through each solution;
* :func:`tracking_figure`: one cyclical run, its rate and the accuracy of the average and the iterate
  at each snapshot (the explorer's figure).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from lib import style
from lib.core import checks

from .plane import SnapshotPlane
from .slices import Slices
from .training import SWARun

#: One colour per way of ending training (Okabe-Ito, from lib.style).
KIND_COLORS = {"decay": style.PALETTE["black"], "constant": style.PALETTE["blue"],
               "cyclical": style.PALETTE["vermillion"], "ema": style.PALETTE["green"],
               "stale": style.PALETTE["orange"]}


def rates_figure(runs: Sequence[SWARun], zoom_cycles: int = 3):
    """The learning rate of each run over the whole training (left) and over the first
    ``zoom_cycles`` snapshots of the averaging phase (right); dots mark the snapshots.

    Raises:
        TypeError: ``runs`` is not a non-empty list of ``SWARun``.
        ValueError: ``zoom_cycles`` < 1.
    """
    runs = list(runs)
    if not runs or not all(isinstance(r, SWARun) for r in runs):
        raise TypeError("runs must be a non-empty list of lib.swa.training.SWARun")
    zoom_cycles = checks.integer(zoom_cycles, "zoom_cycles", minimum=1)
    fig, (whole, zoom) = style.new_figure(2, width=7.6, height=3.3)
    longest = max((r.plan.every or 0) for r in runs)
    zoom_end = runs[0].start_step + zoom_cycles * max(longest, 1)
    for run in runs:
        color = KIND_COLORS[run.plan.kind]
        pre = np.arange(run.start_step + 1) / run.steps_per_epoch
        epochs = np.concatenate([pre, run.update_epochs])
        rates = np.concatenate([np.full(len(pre), run.start_lr), run.rates])
        order = {"cyclical": 1, "constant": 2, "decay": 3}[run.plan.kind]   # the busy cyclical curve at the back
        for ax, width in ((whole, 0.8 if run.plan.kind == "cyclical" else 1.4), (zoom, 1.2)):
            ax.plot(epochs, rates, color=color, label=run.plan.name, linewidth=width, zorder=order)
            if run.plan.averages:
                ax.plot(run.snapshot_epochs, run.rates[run.snapshot_steps], "o", color=color, markersize=3,
                        zorder=order)
    for ax in (whole, zoom):
        style.lr_axis(ax, "y", "learning rate $\\eta$ (log scale)")
        ax.set_xlabel("epoch")
    start = runs[0].start_step / runs[0].steps_per_epoch
    zoom.set_xlim(start - 0.2 * (zoom_end / runs[0].steps_per_epoch - start), zoom_end / runs[0].steps_per_epoch)
    whole.axvline(start, color="0.5", linestyle=":", linewidth=1)
    whole.set_title("whole run (dotted: averaging starts)")
    zoom.set_title(f"first {zoom_cycles} snapshots (dots)")
    style.legend_below(fig, whole, ncol=2)
    return fig


def comparison_figure(table: Mapping[tuple[str, str], Mapping[str, np.ndarray]],
                      rows: Sequence[tuple[str, tuple[str, str], str]]):
    """Test error (left) and training loss (right) of chosen networks, one dot per seed and the mean.

    ``table`` is :func:`lib.swa.metrics.metrics_table`'s; ``rows`` lists
    ``(label, key into table, colour kind)``, e.g.
    ``("SWA average", ("SWA, constant rate 0.5", "average"), "constant")``.

    Raises:
        TypeError: ``table`` is not a dict.
        ValueError: a key not in the table, or a colour kind not in :data:`KIND_COLORS`.
    """
    if not isinstance(table, Mapping):
        raise TypeError("table must be the dict returned by metrics_table()")
    rows = list(rows)
    for label, key, kind in rows:
        if key not in table:
            raise ValueError(f"{key!r} is not in the table; available: {sorted(table)}")
        checks.choice(kind, "colour kind", KIND_COLORS)
    fig, (error_ax, loss_ax) = style.new_figure(2, width=7.6, height=0.45 * len(rows) + 1.4, sharey=True)
    positions = np.arange(len(rows))[::-1]
    for position, (label, key, kind) in zip(positions, rows):
        color = KIND_COLORS[kind]
        for ax, values in ((error_ax, 100 * (1 - table[key]["test_acc"])), (loss_ax, table[key]["train_loss"])):
            ax.plot(values, np.full(len(values), position), "o", color=color, alpha=0.55, markersize=4)
            ax.plot([values.mean()], [position], "|", color=color, markersize=16, markeredgewidth=2.2)
    error_ax.set_yticks(positions, [label for label, _, _ in rows])
    error_ax.set_xlabel("test error (%)")
    loss_ax.set_xlabel("training loss (cross-entropy)")
    for ax in (error_ax, loss_ax):
        ax.grid(axis="y", visible=False)
    return fig


def plane_figure(plane: SnapshotPlane):
    """The paper's figure 1 on MNIST: test error (%) and training loss over the plane, with the
    snapshots (dots) and their average (a star) marked.

    Raises:
        TypeError: ``plane`` is not a :class:`lib.swa.plane.SnapshotPlane`.
    """
    if not isinstance(plane, SnapshotPlane):
        raise TypeError(f"plane must be a lib.swa.plane.SnapshotPlane, got {type(plane).__name__}")
    xs, ys = plane.xs, plane.ys
    fig, axes = style.new_figure(2, width=7.6, height=3.6)
    panels = ((axes[0], plane.test_error, "test error (%)"), (axes[1], plane.train_loss, "training loss (cross-entropy)"))
    for ax, grid, title in panels:
        levels = np.linspace(np.nanmin(grid), np.nanpercentile(grid, 85), 14)
        filled = ax.contourf(xs, ys, np.clip(grid, None, levels[-1]), levels=levels, cmap="cividis_r",
                             extend="max")
        ax.contour(xs, ys, grid, levels=levels, colors="0.3", linewidths=0.3)
        ticks = MaxNLocator(5).tick_values(levels[0], levels[-1])
        bar = fig.colorbar(filled, ax=ax, pad=0.02, format="{x:.3g}",
                           ticks=ticks[(ticks >= levels[0]) & (ticks <= levels[-1])])
        bar.set_label(title)
        for label, (px, py) in plane.coordinates.items():
            swa_point = "SWA" in label
            ax.plot(px, py, marker="*" if swa_point else "o", markersize=11 if swa_point else 6,
                    color=KIND_COLORS["cyclical"] if swa_point else "white", markeredgecolor="black",
                    linestyle="none")
            ax.annotate(label, (px, py), textcoords="offset points", xytext=(5, 5), fontsize=9)
        ax.set_xlabel("distance along $u$ (weight units)")
        ax.set_aspect("equal", adjustable="box")
        ax.grid(False)
    axes[0].set_ylabel("distance along $v$ (weight units)")
    return fig


def slices_figure(slices: Slices, kinds: Mapping[str, str]):
    """Training loss (left) and test error (right) along random filter-normalised directions.

    Each direction is a thin line, the mean over directions a thick one;
    ``kinds[label]`` picks the colour (a key of :data:`KIND_COLORS`, e.g. a plan's ``kind``).

    Raises:
        TypeError: ``slices`` is not a :class:`lib.swa.slices.Slices`.
        ValueError: a label without a colour kind of :data:`KIND_COLORS`.
    """
    if not isinstance(slices, Slices):
        raise TypeError(f"slices must be a lib.swa.slices.Slices (from slice_curves), got {type(slices).__name__}")
    for label in slices.labels:
        if kinds.get(label) not in KIND_COLORS:
            raise ValueError(f"kinds[{label!r}] must be one of {', '.join(KIND_COLORS)}")
    fig, (loss_ax, error_ax) = style.new_figure(2, width=7.6, height=3.2)
    for label in slices.labels:
        color = KIND_COLORS[kinds[label]]
        for ax, values in ((loss_ax, slices.train_loss[label]), (error_ax, slices.test_error[label])):
            ax.plot(slices.alphas, values.T, color=color, linewidth=0.6, alpha=0.35)
            ax.plot(slices.alphas, values.mean(0), color=color, linewidth=2, label=label)
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("training loss (log scale)")
    error_ax.set_ylabel("test error (%)")
    for ax in (loss_ax, error_ax):
        ax.set_xlabel("step along the direction, $\\alpha$ (filter-normalised units)")
    style.legend_below(fig, loss_ax, ncol=2)
    return fig


def tracking_figure(run: SWARun):
    """The rate of ``run`` (left) and, at each snapshot, the validation accuracy of the running
    average and of the current iterate (right), as ``continue_run(..., track=True)`` recorded them.

    Raises:
        TypeError: ``run`` is not an ``SWARun``.
    """
    if not isinstance(run, SWARun):
        raise TypeError(f"run must be a lib.swa.training.SWARun, got {type(run).__name__}")
    fig, (rate_ax, acc_ax) = style.new_figure(2, width=7.6, height=3.2)
    rate_ax.plot(run.update_epochs, run.rates, color=KIND_COLORS["cyclical"], linewidth=1)
    rate_ax.plot(run.snapshot_epochs, run.rates[run.snapshot_steps], "o", color=KIND_COLORS["cyclical"],
                 markersize=3, label="snapshot")
    style.lr_axis(rate_ax, "y", "learning rate $\\eta$ (log scale)")
    rate_ax.set_xlabel("epoch")
    rate_ax.legend(loc="lower left")
    taken = np.isfinite(run.average_val_acc)
    acc_ax.plot(run.snapshot_epochs[taken], 100 * run.iterate_val_acc[taken], "o-", markersize=3,
                color=KIND_COLORS["decay"], label="SGD iterate at the snapshot", linewidth=1)
    acc_ax.plot(run.snapshot_epochs[taken], 100 * run.average_val_acc[taken], "o-", markersize=3,
                color=KIND_COLORS["cyclical"], label="running average (SWA)")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy (%)")
    acc_ax.legend(loc="lower right")
    if run.diverged:
        acc_ax.set_title(f"diverged at step {run.diverged_at} of the averaging phase")
    elif taken.any():
        acc_ax.set_title(f"{taken.sum()} snapshots: average {100 * run.average_val_acc[taken][-1]:.2f} %, "
                         f"iterate {100 * run.iterate_val_acc[taken][-1]:.2f} %")
    return fig
