"""Section 5's static explorer: sharpness and test accuracy against batch size, and the 1-D interpolation.

:func:`static_record` exports what the chapter's :class:`~lib.sharpness.generalization_gap.SolutionBank`
holds after the build (the networks trained at each cached batch size and their
sharpness reports, the record the kernel explorer
:class:`~lib.sharpness.explorer.BatchSizeExplorer` reads), the test accuracy of
each network, and Keskar et al.'s parametric curves
(:func:`~lib.sharpness.weight_space.parametric_curves`, the kernel explorer's
compute call) between every pair of cached batch sizes.  Nothing is trained.
:func:`static_explorer` draws it with Bokeh.
"""
from __future__ import annotations

import itertools
from typing import Mapping

import numpy as np

from lib.static_explorer import Control, StaticExplorer, StaticRecord, Texts, Views

from .generalization_gap import SolutionBank
from .weight_space import interpolate, parametric_curves

NAME = "sharpness"
#: The measures offered, report key -> label (the three of the chapter's figure, then test accuracy).
MEASURES = {"top_eigenvalue": "top Hessian eigenvalue λ_max", "trace": "Hessian trace tr H",
            "keskar_full_1e-03": "Keskar sharpness φ (ε = 10⁻³)", "test_acc": "test accuracy (%)"}


def static_record(bank: SolutionBank, splits: Mapping, alphas, *, known: Mapping | None = None,
                  default: tuple[int, int] | None = None) -> StaticRecord:
    """The bank's cached solutions as a static explorer's record.

    Args:
        bank (SolutionBank): trained networks and their reports (with the keys of :data:`MEASURES` but
            ``test_acc``); only the batch sizes it has cached are used (at least 2).
        splits (mapping): ``{"train": (x, y), "test": (x, y)}``: the curves' data; ``"test"`` also gives
            each network's test accuracy.
        alphas (array (A,)): the points of the line, e.g. ``np.linspace(-1, 2, 31)``.
        known (mapping, optional): ``{(a, b): curves}`` already computed with the same ``alphas`` and
            ``splits`` (spares recomputing the chapter's pair).
        default (tuple, optional): the pair shown first. Default: the smallest and the largest batch size.

    Returns:
        StaticRecord with controls ``pair`` (drop-down over pairs a < b), ``measure`` (drop-down over
        :data:`MEASURES`) and ``accuracy`` (checkbox: accuracy instead of loss along the line); sources
        ``measure`` (b, value over every cached batch size), ``chosen`` (b, value of the pair), ``train``
        and ``test`` (alpha, y along the line); text ``sentence``.  ``meta["default"]``: the default pair
        and its train loss at alpha = 0.5 (interpolated linearly in alpha, as the prose).

    Raises:
        TypeError: ``bank`` is not a SolutionBank.
        ValueError: fewer than 2 cached batch sizes; ``splits`` without ``"train"`` and ``"test"``;
            ``default`` not a cached pair.
    """
    if not isinstance(bank, SolutionBank):
        raise TypeError(f"bank must be a SolutionBank, got {type(bank).__name__}")
    sizes = sorted(bank.cached)
    if len(sizes) < 2:
        raise ValueError(f"the bank must hold at least 2 batch sizes, has {sizes}")
    if not isinstance(splits, Mapping) or {"train", "test"} - set(splits):
        raise ValueError("splits must map 'train' and 'test' to (x, y)")
    alphas = np.asarray(alphas, dtype=np.float64)
    pairs = list(itertools.combinations(sizes, 2))
    default = (sizes[0], sizes[-1]) if default is None else tuple(default)
    if default not in pairs:
        raise ValueError(f"default must be one of the pairs {pairs}, got {default!r}")
    known = dict(known or {})
    reports = {b: dict(bank.report(b)) for b in sizes}
    x_test, y_test = splits["test"]
    for b in sizes:   # the network itself: alpha = 0 on the line from it to itself
        reports[b]["test_acc"] = 100 * float(interpolate(bank.model(b), bank.model(b), [0.0], x_test, y_test)[1][0])
    curves = {pair: known[pair] if pair in known else
              parametric_curves(bank.model(pair[0]), bank.model(pair[1]), alphas,
                                {"train": splits["train"], "test": splits["test"]})
              for pair in pairs}
    keys = list(MEASURES)
    controls = (Control("pair", "solutions (α = 0, α = 1)", [f"batch {a:,} → batch {b:,}" for a, b in pairs],
                        [f"{a},{b}" for a, b in pairs], pairs.index(default), kind="select"),
                Control("measure", "measure", list(MEASURES.values()), keys, 0, kind="select"),
                Control("accuracy", "accuracy along the line (%)", ["off", "on"], [0, 1], 0, kind="checkbox"))
    b = np.array(sizes, dtype=np.float64)
    measure = {(m,): {"b": b, "value": np.array([reports[s][key] for s in sizes], dtype=np.float64)}
               for m, key in enumerate(keys)}
    chosen, train, test, sentence = {}, {}, {}, {}
    for p, pair in enumerate(pairs):
        for m, key in enumerate(keys):
            chosen[(p, m)] = {"b": np.array(pair, dtype=np.float64),
                              "value": np.array([reports[s][key] for s in pair], dtype=np.float64)}
            sentence[(p, m)] = (f"α = 0 is the network trained with batch {pair[0]:,}, α = 1 the one with batch "
                                f"{pair[1]:,}. {MEASURES[key]}: {reports[pair[0]][key]:.3g} and "
                                f"{reports[pair[1]][key]:.3g}; test accuracy {reports[pair[0]]['test_acc']:.2f}% "
                                f"and {reports[pair[1]]['test_acc']:.2f}%.")
        for k in (0, 1):
            train[(p, k)] = {"alpha": alphas, "y": np.asarray(curves[pair]["train"][k], dtype=np.float64) * (100 ** k)}
            test[(p, k)] = {"alpha": alphas, "y": np.asarray(curves[pair]["test"][k], dtype=np.float64) * (100 ** k)}
    first = curves[default]["train"][0]
    return StaticRecord(
        title="Section 5: sharpness against batch size, and the line between two solutions",
        controls=controls,
        sources={"measure": Views(("measure",), measure), "chosen": Views(("pair", "measure"), chosen),
                 "train": Views(("pair", "accuracy"), train), "test": Views(("pair", "accuracy"), test)},
        texts={"sentence": Texts(("pair", "measure"), sentence)},
        meta={"default": {"pair": list(default), "train_loss_mid": float(np.interp(0.5, alphas, first))}})


def draw(sources: dict) -> list:
    from bokeh.models import Span
    from bokeh.plotting import figure

    from lib.style import PALETTE

    left = figure(width=380, height=300, x_axis_type="log", y_axis_type="log", toolbar_location=None,
                  x_axis_label="batch size (log scale)", y_axis_label="the measure (log scale)",
                  title="the measure against batch size")
    left.line("b", "value", source=sources["measure"], color=PALETTE["blue"], line_width=2)
    left.scatter("b", "value", source=sources["measure"], color=PALETTE["blue"], size=6)
    left.scatter("b", "value", source=sources["chosen"], marker="circle", size=14, fill_alpha=0,
                 line_color=PALETTE["vermillion"], line_width=2, legend_label="the pair")
    left.legend.location = "top_left"
    right = figure(width=460, height=300, toolbar_location=None, x_axis_label="α (0: first solution, 1: second)",
                   y_axis_label="loss or accuracy (%)", title="along the line θ(α) = α θ_b + (1 − α) θ_a")
    right.line("alpha", "y", source=sources["train"], color=PALETTE["blue"], line_width=2, legend_label="train")
    right.line("alpha", "y", source=sources["test"], color=PALETTE["vermillion"], line_width=2, line_dash="dashed",
               legend_label="test")
    for x in (0.0, 1.0):
        right.add_layout(Span(location=x, dimension="height", line_color="#999999", line_width=1))
    right.legend.location = "top_center"
    return [left, right]


def static_explorer(bank: SolutionBank, splits: Mapping, alphas, *, known: Mapping | None = None,
                    default: tuple[int, int] | None = None) -> StaticExplorer:
    """The section's static explorer (see :func:`static_record`); display with :func:`lib.static_explorer.show`."""
    return StaticExplorer(NAME, static_record(bank, splits, alphas, known=known, default=default), draw)
