"""Section 6's figures draw from the records, and refuse what they cannot draw."""
from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lib.swa import figures, metrics, plane, plans, slices, training


@pytest.fixture(scope="module")
def runs(toy):
    return training.compare(toy, [plans.decay(0.01), plans.constant(0.2, 2, ema_decay=0.9),
                                  plans.cyclical(0.3, 0.03, 2)],
                            lr=0.3, epochs=2, swa_start=1, batch_size=32, seeds=[0, 1], track=True,
                            keep_snapshots=True).runs


def test_figures_draw(toy, runs):
    figures.rates_figure([r[0] for r in runs.values()])
    table = metrics.metrics_table(runs, toy)
    name = plans.constant(0.2, 2).name
    figures.comparison_figure(table, [("SWA", (name, "average"), "constant"), ("EMA", (name, "ema"), "ema")])
    cyclical_run = runs[plans.cyclical(0.3, 0.03, 2).name][0]
    fig = figures.tracking_figure(cyclical_run)
    assert "snapshots: average" in fig.axes[1].get_title()
    figures.plane_figure(plane.snapshot_plane(cyclical_run, toy, resolution=3, examples=20))
    curves = slices.slice_curves({"SWA": cyclical_run.average}, [-0.5, 0.0, 0.5], toy, directions=1, examples=20)
    figures.slices_figure(curves, {"SWA": "cyclical"})
    plt.close("all")


def test_a_diverged_run_draws_with_its_step(toy, checkpoint):
    run = training.continue_run(checkpoint, plans.cyclical(3e38, 1e38, 2), toy, epochs=2, track=True)
    fig = figures.tracking_figure(run)
    assert f"diverged at step {run.diverged_at}" in fig.axes[1].get_title()
    plt.close("all")


BAD_INPUTS = [
    (lambda: figures.slices_figure(slices.Slices(np.array([0.0]), {"a": np.zeros((1, 1))},
                                                 {"a": np.zeros((1, 1))}), {"a": "blue"}), ValueError, "kinds"),
    (lambda: figures.slices_figure({"a": {}}, {"a": "decay"}), TypeError, "slices must be a lib.swa.slices.Slices"),
    (lambda: figures.rates_figure([]), TypeError, "runs must be a non-empty list"),
    (lambda: figures.comparison_figure({}, [("x", ("a", "b"), "constant")]), ValueError, "is not in the table"),
    (lambda: figures.comparison_figure({("a", "b"): {}}, [("x", ("a", "b"), "blue")]), ValueError,
     "unknown colour kind 'blue'"),
    (lambda: figures.plane_figure(None), TypeError, "plane must be a lib.swa.plane.SnapshotPlane"),
    (lambda: figures.tracking_figure(None), TypeError, "run must be a lib.swa.training.SWARun"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
