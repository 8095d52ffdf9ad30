"""The plane through three snapshots (lib.swa.plane) against its defining properties, and its losses
against a plain forward pass of a network holding the point's weights."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.core.models import small_cnn, textbook_mlp
from lib.swa import plane, plans, training


def test_plane_basis_and_coordinates():
    g = torch.Generator().manual_seed(0)
    w = [{"a": torch.randn(3, 4, generator=g), "b": torch.randn(5, generator=g)} for _ in range(3)]
    basis = plane.plane_basis(*w)
    assert float(basis.u @ basis.v) == pytest.approx(0, abs=1e-12)
    assert float(basis.u.norm()) == pytest.approx(1) and float(basis.v.norm()) == pytest.approx(1)
    flat = [torch.cat([t["a"].reshape(-1), t["b"]]).double() for t in w]
    assert plane.plane_coordinates(basis, w[0]) == pytest.approx((0, 0), abs=1e-9)
    assert plane.plane_coordinates(basis, w[1]) == pytest.approx((float((flat[1] - flat[0]).norm()), 0), abs=1e-6)
    x3, y3 = plane.plane_coordinates(basis, w[2])
    assert y3 > 0
    point = basis.point(x3, y3)
    torch.testing.assert_close(point["a"], w[2]["a"], atol=1e-5, rtol=1e-5)
    assert plane.plane_distance(basis, w[2]) == pytest.approx(0, abs=1e-5)
    centroid = {k: (w[0][k] + w[1][k] + w[2][k]) / 3 for k in w[0]}
    cx, cy = plane.plane_coordinates(basis, centroid)
    assert (cx, cy) == pytest.approx(((0 + flat[1].sub(flat[0]).norm().item() + x3) / 3, y3 / 3), abs=1e-5)
    # a point off the plane: its distance is the norm of the component orthogonal to u and v
    off = {"a": w[0]["a"] + 1.0, "b": w[0]["b"]}
    offset = torch.cat([torch.ones(12), torch.zeros(5)]).double()
    normal = offset - (offset @ basis.u) * basis.u - (offset @ basis.v) * basis.v
    assert plane.plane_distance(basis, off) == pytest.approx(float(normal.norm()), rel=1e-6)   # w1 + 1 rounds in float32


def test_plane_losses_equal_a_plain_forward_pass(toy):
    nets = [textbook_mlp(s) for s in range(3)]
    basis = plane.plane_basis(*nets)
    xs, ys = np.array([-0.5, 0.0, 1.5]), np.array([0.0, 2.0])
    loss, acc = plane.plane_losses(nets[0], basis, xs, ys, toy.x_test, toy.y_test, chunk=4)
    assert loss.shape == acc.shape == (2, 3)
    probe = textbook_mlp(0)
    for r, yv in enumerate(ys):
        for c, xv in enumerate(xs):
            probe.load_state_dict(basis.point(xv, yv))
            with torch.no_grad():
                logits = probe(toy.x_test)
            assert loss[r, c] == pytest.approx(F.cross_entropy(logits, toy.y_test).item(), rel=1e-4)
            assert acc[r, c] == pytest.approx((logits.argmax(1) == toy.y_test).double().mean().item(), abs=1e-6)
    # the three defining points are where they should be
    loss0, _ = plane.plane_losses(nets[0], basis, [0.0], [0.0], toy.x_test, toy.y_test)
    with torch.no_grad():
        assert loss0[0, 0] == pytest.approx(F.cross_entropy(nets[0](toy.x_test), toy.y_test).item(), rel=1e-4)


def test_plane_grid_covers_the_points_with_a_margin():
    xs, ys = plane.plane_grid([(0.0, 0.0), (4.0, 0.0), (1.0, 2.0)], margin=0.25, resolution=5)
    np.testing.assert_allclose(xs, np.linspace(-1.0, 5.0, 5))
    np.testing.assert_allclose(ys, np.linspace(-1.0, 3.0, 5))


def test_point_metrics_at_the_solution_itself(toy):
    nets = [textbook_mlp(s) for s in range(3)]
    basis = plane.plane_basis(*nets)
    metrics = plane.plane_point_metrics(nets[0], basis, {"W1": (0.0, 0.0)}, toy)
    with torch.no_grad():
        logits_test, logits_train = nets[0](toy.x_test), nets[0](toy.x_train)
    error = 100 * (logits_test.argmax(1) != toy.y_test).double().mean().item()
    assert metrics["W1"]["test_error"] == pytest.approx(error, abs=1e-4)
    assert metrics["W1"]["train_loss"] == pytest.approx(F.cross_entropy(logits_train, toy.y_train).item(), rel=1e-4)


@pytest.fixture(scope="module")
def cyclical_run(toy):
    checkpoint = training.pretrain(toy, lr=0.3, epochs=1, batch_size=32, seed=0)
    return training.continue_run(checkpoint, plans.cyclical(0.3, 0.03, 2), toy, epochs=1, track=False,
                                 keep_snapshots=True)


def test_snapshot_plane_through_first_middle_and_last_snapshot(toy, cyclical_run):
    snaps = cyclical_run.snapshots
    view = plane.snapshot_plane(cyclical_run, toy, resolution=3, examples=50)
    assert view.test_error.shape == view.train_loss.shape == (3, 3)
    assert view.coordinates["$W_1$"] == pytest.approx((0, 0), abs=1e-6)
    middle = plane.plane_coordinates(view.basis, snaps[len(snaps) // 2])
    assert view.coordinates["$W_2$"] == pytest.approx(middle) and middle[1] == pytest.approx(0, abs=1e-6)
    # the average is the centroid of the three points, on the plane
    corners = np.array([view.coordinates[label] for label in plane.SNAPSHOT_LABELS])
    assert view.coordinates[plane.AVERAGE_LABEL] == pytest.approx(tuple(corners.mean(0)), abs=1e-4)
    assert view.average_distance == pytest.approx(0, abs=1e-4)
    # the grid's losses are plane_losses on the first `examples` images
    loss, acc = plane.plane_losses(cyclical_run.iterate, view.basis, view.xs, view.ys, toy.x_test[:50],
                                   toy.y_test[:50])
    np.testing.assert_array_equal(view.test_error, 100 * (1 - acc))
    assert view.corner_train_loss == pytest.approx(np.mean([view.points[k]["train_loss"]
                                                            for k in plane.SNAPSHOT_LABELS]))
    assert view.average_beats_snapshots == (view.points[plane.AVERAGE_LABEL]["test_error"]
                                            < min(view.points[k]["test_error"] for k in plane.SNAPSHOT_LABELS))


BAD_INPUTS = [
    (lambda d, c: plane.plane_basis(c.model, c.model, textbook_mlp(1)), ValueError, "w1 and w2 coincide"),
    (lambda d, c: plane.plane_basis(textbook_mlp(0), textbook_mlp(1), small_cnn(0)), ValueError,
     "w3 and w1 must have the same parameter names and shapes"),
    (lambda d, c: plane.plane_basis(*[{"a": torch.tensor([float(i), 2.0 * i])} for i in range(3)]), ValueError,
     "collinear"),
    (lambda d, c: plane.plane_basis([1, 2], [3], [4]), TypeError, "w1 must be an nn.Module or a dict"),
    (lambda d, c: plane.plane_losses(small_cnn(0), plane.plane_basis(small_cnn(0), small_cnn(1), small_cnn(2)),
                                     [0.0], [0.0], d.x_test, d.y_test), ValueError, "no batch norm"),
    (lambda d, c: plane.plane_losses(textbook_mlp(0), plane.plane_basis(textbook_mlp(0), textbook_mlp(1),
                                     textbook_mlp(2)), [], [0.0], d.x_test, d.y_test), ValueError, "xs must hold at least 1 number(s), got 0"),
    (lambda d, c: plane.plane_losses("net", None, [0.0], [0.0], d.x_test, d.y_test), TypeError,
     "template must be an nn.Module"),
    (lambda d, c: plane.plane_coordinates("plane", c.model), TypeError, "basis must be a lib.swa.plane.PlaneBasis"),
    (lambda d, c: plane.plane_coordinates(plane.plane_basis(textbook_mlp(0), textbook_mlp(1), textbook_mlp(2)),
                                          small_cnn(0)), ValueError, "must have the same parameter names"),
    (lambda d, c: plane.plane_grid([(0.0, 0.0)]), ValueError, "at least two finite"),
    (lambda d, c: plane.plane_grid([(0.0, 0.0), (1.0, 1.0)], resolution=1), ValueError,
     "resolution must be an int >= 2"),
    (lambda d, c: plane.plane_grid([(0.0, 0.0), (1.0, 1.0)], margin=-1), ValueError,
     "margin must be a finite number >= 0"),
    (lambda d, c: plane.plane_point_metrics(c.model, None, {}, d), TypeError, "coordinates must be"),
    (lambda d, c: plane.snapshot_plane("run", d, resolution=3, examples=10), TypeError,
     "run must be a lib.swa.training.SWARun"),
    (lambda d, c: plane.snapshot_plane(training.continue_run(c, plans.cyclical(0.2, 0.02, 2), d, epochs=1,
                                                             track=False), d, resolution=3, examples=10),
     ValueError, "kept at least 3 snapshots"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(toy, checkpoint, call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(toy, checkpoint)
