"""Toy loss surfaces: the loss of a handful of parameters, where every curvature is known (section 1).

A surface is a loss :math:`L(w)` of a handful of parameters, written in torch so
that autograd supplies the gradient and :func:`torch.func.hessian` the Hessian.
:mod:`lib.step_size.gradient_descent` runs gradient descent on them.

Surfaces
--------
``quadratic(curvatures)``
    :math:`L(w) = \\tfrac12 \\sum_i \\lambda_i w_i^2` — the local picture of any
    smooth minimum, with Hessian :math:`\\mathrm{diag}(\\lambda_i)`.
``ravine(gentle, steep)``
    the two-parameter quadratic with one gentle and one steep direction: a long
    narrow valley (a ravine), where the steep direction limits the step size.
``saddle(a, b)``
    :math:`L(x, y) = \\tfrac12 a x^2 - \\tfrac12 b y^2 + \\tfrac14 b y^4`: a saddle at
    the origin with Hessian eigenvalues :math:`a` and :math:`-b`, and two minima at
    :math:`(0, \\pm 1)` with loss :math:`-b/4` (Dauphin et al., 2014).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Real
from typing import Callable, Sequence

import numpy as np
import torch

from lib.core import checks

DTYPE = torch.float64


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
            return self.fn(as_points(points, self.dim)).numpy()

    def gradient(self, point) -> np.ndarray:
        w = as_point(point, self.dim).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.fn(w), w)
        return grad.numpy()

    def hessian(self, point) -> np.ndarray:
        """The Hessian matrix at ``point``, by ``torch.func.hessian``."""
        return torch.func.hessian(self.fn)(as_point(point, self.dim)).numpy()

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


# ---------------------------------------------------------------- validation


def as_points(points, dim: int) -> torch.Tensor:
    """``points`` (anything NumPy reads) as a float64 tensor of shape (..., dim).

    Raises:
        TypeError: not numbers.
        ValueError: the last axis is not ``dim`` long, or a value is not finite.
    """
    try:
        tensor = torch.as_tensor(np.asarray(points, dtype=np.float64), dtype=DTYPE)
    except (TypeError, ValueError) as error:
        raise TypeError(f"points must be numbers of shape (..., {dim}): {error}") from None
    if tensor.ndim == 0 or tensor.shape[-1] != dim:
        raise ValueError(f"points must have shape (..., {dim}), got {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError("points must be finite")
    return tensor


def as_point(point, dim: int) -> torch.Tensor:
    """One point, shape (dim,), as a fresh float64 tensor (:func:`as_points`, plus the shape check)."""
    tensor = as_points(point, dim)
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


def ravine(gentle: float = 1.0, steep: float = 10.0) -> Surface:
    """A narrow valley (a ravine): :math:`L(x, y) = \\tfrac12(\\lambda_g x^2 + \\lambda_s y^2)`, ``gentle < steep``.

    Args:
        gentle (float): the small curvature :math:`\\lambda_g`, along x. Default 1.
        steep (float): the large curvature :math:`\\lambda_s`, along y. Default 10.

    Raises:
        TypeError: a curvature is not a number.
        ValueError: a curvature is not finite and > 0, or ``gentle >= steep``.
    """
    gentle, steep = checks.positive(gentle, "gentle"), checks.positive(steep, "steep")
    if gentle >= steep:
        raise ValueError(f"a ravine needs gentle < steep, got gentle={gentle}, steep={steep}")
    surface = quadratic([gentle, steep])
    return Surface(name="ravine", equation=f"L(x, y) = \\tfrac12({gentle:g}\\,x^2 + {steep:g}\\,y^2)",
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
