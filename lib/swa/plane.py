"""The loss on the plane through three snapshots: Izmailov et al.'s figure 1 (section 6).

Garipov et al. (2018) draw a network's loss on the plane through three weight
vectors :math:`w_1, w_2, w_3`: the origin :math:`w_1` and the orthonormal
directions (Gram-Schmidt)

.. math:: u = \\frac{w_2 - w_1}{\\lVert w_2 - w_1 \\rVert}, \\qquad
          v = \\frac{(w_3 - w_1) - \\langle w_3 - w_1, u\\rangle u}
                    {\\lVert (w_3 - w_1) - \\langle w_3 - w_1, u\\rangle u \\rVert}.

:func:`plane_basis` builds it, :func:`plane_coordinates` places any weights on
it (the projection), :func:`plane_distance` says how far off the plane they lie,
:func:`plane_grid` lays a grid over chosen points, :func:`plane_losses` evaluates
every grid point in one stacked pass, and :func:`plane_point_metrics` reads named
points.  :func:`snapshot_plane` does the paper's figure for one SWA run: the
plane through its first, middle and last snapshot, with their average.
Weights are handled as flat float64 vectors (:mod:`lib.core.params`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from lib.core import checks, params
from lib.core.data import Splits
from lib.core.evaluate import evaluate_stacked

from .metrics import TRAIN_EVAL_SIZE
from .training import SWARun


@dataclass(frozen=True)
class PlaneBasis:
    """An affine plane in weight space, ``origin + x * u + y * v``, with orthonormal ``u`` and ``v``.

    Attributes:
        like (dict[str, Tensor]): the parameters of :math:`w_1` (names, shapes, dtypes).
        origin, u, v (Tensor, (P,)): float64 vectors over the P parameters.
    """

    like: dict[str, torch.Tensor] = field(repr=False)
    origin: torch.Tensor = field(repr=False)
    u: torch.Tensor = field(repr=False)
    v: torch.Tensor = field(repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The parameter names, in order."""
        return tuple(self.like)

    def point(self, x: float, y: float) -> dict[str, torch.Tensor]:
        """The weights at plane coordinates ``(x, y)``, as a parameter dict."""
        return params.unflatten(self.origin + x * self.u + y * self.v, self.like)


def plane_basis(w1, w2, w3) -> PlaneBasis:
    """The plane through three weight vectors, as Garipov et al. (2018) and Izmailov et al. (2018, fig. 1) draw it.

    :math:`u = (w_2 - w_1)/\\lVert w_2 - w_1 \\rVert`; :math:`v` is :math:`w_3 - w_1` less its
    component along :math:`u`, normalised; :math:`w_1` is the origin.

    Args:
        w1, w2, w3 (nn.Module or dict[str, Tensor]): networks of one architecture, or their parameters.

    Returns:
        PlaneBasis: the plane.

    Raises:
        TypeError: a ``w`` that is neither a module nor a dict of tensors.
        ValueError: different architectures, or points that coincide or are collinear.
    """
    weights = [params.parameters(w, f"w{i + 1}") for i, w in enumerate((w1, w2, w3))]
    for i, w in enumerate(weights[1:], start=2):
        params.same_layout(weights[0], w, f"w{i} and w1")
    flat = [params.flatten(w) for w in weights]
    u = flat[1] - flat[0]
    if float(u.norm()) == 0.0:
        raise ValueError("w1 and w2 coincide: three distinct, non-collinear points are needed")
    u = u / u.norm()
    v = flat[2] - flat[0]
    v = v - (v @ u) * u
    if float(v.norm()) <= 1e-12 * float((flat[2] - flat[0]).norm().clamp_min(1e-300)):
        raise ValueError("w1, w2 and w3 are collinear: they do not span a plane")
    v = v / v.norm()
    return PlaneBasis({k: t.detach() for k, t in weights[0].items()}, flat[0], u, v)


def _check_basis(basis) -> PlaneBasis:
    if not isinstance(basis, PlaneBasis):
        raise TypeError(f"basis must be a lib.swa.plane.PlaneBasis (from plane_basis), got {type(basis).__name__}")
    return basis


def _offset(basis: PlaneBasis, weights) -> torch.Tensor:
    weights = params.parameters(weights, "weights")
    params.same_layout(basis.like, weights, "weights and the plane's points")
    return params.flatten(weights) - basis.origin


def plane_coordinates(basis: PlaneBasis, weights) -> tuple[float, float]:
    """Coordinates ``(x, y)`` of the projection of ``weights`` onto the plane: the offset from the
    origin dotted with ``u`` and with ``v``.

    Raises:
        TypeError: ``basis`` is not a ``PlaneBasis``, ``weights`` neither a module nor a dict of tensors.
        ValueError: ``weights`` of another architecture.
    """
    offset = _offset(_check_basis(basis), weights)
    return float(offset @ basis.u), float(offset @ basis.v)


def plane_distance(basis: PlaneBasis, weights) -> float:
    """Euclidean distance from ``weights`` to the plane (0 for any point on it).

    Raises:
        TypeError, ValueError: as :func:`plane_coordinates`.
    """
    x, y = plane_coordinates(basis, weights)
    offset = _offset(basis, weights)
    return float((offset - x * basis.u - y * basis.v).norm())


def plane_grid(points: Sequence[tuple[float, float]], *, margin: float = 0.35,
               resolution: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates ``(xs, ys)`` covering ``points`` with ``margin`` times their extent on every side.

    Args:
        points (list of (x, y)): at least two finite points.
        margin (float): the padding, as a fraction of the larger extent of the points, >= 0. Default 0.35.
        resolution (int): grid points per axis, >= 2. Default 15.

    Returns:
        (xs, ys): two float64 arrays of ``resolution`` evenly spaced coordinates.

    Raises:
        TypeError: ``points`` are not pairs of numbers, or ``margin`` or ``resolution`` of the wrong type.
        ValueError: fewer than two finite points, ``margin`` < 0, ``resolution`` < 2.
    """
    try:
        array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise TypeError("points must be (x, y) pairs") from None
    if len(array) < 2 or not np.isfinite(array).all():
        raise ValueError("points must be at least two finite (x, y) pairs")
    margin = checks.non_negative(margin, "margin")
    resolution = checks.integer(resolution, "resolution", minimum=2)
    low, high = array.min(0), array.max(0)
    pad = margin * (high - low).max()
    return (np.linspace(low[0] - pad, high[0] + pad, resolution),
            np.linspace(low[1] - pad, high[1] + pad, resolution))


def plane_losses(template: nn.Module, basis: PlaneBasis, xs, ys, x: torch.Tensor, y: torch.Tensor, *,
                 chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy on ``(x, y)`` at every grid point of the plane.

    The grid's weights are stacked and evaluated ``chunk`` points at a time with
    :func:`lib.core.evaluate.evaluate_stacked`.

    Args:
        template (nn.Module): the architecture; it must have no batch norm (every
            point of the plane would need its own recomputed statistics).
        basis (PlaneBasis): the plane.
        xs, ys (array-like): the grid's coordinates (weight units).
        x, y (Tensor): inputs (n, ...) and labels (n,).
        chunk (int): grid points per stacked pass, >= 1. Default 64.

    Returns:
        (loss, accuracy): two float64 arrays of shape ``(len(ys), len(xs))`` (rows: ``ys``).

    Raises:
        TypeError: arguments of the wrong type.
        ValueError: a template with buffers or other parameters than the plane's; empty or
            non-finite coordinates; ``chunk`` < 1.
    """
    checks.module(template, "template")
    _check_basis(basis)
    if any(True for _ in template.buffers()):
        raise ValueError("plane_losses needs a network without buffers (no batch norm): every point of the "
                         "plane would need its own recomputed statistics")
    if tuple(n for n, _ in template.named_parameters()) != basis.names:
        raise ValueError("template must have the same parameters as the plane's points")
    grid_x, grid_y = checks.values(xs, "xs"), checks.values(ys, "ys")
    checks.tensors(x, y)
    chunk = checks.integer(chunk, "chunk", minimum=1)
    gx, gy = np.meshgrid(grid_x, grid_y)
    coords = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float64)
    like = {name: t.float() for name, t in basis.like.items()}
    losses, accuracies = [], []
    for start in range(0, len(coords), chunk):
        part = coords[start:start + chunk]
        flat = basis.origin + part[:, :1] * basis.u + part[:, 1:] * basis.v   # (points, P)
        stacked = {name: torch.stack([params.unflatten(row, like)[name] for row in flat]).to(x.device)
                   for name in like}                                          # each (points, ...)
        loss, acc = evaluate_stacked(template, stacked, {}, x, y)
        losses.append(loss.double().cpu().numpy())
        accuracies.append(acc.double().cpu().numpy())
    return np.concatenate(losses).reshape(gx.shape), np.concatenate(accuracies).reshape(gx.shape)


def plane_point_metrics(template: nn.Module, basis: PlaneBasis, coordinates: Mapping[str, tuple[float, float]],
                        data: Splits) -> dict[str, dict[str, float]]:
    """Test error (%, all test images) and training loss (first :data:`~lib.swa.metrics.TRAIN_EVAL_SIZE`
    training images) at named points of the plane, e.g. the snapshots and their average.

    Returns:
        dict: ``{label: {"test_error": float, "train_loss": float}}``.

    Raises:
        TypeError: ``coordinates`` is not a non-empty dict, ``data`` not a ``Splits``.
        ValueError: as :func:`plane_losses`.
    """
    data = checks.splits(data, classification=True)
    if not isinstance(coordinates, Mapping) or not coordinates:
        raise TypeError("coordinates must be a non-empty dict: label -> (x, y)")
    x_train, y_train = data.x_train[:TRAIN_EVAL_SIZE], data.y_train[:TRAIN_EVAL_SIZE]
    out = {}
    for label, (x, y) in coordinates.items():
        _, accuracy = plane_losses(template, basis, [x], [y], data.x_test, data.y_test)
        train_loss, _ = plane_losses(template, basis, [x], [y], x_train, y_train)
        out[label] = {"test_error": 100 * (1 - float(accuracy.item())), "train_loss": float(train_loss.item())}
    return out


#: The labels of :class:`SnapshotPlane`'s points, as the figure writes them.
SNAPSHOT_LABELS = ("$W_1$", "$W_2$", "$W_3$")
AVERAGE_LABEL = "$W_{SWA}$"


@dataclass(frozen=True)
class SnapshotPlane:
    """The plane through three snapshots of one run, and the losses on it (:func:`snapshot_plane`).

    Attributes:
        basis (PlaneBasis): the plane; :math:`W_1` is its origin.
        coordinates (dict[str, (float, float)]): :data:`SNAPSHOT_LABELS` and :data:`AVERAGE_LABEL`
            -> plane coordinates (weight units).
        xs, ys (ndarray): the grid's coordinates, (resolution,) each.
        test_error (ndarray, (len(ys), len(xs))): test error (%) at the grid points.
        train_loss (ndarray, (len(ys), len(xs))): training loss (cross-entropy) at the grid points.
        points (dict[str, dict[str, float]]): ``{label: {"test_error", "train_loss"}}`` at the four
            points, read as :func:`plane_point_metrics` does.
        average_distance (float): distance from :math:`W_{SWA}` to the plane (0 up to rounding).
    """

    basis: PlaneBasis = field(repr=False)
    coordinates: dict[str, tuple[float, float]]
    xs: np.ndarray
    ys: np.ndarray
    test_error: np.ndarray
    train_loss: np.ndarray
    points: dict[str, dict[str, float]]
    average_distance: float

    @property
    def corner_train_loss(self) -> float:
        """The mean training loss of the three snapshots (the average lies below it if the loss is convex)."""
        return float(np.mean([self.points[label]["train_loss"] for label in SNAPSHOT_LABELS]))

    @property
    def average_beats_snapshots(self) -> bool:
        """True when the average's test error is below that of each of the three snapshots."""
        return self.points[AVERAGE_LABEL]["test_error"] < min(self.points[label]["test_error"]
                                                                for label in SNAPSHOT_LABELS)


def snapshot_plane(run: SWARun, data: Splits, *, resolution: int, examples: int) -> SnapshotPlane:
    """Izmailov et al.'s figure 1 for one run: the plane through its first, middle and last snapshot.

    :math:`W_1, W_2, W_3` are the snapshots ``0``, ``len // 2`` and ``-1`` of the
    run (kept with ``keep_snapshots=True``); :math:`W_{SWA} = (W_1 + W_2 + W_3)/3`
    lies on their plane.  The grid (:func:`plane_grid` over the four points) is
    evaluated with :func:`plane_losses` on the first ``examples`` test and training
    images, the four points with :func:`plane_point_metrics`; the run's iterate
    gives the architecture.

    Args:
        run (SWARun): a run that kept at least three snapshots, without batch norm.
        data (Splits): with a test split.
        resolution (int): grid points per axis, >= 2.
        examples (int): test and training examples per grid point, >= 1.

    Returns:
        SnapshotPlane: the plane, the grids and the points.

    Raises:
        TypeError: ``run`` is not an ``SWARun``.
        ValueError: fewer than three snapshots kept, a diverged run; and what
            :func:`plane_grid` and :func:`plane_losses` raise.
    """
    if not isinstance(run, SWARun):
        raise TypeError(f"run must be a lib.swa.training.SWARun, got {type(run).__name__}")
    data = checks.splits(data, classification=True)
    examples = checks.integer(examples, "examples", minimum=1)
    if run.snapshots is None or len(run.snapshots) < 3 or run.iterate is None:
        raise ValueError("the plane needs a run that did not diverge and kept at least 3 snapshots "
                         "(continue_run(..., keep_snapshots=True))")
    snapshots = run.snapshots
    w1, w2, w3 = snapshots[0], snapshots[len(snapshots) // 2], snapshots[-1]
    w_swa = {name: (w1[name] + w2[name] + w3[name]) / 3 for name in w1}
    basis = plane_basis(w1, w2, w3)
    coordinates = {label: plane_coordinates(basis, w)
                   for label, w in zip(SNAPSHOT_LABELS + (AVERAGE_LABEL,), (w1, w2, w3, w_swa))}
    xs, ys = plane_grid(list(coordinates.values()), resolution=resolution)
    template = run.iterate
    _, test_acc = plane_losses(template, basis, xs, ys, data.x_test[:examples], data.y_test[:examples])
    train_loss, _ = plane_losses(template, basis, xs, ys, data.x_train[:examples], data.y_train[:examples])
    return SnapshotPlane(basis=basis, coordinates=coordinates, xs=xs, ys=ys, test_error=100 * (1 - test_acc),
                         train_loss=train_loss, points=plane_point_metrics(template, basis, coordinates, data),
                         average_distance=plane_distance(basis, w_swa))
