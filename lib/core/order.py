"""The one order in which every trainer of the chapter visits the training examples.

Epoch ``e`` of a run with data seed ``s`` visits the examples in the order of
the ``e``-th ``torch.randperm(n)`` drawn from a ``torch.Generator`` seeded once
with ``s`` (:class:`DataOrder`).  Mini-batches are consecutive slices of that
permutation, ``order[j*B:(j+1)*B]``; the last one of an epoch holds the
``n mod B`` examples left over, as a ``DataLoader`` with ``shuffle=True`` and
``drop_last=False`` would give them, or is dropped with ``drop_last=True``.
:func:`steps_per_epoch` counts the updates of an epoch under that rule.

The grid engine (:func:`lib.core.engine.train_grid`), the single-network loop
(:mod:`lib.core.loop`, which the range test and stochastic weight averaging run
on) and the tests' reference loops all take their batches from here, so two
runs with the same seed see the same examples in the same order, whichever
trainer runs them.
"""
from __future__ import annotations

from typing import Iterator

import torch

from . import checks
from .device import seeded_generator


def steps_per_epoch(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Updates in one epoch of ``n`` examples at ``batch_size``: ``ceil(n / B)``, or ``floor(n / B)``
    when the incomplete last batch is dropped.

    Raises:
        TypeError: ``n`` or ``batch_size`` is not an int, ``drop_last`` not a bool.
        ValueError: ``n`` < 1, or ``batch_size`` outside [1, ``n``].
    """
    n = checks.integer(n, "n", minimum=1)
    batch_size = checks.batch_size(batch_size, n)
    checks.flag(drop_last, "drop_last")
    return n // batch_size if drop_last else -(-n // batch_size)


class DataOrder:
    """The permutations of one data seed, epoch after epoch.

    Args:
        n (int): number of training examples.
        seed (int): the data seed; the generator is seeded with it once, so epoch
            ``e``'s permutation depends on the seed and ``e`` alone.
        generator (torch.Generator, optional): continue an existing generator
            instead (e.g. a checkpoint's, to pick up the order where it stopped);
            give ``seed`` or ``generator``, not both.

    Example::

        >>> order = DataOrder(5, seed=0)
        >>> [b.tolist() for b in order.batches(2)]   # one epoch in batches of 2
        [[4, 0], [1, 3], [2]]
    """

    def __init__(self, n: int, seed: int | None = None, *, generator: torch.Generator | None = None):
        self.n = checks.integer(n, "n", minimum=1)
        if (seed is None) == (generator is None):
            raise ValueError("give exactly one of seed and generator")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        self.generator = seeded_generator(checks.seed(seed)) if generator is None else generator

    def next_epoch(self) -> torch.Tensor:
        """The next epoch's permutation of ``range(n)``, shape (n,), int64 on the CPU."""
        return torch.randperm(self.n, generator=self.generator)

    def batches(self, batch_size: int, drop_last: bool = False) -> Iterator[torch.Tensor]:
        """One epoch: the next permutation cut into :func:`steps_per_epoch` index slices."""
        steps = steps_per_epoch(self.n, batch_size, drop_last)
        order = self.next_epoch()
        for j in range(steps):
            yield order[j * batch_size:(j + 1) * batch_size]

    def stream(self, batch_size: int, drop_last: bool = False) -> Iterator[torch.Tensor]:
        """Batches of indices without end, epoch after epoch (a sweep takes as many as it needs)."""
        while True:
            yield from self.batches(batch_size, drop_last)
