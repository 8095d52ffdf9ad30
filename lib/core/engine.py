"""The grid engine: mini-batch SGD for K runs at once, on device-resident tensors.

A *grid* is a list of :class:`lib.core.members.Member` configurations that share
the model's shape, the data and the batch size but differ in learning rate,
schedule, momentum, weight decay, initial weights or data order.
:func:`train_grid` trains all K of them in lockstep as one computation:

* the K sets of weights are stacked along a leading axis and one forward and
  one backward pass serve every member (:mod:`lib.core.stacked`, which also
  holds the hand-derived fast path for the textbook's perceptron);
* the data sit on the device; batches are slices of each data seed's
  permutation (:mod:`lib.core.order`, the chapter's one data order): no
  per-example Python, no collation;
* the update is PyTorch's SGD rule (``torch.optim.SGD``, dampening 0, no
  Nesterov), with a per-member learning rate, momentum and weight decay::

      g <- g + wd * w;   b <- m * b + g;   w <- w - lr_t * b

* every member's rate for every update is computed before training from its
  schedule (:func:`lib.core.members.learning_rates`), and the history records
  the rate that was actually multiplied into the update;
* a member whose mini-batch loss becomes NaN or infinite, exceeds
  ``divergence_loss``, or grows past ``divergence_factor`` times its starting
  loss (the training loss measured before the first update) is marked diverged
  at that step and frozen: its rate and its gradient are zero from then on (where
  its weights or activations have already overflowed to infinity, the zero
  update's 0 x inf leaves NaN in place of the infinity); the others carry on
  untouched.  The default
  factor, :data:`DIVERGENCE_FACTOR`, is ten thousand: four orders of magnitude is
  a run that blew up by anyone's reading, while the book's own runs that spiked
  and recovered (batch-1 regressions at large rates) peak at about 2,600 times
  their starting loss;
* hyper-parameters are applied in the weights' dtype (a float64 network gets
  the float64 rate 0.1, not float32's 0.10000000149) and recorded in float64;
* the data are checked against the model and the loss before the first step
  (:func:`lib.core.checks.data_for`): wrong dtypes, shapes, label ranges and NaN
  inputs are errors that say what is wrong, not failures deep inside torch.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from . import checks, losses
from .data import Splits
from .evaluate import stacked_metrics
from .members import Member, learning_rates
from .models import build_model
from .order import DataOrder, steps_per_epoch
from .timing import timed
from .stacked import FusedSGD, Outer, is_plain_mlp, losses_and_grads, make_forward

PROGRESS_ENV = "LR_BOOK_PROGRESS"
#: A ten-class classifier whose mini-batch loss exceeds this, four times the loss of a uniform
#: guess (4 ln 10 = 9.2), has diverged: the threshold sections 3 and 4 pass as ``divergence_loss``.
DIVERGED_LOSS = 4 * math.log(10)
#: By default a member whose mini-batch loss exceeds this many times its starting loss has diverged.
DIVERGENCE_FACTOR = 1e4


# --------------------------------------------------------------------------- the record

@dataclass
class History:
    """What a grid run recorded: plain arrays, one row per member.

    Attributes:
        members (list[Member]): the K configurations, in row order.
        batch_sizes (list[int]): the batch size of each epoch.
        step_loss (ndarray, (K, steps)): member k's mini-batch loss at update t
            (NaN after it diverged).
        step_lr (ndarray, (K, steps)): the rate of update t in float64, as the
            schedule gave it (NaN from the step the member diverged at).
        step_epoch (ndarray, (steps,)): each update's position in epochs.
        step_examples (ndarray, (steps,)): the examples in each update's batch (the last
            batch of an epoch may be smaller): the weights for averaging per-step losses.
        eval_step, eval_epoch (ndarray, (E,)): when the evaluations were made, in
            updates done and in epochs.
        train_loss, train_acc (ndarray, (K, E)): on a fixed training subset.
        val_loss, val_acc (ndarray, (K, E)): on the validation split (NaN without one).
        diverged_at (ndarray, (K,)): the step at which member k diverged, or -1.
        seconds (float): wall-clock time of the run.
    """

    members: list[Member]
    batch_sizes: list[int]
    step_loss: np.ndarray
    step_lr: np.ndarray
    step_epoch: np.ndarray
    step_examples: np.ndarray
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
        """Each member's :attr:`Member.name`."""
        return [m.name for m in self.members]

    @property
    def diverged(self) -> np.ndarray:
        """(K,) bool: whether member k diverged."""
        return self.diverged_at >= 0

    def tail_loss(self, steps: int) -> np.ndarray:
        """(K,): each member's mean mini-batch loss over its last ``steps`` updates, every example
        weighing the same (batches weighted by their size; NaN for a member that diverged in them).

        Raises:
            ValueError: ``steps`` is not an int in [1, the number of updates].
        """
        steps = checks.integer(steps, "steps", minimum=1, maximum=self.step_loss.shape[1])
        weights = self.step_examples[-steps:].astype(np.float64)
        return (self.step_loss[:, -steps:].astype(np.float64) * weights).sum(axis=1) / weights.sum()

    def member(self, k: int) -> "History":
        """The history of member ``k`` alone (a grid of one)."""
        one = lambda a: a[k:k + 1]  # noqa: E731
        return dataclasses.replace(
            self, members=[self.members[k]], step_loss=one(self.step_loss), step_lr=one(self.step_lr),
            train_loss=one(self.train_loss), train_acc=one(self.train_acc),
            val_loss=one(self.val_loss), val_acc=one(self.val_acc), diverged_at=one(self.diverged_at))


@dataclass
class GridRun:
    """A finished grid: its :class:`History` and the final stacked weights ((K, ...) each)."""

    history: History
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]
    template: nn.Module = field(repr=False)

    def model(self, k: int) -> nn.Module:
        """Member ``k``'s trained network as an ordinary ``nn.Module`` (a copy).

        Raises:
            ValueError: ``k`` is not a member index in [-K, K).
        """
        K = len(self.history.members)
        if not checks.is_integer(k) or not -K <= k < K:
            raise ValueError(f"member index must be an int in [-{K}, {K}), got {k!r}")
        module = copy.deepcopy(self.template)
        state = {name: t[int(k)].clone() for name, t in {**self.params, **self.buffers}.items()}
        module.load_state_dict(state)
        return module


# --------------------------------------------------------------------------- the update

def _sgd_update(weight: torch.Tensor, grad, lr: torch.Tensor, momentum, decay) -> None:
    """One step of PyTorch's SGD rule on a (K, -1) view, with per-member hyper-parameters (K, 1).

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
    if isinstance(grad, Outer):
        grad.add_to(target, scale)
    elif scale is None:
        target.add_(grad.reshape(target.shape))
    else:
        target.addcmul_(grad.reshape(target.shape), scale)


# --------------------------------------------------------------------------- set-up

def _batch_schedule(batch_size, epochs: int, n: int) -> list[int]:
    """One batch size per epoch, from one int or a list with one entry per epoch."""
    if checks.is_integer(batch_size):
        sizes = [int(batch_size)] * epochs
    elif isinstance(batch_size, (Sequence, np.ndarray)) and not isinstance(batch_size, str):
        sizes = list(batch_size)
    else:
        raise TypeError(f"batch sizes must be ints: one int, or a list with one per epoch; "
                        f"got {batch_size!r}")
    if len(sizes) != epochs:
        raise ValueError(f"a per-epoch batch_size list needs {epochs} entries, got {len(sizes)}")
    for size in sizes:
        if not checks.is_integer(size):
            raise TypeError(f"batch sizes must be ints, got {size!r}")
        if not 1 <= size <= n:
            raise ValueError(f"batch size must be between 1 and the {n} training examples, got {size}")
    return [int(s) for s in sizes]


def eval_points(steps_per_epoch: Sequence[int], eval_every: float) -> tuple[np.ndarray, np.ndarray]:
    """Updates done (and epochs) at which :func:`train_grid` evaluates: every ``eval_every`` epochs, and the end.

    A fraction of an epoch is rounded to the nearest update of that epoch;
    evaluations that fall on the same update are made once.
    """
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


def _progress_enabled(progress: bool | None) -> bool:
    if progress is None:
        return os.environ.get(PROGRESS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")
    return bool(progress)


# --------------------------------------------------------------------------- training

@timed("training")
def train_grid(members: Member | Sequence[Member], data: Splits, *,
               model: str | Callable[[int], nn.Module] = "textbook",
               batch_size: int | Sequence[int] = 128, epochs: int = 1,
               loss: str = "cross_entropy", eval_every: float = 0.5,
               train_eval_size: int | None = 10_000, divergence_loss: float = math.inf,
               divergence_factor: float | None = DIVERGENCE_FACTOR,
               drop_last: bool = False, progress: bool | None = None,
               on_step: Callable[[int, dict[str, torch.Tensor]], None] | None = None) -> GridRun:
    """Train every member with mini-batch SGD, all at once (see the module docstring).

    Args:
        members (Member or list[Member]): the K runs (:func:`lib.core.members.grid` makes grids).
        data (Splits): training data, and the validation split the history evaluates on (if any).
        model (str or callable): a name in :data:`lib.core.models.MODELS` or a factory
            ``init_seed -> nn.Module``. Default ``"textbook"``.
        batch_size (int or list[int]): examples per update; one size, or one per epoch
            (growing the batch instead of decaying the rate). Default 128.
        epochs (int): passes over the training data. Default 1.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        eval_every (float): epochs between evaluations, in (0, epochs]. Default 0.5.
        train_eval_size (int or None): training examples (the first ones) the training
            loss is measured on; ``None``: all. Default 10,000.
        divergence_loss (float): a mini-batch loss above this marks a member diverged
            (a NaN or infinite loss always does). Default ``inf`` (no absolute threshold).
        divergence_factor (float or None): a mini-batch loss above this many times the
            member's starting loss (its training loss before the first update, on the
            ``train_eval_size`` examples; its absolute value) marks it diverged, > 1.
            Default :data:`DIVERGENCE_FACTOR` (10,000); ``None`` turns the rule off (a loss
            of one's own that may start near 0 or below it).
        drop_last (bool): drop each epoch's incomplete last batch. Default False.
        progress (bool or None): a progress bar; ``None`` reads ``$LR_BOOK_PROGRESS``
            (on unless ``0``/``false``).
        on_step (callable, optional): ``on_step(step, params)`` after every update,
            with the stacked weights (read them, do not modify them); it runs in the
            caller's grad mode, so it may take gradients of its own (the training
            loop itself runs without autograd on the fused path, and with it on the
            general path whatever the caller's mode).

    Returns:
        GridRun: the :class:`History` and the final stacked weights.

    Raises:
        TypeError: wrong types (members that are not ``Member``, data that is not ``Splits``, ...).
        ValueError: values out of range (an empty grid, a batch larger than the data,
            ``epochs`` < 1, an unknown loss or model, ...); inputs that are not one row
            of features per example (n, features); a model with frozen parameters; a
            scheduler that cycles the momentum (see :func:`lib.core.members.learning_rates`).
        RuntimeError: a model that needs autograd (not a plain perceptron), called
            inside ``torch.inference_mode()``.
    """
    if isinstance(members, Member):
        members = [members]
    members = list(members) if isinstance(members, Sequence) else members
    if not isinstance(members, list) or not members:
        raise ValueError("members must be a non-empty list of Member (see lib.core.members.grid)")
    if not all(isinstance(m, Member) for m in members):
        raise TypeError("every member must be a lib.core.members.Member")
    if not isinstance(data, Splits):
        raise TypeError(f"data must be lib.core.data.Splits (e.g. from load_mnist), got {type(data).__name__}")
    epochs = checks.integer(epochs, "epochs", minimum=1)
    spec = losses.get(loss)
    eval_every = checks.number(eval_every, "eval_every", low=0.0, high=epochs, low_open=True)
    divergence_loss = checks.number(divergence_loss, "divergence_loss", low=0.0, low_open=True) \
        if divergence_loss != math.inf else math.inf
    if divergence_factor is not None:
        divergence_factor = checks.number(divergence_factor, "divergence_factor", low=1.0, low_open=True)
    checks.flag(drop_last, "drop_last")
    if on_step is not None:
        checks.function(on_step, "on_step", "f(step, params)")

    device = data.x_train.device
    n = data.x_train.shape[0]
    sizes = _batch_schedule(batch_size, epochs, n)
    epoch_steps = [steps_per_epoch(n, b, drop_last) for b in sizes]
    total_steps = sum(epoch_steps)
    train_eval_size = n if train_eval_size is None else checks.integer(train_eval_size, "train_eval_size", 1)
    x_train_eval = data.x_train[:train_eval_size]
    y_train_eval = data.y_train[:train_eval_size]

    K = len(members)
    schedule = np.stack([learning_rates(m, total_steps) for m in members])   # (K, steps), float64
    modules = [build_model(model, m.init_seed).to(device) for m in members]
    template = copy.deepcopy(modules[0])
    checks.data_for(data, loss=loss, model=template)                      # before any step
    checks.feature_rows(data.x_train, "data.x_train", "train_grid")
    frozen = [name for name, p in template.named_parameters() if not p.requires_grad]
    if frozen:
        raise ValueError(f"the model has frozen parameters (requires_grad=False): {', '.join(frozen)}; "
                         "train_grid trains every parameter, so give it a model without frozen ones")
    params, buffers = torch.func.stack_module_state(modules)              # each (K, ...)
    params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    del modules
    dtype = next(iter(params.values())).dtype                             # hyper-parameters in the weights' dtype
    rates = torch.as_tensor(schedule, dtype=dtype, device=device)         # (K, steps)
    forward = make_forward(template)
    fast = is_plain_mlp(template)
    template.train()

    # Per-member hyper-parameters act on (K, -1) views of each stacked tensor: a
    # (K, 1) column broadcast along the contiguous axis is ~4x faster on the CPU
    # than the same broadcast over a (K, 1, 1) shape.
    def column(values: Sequence[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype, device=device).view(K, 1)

    momentum = column([m.momentum for m in members]) if any(m.momentum for m in members) else None
    decay = column([m.weight_decay for m in members]) if any(m.weight_decay for m in members) else None
    flat = {k: p.detach().view(K, -1) for k, p in params.items()}        # (K, -1) views, no copies
    momentum_buffers = {k: torch.zeros_like(v) for k, v in flat.items()} if momentum is not None else None

    # The textbook's perceptrons take the fused step (forward, backward and update in ~30 tensor
    # operations, lib.core.stacked.FusedSGD); any other module autograd through vmap.
    fused = FusedSGD(template, params, spec, momentum, decay, momentum_buffers) if FusedSGD.supports(template) \
        else None
    if fused is None and not fast and torch.is_inference_mode_enabled():
        raise RuntimeError("train_grid differentiates this model with autograd, which torch.inference_mode() "
                           "forbids; call it outside inference_mode (torch.no_grad() is fine)")
    rate_rows = rates.t().contiguous().unsqueeze(-1)                      # (steps, K, 1): row t is contiguous

    data_seeds = sorted({m.data_seed for m in members})
    orders = [DataOrder(n, seed=s) for s in data_seeds]
    member_seed_row = torch.tensor([data_seeds.index(m.data_seed) for m in members], device=device)
    shared_order = len(data_seeds) == 1

    alive = torch.ones(K, dtype=torch.bool, device=device)
    diverged_at = torch.full((K,), -1, dtype=torch.long, device=device)
    ceiling = None                    # (K,) the loss above which a member has diverged, set at step 0
    finite_ceiling = False            # then NaN and inf fail `loss <= ceiling` by themselves
    any_dead = False
    step_losses: list[torch.Tensor] = []
    eval_steps, eval_epochs = eval_points(epoch_steps, eval_every)
    evaluations: list[tuple[torch.Tensor, ...]] = []
    step_epoch = np.concatenate([e + np.arange(s) / s for e, s in enumerate(epoch_steps)])
    step_examples = np.concatenate([np.minimum(b, n - b * np.arange(s)) for b, s in zip(sizes, epoch_steps)])

    def record_evaluation():
        dead = ~alive
        results = []
        for x, y in ((x_train_eval, y_train_eval), (data.x_val, data.y_val)):
            if x is None:
                results += [torch.full((K,), float("nan"), device=device)] * 2
                continue
            loss_k, acc_k = stacked_metrics(template, {k: p.detach() for k, p in params.items()},
                                            buffers, x, y, loss=loss)
            results += [loss_k.masked_fill(dead, float("nan")), acc_k.masked_fill(dead, float("nan"))]
        evaluations.append(tuple(results))

    # The batch is copied into buffers made once per batch shape (index_select with out=): an
    # indexing expression would allocate a fresh (B, 784) tensor every step, which costs on a
    # CPU about three times the copy itself.  Nothing keeps a batch beyond its own step.
    batch_buffers: dict[torch.Size, tuple[torch.Tensor, ...]] = {}
    x_train, y_train = data.x_train.detach(), data.y_train.detach()   # data, not part of any graph
    if spec.name == "mse" and y_train.dim() == 1:       # (n,) targets of a one-output model: a column each
        y_train = y_train.unsqueeze(1)

    def gather(index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        entry = batch_buffers.get(index.shape)
        if entry is None:                            # (x, y) in the index's shape, and flat views of them
            x_buffer = x_train.new_empty(index.shape + x_train.shape[1:])
            y_buffer = y_train.new_empty(index.shape + y_train.shape[1:])
            entry = batch_buffers[index.shape] = (x_buffer, y_buffer, x_buffer.view((-1,) + x_train.shape[1:]),
                                                  y_buffer.view((-1,) + y_train.shape[1:]))
        flat_index = index if index.dim() == 1 else index.reshape(-1)
        torch.index_select(x_train, 0, flat_index, out=entry[2])
        torch.index_select(y_train, 0, flat_index, out=entry[3])
        return entry[0], entry[1]

    started = time.perf_counter()
    bar = None
    if _progress_enabled(progress):
        from tqdm.auto import tqdm
        bar = tqdm(total=total_steps, desc=f"training {K} run(s)", unit="step", leave=False)
    step = 0
    eval_at = [int(e) for e in eval_steps] + [-1]        # the updates before which to evaluate, then a sentinel
    next_eval = 0
    on_cpu = device.type == "cpu"
    caller_grad_mode = torch.is_grad_enabled()
    # The fused step needs no autograd at all: one no_grad for the whole loop instead of two per step;
    # the general path differentiates with autograd whatever the caller's grad mode.
    with torch.no_grad() if fused is not None else torch.enable_grad():
        for b, steps_now in zip(sizes, epoch_steps):
            permutations = torch.stack([order.next_epoch() for order in orders]).to(device)   # (seeds, n)
            # the epoch's batches as views, made in one call: (B,) each, or (K, B) with one order per member
            batches = (permutations[0].split(b) if shared_order else permutations[member_seed_row].split(b, 1))
            for j in range(steps_now):
                if step == eval_at[next_eval]:
                    record_evaluation()
                    next_eval += 1
                xb, yb = gather(batches[j])
                if fused is not None:
                    value = fused.forward_loss(xb, yb)                                       # (K,)
                else:
                    batch_loss, grads = losses_and_grads(template, forward, fast, params, buffers, xb, yb, spec)
                    value = batch_loss.detach()                                              # (K,)
                step_losses.append(value)
                if ceiling is None:
                    ceiling = torch.full_like(value, float(divergence_loss))
                    if divergence_factor is not None:       # the training loss evaluated before this first update
                        start = evaluations[0][0].to(value.dtype)
                        ceiling = torch.minimum(ceiling, divergence_factor * start.abs())
                    finite_ceiling = on_cpu and bool(torch.isfinite(ceiling).all())      # no GPU sync
                # The registry's losses are >= 0, so below a finite ceiling `value <= ceiling` alone
                # rejects NaN and +inf: one comparison per step instead of three operations.
                ok = (value <= ceiling) if finite_ceiling else torch.isfinite(value) & (value <= ceiling)
                # On the CPU this check is free; on a GPU it would force a sync each step,
                # so there the masked update below is always used instead.
                if not on_cpu or any_dead or not bool(ok.all()):
                    diverged_at.masked_fill_(alive & ~ok, step)
                    alive &= ok
                    any_dead = True
                lr_now = rate_rows[step]                                                     # (K, 1)
                if fused is not None:
                    fused.update(lr_now, alive if any_dead else None)
                else:
                    with torch.no_grad():
                        if any_dead:  # frozen members: zero gradient (NaN-safe) and zero rate
                            lr_now = lr_now * alive.view(K, 1)
                            grads = {k: g.masked(alive) if isinstance(g, Outer)
                                     else torch.where(alive.view((K,) + (1,) * (g.dim() - 1)), g, 0.0)
                                     for k, g in grads.items()}
                        for name, grad in grads.items():
                            _sgd_update(flat[name], grad, lr_now,
                                        None if momentum is None else (momentum, momentum_buffers[name]), decay)
                if on_step is not None:                     # in the caller's grad mode, not the loop's
                    with torch.set_grad_enabled(caller_grad_mode):
                        on_step(step, {k: p.detach() for k, p in params.items()})
                step += 1
            if bar is not None:
                bar.update(steps_now)
    record_evaluation()
    if bar is not None:
        bar.close()

    applied = schedule.copy()
    diverged = diverged_at.cpu().numpy()
    step_loss = torch.stack(step_losses, 1).cpu() if step_losses else torch.zeros((K, 0))
    step_loss = (step_loss.float() if step_loss.dtype == torch.bfloat16 else step_loss).numpy()   # NumPy has no bf16
    for k, d in enumerate(diverged):
        if d >= 0:
            applied[k, d:] = np.nan
            step_loss[k, d + 1:] = np.nan
    stacked = [torch.stack([e[i] for e in evaluations], 1).cpu().numpy() for i in range(4)]
    history = History(
        members=members, batch_sizes=sizes, step_loss=step_loss, step_lr=applied,
        step_epoch=step_epoch, step_examples=step_examples, eval_step=eval_steps, eval_epoch=eval_epochs,
        train_loss=stacked[0], train_acc=stacked[1], val_loss=stacked[2], val_acc=stacked[3],
        diverged_at=diverged, seconds=time.perf_counter() - started)
    final = {k: p.detach() for k, p in params.items()}
    return GridRun(history=history, params=final, buffers=buffers, template=template)
