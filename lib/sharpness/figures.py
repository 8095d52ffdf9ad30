"""Section 5's figures: each takes a record of the section's experiments and draws it.

They compute nothing a test would check; colours follow :mod:`lib.style`
(batch sizes on cividis, learning rates on viridis, seeds as a band).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from lib import style

from .batch_growth import GrowthStudy
from .generalization_gap import GapStudy
from .online import LinearScalingCheck, RateGeneralization, RateSweep
from .sgd_noise import BestBatchStudy, NoisePairs

#: The sharpness numbers of :func:`sharpness_vs_batch_figure` and their legend labels.
SHARPNESS_LABELS = {"top_eigenvalue": "$\\lambda_{\\max}$", "trace": "tr $H$",
                    "keskar_full_1e-03": "$\\phi$ ($\\epsilon = 10^{-3}$)"}


def keskar_curves_figure(study: GapStudy, accuracy_floor: float | None = None):
    """Training loss and validation accuracy against updates, small and large batch, seeds as bands.

    ``accuracy_floor``: the lower end of the accuracy axis, in percent (None: automatic).
    """
    fig, (left, right) = style.new_figure(2, width=7.4, height=3.1)
    for solutions in (study.small, study.large):
        b = solutions.batch_size
        line = dict(color=style.batch_color(b), label=f"batch {b:,}")
        style.seed_band(left, solutions.eval_step, solutions.train_loss, **line)
        style.seed_band(right, solutions.eval_step, solutions.val_acc, **line)
    for ax in (left, right):
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlabel("parameter updates (log scale)")
    left.set_yscale("log")
    left.set_ylabel("training loss (log scale)")
    right.set_ylabel("validation accuracy (%)")
    right.set_ylim(accuracy_floor, 100)
    left.legend(loc="lower left")
    return fig


def parametric_figure(alphas, curves: dict, labels: tuple[str, str] = ("small batch", "large batch")):
    """Keskar et al.'s (2017) figure 3: loss and accuracy along the line from solution a to b.

    ``curves`` is :func:`lib.sharpness.weight_space.parametric_curves`' result;
    :math:`\\alpha = 0` is ``labels[0]``'s solution, :math:`\\alpha = 1` is ``labels[1]``'s.
    """
    alphas = np.asarray(alphas, dtype=float)
    fig, (left, right) = style.new_figure(2, width=7.4, height=3.2)
    styles = {"train": "-", "test": "--", "val": ":"}
    for name, (losses, accuracies) in curves.items():
        linestyle = styles.get(name, "-.")
        left.plot(alphas, losses, color=style.series_color(0), linestyle=linestyle, label=f"{name} loss")
        right.plot(alphas, 100 * accuracies, color=style.series_color(1), linestyle=linestyle,
                   label=f"{name} accuracy")
    for ax in (left, right):
        for x in (0.0, 1.0):
            ax.axvline(x, color="0.6", linewidth=0.8)
        ax.set_xlabel(f"$\\alpha$  (0: {labels[0]}, 1: {labels[1]})")
        ax.legend(loc="best")
    left.set_yscale("log")
    left.set_ylabel("cross-entropy loss (log scale)")
    right.set_ylabel("accuracy (%)")
    return fig


def random_directions_figure(alphas, losses: dict):
    """The loss along filter-normalised random directions through each solution, one line per direction.

    ``losses``: batch size -> (directions, len(alphas)) array
    (:func:`lib.sharpness.weight_space.losses_along_random_directions`).
    """
    fig, ax = style.new_figure(1, width=5.6, height=3.2)
    for b, rows in losses.items():
        for i, row in enumerate(rows):
            ax.plot(alphas, row, color=style.batch_color(b), linewidth=1.0, label=f"batch {b:,}" if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("step along a filter-normalised random direction, $\\alpha$")
    ax.set_ylabel("training loss (log scale)")
    ax.legend(loc="upper center")
    return fig


def _percent_log_axis(ax) -> None:
    ax.set_yscale("log")
    ax.set_yticks([1, 2, 5, 10, 20, 50, 100], labels=["1", "2", "5", "10", "20", "50", "100"])
    ax.yaxis.set_minor_formatter(plt.NullFormatter())


def noise_pairs_figure(pairs: NoisePairs):
    """Test error against the learning rate (left) and against the noise scale g (right), one line per batch."""
    fig, (left, right) = style.new_figure(2, width=7.4, height=3.1, sharey=True)
    error = 100 - pairs.mean_test_acc                                    # (B, R)
    for i, b in enumerate(pairs.batch_sizes):
        line = dict(color=style.batch_color(b), marker="o", label=f"batch {b}")
        left.plot(pairs.rates[i], error[i], **line)
        right.plot(pairs.noise_scale[i], error[i], **line)
    style.lr_axis(left)
    right.set_xscale("log")
    right.set_xlabel("noise scale $g = \\epsilon N / (B(1-m))$ (log scale)")
    _percent_log_axis(left)
    left.set_ylabel("test error (%, log scale)")
    left.legend(loc="lower right")
    return fig


def best_batch_figure(study: BestBatchStudy, accuracy_floor: float | None = None):
    """Test accuracy against the batch size for each training-set size (two panels), and the best
    batch size against :math:`\\epsilon N` (third panel; crosses: read at equal updates), with the line
    :math:`B \\propto \\epsilon N`.

    ``accuracy_floor``: the lower end of the accuracy axes, in percent (None: automatic).
    """
    fig, axes = style.new_figure(3, width=7.8, height=3.0, width_ratios=(1, 1, 1.1))
    sizes, batches, best = study.train_sizes, list(study.batch_sizes), study.best_batch
    for i, (ax, n) in enumerate(zip(axes, sizes)):
        for j, (r, linestyle) in enumerate(zip(study.rates, ("--", "-"))):
            color = style.lr_color(r)
            ax.plot(batches, study.mean_test_acc[i, j], marker="o", color=color, linestyle=linestyle,
                    label=f"η = {r:g}")
            ax.axvline(best[i, j], color=color, linestyle=linestyle, linewidth=0.8)
            axes[2].plot(r * n, best[i, j], marker="o" if i == 0 else "s", color=color,
                         markerfacecolor="white" if linestyle == "--" else None, linestyle="none",
                         label=f"N = {n:,}, η = {r:g}")
            axes[2].plot(r * n, study.best_batch_equal_updates[i, j], marker="x", color=color, linestyle="none",
                         label="equal updates" if (i, j) == (0, 0) else None)
        ax.set_xscale("log", base=2)
        ticks = batches[::2] if len(batches) > 3 else batches
        ax.set_xticks(ticks, labels=[str(b) for b in ticks])
        ax.set_title(f"N = {n:,}")
        ax.set_xlabel("batch size $B$ (log scale)")
        ax.set_ylim(bottom=accuracy_floor)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(loc="lower center")
    eps_n = np.array(sorted(r * n for n in sizes for r in study.rates))
    axes[2].plot(eps_n, best[0, 0] * eps_n / eps_n[0], color="0.5", linewidth=0.8, label="$B \\propto \\epsilon N$")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log", base=2)
    axes[2].xaxis.set_minor_formatter(plt.NullFormatter())
    axes[2].set_xlabel("$\\epsilon N$ (log scale)")
    axes[2].set_ylabel("best batch size (log scale)")
    axes[2].legend(loc="upper left", fontsize=7)
    return fig


def growth_figure(study: GrowthStudy, accuracy_floor: float | None = None):
    """The noise scale per epoch, and validation accuracy against epochs and against updates, per schedule.

    ``accuracy_floor``: the lower end of the accuracy axes, in percent (None: automatic).
    """
    fig, axes = style.new_figure(3, width=7.8, height=3.0)
    for i, (kind, run) in enumerate(study.runs.items()):
        line = dict(color=style.series_color(i), linestyle=("-", "--", ":")[i], label=kind)
        g = list(run.noise_scale)
        axes[0].step(np.arange(len(g) + 1), g + g[-1:], where="post", **line)
        style.seed_band(axes[1], run.eval_epoch, run.val_acc, **line)
        style.seed_band(axes[2], run.eval_step, run.val_acc, **line)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("noise scale $g$ (log scale)")
    axes[0].set_xlabel("epoch")
    axes[1].set_xlabel("epoch")
    axes[2].set_xlabel("parameter updates")
    axes[1].set_ylabel("validation accuracy (%)")
    for ax in axes[1:]:
        ax.set_ylim(accuracy_floor, 100)
    axes[0].legend(loc="lower left")
    return fig


def sharpness_vs_batch_figure(reports: dict):
    """Three sharpness numbers (:data:`SHARPNESS_LABELS`) against the batch size of the solution.

    ``reports``: batch size -> a report with those names
    (:meth:`lib.sharpness.generalization_gap.SolutionBank.reports`).
    """
    fig, ax = style.new_figure(1, width=5.6, height=3.2)
    sizes = list(reports)
    for i, (key, label) in enumerate(SHARPNESS_LABELS.items()):
        ax.plot(sizes, [reports[b][key] for b in sizes], marker="o", color=style.series_color(i), label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size (log scale)")
    ax.set_ylabel("sharpness (log scale)")
    ax.legend(loc="upper left")
    return fig


def online_figure(sweep: RateSweep, check: LinearScalingCheck, generalization: dict[int, RateGeneralization]):
    """The rate sweep down to batch 1: final validation loss against the rate per batch size, with each
    batch's best rate (geometric mean over seeds) and the linear rule's prediction for the smallest
    batch (left); validation accuracy at equal training loss against the rate (right).

    ``generalization``: batch size -> :func:`lib.sharpness.online.rate_generalization`.
    """
    fig, (left, right) = style.new_figure(2, width=7.4, height=3.1)
    colour = {b: style.batch_color(b, smallest=1, largest=max(sweep.batch_sizes) * 4) for b in sweep.batch_sizes}
    with np.errstate(all="ignore"):
        loss = np.nanmean(sweep.final_val_loss, axis=1)                                   # (Bn, R)
    best = np.exp(np.log(check.best_rates).mean(axis=1))                                  # (Bn,)
    for i, b in enumerate(sweep.batch_sizes):
        left.plot(sweep.rates, loss[i], marker="o", markersize=3, color=colour[b], label=f"batch {b}")
        left.axvline(best[i], color=colour[b], linewidth=0.8)
    left.axvline(np.exp(np.log(check.predicted).mean()), color="0.3", linestyle="--", linewidth=1.0,
                 label=f"linear rule for batch {check.batch_size}")
    style.lr_axis(left)
    left.set_yscale("log")
    style.plain_log(left)
    left.set_ylabel("final validation loss (log scale)")
    left.legend(loc="upper left", fontsize=7)
    for b, result in generalization.items():
        style.seed_band(right, result.rates, result.acc_at_loss, color=colour[b], marker="o", markersize=3,
                        label=f"batch {b} (loss {result.target_loss:.2f})")
    style.lr_axis(right)
    right.set_ylabel("validation accuracy at equal\ntraining loss (%)")
    right.legend(loc="lower left", fontsize=7)
    return fig
