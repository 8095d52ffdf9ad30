"""Section 4's static explorer: the learning-rate x batch-size sweep in the HTML book, no kernel needed.

:func:`static_record` exports the cached :class:`~lib.batch_size.batch_sweep.Sweep`
(the record the kernel explorer, :class:`~lib.batch_size.explorer.ScalingExplorer`,
reads) into a :class:`lib.static_explorer.StaticRecord`: for every batch size, every
rate of the sweep and, where trained, warm-up, the view the kernel explorer computes
(:func:`~lib.batch_size.explorer.explorer_point`: the grid's nearest rate, its
validation-loss curve as mean and min-max band over seeds, its sentence
:func:`~lib.batch_size.explorer.describe_point`), the other rates' mean curves, the
best rate per batch size and the linear and square-root scaling rules.
:func:`static_explorer` draws it with Bokeh.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from lib.static_explorer import Control, StaticExplorer, StaticRecord, Texts, Views

from .batch_sweep import Sweep
from .explorer import describe_point, explorer_point
from .scaling_rules import scaled_rate

NAME = "batch_size"


def _finite(a) -> np.ndarray:
    """Non-finite values (a diverged run) as NaN: the chart leaves them out."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a), a, np.nan)


def _joined(xs, ys) -> tuple[np.ndarray, np.ndarray]:
    """Several curves as one line broken by NaN (Bokeh's ``line`` leaves a gap at NaN)."""
    if not ys:
        return np.zeros(0), np.zeros(0)
    x = np.concatenate([np.append(x, np.nan) for x in xs])
    y = np.concatenate([np.append(_finite(y), np.nan) for y in ys])
    return x, y


def static_record(sweep: Sweep, batch_size: int | None = None, lr: float = 0.5) -> StaticRecord:
    """The sweep as a static explorer's record.

    Args:
        sweep (Sweep): the section's cached sweep.
        batch_size (int, optional): the batch size shown first. Default: the middle one (as the kernel explorer).
        lr (float): the rate shown first: the sweep's rate nearest to it in log. Default 0.5.

    Returns:
        StaticRecord with controls ``batch_size`` (slider), ``lr`` (slider over ``sweep.rates``) and,
        where any grid trained warm-up, ``warmup`` (checkbox); sources ``curve`` (epoch, mean, low, high
        of the drawn rate's validation loss over seeds), ``others`` (every rate's mean curve, NaN-broken),
        ``best`` (b, rate), ``rules`` (b, linear, sqrt) and ``star`` (b, rate); text ``sentence``.
        ``meta["default"]`` holds the default view's drawn rate and final mean validation loss.

    Raises:
        TypeError: ``sweep`` is not a :class:`Sweep`.
        ValueError: ``batch_size`` not in the sweep or ``lr`` out of range (as :func:`explorer_point`).
    """
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a lib.batch_size.batch_sweep.Sweep, got {type(sweep).__name__}")
    sizes = sweep.batch_sizes
    batch_size = sizes[len(sizes) // 2] if batch_size is None else batch_size
    first = explorer_point(sweep, batch_size, lr)                     # checks both
    rates = [float(r) for r in sweep.rates]
    warm = any("warmup" in sweep[b].variants for b in sizes)
    controls = [Control("batch_size", "batch size B", [f"{b}" for b in sizes], sizes, sizes.index(batch_size)),
                Control("lr", "η", [f"{r:g}" for r in rates], rates,
                        int(np.argmin(np.abs(np.log(rates) - math.log(first.rate)))))]
    if warm:
        controls.append(Control("warmup", "warm-up", ["off", "on"], [0, 1], 0, kind="checkbox"))
    variants = ("constant", "warmup") if warm else ("constant",)
    epochs = {b: np.asarray(sweep[b].history.eval_epoch, dtype=np.float64) for b in sizes}

    def point(b, r, v):
        return explorer_point(sweep, b, r, v) if v in sweep[b].variants else None

    curve, star, sentence, others = {}, {}, {}, {}
    for i, b in enumerate(sizes):
        grid = sweep[b]
        for w, v in enumerate(variants):
            if v in grid.variants:
                idx = grid.index(v)
                ox, oy = _joined([epochs[b]] * len(idx), [grid.history.val_loss[rows].mean(axis=0) for rows in idx])
            else:
                ox, oy = np.zeros(0), np.zeros(0)
            others[(i, w) if warm else (i,)] = {"x": ox, "y": oy}
            for j, r in enumerate(rates):
                key = (i, j, w) if warm else (i, j)
                p = point(b, r, v)
                if p is None:
                    empty = np.zeros(0)
                    curve[key] = {"epoch": empty, "mean": empty, "low": empty, "high": empty}
                    star[key] = {"b": empty, "rate": empty}
                    trained = [s for s in sizes if "warmup" in sweep[s].variants]
                    sentence[key] = (f"B = {b} was trained without warm-up only; warm-up runs exist for "
                                     f"batch sizes {', '.join(map(str, trained))}.")
                    continue
                losses = _finite(grid.history.val_loss[p.rows])                # (seeds, evals)
                with warnings.catch_warnings():      # all seeds diverged at an evaluation: NaN, not drawn
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean, low, high = np.nanmean(losses, 0), np.nanmin(losses, 0), np.nanmax(losses, 0)
                curve[key] = {"epoch": epochs[b], "mean": mean, "low": low, "high": high}
                star[key] = {"b": np.array([float(b)]), "rate": np.array([p.rate])}
                sentence[key] = describe_point(p)
    depends = ("batch_size", "lr", "warmup") if warm else ("batch_size", "lr")
    b = np.array(sizes, dtype=np.float64)
    tuned = np.asarray(sweep.best_rates(), dtype=np.float64)
    return StaticRecord(
        title="Section 4: learning rate x batch size",
        controls=tuple(controls),
        sources={"curve": Views(depends, curve), "star": Views(depends, star),
                 "others": Views(depends[:1] + depends[2:], others),
                 "best": Views((), {(): {"b": b, "rate": tuned}}),
                 "rules": Views((), {(): {"b": b, "linear": scaled_rate(b, b[0], tuned[0], 1.0),
                                          "sqrt": scaled_rate(b, b[0], tuned[0], 0.5)}})},
        texts={"sentence": Texts(depends, sentence)},
        meta={"default": {"batch_size": int(batch_size), "rate": float(first.rate),   # JSON: a diverged loss is None
                          "final_loss": float(first.loss) if math.isfinite(first.loss) else None},
              "seeds": len(sweep.seeds)})


def draw(record: StaticRecord):
    """``{source: ColumnDataSource} -> [loss curves, scaling picture]`` for :func:`lib.static_explorer.bokeh_layout`."""
    from bokeh.plotting import figure

    from lib.style import PALETTE

    def make(sources):
        seeds = record.meta["seeds"]
        left = figure(width=440, height=320, y_axis_type="log", x_axis_label="epoch",
                      y_axis_label="validation loss (log scale)", toolbar_location=None,
                      title=f"validation loss, {seeds} seeds (band: min to max)")
        left.line("x", "y", source=sources["others"], color="#cccccc", line_width=1, legend_label="other rates")
        left.varea("epoch", "low", "high", source=sources["curve"], color=PALETTE["blue"], alpha=0.2)
        left.line("epoch", "mean", source=sources["curve"], color=PALETTE["blue"], line_width=2,
                  legend_label="chosen η")
        left.legend.location = "top_right"
        right = figure(width=400, height=320, x_axis_type="log", y_axis_type="log", toolbar_location=None,
                       x_axis_label="batch size B (log scale)", y_axis_label="learning rate η (log scale)",
                       title="best rate against the scaling rules")
        right.line("b", "rate", source=sources["best"], color=PALETTE["blue"], line_width=2, legend_label="best rate")
        right.scatter("b", "rate", source=sources["best"], color=PALETTE["blue"], size=6)
        right.line("b", "linear", source=sources["rules"], color="#4d4d4d", legend_label="linear")
        right.line("b", "sqrt", source=sources["rules"], color="#4d4d4d", line_dash="dashdot",
                   legend_label="square root")
        right.scatter("b", "rate", source=sources["star"], marker="star", size=18, color=PALETTE["vermillion"],
                      line_color="black", legend_label="your choice")
        right.legend.location = "top_left"
        right.legend.label_text_font_size = "8pt"
        return [left, right]

    return make


def static_explorer(sweep: Sweep, batch_size: int | None = None, lr: float = 0.5) -> StaticExplorer:
    """The static explorer of the sweep (see :func:`static_record`); display it with
    :func:`lib.static_explorer.show`.  Raises as :func:`static_record`."""
    record = static_record(sweep, batch_size, lr)
    return StaticExplorer(NAME, record, draw(record))
