"""Argument checks, one function per kind of argument, shared by every public function of ``lib``.

Each check returns the value in its plain Python form (``int``, ``float``, a
tuple or a NumPy array) or raises:

* ``TypeError`` when the value has the wrong type, naming the argument and the
  type it got;
* ``ValueError`` when the type is right but the value is not allowed, naming the
  argument, what is allowed and what it got.

NumPy numbers are numbers: ``np.int64(3)`` passes where an ``int`` is asked for,
``np.float32(0.1)`` where a float is, and a 1-D array where a list is.  A
``bool`` is never taken for a number (``True`` is an ``int`` to Python, but an
epoch count of ``True`` is a mistake).

The messages follow one pattern, ``"<name> must be <what is allowed>, got
<value>"``, so that a reader who passes a wrong value learns which argument it
was and what to pass instead.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import nn


def _type_name(value) -> str:
    return type(value).__name__


def is_integer(value) -> bool:
    """True for Python and NumPy integers, False for bools and everything else."""
    return isinstance(value, (Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value) -> bool:
    """True for Python and NumPy real numbers (integers included), False for bools."""
    return isinstance(value, (Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def integer(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int``; it must be an integer in [``minimum``, ``maximum``] (either bound optional).

    Raises:
        TypeError: ``value`` is not an integer (a bool, a float such as ``10.0``, a string).
        ValueError: ``value`` lies outside the bounds.
    """
    if not is_integer(value):
        raise TypeError(f"{name} must be an int, got {_type_name(value)} {value!r}")
    value = int(value)
    if minimum is not None and maximum is not None:
        if not minimum <= value <= maximum:
            raise ValueError(f"{name} must be an int between {minimum} and {maximum}, got {value}")
    elif minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    elif maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an int <= {maximum}, got {value}")
    return value


def int_at_least(value, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` >= ``minimum`` (:func:`integer` with a lower bound only)."""
    return integer(value, name, minimum=minimum)


def number(value, name: str, *, low: float = -math.inf, high: float = math.inf,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite ``float`` in the interval from ``low`` to ``high``.

    The bounds are included unless ``low_open`` / ``high_open`` say otherwise.

    Raises:
        TypeError: ``value`` is not a real number.
        ValueError: ``value`` is NaN, infinite or outside the interval.
    """
    if not is_real(value):
        raise TypeError(f"{name} must be a real number, got {_type_name(value)} {value!r}")
    value = float(value)
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if not math.isfinite(value) or below or above:
        raise ValueError(f"{name} must be {_interval(low, high, low_open, high_open)}, got {value}")
    return value


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if low == -math.inf and high == math.inf:
        return "a finite number"
    if high == math.inf:
        return f"a finite number {'>' if low_open else '>='} {low:g}"
    if low == -math.inf:
        return f"a finite number {'<' if high_open else '<='} {high:g}"
    if low_open and high_open:
        return f"a finite number strictly between {low:g} and {high:g}"
    return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def positive(value, name: str) -> float:
    """``value`` as a finite ``float`` > 0 (a learning rate, a scale, a tolerance)."""
    return number(value, name, low=0.0, low_open=True)


def number_in(value, name: str, low: float, high: float) -> float:
    """``value`` as a finite ``float`` strictly between ``low`` and ``high``."""
    return number(value, name, low=low, high=high, low_open=True, high_open=True)


def non_negative(value, name: str) -> float:
    """``value`` as a finite ``float`` >= 0 (a weight decay, a noise level)."""
    return number(value, name, low=0.0)


def fraction(value, name: str) -> float:
    """``value`` as a ``float`` in [0, 1) (a momentum, a smoothing factor beta, a decay)."""
    return number(value, name, low=0.0, high=1.0, high_open=True)


def flag(value, name: str) -> bool:
    """``value``, which must be ``True`` or ``False`` (NumPy's bool included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_type_name(value)} {value!r}")
    return bool(value)


def choice(value, name: str, allowed: Iterable[Any]) -> Any:
    """``value``, which must be one of ``allowed`` (a name of a loss, a rule, a mode)."""
    allowed = tuple(allowed)
    try:
        known = value in allowed
    except TypeError:  # an unhashable value against a dict's keys
        known = False
    if not known:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(map(str, allowed))}")
    return value


def _as_list(values, name: str, what: str) -> list:
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{name} must be a 1-D list of {what}, got an array of shape {values.shape}")
        return values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, range)):
        raise TypeError(f"{name} must be a list of {what}, got {_type_name(values)} {values!r}")
    return list(values)


def rates(values, name: str = "rates", *, minimum_count: int = 1, distinct: bool = False,
          increasing: bool = False, allow_zero: bool = False) -> np.ndarray:
    """``values`` as a 1-D float64 array of finite numbers > 0 (learning rates, scales), or >= 0
    with ``allow_zero`` (the rates of a schedule, which may reach 0).

    A NumPy array of numbers is checked as a whole (a schedule of a million steps costs
    one comparison, not a million calls).

    Raises:
        TypeError: ``values`` is not a list, tuple, range or 1-D array, or an entry is not a number.
        ValueError: an entry is not finite and > 0 (>= 0), there are fewer than ``minimum_count``,
            they repeat (``distinct``) or do not increase (``increasing``).
    """
    allowed = "a finite number >= 0" if allow_zero else "a finite number > 0"
    if isinstance(values, np.ndarray) and values.dtype != object and values.ndim == 1 \
            and (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)):
        array = values.astype(np.float64)
        bad = ~np.isfinite(array) | ((array < 0) if allow_zero else (array <= 0))
        if bad.any():
            raise ValueError(f"every entry of {name} must be {allowed}, got {array[bad][0]} "
                             f"(entry {int(np.argmax(bad))})")
    else:
        items = _as_list(values, name, "finite numbers >= 0" if allow_zero else "finite numbers > 0")
        check = non_negative if allow_zero else positive
        array = np.array([check(v, f"every entry of {name}") for v in items], dtype=np.float64)
    if len(array) < minimum_count:
        raise ValueError(f"{name} must hold at least {minimum_count} value(s), got {len(array)}")
    if distinct and len(np.unique(array)) != len(array):
        raise ValueError(f"{name} must be distinct, got {array.tolist()}")
    if increasing and np.any(np.diff(array) <= 0):
        raise ValueError(f"{name} must be increasing, got {array.tolist()}")
    return array


def values(values, name: str, *, minimum_count: int = 1) -> np.ndarray:
    """``values`` (a number, a list or an array) as a flat float64 array of finite numbers
    (coordinates, interpolation weights alpha), at least ``minimum_count`` of them.

    Raises:
        TypeError: not numbers.
        ValueError: fewer than ``minimum_count``, or a value that is NaN or infinite.
    """
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if array.size < minimum_count:
        raise ValueError(f"{name} must hold at least {minimum_count} number(s), got {array.size}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite numbers, got {array[~np.isfinite(array)][0]}")
    return array


def integers(values, name: str, *, minimum: int | None = None, minimum_count: int = 1,
             distinct: bool = False) -> tuple[int, ...]:
    """``values`` as a tuple of ints (seeds, batch sizes, milestones), each >= ``minimum``.

    Raises:
        TypeError: ``values`` is not a list, tuple, range or 1-D array, or an entry is not an int.
        ValueError: an entry is below ``minimum``, there are fewer than ``minimum_count``,
            or they repeat (``distinct``).
    """
    items = _as_list(values, name, "ints")
    if len(items) < minimum_count:
        raise ValueError(f"{name} must be a list of at least {minimum_count} int(s), got {items!r}")
    result = tuple(integer(v, f"every entry of {name}", minimum=minimum) for v in items)
    if distinct and len(set(result)) != len(result):
        raise ValueError(f"{name} must be distinct, got {list(result)}")
    return result


def positive_values(values, name: str) -> np.ndarray:
    """``values`` (a number or an array of any shape) as a float64 array of finite numbers > 0,
    the argument of a formula evaluated at many points (batch sizes, say); a number stays 0-d.

    Raises:
        ValueError: an entry is not finite or not > 0 (or not a number).
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {values!r}") from None
    if not np.isfinite(array).all() or (array <= 0).any():
        raise ValueError(f"{name} must be a finite number > 0 or an array of them, got {values!r}")
    return array


def batch_series(batch_sizes, values, name: str, minimum_count: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Increasing batch sizes and one value > 0 of ``name`` measured at each, as two float64 arrays.

    Raises:
        TypeError: either is not a list, tuple or 1-D array of numbers.
        ValueError: an entry is not finite and > 0, the batch sizes do not increase,
            the two differ in length, or there are fewer than ``minimum_count``.
    """
    b = rates(batch_sizes, "batch_sizes", increasing=True)
    v = rates(values, name)
    if b.shape != v.shape:
        raise ValueError(f"batch_sizes and {name} must be equally long, got {b.size} and {v.size}")
    if b.size < minimum_count:
        raise ValueError(f"batch_sizes must hold at least {minimum_count} batch sizes, got {b.size}")
    return b, v


def two_batch_sizes(b_small, b_big) -> tuple[int, int]:
    """A small and a big batch size, ints with 1 <= ``b_small`` < ``b_big`` (McCandlish et al.'s estimator).

    Raises:
        TypeError: either is not an int.
        ValueError: either is < 1, or ``b_small`` >= ``b_big``.
    """
    b_small = integer(b_small, "b_small", minimum=1)
    b_big = integer(b_big, "b_big", minimum=1)
    if b_small >= b_big:
        raise ValueError(f"b_small must be smaller than b_big, got b_small={b_small}, b_big={b_big}")
    return b_small, b_big


def seed(value, name: str = "seed") -> int:
    """``value`` as an int >= 0: a seed of a random number generator."""
    return integer(value, name, minimum=0)


def seeds(values, name: str = "seeds") -> tuple[int, ...]:
    """``values`` as a non-empty tuple of distinct seeds (ints >= 0)."""
    return integers(values, name, minimum=0, minimum_count=1, distinct=True)


def batch_size(value, n: int, name: str = "batch_size") -> int:
    """``value`` as an int between 1 and the ``n`` examples it draws from."""
    return integer(value, name, minimum=1, maximum=n)


def module(model, name: str = "model") -> nn.Module:
    """``model``, which must be an ``nn.Module`` with at least one parameter.

    Raises:
        TypeError: ``model`` is not a ``torch.nn.Module``.
        ValueError: it has no parameters.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be an nn.Module, got {_type_name(model)}")
    if next(iter(model.parameters()), None) is None:
        raise ValueError(f"{name} has no parameters to train")
    return model


def function(value, name: str, signature: str) -> Any:
    """``value``, which must be callable as ``signature`` (e.g. ``"f(step) -> rate"``)."""
    if not callable(value):
        raise TypeError(f"{name} must be a function {signature}, got {_type_name(value)}")
    return value


def _probe(model: nn.Module, x: torch.Tensor, name: str) -> torch.Tensor:
    """The model's output for the first example of ``x``, in evaluation mode, nothing changed."""
    modes = [m.training for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            return model(x[:1])
    except RuntimeError as error:
        raise ValueError(f"the model cannot take {name} of shape {tuple(x.shape)} "
                         f"({tuple(x.shape[1:])} per example): {str(error).splitlines()[0]}") from None
    finally:
        for m, mode in zip(model.modules(), modes):
            m.training = mode


def _all_finite(x: torch.Tensor) -> bool:
    """True when ``x`` holds no NaN and no infinite value: one reduction pass, nothing allocated.

    ``aminmax`` propagates NaN and an infinity is an extreme, so both ends are finite exactly when
    every element is.  (``torch.isfinite(x).any()`` writes a mask of x's size in five passes: on the
    55,000 training images about 30 times slower, and the chapter checks its data at every run.)
    """
    if x.numel() == 0:
        return True
    low, high = torch.aminmax(x.detach().reshape(-1))
    return math.isfinite(float(low)) and math.isfinite(float(high))


def inputs(x, model: nn.Module | None = None, name: str = "x") -> torch.Tensor | None:
    """Inputs ``x``: a non-empty floating-point tensor (n, ...) without NaN or infinite values; with a
    model, of its parameter dtype and device and of a shape it takes (one example is run through it,
    in evaluation mode, nothing changed).  Returns the model's output for that example (or None).

    Raises:
        TypeError: not a tensor, not floating point, or a dtype other than the model's.
        ValueError: empty; NaN or infinite values; another device; a shape the model cannot take.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_type_name(x)}")
    if x.dim() == 0 or x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one example (row), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must hold floating-point inputs, got {x.dtype}; convert it with "
                        f"{name}.float() (the chapter scales pixels to [0, 1])")
    if not _all_finite(x):
        bad = ~torch.isfinite(x)
        row = int(bad.reshape(x.shape[0], -1).any(1).nonzero()[0, 0])
        raise ValueError(f"{name} holds {int(bad.sum())} NaN or infinite value(s), the first in example {row}; "
                         "clean the data before training (a NaN input is not a diverged run)")
    if model is None:
        return None
    parameter = next(iter(model.parameters()), None)
    if parameter is not None:
        if x.dtype != parameter.dtype:
            raise TypeError(f"{name} is {x.dtype} but the model's weights are {parameter.dtype}; "
                            f"convert one of them ({name}.to({parameter.dtype}) or model.to({x.dtype}))")
        if x.device != parameter.device:
            raise ValueError(f"{name} is on {x.device} but the model on {parameter.device}; move one of them")
    return _probe(model, x, name)


def feature_rows(x: torch.Tensor, name: str, who: str) -> torch.Tensor:
    """``x`` as one row of features per example, (n, features), which ``who`` needs.

    Raises:
        ValueError: ``x`` has another number of dimensions.
    """
    if x.dim() != 2:
        raise ValueError(f"{who} takes one row of features per example, (n, features); {name} has shape "
                         f"{tuple(x.shape)}: flatten it ({name}.flatten(1)) and let the model reshape "
                         "(as lib.core.models.SmallCNN does)")
    return x


def examples(x, y, *, loss="cross_entropy", model: nn.Module | None = None,
             names: tuple[str, str] = ("x", "y")) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``x`` and targets ``y`` checked against the loss and, when given, the model, before any step.

    * ``x``: a floating-point tensor (n, ...) without NaN or infinite values; with a
      model, of the model's parameter dtype and device, and of a shape the model takes
      (one example is run through it, in evaluation mode, to find out);
    * ``y`` for a classification loss (``cross_entropy``): int64 class labels of
      shape (n,), each in [0, C) for a model with C outputs;
    * ``y`` for a regression loss (``mse``): floating-point targets, (n,) or (n, C),
      of the model's dtype, as many numbers per example as the model outputs.

    A loss given as a function (a reader's own) only gets the row and ``x`` checks.

    Raises:
        TypeError: not tensors; ``x`` not floating point; labels that are floats or
            not int64; regression targets that are not floating point; a dtype that
            differs from the model's.
        ValueError: row counts that differ; NaN or infinite inputs; a shape the model
            cannot take; labels of shape (n, 1) or out of range; targets whose size
            per example differs from the model's output; a device other than the model's.
    """
    nx, ny = names
    tensors(x, y, names)
    output = inputs(x, model, nx)
    if model is not None and output is not None and y.device != x.device:
        raise ValueError(f"{ny} is on {y.device} but {nx} and the model on {x.device}; move them to one device")
    if not isinstance(loss, str):
        return x, y
    from .losses import get

    if get(loss).classification:
        if y.is_floating_point():
            raise TypeError(f"{ny} must hold int64 class labels for {loss}, got floating-point {y.dtype} "
                            "values; labels are integers 0 .. C-1")
        if y.dtype != torch.int64:
            raise TypeError(f"{ny} must hold int64 class labels for {loss}, got {y.dtype}; convert with {ny}.long()")
        if y.dim() != 1:
            hint = f"; an (n, 1) column of labels: use {ny}.squeeze(1)" if y.dim() == 2 and y.shape[1] == 1 else ""
            raise ValueError(f"{ny} must be a 1-D tensor of class labels, shape (n,), got shape {tuple(y.shape)}{hint}")
        classes = None if output is None else output.reshape(1, -1).shape[1]
        low, high = int(y.min()), int(y.max())
        if low < 0 or (classes is not None and high >= classes):
            allowed = f"[0, {classes - 1}] for a model with {classes} outputs" if classes else ">= 0"
            raise ValueError(f"{ny} must hold class labels in {allowed}, got {low if low < 0 else high}")
    else:
        if not y.is_floating_point():
            raise TypeError(f"{ny} must hold floating-point targets for {loss}, got {y.dtype}")
        if output is not None:
            if y.dtype != output.dtype:
                raise TypeError(f"{ny} is {y.dtype} but the model computes in {output.dtype}; convert {ny}")
            per_example, outputs = y[0].numel() if y.dim() > 1 else 1, output[0].numel()
            if per_example != outputs:
                raise ValueError(f"{ny} has {per_example} number(s) per example but the model outputs {outputs}")
    return x, y


def data_for(data, *, loss="cross_entropy", model: nn.Module | None = None, name: str = "data"):
    """Every split of ``data`` (a :class:`lib.core.data.Splits`) checked by :func:`examples`.

    Raises:
        TypeError, ValueError: as :func:`examples`, naming the split (``data.x_val``, say).
    """
    splits(data, name)
    for part in ("train", "val", "test"):
        x, y = getattr(data, f"x_{part}"), getattr(data, f"y_{part}")
        if x is not None:
            examples(x, y, loss=loss, model=model, names=(f"{name}.x_{part}", f"{name}.y_{part}"))
    return data


def splits(data, name: str = "data", *, validation: bool = False, test: bool = False,
           classification: bool = False):
    """``data``, which must be a :class:`lib.core.data.Splits` (with a validation or test split, or
    integer class labels, when asked).

    Raises:
        TypeError: ``data`` is not ``Splits``.
        ValueError: a split that is asked for is missing, or (``classification``) the
            training labels are not int64 class labels.
    """
    from .data import Splits

    if not isinstance(data, Splits):
        raise TypeError(f"{name} must be lib.core.data.Splits (e.g. from load_mnist), got {_type_name(data)}")
    for wanted, part, what in ((validation, "x_val", "validation"), (test, "x_test", "test")):
        if wanted and getattr(data, part) is None:
            raise ValueError(f"{name} needs a {what} split, and has none")
    if classification and data.y_train.dtype != torch.int64:
        raise ValueError(f"{name}.y_train must hold int64 class labels for a classifier, got {data.y_train.dtype}")
    return data


def tensors(x, y, names: tuple[str, str] = ("x", "y"), *, minimum: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``x`` and targets ``y``: tensors with the same number (>= ``minimum``) of rows.

    Raises:
        TypeError: either is not a ``torch.Tensor``.
        ValueError: their row counts differ or are below ``minimum``.
    """
    for value, label in zip((x, y), names):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{label} must be a torch.Tensor, got {_type_name(value)}")
    if x.dim() == 0 or y.dim() == 0 or x.shape[0] != y.shape[0] or x.shape[0] < minimum:
        rows = lambda t: t.shape[0] if t.dim() else "no"  # noqa: E731
        raise ValueError(f"{names[0]} and {names[1]} must hold the same number (>= {minimum}) of examples "
                         f"(rows), got {rows(x)} and {rows(y)}")
    return x, y
