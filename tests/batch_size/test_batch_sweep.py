"""Every batch size together: the trade-off table against the grids' own steps to the target, the best
rates against each grid's comparison, and the sweep's bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

from lib.batch_size import batch_sweep


def test_tradeoff_takes_the_fastest_configuration_at_each_batch_size(sweep):
    target = sweep.reachable_target()
    tradeoff = sweep.tradeoff(target)
    for b, steps, rate, variant in zip(tradeoff.batch_sizes, tradeoff.steps, tradeoff.rates, tradeoff.variants):
        grid = sweep[int(b)]
        per_seed = grid.steps_to_target(target, variant)[grid.rate_index(rate)]
        assert steps == pytest.approx(per_seed.mean())
        for v in grid.variants:
            means = grid.steps_to_target(target, v).mean(axis=1)
            assert np.all(np.isnan(means) | (means >= steps - 1e-9))
    assert np.allclose(tradeoff.examples, tradeoff.batch_sizes * tradeoff.steps)
    with pytest.raises(ValueError, match="reaches the target"):
        sweep.tradeoff(1e-6)


def test_best_rates_and_counts_read_every_grid(sweep, axes):
    assert sweep.batch_sizes == [16, 32, 64]
    assert sweep.best_rates().tolist() == [sweep[b].compare().best_rate for b in sweep.batch_sizes]
    assert sweep.best_configs() == [sweep[b].compare().best for b in sweep.batch_sizes]
    assert sweep.seed_best_rates().shape == (3, len(axes.seeds))
    assert np.isnan(sweep.largest_stable_rates("warmup")[0])          # no warm-up at batch size 16
    assert sweep.runs == len(axes.rates) * len(axes.seeds) + 2 * (len(axes.rates) + len(axes.warm)) * len(axes.seeds)
    assert sweep.seconds == pytest.approx(sum(sweep[b].history.seconds for b in sweep.batch_sizes))


BAD_CALLS = [
    (lambda toy: batch_sweep.run_sweep(toy, [16], [0.1, 0.5], [0], epochs=1), ValueError,
     "batch_sizes must be a list of at least 2"),
    (lambda toy: batch_sweep.run_sweep(toy, [16, 32], [0.1, 0.5], [0], epochs=1, warmup_from=16, warmup_rates=[0.3]),
     ValueError, "warmup_rates must be among the grid's rates"),
    (lambda toy: batch_sweep.run_sweep(toy, [16, 16], [0.1, 0.5], [0], epochs=1), ValueError, "distinct"),
    (lambda toy: batch_sweep.run_sweep(toy, [16, 512], [0.1, 0.5], [0], epochs=1), ValueError,
     "batch_sizes must be an int between 1 and 256"),
    (lambda toy: batch_sweep.run_sweep(toy, [16, 32], [0.1, 0.5], [0], epochs=1, on_step={64: print}), ValueError,
     "not in the sweep"),
    (lambda toy: batch_sweep.run_sweep(toy.x_train, [16, 32], [0.1, 0.5], [0], epochs=1), TypeError, "Splits"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_input_is_a_clear_error(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)


def test_bad_queries_on_a_finished_sweep(sweep):
    with pytest.raises(ValueError, match="was not trained"):
        sweep[128]
    with pytest.raises(ValueError, match="margin"):
        sweep.reachable_target(margin=0.5)
    with pytest.raises(ValueError, match="target"):
        sweep.tradeoff(0.0)
