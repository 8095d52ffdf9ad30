"""The loss registry: every loss the chapter trains with, in the three shapes the library needs.

=================  =====================================================  ===========================
name               loss of one example with output :math:`z`, target      used for
=================  =====================================================  ===========================
``cross_entropy``  :math:`-\\log \\operatorname{softmax}(z)_y`              classification (MNIST)
``mse``            :math:`\\frac{1}{C}\\sum_c (z_c - y_c)^2`                 regression (sine, quadratics)
=================  =====================================================  ===========================

A batch's loss is the mean over its examples (for ``mse``: over examples and
outputs, as ``torch.nn.functional.mse_loss`` averages).  Each :class:`Loss`
gives it three ways:

* :meth:`Loss.mean`: one network's outputs ``(B, C)`` -> a scalar (the
  single-network loop, Hessians, gradients);
* :meth:`Loss.per_example`: ``(B, C)`` -> ``(B,)`` (per-example statistics);
* :meth:`Loss.stacked`: the logits of K stacked members, feature-major
  ``(K, C, B)`` -> each member's mean ``(K,)``; with targets ``(B,)`` shared by
  all members or ``(K, B)`` (``mse``: ``(B, C)`` or ``(K, B, C)``), and
  :meth:`Loss.stacked_gradient`, its derivative with respect to the logits,
  which the grid engine's hand-derived backward pass starts from.

``mse`` is written out as ``(z - y).pow(2).mean()`` rather than
``F.mse_loss``: the two give identical numbers, but ``F.mse_loss``'s double
derivative fails under ``torch.func``'s forward-over-reverse differentiation
(Hessian-vector products), which :mod:`lib.sharpness` needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from . import checks


def _cross_entropy_stacked(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    K, B = logits.shape[0], logits.shape[-1]
    targets = y if y.dim() == 2 else y.expand(K, B)                      # (K, B)
    return F.cross_entropy(logits, targets, reduction="none").mean(1)    # (K, C, B) -> (K,)


def _cross_entropy_gradient(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(softmax - onehot) / B, shape (K, C, B)."""
    K, B = logits.shape[0], logits.shape[-1]
    targets = (y if y.dim() == 2 else y.expand(K, B)).unsqueeze(1)      # (K, 1, B)
    dz = torch.softmax(logits, 1).scatter_add_(1, targets, torch.full_like(targets, -1.0, dtype=logits.dtype))
    return dz.div_(B)


def _mse_target(y: torch.Tensor) -> torch.Tensor:
    """Targets as (K or 1, C, B): from (B,) (one output), (B, C) shared, or (K, B, C) one batch each."""
    if y.dim() == 1:
        return y.view(1, 1, -1)
    return (y if y.dim() == 3 else y.unsqueeze(0)).transpose(-1, -2)


def _mse_stacked(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    K = logits.shape[0]
    return (logits - _mse_target(y)).pow(2).reshape(K, -1).mean(1)


def _mse_gradient(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """2 (z - y) / (C B), shape (K, C, B)."""
    return (logits - _mse_target(y)).mul_(2.0 / (logits.shape[1] * logits.shape[-1]))


def _mse_mean(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (output - target.reshape(output.shape)).pow(2).mean()


def _mse_per_example(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (output - target.reshape(output.shape)).pow(2).reshape(output.shape[0], -1).mean(1)


@dataclass(frozen=True)
class Loss:
    """One loss in its three shapes (see the module docstring); ``classification`` says whether
    accuracy (argmax of the output against an integer label) is defined."""

    name: str
    mean: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    per_example: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    stacked: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    stacked_gradient: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    classification: bool


#: The losses by name.
LOSSES: dict[str, Loss] = {
    "cross_entropy": Loss("cross_entropy", F.cross_entropy,
                          lambda z, y: F.cross_entropy(z, y, reduction="none"),
                          _cross_entropy_stacked, _cross_entropy_gradient, True),
    "mse": Loss("mse", _mse_mean, _mse_per_example, _mse_stacked, _mse_gradient, False),
}


def get(name) -> Loss:
    """The :class:`Loss` called ``name``.

    Raises:
        ValueError: ``name`` is not a key of :data:`LOSSES`.
    """
    return LOSSES[checks.choice(name, "loss", LOSSES)]


def mean_loss_function(loss) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A function ``(outputs, targets) -> scalar``: the registry's mean for a name, or ``loss`` itself
    when it is already such a function (a reader's own loss).

    Raises:
        ValueError: an unknown name.
        TypeError: neither a name nor a callable.
    """
    if isinstance(loss, str):
        return get(loss).mean
    if callable(loss):
        return loss
    raise TypeError(f"loss must be one of {', '.join(LOSSES)} or a function (outputs, targets) -> loss, "
                    f"got {type(loss).__name__}")
