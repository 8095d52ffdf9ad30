"""The one switch that sizes every experiment: ``quick`` or ``full``.

``full`` (the default) is the book as readers see it.  ``quick`` shrinks every
experiment to seconds (data subsets, few epochs) for tests and CI.  Set it with
the environment variable ``LR_BOOK_BUDGET``; each experiment then asks
:func:`pick` for its own size, so the two sizes sit side by side in the notebook
that uses them::

    epochs = budget.pick(quick=2, full=30)
"""
from __future__ import annotations

import os
from typing import TypeVar

BUDGET_ENV = "LR_BOOK_BUDGET"
BUDGETS = ("quick", "full")

T = TypeVar("T")


def current() -> str:
    """The budget in force: ``$LR_BOOK_BUDGET`` or ``"full"``."""
    name = os.environ.get(BUDGET_ENV, "full").strip().lower() or "full"
    if name not in BUDGETS:
        raise ValueError(f"${BUDGET_ENV}={name!r} is not a budget; allowed: {', '.join(BUDGETS)}")
    return name


def is_quick() -> bool:
    return current() == "quick"


def pick(*, quick: T, full: T) -> T:
    """Return ``quick`` under the quick budget and ``full`` otherwise."""
    return quick if is_quick() else full
