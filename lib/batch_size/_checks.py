"""Argument checks of section 4 that :mod:`lib.core.checks` does not (yet) have.

Each one follows core's pattern (``"<name> must be <allowed>, got <value>"``);
they are candidates for :mod:`lib.core.checks`.

* :func:`batch_size_array`: one batch size or an array of them, as a formula
  evaluated at many batch sizes takes them (real numbers > 0, not only ints);
* :func:`batch_series`: one measurement per batch size (a best rate, a step
  count), batch sizes increasing;
* :func:`two_batch_sizes`: the small and the big batch of McCandlish et al.'s
  two-batch estimator.
"""
from __future__ import annotations

import numpy as np

from lib.core import checks


def batch_size_array(batch_size, name: str = "batch_size") -> np.ndarray:
    """``batch_size`` (a number or an array of them) as a float64 array; every entry finite and > 0.

    Raises:
        ValueError: an entry is not finite or not > 0.
    """
    b = np.asarray(batch_size, dtype=np.float64)
    if not np.isfinite(b).all() or (b <= 0).any():
        raise ValueError(f"{name} must be a finite number > 0 or an array of them, got {batch_size!r}")
    return b


def batch_series(batch_sizes, values, name: str, minimum_count: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Increasing batch sizes and one value (> 0) of ``name`` per batch size, as two float64 arrays.

    Raises:
        TypeError: either is not a list, tuple or 1-D array of numbers.
        ValueError: an entry is not finite and > 0, the batch sizes do not increase,
            the two differ in length, or there are fewer than ``minimum_count``.
    """
    b = checks.rates(batch_sizes, "batch_sizes", increasing=True)
    v = checks.rates(values, name)
    if b.shape != v.shape:
        raise ValueError(f"batch_sizes and {name} must be equally long, got {b.size} and {v.size}")
    if b.size < minimum_count:
        raise ValueError(f"batch_sizes must hold at least {minimum_count} batch sizes, got {b.size}")
    return b, v


def two_batch_sizes(b_small, b_big) -> tuple[int, int]:
    """``b_small`` < ``b_big``, both ints >= 1.

    Raises:
        TypeError: either is not an int.
        ValueError: either is < 1, or ``b_small`` >= ``b_big``.
    """
    b_small = checks.int_at_least(b_small, "b_small")
    b_big = checks.int_at_least(b_big, "b_big")
    if b_small >= b_big:
        raise ValueError(f"b_small must be smaller than b_big, got b_small={b_small}, b_big={b_big}")
    return b_small, b_big
