"""Section 2's figures, drawn from the records the range tests return; nothing here trains or decides.

* axes-level: :func:`plot_sweep` (a :class:`~lib.lr_finder.sweep.RangeTest`),
  :func:`plot_suggestion_rows`, :func:`plot_segmented` (a round of the textbook's
  design), :func:`plot_parallel` (a :class:`~lib.lr_finder.parallel.ParallelTest`),
  :func:`plot_check` (a :class:`~lib.lr_finder.parallel.SuggestionCheck`);
* whole figures, one per figure of the page: :func:`smith_figure`,
  :func:`quadratic_figure`, :func:`rounds_figure`, :func:`parallel_figure`,
  :func:`check_figure`, and :func:`sweep_figure` (the explorer's view).

Every suggestion rule has one style (:data:`RULE_STYLES`) on every figure.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from matplotlib import ticker

from lib import style

from .parallel import ParallelTest, SuggestionCheck
from .problems import KnownQuadratic
from .rules import RULES
from .sweep import RangeTest
from .zoom import SegmentedSweep

#: How each suggestion rule is drawn.
RULE_STYLES = {
    "steepest": dict(color=style.PALETTE["blue"], marker="v", linestyle="--"),
    "min_over_10": dict(color=style.PALETTE["orange"], marker="s", linestyle=":"),
    "valley": dict(color=style.PALETTE["green"], marker="D", linestyle="-."),
    "turn": dict(color=style.PALETTE["vermillion"], marker="o", linestyle=(0, (5, 2, 1, 2, 1, 2))),
}


# --------------------------------------------------------------------------- axes

def plot_sweep(ax, result: RangeTest, *, show_raw: bool = True, show_running: bool = False,
               rules: Sequence[str] | None = None, label: str = "smoothed loss (zero lag)"):
    """A sweep's loss against its learning rate (log axis): the raw mini-batch losses
    in grey, the zero-lag smoothed curve in black, optionally the running average
    the popular finders draw (dashed), and a vertical line per suggestion.

    Raises:
        TypeError: ``result`` is not a RangeTest.
        ValueError: an unknown rule.
    """
    if not isinstance(result, RangeTest):
        raise TypeError(f"result must be a RangeTest, got {type(result).__name__}")
    finite = np.isfinite(result.losses)
    if show_raw:
        ax.plot(result.lrs[finite], result.losses[finite], color="0.7", linewidth=0.8,
                label="mini-batch loss")
    if show_running:
        ax.plot(result.lrs, result.smoothed, color="0.35", linestyle="--", linewidth=1.0,
                label="running average (lags)")
    ax.plot(result.lrs, result.centered, color="black", label=label)
    for name in (RULES if rules is None else rules):
        if name not in RULES:
            raise ValueError(f"unknown rule {name!r}; allowed: {', '.join(RULES)}")
        lr = result.suggestions.get(name, float("nan"))
        if math.isfinite(lr):
            rule_style = RULE_STYLES[name]
            ax.axvline(lr, color=rule_style["color"], linestyle=rule_style["linestyle"], linewidth=1.2,
                       label=f"{RULES[name].label}: {lr:.3g}")
    style.lr_axis(ax)
    ax.set_ylabel("training loss")
    return ax


def plot_suggestion_rows(ax, rows: Sequence[tuple[str, float, float, float]]):
    """A dot plot of suggested rates: one row per (label, rate, lowest, highest),
    the dot in the rate's colour, a bar over the range the seeds gave.

    Raises:
        ValueError: no rows.
    """
    if not rows:
        raise ValueError("rows must be a non-empty list of (label, rate, lowest, highest)")
    for y, (label, lr, low, high) in enumerate(rows):
        ax.plot([low, high], [y, y], color="0.45", linewidth=2.5, solid_capstyle="round")
        ax.scatter([lr], [y], s=45, color=style.lr_color(lr), edgecolor="black", zorder=3)
    ax.set_yticks(range(len(rows)), [row[0] for row in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    style.lr_axis(ax, label="suggested learning rate $\\eta$ (log scale)")
    return ax


def plot_segmented(ax, sweep: SegmentedSweep, *, label: str | None = None, color=None,
                   show_epochs: bool = True):
    """A round of the textbook's design against the rate, as the textbook draws it
    (here on a log axis): every measurement as a faint dot, the loss at the end of
    each point as a line per seed, and the turn of the seed-averaged curve.

    Raises:
        TypeError: ``sweep`` is not a SegmentedSweep.
    """
    if not isinstance(sweep, SegmentedSweep):
        raise TypeError(f"sweep must be a SegmentedSweep, got {type(sweep).__name__}")
    color = style.PALETTE["blue"] if color is None else color
    if show_epochs:
        ax.plot(np.tile(sweep.eval_rate, len(sweep.init_seeds)), sweep.eval_loss.ravel(), ".",
                color=color, alpha=0.15, markersize=2)
    for row in sweep.point_loss:
        ax.plot(sweep.rates, row, color=color, linewidth=0.7, alpha=0.45)
    ax.plot(sweep.rates, sweep.mean_loss, color=color, linewidth=1.8, marker=".", markersize=4,
            label=label or f"mean of {len(sweep.init_seeds)} seeds")
    t = sweep.turn_lr
    turn_style = RULE_STYLES["turn"]
    ax.axvline(t, color=turn_style["color"], linestyle=turn_style["linestyle"], linewidth=1.2,
               label=f"turn: {t:.3g}")
    style.lr_axis(ax)
    _plain_ticks_if_narrow(ax, sweep.rates)
    ax.set_ylabel("training loss after each rate")
    return ax


def _plain_ticks_if_narrow(ax, rates) -> None:
    """Within less than a decade a log axis gets crowded 4x10^-1 labels: use a few plain ones."""
    rates = np.asarray(rates)
    if rates.max() / rates.min() < 10:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(4))
        ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def plot_parallel(ax, test: ParallelTest, *, label: str | None = None):
    """Final loss against the fixed rate of each copy: one thin line per seed, the
    seed average thick, each point in its rate's colour (:func:`lib.style.lr_color`),
    diverged copies as crosses on the top edge.

    Raises:
        TypeError: ``test`` is not a ParallelTest.
    """
    if not isinstance(test, ParallelTest):
        raise TypeError(f"test must be a ParallelTest, got {type(test).__name__}")
    for row in test.final_loss:
        ax.plot(test.rates, row, color="0.6", linewidth=0.7)
    mean = np.where(np.isfinite(test.mean_loss), test.mean_loss, np.nan)
    ax.plot(test.rates, mean, color="black", linewidth=1.6,
            label=label or f"mean of {len(test.init_seeds)} seeds")
    ax.scatter(test.rates, mean, c=[style.lr_color(r) for r in test.rates], s=18, zorder=3)
    if test.diverged.any():
        top = np.nanmax(test.final_loss) if np.isfinite(test.final_loss).any() else 1.0
        bad = test.rates[test.diverged.any(axis=0)]
        ax.plot(bad, np.full(len(bad), top), "x", color=style.PALETTE["vermillion"],
                label="diverged (a seed)")
    ax.axvline(test.best_lr, color=style.PALETTE["purple"], linestyle="--", linewidth=1.2,
               label=f"lowest loss: {test.best_lr:.3g}")
    style.lr_axis(ax)
    ax.set_ylabel(f"training loss after {test.updates} updates")
    return ax


def plot_check(ax, check: SuggestionCheck, *, what: str = "val_loss"):
    """Validation loss (or accuracy) against epochs for each rate that was checked,
    averaged over seeds, in the rate's colour, labelled with its suggestions.

    Raises:
        TypeError: ``check`` is not a SuggestionCheck.
        ValueError: ``what`` is neither ``"val_loss"`` nor ``"val_acc"``.
    """
    if not isinstance(check, SuggestionCheck):
        raise TypeError(f"check must be a SuggestionCheck, got {type(check).__name__}")
    if what not in ("val_loss", "val_acc"):
        raise ValueError(f"what must be 'val_loss' or 'val_acc', got {what!r}")
    history = check.history
    values = getattr(history, what)
    rates = np.array([m.lr for m in history.members])
    for k, lr in enumerate(sorted(set(rates))):
        rows = values[rates == lr]
        names = ", ".join(n for n, v in zip(check.names, check.lrs) if float(v) == lr)
        ax.plot(history.eval_epoch, np.nanmean(rows, axis=0) if np.isfinite(rows).any() else rows[0],
                color=style.lr_color(lr), linestyle=style.RATE_LINESTYLES[k % len(style.RATE_LINESTYLES)],
                label=f"η = {lr:.3g} ({names})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss" if what == "val_loss" else "validation accuracy")
    return ax


# --------------------------------------------------------------------------- the page's figures

def smith_figure(first: RangeTest, summary: Mapping[str, tuple[float, float, float]], seeds: int):
    """Smith's sweep: the first seed's curve with its suggestions (left), each rule's
    median and range over ``seeds`` sweeps (right, ``summary`` from
    :func:`lib.lr_finder.sweep.suggestions_across_seeds`)."""
    fig, (left, right) = style.new_figure(2, width=7.8, height=3.4, width_ratios=(1.5, 1))
    plot_sweep(left, first, show_running=True)
    left.set_ylim(0, 1.25 * first.losses[0])
    left.legend(loc="lower left", fontsize=7)
    left.set_title("seed 0")
    plot_suggestion_rows(right, [(RULES[rule].label, *summary[rule]) for rule in RULES])
    right.set_title(f"median and range over {seeds} seeds")
    return fig


def quadratic_figure(quad: KnownQuadratic, sweeps: Mapping[str, RangeTest]):
    """Mini-batch loss against rate for each named sweep of the known quadratic, and its limit 2 / lambda."""
    fig, ax = style.new_figure(1, width=6.0, height=3.0)
    for k, (name, sweep) in enumerate(sweeps.items()):
        ax.plot(sweep.lrs, sweep.losses, color=style.series_color(k), linestyle=("-", "--")[k], linewidth=1.0,
                label=f"{name}: stops at {sweep.stop_lr / quad.stability_limit:.2f} × 2/λ")
    ax.axvline(quad.stability_limit, color="black", linewidth=1.0, label="2 / λ")
    ax.set_yscale("log")
    style.lr_axis(ax)
    ax.set_ylabel("mini-batch loss")
    ax.legend(fontsize=8)
    return fig


def rounds_figure(rounds: Sequence[SegmentedSweep], *, show_epochs: bool = True, log_loss: bool = True):
    """The textbook's rounds side by side, one panel each (:func:`plot_segmented`), on a
    log loss axis, or on a linear one up to 1.2 times the first round's highest point loss."""
    fig, axes = style.new_figure(len(rounds), width=7.8, height=3.0, sharey=True)
    for r, (ax, round_) in enumerate(zip(axes, rounds), start=1):
        plot_segmented(ax, round_, color=style.series_color(r - 1), show_epochs=show_epochs)
        ax.set_title(f"round {r}")
        if log_loss:
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, 1.2 * np.nanmax(rounds[0].point_loss))
        ax.legend(fontsize=7, loc="lower left")
    for ax in axes[1:]:
        ax.set_ylabel("")
    return fig


def parallel_figure(test: ParallelTest, rounds: Sequence[SegmentedSweep] = (), *, legend_size: float = 8):
    """The parallel test (:func:`plot_parallel`) on a log loss axis, with the turn of
    each of the textbook's ``rounds`` as a dotted line."""
    fig, ax = style.new_figure(1, width=6.4, height=3.2)
    plot_parallel(ax, test)
    for r, round_ in enumerate(rounds, start=1):
        ax.axvline(round_.turn_lr, color=style.series_color(r - 1), linestyle=":", label=f"turn of round {r}")
    ax.set_yscale("log")
    ax.legend(fontsize=legend_size)
    return fig


def check_figure(sweep: RangeTest, first_round: SegmentedSweep, test: ParallelTest,
                 candidates: Mapping[str, float], check: SuggestionCheck):
    """The three tests' curves on one axis with every candidate rate marked (left), and
    the validation loss of training at each candidate (right, :func:`plot_check`)."""
    fig, (left, right) = style.new_figure(2, width=7.8, height=3.4)
    left.plot(sweep.lrs, sweep.centered, color="black", label="Smith's sweep (smoothed)")
    left.plot(first_round.rates, first_round.mean_loss, color=style.series_color(0), marker=".",
              label="textbook design, round 1")
    left.plot(test.rates, np.where(np.isfinite(test.mean_loss), test.mean_loss, np.nan),
              color=style.series_color(4), marker="o", markersize=3, label="parallel test")
    for lr in candidates.values():
        left.axvline(lr, color=style.lr_color(lr), linewidth=0.8, alpha=0.8)
    left.set_ylim(0, 1.2 * sweep.losses[0])
    style.lr_axis(left)
    left.set_ylabel("training loss")
    left.legend(fontsize=7, loc="lower left")
    plot_check(right, check)
    right.set_yscale("log")
    right.legend(fontsize=6.5)
    return fig


def sweep_figure(result: RangeTest):
    """The explorer's view of one sweep: :func:`plot_sweep`, the running average that its
    smoothing factor :math:`\\beta` makes (dashed; the curve the popular finders draw) with the
    level at which it stops the sweep (dotted: ``stop_factor`` times its lowest value), the loss
    axis cut a little above that level, and a title saying how far the sweep got and why."""
    fig, ax = style.new_figure(1, width=7.0, height=3.4)
    plot_sweep(ax, result)
    settings = result.settings
    ax.plot(result.lrs, result.smoothed, color="0.35", linestyle="--", linewidth=1.0,
            label=f"running average, β = {settings['beta']:g} (lags)")
    lowest = float(np.nanmin(result.smoothed)) if np.isfinite(result.smoothed).any() else math.nan
    stop_level = settings["stop_factor"] * lowest if lowest > 0 else math.nan
    if math.isfinite(stop_level):
        ax.axhline(stop_level, color="0.35", linestyle=":", linewidth=0.8,
                   label=f"stop: running average > {settings['stop_factor']:g} × its lowest")
    finite = result.losses[np.isfinite(result.losses)]
    if len(finite):
        cut = 4 * float(np.nanmin(result.centered))
        if math.isfinite(stop_level):
            cut = max(cut, stop_level)
        ax.set_ylim(0, min(float(finite.max()), cut) * 1.05)
    ax.set_title(f"{len(result.lrs)} of {settings['steps']} updates at batch size "
                 f"{settings['batch_size']}: {result.stop_reason}")
    ax.legend(loc="upper left", fontsize=8)
    return fig
