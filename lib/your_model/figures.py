"""The last page's figures, drawn from the records the tools return; nothing here trains or decides."""
from __future__ import annotations

import numpy as np

from lib import style
from lib.batch_size.gradient_noise import NoiseScale
from lib.lr_finder.figures import RULE_STYLES
from lib.lr_finder.parallel import CopiesTest
from lib.lr_finder.sweep import RangeTest


def range_figure(sweeps: dict[str, RangeTest], copies: CopiesTest, rule: str = "valley"):
    """Left: each optimiser's sweep (zero-lag smoothed loss against rate) with its ``rule`` suggestion;
    right: the parallel test's tail loss at each fixed rate, with the first sweep's suggestion.

    Args:
        sweeps (dict[str, RangeTest]): label -> sweep, the first one SGD's.
        copies (CopiesTest): the parallel test with the first sweep's optimiser.
        rule (str): the suggestion drawn. Default ``"valley"``.
    """
    fig, (left, right) = style.new_figure(2, width=7.6, height=3.3)
    for i, (label, sweep) in enumerate(sweeps.items()):
        color = style.series_color(i)
        left.plot(sweep.lrs, sweep.losses, color=color, alpha=0.25, linewidth=0.8)
        left.plot(sweep.lrs, sweep.centered, color=color, label=f"{label} sweep")
        left.axvline(sweep.suggestions[rule], color=color, linestyle=RULE_STYLES[rule]["linestyle"],
                     label=f"{label}: {rule} suggestion")
    style.lr_axis(left)
    left.set_ylabel("mini-batch loss (cross-entropy)")
    left.set_ylim(0, 1.6 * max(np.nanmax(s.centered[: max(1, len(s.centered) // 2)]) for s in sweeps.values()))
    left.legend(fontsize="small")
    first = next(iter(sweeps.values()))
    shown = np.where(copies.diverged, np.nan, copies.tail_loss)
    right.plot(copies.rates, shown, color="black", marker="o", label="fixed-rate copy, tail loss")
    for rate, loss in zip(copies.rates, shown):
        right.plot(rate, loss, "o", color=style.lr_color(rate))
    right.axvline(first.suggestions[rule], color=style.series_color(0), linestyle=RULE_STYLES[rule]["linestyle"],
                  label=f"{next(iter(sweeps))} sweep's {rule} suggestion")
    style.lr_axis(right)
    right.set_ylabel("mean loss over the last updates")
    right.legend(fontsize="small")
    return fig


def noise_figure(scales: dict[str, NoiseScale], batch_size: int, overhead: float = 2.0):
    """B_simple with its jackknife standard error (bars: +- 2) at each stage, the suggested batch range of
    the last measurable one (band) and the loader's batch size (line), on a log axis of examples."""
    fig, ax = style.new_figure(1, width=5.5, height=3.2)
    labels = list(scales)
    for i, (label, scale) in enumerate(scales.items()):
        if np.isfinite(scale.b_simple):
            error = 2 * scale.standard_error if np.isfinite(scale.standard_error) else None
            ax.errorbar(i, scale.b_simple, yerr=error, fmt="o", capsize=4, color=style.series_color(i))
        else:
            ax.annotate("not measurable", (i, batch_size), ha="center", va="bottom", color=style.series_color(i))
    measurable = [label for label in labels if np.isfinite(scales[label].b_simple)]
    if measurable:
        low, high = scales[measurable[-1]].batch_range(overhead)
        ax.axhspan(low, high, color=style.PALETTE["green"], alpha=0.15,
                   label=f"suggested batch range ({measurable[-1]})")
    ax.axhline(batch_size, color="black", linestyle="--", label=f"the loader's batch size, {batch_size}")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_yscale("log")
    style.plain_log(ax, "y")
    ax.set_ylabel("$B_{\\rm simple}$ (examples, log scale)")
    ax.legend(fontsize="small", loc="upper left")
    return fig
