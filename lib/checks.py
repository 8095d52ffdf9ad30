"""Argument checks shared by lib's public functions, so each error message is written once.

Every public function validates its arguments and raises ``TypeError`` for a
wrong type and ``ValueError`` for a wrong value, saying what is allowed.
"""
from __future__ import annotations

import math
from numbers import Integral, Real


def positive(value, name: str) -> float:
    """``value`` as a float, which must be a finite real number > 0."""
    return number_in(value, name, 0.0, math.inf)


def number_in(value, name: str, low: float, high: float) -> float:
    """``value`` as a float strictly between ``low`` and ``high`` (and finite)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and low < value < high):
        bounds = f"> {low:g}" if high == math.inf else f"strictly between {low:g} and {high:g}"
        raise ValueError(f"{name} must be a finite number {bounds}, got {value}")
    return value


def int_at_least(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int, which must be an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
