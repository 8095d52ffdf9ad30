"""The figures of the batch-size-and-hardware section; each draws a record and computes nothing a test would check.

* :func:`throughput_figure`: examples per second and seconds per update against the batch size;
* :func:`time_to_target_figure`: updates and seconds to the target against the batch size;
* :func:`differences_figure`: what data-parallel SGD matches and what breaks it;
* :func:`cost_figure`: compute and communication per update for each W, and all-reduce time by size;
* :func:`scaling_figure`: linear scaling with and without warm-up at growing global batch.
"""
from __future__ import annotations

import numpy as np

from lib import style

from .experiments import Study
from .throughput import Throughput
from .time_to_target import TimeToTarget


def throughput_figure(records: list[Throughput], *, b_crit: float | None = None,
                      saturation: dict[str, int] | None = None):
    """Left: examples per second; right: seconds per update; both against the batch size, log-log."""
    fig, (left, right) = style.new_figure(2, width=7.8, height=3.3)
    for i, r in enumerate(records):
        color = style.series_color(i)
        label = {"textbook": "textbook MLP", "cnn": "CNN"}.get(r.model, r.model)
        left.plot(r.batch_sizes, r.examples_per_second, "o-", color=color, label=label, markersize=4)
        right.plot(r.batch_sizes, 1e3 * r.seconds_per_update, "o-", color=color, label=label, markersize=4)
        if saturation and r.model in saturation:
            b = saturation[r.model]
            k = int(np.flatnonzero(r.batch_sizes == b)[0])
            left.plot([b], [r.examples_per_second[k]], "s", color=color, markersize=9, fillstyle="none")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size B (examples, log scale)")
        if b_crit is not None:
            ax.axvline(b_crit, color=style.PALETTE["vermillion"], linestyle=":", linewidth=1.2,
                       label="$B_{\\rm crit}$ (section 4's fit, rerun small)")
    left.set_ylabel("examples per second (log scale)")
    right.set_ylabel("ms per update (log scale)")
    right.plot([], [], "s", color="0.3", fillstyle="none", label="saturation")
    right.legend(fontsize=7, loc="upper left")
    return fig


def time_to_target_figure(t: TimeToTarget, target: float):
    """Left: updates to the target; right: seconds to the target (measured points and the fitted curve)."""
    fig, (left, right) = style.new_figure(2, width=7.8, height=3.3)
    left.plot(t.batch_sizes, t.steps, "o", color=style.PALETTE["blue"], label="measured")
    left.plot(t.curve_batches, t.curve_steps, "-", color="0.4", linewidth=1,
              label="$S_{\\min}(1 + B_{\\rm crit}/B)$, fitted")
    right.plot(t.curve_batches, t.curve_seconds, "-", color="0.4", linewidth=1,
               label="fitted updates x measured s/update")
    right.plot(t.batch_sizes, t.seconds, "o", color=style.PALETTE["vermillion"], label="measured")
    right.plot([t.best_batch], [t.seconds.min()], "*", color="black", markersize=11, label="fastest measured")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size B (examples, log scale)")
        ax.axvline(t.b_crit, color=style.PALETTE["vermillion"], linestyle=":", linewidth=1.2,
                   label="$B_{\\rm crit}$")
    left.set_ylabel(f"updates to val. loss {target:g} (log)")
    right.set_ylabel(f"seconds to val. loss {target:g} (log)")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    return fig


def differences_figure(study: Study):
    """Relative differences from the single-process truth, log scale: what matches and what breaks it."""
    rows = [
        ("DDP, mean loss\n(weights after updates)", study.equivalence_params, "match"),
        ("DDP, summed loss\n(weights)", study.sum_params, "break"),
        ("DistributedSampler padding\n(epoch gradient)", study.padded_gradient, "break"),
        ("uneven shards, weighted sum\n(epoch gradient)", study.uneven_gradient, "match"),
        ("CNN, per-process batch norm\n(first gradient)", study.bn_gradient, "break"),
        ("same CNN without batch norm\n(first gradient)", study.nobn_gradient, "match"),
    ]
    fig, ax = style.new_figure(1, width=7.0, height=3.4)
    y = np.arange(len(rows))[::-1]
    colors = {"match": style.PALETTE["blue"], "break": style.PALETTE["vermillion"]}
    values = [max(v, 1e-18) for _, v, _ in rows]
    ax.barh(y, values, color=[colors[k] for *_, k in rows])
    for yi, v in zip(y, values):
        ax.annotate(f"{v:.1e}", (v, yi), textcoords="offset points", xytext=(3, -3), fontsize=7)
    ax.set_yticks(y, [r[0] for r in rows], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlim(1e-18, 10)
    ax.set_xlabel(f"relative difference from one process (log scale), W = {study.workers}, float64")
    return fig


def cost_figure(study: Study, *, alpha: float, beta: float):
    """Left: ms per update for each W, compute and communication stacked.  Right: all-reduce time by size."""
    fig, (left, right) = style.new_figure(2, width=7.8, height=3.3, width_ratios=(1, 1.2))
    w = [t.workers for t in study.timings]
    compute = np.array([1e3 * t.compute for t in study.timings])
    comm = np.array([1e3 * t.communication for t in study.timings])
    left.bar(w, compute, color=style.PALETTE["blue"], label="compute (no_sync)")
    left.bar(w, comm, bottom=compute, color=style.PALETTE["orange"], label="communication (update - compute)")
    left.set_xticks(w, [f"W = {k}" for k in w])
    left.set_ylabel(f"ms per update, global batch {study.timings[0].global_batch}")
    left.legend(fontsize=7)
    n = study.allreduce_sizes.astype(float)
    right.plot(n, 1e3 * study.allreduce_seconds, "o", color=style.PALETTE["blue"], label="measured")
    line = np.geomspace(n.min(), 1e8, 100)
    right.plot(line, 1e3 * (alpha + beta * line), "-", color="0.4", linewidth=1,
               label="$\\alpha + \\beta n$, extrapolated")
    right.axvline(study.timings[0].parameters, color=style.PALETTE["vermillion"], linestyle=":", linewidth=1,
                  label="the MLP's gradient")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("float32 elements all-reduced (log scale)")
    right.set_ylabel(f"ms per all-reduce, W = {study.workers} (log)")
    right.legend(fontsize=7)
    return fig


def scaling_figure(study: Study, *, b_crit: float | None = None):
    """Final validation loss against the global batch, linear scaling with and without warm-up."""
    fig, ax = style.new_figure(1, width=6.0, height=3.3)
    batches = sorted(study.scaling)
    for variant, color, marker in (("warmup", style.PALETTE["blue"], "o"),
                                   ("constant", style.PALETTE["vermillion"], "s")):
        loss = [study.scaling[b][variant][0] for b in batches]
        ax.plot(batches, loss, marker + "-", color=color,
                label="linear scaling + warm-up" if variant == "warmup" else "linear scaling, no warm-up")
    if b_crit is not None:
        ax.axvline(b_crit, color="0.3", linestyle=":", linewidth=1.2, label="$B_{\\rm crit}$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("global batch size (examples, log scale)")
    ax.set_ylabel("validation loss after training (log)")
    ax.legend(fontsize=7)
    return fig
