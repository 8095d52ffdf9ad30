"""Section 3's static explorer: each trained schedule's rates over its parameters, beside its training curves.

:func:`static_record` exports the chapter's comparison of fixed rates and decaying
schedules (:class:`~lib.schedules.comparison.ScheduleComparison`) together with the
rates of every schedule at its trained parameters and at faster and slower
settings (:data:`SCALES`), each computed by stepping the real
``torch.optim.lr_scheduler`` object (:func:`lib.schedules.policies.rates`, the same
call the kernel explorer and the training make).  The right panel shows the
validation loss the chapter trained with each configuration (mean and min-max over
seeds); the left panel shows the chosen setting's rates and, dashed, the rates the
training applied (read from its history).  :func:`static_explorer` draws it.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from lib.static_explorer import Control, StaticExplorer, StaticRecord, Texts, Views

from .comparison import ScheduleComparison
from .policies import parameter_text, rates, schedule

NAME = "schedules"
#: How much longer (> 1) or shorter (< 1) than the trained setting each schedule's decay takes.
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
#: Points kept per rate curve (every update of a long run would cost megabytes; steps stay visible).
RATE_POINTS = 400
#: The integer parameters that set a schedule's time scale, in updates.
TIME_PARAMETERS = ("step_size", "T_max", "total_iters", "T_0", "step_size_up")


def scaled_parameters(name: str, params: dict, scale: float) -> dict:
    """``params`` of policy ``name`` with its decay taking ``scale`` times as long.

    Integer time parameters (:data:`TIME_PARAMETERS`) are multiplied (at least 1 update); exp's
    per-update factor becomes :math:`\\gamma^{1/k}`; inv's speed :math:`\\gamma/k`; one_cycle's rising
    fraction ``pct_start`` times k, at most 0.95 (and leaving at least 2 updates of rise and 1 of descent).  ``fixed`` has nothing to scale.

    Raises:
        ValueError: ``scale`` not finite and > 0.
    """
    if not isinstance(scale, (int, float, np.number)) or not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    out = dict(params)
    for key in TIME_PARAMETERS:
        if key in out:
            out[key] = max(1, int(round(out[key] * scale)))
    if name == "exp":
        out["gamma"] = float(out["gamma"]) ** (1.0 / scale)
    if name == "inv":
        out["gamma"] = float(out["gamma"]) / scale
    if name == "one_cycle":
        total = int(out["total_steps"])          # a rise of >= 2 updates and a descent of >= 1 (as policies checks)
        out["pct_start"] = min(0.95, 1.0 - 1.5 / total, max(float(out["pct_start"]) * scale, 2.5 / total))
    return out


def _band(curves) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    curves = np.asarray(curves, dtype=np.float64)
    curves = np.where(np.isfinite(curves), curves, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(curves, 0), np.nanmin(curves, 0), np.nanmax(curves, 0)


def static_record(comparison: ScheduleComparison, configurations: dict, peak: float,
                  default: str | None = None) -> StaticRecord:
    """The comparison and its schedules as a static explorer's record.

    Args:
        comparison (ScheduleComparison): the chapter's trained configurations (C labels, S seeds).
        configurations (dict): ``{label: (policy name, parameters)}`` of the configurations whose rates
            decay (the others are fixed rates); every key must be a label of ``comparison``.
        peak (float): the base rate :math:`\\eta_0` of those schedules (per update).
        default (str, optional): the label shown first. Default: the first of ``configurations``.

    Returns:
        StaticRecord with controls ``schedule`` (drop-down over the labels) and ``scale`` (slider over
        :data:`SCALES`); sources ``rate`` (epoch, lr: the scheduler's rates at the chosen setting, at
        :data:`RATE_POINTS` updates), ``trained_rate`` (epoch, lr: the rates the training applied, seed 0),
        ``curve`` (epoch, mean, low, high of the validation loss over seeds) and ``others`` (every
        configuration's mean, NaN-broken); text ``sentence``.  ``meta["final_val_loss"]``: each label's
        mean final validation loss (what the prose's table glues).

    Raises:
        TypeError: ``comparison`` is not a ScheduleComparison.
        ValueError: a configuration that is not one of the comparison's labels; ``default`` unknown.
    """
    if not isinstance(comparison, ScheduleComparison):
        raise TypeError(f"comparison must be a ScheduleComparison, got {type(comparison).__name__}")
    labels = list(comparison.labels)
    unknown = [k for k in configurations if k not in labels]
    if unknown:
        raise ValueError(f"configurations {unknown} are not labels of the comparison: {labels}")
    default = next(iter(configurations)) if default is None else default
    if default not in labels:
        raise ValueError(f"default must be one of {labels}, got {default!r}")
    steps = comparison.step_lr.shape[-1]
    kept = np.unique(np.round(np.linspace(0, steps - 1, min(RATE_POINTS, steps))).astype(int))
    epoch_of_update = np.asarray(comparison.step_epoch, dtype=np.float64)[kept]
    controls = (Control("schedule", "schedule", labels, labels, labels.index(default), kind="select"),
                Control("scale", "decay time", [f"×{s:g}" for s in SCALES], list(SCALES), SCALES.index(1.0)))
    seeds = len(comparison.seeds)
    rate, sentence, trained, curve, finals = {}, {}, {}, {}, {}
    for i, label in enumerate(labels):
        trained_lr = np.asarray(comparison.step_lr[i, 0], dtype=np.float64)
        trained[(i,)] = {"epoch": epoch_of_update, "lr": trained_lr[kept]}
        mean, low, high = _band(comparison.val_loss[i])
        curve[(i,)] = {"epoch": np.asarray(comparison.eval_epoch, dtype=np.float64), "mean": mean, "low": low,
                       "high": high}
        finals[label] = float(mean[-1])
        result = (f"The run the chapter trained ({label}, ×1) ended at a validation loss of {mean[-1]:.3f} "
                  f"(mean over {seeds} seeds) and a test accuracy of {comparison.test.value(label):.2%}.")
        for j, scale in enumerate(SCALES):
            if label in configurations:
                name, params = configurations[label]
                params = scaled_parameters(name, params, scale)
                curve_lr = rates(schedule(name, **params), peak, steps)          # the real lr_scheduler
                what = f"{name} with {parameter_text(params)}"
                shape = (f"the rate goes from {curve_lr[0]:.3g} to {curve_lr[-1]:.3g}"
                         if curve_lr.min() != curve_lr.max() else f"the rate stays at {curve_lr[0]:.3g}")
            else:
                curve_lr = trained_lr                                         # a fixed rate: nothing to scale
                what, shape = label, f"the rate stays at {curve_lr[0]:.3g} (a fixed rate has no decay to stretch)"
            rate[(i, j)] = {"epoch": epoch_of_update, "lr": np.asarray(curve_lr, dtype=np.float64)[kept]}
            sentence[(i, j)] = f"{what}: {shape} over {steps:,} updates. {result}"
    others_x = np.concatenate([np.append(curve[(i,)]["epoch"], np.nan) for i in range(len(labels))])
    others_y = np.concatenate([np.append(curve[(i,)]["mean"], np.nan) for i in range(len(labels))])
    return StaticRecord(
        title="Section 3: schedules over their parameters, beside the chapter's training",
        controls=controls,
        sources={"rate": Views(("schedule", "scale"), rate), "trained_rate": Views(("schedule",), trained),
                 "curve": Views(("schedule",), curve), "others": Views((), {(): {"x": others_x, "y": others_y}})},
        texts={"sentence": Texts(("schedule", "scale"), sentence)},
        meta={"final_val_loss": finals, "seeds": seeds, "default": default})


def draw(record: StaticRecord):
    def make(sources):
        from bokeh.plotting import figure

        from lib.style import PALETTE

        left = figure(width=420, height=300, toolbar_location=None, x_axis_label="epoch",
                      y_axis_label="learning rate η", title="the schedule's rate (lr_scheduler)")
        left.line("epoch", "lr", source=sources["trained_rate"], color="#4d4d4d", line_dash="dashed",
                  legend_label="as trained")
        left.line("epoch", "lr", source=sources["rate"], color=PALETTE["vermillion"], line_width=2,
                  legend_label="this setting")
        left.legend.location = "top_right"
        right = figure(width=420, height=300, y_axis_type="log", toolbar_location=None, x_axis_label="epoch",
                       y_axis_label="validation loss (log scale)",
                       title=f"trained: mean and min-max over {record.meta['seeds']} seeds")
        right.line("x", "y", source=sources["others"], color="#cccccc", legend_label="other configurations")
        right.varea("epoch", "low", "high", source=sources["curve"], color=PALETTE["blue"], alpha=0.2)
        right.line("epoch", "mean", source=sources["curve"], color=PALETTE["blue"], line_width=2,
                   legend_label="this schedule")
        right.legend.location = "top_right"
        return [left, right]

    return make


def static_explorer(comparison: ScheduleComparison, configurations: dict, peak: float,
                    default: str | None = None) -> StaticExplorer:
    """The section's static explorer (see :func:`static_record`); display with :func:`lib.static_explorer.show`."""
    record = static_record(comparison, configurations, peak, default)
    return StaticExplorer(NAME, record, draw(record))
