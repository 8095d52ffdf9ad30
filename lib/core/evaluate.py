"""Loss and accuracy of networks on a data set: one network, or K stacked members at once.

Every evaluation in the chapter goes through :func:`evaluate_stacked`: the
members' forward pass (:func:`lib.core.stacked.make_forward`) in evaluation mode
(batch norm uses its running statistics), over the examples in chunks, under
``torch.no_grad``.  The loss of a chunk is its mean (:mod:`lib.core.losses`);
chunks are weighed by their number of examples, so the result is the mean over
all examples whatever the chunk size.  :func:`evaluate` is the same for one
ordinary ``nn.Module``.
"""
from __future__ import annotations

import torch
from torch import nn

from . import checks, losses
from .stacked import make_forward
from .timing import timed


@torch.no_grad()
def evaluate_stacked(template: nn.Module, params: dict, buffers: dict, x: torch.Tensor,
                     y: torch.Tensor, *, loss: str = "cross_entropy",
                     chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss and accuracy of K stacked members on (x, y).

    Args:
        template (nn.Module): the architecture; its train/eval mode is restored afterwards.
        params, buffers (dict): the members' stacked parameters and buffers, each (K, ...).
        x (Tensor): inputs, (n, ...).
        y (Tensor): targets, (n,) class labels or (n, C) regression targets.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        chunk (int): examples per forward pass (memory, not the result). Default 8192.

    Returns:
        (losses, accuracies): two float32 tensors of shape (K,); accuracy is the
        fraction of correct argmax predictions, NaN for a regression loss.

    Raises:
        ValueError: an unknown loss, ``chunk`` < 1, or data the members cannot take
            (:func:`lib.core.checks.examples`: shapes, label ranges, NaN inputs).
        TypeError: ``chunk`` is not an int, or data of the wrong dtype.
    """
    chunk = checks.integer(chunk, "chunk", minimum=1)
    losses.get(loss)
    checks.examples(x, y, loss=loss, model=template)
    return stacked_metrics(template, params, buffers, x, y, loss=loss, chunk=chunk)


@timed("evaluating")
@torch.no_grad()
def stacked_metrics(template: nn.Module, params: dict, buffers: dict, x: torch.Tensor, y: torch.Tensor, *,
                    loss: str, chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`evaluate_stacked` without its checks, for callers that checked the data once already
    (the grid engine, which evaluates every few hundred updates)."""
    spec = losses.get(loss)
    forward = make_forward(template)
    was_training = template.training
    template.eval()
    K = next(iter(params.values())).shape[0]
    total_loss = torch.zeros(K, dtype=torch.float64, device=x.device)
    correct = torch.zeros(K, dtype=torch.float64, device=x.device)
    try:
        for start in range(0, x.shape[0], chunk):
            xb, yb = x[start:start + chunk], y[start:start + chunk]
            logits = forward(params, buffers, xb, shared=True)         # (K, C, b)
            total_loss += spec.stacked(logits, yb).double() * xb.shape[0]
            if spec.classification:
                correct += (logits.argmax(1) == yb).sum(1).double()
    finally:
        template.train(was_training)
    n = x.shape[0]
    accuracy = correct / n if spec.classification else torch.full_like(correct, float("nan"))
    return (total_loss / n).float(), accuracy.float()


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
             loss: str = "cross_entropy", chunk: int = 8192) -> tuple[float, float]:
    """Mean loss and accuracy of one ordinary ``nn.Module`` on (x, y), ``chunk`` examples at a time.

    Returns ``(loss, accuracy)`` as floats (accuracy NaN for a regression); see
    :func:`evaluate_stacked` for the arguments.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: an unknown loss, or ``chunk`` < 1.
    """
    checks.module(model)
    losses.get(loss)
    params = {n: p.detach().unsqueeze(0) for n, p in model.named_parameters()}
    buffers = {n: b.unsqueeze(0) for n, b in model.named_buffers()}
    loss_value, accuracy = evaluate_stacked(model, params, buffers, x, y, loss=loss, chunk=chunk)
    return float(loss_value[0]), float(accuracy[0])
