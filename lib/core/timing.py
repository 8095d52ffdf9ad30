"""Where a section's seconds go: training, evaluating, measuring, drawing.

A handful of entry points carry ``@timed(category)`` (or ``with timed(category):``):

==============  ==========================================================================
category        what is timed
==============  ==========================================================================
``training``    the grid engine (:func:`lib.core.engine.train_grid`) and the single-network
                loop (:func:`lib.core.loop.train_steps`)
``evaluating``  loss and accuracy of trained networks (:mod:`lib.core.evaluate`)
``measuring``   Hessians (:mod:`lib.sharpness.hessian`) and the gradient noise scale
                (:mod:`lib.batch_size.gradient_noise`, its tracker)
``drawing``     figures handed to the page (:func:`lib.glue.figure`) and static explorers
==============  ==========================================================================

Time is attributed to the innermost category only: an evaluation made inside a
training run (the engine's history) is evaluating, and the training run's clock
pauses meanwhile, so the four totals add up to at most the wall time and never
count a second twice.  The cost is two ``time.perf_counter`` calls per timed call
(well under a microsecond), made once per training run or evaluation, never per step.

The book's build (``tools/build_book.py``) reads the totals per notebook: when
``$LR_BOOK_TIMING_DIR`` names a folder and the library runs inside a Jupyter
kernel, the totals are written after every cell to ``<folder>/kernel-<pid>.json``
together with a digest of the cells the kernel ran (:func:`cells_digest`), by which
the build tells which notebook they belong to.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Iterable

#: The categories, in the order the build prints them.
CATEGORIES = ("training", "evaluating", "measuring", "drawing")
#: A folder to write each Jupyter kernel's totals to (set by the book's build).
TIMING_DIR_ENV = "LR_BOOK_TIMING_DIR"

_totals: dict[str, float] = dict.fromkeys(CATEGORIES, 0.0)
_calls: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
_stack: list[list] = []               # [category, time the current stretch started] per open call


class timed(contextlib.ContextDecorator):
    """Count the enclosed time as ``category`` (one of :data:`CATEGORIES`); a context manager
    and a decorator.  Nested calls attribute their time to the innermost category.

    Raises:
        ValueError: ``category`` is not one of :data:`CATEGORIES`.
    """

    def __init__(self, category: str):
        if category not in _totals:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}, got {category!r}")
        self.category = category

    def __enter__(self):
        now = time.perf_counter()
        if _stack:                                   # pause the enclosing category
            outer = _stack[-1]
            _totals[outer[0]] += now - outer[1]
        _stack.append([self.category, now])
        _calls[self.category] += 1
        return self

    def __exit__(self, *exc) -> bool:
        now = time.perf_counter()
        category, since = _stack.pop()
        _totals[category] += now - since
        if _stack:                                   # resume it
            _stack[-1][1] = now
        return False


def totals() -> dict[str, float]:
    """Seconds per category since the process started (or :func:`reset`), finished calls only."""
    return dict(_totals)


def calls() -> dict[str, int]:
    """Timed calls per category (an entry point that calls another of its own category counts twice)."""
    return dict(_calls)


def reset() -> None:
    """Set every total to zero (calls in progress keep running and are counted from now)."""
    now = time.perf_counter()
    for category in CATEGORIES:
        _totals[category] = 0.0
        _calls[category] = 0
    for entry in _stack:
        entry[1] = now


def summary(wall_seconds: float | None = None) -> str:
    """One line, e.g. ``training 41.2 s, evaluating 3.1 s, measuring 0.0 s, drawing 5.0 s, other 7.7 s``
    (``other`` only when the wall time ``wall_seconds`` is given)."""
    parts = [f"{c} {_totals[c]:.1f} s" for c in CATEGORIES]
    if wall_seconds is not None:
        parts.append(f"other {max(0.0, wall_seconds - sum(_totals.values())):.1f} s")
    return ", ".join(parts)


def cells_digest(sources: Iterable[str]) -> str:
    """SHA-256 of a notebook's non-empty code cells, in order, trailing whitespace removed: what a
    kernel that ran the notebook has in its input history, and what the build computes from the file."""
    digest = hashlib.sha256()
    for source in sources:
        if source.strip():
            digest.update(source.rstrip().encode() + b"\0")
    return digest.hexdigest()


def _write_kernel_totals(folder: Path, shell, started: float) -> None:
    record = {"pid": os.getpid(), "cells": cells_digest(shell.history_manager.input_hist_raw[1:]),
              "wall_seconds": time.perf_counter() - started, "seconds": totals(), "calls": calls()}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"kernel-{os.getpid()}.json"
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(record))
    partial.replace(path)                            # a reader never sees half a file


def _install_kernel_hook() -> None:
    """Inside a Jupyter kernel, with ``$LR_BOOK_TIMING_DIR`` set: write the totals after every cell."""
    folder = os.environ.get(TIMING_DIR_ENV, "").strip()
    if not folder:
        return
    try:
        from IPython import get_ipython
    except ImportError:                              # pragma: no cover - IPython is a dependency
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "history_manager"):
        return
    started = time.perf_counter()

    def after_cell(result=None) -> None:
        try:
            _write_kernel_totals(Path(folder), shell, started)
        except OSError:                              # timing must never fail a notebook
            pass

    shell.events.register("post_run_cell", after_cell)


_install_kernel_hook()
