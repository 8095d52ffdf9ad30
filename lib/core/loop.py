"""The single-network training loop over ``torch.optim``, and the exact restore of a model's state.

The grid engine (:mod:`lib.core.engine`) trains many copies of a network as one
stacked computation.  Some experiments need one ordinary ``nn.Module`` and an
ordinary ``torch.optim`` optimiser instead: the range test changes the rate of
a reader's own model and optimiser and must give them back untouched, and
stochastic weight averaging feeds the network to ``torch.optim.swa_utils``.
Both run on :func:`train_steps`, one update per rate::

    for each update t:   lr of every parameter group <- rates[t]
                         loss = loss_fn(model(x[batch_t]), y[batch_t])     (recorded)
                         stop if the loss is not finite
                         zero_grad; loss.backward(); optimizer.step()
                         stop if on_step(t, loss) names a reason

with the batches of the chapter's one data order (:mod:`lib.core.order`), so a
run of this loop and a grid member with the same seeds take the same steps.

:func:`restored` is the exact restore: it copies the model's ``state_dict``,
every parameter's ``.grad``, the train/eval mode, the optimiser's
``state_dict`` and torch's global random state, and puts them all back in a
``finally`` clause, whatever happens inside.
"""
from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn

from . import checks
from .losses import mean_loss_function
from .timing import timed

#: The reason :func:`train_steps` gives when a loss is NaN or infinite.
NOT_FINITE = "the loss was not finite"


@contextlib.contextmanager
def restored(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> Iterator[None]:
    """Run the ``with`` block, then put ``model`` (and ``optimizer``) back exactly as they were.

    Restored, bit for bit: the model's parameters and buffers, each parameter's
    gradient (``None`` stays ``None``), the train/eval mode of every submodule,
    the optimiser's state (rates, momentum buffers, step counts) and torch's
    global random state (the CPU's, and every CUDA device's once CUDA is in use).

    Raises:
        TypeError: ``model`` is not an ``nn.Module`` or ``optimizer`` not a ``torch.optim.Optimizer``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    saved_model = copy.deepcopy(model.state_dict())
    parameters = list(model.parameters())
    saved_grads = [None if p.grad is None else p.grad.detach().clone() for p in parameters]
    saved_modes = [m.training for m in model.modules()]
    saved_optimizer = None if optimizer is None else copy.deepcopy(optimizer.state_dict())
    saved_rng = torch.get_rng_state()
    saved_cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        yield
    finally:
        model.load_state_dict(saved_model)
        for p, g in zip(parameters, saved_grads):
            p.grad = g
        for m, mode in zip(model.modules(), saved_modes):
            m.training = mode
        if optimizer is not None:
            optimizer.load_state_dict(saved_optimizer)
        torch.set_rng_state(saved_rng)
        if saved_cuda_rng is not None:
            torch.cuda.set_rng_state_all(saved_cuda_rng)


@dataclass(frozen=True)
class Steps:
    """What :func:`train_steps` recorded.

    Attributes:
        losses (ndarray, (len(rates),)): the mini-batch loss of each update, measured
            before it (NaN for updates not taken).
        stopped_at (int): the update at which the loop stopped early, or -1.
        reason (str): why it stopped (:data:`NOT_FINITE`, or what ``on_step`` said); "" if it did not.
    """

    losses: np.ndarray
    stopped_at: int
    reason: str

    @property
    def taken(self) -> int:
        """How many losses were measured (the stopping update included)."""
        return len(self.losses) if self.stopped_at < 0 else self.stopped_at + 1

    @property
    def diverged(self) -> bool:
        """True when the loop stopped because a loss was not finite."""
        return self.reason == NOT_FINITE


@timed("training")
def train_steps(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                batches: Iterable[torch.Tensor], rates, *, loss="cross_entropy",
                on_step: Callable[[int, float], str | None] | None = None) -> Steps:
    """One optimiser step per entry of ``rates``, on ``model`` in training mode.

    Args:
        model (nn.Module): the network, trained in place.
        optimizer (torch.optim.Optimizer): holds (some of) the model's parameters;
            before update t the ``lr`` of every parameter group is set to ``rates[t]``.
        x, y (Tensor): the training inputs (n, ...) and targets (n, ...).
        batches (iterable of LongTensor): example indices of each update, e.g.
            ``DataOrder(n, seed).stream(batch_size)``; at least ``len(rates)`` of them.
        rates (array-like, (steps,)): the learning rate of each update.
        loss (str or callable): a name in :data:`lib.core.losses.LOSSES` or a function
            ``(outputs, targets) -> scalar``. Default ``"cross_entropy"``.
        on_step (callable, optional): ``on_step(t, loss)`` after update t; a non-empty
            string it returns stops the loop, as the reason.

    Returns:
        Steps: the losses and where and why the loop stopped.  A loss that is NaN
        or infinite is recorded and stops the loop before its update (the model
        keeps the last finite weights); that is a result, not an error.

    Raises:
        TypeError: ``loss`` is neither a known name nor a function; data of the wrong dtype.
        ValueError: an unknown loss name, fewer batches than rates, or data the model
            cannot take (:func:`lib.core.checks.examples`), all before the first update.
    """
    loss_fn = mean_loss_function(loss)
    checks.examples(x, y, loss=loss, model=model)
    rates = np.asarray(rates, dtype=np.float64)
    losses = np.full(len(rates), np.nan)
    batches = iter(batches)
    model.train()
    for step, rate in enumerate(rates):
        index = next(batches, None)
        if index is None:
            raise ValueError(f"batches ran out after {step} of the {len(rates)} updates")
        for group in optimizer.param_groups:
            group["lr"] = float(rate)
        index = index.to(x.device)
        batch_loss = loss_fn(model(x[index]), y[index])
        value = float(batch_loss.detach())
        losses[step] = value
        if not math.isfinite(value):
            return Steps(losses, step, NOT_FINITE)
        optimizer.zero_grad(set_to_none=True)
        batch_loss.backward()
        optimizer.step()
        if on_step is not None:
            reason = on_step(step, value)
            if reason:
                return Steps(losses, step, str(reason))
    return Steps(losses, -1, "")


def check_optimizer(optimizer, model: nn.Module) -> torch.optim.Optimizer:
    """``optimizer``, which must be a ``torch.optim.Optimizer`` holding some of ``model``'s parameters.

    Raises:
        TypeError: not an optimiser.
        ValueError: it holds none of the model's parameters.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    checks.module(model)
    owned = {id(p) for p in model.parameters()}
    if not any(id(p) in owned for group in optimizer.param_groups for p in group["params"]):
        raise ValueError("the optimizer does not hold any of the model's parameters")
    return optimizer
