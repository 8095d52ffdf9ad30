"""Section 3's figures: records of :mod:`lib.schedules` in, matplotlib figures out.

One colour and line style per policy (:data:`POLICY_STYLE`); a constant rate
is drawn in its learning-rate colour (:func:`lib.style.lr_color`).  The
functions draw; what they show was computed by the experiment modules (the
rates of :func:`policies_figure` and :func:`schedule_explorer_figure` come from
the torch scheduler that would train, :func:`lib.schedules.policies.rates`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from lib import style
from lib.core.stats import SeedSummary
from lib.schedules.comparison import ScheduleComparison
from lib.schedules.conditions import NoisyQuadratic
from lib.schedules.policies import POLICIES, policy, rates, schedule
from lib.step_size.robbins_monro import partial_sums

POLICY_STYLE = {  # Okabe–Ito colours (lib.style.PALETTE) and line styles, one per policy; policies that share
    # a colour never share a panel of this section's figures, and none of these is a learning-rate colour
    "fixed": ("black", "-"), "step": ("blue", "-"), "multistep": ("sky blue", "--"),
    "exp": ("vermillion", "-"), "inv": ("purple", "-"), "poly": ("orange", "-."),
    "warmup": ("green", "-"), "cosine": ("purple", "-"), "cosine_restarts": ("sky blue", "--"),
    "one_cycle": ("orange", "-"), "triangular": ("blue", "-."),
}


def policy_style(name: str) -> dict:
    """Matplotlib keywords (colour, line style) that mark policy ``name`` on every figure of the section.

    Raises:
        ValueError: an unknown policy.
    """
    policy(name)
    colour, linestyle = POLICY_STYLE[name]
    return {"color": style.PALETTE[colour], "linestyle": linestyle}


def configuration_style(label: str, fixed_rates: Sequence[float]) -> dict:
    """The style of a compared configuration: a policy's (:func:`policy_style`) for a policy's name;
    for ``"fixed, η = 0.5"`` the rate's colour and the line style of its place in ``fixed_rates``."""
    if label in POLICIES:
        return policy_style(label)
    lr = float(label.split("= ")[1])
    return {"color": style.lr_color(lr), "linestyle": style.RATE_LINESTYLES[list(fixed_rates).index(lr)]}


# --------------------------------------------------------------------------- the policies and their sums

def policies_figure(panels: Mapping[str, Mapping[str, dict]], lr: float, steps: int, *,
                    epoch_steps: int | None = None):
    """Rates against the update, one panel per entry of ``panels``: ``{title: {policy: parameters}}``.

    Every curve comes from :func:`lib.schedules.policies.rates`, that is from the
    torch scheduler that would train.  With ``epoch_steps`` the x axis is in epochs.

    Raises:
        ValueError: empty ``panels``; a bad policy or parameter (as :func:`lib.schedules.policies.schedule`).
    """
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty {title: {policy: parameters}} mapping")
    fig, axes = style.new_figure(len(panels), width=3.7 * len(panels), height=3.2, sharey=True)
    axes = np.atleast_1d(axes)
    scale = 1.0 if epoch_steps is None else float(epoch_steps)
    for ax, (title, entries) in zip(axes, panels.items()):
        for name, params in entries.items():
            curve = rates(schedule(name, **params), lr, steps)
            ax.plot(np.arange(steps) / scale, curve, label=name, **policy_style(name))
        ax.set_title(title)
        ax.set_xlabel("update $t$" if epoch_steps is None else "epoch")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    axes[0].set_ylabel("learning rate $\\eta_t$")
    return fig


def partial_sums_figure(curves: Mapping[str, np.ndarray], styles: Mapping[str, dict] | None = None):
    """:math:`S_1(K) = \\sum_{t<K}\\eta_t` and :math:`S_2(K) = \\sum_{t<K}\\eta_t^2` of each rate curve, log-log.

    The sums are :func:`lib.step_size.robbins_monro.partial_sums`.
    """
    fig, (left, right) = style.new_figure(2, width=7.6, height=3.2)
    for index, (label, curve) in enumerate(curves.items()):
        line = (styles or {}).get(label, {"color": style.series_color(index)})
        first, second = partial_sums(curve)
        k = np.arange(1, len(curve) + 1)
        left.plot(k, first, label=label, **line)
        right.plot(k, second, label=label, **line)
    for ax, what in ((left, "$S_1(K) = \\sum_{t<K} \\eta_t$"), (right, "$S_2(K) = \\sum_{t<K} \\eta_t^2$")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of updates $K$ (log scale)")
        ax.set_ylabel(what + " (log scale)")
    right.legend(loc="lower right")
    return fig


def noisy_quadratic_figure(record: NoisyQuadratic):
    """Mean loss against the update (log-log) of each schedule of ``record``: the simulation in colour,
    its exact expectation dotted, and each constant rate's noise floor dashed in the rate's colour."""
    fig, ax = style.new_figure(1, width=6.4, height=3.4)
    updates = np.arange(1, record.rates.shape[1] + 1)   # loss after t updates, t >= 1 (log axis)
    for row, label in enumerate(record.labels):
        name, lr = record.policies[row], float(record.base_rates[row])
        line = {"color": style.lr_color(lr)} if name == "fixed" else policy_style(name)
        ax.plot(updates, record.simulated[row, 1:], label=label, linewidth=1.0, **line)
        ax.plot(updates, record.exact[row, 1:], color="0.2", linewidth=0.7, linestyle=":")
    for lr, floor in record.floors.items():
        ax.axhline(floor, color=style.lr_color(lr), linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("updates done, $t$ (log scale)")
    ax.set_ylabel("mean loss $\\mathbb{E}[L(w_t)]$ (log scale)")
    ax.legend(loc="lower left")
    return fig


# --------------------------------------------------------------------------- MNIST: fixed rates and schedules

def fixed_rates_figure(record: ScheduleComparison, fixed_rates: Sequence[float]):
    """The textbook's Figure 12-9 rerun: validation accuracy (*left*) and loss (*right*, log) against the epoch.

    ``record``'s configurations are the constant rates ``fixed_rates``, in order;
    lines are seed 0 (its first seed), bands the range over seeds, from the first
    evaluation after the start.
    """
    shown = record.eval_epoch > 0
    fig, (left, right) = style.new_figure(2, width=7.6, height=3.3)
    for lr, label in zip(fixed_rates, record.labels):
        line = configuration_style(label, fixed_rates)
        for ax, curves in ((left, record.curve("val_acc", label)[:, shown]),
                           (right, record.curve("val_loss", label)[:, shown])):
            style.seed_band(ax, record.eval_epoch[shown], curves, line=0, label=f"η = {lr:g}", **line)
    right.set_yscale("log")
    left.set_ylabel("validation accuracy")
    right.set_ylabel("validation loss (log scale)")
    for ax in (left, right):
        ax.set_xlabel("epoch")
    left.legend(loc="lower right")
    return fig


def comparison_figure(record: ScheduleComparison, fixed_rates: Sequence[float]):
    """Each configuration's applied rate (seed 0, log), and its training and validation loss (mean over seeds, log).

    ``fixed_rates`` are the constant rates the ``"fixed, η = ..."`` labels come
    from (their line styles follow that order).
    """
    shown = record.eval_epoch > 0
    fig, axes = style.new_figure(3, width=9.6, height=3.1)
    for label in record.labels:
        line = configuration_style(label, fixed_rates)
        axes[0].plot(record.step_epoch, record.curve("step_lr", label)[0], label=label, **line)
        axes[1].plot(record.eval_epoch[shown], record.curve("train_loss", label)[:, shown].mean(0), **line)
        axes[2].plot(record.eval_epoch[shown], record.curve("val_loss", label)[:, shown].mean(0), **line)
    style.lr_axis(axes[0], "y", "learning rate $\\eta_t$ (log scale)")
    axes[0].set_ylim(1e-4, 2)
    axes[1].set_ylabel("training loss (log scale)")
    axes[2].set_ylabel("validation loss (log scale)")
    for ax in axes:
        ax.set_xlabel("epoch")
    for ax in axes[1:]:
        ax.set_yscale("log")
    style.legend_below(fig, axes[0], ncol=6)
    return fig


def final_accuracy_figure(summary: SeedSummary, fixed_rates: Sequence[float]):
    """Each configuration's test accuracy per seed (dots) and its mean ± sample standard deviation (squares)."""
    fig, ax = style.new_figure(1, width=6.4, height=2.9)
    seeds = summary.values.shape[1]
    for row, label in enumerate(summary.labels):
        color = configuration_style(label, fixed_rates)["color"]
        ax.plot(100 * summary.values[row], np.full(seeds, row), "o", color=color, alpha=0.6)
        ax.errorbar(100 * summary.mean[row], row, xerr=100 * summary.std[row], fmt="s", color=color, capsize=3)
    ax.set_yticks(range(len(summary.labels)), summary.labels)
    ax.invert_yaxis()
    ax.set_xlabel("test accuracy (%)")
    return fig


# --------------------------------------------------------------------------- the explorer

def schedule_explorer_figure(name: str, lr: float, curve: np.ndarray, runs: Sequence[tuple[str, object]] = ()):
    """The schedule explorer's figure: policy ``name``'s rates ``curve`` (*left*) and the loss curves of ``runs``.

    ``runs`` holds (label, history) pairs of :func:`lib.schedules.comparison.quick_training`.
    """
    steps = len(curve)
    fig, (left, right) = style.new_figure(2, width=7.6, height=3.0)
    left.plot(np.arange(steps), curve, **policy_style(name))
    left.set_title(f"{name}, $\\eta_0$ = {lr:.3g}")
    left.set_xlabel("update $t$")
    left.set_ylabel("learning rate $\\eta_t$")
    for index, (label, history) in enumerate(runs):
        right.plot(history.eval_step, history.train_loss[0], marker="o", markersize=2.5,
                   color=style.series_color(index), label=label)
    right.set_xlabel("update $t$")
    right.set_ylabel("training loss (cross-entropy)")
    if runs:
        right.set_yscale("log")
        right.legend(loc="upper right")
    else:
        right.set_title("press 'train' to add a loss curve")
    return fig
