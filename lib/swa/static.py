"""Section 6's static explorer: the cyclical schedule's settings and what SWA's average does, and the weight plane.

:func:`static_record` exports the runs of the kernel explorer
(:class:`~lib.swa.explorer.CyclicalExplorer`, its ``results``: each setting of
cycle length :math:`c` and rates :math:`\\alpha_1, \\alpha_2` continues the same
checkpoint) and the chapter's :class:`~lib.swa.plane.SnapshotPlane` (the plane
through three snapshots, with the average).  For every setting: the rate of each
update, the snapshots, the validation accuracy of the running average (SWA) and
of the SGD iterate at each snapshot, and the kernel explorer's sentence
(:func:`~lib.swa.explorer.describe_run`).  :func:`static_explorer` draws it with Bokeh.
"""
from __future__ import annotations

import numpy as np

from lib.static_explorer import Control, StaticExplorer, StaticRecord, Texts, Views

from .explorer import CyclicalExplorer, describe_run
from .plane import AVERAGE_LABEL, SNAPSHOT_LABELS, SnapshotPlane

NAME = "swa"
PLANE_METRICS = {"test_error": "test error (%)", "train_loss": "training loss"}


def static_record(explorer: CyclicalExplorer, plane: SnapshotPlane, *, train_missing: bool = False) -> StaticRecord:
    """The explorer's runs and the snapshot plane as a static explorer's record.

    Args:
        explorer (CyclicalExplorer): its ``results`` are exported (its default setting shown first).
        plane (SnapshotPlane): the chapter's plane through three snapshots.
        train_missing (bool): train the settings the explorer has not trained yet (each continues the
            checkpoint for the explorer's epochs); otherwise such settings show a sentence saying so.

    Returns:
        StaticRecord with controls ``cycle``, ``alpha_1``, ``alpha_2`` (sliders over the explorer's options)
        and ``metric`` (drop-down over :data:`PLANE_METRICS`); sources ``rate`` (epoch, lr), ``snapshots``
        (epoch, lr), ``accuracy`` (epoch, average, iterate: validation accuracy in %, at each snapshot),
        ``plane`` (x, y, value: the grid, one cell per point) and ``plane_points`` (x, y of W1, W2, W3,
        W_SWA); text ``sentence``.  ``meta["default"]``: the default setting and its last average and
        iterate accuracies (%).

    Raises:
        TypeError: ``explorer`` or ``plane`` of the wrong type.
    """
    if not isinstance(explorer, CyclicalExplorer):
        raise TypeError(f"explorer must be a CyclicalExplorer, got {type(explorer).__name__}")
    if not isinstance(plane, SnapshotPlane):
        raise TypeError(f"plane must be a SnapshotPlane, got {type(plane).__name__}")
    options = explorer.options
    cycles, alpha_1s, alpha_2s = options["cycle"], options["alpha_1"], options["alpha_2"]
    default = explorer.result.plan
    controls = (Control("cycle", "cycle c (steps)", [f"{c:,}" for c in cycles], cycles, cycles.index(default.every)),
                Control("alpha_1", "α₁", [f"{a:g}" for a in alpha_1s], alpha_1s,
                        alpha_1s.index(default.alpha_1) if default.every != 1 else len(alpha_1s) - 1),
                Control("alpha_2", "α₂", [f"{a:g}" for a in alpha_2s], alpha_2s, alpha_2s.index(default.alpha_2)),
                Control("metric", "plane shows", list(PLANE_METRICS.values()), list(PLANE_METRICS), 0, kind="select"))
    rate, snaps, acc, sentence = {}, {}, {}, {}
    empty = np.zeros(0)
    for i, cycle in enumerate(cycles):
        for j, a1 in enumerate(alpha_1s):
            for k, a2 in enumerate(alpha_2s):
                key = (i, j, k)
                if a2 > a1 and cycle != 1:
                    rate[key], snaps[key] = {"epoch": empty, "lr": empty}, {"epoch": empty, "lr": empty}
                    acc[key] = {"epoch": empty, "average": empty, "iterate": empty}
                    sentence[key] = f"α₂ = {a2:g} > α₁ = {a1:g}: eq. (2) needs α₂ ≤ α₁, so nothing is drawn."
                    continue
                setting = (cycle, a2 if cycle == 1 else a1, a2)
                if setting not in explorer.results and train_missing:
                    explorer.run_for(*setting)
                if setting not in explorer.results:
                    rate[key], snaps[key] = {"epoch": empty, "lr": empty}, {"epoch": empty, "lr": empty}
                    acc[key] = {"epoch": empty, "average": empty, "iterate": empty}
                    sentence[key] = ("This setting was not trained in this build; the explorer with a kernel "
                                     "trains it when you choose it.")
                    continue
                run = explorer.results[setting]
                rate[key] = {"epoch": run.update_epochs.astype(np.float64), "lr": run.rates.astype(np.float64)}
                snaps[key] = {"epoch": run.snapshot_epochs.astype(np.float64),
                              "lr": run.rates[run.snapshot_steps].astype(np.float64)}
                acc[key] = {"epoch": run.snapshot_epochs.astype(np.float64),
                            "average": 100 * np.asarray(run.average_val_acc, dtype=np.float64),
                            "iterate": 100 * np.asarray(run.iterate_val_acc, dtype=np.float64)}
                taken = np.isfinite(run.average_val_acc)
                result = (f" Last snapshot: average {100 * run.average_val_acc[taken][-1]:.2f}%, iterate "
                          f"{100 * run.iterate_val_acc[taken][-1]:.2f}% validation accuracy." if taken.any() else "")
                sentence[key] = describe_run(run) + result
    X, Y = np.meshgrid(np.asarray(plane.xs, dtype=np.float64), np.asarray(plane.ys, dtype=np.float64))
    grid = {(m,): {"x": X.ravel(), "y": Y.ravel(), "value": np.asarray(getattr(plane, key), dtype=np.float64).ravel()}
            for m, key in enumerate(PLANE_METRICS)}
    labels = SNAPSHOT_LABELS + (AVERAGE_LABEL,)
    points = {"x": np.array([plane.coordinates[label][0] for label in labels], dtype=np.float64),
              "y": np.array([plane.coordinates[label][1] for label in labels], dtype=np.float64)}
    d = explorer.result
    taken = np.isfinite(d.average_val_acc)
    return StaticRecord(
        title="Section 6: cyclical SWA and the weight plane",
        controls=controls,
        sources={"rate": Views(("cycle", "alpha_1", "alpha_2"), rate),
                 "snapshots": Views(("cycle", "alpha_1", "alpha_2"), snaps),
                 "accuracy": Views(("cycle", "alpha_1", "alpha_2"), acc),
                 "plane": Views(("metric",), grid), "plane_points": Views((), {(): points})},
        texts={"sentence": Texts(("cycle", "alpha_1", "alpha_2"), sentence)},
        meta={"default": {"cycle": int(d.plan.every), "alpha_1": float(d.plan.alpha_1), "alpha_2": float(d.plan.alpha_2),
                          "average_acc": float(100 * d.average_val_acc[taken][-1]) if taken.any() else None,
                          "iterate_acc": float(100 * d.iterate_val_acc[taken][-1]) if taken.any() else None},
              "cell": [float(np.diff(plane.xs).mean()), float(np.diff(plane.ys).mean())]})


def draw(record: StaticRecord):
    def make(sources):
        from bokeh.models import ColorBar, LogColorMapper
        from bokeh.palettes import Viridis256
        from bokeh.plotting import figure

        from lib.style import PALETTE

        rate = figure(width=290, height=280, y_axis_type="log", toolbar_location=None, x_axis_label="epoch",
                      y_axis_label="learning rate η (log scale)", title="rate and snapshots")
        rate.line("epoch", "lr", source=sources["rate"], color=PALETTE["green"])
        rate.scatter("epoch", "lr", source=sources["snapshots"], color=PALETTE["green"], size=5)
        acc = figure(width=290, height=280, toolbar_location=None, x_axis_label="epoch",
                     y_axis_label="validation accuracy (%)", title="average (SWA) and iterate")
        acc.line("epoch", "average", source=sources["accuracy"], color=PALETTE["green"], line_width=2,
                 legend_label="running average")
        acc.line("epoch", "iterate", source=sources["accuracy"], color=PALETTE["vermillion"], line_dash="dashed",
                 legend_label="SGD iterate")
        acc.legend.location = "bottom_right"
        dx, dy = record.meta["cell"]
        mapper = LogColorMapper(palette=Viridis256)       # low and high follow the drawn metric
        plane = figure(width=320, height=280, toolbar_location=None, x_axis_label="u (weight units)",
                       y_axis_label="v (weight units)", title="plane through 3 snapshots")
        plane.rect("x", "y", width=dx, height=dy, source=sources["plane"], line_color=None,
                   fill_color={"field": "value", "transform": mapper})
        plane.scatter("x", "y", source=sources["plane_points"], marker="star", size=12, color="white",
                      line_color="black")
        plane.add_layout(ColorBar(color_mapper=mapper, width=8), "right")
        return [rate, acc, plane]

    return make


def static_explorer(explorer: CyclicalExplorer, plane: SnapshotPlane, *, train_missing: bool = False) -> StaticExplorer:
    """The section's static explorer (see :func:`static_record`); display with :func:`lib.static_explorer.show`."""
    record = static_record(explorer, plane, train_missing=train_missing)
    return StaticExplorer(NAME, record, draw(record))
