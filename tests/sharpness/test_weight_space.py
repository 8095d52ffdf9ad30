"""Lines through weight space against closed forms (a linear model's parabola) and direct evaluation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lib.core.models import mlp, small_cnn
from lib.sharpness import weight_space as WS


def linear_regression(weights, seed=0):
    """Linear(4, 1) without bias and data whose mse along any line is an explicit parabola."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(30, 4, generator=g, dtype=torch.float64)
    t = torch.randn(30, 1, generator=g, dtype=torch.float64)
    model = nn.Linear(4, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.as_tensor(weights, dtype=torch.float64).reshape(1, 4))
    return model, X, t


def parabola(X, t, w, d, alphas):
    """mean((X (w + a d) - t)^2) = mean(r^2) + 2 a mean(r Xd) + a^2 mean((Xd)^2), r = Xw - t."""
    X, t = X.numpy(), t.numpy().ravel()
    r, q = X @ w - t, X @ d
    return np.array([np.mean(r ** 2) + 2 * a * np.mean(r * q) + a * a * np.mean(q ** 2) for a in alphas])


def test_filter_normalized_direction_has_the_filters_norms_and_zero_biases():
    net = mlp((6, 5, 3), ("tanh",), init_seed=0)
    d = WS.filter_normalized_direction(net, seed=1)
    assert list(d) == [n for n, _ in net.named_parameters()]
    for name, p in net.named_parameters():
        if p.dim() == 1:
            assert torch.count_nonzero(d[name]) == 0
        else:
            assert torch.allclose(d[name].norm(dim=1), p.detach().norm(dim=1), rtol=1e-5)
    assert torch.equal(WS.filter_normalized_direction(net, seed=1)["0.weight"], d["0.weight"])
    assert not torch.equal(WS.filter_normalized_direction(net, seed=2)["0.weight"], d["0.weight"])


def test_filter_normalization_of_a_convolution_is_per_output_channel():
    net = small_cnn(init_seed=0, channels=2)
    d = WS.filter_normalized_direction(net, seed=0)
    w = net.features[0].weight.detach()
    assert torch.allclose(d["features.0.weight"].flatten(1).norm(dim=1), w.flatten(1).norm(dim=1), rtol=1e-5)


def test_losses_along_a_line_are_the_parabola_of_a_linear_model():
    w = np.array([0.5, -1.0, 2.0, 0.0])
    model, X, t = linear_regression(w)
    d = np.array([1.0, 0.5, -0.25, 2.0])
    alphas = np.linspace(-1, 2, 7)
    losses, accuracies = WS.losses_along_line(model, {"weight": torch.tensor(d).reshape(1, 4)}, alphas, X, t,
                                              loss="mse", chunk=3)
    assert np.allclose(losses, parabola(X, t, w, d, alphas), rtol=1e-5)
    assert np.isnan(accuracies).all()


def test_interpolation_is_the_parabola_between_two_linear_models():
    wa, wb = np.array([0.5, -1.0, 2.0, 0.0]), np.array([-1.0, 1.0, 0.0, 1.5])
    model_a, X, t = linear_regression(wa)
    model_b, _, _ = linear_regression(wb)
    alphas = np.linspace(-1, 2, 13)
    losses, _ = WS.interpolate(model_a, model_b, alphas, X, t, loss="mse")
    assert np.allclose(losses, parabola(X, t, wa, wb - wa, alphas), rtol=1e-5)


def test_interpolation_endpoints_are_the_two_networks_classification():
    a, b = mlp((5, 7, 3), ("relu",), init_seed=1), mlp((5, 7, 3), ("relu",), init_seed=2)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 5, generator=g), torch.randint(0, 3, (40,), generator=g)
    losses, accuracies = WS.interpolate(a, b, [0.0, 1.0], x, y)
    for k, net in enumerate((a, b)):
        with torch.no_grad():
            logits = net(x)
        assert losses[k] == pytest.approx(float(nn.functional.cross_entropy(logits, y)), rel=1e-5)
        assert accuracies[k] == pytest.approx(float((logits.argmax(1) == y).float().mean()))


def test_interpolation_mixes_batch_norm_statistics():
    a, b = small_cnn(init_seed=1, channels=2), small_cnn(init_seed=2, channels=2)
    with torch.no_grad():
        a.features[1].running_mean.fill_(1.0)
        b.features[1].running_mean.fill_(3.0)
    x, y = torch.rand(8, 784), torch.arange(8) % 10
    mid = small_cnn(init_seed=1, channels=2)
    with torch.no_grad():
        for (n, p), q, r in zip(mid.named_parameters(), a.parameters(), b.parameters()):
            p.copy_(0.5 * q + 0.5 * r)
        for (n, buf), q, r in zip(mid.named_buffers(), a.buffers(), b.buffers()):
            if buf.is_floating_point():
                buf.copy_(0.5 * q + 0.5 * r)
    mid.eval()
    with torch.no_grad():
        expected = float(nn.functional.cross_entropy(mid(x), y))
    losses, _ = WS.interpolate(a, b, [0.5], x, y)
    assert losses[0] == pytest.approx(expected, rel=1e-5)


def test_weight_distance_is_the_euclidean_norm_of_the_difference():
    a, b = mlp((3, 4, 2), ("tanh",), init_seed=0), mlp((3, 4, 2), ("tanh",), init_seed=1)
    diff = nn.utils.parameters_to_vector(a.parameters()) - nn.utils.parameters_to_vector(b.parameters())
    assert WS.weight_distance(a, b) == pytest.approx(float(diff.detach().norm()), rel=1e-6)
    assert WS.weight_distance(a, a) == 0.0


def test_losses_along_random_directions_are_lines_along_seeded_filter_normalised_directions():
    net = mlp((3, 4, 2), ("tanh",), init_seed=0)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(10, 3, generator=g), torch.randint(0, 2, (10,), generator=g)
    alphas = [-0.5, 0.0, 0.5]
    rows = WS.losses_along_random_directions(net, alphas, x, y, directions=2)
    assert rows.shape == (2, 3)
    for d in range(2):
        direction = WS.filter_normalized_direction(net, seed=d)
        for k, alpha in enumerate(alphas):
            moved = mlp((3, 4, 2), ("tanh",), init_seed=0)
            with torch.no_grad():
                for name, p in moved.named_parameters():
                    p.add_(alpha * direction[name])
                expected = float(nn.functional.cross_entropy(moved(x), y))
            assert rows[d, k] == pytest.approx(expected, rel=1e-5)


def test_parametric_curves_interpolate_on_every_split():
    a, b = mlp((5, 7, 3), ("relu",), init_seed=1), mlp((5, 7, 3), ("relu",), init_seed=2)
    g = torch.Generator().manual_seed(0)
    splits = {"train": (torch.randn(20, 5, generator=g), torch.randint(0, 3, (20,), generator=g)),
              "test": (torch.randn(10, 5, generator=g), torch.randint(0, 3, (10,), generator=g))}
    curves = WS.parametric_curves(a, b, [0.0, 0.5, 1.0], splits)
    assert list(curves) == ["train", "test"]
    for name, (x, y) in splits.items():
        expected = WS.interpolate(a, b, [0.0, 0.5, 1.0], x, y)
        assert np.array_equal(curves[name][0], expected[0]) and np.array_equal(curves[name][1], expected[1])


def empty():
    return nn.Sequential(nn.Identity())


NET = mlp((3, 4, 2), ("tanh",), init_seed=0)
OTHER = mlp((3, 5, 2), ("tanh",), init_seed=0)
X = torch.zeros(2, 3)
Y = torch.tensor([0, 1])
DIRECTION = WS.filter_normalized_direction(NET, seed=0)


@pytest.mark.parametrize("call, error, message", [
    (lambda: WS.filter_normalized_direction(empty(), 0), ValueError, "no parameters"),
    (lambda: WS.filter_normalized_direction("net", 0), TypeError, "model must be an nn.Module"),
    (lambda: WS.filter_normalized_direction(NET, -1), ValueError, "seed must be an int >= 0"),
    (lambda: WS.losses_along_line(NET, {"0.weight": DIRECTION["0.weight"]}, [0.0], X, Y), ValueError,
     "parameter names and shapes"),
    (lambda: WS.losses_along_line(NET, [1.0], [0.0], X, Y), TypeError, "direction must be a dict"),
    (lambda: WS.losses_along_line(NET, DIRECTION, [], X, Y), ValueError, "alphas must hold at least 1 number(s), got 0"),
    (lambda: WS.losses_along_line(NET, DIRECTION, [0.0, float("nan")], X, Y), ValueError, "finite"),
    (lambda: WS.losses_along_line(NET, DIRECTION, ["a"], X, Y), TypeError, "sequence of numbers"),
    (lambda: WS.losses_along_line(NET, DIRECTION, [0.0], X, Y, loss="hinge"), ValueError, "unknown loss"),
    (lambda: WS.losses_along_line(NET, DIRECTION, [0.0], X, Y, chunk=0), ValueError, "chunk must be an int >= 1"),
    (lambda: WS.losses_along_line(NET, DIRECTION, [0.0], X, Y[:1]), ValueError, "same number"),
    (lambda: WS.interpolate(NET, NET, [0.0], X.numpy(), Y), TypeError, "x must be a torch.Tensor"),
    (lambda: WS.interpolate(NET, OTHER, [0.0], X, Y), ValueError, "same architecture"),
    (lambda: WS.interpolate(NET, empty(), [0.0], X, Y), ValueError, "no parameters"),
    (lambda: WS.weight_distance(NET, OTHER), ValueError, "same architecture"),
    (lambda: WS.weight_distance(NET, None), TypeError, "model_b must be an nn.Module"),
    (lambda: WS.losses_along_random_directions(NET, [0.0], X, Y, directions=0), ValueError,
     "directions must be an int >= 1"),
    (lambda: WS.parametric_curves(NET, NET, [0.0], {}), ValueError, "non-empty dict"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
