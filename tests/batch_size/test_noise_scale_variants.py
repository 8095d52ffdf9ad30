"""Task variants and training to a target, against plain torch and NumPy."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from lib.batch_size import noise_scale_variants as nsv
from lib.core.data import Splits
from lib.core.models import textbook_mlp
from lib.core.order import DataOrder


@pytest.fixture(scope="module")
def digits():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(600, 784, generator=g)
    y = ((x - 0.5) @ torch.randn(784, 10, generator=g)).argmax(1)      # a random linear teacher, all ten classes
    return Splits(x[:400], y[:400], x[400:500], y[400:500], x[500:], y[500:])


def test_the_easier_task_keeps_only_its_classes_everywhere(digits):
    easy = nsv.task_variant(digits, "easier", classes=(3, 7))
    for part in ("train", "val", "test"):
        y = getattr(digits, f"y_{part}").numpy()
        kept = getattr(easy, f"y_{part}").numpy()
        assert set(np.unique(kept)) <= {3, 7}
        assert len(kept) == int(np.isin(y, [3, 7]).sum())
        mask = torch.from_numpy(np.isin(y, [3, 7]))
        assert torch.equal(getattr(easy, f"x_{part}"), getattr(digits, f"x_{part}")[mask])


def test_the_harder_task_redraws_a_fraction_of_the_training_labels_only(digits):
    hard = nsv.task_variant(digits, "harder", noisy_fraction=0.5, seed=3)
    changed = (hard.y_train != digits.y_train).float().mean().item()
    assert changed == pytest.approx(0.5 * 0.9, abs=0.07)        # a redrawn label keeps its value 1 time in 10
    assert torch.equal(hard.y_val, digits.y_val) and torch.equal(hard.y_test, digits.y_test)
    assert torch.equal(hard.x_train, digits.x_train)
    assert torch.equal(nsv.task_variant(digits, "harder", noisy_fraction=0.5, seed=3).y_train, hard.y_train)
    assert nsv.task_variant(digits, "standard") is digits


@pytest.mark.parametrize("kwargs, error", [
    (dict(variant="hardest"), ValueError),
    (dict(variant="easier", classes=(1, 1)), ValueError),
    (dict(variant="easier", classes=(1,)), ValueError),
    (dict(variant="easier", classes=(1, 42)), ValueError),
    (dict(variant="harder", noisy_fraction=0.0), ValueError),
    (dict(variant="harder", noisy_fraction=1.5), ValueError),
    (dict(variant="harder", noisy_fraction="0.3"), TypeError),
])
def test_task_variant_rejects_bad_input(digits, kwargs, error):
    with pytest.raises(error):
        nsv.task_variant(digits, **kwargs)


def test_task_variant_rejects_data_that_are_not_splits():
    with pytest.raises(TypeError):
        nsv.task_variant((torch.rand(4, 784), torch.zeros(4, dtype=torch.long)), "easier")


def test_a_short_run_is_plain_torch_sgd_on_the_chapters_data_order(digits):
    network, taken = nsv.short_run(digits, rate=0.3, batch_size=32, updates=25, seed=2)
    reference = textbook_mlp(2)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.3)
    batches = DataOrder(digits.n_train, 2).stream(32)
    for _ in range(25):
        index = next(batches)
        optimizer.zero_grad()
        nn.functional.cross_entropy(reference(digits.x_train[index]), digits.y_train[index]).backward()
        optimizer.step()
    assert taken == 25
    for (name, a), b in zip(network.named_parameters(), reference.parameters()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_a_run_with_a_target_stops_at_the_first_check_below_it(digits):
    _, everything = nsv.short_run(digits, rate=0.5, batch_size=32, updates=200, seed=0)
    network, taken = nsv.short_run(digits, rate=0.5, batch_size=32, updates=200, seed=0, target_loss=2.0,
                                   check_every=5, monitor_examples=400)
    with torch.no_grad():
        loss = nn.functional.cross_entropy(network(digits.x_train), digits.y_train).item()
    assert everything == 200 and taken < 200 and taken % 5 == 0 and loss <= 2.0
    earlier, _ = nsv.short_run(digits, rate=0.5, batch_size=32, updates=taken - 5, seed=0)
    with torch.no_grad():
        assert nn.functional.cross_entropy(earlier(digits.x_train), digits.y_train).item() > 2.0


def test_b_simple_after_training_is_numpys_trace_over_norm(digits):
    result = nsv.train_and_measure(digits, rate=0.3, batch_size=32, seeds=(0, 1), max_updates=10,
                                   exact_examples=400, label="toy")
    for seed, value in zip((0, 1), result.b_simple):
        network, _ = nsv.short_run(digits, rate=0.3, batch_size=32, updates=10, seed=seed)
        rows = []
        for i in range(digits.n_train):                       # one backward pass per example
            network.zero_grad()
            nn.functional.cross_entropy(network(digits.x_train[i:i + 1]), digits.y_train[i:i + 1]).backward()
            rows.append(torch.cat([p.grad.reshape(-1) for p in network.parameters()]).double().numpy())
        g = np.array(rows)
        G = g.mean(0)
        assert value == pytest.approx(((g - G) ** 2).sum(1).mean() / (G @ G), rel=1e-4)
    assert result.label == "toy" and result.examples == 400 and result.reached.all()
    assert (result.updates == 10).all()


def test_the_interval_over_seeds_is_a_t_interval_of_the_logarithms():
    record = nsv.MeasuredNoise("x", 100, (0, 1, 2, 3), np.full(4, 10), np.ones(4), np.ones(4, bool),
                               np.array([100.0, 150.0, 80.0, 120.0]), np.ones(4), np.ones(4))
    logs = np.log(record.b_simple)
    low, high = stats.t.interval(0.9, 3, loc=logs.mean(), scale=stats.sem(logs))
    assert record.interval(0.9) == pytest.approx((np.exp(logs.mean()), np.exp(low), np.exp(high)), rel=1e-12)
    with pytest.raises(ValueError):
        record.interval(1.0)


def test_overlap():
    assert nsv.overlap([(1, 3), (2, 4), (2.5, 5)])
    assert not nsv.overlap([(1, 2), (3, 4)])
    with pytest.raises(ValueError):
        nsv.overlap([(1, 2)])
    with pytest.raises(ValueError):
        nsv.overlap([(2, 1), (1, 3)])


@pytest.mark.parametrize("kwargs, error", [
    (dict(seeds=(0,)), ValueError),
    (dict(rate=0.0), ValueError),
    (dict(batch_size=1000), ValueError),
    (dict(max_updates=0), ValueError),
    (dict(target_loss=-1.0), ValueError),
    (dict(exact_examples=1), ValueError),
    (dict(label=3), TypeError),
])
def test_train_and_measure_rejects_bad_input(digits, kwargs, error):
    arguments = dict(rate=0.3, batch_size=32, seeds=(0, 1), max_updates=5, exact_examples=100) | kwargs
    with pytest.raises(error):
        nsv.train_and_measure(digits, **arguments)


def test_compare_sizes_rejects_sizes_that_do_not_increase_or_exceed_the_data(digits):
    with pytest.raises(ValueError):
        nsv.compare_sizes(digits, train_sizes=(200, 100), target_loss=1.0, rate=0.3, batch_size=32, seeds=(0, 1),
                          max_updates=5)
    with pytest.raises(ValueError):
        nsv.compare_sizes(digits, train_sizes=(100, 4000), target_loss=1.0, rate=0.3, batch_size=32, seeds=(0, 1),
                          max_updates=5)
