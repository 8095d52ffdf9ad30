"""K networks of one architecture as one computation: the grid engine's forward and backward passes.

The K members' weights are stacked along a leading axis
(:func:`torch.func.stack_module_state`): a ``Linear(784, 64)`` becomes a weight
of shape ``(K, 64, 784)`` and a bias ``(K, 64)``.  Two paths compute the K
losses and gradients:

* **any module** (a CNN, batch norm): :func:`torch.func.vmap` over
  :func:`torch.func.functional_call` runs the K members as one batched call,
  and autograd differentiates it;
* **the fast path**, for a plain stack of ``Linear`` layers and element-wise
  activations (the textbook's perceptron), written by hand.  Each trick is
  commented where it is made; together they make a grid of 16 several times
  faster per model than 16 separate runs on a CPU:

  1. the first layer of all K members is one matrix product
     ``[W_1; ...; W_K] (K*64, 784) @ x^T (784, B)``: one large GEMM instead of K
     small ones, and it holds ~98 % of the arithmetic;
  2. activations stay feature-major, ``(K, features, B)``, so weight gradients
     ``dZ @ h^T`` come out in the layout the weights are stored in;
  3. backpropagation is four lines per layer, without autograd's graph and its
     per-step bookkeeping (about a fifth of a step on a CPU);
  4. weight gradients stay factored (:class:`Outer`): the update adds
     ``-lr * dZ @ x`` straight into the weights (``addmm_``), never writing the
     ``(K*64, 784)`` gradient to memory and reading it back.

The engine (:mod:`lib.core.engine`) calls :func:`losses_and_grads`; the tests
check every member of both paths against PyTorch's own autograd and
``torch.optim.SGD``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .losses import Loss
from .models import ACTIVATIONS


def is_plain_mlp(module: nn.Module) -> bool:
    """True for an ``nn.Sequential`` of ``Linear`` layers and the activations of
    :data:`lib.core.models.ACTIVATIONS`, starting and ending with ``Linear``: the fast path."""
    if not isinstance(module, nn.Sequential) or len(module) == 0:
        return False
    kinds = tuple(ACTIVATIONS.values())
    return (isinstance(module[0], nn.Linear) and isinstance(module[-1], nn.Linear)
            and all(isinstance(m, (nn.Linear,) + kinds) for m in module)
            and all(type(m) in kinds for m in module if not isinstance(m, nn.Linear)))


def first_layer(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Pre-activations of the first layer of K stacked perceptrons, shape (K, out, B).

    ``x`` is (B, D) when every member sees the same batch, (K, B, D) when each has its own.
    """
    weight, bias = params["0.weight"], params["0.bias"]                 # (K, out, D), (K, out)
    K, out, inp = weight.shape
    if x.dim() == 2:
        # Trick 1: all K members' first layers as one GEMM, (K*out, D) @ (D, B).
        return torch.addmm(bias.reshape(-1, 1), weight.reshape(K * out, inp), x.t()).view(K, out, -1)
    return torch.baddbmm(bias.unsqueeze(-1), weight, x.transpose(1, 2))  # (K, out, B), one batch each


def mlp_forward(template: nn.Sequential, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits of K stacked perceptrons, shape (K, classes, B), feature-major (trick 2)."""
    h = first_layer(params, x)                                          # (K, 64, B)
    for index, layer in enumerate(template):
        if index == 0:
            continue
        if isinstance(layer, nn.Linear):                                 # (K, out, in) @ (K, in, B)
            h = torch.baddbmm(params[f"{index}.bias"].unsqueeze(-1), params[f"{index}.weight"], h)
        else:
            h = layer(h)                                                 # element-wise, shape kept
    return h


@dataclass
class Outer:
    """A weight gradient kept as its two factors, ``dZ @ x``, never materialised (trick 4).

    The first layer's gradient of a grid of 16 is a (16*64, 784) matrix, 3 MB:
    folding the learning rate into ``dZ`` and letting the matrix product add
    straight into the weights (``addmm_`` with beta = 1) saves allocating it,
    writing it, and reading it back for the update.
    """

    dz: torch.Tensor      # (K, out, B)
    x: torch.Tensor       # (B, D) shared by the members, or (K, B, D)

    def add_to(self, target: torch.Tensor, scale: torch.Tensor | None) -> None:
        """``target += scale * (dZ @ x)`` for a (K, -1) view of a (K, out, D) weight; ``scale`` is (K, 1)."""
        K, out, _ = self.dz.shape
        dz = self.dz if scale is None else self.dz * scale.view(K, 1, 1)
        if self.x.dim() == 2:
            target.view(K * out, -1).addmm_(dz.reshape(K * out, -1), self.x)    # (K*out, B) @ (B, D)
        else:
            target.view(K, out, -1).baddbmm_(dz, self.x)                        # (K, out, B) @ (K, B, D)

    def masked(self, alive: torch.Tensor) -> "Outer":
        """The same gradient with the rows of members that are not ``alive`` (K,) set to zero."""
        return Outer(torch.where(alive.view(-1, 1, 1), self.dz, 0.0), self.x)


#: d(activation)/d(input), written in terms of the activation's output a.
_DERIVATIVE_FROM_OUTPUT = {
    nn.Sigmoid: lambda a: a * (1 - a),
    nn.Tanh: lambda a: 1 - a * a,
    nn.ReLU: lambda a: (a > 0).to(a.dtype),
    nn.Identity: lambda a: torch.ones_like(a),
}


@torch.no_grad()
def mlp_losses_and_grads(template: nn.Sequential, params: dict, x: torch.Tensor, y: torch.Tensor,
                         loss: Loss) -> tuple[torch.Tensor, dict]:
    """Each member's batch loss (K,) and every weight's gradient, by hand-derived backpropagation (trick 3).

    Per ``Linear`` layer with input h and pre-activation Z: ``dW = dZ h^T``,
    ``db = sum_B dZ``, ``dh = W^T dZ``; through an activation a = f(Z):
    ``dZ = dh * f'(Z)``, with f' written in terms of a.  Weight gradients are
    returned as :class:`Outer` factor pairs.
    """
    inputs, outputs = [], []           # per Linear: its input; per activation: its output
    h = x
    for index, layer in enumerate(template):
        if isinstance(layer, nn.Linear):
            inputs.append((index, h))
            h = (first_layer(params, x) if index == 0 else
                 torch.baddbmm(params[f"{index}.bias"].unsqueeze(-1), params[f"{index}.weight"], h))
        else:
            h = layer(h)
            outputs.append((type(layer), h))
    logits = h                                                       # (K, C, B)
    batch_loss = loss.stacked(logits, y)                             # (K,)
    dz = loss.stacked_gradient(logits, y)                            # (K, C, B)
    grads = {}
    for index, h_in in reversed(inputs):
        right = h_in if index == 0 else h_in.transpose(1, 2)         # (B, D) / (K, B, D)
        grads[f"{index}.weight"] = Outer(dz, right)
        grads[f"{index}.bias"] = dz.sum(-1)                          # (K, out)
        if index == 0:
            break
        kind, a = outputs.pop()
        dz = torch.bmm(params[f"{index}.weight"].transpose(1, 2), dz).mul_(_DERIVATIVE_FROM_OUTPUT[kind](a))
    return batch_loss, grads


def make_forward(template: nn.Module) -> Callable[[dict, dict, torch.Tensor], torch.Tensor]:
    """A function ``(params, buffers, x) -> logits (K, C, B)`` for K stacked copies of ``template``.

    ``x`` is (B, ...) shared by the members or (K, B, ...) one batch each.
    """
    if is_plain_mlp(template):
        return lambda params, buffers, x: mlp_forward(template, params, x)

    def one(params, buffers, x):
        return torch.func.functional_call(template, (params, buffers), (x,)).transpose(0, 1)   # (C, B)

    shared = torch.func.vmap(one, in_dims=(0, 0, None), randomness="different")
    per_member = torch.func.vmap(one, in_dims=(0, 0, 0), randomness="different")
    return lambda params, buffers, x: (shared if x.dim() == 2 else per_member)(params, buffers, x)


def losses_and_grads(template: nn.Module, forward, fast: bool, params: dict, buffers: dict,
                     x: torch.Tensor, y: torch.Tensor, loss: Loss) -> tuple[torch.Tensor, dict]:
    """Each member's batch loss (K,) and the gradient of each stacked parameter (by name).

    ``fast`` (from :func:`is_plain_mlp`) takes the hand-derived path; otherwise
    autograd differentiates the vmapped forward pass ``forward`` (from
    :func:`make_forward`).
    """
    if fast:
        return mlp_losses_and_grads(template, params, x, y, loss)
    batch_loss = loss.stacked(forward(params, buffers, x), y)
    names = list(params)
    grads = torch.autograd.grad(batch_loss.sum(), [params[k] for k in names])
    return batch_loss, dict(zip(names, grads))
