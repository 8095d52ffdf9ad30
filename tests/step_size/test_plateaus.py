"""lib.plateaus: the XOR network's loss, its symmetric point, and batched training."""
import numpy as np
import pytest
import torch

from lib.step_size import plateaus


def test_loss_at_the_symmetric_point_is_one_eighth():
    # all parameters zero: every output is sigmoid(0) = 1/2, targets 0,1,1,0 → ½·mean(¼) = 1/8
    assert plateaus.xor_loss(torch.zeros(plateaus.N_PARAMS, dtype=torch.float64)).item() == pytest.approx(0.125)
    assert plateaus.SYMMETRIC_LOSS == 0.125


def test_loss_matches_a_hand_written_forward_pass():
    params = torch.linspace(-1, 1, plateaus.N_PARAMS, dtype=torch.float64)
    W, b, v, c = params[:4].reshape(2, 2), params[4:6], params[6:8], params[8]
    inputs, targets = plateaus.xor_data()
    out = torch.sigmoid(torch.sigmoid(inputs @ W + b) @ v + c)
    assert plateaus.xor_loss(params).item() == pytest.approx(0.5 * ((out - targets) ** 2).mean().item(), rel=1e-12)


def test_hessian_at_the_symmetric_point_has_one_positive_eigenvalue():
    # At θ = 0 every hidden unit and the output are σ(0) = 1/2 and the residuals o - y are
    # (1/2, -1/2, -1/2, 1/2), whose mean and whose correlation with either input are zero.  Every
    # second-derivative term carrying a residual therefore vanishes, and the Hessian is the
    # Gauss-Newton part mean(∇o ∇oᵀ) with ∇o = σ'(0)·(∂/∂c, ∂/∂v1, ∂/∂v2) = (1/4, 1/8, 1/8), the
    # same for all inputs: rank one, eigenvalue |∇o|² = 1/16 + 1/64 + 1/64 = 3/32.
    eig = plateaus.hessian_eigenvalues(np.zeros(plateaus.N_PARAMS))
    assert eig[-1] == pytest.approx(3 / 32, rel=1e-12)
    assert np.all(np.abs(eig[:-1]) < 1e-12)


def test_training_seeds_together_equals_training_them_one_by_one():
    together = plateaus.train_xor(seeds=3, steps=50, lr=1.0, init_scale=0.5)
    alone = [plateaus.train_xor(seeds=s + 1, steps=50, lr=1.0, init_scale=0.5).losses[:, s] for s in range(3)]
    for s in range(3):
        np.testing.assert_allclose(together.losses[:, s], alone[s], rtol=1e-12)


def test_one_step_is_plain_gradient_descent():
    run = plateaus.train_xor(seeds=1, steps=1, lr=0.7, init_scale=0.5, snapshot_steps=(0, 1))
    start, after = run.params_at(0), run.params_at(1)
    start_leaf = start.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(plateaus.xor_loss(start_leaf), start_leaf)
    np.testing.assert_allclose(after.numpy(), (start - 0.7 * grad).numpy(), rtol=1e-12)


def test_small_weights_give_a_plateau_then_an_escape():
    run = plateaus.train_xor(seeds=2, steps=6000, lr=1.0, init_scale=0.5)
    escapes = run.escape_steps()
    assert np.all(np.isfinite(escapes))
    assert np.all(escapes > 300)  # a plateau first: the loss stays above 1/16 for hundreds of steps
    assert np.all(run.losses[-1] < 0.01)


BAD_CALLS = [
    (lambda: plateaus.xor_loss(np.zeros(9)), TypeError),
    (lambda: plateaus.xor_loss(torch.zeros(8)), ValueError),
    (lambda: plateaus.xor_loss(torch.zeros(2, 3, 9)), ValueError),
    (lambda: plateaus.train_xor(seeds=0, steps=10), ValueError),
    (lambda: plateaus.train_xor(seeds=2.0, steps=10), TypeError),
    (lambda: plateaus.train_xor(seeds=1, steps=10, lr=0), ValueError),
    (lambda: plateaus.train_xor(seeds=1, steps=10, init_scale="big"), TypeError),
    (lambda: plateaus.train_xor(seeds=1, steps=10, snapshot_steps=(11,)), ValueError),
    (lambda: plateaus.train_xor(seeds=1, steps=2).params_at(1), ValueError),
    (lambda: plateaus.hessian_eigenvalues(np.zeros(3)), ValueError),
]


@pytest.mark.parametrize("call, error", BAD_CALLS)
def test_bad_input_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()
