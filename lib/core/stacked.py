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

For the textbook's perceptrons the engine (:mod:`lib.core.engine`) goes one
step further and takes :class:`FusedSGD`: forward pass, loss, backward pass and
update in one place, with the tricks 5-11 written beside it; other modules go
through :func:`losses_and_grads`.  The tests check every member of every path
against PyTorch's own autograd and ``torch.optim.SGD``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from . import checks
from .losses import Loss
from .models import ACTIVATIONS


def is_plain_mlp(module: nn.Module) -> bool:
    """True for an ``nn.Sequential`` of ``Linear`` layers (with biases) and the activations of
    :data:`lib.core.models.ACTIVATIONS`, starting and ending with ``Linear``: the fast path."""
    if not isinstance(module, nn.Sequential) or len(module) == 0:
        return False
    kinds = tuple(ACTIVATIONS.values())
    return (isinstance(module[0], nn.Linear) and isinstance(module[-1], nn.Linear)
            and all(isinstance(m, (nn.Linear,) + kinds) for m in module)
            and all(type(m) in kinds for m in module if not isinstance(m, nn.Linear))
            and all(m.bias is not None for m in module if isinstance(m, nn.Linear)))


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
    inputs = []       # per Linear: its index, its input, and the activations (kind, output) just before it
    pending = []      # activations since the last Linear (none, one, or several in a row)
    h = x
    for index, layer in enumerate(template):
        if isinstance(layer, nn.Linear):
            inputs.append((index, h, pending))
            pending = []
            h = (first_layer(params, x) if index == 0 else
                 torch.baddbmm(params[f"{index}.bias"].unsqueeze(-1), params[f"{index}.weight"], h))
        else:
            h = layer(h)
            pending.append((type(layer), h))
    logits = h                                                       # (K, C, B)
    batch_loss = loss.stacked(logits, y)                             # (K,)
    dz = loss.stacked_gradient(logits, y)                            # (K, C, B)
    grads = {}
    for index, h_in, activations in reversed(inputs):
        right = h_in if index == 0 else h_in.transpose(1, 2)         # (B, D) / (K, B, D)
        grads[f"{index}.weight"] = Outer(dz, right)
        grads[f"{index}.bias"] = dz.sum(-1)                          # (K, out)
        if index == 0:
            break
        dz = torch.bmm(params[f"{index}.weight"].transpose(1, 2), dz)
        for kind, a in reversed(activations):                        # the chain rule through each in turn
            dz = dz.mul_(_DERIVATIVE_FROM_OUTPUT[kind](a))
    return batch_loss, grads


#: The activation's backward pass from its output ``a`` and the incoming gradient: the same ATen
#: kernels autograd calls (one fused element-wise pass instead of three).
#: Each writes into ``dh`` itself (the ``grad_input=`` out variants): ``dh`` is a fresh ``W^T dZ`` the
#: step owns, so no second (K, features, B) tensor is allocated.
_BACKWARD_FROM_OUTPUT = {
    nn.Sigmoid: lambda dh, a: torch.ops.aten.sigmoid_backward.grad_input(dh, a, grad_input=dh),  # dh a (1 - a)
    nn.Tanh: lambda dh, a: torch.ops.aten.tanh_backward.grad_input(dh, a, grad_input=dh),        # dh (1 - a^2)
    nn.ReLU: lambda dh, a: torch.ops.aten.threshold_backward.grad_input(dh, a, 0, grad_input=dh),  # dh if a > 0
    nn.Identity: lambda dh, a: dh,
}
_IN_PLACE = {nn.Sigmoid: torch.Tensor.sigmoid_, nn.Tanh: torch.Tensor.tanh_, nn.ReLU: torch.Tensor.relu_,
             nn.Identity: lambda h: h}

#: Trick 10: ``tanh z = 2 sigmoid(2z) - 1``.  On a CPU ATen's ``tanh`` kernel costs about three times
#: its ``sigmoid`` per element (measured on this project's 2-core AMD EPYC, AVX2: 164 against 47 us
#: for a (16, 16, 128) tensor, one thread), so a Tanh layer takes its pre-activation doubled from the
#: matrix product itself (``alpha = beta = 2``, no extra pass), applies ``sigmoid_`` and maps
#: ``s -> 2 s - 1`` in place (one ``lerp_``).  The result differs from ``torch.tanh`` by rounding only (< 2e-7 in
#: float32, < 1e-15 in float64), which the tests' comparisons with ``torch.optim.SGD`` cover.
_PRE_SCALE = {nn.Tanh: 2.0}


def _activate(kind, z: torch.Tensor) -> torch.Tensor:
    """The activation ``kind`` applied in place to ``z``, which holds the pre-activation times
    ``_PRE_SCALE.get(kind, 1)`` (tricks 8 and 10)."""
    if kind is nn.Tanh:                              # 2 s - 1 as one lerp from s towards 1 with weight -1
        return z.sigmoid_().lerp_(_one(z), -1.0)
    return _IN_PLACE[kind](z)


_ONES: dict[tuple, torch.Tensor] = {}


def _one(z: torch.Tensor) -> torch.Tensor:
    """A 0-dimensional 1 of ``z``'s dtype and device, made once."""
    key = (z.dtype, z.device)
    one = _ONES.get(key)
    if one is None:
        one = _ONES[key] = torch.ones((), dtype=z.dtype, device=z.device)
    return one


class FusedSGD:
    """One SGD update of K stacked perceptrons with as few tensor operations as the arithmetic allows.

    The path :func:`train_grid <lib.core.engine.train_grid>` takes for a plain
    perceptron (:func:`is_plain_mlp`).  It computes what :func:`mlp_losses_and_grads`
    followed by the engine's update does, and the tests hold both to
    ``torch.optim.SGD``; the difference is where the time goes.  On a CPU a
    small tensor operation costs microseconds of dispatch whatever its size, and
    at batch 16 a step's matrix products take ~100 microseconds, so the count of
    operations *is* the overhead.  The tricks, beside the four of the module docstring:

    5. every view of the weights (the (K*64, 784) first layer, the (K, out, 1)
       bias columns, the transposed weights ``W^T`` of the backward pass, the flat
       rows the updates write into) is made once per run, and every view of a
       batch (``x^T``, the targets as a (K, 1, B) index) once per batch buffer, not
       once per step;
    6. the cross-entropy's ``log_softmax`` is computed once: the loss picks the
       targets' log-probabilities out of it (``gather``: -mean_b log p[y_b]) and
       ``exp`` of it, in place, is the softmax its gradient needs;
    7. the learning rate is folded into ``dZ`` of the last layer once, and the
       batch mean's -1/B into the ``alpha`` of every product that writes an
       update: backpropagation is linear in ``dZ``, so every layer's factors arrive
       already multiplied by ``lr_k`` and each weight update is one ``addmm_`` /
       ``baddbmm_`` (without momentum);
    8. activations are applied in place and their derivatives are ATen's fused
       ``*_backward`` kernels (the ones autograd runs), one pass instead of three;
    9. each layer's input gradient ``W^T dZ`` is taken before that layer's
       weights are overwritten, so the update needs no copy of the old weights;
    10. ``tanh`` is computed as ``2 sigmoid(2z) - 1``, the doubling folded into the
        matrix product (see ``_PRE_SCALE``): ATen's CPU ``tanh`` costs three ``sigmoid``\\ s;
    11. a bias gradient is a sum over the batch, ``dZ 1``: one matrix-vector product
        ``addmv_`` adds it into the bias (with the same ``alpha``), instead of a sum,
        a view and an addition.

    Members frozen after divergence (``alive`` False) get a zero rate and their
    factors are zeroed layer by layer with ``torch.where`` (NaN-safe), as in the
    general path.

    Args:
        template (nn.Sequential): a plain perceptron (:func:`is_plain_mlp`).
        params (dict): the stacked parameters (K, ...); updated in place.
        loss (Loss): the loss; ``cross_entropy`` takes the fused route (trick 6),
            any other loss its :meth:`Loss.stacked` and :meth:`Loss.stacked_gradient`.
        momentum (Tensor or None): (K, 1) momentum factors, None for plain SGD.
        decay (Tensor or None): (K, 1) weight decays, None for none.
        buffers (dict or None): momentum buffers, (K, -1) per parameter name, when ``momentum``.
    """

    @staticmethod
    def supports(template: nn.Module) -> bool:
        """True for ``Linear (activation Linear)*`` with activations of :data:`lib.core.models.ACTIVATIONS`
        (what :func:`lib.core.models.mlp` builds); other plain stacks take :func:`mlp_losses_and_grads`."""
        if not is_plain_mlp(template):
            return False
        modules = list(template)
        return all(isinstance(m, nn.Linear) == (i % 2 == 0) for i, m in enumerate(modules))

    def __init__(self, template: nn.Sequential, params: dict, loss: Loss, momentum=None, decay=None,
                 buffers: dict | None = None):
        self.cross_entropy = loss.name == "cross_entropy"
        self.loss = loss
        self.momentum, self.decay, self.buffers = momentum, decay, buffers
        weights = {k: p.detach() for k, p in params.items()}
        self.K = K = next(iter(weights.values())).shape[0]
        self.rows = {k: w.view(K, -1) for k, w in weights.items()}           # (K, -1) views (trick 5)
        self.layers = []          # one _Layer per Linear, first to last
        modules = list(template)
        for index, layer in enumerate(modules):
            if isinstance(layer, nn.Linear):
                after = type(modules[index + 1]) if index + 1 < len(modules) else None
                self.layers.append(_Layer(str(index), weights[f"{index}.weight"], weights[f"{index}.bias"], after))
        self._batch = (None, None, None, None)     # (x, y, x^T, target index): views of the last batch seen
        self._constants: dict[tuple, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self.saved = None

    def _batch_views(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x^T`` (D, B) for a shared batch and the targets as a (K, 1, B) index (trick 5).

        The engine fills the same batch buffers every step, so the views are made
        again only when ``x`` or ``y`` is another tensor (the cache holds them, so
        their memory cannot be reused meanwhile).
        """
        last_x, last_y, xt, index = self._batch
        if x is not last_x or y is not last_y:
            xt = x.t() if x.dim() == 2 else None
            index = None
            if self.cross_entropy:
                index = (y.view(1, 1, -1).expand(self.K, 1, y.shape[-1]) if y.dim() == 1
                         else y.unsqueeze(1))
            self._batch = (x, y, xt, index)
        return xt, index

    def _constants_for(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Made once per batch size B: a (K, 1, B) tensor of -1 (the one-hot subtracted from the
        softmax), a (B,) vector of ones (a bias gradient is ``dZ 1``) and a (B,) vector of -1/B
        (the cross-entropy is ``logp[y] . (-1/B)``)."""
        K, _, B = out.shape
        key = (B, out.dtype, out.device)
        constants = self._constants.get(key)
        if constants is None:
            constants = self._constants[key] = (
                torch.full((K, 1, B), -1.0, dtype=out.dtype, device=out.device),
                torch.ones(B, dtype=out.dtype, device=out.device),
                torch.full((B,), -1.0 / B, dtype=out.dtype, device=out.device))
        return constants

    def forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each member's batch loss (K,); keeps what :meth:`update` needs.

        ``x`` is (B, D) shared by the members or (K, B, D); ``y`` (B,) or (K, B) (mse: (B, C) or (K, B, C)).
        """
        K = self.K
        xt, index = self._batch_views(x, y)
        hidden = []                                                       # inputs of each Linear
        h = x
        for position, layer in enumerate(self.layers):
            hidden.append(h)
            c = layer.pre_scale                                           # trick 10: c * Z from the product
            if position == 0 and xt is not None:                          # trick 1, (K*out, D) @ (D, B)
                h = torch.addmm(layer.bias_flat_column, layer.weight_flat, xt, beta=c, alpha=c).view(K, layer.out, -1)
            elif position == 0:
                h = torch.baddbmm(layer.bias_column, layer.weight, x.transpose(1, 2), beta=c, alpha=c)
            else:
                h = torch.baddbmm(layer.bias_column, layer.weight, h, beta=c, alpha=c)   # (K, out, B)
            if layer.after is not None:
                h = _activate(layer.after, h)                             # trick 8: in place
        B = h.shape[-1]
        if self.cross_entropy:                                            # trick 6
            logp = torch.log_softmax(h, 1)                                # (K, C, B)
            minus_mean = self._constants_for(logp)[2]                     # -mean_b log p[y_b], (K,)
            batch_loss = torch.mv(logp.gather(1, index).view(K, B), minus_mean)
            self.saved = (hidden, logp, index)
        else:
            batch_loss = self.loss.stacked(h, y)
            self.saved = (hidden, h, y)
        return batch_loss

    def update(self, lr: torch.Tensor, alive: torch.Tensor | None = None) -> None:
        """Backpropagate the saved batch and apply one SGD update with rates ``lr`` (K, 1).

        ``alive`` (K,) bool, or None when every member is alive: frozen members' factors are
        zeroed and their rate is 0 (the general path's semantics).
        """
        K = self.K
        hidden, out, targets = self.saved
        B = out.shape[-1]
        if alive is not None:
            lr = lr * alive.view(K, 1)
            alive = alive.view(K, 1, 1)
        plain = self.momentum is None
        if self.cross_entropy:       # dZ = softmax - onehot, times lr (plain SGD) or 1 (the buffers need g)
            minus_one, ones, _ = self._constants_for(out)
            dz = out.exp_()                                               # softmax, in place of log-softmax
            dz.scatter_add_(1, targets, minus_one)
            if plain:
                dz.mul_(lr.view(K, 1, 1))
            alpha = -1.0 / B if plain else 1.0 / B                        # trick 7: the mean's 1/B
        else:                        # stacked_gradient already holds the loss's own normalisation
            ones = self._constants_for(out)[1]
            dz = self.loss.stacked_gradient(out, targets)
            if plain:
                dz.mul_(lr.view(K, 1, 1))
            alpha = -1.0 if plain else 1.0
        shrink = 1.0 - lr * self.decay if plain and self.decay is not None else None   # (K, 1)
        for position in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[position]
            if alive is not None:
                dz = torch.where(alive, dz, 0.0)
            h_in = hidden[position]
            below = None
            if position > 0:                                              # trick 9: before W changes
                below = torch.bmm(layer.weight_t, dz)                     # (K, in, B)
                below = _BACKWARD_FROM_OUTPUT[self.layers[position - 1].after](below, h_in)
            if plain:
                if shrink is not None:                                    # w <- w (1 - lr wd) - lr g
                    self.rows[layer.weight_name].mul_(shrink)
                    self.rows[layer.bias_name].mul_(shrink)
                self._add_gradient(position, layer, dz, h_in, ones, alpha)
            else:
                self._momentum_step(position, layer, dz, h_in, ones, alpha, lr)
            dz = below

    def _add_gradient(self, position: int, layer: "_Layer", dz: torch.Tensor, h_in: torch.Tensor,
                      ones: torch.Tensor, alpha: float, into: tuple | None = None) -> None:
        """``W += alpha dZ h_in^T`` and ``b += alpha dZ 1`` (tricks 4 and 11), into the layer's own
        weight and bias or into ``into`` = (weight-shaped, (K*out,)) tensors (the momentum buffers)."""
        K, out, B = dz.shape
        weight, bias_flat = (layer.weight, layer.bias_flat) if into is None else into
        dz_flat = dz.view(K * out, B)
        if position == 0 and h_in.dim() == 2:                                        # (K*out, B) @ (B, D)
            (layer.weight_flat if into is None else weight.view(K * out, -1)).addmm_(dz_flat, h_in, alpha=alpha)
        elif position == 0:
            weight.baddbmm_(dz, h_in, alpha=alpha)                                   # (K, out, B) @ (K, B, D)
        else:
            weight.baddbmm_(dz, h_in.transpose(1, 2), alpha=alpha)                   # (K, out, B) @ (K, B, in)
        bias_flat.addmv_(dz_flat, ones, alpha=alpha)                                 # (K*out, B) @ (B,)

    def _momentum_step(self, position, layer, dz, h_in, ones, alpha, lr) -> None:
        """torch.optim.SGD with momentum: b <- m b + g (+ wd w); w <- w - lr b, per member."""
        buffers = [self.buffers[layer.weight_name], self.buffers[layer.bias_name]]    # (K, -1) each
        for buffer in buffers:
            buffer.mul_(self.momentum)
        self._add_gradient(position, layer, dz, h_in, ones, alpha,
                           into=(buffers[0].view(layer.weight.shape), buffers[1].view(-1)))
        for key, buffer in zip((layer.weight_name, layer.bias_name), buffers):
            row = self.rows[key]
            if self.decay is not None:
                buffer.addcmul_(row, self.decay)
            row.addcmul_(buffer, lr, value=-1.0)


class _Layer:
    """One ``Linear`` of a :class:`FusedSGD` and the views of its stacked weights it uses (trick 5)."""

    def __init__(self, name: str, weight: torch.Tensor, bias: torch.Tensor, after):
        K, out, inp = weight.shape
        self.weight_name, self.bias_name = f"{name}.weight", f"{name}.bias"
        self.weight, self.out, self.after = weight, out, after           # (K, out, in)
        self.weight_flat = weight.view(K * out, inp)                      # (K*out, in): trick 1
        self.weight_t = weight.transpose(1, 2)                            # (K, in, out): W^T dZ
        self.bias_column = bias.unsqueeze(-1)                             # (K, out, 1)
        self.bias_flat_column = bias.view(K * out, 1)                     # (K*out, 1)
        self.bias_flat = bias.view(K * out)                               # (K*out,)
        self.pre_scale = _PRE_SCALE.get(after, 1.0)                       # trick 10


def make_forward(template: nn.Module) -> Callable[..., torch.Tensor]:
    """A function ``(params, buffers, x, shared=None) -> logits (K, C, B)`` for K stacked copies of ``template``.

    ``x`` is (B, ...) shared by the members (``shared=True``) or (K, B, ...) one batch each
    (``shared=False``); ``None`` reads it from the shape, as the engine's (B, features)
    batches allow: 2-D is shared.  Evaluation passes ``shared=True``, so a model that takes
    images (B, 1, 28, 28) is evaluated as it should be.

    Raises (from the returned function):
        ValueError: a shared batch for a plain perceptron that is not (B, features).
    """
    if is_plain_mlp(template):
        def perceptron(params, buffers, x, shared=None):
            if shared:
                checks.feature_rows(x, "x", "a perceptron (nn.Sequential of Linear layers)")
            return mlp_forward(template, params, x)
        return perceptron

    def one(params, buffers, x):
        return torch.func.functional_call(template, (params, buffers), (x,)).transpose(0, 1)   # (C, B)

    on_shared = torch.func.vmap(one, in_dims=(0, 0, None), randomness="different")
    on_own = torch.func.vmap(one, in_dims=(0, 0, 0), randomness="different")

    def forward(params, buffers, x, shared=None):
        if shared is None:
            shared = x.dim() == 2
        return (on_shared if shared else on_own)(params, buffers, x)
    return forward


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
