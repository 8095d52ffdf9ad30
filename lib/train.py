"""Mini-batch SGD on device-resident tensors, for whole grids of runs at once.

A *grid* is a list of :class:`Member` configurations that share the model shape,
the data and the batch size but differ in learning rate, schedule, momentum,
weight decay, initial weights or data order.  :func:`train_grid` trains all K of
them in lockstep as one computation:

* the K sets of weights are stacked along a leading axis
  (:func:`torch.func.stack_module_state`), so one forward and one backward pass
  serve every member;
* for the textbook's perceptron, the first layer of all K members is one matrix
  product ``x @ [W_1; ...; W_K]^T`` (it holds 98% of the arithmetic); any other
  module runs through :func:`torch.func.vmap` over :func:`torch.func.functional_call`;
* the data sit on the device; each epoch draws one ``torch.randperm`` per data
  seed from a generator seeded with it, and batches are consecutive slices of
  that permutation (the last one may be smaller, as with a ``DataLoader``):
  no per-example Python, no collation;
* the update is PyTorch's SGD rule (``torch.optim.SGD`` with ``dampening=0``),
  applied with a per-member learning rate, momentum and weight decay::

      g <- g + wd * w;   b <- m * b + g;   w <- w - lr_t * b

* every member's learning rate for every step is computed before training from
  its schedule (a fresh ``torch.optim.lr_scheduler`` object, a ``partial`` of a
  scheduler class, or a function of the step), and the history records the rate
  that was actually multiplied into the update;
* a member whose loss becomes non-finite (or exceeds ``divergence_loss``) is
  marked diverged at that step and frozen; the others carry on untouched.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from .data import Splits
from .device import seeded_generator
from .models import ACTIVATIONS, build_model

Schedule = Union[None, LRScheduler, functools.partial, type, Callable[[int], float]]

PROGRESS_ENV = "LR_BOOK_PROGRESS"
LOSSES = ("cross_entropy", "mse")


# --------------------------------------------------------------------------- config

@dataclass(frozen=True)
class Member:
    """One run of a grid.

    ``lr`` is the base learning rate.  ``schedule`` makes it vary with the step:

    * ``None``: constant ``lr``;
    * ``functools.partial(StepLR, step_size=50, gamma=0.9)`` (or a scheduler class):
      built fresh on an optimiser whose rate is ``lr``, stepped once per update;
    * a fresh ``LRScheduler`` object: its optimiser's initial rate is the base rate
      (``lr`` must be left at ``None`` or agree with it); it is used up by training;
    * a function ``step -> learning rate`` (0-based step).

    ``init_seed`` fixes the initial weights and ``data_seed`` the order of the
    examples, so two members that share both see identical starts.
    """

    lr: float | None = 0.1
    schedule: Schedule = None
    momentum: float = 0.0
    weight_decay: float = 0.0
    init_seed: int = 0
    data_seed: int = 0
    label: str | None = None

    def __post_init__(self):
        if self.lr is not None:
            _check_rate(self.lr, "lr")
        for name in ("momentum", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise TypeError(f"{name} must be a finite number, got {value!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        for name in ("init_seed", "data_seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if self.lr is None and not isinstance(self.schedule, LRScheduler) and not _is_step_function(self.schedule):
            raise ValueError("lr=None is only allowed with a scheduler object or a step function "
                             "that sets the rate itself")
        if isinstance(self.schedule, ReduceLROnPlateau):
            raise TypeError("ReduceLROnPlateau depends on measured metrics and cannot be "
                            "precomputed; use a step-based scheduler")

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        parts = [f"lr={self.lr:g}" if self.lr is not None else "lr=schedule"]
        if self.momentum:
            parts.append(f"m={self.momentum:g}")
        if self.weight_decay:
            parts.append(f"wd={self.weight_decay:g}")
        if self.init_seed or self.data_seed:
            parts.append(f"seed={self.init_seed}/{self.data_seed}")
        return " ".join(parts)


def _check_rate(value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a finite number > 0, got {value}")


def _is_scheduler_class(schedule) -> bool:
    target = schedule.func if isinstance(schedule, functools.partial) else schedule
    return isinstance(target, type) and issubclass(target, LRScheduler)


def _is_step_function(schedule) -> bool:
    return callable(schedule) and not isinstance(schedule, LRScheduler) and not _is_scheduler_class(schedule)


def grid(**axes: Sequence[Any]) -> list[Member]:
    """Every combination of the given :class:`Member` fields, e.g.
    ``grid(lr=[0.1, 0.3], init_seed=[0, 1])`` gives four members."""
    fields = {f.name for f in dataclasses.fields(Member)}
    unknown = sorted(set(axes) - fields)
    if unknown:
        raise ValueError(f"unknown grid axis {unknown}; allowed: {sorted(fields)}")
    if not axes:
        raise ValueError("grid() needs at least one axis, e.g. grid(lr=[0.1, 0.5])")
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid axis {name!r} must be a non-empty list, got {values!r}")
    names = list(axes)
    return [Member(**dict(zip(names, combo))) for combo in itertools.product(*axes.values())]


# --------------------------------------------------------------------------- schedules

def _scheduler_rates(scheduler: LRScheduler, steps: int) -> np.ndarray:
    """Step a scheduler ``steps`` times and read the rate it sets before each update."""
    group = scheduler.optimizer.param_groups[0]
    rates = np.empty(steps, dtype=np.float64)
    with warnings.catch_warnings():
        # The scheduler's optimiser is never stepped: only its rate is read.
        warnings.filterwarnings("ignore", message=r".*lr_scheduler\.step\(\)")
        for step in range(steps):
            rates[step] = float(group["lr"])
            scheduler.step()
    return rates


def learning_rates(member: Member, steps: int) -> np.ndarray:
    """The learning rate ``member`` applies at each of its first ``steps`` updates.

    A scheduler object must be fresh: a scheduler that was already stepped (say,
    to plot it) would start training mid-schedule, the bug of d2l's scheduling
    chapter, so that is an error here; and once used it is spent.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    schedule = member.schedule
    if schedule is None:
        rates = np.full(steps, float(member.lr))
    elif isinstance(schedule, LRScheduler):
        if schedule.last_epoch != 0 or getattr(schedule, "_lr_book_spent", False):
            raise ValueError(
                f"this {type(schedule).__name__} has already been stepped {schedule.last_epoch} "
                "time(s), so training with it would start mid-schedule; pass a fresh scheduler, "
                "or better a functools.partial of the scheduler class, which the trainer builds fresh")
        base = float(schedule.optimizer.param_groups[0]["lr"])
        if member.lr is not None and not math.isclose(base, member.lr, rel_tol=1e-12):
            raise ValueError(f"the scheduler's optimiser starts at lr={base:g} but the member "
                             f"says lr={member.lr:g}; set lr=None or make them agree")
        rates = _scheduler_rates(schedule, steps)
        schedule._lr_book_spent = True
    elif _is_scheduler_class(schedule):
        proxy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=float(member.lr))
        try:
            scheduler = schedule(proxy)
        except TypeError as error:
            raise TypeError(f"could not build the scheduler from {schedule!r}: {error}") from error
        rates = _scheduler_rates(scheduler, steps)
    elif callable(schedule):
        rates = np.array([float(schedule(step)) for step in range(steps)], dtype=np.float64)
    else:
        raise TypeError(f"schedule must be None, an LRScheduler, a partial of a scheduler class "
                        f"or a function of the step, got {type(schedule).__name__}")
    bad = ~np.isfinite(rates) | (rates < 0)
    if bad.any():
        step = int(np.argmax(bad))
        raise ValueError(f"the schedule gives learning rate {rates[step]} at step {step}; "
                         "rates must be finite and >= 0")
    return rates


# --------------------------------------------------------------------------- history

@dataclass
class History:
    """What a grid run recorded: plain arrays, one row per member.

    ``step_loss[k, t]`` is member k's mini-batch loss at update t and
    ``step_lr[k, t]`` the learning rate that update applied (NaN after the member
    diverged).  The evaluations at ``eval_step`` (update counts; ``eval_epoch`` in
    epochs) give ``train_*`` on a fixed training subset and ``val_*`` on the
    validation set.  ``diverged_at[k]`` is the step at which member k diverged, or -1.
    """

    members: list[Member]
    batch_sizes: list[int]
    step_loss: np.ndarray
    step_lr: np.ndarray
    step_epoch: np.ndarray
    eval_step: np.ndarray
    eval_epoch: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    diverged_at: np.ndarray
    seconds: float = 0.0

    @property
    def labels(self) -> list[str]:
        return [m.name for m in self.members]

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    def member(self, k: int) -> "History":
        """The history of member ``k`` alone (a grid of one)."""
        one = lambda a: a[k:k + 1]
        return dataclasses.replace(
            self, members=[self.members[k]], step_loss=one(self.step_loss), step_lr=one(self.step_lr),
            train_loss=one(self.train_loss), train_acc=one(self.train_acc),
            val_loss=one(self.val_loss), val_acc=one(self.val_acc), diverged_at=one(self.diverged_at))


@dataclass
class GridRun:
    """A finished grid: its :class:`History` and the final stacked weights."""

    history: History
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]
    template: nn.Module = field(repr=False)

    def model(self, k: int) -> nn.Module:
        """Member ``k``'s trained network as an ordinary ``nn.Module`` (a copy)."""
        K = len(self.history.members)
        if isinstance(k, bool) or not isinstance(k, int) or not -K <= k < K:
            raise ValueError(f"member index must be an int in [-{K}, {K}), got {k!r}")
        module = _clone_module(self.template)
        state = {name: t[k].clone() for name, t in {**self.params, **self.buffers}.items()}
        module.load_state_dict(state)
        return module


def _clone_module(module: nn.Module) -> nn.Module:
    import copy
    return copy.deepcopy(module)


# --------------------------------------------------------------------------- forward

def _is_plain_mlp(module: nn.Module) -> bool:
    if not isinstance(module, nn.Sequential) or len(module) == 0:
        return False
    kinds = tuple(ACTIVATIONS.values())
    return (isinstance(module[0], nn.Linear) and isinstance(module[-1], nn.Linear)
            and all(isinstance(m, (nn.Linear,) + kinds) for m in module)
            and all(type(m) in kinds for m in module if not isinstance(m, nn.Linear)))


def _first_layer(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Pre-activations of the first layer of K stacked perceptrons, (K, out, B).

    With a shared batch ``x`` (B, D), all K members are one ``addmm``:
    [W_1; ...; W_K] (K*out, D) @ x^T (D, B), one large matrix product instead of
    K small ones.  Per-member batches ``x`` (K, B, D) use a batched product.
    """
    weight, bias = params["0.weight"], params["0.bias"]
    K, out, inp = weight.shape
    if x.dim() == 2:
        return torch.addmm(bias.reshape(-1, 1), weight.reshape(K * out, inp), x.t()).view(K, out, -1)
    return torch.baddbmm(bias.unsqueeze(-1), weight, x.transpose(1, 2))


def _stacked_mlp_forward(template: nn.Sequential, params: dict[str, torch.Tensor],
                         x: torch.Tensor, first: torch.Tensor | None = None) -> torch.Tensor:
    """Logits of K stacked perceptrons, shape (K, classes, B).

    ``x`` is (B, D) when every member sees the same batch, or (K, B, D); ``first``
    may carry the first layer's pre-activations already computed.  Activations are
    kept feature-major, (K, features, B), so that weight gradients dZ @ x come out
    in the layout the weights are stored in (no transpose-copy per step).
    """
    h = _first_layer(params, x) if first is None else first
    for index, layer in enumerate(template):
        if index == 0:
            continue
        if isinstance(layer, nn.Linear):
            h = torch.baddbmm(params[f"{index}.bias"].unsqueeze(-1), params[f"{index}.weight"], h)
        else:
            h = layer(h)
    return h


@dataclass
class _Outer:
    """A weight gradient kept as its two factors, dZ @ x, never materialised.

    Speed trick (the largest one on a CPU): the first layer's gradient is a
    (K*64, 784) matrix, 3 MB for a grid of 16.  Folding the learning rate into dZ
    and letting the matrix product add straight into the weights (``addmm_`` with
    beta=1) saves allocating it, writing it, and reading it back for the update.
    """

    dz: torch.Tensor      # (K, out, B)
    x: torch.Tensor       # (B, D) shared, or (K, B, D)

    def add_to(self, target: torch.Tensor, scale: torch.Tensor | None) -> None:
        """``target += scale * (dZ @ x)`` for a (K, -1) view of a (K, out, D) tensor."""
        K, out, _ = self.dz.shape
        dz = self.dz if scale is None else self.dz * scale.view(K, 1, 1)
        if self.x.dim() == 2:
            target.view(K * out, -1).addmm_(dz.reshape(K * out, -1), self.x)
        else:
            target.view(K, out, -1).baddbmm_(dz, self.x)

    def masked(self, alive: torch.Tensor) -> "_Outer":
        return _Outer(torch.where(alive.view(-1, 1, 1), self.dz, 0.0), self.x)


def _losses_and_grads(template: nn.Module, forward, fast: bool, params: dict, buffers: dict,
                      x: torch.Tensor, y: torch.Tensor, loss: str):
    """Each member's batch loss (K,) and the gradient of each stacked parameter.

    For the perceptron fast path the first layer runs outside autograd and its
    weight gradient is returned as an :class:`_Outer` factor pair.
    """
    if not fast:
        batch_loss = _member_losses(forward(params, buffers, x), y, loss)
        names = list(params)
        grads = torch.autograd.grad(batch_loss.sum(), [params[k] for k in names])
        return batch_loss, dict(zip(names, grads))
    return _mlp_losses_and_grads(template, params, x, y, loss)


#: d(activation)/d(input), written in terms of the activation's output a.
_DERIVATIVE_FROM_OUTPUT = {
    nn.Sigmoid: lambda a: a * (1 - a),
    nn.Tanh: lambda a: 1 - a * a,
    nn.ReLU: lambda a: (a > 0).to(a.dtype),
    nn.Identity: lambda a: torch.ones_like(a),
}


@torch.no_grad()
def _mlp_losses_and_grads(template: nn.Sequential, params: dict, x: torch.Tensor,
                          y: torch.Tensor, loss: str):
    """Backpropagation through K stacked perceptrons, derived by hand.

    Speed trick: for a Linear/activation stack the backward pass is four lines
    per layer (dW = dZ h^T, db = sum dZ, dh = W^T dZ, dZ = dh * act'(a)), and
    running it without autograd's graph saves its per-step bookkeeping, about a
    fifth of a step on a CPU.  Weight gradients stay factored (:class:`_Outer`)
    so the update can fuse them into the weights.  The tests check every member
    against PyTorch's own autograd + ``torch.optim.SGD``.
    """
    inputs, outputs = [], []           # per Linear: its input; per activation: its output
    h = x
    for index, layer in enumerate(template):
        if isinstance(layer, nn.Linear):
            inputs.append((index, h))
            h = (_first_layer(params, x) if index == 0 else
                 torch.baddbmm(params[f"{index}.bias"].unsqueeze(-1), params[f"{index}.weight"], h))
        else:
            h = layer(h)
            outputs.append((type(layer), h))
    logits = h                                                       # (K, C, B)
    K, B = logits.shape[0], logits.shape[-1]
    batch_loss = _member_losses(logits, y, loss)
    if loss == "cross_entropy":
        targets = (y if y.dim() == 2 else y.expand(K, B)).unsqueeze(1)
        dz = torch.softmax(logits, 1).scatter_add_(1, targets, torch.full_like(targets, -1.0, dtype=logits.dtype))
        dz.div_(B)                                                   # (softmax - onehot) / B
    else:
        target = (y if y.dim() == 3 else y.unsqueeze(0)).transpose(-1, -2)
        dz = (logits - target).mul_(2.0 / (logits.shape[1] * B))
    grads = {}
    for index, h_in in reversed(inputs):
        right = h_in if index == 0 else h_in.transpose(1, 2)         # (B, D) / (K, B, D)
        grads[f"{index}.weight"] = _Outer(dz, right)
        grads[f"{index}.bias"] = dz.sum(-1)
        if index == 0:
            break
        kind, a = outputs.pop()
        dz = torch.bmm(params[f"{index}.weight"].transpose(1, 2), dz).mul_(_DERIVATIVE_FROM_OUTPUT[kind](a))
    return batch_loss, grads


def _make_forward(template: nn.Module):
    """A function ``(params, buffers, x) -> logits (K, C, B)`` for the stacked members."""
    if _is_plain_mlp(template):
        return lambda params, buffers, x: _stacked_mlp_forward(template, params, x)

    def one(params, buffers, x):
        return torch.func.functional_call(template, (params, buffers), (x,)).transpose(0, 1)

    shared = torch.func.vmap(one, in_dims=(0, 0, None), randomness="different")
    per_member = torch.func.vmap(one, in_dims=(0, 0, 0), randomness="different")
    return lambda params, buffers, x: (shared if x.dim() == 2 else per_member)(params, buffers, x)


def _member_losses(logits: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean loss of each member over its batch: (K, C, B) logits -> (K,).

    ``y`` is (B,) when the members share the batch, or (K, B); for ``mse`` the
    targets carry the output features, (B, C) or (K, B, C).
    """
    K, B = logits.shape[0], logits.shape[-1]
    if loss == "cross_entropy":
        targets = y if y.dim() == 2 else y.expand(K, B)
        return F.cross_entropy(logits, targets, reduction="none").mean(1)
    target = (y if y.dim() == 3 else y.unsqueeze(0)).transpose(-1, -2)
    return (logits - target).pow(2).reshape(K, -1).mean(1)


@torch.no_grad()
def evaluate_stacked(template: nn.Module, params: dict, buffers: dict, x: torch.Tensor,
                     y: torch.Tensor, *, loss: str = "cross_entropy",
                     chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss and accuracy of every stacked member on (x, y), in chunks of examples.

    Accuracy is NaN for a regression (``loss='mse'``).
    """
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be an int >= 1, got {chunk!r}")
    _check_loss(loss)
    forward = _make_forward(template)
    was_training = template.training
    template.eval()
    K = next(iter(params.values())).shape[0]
    total_loss = torch.zeros(K, dtype=torch.float64, device=x.device)
    correct = torch.zeros(K, dtype=torch.float64, device=x.device)
    try:
        for start in range(0, x.shape[0], chunk):
            xb, yb = x[start:start + chunk], y[start:start + chunk]
            logits = forward(params, buffers, xb)
            total_loss += _member_losses(logits, yb, loss).double() * xb.shape[0]
            if loss == "cross_entropy":
                correct += (logits.argmax(1) == yb).sum(1).double()
    finally:
        template.train(was_training)
    n = x.shape[0]
    accuracy = correct / n if loss == "cross_entropy" else torch.full_like(correct, float("nan"))
    return (total_loss / n).float(), accuracy.float()


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
             loss: str = "cross_entropy", chunk: int = 8192) -> tuple[float, float]:
    """Mean loss and accuracy of one ordinary ``nn.Module`` on (x, y), ``chunk`` examples at a time."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    _check_loss(loss)
    params = {n: p.detach().unsqueeze(0) for n, p in model.named_parameters()}
    buffers = {n: b.unsqueeze(0) for n, b in model.named_buffers()}
    losses, accuracies = evaluate_stacked(model, params, buffers, x, y, loss=loss, chunk=chunk)
    return float(losses[0]), float(accuracies[0])


def _check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")


# --------------------------------------------------------------------------- training

def _batch_schedule(batch_size, epochs: int, n: int) -> list[int]:
    if isinstance(batch_size, int) and not isinstance(batch_size, bool):
        sizes = [batch_size] * epochs
    elif isinstance(batch_size, Sequence) and not isinstance(batch_size, str):
        sizes = list(batch_size)
    else:
        raise TypeError(f"batch sizes must be ints: one int, or a list with one per epoch; "
                        f"got {batch_size!r}")
    if len(sizes) != epochs:
        raise ValueError(f"a per-epoch batch_size list needs {epochs} entries, got {len(sizes)}")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"batch sizes must be ints, got {size!r}")
        if not 1 <= size <= n:
            raise ValueError(f"batch size must be between 1 and the {n} training examples, got {size}")
    return sizes


def _steps_in_epoch(n: int, batch_size: int, drop_last: bool) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


def _eval_points(steps_per_epoch: list[int], eval_every: float) -> tuple[np.ndarray, np.ndarray]:
    """Global steps (and epochs) at which to evaluate: every ``eval_every`` epochs, and the end."""
    epochs = len(steps_per_epoch)
    starts = np.concatenate([[0], np.cumsum(steps_per_epoch)])
    count = int(math.floor(epochs / eval_every + 1e-9))
    marks = [k * eval_every for k in range(count + 1)]
    if not math.isclose(marks[-1], epochs):
        marks.append(float(epochs))
    steps = []
    for mark in marks:
        epoch = min(int(math.floor(mark + 1e-9)), epochs - 1)
        fraction = mark - epoch
        steps.append(int(starts[epoch] + round(fraction * steps_per_epoch[epoch])))
    steps, index = np.unique(np.array(steps), return_index=True)
    return steps, np.array(marks)[index]


def _sgd_update(weight: torch.Tensor, grad, lr: torch.Tensor, momentum, decay) -> None:
    """One step of PyTorch's SGD rule on a (K, -1) view, per-member hyper-parameters.

    torch.optim.SGD (dampening 0, no Nesterov): g = grad + wd w; b = m b + g;
    w = w - lr b.  Without momentum, w (1 - lr wd) - lr grad is the same update.
    """
    if momentum is not None:
        factor, buffer = momentum
        buffer.mul_(factor)
        _add(buffer, grad, None)
        if decay is not None:
            buffer.addcmul_(weight, decay)
        weight.addcmul_(buffer, lr, value=-1.0)
        return
    if decay is not None:
        weight.mul_(1.0 - lr * decay)
    _add(weight, grad, -lr)


def _add(target: torch.Tensor, grad, scale: torch.Tensor | None) -> None:
    """``target += scale * grad`` (scale per member, (K, 1); None means 1)."""
    if isinstance(grad, _Outer):
        grad.add_to(target, scale)
    elif scale is None:
        target.add_(grad.reshape(target.shape))
    else:
        target.addcmul_(grad.reshape(target.shape), scale)


def _progress_enabled(progress: bool | None) -> bool:
    if progress is None:
        return os.environ.get(PROGRESS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")
    return bool(progress)


def train_grid(members: Member | Sequence[Member], data: Splits, *,
               model: str | Callable[[int], nn.Module] = "textbook",
               batch_size: int | Sequence[int] = 128, epochs: int = 1,
               loss: str = "cross_entropy", eval_every: float = 0.5,
               train_eval_size: int | None = 10_000, divergence_loss: float = math.inf,
               drop_last: bool = False, progress: bool | None = None,
               on_step: Callable[[int, dict[str, torch.Tensor]], None] | None = None) -> GridRun:
    """Train every member with mini-batch SGD, all at once; see the module docstring.

    ``model`` names a factory in :data:`lib.models.MODELS` or is a function
    ``init_seed -> nn.Module``.  ``batch_size`` is one size for all epochs or one
    per epoch (as in "increase the batch size instead of decaying the rate").
    ``on_step(step, params)``, if given, is called after every update with the
    stacked weights (read them, don't modify them).
    """
    if isinstance(members, Member):
        members = [members]
    members = list(members) if isinstance(members, Sequence) else members
    if not isinstance(members, list) or not members:
        raise ValueError("members must be a non-empty list of Member (see lib.train.grid)")
    if not all(isinstance(m, Member) for m in members):
        raise TypeError("every member must be a lib.train.Member")
    if not isinstance(data, Splits):
        raise TypeError(f"data must be lib.data.Splits (e.g. from load_mnist), got {type(data).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    _check_loss(loss)
    if isinstance(eval_every, bool) or not isinstance(eval_every, (int, float)) or not (0 < eval_every <= epochs):
        raise ValueError(f"eval_every must be a number of epochs in (0, {epochs}], got {eval_every!r}")
    if not (isinstance(divergence_loss, (int, float)) and divergence_loss > 0):
        raise ValueError(f"divergence_loss must be a positive number (inf to use only NaN/inf), "
                         f"got {divergence_loss!r}")
    if on_step is not None and not callable(on_step):
        raise TypeError("on_step must be callable(step, params) or None")

    device = data.x_train.device
    n = data.x_train.shape[0]
    sizes = _batch_schedule(batch_size, epochs, n)
    steps_per_epoch = [_steps_in_epoch(n, b, drop_last) for b in sizes]
    total_steps = sum(steps_per_epoch)
    if train_eval_size is None:
        train_eval_size = n
    if isinstance(train_eval_size, bool) or not isinstance(train_eval_size, int) or train_eval_size < 1:
        raise ValueError(f"train_eval_size must be an int >= 1 or None, got {train_eval_size!r}")
    x_train_eval = data.x_train[:train_eval_size]
    y_train_eval = data.y_train[:train_eval_size]

    K = len(members)
    rates = torch.as_tensor(np.stack([learning_rates(m, total_steps) for m in members]),
                            dtype=torch.float32, device=device)            # (K, steps)
    modules = [build_model(model, m.init_seed).to(device) for m in members]
    template = _clone_module(modules[0])
    params, buffers = torch.func.stack_module_state(modules)
    params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    del modules
    forward = _make_forward(template)
    fast = _is_plain_mlp(template)
    template.train()

    # Per-member hyper-parameters act on (K, -1) views of each stacked tensor: a
    # (K, 1) column broadcast along the contiguous axis is ~4x faster on the CPU
    # than the same broadcast over a (K, 1, 1) shape.
    def column(values: Sequence[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float32, device=device).view(K, 1)

    momentum = column([m.momentum for m in members]) if any(m.momentum for m in members) else None
    decay = column([m.weight_decay for m in members]) if any(m.weight_decay for m in members) else None
    flat = {k: p.detach().view(K, -1) for k, p in params.items()}
    momentum_buffers = {k: torch.zeros_like(v) for k, v in flat.items()} if momentum is not None else None

    data_seeds = sorted({m.data_seed for m in members})
    generators = {s: seeded_generator(s) for s in data_seeds}
    member_seed_row = torch.tensor([data_seeds.index(m.data_seed) for m in members], device=device)
    shared_order = len(data_seeds) == 1

    alive = torch.ones(K, dtype=torch.bool, device=device)
    diverged_at = torch.full((K,), -1, dtype=torch.long, device=device)
    any_dead = False
    step_losses: list[torch.Tensor] = []
    eval_steps, eval_epochs = _eval_points(steps_per_epoch, eval_every)
    evaluations: list[tuple[torch.Tensor, ...]] = []
    step_epoch = np.concatenate([e + np.arange(s) / s for e, s in enumerate(steps_per_epoch)])

    def record_evaluation():
        dead = ~alive
        results = []
        for x, y in ((x_train_eval, y_train_eval), (data.x_val, data.y_val)):
            if x is None:
                results += [torch.full((K,), float("nan"), device=device)] * 2
                continue
            loss_k, acc_k = evaluate_stacked(template, {k: p.detach() for k, p in params.items()},
                                             buffers, x, y, loss=loss)
            results += [loss_k.masked_fill(dead, float("nan")), acc_k.masked_fill(dead, float("nan"))]
        evaluations.append(tuple(results))

    started = time.perf_counter()
    bar = None
    if _progress_enabled(progress):
        from tqdm.auto import tqdm
        bar = tqdm(total=total_steps, desc=f"training {K} run(s)", unit="step", leave=False)
    step = 0
    next_eval = 0
    for epoch, (b, epoch_steps) in enumerate(zip(sizes, steps_per_epoch)):
        orders = torch.stack([torch.randperm(n, generator=generators[s]) for s in data_seeds]).to(device)
        for j in range(epoch_steps):
            if next_eval < len(eval_steps) and eval_steps[next_eval] == step:
                record_evaluation()
                next_eval += 1
            if shared_order:
                index = orders[0, j * b:(j + 1) * b]
            else:
                index = orders[member_seed_row, j * b:(j + 1) * b]          # (K, B)
            xb, yb = data.x_train[index], data.y_train[index]
            batch_loss, grads = _losses_and_grads(template, forward, fast, params, buffers, xb, yb, loss)
            with torch.no_grad():
                value = batch_loss.detach()
                step_losses.append(value)
                ok = torch.isfinite(value) & (value <= divergence_loss)
                # On the CPU this check is free; on a GPU it would force a sync each step,
                # so there the masked update below is always used instead.
                if device.type != "cpu" or any_dead or not bool(ok.all()):
                    diverged_at.masked_fill_(alive & ~ok, step)
                    alive &= ok
                    any_dead = True
                lr_now = rates[:, step].view(K, 1)
                if any_dead:  # frozen members: zero gradient (NaN-safe) and zero rate
                    lr_now = lr_now * alive.view(K, 1)
                    grads = {k: g.masked(alive) if isinstance(g, _Outer)
                             else torch.where(alive.view((K,) + (1,) * (g.dim() - 1)), g, 0.0)
                             for k, g in grads.items()}
                for name, grad in grads.items():
                    _sgd_update(flat[name], grad, lr_now,
                                None if momentum is None else (momentum, momentum_buffers[name]), decay)
            if on_step is not None:
                on_step(step, {k: p.detach() for k, p in params.items()})
            step += 1
        if bar is not None:
            bar.update(epoch_steps)
    record_evaluation()
    if bar is not None:
        bar.close()

    applied = rates.cpu().numpy().astype(np.float64)
    diverged = diverged_at.cpu().numpy()
    losses = torch.stack(step_losses, 1).cpu().numpy() if step_losses else np.zeros((K, 0))
    for k, d in enumerate(diverged):
        if d >= 0:
            applied[k, d:] = np.nan
            losses[k, d + 1:] = np.nan
    stacked = [torch.stack([e[i] for e in evaluations], 1).cpu().numpy() for i in range(4)]
    history = History(
        members=members, batch_sizes=sizes, step_loss=losses, step_lr=applied,
        step_epoch=step_epoch, eval_step=eval_steps, eval_epoch=eval_epochs,
        train_loss=stacked[0], train_acc=stacked[1], val_loss=stacked[2], val_acc=stacked[3],
        diverged_at=diverged, seconds=time.perf_counter() - started)
    final = {k: p.detach() for k, p in params.items()}
    return GridRun(history=history, params=final, buffers=buffers, template=template)
