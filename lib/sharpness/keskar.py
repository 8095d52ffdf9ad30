"""Keskar et al.'s (2017) epsilon-sharpness, and one report of all three sharpness measures.

Keskar, Mudigere, Nocedal, Smelyanskiy & Tang (2017), "On large-batch training
for deep learning: generalization gap and sharp minima", their metric 2.1: the
largest relative rise of the loss within a small box around the weights,

.. math:: \\phi_{x,f}(\\epsilon, A) = 100 \\cdot
          \\frac{\\max_{y \\in \\mathcal{C}_\\epsilon} f(x + Ay) - f(x)}{1 + f(x)},

in the full weight space (A = I) or in a random subspace spanned by the
columns of an n x p matrix A (:func:`random_subspace`); the box
:math:`\\mathcal{C}_\\epsilon` is :func:`sharpness_box`.  The maximum is sought,
as Keskar did, with a few iterations of L-BFGS-B (:func:`epsilon_sharpness`).

:func:`sharpness_report` gathers the three measures of one network: the top
Hessian eigenvalue and the Hessian trace (:mod:`lib.sharpness.hessian`) and
Keskar's metric for each box size and space, named by :func:`keskar_key`.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import scipy.optimize
import torch
from torch import nn

from lib.core import checks
from lib.core.device import seeded_generator
from lib.core.params import flatten, parameters, unflatten

from .hessian import hessian_trace, loss_function, top_hessian_eigenvalue

#: Keskar et al. (2017) report their metric for these two box sizes.
KESKAR_EPSILONS = (1e-3, 5e-4)


def random_subspace(parameter_count: int, dimension: int, seed: int = 0) -> torch.Tensor:
    """Keskar's random matrix :math:`A` (n x p) spanning a p-dimensional subspace.

    Keskar et al. only say that A is random; here its entries are independent
    standard normal (seeded, float64).  Its columns then have length about
    :math:`\\sqrt n`, and a corner of the box in y (:math:`|y_i| \\approx \\epsilon`)
    moves the weights by about :math:`\\epsilon \\sqrt{np}`, :math:`\\sqrt p` times as
    far as a corner of the full-space box, but within only p random directions.
    (Orthonormal columns would shrink the steps by :math:`\\sqrt n` and leave
    almost nothing to measure.)

    Args:
        parameter_count (int): n, the number of weights, >= 1.
        dimension (int): p, the subspace dimension, in [1, n].
        seed (int): seed of the entries. Default 0.

    Returns:
        Tensor (n, p): float64, a copy (the same (n, p, seed) always gives the same matrix).

    Raises:
        TypeError: an argument is not an int.
        ValueError: ``parameter_count`` < 1, ``dimension`` outside [1, n], a negative seed.
    """
    parameter_count = checks.int_at_least(parameter_count, "parameter_count")
    dimension = checks.integer(dimension, "dimension", minimum=1, maximum=parameter_count)
    seed = checks.seed(seed)
    return _random_subspace(parameter_count, dimension, seed).clone()


@functools.lru_cache(maxsize=4)
def _random_subspace(parameter_count: int, dimension: int, seed: int) -> torch.Tensor:
    # Cached: the same (n, p, seed) gives the same matrix, so every network of a comparison is
    # probed in the same subspace, and its pseudo-inverse is computed once.
    return torch.randn(parameter_count, dimension, generator=seeded_generator(seed), dtype=torch.float64)


_PINV_CACHE: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}


def _pseudo_inverse(matrix: torch.Tensor) -> torch.Tensor:
    """:math:`A^+` in float64 on the CPU, remembered for the last few matrices (an SVD of n x p each time
    would cost more than the sharpness search itself)."""
    key = id(matrix)
    cached = _PINV_CACHE.get(key)
    if cached is None or cached[0] is not matrix:
        if len(_PINV_CACHE) >= 4:
            _PINV_CACHE.pop(next(iter(_PINV_CACHE)))
        cached = (matrix, torch.linalg.pinv(matrix.detach().cpu().double()))
        _PINV_CACHE[key] = cached
    return cached[1]


def sharpness_box(weights: torch.Tensor, epsilon: float, subspace: torch.Tensor | None = None) -> torch.Tensor:
    """Half-widths of Keskar's box :math:`\\mathcal{C}_\\epsilon` around ``weights``.

    Full space: :math:`|z_i| \\le \\epsilon (|x_i| + 1)`.  In the subspace of
    :math:`A`: :math:`|y_i| \\le \\epsilon (|(A^+ x)_i| + 1)`, with :math:`A^+`
    the Moore-Penrose pseudo-inverse (Keskar et al. 2017, section 2.2.2).

    Args:
        weights (Tensor): the flat weights x, (n,) (any shape is flattened).
        epsilon (float): the box size, > 0 (Keskar uses 1e-3 and 5e-4).
        subspace (Tensor or None): A, (n, p); ``None``: the full space. Default None.

    Returns:
        Tensor: float64 half-widths on the CPU, (n,) or (p,) in a subspace.

    Raises:
        TypeError: ``epsilon`` is not a number.
        ValueError: ``epsilon`` is not finite and > 0.
    """
    epsilon = checks.positive(epsilon, "epsilon")
    x = weights.detach().cpu().double().reshape(-1)
    if subspace is not None:
        x = _pseudo_inverse(subspace) @ x
    return epsilon * (x.abs() + 1.0)


def epsilon_sharpness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epsilon: float = 1e-3,
                      subspace_dim: int | None = None, loss: str = "cross_entropy",
                      iterations: int = 10, seed: int = 0) -> float:
    """Keskar et al.'s (2017) sharpness, their metric 2.1, in percent.

    .. math:: \\phi_{x,f}(\\epsilon, A) = 100 \\cdot
              \\frac{\\max_{y \\in \\mathcal{C}_\\epsilon} f(x + Ay) - f(x)}{1 + f(x)}

    With ``subspace_dim=None`` the box is in the full weight space (A = I);
    with ``subspace_dim=p`` it is in the span of a random n x p matrix A
    (:func:`random_subspace`, seeded).  The box is :func:`sharpness_box`.

    The maximum is sought, as Keskar did, with ``iterations`` iterations of
    L-BFGS-B under the box bounds (``scipy.optimize.minimize`` on :math:`-f`,
    gradient :math:`-A^\\top \\nabla f` from PyTorch).  The search starts from a
    point drawn uniformly in the box (seeded): at an exact minimum the gradient
    vanishes and a search from the centre would not move.  The value returned is
    the largest loss the search evaluated, so it is a lower bound on the true
    maximum; it is 0 for a perfectly flat loss.

    Args:
        model, x, y, loss: as in :func:`lib.sharpness.hessian.loss_function`.
        epsilon (float): the box size, > 0. Default 1e-3.
        subspace_dim (int or None): p, in [1, n]; ``None``: the full space. Default None.
        iterations (int): L-BFGS-B iterations, >= 1. Default 10.
        seed (int): seed of A and of the starting point. Default 0.

    Returns:
        float: :math:`\\phi` in percent of :math:`1 + f(x)`.

    Raises:
        TypeError: as :func:`~lib.sharpness.hessian.loss_function`; a count or seed that is not an int.
        ValueError: as :func:`~lib.sharpness.hessian.loss_function`; ``epsilon`` not finite and > 0,
            ``iterations`` < 1, a negative seed, ``subspace_dim`` outside [1, n], a
            non-finite loss at the model's weights.
    """
    params = parameters(checks.module(model), "model")
    epsilon = checks.positive(epsilon, "epsilon")
    iterations = checks.int_at_least(iterations, "iterations")
    seed = checks.seed(seed)
    f = loss_function(model, x, y, loss=loss)
    first = next(iter(params.values()))
    dtype = functools.reduce(torch.promote_types, (p.dtype for p in params.values()))
    # One flat vector in the weights' own dtype (the float64 of flatten, taken on the CPU where
    # every backend has it, converts back exactly).
    theta = flatten({k: p.cpu() for k, p in params.items()}).to(dtype=dtype, device=first.device)
    n = theta.numel()
    subspace = None
    if subspace_dim is not None:
        subspace_dim = checks.integer(subspace_dim, "subspace_dim", minimum=1, maximum=n)
        subspace = _random_subspace(n, subspace_dim, seed)  # the cached matrix: its A+ is cached too
    half_width = sharpness_box(theta, epsilon, subspace).numpy()
    A = None if subspace is None else subspace.to(dtype=theta.dtype).to(theta.device)

    def value_and_gradient(point: np.ndarray) -> tuple[float, np.ndarray]:
        step = torch.as_tensor(point).to(dtype=theta.dtype).to(theta.device)
        z = step if A is None else A @ step
        weights = (theta + z).requires_grad_(True)
        value = f(unflatten(weights, params))
        (gradient,) = torch.autograd.grad(value, weights)
        if A is not None:
            gradient = A.t() @ gradient
        return float(value.detach()), gradient.detach().cpu().double().numpy()

    with torch.no_grad():
        base = float(f(params))
    best = base
    if not math.isfinite(base):
        raise ValueError(f"the loss at the model's weights is {base}; sharpness needs a finite loss")

    def objective(point):
        nonlocal best
        value, gradient = value_and_gradient(point)
        if math.isfinite(value):
            best = max(best, value)
        return -value, -gradient

    rng = np.random.default_rng(seed)
    start = rng.uniform(-half_width, half_width)
    scipy.optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                            bounds=scipy.optimize.Bounds(-half_width, half_width),
                            options={"maxiter": iterations})
    return 100.0 * (best - base) / (1.0 + base)


def keskar_key(epsilon: float, subspace_dim: int | None = None) -> str:
    """The name of one of Keskar's sharpness numbers in :func:`sharpness_report`.

    ``"keskar_<space>_<epsilon>"``, e.g. ``"keskar_full_1e-03"`` (full space) or
    ``"keskar_sub100_5e-04"`` (a random subspace of dimension 100).

    Raises:
        TypeError, ValueError: ``epsilon`` is not a finite number > 0.
    """
    space = "full" if subspace_dim is None else f"sub{subspace_dim}"
    return f"keskar_{space}_{checks.positive(epsilon, 'epsilon'):.0e}"


def sharpness_report(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy",
                     epsilons=KESKAR_EPSILONS, subspace_dim: int | None = 100, iterations: int = 20,
                     samples: int = 50, seed: int = 0) -> dict[str, float]:
    """All three measures of sharpness for one network, as a flat dict of floats.

    * ``"top_eigenvalue"``: :func:`~lib.sharpness.hessian.top_hessian_eigenvalue`
      (``iterations`` power-iteration steps);
    * ``"trace"``: :func:`~lib.sharpness.hessian.hessian_trace` (``samples`` probes);
    * Keskar's :func:`epsilon_sharpness` for every ``epsilon``, in the full space
      and, unless ``subspace_dim`` is None, in a random subspace of that
      dimension, under the names :func:`keskar_key` gives (full space first).

    Args:
        model, x, y, loss: as in :func:`lib.sharpness.hessian.loss_function`.
        epsilons (sequence of float): box sizes, each > 0. Default :data:`KESKAR_EPSILONS`.
        subspace_dim (int or None): the subspace's dimension; ``None``: full space only. Default 100.
        iterations (int): power-iteration steps. Default 20.
        samples (int): Hutchinson probes. Default 50.
        seed (int): seed of every random draw. Default 0.

    Returns:
        dict[str, float]: the numbers by name, in the order above.

    Raises:
        TypeError: ``epsilons`` is not a list of numbers; as the measures.
        ValueError: ``epsilons`` is empty or holds a number that is not > 0; as the measures.
    """
    epsilons = checks.rates(epsilons, "epsilons")
    report = {
        "top_eigenvalue": top_hessian_eigenvalue(model, x, y, loss=loss, iterations=iterations, seed=seed),
        "trace": hessian_trace(model, x, y, loss=loss, samples=samples, seed=seed),
    }
    spaces = [None] if subspace_dim is None else [None, subspace_dim]
    for space in spaces:
        for epsilon in epsilons:
            report[keskar_key(epsilon, space)] = epsilon_sharpness(
                model, x, y, epsilon=float(epsilon), subspace_dim=space, loss=loss, seed=seed)
    return report
