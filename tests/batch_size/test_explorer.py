"""The explorer over a finished sweep: the nearest grid rate, messages for invalid choices."""
from __future__ import annotations

import numpy as np
import pytest

from lib.batch_size import explorer


def test_explorer_point_is_the_nearest_rate_of_the_grid(sweep):
    point = explorer.explorer_point(sweep, 32, 0.4)
    assert point.rate == 0.5 and point.variant == "constant"              # |log 0.4 - log 0.5| < |log 0.4 - log 0.1|
    grid = sweep[32]
    assert point.rows.tolist() == grid.index("constant")[grid.rate_index(0.5)].tolist()
    assert point.loss == pytest.approx(grid.history.val_loss[point.rows, -1].mean())
    assert point.diverged == 0 and point.best == grid.compare().best
    assert np.array_equal(point.best_rates, sweep.best_rates())
    blown = explorer.explorer_point(sweep, 16, 600.0)
    assert blown.rate == 500.0 and blown.diverged == 2
    assert "diverged in 2 of 2 seeds" in explorer.describe_point(blown)


def test_explorer_shows_a_message_for_invalid_choices(sweep):
    widget = explorer.ScalingExplorer(sweep, batch_size=32, lr=0.5)
    assert "nearest rate in the grid η = 0.5" in widget.message.value
    widget.lr.value = 10 ** widget.lr.min          # the slider's end is a valid choice
    assert widget.redraw() is True
    widget.batch.value = 16
    widget.warmup.value = True
    assert "without warm-up only" in widget.message.value
    with pytest.raises(ValueError, match="learning rate must be"):
        explorer.explorer_point(sweep, 32, 5000.0)


def test_bad_queries_on_a_finished_sweep(sweep):
    with pytest.raises(ValueError, match="without warm-up only"):
        explorer.explorer_point(sweep, 16, 0.5, "warmup")
    with pytest.raises(ValueError, match="was not trained"):
        explorer.explorer_point(sweep, 128, 0.5)
    with pytest.raises(TypeError, match="Sweep"):
        explorer.ScalingExplorer("sweep")
    with pytest.raises(ValueError, match="was not trained"):
        explorer.ScalingExplorer(sweep, batch_size=128)
