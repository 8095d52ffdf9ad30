"""Gradient descent on the toy surfaces, and what the curvature says about the step size (section 1).

:func:`gd_path` runs :math:`w_{k+1} = w_k - \\eta \\nabla L(w_k)` with
``torch.optim.SGD`` on a :class:`lib.step_size.surfaces.Surface`.  On a quadratic
each coordinate obeys :math:`w_{k+1} = (1 - \\eta\\lambda_i)\\, w_k`, so

.. math:: w_k = (1 - \\eta\\lambda_i)^k\\, w_0,

which shrinks exactly when :math:`|1 - \\eta\\lambda_i| < 1`, i.e.
:math:`0 < \\eta < 2/\\lambda_i`; all directions together need
:math:`\\eta < 2/\\lambda_{\\max}` (:func:`stable_lr_bound`).  :func:`step_regime`
names what the factor :math:`1 - \\eta\\lambda` does, :func:`loss_ratio_scan`
measures it over a range of rates, and near a saddle :func:`escape_step` and
:func:`saddle_escape_estimate` time how long the iterates linger.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from lib.core import checks

from .surfaces import Surface, as_point, quadratic

BLOW_UP = 1e100  # a path whose parameters pass this norm is stopped; the rest is NaN


@dataclass(frozen=True)
class Path:
    """Iterates of gradient descent on one surface at one rate.

    Attributes:
        surface (str): the surface's name.
        lr (float): the step size :math:`\\eta`.
        points (ndarray, (steps + 1, dim)): :math:`w_k`; NaN after a blow-up.
        losses (ndarray, (steps + 1,)): :math:`L(w_k)`; NaN after a blow-up.
    """

    surface: str
    lr: float
    points: np.ndarray
    losses: np.ndarray

    @property
    def steps(self) -> int:
        """The number of steps the path was asked for."""
        return len(self.losses) - 1

    @property
    def diverged(self) -> bool:
        """True when the run blew up or ended with a higher loss than it started with."""
        final = self.losses[-1]
        return not np.isfinite(final) or final > self.losses[0]


def _check_surface(surface) -> Surface:
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a lib.step_size.surfaces.Surface, got {type(surface).__name__}")
    return surface


def gd_path(surface: Surface, start, lr: float, steps: int) -> Path:
    """``steps`` steps of plain gradient descent, :math:`w_{k+1} = w_k - \\eta\\nabla L(w_k)`, from ``start``.

    Uses ``torch.optim.SGD`` (no momentum) on a float64 parameter; the gradient
    comes from autograd.  A run whose parameters pass :data:`BLOW_UP` in norm is
    stopped and the remaining iterates are NaN.

    Args:
        surface (Surface): the loss.
        start (sequence of float, (dim,)): :math:`w_0`.
        lr (float): the step size :math:`\\eta` > 0.
        steps (int): the number of steps K >= 1.

    Returns:
        Path: the K + 1 iterates and their losses.

    Raises:
        TypeError: ``surface`` is not a Surface, or an argument has the wrong type.
        ValueError: ``start`` has the wrong shape or is not finite; ``lr`` or ``steps`` out of range.
    """
    _check_surface(surface)
    lr = checks.positive(lr, "lr")
    steps = checks.integer(steps, "steps", minimum=1)
    w = torch.nn.Parameter(as_point(start, surface.dim))
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


def gd_paths(surface: Surface, start, rates: Mapping[str, float], steps: int) -> dict[str, Path]:
    """:func:`gd_path` from one ``start`` at each named rate: ``{name: Path}``, in the order given.

    Raises:
        TypeError: ``rates`` is not a mapping of names to rates (and as :func:`gd_path`).
    """
    if not isinstance(rates, Mapping) or not rates:
        raise TypeError(f"rates must be a non-empty dict name -> learning rate, got {rates!r}")
    return {name: gd_path(surface, start, lr, steps) for name, lr in rates.items()}


def gd_paths_from(surface: Surface, starts: Mapping, lr: float, steps: int) -> dict:
    """:func:`gd_path` at one rate from each of several named starts: ``{key: Path}``, in the order given.

    Raises:
        TypeError: ``starts`` is not a mapping of keys to start points (and as :func:`gd_path`).
    """
    if not isinstance(starts, Mapping) or not starts:
        raise TypeError(f"starts must be a non-empty dict key -> start point, got {starts!r}")
    return {key: gd_path(surface, start, lr, steps) for key, start in starts.items()}


def stable_lr_bound(surface: Surface, point) -> float:
    """:math:`2/\\lambda_{\\max}` of the Hessian at ``point``: the largest stable step there.

    On a quadratic this is exact for every point; elsewhere it is the bound for
    the quadratic that approximates the loss near ``point``.  ``inf`` when no
    eigenvalue is positive (no direction in which a step can overshoot).

    Raises:
        TypeError: ``surface`` is not a Surface.
    """
    _check_surface(surface)
    top = surface.hessian_eigenvalues(point)[-1]
    return math.inf if top <= 0 else 2.0 / float(top)


#: What the factor :math:`1 - \eta\lambda` does to one direction of a quadratic.
STEP_REGIMES = ("monotone", "one step", "oscillating", "marginal", "divergent")


def step_regime(lr: float, curvature: float) -> str:
    """Which of :data:`STEP_REGIMES` the factor :math:`1 - \\eta\\lambda` puts a direction in.

    ``monotone`` (:math:`0 < \\eta\\lambda < 1`), ``one step`` (:math:`= 1`),
    ``oscillating`` (:math:`1 < \\eta\\lambda < 2`), ``marginal`` (:math:`= 2`, bounces
    forever), ``divergent`` (:math:`> 2`).

    Raises:
        TypeError, ValueError: ``lr`` or ``curvature`` is not a finite number > 0.
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

    On :func:`lib.step_size.surfaces.saddle` this is when a run has left the
    saddle's neighbourhood; ``None`` if it never does within the path.

    Raises:
        TypeError: ``path`` is not a Path.
        ValueError: ``y_exit`` not > 0, or ``coordinate`` not an axis of the path.
    """
    if not isinstance(path, Path):
        raise TypeError(f"path must be a lib.step_size.gradient_descent.Path, got {type(path).__name__}")
    y_exit = checks.positive(y_exit, "y_exit")
    coordinate = checks.integer(coordinate, "coordinate", minimum=0, maximum=path.points.shape[1] - 1)
    hits = np.flatnonzero(np.abs(path.points[:, coordinate]) >= y_exit)
    return int(hits[0]) if hits.size else None


def loss_ratio_scan(curvature: float, lrs: Sequence[float], steps: int) -> np.ndarray:
    """:math:`L(w_K)/L(w_0)` after ``steps`` = :math:`K` steps of :func:`gd_path` on ``quadratic(curvature)``, per rate.

    Below 1 the run made progress; above 1 it moved away.  The closed form is
    :math:`(1 - \\eta\\lambda)^{2K}` (a run that blew up gives ``inf``).

    Returns:
        ndarray (len(lrs),): the ratio for each rate.

    Raises:
        TypeError, ValueError: ``lrs`` is not a non-empty list of rates > 0, or as :func:`gd_path`.
    """
    surface = quadratic(curvature)
    lrs = checks.rates(lrs, "lrs")
    ratios = []
    for lr in lrs:
        path = gd_path(surface, [1.0], lr, steps)
        final = path.losses[-1]
        ratios.append(final / path.losses[0] if np.isfinite(final) else math.inf)
    return np.array(ratios)


def saddle_escape_estimate(y0: float, lr: float, b: float = 1.0, y_exit: float = 0.5) -> float:
    """Steps gradient descent needs to carry :math:`|y|` from ``y0`` to ``y_exit`` near the saddle.

    Near the origin of :func:`lib.step_size.surfaces.saddle` the escaping
    coordinate obeys the linearised update :math:`y_{k+1} \\approx (1 + \\eta b)\\, y_k`,
    so :math:`k \\approx \\ln(y_{exit}/y_0) / \\ln(1 + \\eta b)`: the plateau grows with
    the logarithm of how close to the saddle's ridge the run starts.

    Raises:
        TypeError, ValueError: an argument is not a finite number > 0, or ``y0 >= y_exit``.
    """
    y0, lr, b = checks.positive(y0, "y0"), checks.positive(lr, "lr"), checks.positive(b, "b")
    y_exit = checks.positive(y_exit, "y_exit")
    if y0 >= y_exit:
        raise ValueError(f"y0 must be below y_exit={y_exit}, got {y0}")
    return math.log(y_exit / y0) / math.log1p(lr * b)
