"""How sharp is a minimum?  Three measures on one primitive, the Hessian-vector product.

Every measure here needs the Hessian :math:`H = \\nabla^2 f(\\theta)` of the loss
:math:`f` on a fixed batch only through products :math:`Hv`, never as a matrix
(the textbook network has 51,450 weights: its Hessian would have 2.6 billion
entries).  :func:`hessian_vector_product` computes :math:`Hv` exactly with
``torch.func``: forward-mode differentiation (``jvp``) of the reverse-mode
gradient (``grad``), :math:`Hv = \\frac{d}{dt} \\nabla f(\\theta + t v)|_{t=0}`,
about the cost of two gradients (Pearlmutter 1994).  On top of it, as in
PyHessian (Yao et al. 2020):

* :func:`top_hessian_eigenvalue`: power iteration :math:`v \\leftarrow Hv / \\|Hv\\|`,
  whose Rayleigh quotient :math:`v^\\top H v` tends to the eigenvalue of largest
  magnitude;
* :func:`hessian_trace`: Hutchinson's estimator :math:`\\operatorname{tr} H =
  \\mathbb{E}[v^\\top H v]` for random signs :math:`v_i = \\pm 1` (Hutchinson 1990);

and, needing only gradients,

* :func:`epsilon_sharpness`: Keskar et al.'s (2017) metric 2.1, the largest
  relative rise of the loss within a small box around the weights, found by
  SciPy's L-BFGS-B.

Losses are computed in evaluation mode (batch norm uses its running statistics),
as :func:`lib.train.evaluate` does, on whatever fixed batch ``(x, y)`` the caller
passes (the chapter uses a fixed subset of the training set).

What makes SGD end in a flat or a sharp minimum is, by Smith & Le (2018), the
scale of its noise; the section's other tools follow from it:

* :func:`noise_scale`: :math:`g = \\epsilon (N/B - 1) \\approx \\epsilon N / (B (1 - m))`;
* :func:`best_batch_size`: the peak of a score over a geometric grid of batch sizes;
* :func:`epochs_for_updates`: a budget that lets a large batch converge as well;
* :func:`milestone_schedules`: Smith, Kindermans, Ying & Le's (2018) rate decay,
  batch growth and hybrid, with one noise-scale profile.
"""
from __future__ import annotations

import functools
import math
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import torch
import torch.nn.functional as F
from torch import nn

from .device import seeded_generator

LOSSES = ("cross_entropy", "mse")
#: Hutchinson probes evaluated together in one vectorised (``torch.func.vmap``) pass.
PROBE_CHUNK = 10
#: Keskar et al. (2017) report their metric for these two box sizes.
KESKAR_EPSILONS = (1e-3, 5e-4)


# --------------------------------------------------------------------------- checks

def _check_model(model) -> dict[str, torch.Tensor]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = {name: p.detach() for name, p in model.named_parameters()}
    if not params:
        raise ValueError("the model has no parameters, so its loss has no Hessian; "
                         "pass a network with at least one parameter")
    return params


def _check_loss(loss) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")
    return loss


def _check_batch(x, y, loss: str) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"x and y must be torch.Tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.shape[0] == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must hold the same number (>= 1) of examples, "
                         f"got {x.shape[0]} and {y.shape[0]}")
    if loss == "cross_entropy" and (y.dtype != torch.int64 or y.dim() != 1):
        raise ValueError("cross_entropy needs integer class labels y of shape (n,)")


def _check_count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------- the loss as a function of the weights

def loss_function(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy"):
    """The mean loss on ``(x, y)`` as a pure function of a parameter dict, ``f(params) -> scalar``.

    The dict is keyed like ``model.named_parameters()``.  The model's buffers are
    copied, and the model is called in evaluation mode, so nothing about the
    model changes.  ``mse`` is the mean over examples and outputs of the squared
    error, as in :mod:`lib.train`.
    """
    _check_model(model)
    _check_loss(loss)
    _check_batch(x, y, loss)
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}

    def f(params: dict[str, torch.Tensor]) -> torch.Tensor:
        was_training = model.training
        model.eval()
        try:
            out = torch.func.functional_call(model, (params, buffers), (x,))
        finally:
            model.train(was_training)
        if loss == "cross_entropy":
            return F.cross_entropy(out, y)
        # Written out rather than F.mse_loss, whose double derivative trips over an
        # immutable zero tensor under forward-over-reverse differentiation (torch 2.x).
        return (out - y.reshape(out.shape)).pow(2).mean()

    return f


def _check_vector(vector, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if not isinstance(vector, dict):
        raise TypeError("vector must be a dict of tensors keyed like model.named_parameters()")
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


def _dot(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """The inner product of two parameter dicts, in the tensors' own dtype (MPS has no float64)."""
    return float(sum(torch.dot(a[k].reshape(-1), b[k].reshape(-1)).item() for k in a))


def _hvp_function(model, x, y, loss):
    """``v -> Hv`` at the model's current weights (forward-over-reverse, ``torch.func``)."""
    f = loss_function(model, x, y, loss=loss)
    params = _check_model(model)
    gradient = torch.func.grad(f)
    return params, lambda v: torch.func.jvp(gradient, (params,), (v,))[1]


# --------------------------------------------------------------------------- Hessian measures

def hessian_vector_product(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                           vector: dict[str, torch.Tensor], *,
                           loss: str = "cross_entropy") -> dict[str, torch.Tensor]:
    """The product :math:`Hv` of the loss Hessian on ``(x, y)`` with ``vector``.

    ``vector`` and the result are dicts keyed like ``model.named_parameters()``.
    Computed as ``jvp(grad(f), (theta,), (v,))``: the directional derivative of
    the gradient along ``v`` (Pearlmutter 1994), exact up to rounding.
    """
    params, hvp = _hvp_function(model, x, y, loss)
    return {k: t.detach() for k, t in hvp(_check_vector(vector, params)).items()}


def _random_vector(params: dict[str, torch.Tensor], seed: int, kind: str) -> dict[str, torch.Tensor]:
    generator = seeded_generator(seed)
    out = {}
    for name, p in params.items():
        if kind == "gaussian":
            v = torch.randn(p.shape, generator=generator, dtype=torch.float64)
        else:  # Rademacher: +1 or -1 with probability 1/2 each
            v = torch.randint(0, 2, p.shape, generator=generator).double() * 2 - 1
        out[name] = v.to(dtype=p.dtype).to(p.device)
    return out


def top_hessian_eigenvalue(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                           loss: str = "cross_entropy", iterations: int = 20, seed: int = 0) -> float:
    """The Hessian eigenvalue of largest magnitude, by power iteration.

    From a Gaussian start (seeded), repeat :math:`v \\leftarrow Hv/\\|Hv\\|` and
    return the Rayleigh quotient :math:`v^\\top H v` of the last iterate.  The
    error shrinks like :math:`(\\lambda_2/\\lambda_1)^{2k}` after k iterations.
    At a minimum the eigenvalue of largest magnitude is the largest one,
    :math:`\\lambda_{\\max}`, the curvature of the steepest direction; gradient
    descent with rate :math:`\\eta` is stable there only if
    :math:`\\eta < 2/\\lambda_{\\max}`.
    """
    iterations = _check_count(iterations, "iterations")
    seed = _check_seed(seed)
    params, hvp = _hvp_function(model, x, y, loss)
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


def hessian_trace(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                  loss: str = "cross_entropy", samples: int = 100, seed: int = 0) -> float:
    """Hutchinson's estimate of :math:`\\operatorname{tr} H`, the sum of all curvatures.

    The mean of :math:`v^\\top H v` over ``samples`` random sign vectors
    (:math:`v_i = \\pm 1`, seeded).  It is unbiased; its variance per sample is
    :math:`2 \\sum_{i \\ne j} H_{ij}^2`, so it is exact for a diagonal Hessian.
    """
    samples = _check_count(samples, "samples")
    seed = _check_seed(seed)
    params, hvp = _hvp_function(model, x, y, loss)
    batched_hvp = torch.func.vmap(hvp)  # PROBE_CHUNK probes per pass: batched products, several times faster
    generator_seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(samples)]
    total = 0.0
    for start in range(0, samples, PROBE_CHUNK):
        probes = [_random_vector(params, s, "rademacher") for s in generator_seeds[start:start + PROBE_CHUNK]]
        stacked = {k: torch.stack([v[k] for v in probes]) for k in params}
        products = batched_hvp(stacked)
        total += sum(_dot({k: t[i] for k, t in stacked.items()}, {k: t[i] for k, t in products.items()})
                     for i in range(len(probes)))
    return total / samples


# --------------------------------------------------------------------------- Keskar's epsilon-sharpness

def _flatten(params: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.reshape(-1) for p in params.values()])


def _unflatten(flat: torch.Tensor, like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out, start = {}, 0
    for name, p in like.items():
        out[name] = flat[start:start + p.numel()].view_as(p)
        start += p.numel()
    return out


def random_subspace(parameter_count: int, dimension: int, seed: int = 0) -> torch.Tensor:
    """Keskar's random matrix :math:`A` (n x p) spanning a p-dimensional subspace.

    Keskar et al. only say that A is random; here its entries are independent
    standard normal (seeded, float64).  Its columns then have length about
    :math:`\\sqrt n`, and a corner of the box in y (:math:`|y_i| \\approx \\epsilon`)
    moves the weights by about :math:`\\epsilon \\sqrt{np}`, :math:`\\sqrt p` times as
    far as a corner of the full-space box, but within only p random directions.
    (Orthonormal columns would shrink the steps by :math:`\\sqrt n` and leave
    almost nothing to measure.)
    """
    parameter_count = _check_count(parameter_count, "parameter_count")
    dimension = _check_count(dimension, "dimension")
    if dimension > parameter_count:
        raise ValueError(f"the subspace dimension ({dimension}) cannot exceed the number of "
                         f"parameters ({parameter_count})")
    seed = _check_seed(seed)
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
    """Half-widths of Keskar's box :math:`\\mathcal{C}_\\epsilon` around ``weights`` (flat).

    Full space: :math:`|z_i| \\le \\epsilon (|x_i| + 1)`.  In the subspace of
    :math:`A`: :math:`|y_i| \\le \\epsilon (|(A^+ x)_i| + 1)`, with :math:`A^+`
    the Moore-Penrose pseudo-inverse.
    """
    epsilon = _check_epsilon(epsilon)
    x = weights.detach().cpu().double().reshape(-1)
    if subspace is not None:
        x = _pseudo_inverse(subspace) @ x
    return epsilon * (x.abs() + 1.0)


def _check_epsilon(epsilon) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, Real) or not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon must be a finite number > 0 (Keskar uses 1e-3 and 5e-4), got {epsilon!r}")
    return float(epsilon)


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
    """
    params = _check_model(model)
    epsilon = _check_epsilon(epsilon)
    iterations = _check_count(iterations, "iterations")
    seed = _check_seed(seed)
    f = loss_function(model, x, y, loss=loss)
    theta = _flatten(params)
    n = theta.numel()
    subspace = None
    if subspace_dim is not None:
        subspace_dim = _check_count(subspace_dim, "subspace_dim")
        if subspace_dim > n:
            raise ValueError(f"subspace_dim ({subspace_dim}) cannot exceed the model's "
                             f"{n} parameters")
        subspace = _random_subspace(n, subspace_dim, seed)  # the cached matrix: its A+ is cached too
    half_width = sharpness_box(theta, epsilon, subspace).numpy()
    A = None if subspace is None else subspace.to(dtype=theta.dtype).to(theta.device)

    def value_and_gradient(point: np.ndarray) -> tuple[float, np.ndarray]:
        step = torch.as_tensor(point).to(dtype=theta.dtype).to(theta.device)
        z = step if A is None else A @ step
        weights = (theta + z).requires_grad_(True)
        value = f(_unflatten(weights, params))
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
    """The name of one of Keskar's sharpness numbers in :func:`sharpness_report`,
    e.g. ``"keskar_full_1e-03"`` or ``"keskar_sub100_5e-04"``."""
    space = "full" if subspace_dim is None else f"sub{subspace_dim}"
    return f"keskar_{space}_{_check_epsilon(epsilon):.0e}"


def sharpness_report(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy",
                     epsilons=KESKAR_EPSILONS, subspace_dim: int | None = 100, iterations: int = 20,
                     samples: int = 50, seed: int = 0) -> dict[str, float]:
    """All three measures for one network, as a flat dict of floats.

    ``top_eigenvalue`` (:func:`top_hessian_eigenvalue`, ``iterations`` steps),
    ``trace`` (:func:`hessian_trace`, ``samples`` probes) and Keskar's
    :func:`epsilon_sharpness` for every ``epsilon`` in the full space and, unless
    ``subspace_dim`` is None, in a random subspace of that dimension, under the
    names :func:`keskar_key` gives.
    """
    if isinstance(epsilons, (int, float)) or len(epsilons) == 0:
        raise ValueError(f"epsilons must be a non-empty sequence of box sizes, got {epsilons!r}")
    report = {
        "top_eigenvalue": top_hessian_eigenvalue(model, x, y, loss=loss, iterations=iterations, seed=seed),
        "trace": hessian_trace(model, x, y, loss=loss, samples=samples, seed=seed),
    }
    spaces = [None] if subspace_dim is None else [None, subspace_dim]
    for space in spaces:
        for epsilon in epsilons:
            report[keskar_key(epsilon, space)] = epsilon_sharpness(
                model, x, y, epsilon=epsilon, subspace_dim=space, loss=loss, seed=seed)
    return report


# --------------------------------------------------------------------------- SGD's noise scale

def noise_scale(lr: float, train_size: int, batch_size: int, *, momentum: float = 0.0,
                exact: bool = False) -> float:
    """Smith & Le's (2018) SGD noise scale :math:`g`.

    .. math:: g = \\frac{\\epsilon}{1 - m}\\Big(\\frac{N}{B} - 1\\Big) \\approx \\frac{\\epsilon N}{B (1 - m)}

    for learning rate :math:`\\epsilon`, training-set size :math:`N`, batch size
    :math:`B` and momentum :math:`m` (their eq. 8 and section 5).  ``exact=False``
    (the default) gives the approximation for :math:`B \\ll N`, which is what
    makes "a small batch and a large rate do the same job": only the ratio
    :math:`\\epsilon/B` enters.
    """
    if isinstance(lr, bool) or not isinstance(lr, Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    train_size = _check_count(train_size, "train_size")
    if isinstance(batch_size, bool) or not isinstance(batch_size, Real) or not math.isfinite(batch_size) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a number >= 1 (a refined optimum may lie between "
                         f"integers), got {batch_size!r}")
    if batch_size > train_size:
        raise ValueError(f"batch_size ({batch_size}) cannot exceed train_size ({train_size})")
    if isinstance(momentum, bool) or not isinstance(momentum, Real) or not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
    ratio = train_size / batch_size - (1.0 if exact else 0.0)
    return float(lr) * ratio / (1.0 - float(momentum))


def epochs_for_updates(batch_size: int, train_size: int, *, min_epochs: int, min_updates: int) -> int:
    """Epochs for training "to convergence" at any batch size: at least ``min_epochs``
    and at least ``min_updates`` parameter updates, :math:`\\max(E_{\\min}, \\lceil U_{\\min} B / N \\rceil)`.

    A batch of 10% of the data takes only 10 updates per epoch, so it needs many
    more epochs than a small batch to travel as far.
    """
    batch_size = _check_count(batch_size, "batch_size")
    train_size = _check_count(train_size, "train_size")
    min_epochs = _check_count(min_epochs, "min_epochs")
    min_updates = _check_count(min_updates, "min_updates")
    if batch_size > train_size:
        raise ValueError(f"batch_size ({batch_size}) cannot exceed train_size ({train_size})")
    return max(min_epochs, -(-min_updates * batch_size // train_size))


def best_batch_size(batch_sizes, scores) -> float:
    """The batch size with the best score (e.g. mean test accuracy), refined between grid points.

    The batch sizes should be a geometric grid.  Around the best grid point a
    parabola through it and its two neighbours, in :math:`\\log_2 B`, gives the
    peak; at either end of the grid the end point itself is returned.
    """
    sizes = np.asarray(batch_sizes, dtype=np.float64)
    values = np.asarray(scores, dtype=np.float64)
    if sizes.ndim != 1 or sizes.shape != values.shape or len(sizes) < 3:
        raise ValueError("batch_sizes and scores must be 1-D of the same length >= 3")
    if not (np.all(sizes > 0) and np.all(np.diff(sizes) > 0)):
        raise ValueError("batch_sizes must be positive and increasing")
    if not np.isfinite(values).any():
        raise ValueError("scores has no finite value")
    values = np.where(np.isfinite(values), values, -np.inf)
    k = int(np.argmax(values))
    if k in (0, len(sizes) - 1) or not np.isfinite(values[[k - 1, k + 1]]).all():
        return float(sizes[k])
    x = np.log2(sizes[k - 1:k + 2])
    y = values[k - 1:k + 2]
    a, b, _ = np.polyfit(x, y, 2)
    peak = -b / (2 * a) if a < 0 else x[1]
    return float(2.0 ** np.clip(peak, x[0], x[2]))


SCHEDULE_KINDS = ("decay", "grow", "hybrid")


def milestone_schedules(lr: float, batch_size: int, *, factor: float, milestones, epochs: int,
                        train_size: int, drop_last: bool = False) -> dict[str, tuple[list[int], "callable"]]:
    """Smith, Kindermans, Ying & Le's (2018) three schedules with one noise-scale profile.

    At every milestone (an epoch index) the noise scale :math:`g \\approx \\epsilon N/B`
    falls by ``factor``, in one of three ways:

    * ``"decay"``: the rate is divided by ``factor``, the batch stays ``batch_size``;
    * ``"grow"``: the batch is multiplied by ``factor``, the rate stays ``lr``;
    * ``"hybrid"``: the batch grows at the first milestone, the rate decays at the later ones.

    Returns ``{kind: (batch sizes, one per epoch; rate as a function of the 0-based step)}``,
    ready for ``train_grid(batch_size=...)`` and ``Member(schedule=...)``.  The step
    function maps each step to its epoch with the same count of steps per epoch as
    :func:`lib.train.train_grid` (``ceil(N/B)``, or ``floor`` with ``drop_last``).
    """
    if isinstance(lr, bool) or not isinstance(lr, Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    batch_size = _check_count(batch_size, "batch_size")
    epochs = _check_count(epochs, "epochs")
    train_size = _check_count(train_size, "train_size")
    if isinstance(factor, bool) or not isinstance(factor, Real) or not math.isfinite(factor) or factor <= 1:
        raise ValueError(f"factor must be a number > 1, got {factor!r}")
    try:
        milestones = [int(m) for m in milestones]
    except (TypeError, ValueError):
        raise TypeError(f"milestones must be a sequence of epoch indices, got {milestones!r}") from None
    if not milestones or milestones != sorted(set(milestones)) or milestones[0] < 1 or milestones[-1] >= epochs:
        raise ValueError(f"milestones must be increasing epoch indices in [1, {epochs - 1}], got {milestones}")
    largest = batch_size * factor ** len(milestones)
    if largest > train_size:
        raise ValueError(f"growing the batch {len(milestones)} time(s) by {factor:g} reaches {largest:g}, "
                         f"more than the {train_size} training examples; use fewer milestones or a smaller factor")
    passed = np.searchsorted(np.array(milestones), np.arange(epochs), side="right")  # milestones reached per epoch
    schedules = {}
    for kind in SCHEDULE_KINDS:
        grows = passed if kind == "grow" else (np.minimum(passed, 1) if kind == "hybrid" else 0 * passed)
        decays = passed - grows
        batches = [int(round(batch_size * factor ** int(k))) for k in grows]
        rates = [float(lr) / factor ** int(k) for k in decays]
        per_epoch = [train_size // b if drop_last else -(-train_size // b) for b in batches]
        epoch_of_step = np.repeat(np.arange(epochs), per_epoch)
        schedules[kind] = (batches, _EpochRates(rates, epoch_of_step))
    return schedules


class _EpochRates:
    """A step -> learning-rate function that is constant within each epoch."""

    def __init__(self, rates: list[float], epoch_of_step: np.ndarray):
        self.rates, self.epoch_of_step = rates, epoch_of_step

    def __call__(self, step: int) -> float:
        return self.rates[int(self.epoch_of_step[min(step, len(self.epoch_of_step) - 1)])]

    def __repr__(self) -> str:
        return f"rate per epoch {self.rates}"
