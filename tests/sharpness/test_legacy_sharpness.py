"""Sharpness measures against closed forms: quadratics with known spectra, a peer Hessian, box corners."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from lib import sharpness as S
from lib.models import mlp


def quadratic_model(hessian_diag_or_matrix, centre=None, weights=None):
    """A linear model y = w.x (no bias) whose mse loss is exactly 1/2 (w - c)^T H (w - c).

    With n = d examples X (d x d) and the loss mean((Xw - t)^2) = (1/d) |X(w - c)|^2,
    the Hessian is (2/d) X^T X.  Choosing X = sqrt(d/2) * H^(1/2) gives Hessian H.
    """
    H = torch.as_tensor(hessian_diag_or_matrix, dtype=torch.float64)
    H = torch.diag(H) if H.dim() == 1 else H
    d = H.shape[0]
    values, vectors = torch.linalg.eigh(H)
    root = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    X = math.sqrt(d / 2) * root
    c = torch.zeros(d, dtype=torch.float64) if centre is None else torch.as_tensor(centre, dtype=torch.float64)
    t = (X @ c).reshape(d, 1)
    model = nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.zeros(1, d, dtype=torch.float64) if weights is None
                           else torch.as_tensor(weights, dtype=torch.float64).reshape(1, d))
    return model, X, t


def rotated_spectrum(eigenvalues, seed=0):
    eigenvalues = torch.as_tensor(eigenvalues, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=torch.Generator().manual_seed(seed),
                                       dtype=torch.float64))
    return q @ torch.diag(eigenvalues) @ q.T


def test_quadratic_model_has_the_hessian_it_was_built_with():
    H = rotated_spectrum([3.0, 1.0, 0.5])
    model, X, t = quadratic_model(H)
    f = S.loss_function(model, X, t, loss="mse")
    peer = torch.autograd.functional.hessian(lambda w: f({"weight": w}), model.weight.detach())
    assert torch.allclose(peer.reshape(3, 3), H, atol=1e-10)


def test_hessian_vector_product_matches_the_full_hessian_of_a_small_network():
    # Peer: torch.autograd.functional.hessian of the same cross-entropy loss, times v.
    torch.manual_seed(0)
    net = mlp((3, 4, 2), ("tanh",), init_seed=1).double()
    x = torch.randn(7, 3, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0])
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def loss_of_flat(w):
        params, start = {}, 0
        for name, shape in zip(names, shapes):
            size = math.prod(shape)
            params[name] = w[start:start + size].reshape(shape)
            start += size
        logits = torch.func.functional_call(net, params, (x,))
        return nn.functional.cross_entropy(logits, y)

    H = torch.autograd.functional.hessian(loss_of_flat, flat)
    v_flat = torch.randn(flat.numel(), dtype=torch.float64)
    vector, start = {}, 0
    for name, shape in zip(names, shapes):
        vector[name] = v_flat[start:start + math.prod(shape)].reshape(shape)
        start += math.prod(shape)
    hv = S.hessian_vector_product(net, x, y, vector)
    got = torch.cat([hv[n].reshape(-1) for n in names])
    assert torch.allclose(got, H @ v_flat, atol=1e-10)


def test_top_eigenvalue_of_a_known_spectrum_within_one_percent():
    spectrum = [10.0, 6.0, 3.0, 1.0, 0.5, 0.1, 0.0, 0.0]
    model, X, t = quadratic_model(rotated_spectrum(spectrum, seed=3))
    top = S.top_hessian_eigenvalue(model, X, t, loss="mse", iterations=20, seed=0)
    assert top == pytest.approx(10.0, rel=0.01)


def test_top_eigenvalue_of_a_network_matches_the_dense_eigendecomposition():
    net = mlp((4, 5, 3), ("sigmoid",), init_seed=2).double()
    x = torch.randn(20, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.randint(0, 3, (20,), generator=torch.Generator().manual_seed(1))
    f = S.loss_function(net, x, y)
    params = {n: p.detach() for n, p in net.named_parameters()}
    flat = torch.cat([p.reshape(-1) for p in params.values()])

    def loss_of_flat(w):
        out, start = {}, 0
        for n, p in params.items():
            out[n] = w[start:start + p.numel()].view_as(p)
            start += p.numel()
        return f(out)

    eig = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss_of_flat, flat))
    largest = float(eig[eig.abs().argmax()])
    assert S.top_hessian_eigenvalue(net, x, y, iterations=200) == pytest.approx(largest, rel=0.01)


def test_hutchinson_trace_of_a_known_spectrum_within_five_percent():
    spectrum = np.linspace(0.5, 8.0, 12)
    model, X, t = quadratic_model(rotated_spectrum(spectrum, seed=4))
    trace = S.hessian_trace(model, X, t, loss="mse", samples=400, seed=0)
    assert trace == pytest.approx(spectrum.sum(), rel=0.05)


def test_hutchinson_is_exact_for_a_diagonal_hessian():
    # Rademacher probes: v^T H v = sum_i H_ii v_i^2 = tr H for every single probe.
    model, X, t = quadratic_model([4.0, 2.0, 1.0, 0.25])
    assert S.hessian_trace(model, X, t, loss="mse", samples=1, seed=5) == pytest.approx(7.25, rel=1e-12)


def keskar_closed_form(h, x, c, epsilon):
    """phi for f(w) = 1/2 sum h_i (w_i - c_i)^2: each coordinate goes to the box edge away from c."""
    h, x, c = (np.asarray(a, dtype=np.float64) for a in (h, x, c))
    bound = epsilon * (np.abs(x) + 1)
    f_x = 0.5 * np.sum(h * (x - c) ** 2)
    f_max = 0.5 * np.sum(h * (np.abs(x - c) + bound) ** 2)
    return 100 * (f_max - f_x) / (1 + f_x)


@pytest.mark.parametrize("epsilon", S.KESKAR_EPSILONS)
def test_epsilon_sharpness_at_a_quadratic_minimum_is_the_corner_value(epsilon):
    # x = 0 is the minimum: f = 1/2 z^T H z, max over |z_i| <= eps at a corner = eps^2/2 tr H.
    h = [50.0, 20.0, 5.0, 1.0, 0.1]
    model, X, t = quadratic_model(h)
    phi = S.epsilon_sharpness(model, X, t, epsilon=epsilon, loss="mse", seed=0)
    assert phi == pytest.approx(100 * epsilon ** 2 / 2 * sum(h), rel=1e-6)


def test_epsilon_sharpness_away_from_the_minimum_matches_the_closed_form():
    h = np.array([30.0, 8.0, 2.0, 0.5])
    c = np.array([0.5, -1.0, 2.0, 0.0])
    x = np.array([0.2, 1.0, -1.0, 3.0])  # every |x_i - c_i| exceeds the box: one maximising corner
    model, X, t = quadratic_model(h, centre=c, weights=x)
    for epsilon in S.KESKAR_EPSILONS:
        phi = S.epsilon_sharpness(model, X, t, epsilon=epsilon, loss="mse", seed=1)
        assert phi == pytest.approx(keskar_closed_form(h, x, c, epsilon), rel=1e-6)


def test_epsilon_sharpness_in_a_random_subspace_matches_brute_force_over_the_box_corners():
    # A convex function is maximised over a box at one of its 2^p corners: enumerate them.
    d, p, epsilon = 6, 3, 1e-2
    H = rotated_spectrum([9.0, 4.0, 2.0, 1.0, 0.5, 0.25], seed=7)
    c = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 2.0])
    x = np.array([2.0, 1.0, -0.5, 0.0, 1.5, -2.0])
    model, X, t = quadratic_model(H, centre=c, weights=x)
    A = S.random_subspace(d, p, seed=11).numpy()
    bound = epsilon * (np.abs(np.linalg.pinv(A) @ x) + 1)  # peer: NumPy's pseudo-inverse
    Hn = H.numpy()
    f = lambda w: 0.5 * (w - c) @ Hn @ (w - c)
    best = max(f(x + A @ (np.array(s) * bound)) for s in itertools.product((-1, 1), repeat=p))
    expected = 100 * (best - f(x)) / (1 + f(x))
    phi = S.epsilon_sharpness(model, torch.as_tensor(X), t, epsilon=epsilon, subspace_dim=p, loss="mse", seed=11)
    assert phi == pytest.approx(expected, rel=1e-6)


def test_epsilon_sharpness_of_a_flat_loss_is_zero_and_grows_with_the_box():
    model, X, t = quadratic_model([0.0, 0.0, 0.0])
    assert S.epsilon_sharpness(model, X, t, epsilon=1e-3, loss="mse") == pytest.approx(0.0, abs=1e-12)
    model, X, t = quadratic_model([5.0, 1.0])
    small, large = (S.epsilon_sharpness(model, X, t, epsilon=e, loss="mse") for e in (5e-4, 1e-3))
    assert large == pytest.approx(4 * small, rel=1e-6)  # quadratic in eps at a minimum


def test_sharpness_box_full_space_and_subspace():
    w = torch.tensor([0.0, -2.0, 3.0], dtype=torch.float64)
    assert torch.allclose(S.sharpness_box(w, 1e-3), torch.tensor([1e-3, 3e-3, 4e-3], dtype=torch.float64))
    A = S.random_subspace(3, 2, seed=0)
    expected = 1e-3 * (np.abs(np.linalg.pinv(A.numpy()) @ w.numpy()) + 1)
    assert np.allclose(S.sharpness_box(w, 1e-3, A).numpy(), expected)


def test_noise_scale_matches_smith_and_le_and_the_variance_of_an_sgd_step():
    # g = eps (N/B - 1) / (1 - m), and ~ eps N / (B (1 - m)).
    assert S.noise_scale(0.1, 55_000, 550, exact=True) == pytest.approx(0.1 * 99)
    assert S.noise_scale(0.1, 55_000, 550) == pytest.approx(10.0)
    assert S.noise_scale(0.1, 55_000, 550, momentum=0.9) == pytest.approx(100.0)
    # Same g for (eps, B) and (2 eps, 2 B): only eps / B enters.
    assert S.noise_scale(0.2, 1000, 20) == pytest.approx(S.noise_scale(0.1, 1000, 10))
    # Where the exact form comes from: the covariance of one SGD step eps * g_batch, with
    # batches drawn without replacement, is eps * g * Sigma / (N - 1), Sigma the per-example
    # gradient covariance.  Enumerate every batch of a small set exactly.
    rng = np.random.default_rng(0)
    N, B, eps = 9, 4, 0.3
    grads = rng.normal(size=N)
    steps = np.array([eps * grads[list(batch)].mean() for batch in itertools.combinations(range(N), B)])
    sigma = grads.var()  # population variance (1/N)
    assert steps.var() == pytest.approx(eps * S.noise_scale(eps, N, B, exact=True) * sigma / (N - 1), rel=1e-12)


def test_milestone_schedules_share_one_noise_scale_profile():
    N, lr, B, factor, milestones, epochs = 1000, 0.4, 10, 5, [2, 4], 6
    schedules = S.milestone_schedules(lr, B, factor=factor, milestones=milestones, epochs=epochs, train_size=N)
    assert schedules["decay"][0] == [10] * 6
    assert schedules["grow"][0] == [10, 10, 50, 50, 250, 250]
    assert schedules["hybrid"][0] == [10, 10, 50, 50, 50, 50]
    expected_g = [lr * N / B] * 2 + [lr * N / B / 5] * 2 + [lr * N / B / 25] * 2  # eps N / B per epoch
    for kind, (batches, rate) in schedules.items():
        starts = np.concatenate([[0], np.cumsum([-(-N // b) for b in batches])])[:-1]
        g = [rate(int(step)) * N / b for step, b in zip(starts, batches)]
        assert g == pytest.approx(expected_g), kind


def test_milestone_schedules_drive_the_engine_as_intended():
    # Peer: the engine's own record of batch sizes and applied rates (History.step_lr, step_epoch).
    from lib.data import Splits
    from lib.train import Member, train_grid
    g = torch.Generator().manual_seed(0)
    data = Splits(torch.randn(103, 4, generator=g), torch.randn(103, 1, generator=g))
    schedules = S.milestone_schedules(0.05, 4, factor=3, milestones=[1, 3], epochs=4, train_size=103)
    for kind, (batches, rate) in schedules.items():
        run = train_grid(Member(lr=0.05, schedule=rate), data, model=lambda seed: nn.Linear(4, 1),
                         batch_size=batches, epochs=4, loss="mse", progress=False)
        h = run.history
        assert h.batch_sizes == batches
        epoch = np.floor(h.step_epoch + 1e-9).astype(int)
        decays = {"decay": [0, 1, 1, 2], "grow": [0, 0, 0, 0], "hybrid": [0, 0, 0, 1]}[kind]
        assert np.allclose(h.step_lr[0], 0.05 / 3.0 ** np.array(decays)[epoch]), kind


def test_epochs_for_updates_gives_both_enough_epochs_and_enough_updates():
    assert S.epochs_for_updates(256, 55_000, min_epochs=20, min_updates=1500) == 20   # 20 epochs = 4,300 updates
    assert S.epochs_for_updates(5500, 55_000, min_epochs=20, min_updates=1500) == 150  # 10 updates per epoch
    assert S.epochs_for_updates(5501, 55_000, min_epochs=20, min_updates=1500) == 151  # rounds up


def test_best_batch_size_finds_the_peak_of_a_parabola_in_log_batch():
    sizes = 2.0 ** np.arange(4, 11)                      # 16 ... 1024
    peak = 2.0 ** 6.6                                      # between 64 and 128
    scores = 0.95 - 0.01 * (np.log2(sizes) - 6.6) ** 2
    assert S.best_batch_size(sizes, scores) == pytest.approx(peak, rel=1e-9)
    assert S.best_batch_size(sizes, -np.log2(sizes)) == 16  # best at the end: the end point
    scores[0] = np.nan                                      # a diverged run does not count
    assert S.best_batch_size(sizes, scores) == pytest.approx(peak, rel=1e-9)


def no_parameters():
    return nn.Sequential(nn.Identity())


X3 = torch.zeros(2, 3)
Y3 = torch.tensor([0, 1])


@pytest.mark.parametrize("call, error, message", [
    (lambda: S.top_hessian_eigenvalue(no_parameters(), X3, Y3), ValueError, "no parameters"),
    (lambda: S.hessian_trace(no_parameters(), X3, Y3), ValueError, "no parameters"),
    (lambda: S.epsilon_sharpness(no_parameters(), X3, Y3), ValueError, "no parameters"),
    (lambda: S.top_hessian_eigenvalue("net", X3, Y3), TypeError, "torch.nn.Module"),
    (lambda: S.top_hessian_eigenvalue(nn.Linear(3, 2), X3, Y3, loss="hinge"), ValueError, "unknown loss"),
    (lambda: S.top_hessian_eigenvalue(nn.Linear(3, 2), X3, Y3, iterations=0), ValueError, "iterations must be"),
    (lambda: S.top_hessian_eigenvalue(nn.Linear(3, 2), X3, Y3, seed=-1), ValueError, "seed must be"),
    (lambda: S.hessian_trace(nn.Linear(3, 2), X3, Y3, samples=0), ValueError, "samples must be"),
    (lambda: S.hessian_trace(nn.Linear(3, 2), X3, torch.tensor([0])), ValueError, "same number"),
    (lambda: S.hessian_trace(nn.Linear(3, 2), X3, Y3.float()), ValueError, "integer class labels"),
    (lambda: S.hessian_vector_product(nn.Linear(3, 2), X3, Y3, {"weight": torch.zeros(2, 3)}),
     ValueError, "missing ['bias']"),
    (lambda: S.hessian_vector_product(nn.Linear(3, 2), X3, Y3, {"weight": torch.zeros(3, 2),
                                                                 "bias": torch.zeros(2)}),
     ValueError, "shape (2, 3)"),
    (lambda: S.hessian_vector_product(nn.Linear(3, 2), X3, Y3, [1, 2]), TypeError, "dict of tensors"),
    (lambda: S.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, epsilon=0.0), ValueError, "epsilon must be"),
    (lambda: S.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, epsilon=-1e-3), ValueError, "epsilon must be"),
    (lambda: S.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, epsilon=math.nan), ValueError, "epsilon must be"),
    (lambda: S.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, subspace_dim=9), ValueError, "cannot exceed"),
    (lambda: S.epsilon_sharpness(nn.Linear(3, 2), X3, Y3, subspace_dim=0), ValueError, "subspace_dim must be"),
    (lambda: S.random_subspace(5, 6), ValueError, "cannot exceed"),
    (lambda: S.sharpness_box(torch.zeros(3), 0), ValueError, "epsilon must be"),
    (lambda: S.noise_scale(0.0, 100, 10), ValueError, "lr must be"),
    (lambda: S.noise_scale(0.1, 100, 101), ValueError, "cannot exceed"),
    (lambda: S.noise_scale(0.1, 100, 10, momentum=1.0), ValueError, "momentum must be"),
    (lambda: S.noise_scale(0.1, 100, 0), ValueError, "batch_size must be"),
    (lambda: S.milestone_schedules(0.1, 10, factor=1, milestones=[2], epochs=4, train_size=100),
     ValueError, "factor must be"),
    (lambda: S.milestone_schedules(0.1, 10, factor=2, milestones=[4], epochs=4, train_size=100),
     ValueError, "milestones must be increasing"),
    (lambda: S.milestone_schedules(0.1, 10, factor=2, milestones=[2, 1], epochs=4, train_size=100),
     ValueError, "milestones must be increasing"),
    (lambda: S.milestone_schedules(0.1, 10, factor=5, milestones=[1, 2], epochs=4, train_size=100),
     ValueError, "more than the 100 training examples"),
    (lambda: S.milestone_schedules(0.1, 10, factor=2, milestones=None, epochs=4, train_size=100),
     TypeError, "milestones must be a sequence"),
    (lambda: S.epochs_for_updates(10, 5, min_epochs=1, min_updates=1), ValueError, "cannot exceed"),
    (lambda: S.epochs_for_updates(10, 50, min_epochs=0, min_updates=1), ValueError, "min_epochs must be"),
    (lambda: S.best_batch_size([16, 32], [0.1, 0.2]), ValueError, "length >= 3"),
    (lambda: S.best_batch_size([16, 8, 32], [0.1, 0.2, 0.3]), ValueError, "increasing"),
    (lambda: S.best_batch_size([8, 16, 32], [np.nan] * 3), ValueError, "no finite value"),
    (lambda: S.sharpness_report(nn.Linear(3, 2), X3, Y3, epsilons=[]), ValueError, "epsilons must be"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error, match=None) as info:
        call()
    assert message in str(info.value)
