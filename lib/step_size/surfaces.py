"""Toy loss surfaces and the paths gradient descent takes on them (section 1).

A surface is a loss :math:`L(w)` of a handful of parameters, written in torch so
that autograd supplies the gradient and :func:`torch.func.hessian` the Hessian.

Surfaces
--------
``quadratic(curvatures)``
    :math:`L(w) = \\tfrac12 \\sum_i \\lambda_i w_i^2` — the local picture of any
    smooth minimum, with Hessian :math:`\\mathrm{diag}(\\lambda_i)`.
``valley(gentle, steep)``
    the two-parameter quadratic with one gentle and one steep direction: a long
    narrow valley, where the steep direction limits the step size.
``saddle(a, b)``
    :math:`L(x, y) = \\tfrac12 a x^2 - \\tfrac12 b y^2 + \\tfrac14 b y^4`: a saddle at
    the origin with Hessian eigenvalues :math:`a` and :math:`-b`, and two minima at
    :math:`(0, \\pm 1)` with loss :math:`-b/4` (Dauphin et al., 2014).

Gradient descent
----------------
:func:`gd_path` runs :math:`w_{k+1} = w_k - \\eta \\nabla L(w_k)` with
``torch.optim.SGD``.  On a quadratic each coordinate obeys
:math:`w_{k+1} = (1 - \\eta\\lambda_i)\\, w_k`, so

.. math:: w_k = (1 - \\eta\\lambda_i)^k\\, w_0,

which shrinks exactly when :math:`|1 - \\eta\\lambda_i| < 1`, i.e.
:math:`0 < \\eta < 2/\\lambda_i`; all directions together need
:math:`\\eta < 2/\\lambda_{\\max}` (:func:`stable_lr_bound`, :func:`regime`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real
from typing import Callable, Sequence

import numpy as np
import torch

from lib.core import checks

DTYPE = torch.float64
BLOW_UP = 1e100  # a path whose parameters pass this norm is stopped; the rest is NaN


@dataclass(frozen=True)
class Surface:
    """A loss surface: ``fn`` maps parameters of shape ``(..., dim)`` to losses ``(...)``."""

    name: str
    equation: str  # LaTeX of L(w), for captions and widgets
    dim: int
    fn: Callable[[torch.Tensor], torch.Tensor] = field(repr=False)
    window: tuple[tuple[float, float], ...]  # plotting box, one (low, high) per parameter
    minimizer: tuple[float, ...]  # a global minimum (the one the explorers measure against)

    @property
    def min_loss(self) -> float:
        """:math:`L^*`, the loss at :attr:`minimizer`."""
        return float(self.loss(self.minimizer))

    def loss(self, points) -> np.ndarray:
        """Loss at one point ``(dim,)`` or at many ``(..., dim)``, as a NumPy array."""
        with torch.no_grad():
            return self.fn(_as_points(points, self.dim)).numpy()

    def gradient(self, point) -> np.ndarray:
        w = _as_point(point, self.dim).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.fn(w), w)
        return grad.numpy()

    def hessian(self, point) -> np.ndarray:
        """The Hessian matrix at ``point``, by ``torch.func.hessian``."""
        return torch.func.hessian(self.fn)(_as_point(point, self.dim)).numpy()

    def hessian_eigenvalues(self, point) -> np.ndarray:
        """Eigenvalues of the Hessian at ``point``, ascending."""
        return np.linalg.eigvalsh(self.hessian(point))

    def grid(self, resolution: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, Y, L)`` on a ``resolution``² grid over ``window`` (2-D surfaces only)."""
        if self.dim != 2:
            raise ValueError(f"grid needs a 2-D surface; {self.name!r} has {self.dim} parameters")
        resolution = checks.int_at_least(resolution, "resolution")
        (x0, x1), (y0, y1) = self.window
        xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
        X, Y = np.meshgrid(xs, ys)
        return X, Y, self.loss(np.stack([X, Y], axis=-1))


@dataclass(frozen=True)
class Path:
    """Iterates of gradient descent: ``points[k]`` is :math:`w_k`, ``losses[k]`` is :math:`L(w_k)`."""

    surface: str
    lr: float
    points: np.ndarray  # (steps + 1, dim); NaN after a blow-up
    losses: np.ndarray  # (steps + 1,)

    @property
    def steps(self) -> int:
        return len(self.losses) - 1

    @property
    def diverged(self) -> bool:
        """True when the run blew up or ended with a higher loss than it started with."""
        final = self.losses[-1]
        return not np.isfinite(final) or final > self.losses[0]


# ---------------------------------------------------------------- validation


def _as_points(points, dim: int) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(np.asarray(points, dtype=np.float64), dtype=DTYPE)
    except (TypeError, ValueError) as error:
        raise TypeError(f"points must be numbers of shape (..., {dim}): {error}") from None
    if tensor.ndim == 0 or tensor.shape[-1] != dim:
        raise ValueError(f"points must have shape (..., {dim}), got {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError("points must be finite")
    return tensor


def _as_point(point, dim: int) -> torch.Tensor:
    tensor = _as_points(point, dim)
    if tensor.ndim != 1:
        raise ValueError(f"a point must have shape ({dim},), got {tuple(tensor.shape)}")
    return tensor.clone()


# ---------------------------------------------------------------- surfaces


def quadratic(curvatures: Sequence[float] | float, window: float | None = None) -> Surface:
    """:math:`L(w) = \\tfrac12 \\sum_i \\lambda_i w_i^2` with every :math:`\\lambda_i > 0`.

    ``window`` is the half-width of the plotting box (default: 1.5).
    """
    if isinstance(curvatures, (Real, np.floating)) and not isinstance(curvatures, bool):
        curvatures = [curvatures]
    if not isinstance(curvatures, (list, tuple, np.ndarray)) or len(curvatures) == 0:
        raise TypeError("curvatures must be a number or a non-empty sequence of numbers")
    lams = [checks.positive(lam, "every curvature") for lam in curvatures]
    half = 1.5 if window is None else checks.positive(window, "window")
    lam_tensor = torch.tensor(lams, dtype=DTYPE)
    terms = " + ".join(f"{lam:g}\\,w_{i + 1}^2" for i, lam in enumerate(lams))
    return Surface(
        name=f"quadratic{tuple(lams)}",
        equation=f"L(w) = \\tfrac12({terms})",
        dim=len(lams),
        fn=lambda w: 0.5 * (lam_tensor * w**2).sum(-1),
        window=tuple((-half, half) for _ in lams),
        minimizer=tuple(0.0 for _ in lams),
    )


def valley(gentle: float = 1.0, steep: float = 10.0) -> Surface:
    """A narrow valley: :math:`L(x, y) = \\tfrac12(\\lambda_g x^2 + \\lambda_s y^2)`, ``gentle < steep``."""
    gentle, steep = checks.positive(gentle, "gentle"), checks.positive(steep, "steep")
    if gentle >= steep:
        raise ValueError(f"a valley needs gentle < steep, got gentle={gentle}, steep={steep}")
    surface = quadratic([gentle, steep])
    return Surface(name="valley", equation=f"L(x, y) = \\tfrac12({gentle:g}\\,x^2 + {steep:g}\\,y^2)",
                   dim=2, fn=surface.fn, window=((-2.0, 2.0), (-1.0, 1.0)), minimizer=(0.0, 0.0))


def saddle(a: float = 1.0, b: float = 1.0) -> Surface:
    """:math:`L(x, y) = \\tfrac12 a x^2 - \\tfrac12 b y^2 + \\tfrac14 b y^4` (saddle at 0, minima at y = ±1)."""
    a, b = checks.positive(a, "a"), checks.positive(b, "b")

    def fn(w: torch.Tensor) -> torch.Tensor:
        x, y = w[..., 0], w[..., 1]
        return 0.5 * a * x**2 - 0.5 * b * y**2 + 0.25 * b * y**4

    return Surface(name="saddle",
                   equation=f"L(x, y) = \\tfrac12\\,{a:g}\\,x^2 - \\tfrac12\\,{b:g}\\,y^2 + \\tfrac14\\,{b:g}\\,y^4",
                   dim=2, fn=fn, window=((-2.0, 2.0), (-1.5, 1.5)), minimizer=(0.0, 1.0))


# ---------------------------------------------------------------- gradient descent


def gd_path(surface: Surface, start, lr: float, steps: int) -> Path:
    """Run ``steps`` steps of plain gradient descent, :math:`w_{k+1} = w_k - \\eta\\nabla L(w_k)`.

    Uses ``torch.optim.SGD`` (no momentum) on a float64 parameter; the gradient
    comes from autograd.  A run whose parameters pass :data:`BLOW_UP` in norm is
    stopped and the remaining iterates are NaN.
    """
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a lib.landscapes.Surface, got {type(surface).__name__}")
    lr = checks.positive(lr, "lr")
    steps = checks.int_at_least(steps, "steps")
    w = torch.nn.Parameter(_as_point(start, surface.dim))
    optimizer = torch.optim.SGD([w], lr=lr)
    points = np.full((steps + 1, surface.dim), np.nan)
    losses = np.full(steps + 1, np.nan)
    for k in range(steps + 1):
        loss = surface.fn(w)
        if not torch.isfinite(loss) or w.detach().norm() > BLOW_UP:
            break
        points[k], losses[k] = w.detach().numpy(), loss.item()
        if k == steps:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return Path(surface=surface.name, lr=lr, points=points, losses=losses)


def stable_lr_bound(surface: Surface, point) -> float:
    """:math:`2/\\lambda_{\\max}` of the Hessian at ``point``: the largest stable step there.

    On a quadratic this is exact for every point; elsewhere it is the bound for
    the quadratic that approximates the loss near ``point``.  ``inf`` when no
    eigenvalue is positive (no direction in which a step can overshoot).
    """
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a lib.landscapes.Surface, got {type(surface).__name__}")
    top = surface.hessian_eigenvalues(point)[-1]
    return math.inf if top <= 0 else 2.0 / float(top)


REGIMES = ("monotone", "one step", "oscillating", "marginal", "divergent")


def regime(lr: float, curvature: float) -> str:
    """Which of :data:`REGIMES` the factor :math:`1 - \\eta\\lambda` puts a direction in.

    ``monotone`` (:math:`0 < \\eta\\lambda < 1`), ``one step`` (:math:`= 1`),
    ``oscillating`` (:math:`1 < \\eta\\lambda < 2`), ``marginal`` (:math:`= 2`, bounces
    forever), ``divergent`` (:math:`> 2`).
    """
    product = checks.positive(lr, "lr") * checks.positive(curvature, "curvature")
    if math.isclose(product, 1.0, rel_tol=1e-12):
        return "one step"
    if math.isclose(product, 2.0, rel_tol=1e-12):
        return "marginal"
    if product < 1:
        return "monotone"
    return "oscillating" if product < 2 else "divergent"


def escape_step(path: Path, y_exit: float = 0.5, coordinate: int = 1) -> int | None:
    """The first step ``k`` at which :math:`|w_k|` along ``coordinate`` reaches ``y_exit``.

    On :func:`saddle` this is when a run has left the saddle's neighbourhood;
    ``None`` if it never does within the path.
    """
    if not isinstance(path, Path):
        raise TypeError(f"path must be a lib.landscapes.Path, got {type(path).__name__}")
    y_exit = checks.positive(y_exit, "y_exit")
    dim = path.points.shape[1]
    if isinstance(coordinate, bool) or not isinstance(coordinate, int) or not 0 <= coordinate < dim:
        raise ValueError(f"coordinate must be an int in [0, {dim}), got {coordinate!r}")
    hits = np.flatnonzero(np.abs(path.points[:, coordinate]) >= y_exit)
    return int(hits[0]) if hits.size else None


def loss_ratio_scan(curvature: float, lrs: Sequence[float], steps: int) -> np.ndarray:
    """:math:`L(w_K)/L(w_0)` after ``steps`` = :math:`K` steps of :func:`gd_path` on ``quadratic(curvature)``, per rate.

    Below 1 the run made progress; above 1 it moved away.  The closed form is
    :math:`(1 - \\eta\\lambda)^{2K}` (a run that blew up gives ``inf``).
    """
    surface = quadratic(curvature)
    if isinstance(lrs, (str, bytes)) or not hasattr(lrs, "__len__") or len(lrs) == 0:
        raise TypeError("lrs must be a non-empty sequence of numbers")
    ratios = []
    for lr in lrs:
        path = gd_path(surface, [1.0], lr, steps)
        final = path.losses[-1]
        ratios.append(final / path.losses[0] if np.isfinite(final) else math.inf)
    return np.array(ratios)


def saddle_escape_estimate(y0: float, lr: float, b: float = 1.0, y_exit: float = 0.5) -> float:
    """Steps gradient descent needs to carry :math:`|y|` from ``y0`` to ``y_exit`` near the saddle.

    Near the origin of :func:`saddle` the escaping coordinate obeys the
    linearised update :math:`y_{k+1} \\approx (1 + \\eta b)\\, y_k`, so
    :math:`k \\approx \\ln(y_{exit}/y_0) / \\ln(1 + \\eta b)`: the plateau grows with
    the logarithm of how close to the saddle's ridge the run starts.
    """
    y0, lr, b = checks.positive(y0, "y0"), checks.positive(lr, "lr"), checks.positive(b, "b")
    y_exit = checks.positive(y_exit, "y_exit")
    if y0 >= y_exit:
        raise ValueError(f"y0 must be below y_exit={y_exit}, got {y0}")
    return math.log(y_exit / y0) / math.log1p(lr * b)
