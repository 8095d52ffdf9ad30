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

import json
import math
import os
from numbers import Integral, Real
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display

from .core.timing import timed

try:  # the book build (myst-nb) is optional for readers
    from myst_nb import glue as _myst_glue
except ImportError:  # pragma: no cover - exercised on Colab
    _myst_glue = None


#: A folder the book's build names (``tools/build_book.py``): each kernel appends every verdict it
#: computes or asserts, and every text it glues, to ``<folder>/verdicts-<pid>.jsonl``, from which
#: :mod:`tools.verdict_table` writes the table of the chapter's verdicts with the numbers behind them.
VERDICT_DIR_ENV = "LR_BOOK_VERDICT_DIR"


def _record(kind: str, **fields) -> None:
    """Append one record to this kernel's verdict log, when the build asked for one; never fails."""
    folder = os.environ.get(VERDICT_DIR_ENV, "").strip()
    if not folder:
        return
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        line = json.dumps({"kind": kind, **fields}, default=_plain)
        with open(Path(folder) / f"verdicts-{os.getpid()}.jsonl", "a", encoding="utf-8") as log:
            log.write(line + "\n")
    except (OSError, TypeError, ValueError):             # a log must never fail a notebook
        pass


def _plain(value):
    """JSON for NumPy / torch scalars (and anything else as its repr)."""
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, RuntimeError):
            pass
    return repr(value)


def _check_name(name) -> str:
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise ValueError(f"name must be a non-empty string without spaces, got {name!r}")
    return name


def number(name: str, value) -> None:
    """Store a real number (NumPy scalars included) as a plain Python number."""
    _check_name(name)
    value = _scalar(value, "value")
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
    _record("text", name=name, value=value)
    if _myst_glue is not None:
        _myst_glue(name, value, display=False)


@timed("drawing")
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


# ---------------------------------------------------------------------------------------------------
# Verdicts: words computed from the run's numbers, or a stop with the sentence that no longer holds.
#
# A sentence that compares or judges ("A ends lower than B", "x lies between y and z", "grows by a
# factor of 3") is either assembled from these helpers, so that other numbers give other words, or
# guarded by :func:`require`, which stops the build and names the sentence.
# ---------------------------------------------------------------------------------------------------

class VerdictError(AssertionError):
    """A sentence of the prose no longer follows from the numbers of the run (raised by :func:`require`)."""


def _scalar(value, what: str):
    """``value`` as a Python int or float (NumPy / torch scalars and one-element arrays unwrapped).

    Raises:
        TypeError: an array of several numbers, a bool, or anything that is not a real number.
    """
    if hasattr(value, "item"):
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            raise TypeError(f"{what} must be a single real number, got an array of shape {value.shape}") from None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{what} must be a real number, got {type(value).__name__}")
    return value


def _real(value, what: str) -> float:
    value = float(_scalar(value, what))
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value}")
    return value


def _word(value, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    return str(value)


def require(condition, sentence: str, **numbers) -> None:
    """Stop the build when a claim typed in the prose is false for this run.

    Args:
        condition: the claim, evaluated on the run's numbers (anything ``bool()`` accepts,
            a NumPy bool included).
        sentence (str): where the claim stands and what it says, e.g.
            ``'section 3, "the fixed rate 0.8 ends lowest"'``; it is the message's subject.
        **numbers: the numbers behind the claim, printed in the message.

    Raises:
        VerdictError: (an ``AssertionError``) when ``condition`` is false; its message quotes
            ``sentence`` and the numbers.
        TypeError: when ``sentence`` is not a non-empty str.
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise TypeError(f"sentence must be a non-empty str naming the claim, got {sentence!r}")
    held = bool(condition)
    _record("asserted", sentence=sentence, held=held, numbers=numbers)
    if held:
        return
    shown = ", ".join(f"{name} = {value:.4g}" if isinstance(value, Real) and not isinstance(value, bool)
                      else f"{name} = {value!r}" for name, value in numbers.items())
    raise VerdictError(f"the prose says {sentence}, but this run does not support it"
                       + (f" ({shown})" if shown else "") + ": change the sentence or compute it from the numbers")


def compare(a, b, *, more: str = "higher", less: str = "lower", same: str = "the same as",
            tolerance: float = 0.0) -> str:
    """The word that compares ``a`` with ``b``: ``more`` if ``a > b + tolerance``, ``less`` if
    ``a < b - tolerance``, else ``same``.

    Raises:
        TypeError: a number is not real, or a word not a str.  ValueError: a number is not finite
        or ``tolerance`` is negative.
    """
    a, b = _real(a, "a"), _real(b, "b")
    tolerance = _real(tolerance, "tolerance")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    more, less, same = _word(more, "more"), _word(less, "less"), _word(same, "same")
    word = more if a > b + tolerance else less if a < b - tolerance else same
    _record("word", helper="compare", word=word, numbers={"a": a, "b": b, "tolerance": tolerance})
    return word


def position(x, low, high, *, below: str = "below", between: str = "between", above: str = "above") -> str:
    """Where ``x`` lies against the interval spanned by ``low`` and ``high`` (in either order):
    ``below``, ``between`` (ends included) or ``above``.

    Raises:
        TypeError / ValueError: as :func:`compare`.
    """
    x, low, high = _real(x, "x"), _real(low, "low"), _real(high, "high")
    low, high = min(low, high), max(low, high)
    below, between, above = _word(below, "below"), _word(between, "between"), _word(above, "above")
    word = below if x < low else above if x > high else between
    _record("word", helper="position", word=word, numbers={"x": x, "low": low, "high": high})
    return word


def factor(ratio, digits: int = 2) -> str:
    """A positive ratio written with ``digits`` significant digits, never as ``0`` and never in
    exponent notation: 0.4337 -> ``"0.43"``, 12.34 -> ``"12"``, 1234.5 -> ``"1,234"`` (ratios of
    ``10**digits`` or more are rounded to whole numbers), 0.000123 -> ``"0.00012"``.

    Use :func:`change` to say "falls by a factor of 2.3" instead of "a factor of 0.43".

    Raises:
        TypeError: ``ratio`` is not a real number, ``digits`` not an int.
        ValueError: ``ratio`` is not finite and positive, or ``digits`` is below 1.
    """
    ratio = _real(ratio, "ratio")
    if isinstance(digits, bool) or not isinstance(digits, Integral):
        raise TypeError(f"digits must be an int, got {type(digits).__name__}")
    if digits < 1:
        raise ValueError(f"digits must be >= 1, got {digits}")
    if ratio <= 0:
        raise ValueError(f"ratio must be > 0 (a factor between two positive numbers), got {ratio}")
    if ratio >= 10 ** digits:
        return f"{round(ratio):,}"
    decimals = max(0, digits - 1 - math.floor(math.log10(ratio)))
    text = f"{round(ratio, decimals):.{decimals}f}"
    # rounding may carry into a new digit (9.96 -> "10.0" with 2 digits): keep `digits` digits
    if decimals and len(text.replace(".", "").lstrip("0")) > digits:
        text = text[:-1].rstrip(".")
    return text


def change(ratio, *, up: str = "grows", down: str = "falls", flat: str = "hardly changes",
           tolerance: float = 0.1, digits: int = 2) -> str:
    """Say how a quantity changed, from ``ratio`` = new / old: ``"grows by a factor of 2.5"``,
    ``"falls by a factor of 2.3"`` (for a ratio of 0.43), or ``flat`` when the ratio lies within
    ``[1/(1 + tolerance), 1 + tolerance]``.

    Raises:
        TypeError / ValueError: as :func:`factor`; ``tolerance`` must be >= 0.
    """
    ratio = _real(ratio, "ratio")
    tolerance = _real(tolerance, "tolerance")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    if ratio <= 0:
        raise ValueError(f"ratio must be > 0 (new / old of a positive quantity), got {ratio}")
    up, down, flat = _word(up, "up"), _word(down, "down"), _word(flat, "flat")
    if ratio > 1 + tolerance:
        word = f"{up} by a factor of {factor(ratio, digits)}"
    elif ratio < 1 / (1 + tolerance):
        word = f"{down} by a factor of {factor(1 / ratio, digits)}"
    else:
        word = flat
    _record("word", helper="change", word=word, numbers={"ratio": ratio, "tolerance": tolerance})
    return word


_NUMBER_WORDS = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                 "eleven", "twelve")


def count(n, total) -> str:
    """How many of ``total`` things, in words: ``"none"``, ``"one"``, ..., ``"both"`` (2 of 2),
    ``"all four"`` (n == total > 2); numbers above twelve as digits.

    Raises:
        TypeError: ``n`` or ``total`` is not an int (NumPy ints accepted).
        ValueError: unless ``0 <= n <= total``.
    """
    values = []
    for value, what in ((n, "n"), (total, "total")):
        if hasattr(value, "item") and not isinstance(value, bool):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{what} must be an int, got {type(value).__name__}")
        values.append(int(value))
    n, total = values
    if not 0 <= n <= total:
        raise ValueError(f"n must lie in [0, total], got n = {n}, total = {total}")
    say = lambda k: _NUMBER_WORDS[k] if k < len(_NUMBER_WORDS) else f"{k:,}"
    word = "both" if n == total == 2 else f"all {say(total)}" if n == total and total > 2 else say(n)
    _record("word", helper="count", word=word, numbers={"n": n, "total": total})
    return word


def choose(name: str, condition, if_true: str, if_false: str) -> str:
    """Glue (as text, under ``name``) and return ``if_true`` or ``if_false``, whichever
    ``condition`` selects: a sentence whose verdict the numbers decide."""
    _check_name(name)
    held = bool(condition)
    chosen = _word(if_true, "if_true") if held else _word(if_false, "if_false")
    _record("chosen", name=name, held=held, word=chosen)
    text(name, chosen)
    return chosen
