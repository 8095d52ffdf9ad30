"""Looking at the loss along lines through weight space.

A network's loss lives in tens of thousands of dimensions; a line through two
weight vectors, or through one weight vector along a chosen direction, is a view
a reader can plot:

* :func:`interpolate`: Goodfellow et al.'s (2015) linear path, used by Keskar
  et al. (2017, their figure 3) between a small-batch and a large-batch
  solution, :math:`\\theta(\\alpha) = \\alpha\\,\\theta_b + (1 - \\alpha)\\,\\theta_a`,
  and :func:`parametric_curves`, the same on several data sets;
* :func:`filter_normalized_direction` and :func:`losses_along_line`: Li et al.'s
  (2018) random direction, rescaled filter by filter to the size of the
  weights it perturbs, so that valleys of networks with different weight
  scales can be compared; the loss at :math:`\\theta + \\alpha d`;
  :func:`losses_along_random_directions`, several such lines through one network;
* :func:`weight_distance`: how far training moved the weights,
  :math:`\\|\\theta - \\theta_0\\|_2`.

Every point of a line is one set of weights; all of them are evaluated in one
stacked pass with :func:`lib.core.evaluate.evaluate_stacked` (one forward
computation for the whole line, in evaluation mode).  Keskar's plot is drawn by
:func:`lib.sharpness.figures.parametric_figure`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from lib.core import checks, losses
from lib.core.device import seeded_generator
from lib.core.evaluate import stacked_metrics
from lib.core.params import parameters, same_layout

Weights = dict[str, torch.Tensor]


def _parameters(model, what: str = "model") -> Weights:
    return parameters(checks.module(model, what), what)


def _check_evaluation(model, x, y, loss, chunk) -> int:
    losses.get(loss)
    checks.examples(x, y, loss=loss, model=model)
    return checks.int_at_least(chunk, "chunk")


def _stacked_buffers(model: nn.Module, count: int) -> Weights:
    return {n: b.detach().unsqueeze(0).expand(count, *b.shape) for n, b in model.named_buffers()}


def _evaluate_points(model, stacked, buffers, x, y, loss, chunk) -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy of every point of a line, ``chunk`` points per stacked pass."""
    count = next(iter(stacked.values())).shape[0]
    point_losses, accuracies = [], []
    for start in range(0, count, chunk):
        part = {k: v[start:start + chunk] for k, v in stacked.items()}
        part_buffers = {k: v[start:start + chunk] for k, v in buffers.items()}
        l, a = stacked_metrics(model, part, part_buffers, x, y, loss=loss)
        point_losses.append(l.double().cpu().numpy())
        accuracies.append(a.double().cpu().numpy())
    return np.concatenate(point_losses), np.concatenate(accuracies)


def filter_normalized_direction(model: nn.Module, seed: int = 0) -> Weights:
    """A random direction rescaled filter by filter (Li et al. 2018, their eq. 1).

    Draw :math:`d` with the shape of the weights from a standard normal (seeded),
    then for every filter :math:`j` of every layer set

    .. math:: d_j \\leftarrow \\frac{d_j}{\\|d_j\\|} \\, \\|\\theta_j\\|.

    A filter is an output unit: a row of a linear layer's weight, an output
    channel of a convolution.  Biases and batch-norm parameters
    (one-dimensional tensors) get a zero direction, as Li et al. recommend.

    Args:
        model (nn.Module): the network :math:`\\theta`.
        seed (int): seed of the direction. Default 0.

    Returns:
        dict[str, Tensor]: :math:`d`, keyed and shaped like ``model.named_parameters()``.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``; ``seed`` is not an int.
        ValueError: a model without parameters; a negative seed.
    """
    params = _parameters(model)
    generator = seeded_generator(checks.seed(seed))
    direction = {}
    for name, p in params.items():
        d = torch.randn(p.shape, generator=generator, dtype=torch.float64)
        if p.dim() <= 1:
            d = torch.zeros_like(d)
        else:
            w = p.double().cpu()
            filter_norm = w.reshape(w.shape[0], -1).norm(dim=1)               # (filters,)
            d_norm = d.reshape(d.shape[0], -1).norm(dim=1)                     # (filters,)
            scale = filter_norm / d_norm.clamp_min(1e-30)
            d = d * scale.view(-1, *([1] * (d.dim() - 1)))
        direction[name] = d.to(dtype=p.dtype).to(p.device)
    return direction


def losses_along_line(model: nn.Module, direction: Weights, alphas, x: torch.Tensor, y: torch.Tensor, *,
                      loss: str = "cross_entropy", chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss and accuracy on ``(x, y)`` at :math:`\\theta + \\alpha d` for each ``alpha``.

    All the points are stacked and evaluated together (``chunk`` at a time); the
    model's buffers (batch-norm statistics) are kept as they are.

    Args:
        model (nn.Module): the network :math:`\\theta`.
        direction (dict[str, Tensor]): :math:`d`, with the model's parameter names and
            shapes (e.g. :func:`filter_normalized_direction`).
        alphas (sequence of float): the steps :math:`\\alpha` along the line.
        x, y (Tensor): the examples, (n, ...) and (n,) or (n, C).
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        chunk (int): points per stacked pass (memory, not the result), >= 1. Default 64.

    Returns:
        (losses, accuracies): two float64 arrays of shape (len(alphas),); accuracy is
        NaN for a regression loss.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, ``direction`` not a dict,
            ``alphas`` not numbers, ``x``/``y`` not tensors, ``chunk`` not an int.
        ValueError: a model without parameters, a direction of other names or
            shapes, empty or non-finite ``alphas``, an unknown loss, ``x`` and ``y``
            of different lengths, ``chunk`` < 1.
    """
    params = _parameters(model)
    if not isinstance(direction, dict):
        raise TypeError(f"direction must be a dict of tensors keyed like model.named_parameters(), "
                        f"got {type(direction).__name__}")
    if set(direction) != set(params) or any(
            not isinstance(direction[k], torch.Tensor) or direction[k].shape != params[k].shape for k in params):
        raise ValueError("direction must have exactly the model's parameter names and shapes "
                         "(e.g. from filter_normalized_direction(model, seed))")
    a = torch.as_tensor(checks.values(alphas, "alphas"))
    chunk = _check_evaluation(model, x, y, loss, chunk)
    stacked = {}
    for name, p in params.items():
        d = direction[name].detach().to(dtype=p.dtype).to(p.device)
        shape = (-1,) + (1,) * p.dim()
        stacked[name] = p.unsqueeze(0) + a.to(dtype=p.dtype).to(p.device).view(shape) * d.unsqueeze(0)  # (A, ...)
    return _evaluate_points(model, stacked, _stacked_buffers(model, len(a)), x, y, loss, chunk)


def losses_along_random_directions(model: nn.Module, alphas, x: torch.Tensor, y: torch.Tensor, *,
                                   directions: int, loss: str = "cross_entropy", chunk: int = 64) -> np.ndarray:
    """The loss along several filter-normalised random lines through one network (Li et al. 2018).

    Row :math:`k` is :func:`losses_along_line` along
    :func:`filter_normalized_direction` ``(model, seed=k)``: the loss at
    :math:`\\theta + \\alpha d_k`, :math:`k = 0, \\dots, D - 1`.

    Args:
        model, alphas, x, y, loss, chunk: as in :func:`losses_along_line`.
        directions (int): D, the number of directions (seeds 0 .. D - 1), >= 1.

    Returns:
        ndarray (D, len(alphas)): float64 mean losses.

    Raises:
        TypeError, ValueError: as :func:`losses_along_line`; ``directions`` not an int >= 1.
    """
    directions = checks.int_at_least(directions, "directions")
    return np.array([losses_along_line(model, filter_normalized_direction(model, seed=d), alphas, x, y,
                                       loss=loss, chunk=chunk)[0] for d in range(directions)])


def interpolate(model_a: nn.Module, model_b: nn.Module, alphas, x: torch.Tensor, y: torch.Tensor, *,
                loss: str = "cross_entropy", chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Mean loss and accuracy on ``(x, y)`` along the straight line through two networks.

    .. math:: \\theta(\\alpha) = \\alpha\\,\\theta_b + (1 - \\alpha)\\,\\theta_a

    (Goodfellow et al. 2015; Keskar et al. 2017, figure 3).  :math:`\\alpha = 0` is
    ``model_a``, :math:`\\alpha = 1` is ``model_b``; values outside [0, 1]
    extrapolate (Keskar et al. plot :math:`\\alpha \\in [-1, 2]`).  Floating-point
    buffers (batch-norm running statistics) are interpolated the same way;
    integer buffers are taken from ``model_a``.

    Args:
        model_a, model_b (nn.Module): two networks of one architecture.
        alphas, x, y, loss, chunk: as in :func:`losses_along_line`.

    Returns:
        (losses, accuracies): two float64 arrays of shape (len(alphas),).

    Raises:
        TypeError, ValueError: as :func:`losses_along_line`; two networks of
            different parameter names or shapes (ValueError).
    """
    params_a = _parameters(model_a, "model_a")
    params_b = _parameters(model_b, "model_b")
    same_layout(params_a, params_b, "model_b")
    a = torch.as_tensor(checks.values(alphas, "alphas"))
    chunk = _check_evaluation(model_a, x, y, loss, chunk)

    def mix(ta: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * ta.dim()
        alpha = a.to(dtype=ta.dtype).to(ta.device).view(shape)
        return (1 - alpha) * ta.unsqueeze(0) + alpha * tb.to(ta.device).unsqueeze(0)   # (A, ...)

    stacked = {k: mix(params_a[k], params_b[k]) for k in params_a}
    buffers_b = dict(model_b.named_buffers())
    buffers = {}
    for name, buf in model_a.named_buffers():
        if buf.is_floating_point() and name in buffers_b:
            buffers[name] = mix(buf.detach(), buffers_b[name].detach())
        else:
            buffers[name] = buf.detach().unsqueeze(0).expand(len(a), *buf.shape)
    return _evaluate_points(model_a, stacked, buffers, x, y, loss, chunk)


def parametric_curves(model_a: nn.Module, model_b: nn.Module, alphas, splits: dict, *,
                      loss: str = "cross_entropy") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`interpolate` on several data sets at once (Keskar et al.'s parametric plot).

    Args:
        model_a, model_b, alphas, loss: as in :func:`interpolate`.
        splits (dict): a name (``"train"``, ``"test"``) -> its ``(x, y)``; not empty.

    Returns:
        dict: ``{name: (losses, accuracies)}``, each (len(alphas),), in the order of ``splits``.

    Raises:
        TypeError, ValueError: as :func:`interpolate`; ``splits`` is not a non-empty dict (ValueError).
    """
    if not isinstance(splits, dict) or not splits:
        raise ValueError(f"splits must be a non-empty dict name -> (x, y), got {splits!r}")
    return {name: interpolate(model_a, model_b, alphas, x, y, loss=loss) for name, (x, y) in splits.items()}


def weight_distance(model_a: nn.Module, model_b: nn.Module) -> float:
    """Euclidean distance between two networks' weights, :math:`\\|\\theta_a - \\theta_b\\|_2`.

    Raises:
        TypeError: either is not an ``nn.Module``.
        ValueError: either has no parameters, or they differ in parameter names or shapes.
    """
    params_a = _parameters(model_a, "model_a")
    params_b = _parameters(model_b, "model_b")
    same_layout(params_a, params_b, "model_b")
    return math.sqrt(sum(float((params_a[k].cpu().double() - params_b[k].cpu().double()).pow(2).sum())
                         for k in params_a))
