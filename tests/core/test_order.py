"""lib.core.order: the one data order, against a DataLoader and against the count of its batches."""
import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from lib.core.device import seeded_generator
from lib.core.order import DataOrder, steps_per_epoch


@pytest.mark.parametrize("n, batch, drop_last, expected", [
    (10, 3, False, 4), (10, 3, True, 3), (12, 3, False, 4), (12, 3, True, 4), (7, 7, False, 1), (1, 1, True, 1),
])
def test_steps_per_epoch_is_ceil_or_floor(n, batch, drop_last, expected):
    assert steps_per_epoch(n, batch, drop_last) == expected
    # the same count a DataLoader reports for the same rule
    loader = DataLoader(TensorDataset(torch.arange(n)), batch_size=batch, drop_last=drop_last)
    assert len(loader) == expected


@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_are_those_of_torchs_random_sampler_with_the_same_generator(drop_last):
    # PyTorch's own samplers (what a shuffling DataLoader uses) on a generator seeded alike.  The
    # RandomSampler draws a second, empty permutation at the end of each pass, so for epoch e it
    # gets a generator that has already drawn our first e permutations.
    n, batch = 23, 5
    order = DataOrder(n, seed=4)
    for epoch in range(3):
        ours = [b.tolist() for b in order.batches(batch, drop_last)]
        generator = seeded_generator(4)
        for _ in range(epoch):
            torch.randperm(n, generator=generator)
        sampler = BatchSampler(RandomSampler(range(n), generator=generator), batch, drop_last)
        assert ours == list(sampler)


def test_an_epoch_is_a_permutation_and_the_stream_continues_across_epochs():
    order = DataOrder(10, seed=0)
    stream = DataOrder(10, seed=0).stream(4)
    first, second = order.next_epoch(), order.next_epoch()
    assert sorted(first.tolist()) == list(range(10)) and not torch.equal(first, second)
    taken = torch.cat([next(stream) for _ in range(6)])   # 3 batches per epoch: 4 + 4 + 2
    assert torch.equal(taken, torch.cat([first, second]))


def test_a_generator_can_be_continued():
    generator = seeded_generator(3)
    DataOrder(8, generator=generator).next_epoch()
    continued = DataOrder(8, generator=generator).next_epoch()
    fresh = DataOrder(8, seed=3)
    fresh.next_epoch()
    assert torch.equal(continued, fresh.next_epoch())


@pytest.mark.parametrize("call, error, message", [
    (lambda: steps_per_epoch(10, 0), ValueError, "batch_size must be an int between 1 and 10"),
    (lambda: steps_per_epoch(10, 11), ValueError, "batch_size must be an int between 1 and 10"),
    (lambda: steps_per_epoch(10, 2.0), TypeError, "batch_size must be an int"),
    (lambda: steps_per_epoch(0, 1), ValueError, "n must be an int >= 1"),
    (lambda: steps_per_epoch(10, 2, drop_last="yes"), TypeError, "drop_last must be True or False"),
    (lambda: DataOrder(10), ValueError, "exactly one of seed and generator"),
    (lambda: DataOrder(10, seed=-1), ValueError, "seed must be an int >= 0"),
    (lambda: DataOrder(10, generator="g"), TypeError, "torch.Generator"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_integers_are_integers():
    assert steps_per_epoch(np.int64(10), np.int32(3)) == 4
