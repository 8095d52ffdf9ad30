"""A network's weights as a dict, a flat vector, or a stack of several networks' weights.

Weight-space tools (interpolation, random directions, the plane through three
solutions, Hessian-vector products) treat the weights as one vector; the
network wants a ``name -> tensor`` dict.  These helpers convert between the
two, in one place:

* :func:`parameters`: an ``nn.Module`` or a dict of tensors -> a dict of detached tensors;
* :func:`flatten` / :func:`unflatten`: a dict <-> one float64 vector, in the dict's order;
* :func:`stack`: several dicts of the same shapes -> one dict of (K, ...) tensors,
  the layout of the grid engine (:func:`torch.func.stack_module_state`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn


def parameters(weights, what: str = "weights") -> dict[str, torch.Tensor]:
    """The parameters of an ``nn.Module`` (detached, keyed like ``named_parameters()``), or a dict as given.

    Raises:
        TypeError: neither a module nor a non-empty dict of tensors.
        ValueError: a module without parameters.
    """
    if isinstance(weights, nn.Module):
        result = {name: p.detach() for name, p in weights.named_parameters()}
        if not result:
            raise ValueError(f"{what} has no parameters; pass a network with at least one parameter")
        return result
    if not isinstance(weights, Mapping) or not weights or \
            not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise TypeError(f"{what} must be an nn.Module or a dict of parameter tensors, got {type(weights).__name__}")
    return dict(weights)


def same_layout(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], what: str) -> None:
    """Check that ``b`` has ``a``'s parameter names (in order) and shapes.

    Raises:
        ValueError: they differ (not the same architecture).
    """
    if list(a) != list(b) or any(a[k].shape != b[k].shape for k in a):
        raise ValueError(f"{what} must have the same parameter names and shapes (the same architecture)")


def flatten(weights: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """All tensors of ``weights`` as one float64 vector, in the dict's order, (P,)."""
    return torch.cat([p.detach().reshape(-1).double() for p in weights.values()])


def unflatten(flat: torch.Tensor, like: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The vector ``flat`` (P,) cut back into tensors with the names, shapes, dtypes and device of ``like``.

    Raises:
        ValueError: ``flat`` does not hold exactly as many numbers as ``like``.
    """
    total = sum(t.numel() for t in like.values())
    if flat.dim() != 1 or flat.numel() != total:
        raise ValueError(f"flat must be a vector of the {total} parameters, got shape {tuple(flat.shape)}")
    out, start = {}, 0
    for name, t in like.items():
        out[name] = flat[start:start + t.numel()].reshape(t.shape).to(dtype=t.dtype, device=t.device)
        start += t.numel()
    return out


def stack(weights: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """K dicts of the same layout as one dict of stacked tensors, each (K, ...).

    Raises:
        ValueError: an empty list, or dicts of different layouts.
    """
    weights = list(weights)
    if not weights:
        raise ValueError("stack needs at least one set of weights")
    for i, w in enumerate(weights[1:], start=2):
        same_layout(weights[0], w, f"weights {i}")
    return {name: torch.stack([w[name] for w in weights]) for name in weights[0]}
