"""The loss Hessian through one primitive, the Hessian-vector product, and two measures on top of it.

Every measure here needs the Hessian :math:`H = \\nabla^2 f(\\theta)` of the loss
:math:`f` on a fixed batch only through products :math:`Hv`, never as a matrix
(the textbook network has 51,450 weights: its Hessian would have 2.6 billion
entries).  :func:`hessian_vector_product` computes :math:`Hv` exactly with
``torch.func``: forward-mode differentiation (``jvp``) of the reverse-mode
gradient (``grad``), :math:`Hv = \\frac{d}{dt} \\nabla f(\\theta + t v)|_{t=0}`,
about the cost of two gradients (Pearlmutter 1994).  On top of it, as in
PyHessian (Yao et al. 2020), but with seeded probes and checked arguments:

* :func:`top_hessian_eigenvalue`: power iteration :math:`v \\leftarrow Hv / \\|Hv\\|`,
  whose Rayleigh quotient :math:`v^\\top H v` tends to the eigenvalue of largest
  magnitude;
* :func:`hessian_trace`: Hutchinson's estimator :math:`\\operatorname{tr} H =
  \\mathbb{E}[v^\\top H v]` for random signs :math:`v_i = \\pm 1` (Hutchinson 1990).

:func:`sharpness` gives both on a reader's own model, over several batches of
any iterable (a ``DataLoader``) and any objective (:mod:`lib.core.batches`); the
two functions above are the same computation on one batch ``(x, y)`` and a loss
of the registry.

:func:`loss_function` is the loss as a pure function of the weights, which the
three functions above and Keskar's sharpness (:mod:`lib.sharpness.keskar`)
differentiate.  Losses are computed in evaluation mode (batch norm uses its
running statistics), as :func:`lib.core.evaluate.evaluate` does, on whatever
fixed batch ``(x, y)`` the caller passes (the chapter uses a fixed subset of the
training set).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from lib.core import checks, losses
from lib.core.batches import (Batches, Objective, check_source, checked_loss, device_of, examples_in, functional,
                              trainable)
from lib.core.batches import objective as make_objective
from lib.core.loop import restored
from lib.core.device import seeded_generator
from lib.core.params import parameters
from lib.core.timing import timed

#: Hutchinson probes evaluated together in one vectorised (``torch.func.vmap``) pass.
PROBE_CHUNK = 10

Weights = dict[str, torch.Tensor]


def _parameters(model) -> Weights:
    """``model``'s parameters, detached, keyed like ``model.named_parameters()`` (a module with
    no parameters has no Hessian)."""
    return parameters(checks.module(model), "model")


def loss_function(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                  loss: str = "cross_entropy") -> Callable[[Weights], torch.Tensor]:
    """The mean loss on ``(x, y)`` as a pure function of a parameter dict, ``f(params) -> scalar``.

    .. math:: f(\\theta) = \\frac{1}{n} \\sum_{i=1}^n \\ell(\\text{model}_\\theta(x_i), y_i)

    with :math:`\\ell` from the loss registry (:mod:`lib.core.losses`; its ``mse``
    is written out so that forward-over-reverse differentiation works).  The
    model's buffers are copied, and the model is called in evaluation mode, so
    nothing about the model changes.

    Args:
        model (nn.Module): the network; its current buffers are used.
        x (Tensor): inputs, (n, ...).
        y (Tensor): targets, (n,) int64 class labels or (n, C) regression targets.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.

    Returns:
        callable: ``f(params)`` for a dict keyed like ``model.named_parameters()``,
        returning a scalar tensor.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``; ``x`` or ``y`` is not a tensor or
            has the wrong dtype (:func:`lib.core.checks.examples`).
        ValueError: a model without parameters, an unknown loss, or data the model
            cannot take (row counts, shapes, label ranges, NaN inputs).
    """
    _parameters(model)
    mean = losses.get(loss).mean
    checks.examples(x, y, loss=loss, model=model)
    return _batch_function(model, _registry_objective(mean), (x, y))


def _registry_objective(mean) -> Objective:
    """The objective ``(model, (x, y)) -> mean(model(x), y)`` of a registry loss."""
    return lambda m, batch: mean(m(batch[0]), batch[1])


def _batch_function(model: nn.Module, fn: Objective, batch) -> Callable[[Weights], torch.Tensor]:
    """``f(params)``: the objective on ``batch`` with the model's trainable parameters replaced by
    ``params``, its buffers by a copy of them, and every submodule in evaluation mode (batch norm on
    its running statistics, which stay untouched; dropout off), the modes put back afterwards."""
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}

    def f(params: Weights) -> torch.Tensor:
        modes = [m.training for m in model.modules()]
        model.eval()
        try:
            return fn(functional(model, params, buffers), batch)
        finally:
            for m, mode in zip(model.modules(), modes):
                m.training = mode

    return f


def _check_vector(vector, params: Weights) -> Weights:
    if not isinstance(vector, dict):
        raise TypeError(f"vector must be a dict of tensors keyed like model.named_parameters(), "
                        f"got {type(vector).__name__}")
    if set(vector) != set(params):
        missing, extra = sorted(set(params) - set(vector)), sorted(set(vector) - set(params))
        raise ValueError(f"vector must have exactly the model's parameter names; "
                         f"missing {missing}, unexpected {extra}")
    out = {}
    for name, p in params.items():
        v = vector[name]
        if not isinstance(v, torch.Tensor) or v.shape != p.shape:
            raise ValueError(f"vector[{name!r}] must be a tensor of shape {tuple(p.shape)}, "
                             f"got {getattr(v, 'shape', type(v).__name__)}")
        out[name] = v.detach().to(dtype=p.dtype).to(p.device)
    return out


def _dot(a: Weights, b: Weights) -> float:
    """The inner product of two parameter dicts, in the tensors' own dtype (MPS has no float64)."""
    return float(sum(torch.dot(a[k].reshape(-1), b[k].reshape(-1)).item() for k in a))


def _hvp_function(model, x, y, loss) -> tuple[Weights, Callable[[Weights], Weights]]:
    """The weights, and ``v -> Hv`` at them, for one batch (x, y) and a registry loss."""
    f = loss_function(model, x, y, loss=loss)
    return _hvp_over(model, [f], [1.0])


def _hvp_over(model: nn.Module, functions: list, weights: list[float]) -> tuple[Weights, Callable[[Weights], Weights]]:
    """The trainable weights, and ``v -> sum_j w_j H_j v``: the Hessian-vector product of the weighted
    sum of the batch losses ``functions``, batch by batch (forward-over-reverse, ``torch.func``), so
    that only one batch's graph is held at a time."""
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    gradients = [torch.func.grad(f) for f in functions]

    def hvp(v: Weights) -> Weights:
        total = None
        for gradient, w in zip(gradients, weights):
            product = torch.func.jvp(gradient, (params,), (v,))[1]
            if len(gradients) > 1:
                product = {k: t * w for k, t in product.items()}
            total = product if total is None else {k: total[k] + product[k] for k in total}
        return total

    return params, hvp


@timed("measuring")
def hessian_vector_product(model: nn.Module, x: torch.Tensor, y: torch.Tensor, vector: Weights, *,
                           loss: str = "cross_entropy") -> Weights:
    """The product :math:`Hv` of the loss Hessian on ``(x, y)`` with ``vector``.

    .. math:: Hv = \\frac{d}{dt} \\nabla f(\\theta + t v) \\Big|_{t=0}

    computed as ``jvp(grad(f), (theta,), (v,))``: the directional derivative of the
    gradient along ``v`` (Pearlmutter 1994), exact up to rounding.

    Args:
        model, x, y, loss: as in :func:`loss_function`.
        vector (dict[str, Tensor]): :math:`v`, keyed and shaped like ``model.named_parameters()``.

    Returns:
        dict[str, Tensor]: :math:`Hv`, keyed and shaped like the parameters.

    Raises:
        TypeError: as :func:`loss_function`; ``vector`` is not a dict.
        ValueError: as :func:`loss_function`; ``vector`` misses a parameter, has an
            extra one, or one of the wrong shape.
    """
    params, hvp = _hvp_function(model, x, y, loss)
    return {k: t.detach() for k, t in hvp(_check_vector(vector, params)).items()}


def _random_vector(params: Weights, seed: int, kind: str) -> Weights:
    generator = seeded_generator(seed)
    out = {}
    for name, p in params.items():
        if kind == "gaussian":
            v = torch.randn(p.shape, generator=generator, dtype=torch.float64)
        else:  # Rademacher: +1 or -1 with probability 1/2 each
            v = torch.randint(0, 2, p.shape, generator=generator).double() * 2 - 1
        out[name] = v.to(dtype=p.dtype).to(p.device)
    return out


@timed("measuring")
def top_hessian_eigenvalue(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                           loss: str = "cross_entropy", iterations: int = 20, seed: int = 0) -> float:
    """The Hessian eigenvalue of largest magnitude, by power iteration.

    From a Gaussian start :math:`v_0` (seeded), repeat

    .. math:: v_{k+1} = H v_k / \\|H v_k\\|, \\qquad \\lambda \\approx v_k^\\top H v_k

    and return the Rayleigh quotient of the last iterate.  The error shrinks like
    :math:`(\\lambda_2/\\lambda_1)^{2k}` after k iterations.  At a minimum the
    eigenvalue of largest magnitude is the largest one, :math:`\\lambda_{\\max}`,
    the curvature of the steepest direction; gradient descent with rate
    :math:`\\eta` is stable there only if :math:`\\eta < 2/\\lambda_{\\max}`.

    Args:
        model, x, y, loss: as in :func:`loss_function`.
        iterations (int): power-iteration steps (Hessian-vector products), >= 1. Default 20.
        seed (int): seed of the start vector. Default 0.

    Returns:
        float: the estimate of :math:`\\lambda_{\\max}` (0 when :math:`Hv = 0`).

    Raises:
        TypeError: as :func:`loss_function`; ``iterations`` or ``seed`` is not an int.
        ValueError: as :func:`loss_function`; ``iterations`` < 1; ``seed`` < 0.
    """
    iterations = checks.int_at_least(iterations, "iterations")
    seed = checks.seed(seed)
    return _power_iteration(*_hvp_function(model, x, y, loss), iterations, seed)


def _power_iteration(params: Weights, hvp, iterations: int, seed: int) -> float:
    """The Rayleigh quotient after ``iterations`` steps of v <- Hv / |Hv| from a seeded Gaussian start."""
    v = _random_vector(params, seed, "gaussian")
    norm = math.sqrt(_dot(v, v))
    v = {k: t / norm for k, t in v.items()}
    eigenvalue = 0.0
    for _ in range(iterations):
        hv = hvp(v)
        eigenvalue = _dot(v, hv)
        norm = math.sqrt(_dot(hv, hv))
        if norm == 0.0:  # v lies in the null space: H v = 0
            return 0.0
        v = {k: t.detach() / norm for k, t in hv.items()}
    return eigenvalue


@timed("measuring")
def hessian_trace(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                  loss: str = "cross_entropy", samples: int = 100, seed: int = 0) -> float:
    """Hutchinson's estimate of :math:`\\operatorname{tr} H`, the sum of all curvatures.

    .. math:: \\operatorname{tr} H \\approx \\frac{1}{S} \\sum_{s=1}^{S} v_s^\\top H v_s,
              \\qquad v_{s,i} = \\pm 1 \\text{ with probability } 1/2

    (Hutchinson 1990).  It is unbiased; its variance per sample is
    :math:`2 \\sum_{i \\ne j} H_{ij}^2`, so it is exact for a diagonal Hessian.
    The probes are seeded (one seed per probe, drawn from ``seed``) and
    :data:`PROBE_CHUNK` of them are evaluated together.

    Args:
        model, x, y, loss: as in :func:`loss_function`.
        samples (int): number of probes S, >= 1. Default 100.
        seed (int): seed of the probes. Default 0.

    Returns:
        float: the estimate of :math:`\\operatorname{tr} H`.

    Raises:
        TypeError: as :func:`loss_function`; ``samples`` or ``seed`` is not an int.
        ValueError: as :func:`loss_function`; ``samples`` < 1; ``seed`` < 0.
    """
    samples = checks.int_at_least(samples, "samples")
    seed = checks.seed(seed)
    return _hutchinson(*_hvp_function(model, x, y, loss), samples, seed)[0]


def _hutchinson(params: Weights, hvp, samples: int, seed: int) -> tuple[float, np.ndarray]:
    """(the mean of v^T H v over ``samples`` seeded Rademacher probes, the S values v^T H v)."""
    generator_seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(samples)]
    batched_hvp = torch.func.vmap(hvp)  # PROBE_CHUNK probes per pass: batched products, several times faster
    total, values = 0.0, []
    for start in range(0, samples, PROBE_CHUNK):
        probes = [_random_vector(params, s, "rademacher") for s in generator_seeds[start:start + PROBE_CHUNK]]
        stacked = {k: torch.stack([v[k] for v in probes]) for k in params}       # (chunk, *shape) each
        products = batched_hvp(stacked)
        chunk = [_dot({k: t[i] for k, t in stacked.items()}, {k: t[i] for k, t in products.items()})
                 for i in range(len(probes))]
        total += sum(chunk)
        values.extend(chunk)
    return total / samples, np.array(values)


# --------------------------------------------------------------------------- any model, any batches

@dataclass(frozen=True)
class Sharpness:
    """The Hessian's top eigenvalue and trace on a reader's model and batches (:func:`sharpness`).

    Attributes:
        top_eigenvalue (float): :math:`\\lambda_{\\max}` by power iteration, in loss units per
            (parameter unit) squared; gradient descent at rate :math:`\\eta` is stable only for
            :math:`\\eta < 2/\\lambda_{\\max}`.
        trace (float): Hutchinson's estimate of :math:`\\operatorname{tr} H`.
        trace_standard_error (float): its standard error, std(v^T H v) / sqrt(S) over the S probes.
        batches (int): batches the Hessian is taken over.  examples (int): their examples.
        iterations (int), samples (int): power-iteration steps and Hutchinson probes.
    """

    top_eigenvalue: float
    trace: float
    trace_standard_error: float
    batches: int
    examples: int
    iterations: int
    samples: int

    @property
    def stable_rate(self) -> float:
        """:math:`2/\\lambda_{\\max}`, the largest rate at which gradient descent is stable on the local
        quadratic (NaN when :math:`\\lambda_{\\max} \\le 0`)."""
        return 2.0 / self.top_eigenvalue if self.top_eigenvalue > 0 else math.nan


@timed("measuring")
def sharpness(model: nn.Module, batches, *, loss=None, objective=None, inputs=None, target=None,
              n_batches: int = 1, iterations: int = 20, samples: int = 100, seed: int = 0) -> Sharpness:
    """Top Hessian eigenvalue and Hessian trace of any model's loss over the first ``n_batches`` batches.

    The loss is the example-weighted mean over the batches,
    :math:`f = \\sum_j (n_j/n) f_j`, so :math:`Hv = \\sum_j (n_j/n) H_j v`, one
    batch's Hessian-vector product at a time (as PyHessian's data-loader mode,
    :cite:`yao2020pyhessian`).  On it, the power iteration of
    :func:`top_hessian_eigenvalue` and Hutchinson's estimator of :func:`hessian_trace`,
    with seeded probes.  The model is evaluated in evaluation mode, through
    ``torch.func.functional_call`` with a copy of its buffers: batch-norm running
    statistics are used and never updated, dropout is off, and the model's modes,
    weights and gradients are not touched (two traps of PyHessian, which leaves the
    model in evaluation mode with gradients set).

    Args:
        model (nn.Module): the network; its trainable parameters are the Hessian's variables.
        batches (iterable): batches as :func:`lib.core.batches.objective` takes them.
        loss, objective, inputs, target: the objective (:func:`lib.core.batches.objective`); it must
            call the model as ``model(...)``.
        n_batches (int): batches the Hessian is taken over, >= 1. Default 1.
        iterations (int): power-iteration steps, >= 1. Default 20.
        samples (int): Hutchinson probes, >= 2. Default 100.
        seed (int): seed of the start vector and of the probes. Default 0.

    Returns:
        Sharpness: the top eigenvalue, the trace with its standard error, and what they used.

    Raises:
        TypeError: as :func:`lib.core.batches.objective`; ``model`` not a module; counts not ints.
        ValueError: no trainable parameter, empty batches, a batch the objective cannot take,
            counts out of range.
    """
    trainable(model)
    n_batches = checks.integer(n_batches, "n_batches", minimum=1)
    iterations = checks.integer(iterations, "iterations", minimum=1)
    samples = checks.integer(samples, "samples", minimum=2)
    seed = checks.seed(seed)
    fn = make_objective(loss, objective, inputs=inputs, target=target)
    check_source(batches)
    stream = Batches(batches, device_of(model))
    with restored(model):               # a shuffling loader draws from torch's random state
        taken = [stream.next() for _ in range(n_batches)]
    counts = [examples_in(b) for b in taken]
    modes = [m.training for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            checked_loss(fn, model, taken[0])
    finally:
        for m, mode in zip(model.modules(), modes):
            m.training = mode
    functions = [_batch_function(model, fn, b) for b in taken]
    params, hvp = _hvp_over(model, functions, [n / sum(counts) for n in counts])
    top = _power_iteration(params, hvp, iterations, seed)
    trace, values = _hutchinson(params, hvp, samples, seed)
    return Sharpness(top_eigenvalue=top, trace=trace,
                     trace_standard_error=float(np.std(values, ddof=1) / math.sqrt(samples)),
                     batches=n_batches, examples=sum(counts), iterations=iterations, samples=samples)
