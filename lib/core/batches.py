"""Any batches and any loss: what the chapter's tools need to run on a reader's own model.

The section tools (the range test, the gradient noise scale, the Hessian's
sharpness) take

* ``batches``: any iterable of batches, a ``torch.utils.data.DataLoader`` above all.
  A batch is a tuple or list ``(inputs, target)`` or ``(input_1, ..., input_k, target)``,
  a dict of tensors (``{"image": ..., "label": ...}``), or a single tensor for an
  objective that needs no target.  Its tensors hold the examples along their first
  dimension.  :class:`Batches` moves each batch to the model's device, counts its
  examples, and starts the iterable again when it runs out (a ``DataLoader`` with
  ``shuffle=True`` then draws a new order, from torch's global random state);
* an objective: either ``loss``, a function ``loss(output, target) -> scalar`` such as
  ``nn.CrossEntropyLoss()``, applied to ``model(*inputs)`` and the target of a
  tuple batch (of a dict batch: ``model(batch[inputs])`` and ``batch[target]``,
  keys the caller names), or ``objective``, a function ``(model, batch) -> scalar``
  for models that compute their own loss (a dict of keyword arguments, a
  Hugging-Face-style model returning its loss).  :func:`objective` turns either
  into one function ``(model, batch) -> scalar``.

:func:`check_source` and :func:`trainable` check, before any step, that the
iterable is one with enough batches and that the model has parameters that
require gradients; :func:`checked_loss` runs the objective on the first batch and
names what the batch held when the objective cannot take it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import torch
from torch import nn

Batch = Any
Objective = Callable[[nn.Module, Batch], torch.Tensor]


def describe(batch: Batch) -> str:
    """A short description of a batch for error messages: its type, keys and tensor shapes."""
    if isinstance(batch, torch.Tensor):
        return f"Tensor{tuple(batch.shape)} {str(batch.dtype).replace('torch.', '')}"
    if isinstance(batch, Mapping):
        return "dict {" + ", ".join(f"{k!r}: {describe(v)}" for k, v in batch.items()) + "}"
    if isinstance(batch, (tuple, list)):
        kind = "tuple" if isinstance(batch, tuple) else "list"
        return f"{kind} (" + ", ".join(describe(v) for v in batch) + ")"
    return type(batch).__name__


def to_device(batch: Batch, device: torch.device) -> Batch:
    """``batch`` with every tensor in it (in tuples, lists and dicts, nested) moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return type(batch)((k, to_device(v, device)) for k, v in batch.items()) \
            if type(batch) is not dict else {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):   # a namedtuple
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _tensors(batch: Batch) -> list[torch.Tensor]:
    if isinstance(batch, torch.Tensor):
        return [batch]
    if isinstance(batch, Mapping):
        return [t for v in batch.values() for t in _tensors(v)]
    if isinstance(batch, (tuple, list)):
        return [t for v in batch for t in _tensors(v)]
    return []


def examples_in(batch: Batch) -> int:
    """The number of examples in ``batch``: the first dimension of its first tensor with one.

    Raises:
        ValueError: the batch holds no tensor with a batch dimension.
    """
    for t in _tensors(batch):
        if t.dim() > 0:
            return int(t.shape[0])
    raise ValueError(f"a batch must hold tensors with the examples along their first dimension, "
                     f"got {describe(batch)}")


def objective(loss: Callable | None = None, step: Objective | None = None, *,
              inputs: str | Sequence[str] | None = None, target: str | None = None) -> Objective:
    """One function ``(model, batch) -> scalar loss`` from a loss or from an objective of one's own.

    Exactly one of ``loss`` and ``step`` is given.

    * ``loss(output, target)``: a tuple/list batch ``(x_1, ..., x_k, y)`` gives
      ``loss(model(x_1, ..., x_k), y)``; a dict batch gives
      ``loss(model(*[batch[k] for k in inputs]), batch[target])`` (``inputs`` a key
      or a list of keys, ``target`` a key; both needed for dict batches).
    * ``step(model, batch)``: used as it is.

    Args:
        loss (callable, optional): ``(output, target) -> scalar``, e.g. ``nn.CrossEntropyLoss()``.
        step (callable, optional): ``(model, batch) -> scalar``.
        inputs (str or list[str], optional): the input key(s) of a dict batch.
        target (str, optional): the target key of a dict batch.

    Returns:
        callable: ``(model, batch) -> scalar tensor``.

    Raises:
        TypeError: neither or both given, or one that is not callable; keys that are not strings.
    """
    if (loss is None) == (step is None):
        raise TypeError("give exactly one of loss (a function (output, target) -> loss) and "
                        "objective (a function (model, batch) -> loss)")
    if step is not None:
        if not callable(step):
            raise TypeError(f"objective must be a function (model, batch) -> loss, got {type(step).__name__}")
        return step
    if not callable(loss):
        raise TypeError(f"loss must be a function (output, target) -> loss, got {type(loss).__name__}")
    keys = [inputs] if isinstance(inputs, str) else (None if inputs is None else list(inputs))
    if keys is not None and not all(isinstance(k, str) for k in keys):
        raise TypeError(f"inputs must be a key or a list of keys (strings), got {inputs!r}")
    if target is not None and not isinstance(target, str):
        raise TypeError(f"target must be a key (a string), got {target!r}")

    def from_loss(model: nn.Module, batch: Batch) -> torch.Tensor:
        if isinstance(batch, Mapping):
            if keys is None or target is None:
                raise ValueError(f"a dict batch needs inputs= and target= naming its keys, "
                                 f"got keys {list(batch)}")
            return loss(model(*[batch[k] for k in keys]), batch[target])
        if isinstance(batch, (tuple, list)) and len(batch) >= 2:
            return loss(model(*batch[:-1]), batch[-1])
        raise ValueError(f"a batch for loss(output, target) must be (inputs, target), "
                         f"(input_1, ..., target) or a dict, got {describe(batch)}")

    return from_loss


@dataclass
class Batches:
    """An iterable of batches, taken one batch at a time, on ``device``, started again when it runs out.

    Attributes:
        source (iterable): the batches (a ``DataLoader``, a list, ...).
        device (torch.device): where each batch is moved.
        passes (int): how many times the source has been started.
        taken (int): batches handed out so far.
    """

    source: Iterable
    device: torch.device
    passes: int = 0
    taken: int = 0

    def __post_init__(self):
        self._iterator: Iterator | None = None
        self._reiterable = not hasattr(self.source, "__next__")      # a generator or iterator is one-shot

    def next(self) -> Batch:
        """The next batch, on :attr:`device`.

        Raises:
            ValueError: the source yields nothing, or a one-shot iterator (a generator) ran out.
        """
        if self._iterator is not None:
            batch = next(self._iterator, _END)
            if batch is not _END:
                self.taken += 1
                return to_device(batch, self.device)
            if not self._reiterable:
                raise ValueError(f"the batches ran out after {self.taken} batches and cannot be started "
                                 f"again (a one-shot iterator); pass a DataLoader or a list")
        self._iterator = iter(self.source)
        self.passes += 1
        batch = next(self._iterator, _END)
        if batch is _END:
            raise ValueError("the batches are empty: iterating them yielded no batch")
        self.taken += 1
        return to_device(batch, self.device)


_END = object()


def trainable(model: nn.Module, name: str = "model") -> list[torch.nn.Parameter]:
    """The parameters of ``model`` that require gradients.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: it has no parameter that requires gradients.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be an nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"{name} has no parameters that require gradients (all frozen, or none at all)")
    return params


def device_of(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter."""
    return next(model.parameters()).device


def check_source(batches, needed: int = 1, name: str = "batches") -> None:
    """``batches`` must be an iterable; if it has a length, at least ``needed`` batches.

    Raises:
        TypeError: not an iterable (a tensor counts as a mistake: pass a list of batches).
        ValueError: it has a length below ``needed`` (0: empty).
    """
    if isinstance(batches, (torch.Tensor, Mapping, str, bytes)) or not isinstance(batches, Iterable):
        raise TypeError(f"{name} must be an iterable of batches (a DataLoader, a list of batches), "
                        f"got {type(batches).__name__}")
    try:
        length = len(batches)
    except TypeError:           # an iterator or IterableDataset loader: checked as it is used
        return
    if length == 0:
        raise ValueError(f"{name} is empty: it yields no batch")
    if length < needed:
        raise ValueError(f"{name} yields {length} batch(es) per pass, fewer than the {needed} one step needs")


def checked_loss(fn: Objective, model: nn.Module, batch: Batch) -> torch.Tensor:
    """``fn(model, batch)``, the first call on a new source: a failure becomes an error that names
    what the batch held, and anything but a scalar floating-point tensor is refused.

    Raises:
        ValueError: the objective fails on the batch (a wrong key, a shape the model cannot take,
            a target the loss refuses), or returns something other than a scalar tensor.
    """
    try:
        value = fn(model, batch)
    except (RuntimeError, ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"the loss cannot take the batch it received, {describe(batch)}: "
                         f"{type(error).__name__}: {first}") from None
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or not value.is_floating_point():
        got = describe(value) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"the loss must return a scalar floating-point tensor, got {got} "
                         f"for the batch {describe(batch)}")
    return value


def functional(model: nn.Module, params: Mapping[str, torch.Tensor], buffers: Mapping[str, torch.Tensor]):
    """``model`` called with ``params`` and ``buffers`` in place of its own (``torch.func.functional_call``;
    those not named keep the model's): what an objective ``(model, batch) -> loss`` is given as its
    model when it is differentiated with ``torch.func``.  It must call the model as ``model(...)``."""
    def call(*args, **kwargs):
        return torch.func.functional_call(model, (dict(params), dict(buffers)), args, kwargs)
    return call


def one_example(example: Batch) -> Batch:
    """One example, its leading dimension dropped (by ``torch.func.vmap``), as a batch of one."""
    return torch.utils._pytree.tree_map(lambda t: t.unsqueeze(0) if isinstance(t, torch.Tensor) else t, example)
