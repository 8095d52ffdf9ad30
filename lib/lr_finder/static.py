"""Section 2's static explorer: the chapter's range tests under other smoothings, the four rules marked.

:func:`static_record` exports range tests the chapter ran (:class:`~lib.lr_finder.sweep.RangeTest`
records: different seeds, batch sizes and lengths) and re-reads each of them
for every smoothing factor :math:`\\beta` of :data:`BETAS`: the running average
(:func:`lib.core.stats.ema`, the curve the popular finders draw and whose rise
stops a sweep) of the same measured losses, and the four suggestion rules of
:data:`lib.lr_finder.rules.RULES` read either from the zero-lag curve (as the
chapter reads them; :math:`\\beta` does not move them) or from that running
average (as the popular finders do; the rules then move right with :math:`\\beta`).
Nothing is re-trained: the stop each sweep took stays the one its own
:math:`\\beta` decided.  :func:`static_explorer` draws it with Bokeh.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from lib.core.stats import ema
from lib.static_explorer import Control, StaticExplorer, StaticRecord, Texts, Views

from .rules import RULES, suggest
from .sweep import RangeTest

NAME = "lr_finder"
#: Smoothing factors of the running average (0: the raw losses).
BETAS = (0.0, 0.5, 0.9, 0.95, 0.98, 0.995)
#: Points drawn per curve: a longer sweep (the known quadratic's thousands of updates) is drawn at this many
#: evenly spaced updates, so that the page stays under 1 MB; the rules and the stop are read from every update.
MAX_POINTS = 300
RULE_MARKERS = {"steepest": "triangle", "min_over_10": "square", "valley": "diamond", "turn": "circle"}


def _read(test: RangeTest, beta: float, from_average: bool) -> tuple[np.ndarray, dict]:
    """(the running average with ``beta`` of ``test``'s finite losses, the rules read from it or the zero-lag curve)."""
    finite = np.isfinite(test.losses)
    average = np.full(len(test.losses), np.nan)
    average[finite] = ema(test.losses[finite], beta)
    if not from_average:
        return average, dict(test.suggestions)
    s = test.settings
    return average, suggest(test.lrs[finite], average[finite], skip_start=s.get("skip_start", 0),
                            skip_end=s.get("skip_end", 0))


def _at(lrs, curve, rate) -> float:
    """``curve`` at ``rate`` (linear in log rate between the sweep's rates); NaN for a NaN rate."""
    finite = np.isfinite(curve)
    if not math.isfinite(rate) or not finite.any():
        return math.nan
    return float(np.interp(math.log(rate), np.log(lrs[finite]), curve[finite]))


def static_record(tests: Mapping[str, RangeTest], default_beta: float | None = None) -> StaticRecord:
    """Range tests re-read under every smoothing of :data:`BETAS`.

    Args:
        tests (mapping): ``{label: RangeTest}``, the sweeps to offer, the first shown first.
        default_beta (float, optional): the β shown first, one of :data:`BETAS`. Default: the first
            test's own β.

    Returns:
        StaticRecord with controls ``sweep`` (drop-down), ``beta`` (slider) and ``from_average``
        (checkbox: read the rules from the running average); sources (at most :data:`MAX_POINTS` evenly
        spaced updates of each sweep) ``losses`` (lr, loss: the measured mini-batch losses), ``centered`` (lr, loss: the zero-lag curve), ``average`` (lr, loss: the
        running average with β), ``stop`` (lr, loss at the stop) and ``rule_<name>`` (lr, loss: where
        each rule's rate sits on the curve it reads); text ``sentence``.  ``meta["default"]``: the
        default view's rule rates (None where a rule finds none).

    Raises:
        TypeError: a value that is not a RangeTest.
        ValueError: no tests; ``default_beta`` not in :data:`BETAS`.
    """
    if not tests:
        raise ValueError("tests must hold at least one RangeTest")
    for label, test in tests.items():
        if not isinstance(test, RangeTest):
            raise TypeError(f"tests[{label!r}] must be a RangeTest, got {type(test).__name__}")
    labels = list(tests)
    first = tests[labels[0]]
    default_beta = first.settings["beta"] if default_beta is None else default_beta
    if not any(math.isclose(default_beta, b) for b in BETAS):
        raise ValueError(f"default_beta must be one of {BETAS}, got {default_beta!r}")
    controls = (Control("sweep", "range test", labels, labels, 0, kind="select"),
                Control("beta", "β (smoothing)", [f"{b:g}" for b in BETAS], list(BETAS),
                        min(range(len(BETAS)), key=lambda i: abs(BETAS[i] - default_beta))),
                Control("from_average", "read rules from the running average", ["off", "on"], [0, 1], 0,
                        kind="checkbox"))
    losses, centered, stop, average, sentence = {}, {}, {}, {}, {}
    marks = {name: {} for name in RULES}
    for i, label in enumerate(labels):
        test = tests[label]
        lrs = np.asarray(test.lrs, dtype=np.float64)
        kept = np.unique(np.round(np.linspace(0, len(lrs) - 1, min(len(lrs), MAX_POINTS))).astype(int))
        raw = np.where(np.isfinite(test.losses), test.losses, np.nan)
        losses[(i,)] = {"lr": lrs[kept], "loss": raw[kept]}
        centered[(i,)] = {"lr": lrs[kept], "loss": np.asarray(test.centered, dtype=np.float64)[kept]}
        last = test.stopped_at if test.stopped_at >= 0 else len(lrs) - 1
        stop[(i,)] = {"lr": np.array([test.stop_lr]), "loss": np.array([test.smoothed[last]], dtype=np.float64)}
        s = test.settings
        for j, beta in enumerate(BETAS):
            for k in (0, 1):
                curve, rates = _read(test, beta, bool(k))
                if k == 0:
                    average[(i, j)] = {"lr": lrs[kept], "loss": curve[kept]}
                read = curve if k else test.centered
                for name in RULES:
                    marks[name][(i, j, k)] = {"lr": np.array([rates[name]], dtype=np.float64),
                                              "loss": np.array([_at(lrs, read, rates[name])])}
                where = (f"stopped at η = {test.stop_lr:.3g} after {len(lrs)} of {s['steps']} updates "
                         f"(its own β = {s['beta']:g} decided)" if test.stopped_at >= 0
                         else f"ran all {len(lrs)} updates to η = {test.stop_lr:.3g}")
                read_text = (f"the running average with β = {beta:g}" if k
                             else "the zero-lag curve (β does not move them)")
                rules = "; ".join(f"{RULES[name].label} {rates[name]:.3g}" for name in RULES)
                sentence[(i, j, k)] = (f"{label}: batch size {s['batch_size']}, the sweep {where}. "
                                       f"Rules read from {read_text}: {rules}.")
    sources = {"losses": Views(("sweep",), losses), "centered": Views(("sweep",), centered),
               "stop": Views(("sweep",), stop), "average": Views(("sweep", "beta"), average)}
    for name in RULES:
        sources[f"rule_{name}"] = Views(("sweep", "beta", "from_average"), marks[name])
    default_rates = _read(first, BETAS[controls[1].default], False)[1]
    return StaticRecord(title="Section 2: range tests under other smoothings", controls=controls, sources=sources,
                        texts={"sentence": Texts(("sweep", "beta", "from_average"), sentence)},
                        meta={"default": {k: float(v) if math.isfinite(v) else None      # JSON: no NaN
                                          for k, v in default_rates.items()},
                              "rule_labels": {k: r.label for k, r in RULES.items()}})


def draw(record: StaticRecord):
    def make(sources):
        from bokeh.plotting import figure

        from lib.style import PALETTE, SERIES

        f = figure(width=860, height=340, x_axis_type="log", y_axis_type="log", toolbar_location=None,
                   x_axis_label="learning rate η (log scale)", y_axis_label="training loss (log scale)",
                   title="a range test: measured losses, the zero-lag curve, the running average and the rules")
        f.scatter("lr", "loss", source=sources["losses"], color="#bbbbbb", size=2, legend_label="mini-batch loss")
        f.line("lr", "loss", source=sources["centered"], color="black", line_width=1.5, legend_label="zero-lag")
        f.line("lr", "loss", source=sources["average"], color=PALETTE["blue"], line_width=2, line_dash="dashed",
               legend_label="running average (β)")
        f.scatter("lr", "loss", source=sources["stop"], marker="x", size=12, color="black", legend_label="stop")
        for i, name in enumerate(RULE_MARKERS):
            f.scatter("lr", "loss", source=sources[f"rule_{name}"], marker=RULE_MARKERS[name], size=11,
                      color=PALETTE[SERIES[1 + i]], line_color="black", legend_label=record.meta["rule_labels"][name])
        f.legend.label_text_font_size = "8pt"
        f.add_layout(f.legend[0], "right")          # beside the plot, off the curves
        return [f]

    return make


def static_explorer(tests: Mapping[str, RangeTest], default_beta: float | None = None) -> StaticExplorer:
    """The section's static explorer (see :func:`static_record`); display with :func:`lib.static_explorer.show`."""
    record = static_record(tests, default_beta)
    return StaticExplorer(NAME, record, draw(record))
