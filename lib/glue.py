"""Hand the run's numbers and figures to the prose (myst-nb's ``glue``).

In the book, a value stored with :func:`number` or :func:`text` appears in the
prose through ``{glue:text}`name``` and a figure stored with :func:`figure`
through a ``{glue:figure}`` directive with its caption, so nothing the run
produced is typed in by hand.

Outside a book build (Colab, a Jupyter without myst-nb) the same calls still
work: figures are displayed as ordinary cell output and numbers are skipped.
Figure cells carry the ``remove-output`` tag so the HTML shows each figure once,
in its captioned place.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import matplotlib.pyplot as plt
from IPython.display import display

try:  # the book build (myst-nb) is optional for readers
    from myst_nb import glue as _myst_glue
except ImportError:  # pragma: no cover - exercised on Colab
    _myst_glue = None


def _check_name(name) -> str:
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise ValueError(f"name must be a non-empty string without spaces, got {name!r}")
    return name


def number(name: str, value) -> None:
    """Store a real number (NumPy scalars included) as a plain Python number."""
    _check_name(name)
    if hasattr(value, "item"):  # NumPy / torch scalars (and one-element arrays)
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            raise TypeError(f"value must be a single real number, got an array of shape {value.shape}") from None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"value must be a real number, got {type(value).__name__}")
    value = int(value) if isinstance(value, Integral) else float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name}: value must be finite, got {value}")
    if _myst_glue is not None:
        _myst_glue(name, value, display=False)


def text(name: str, value: str) -> None:
    """Store a short string ({glue:text} shows it without quotes)."""
    _check_name(name)
    if not isinstance(value, str):
        raise TypeError(f"value must be a str, got {type(value).__name__}")
    value = str(value)  # NumPy's str_ is a str, but glue would show its repr, np.str_('...')
    if _myst_glue is not None:
        _myst_glue(name, value, display=False)


def figure(name: str, fig) -> None:
    """Store a matplotlib figure (and show it in the notebook), then close it."""
    _check_name(name)
    if not isinstance(fig, plt.Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    if _myst_glue is not None:
        _myst_glue(name, fig, display=True)
    else:
        display(fig)
    plt.close(fig)


def seed_summary(prefix: str, summary, scale: float = 1.0) -> None:
    """Glue every configuration of a :class:`lib.core.stats.SeedSummary`: ``{prefix}_{label}``
    (the mean over seeds, times ``scale``) and ``{prefix}_{label}_std`` (the sample standard
    deviation, ``ddof=1``, times ``scale``).  Labels must be valid glue names (no spaces)."""
    from .core.stats import SeedSummary

    if not isinstance(summary, SeedSummary):
        raise TypeError(f"summary must be a lib.core.stats.SeedSummary, got {type(summary).__name__}")
    for label in summary.labels:
        number(f"{prefix}_{label}", scale * summary.value(label))
        number(f"{prefix}_{label}_std", scale * summary.value(label, "std"))


def paired_difference(prefix: str, difference) -> None:
    """Glue a per-seed difference (:func:`lib.core.stats.paired_difference`): ``{prefix}_mean``,
    ``{prefix}_std`` (``ddof=1``) and ``{prefix}_wins`` (the seeds on which it is > 0)."""
    import numpy as np

    difference = np.asarray(difference, dtype=np.float64)
    if difference.ndim != 1 or difference.size < 2 or not np.isfinite(difference).all():
        raise ValueError("difference must hold one finite value per seed, at least 2 seeds")
    number(f"{prefix}_mean", difference.mean())
    number(f"{prefix}_std", difference.std(ddof=1))
    number(f"{prefix}_wins", int((difference > 0).sum()))
