"""lib.sparse_features: the rare-feature regression, SGD and torch's AdaGrad."""
import math

import numpy as np
import pytest
import torch

from lib.step_size import sparse_features as sf


def test_data_follow_the_stated_model():
    data = sf.rare_feature_data(n=5000, rare_prob=0.02, seed=3)
    common, rare = data.inputs[:, 0], data.inputs[:, 1]
    assert set(rare.unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(data.targets, common + rare)
    # the Hessian of ½·mean((x·w - y)²) is mean(x xᵀ)
    np.testing.assert_allclose(data.hessian(), (data.inputs.T @ data.inputs / 5000).numpy())
    # E[x_c²] = 1 and E[x_r²] = p, within sampling error
    assert data.hessian()[0, 0] == pytest.approx(1.0, abs=0.06)
    assert data.hessian()[1, 1] == pytest.approx(0.02, abs=0.006)


def test_one_sgd_step_is_minus_lr_times_the_batch_gradient():
    data = sf.rare_feature_data(n=50, rare_prob=0.3, seed=0)
    history = sf.train_linear(data, "sgd", lr=0.3, steps=1, batch_size=50, seed=7)
    index = torch.randint(0, 50, (50,), generator=torch.Generator().manual_seed(7))
    X, y = data.inputs[index], data.targets[index]
    grad = -(X.T @ y) / 50  # gradient of ½·mean((Xw - y)²) at w = 0
    np.testing.assert_allclose(history.weights[1], (-0.3 * grad).numpy(), rtol=1e-12)


def test_first_adagrad_step_has_length_lr_in_every_coordinate():
    # AdaGrad's first step is -lr·g/(|g| + eps): each coordinate with a non-zero gradient moves by lr
    data = sf.rare_feature_data(n=50, rare_prob=0.3, seed=0)
    history = sf.train_linear(data, "adagrad", lr=0.25, steps=1, batch_size=50, seed=7)
    np.testing.assert_allclose(np.abs(history.weights[1]), [0.25, 0.25], rtol=1e-6)


def test_sgd_leaves_the_rare_weight_behind_and_adagrad_does_not():
    data = sf.rare_feature_data(n=2000, rare_prob=0.005, seed=0)
    sgd = sf.train_linear(data, "sgd", lr=1.0, steps=400)
    ada = sf.train_linear(data, "adagrad", lr=0.5, steps=400)
    assert sgd.errors()[-1, 0] < 1e-3 < 0.02 < sgd.errors()[-1, 1]
    assert ada.errors()[-1].max() < 1e-3


def test_sgd_beyond_the_stability_bound_blows_up():
    data = sf.rare_feature_data(n=2000, rare_prob=0.005, seed=0)
    bound = 2 / np.linalg.eigvalsh(data.hessian())[-1]
    history = sf.train_linear(data, "sgd", lr=1.25 * bound, steps=400)
    assert not np.isfinite(history.errors()[-1]).all() or history.errors()[-1].max() > 1e3


BAD_CALLS = [
    (lambda: sf.rare_feature_data(n=1), ValueError),
    (lambda: sf.rare_feature_data(n=10.0), TypeError),
    (lambda: sf.rare_feature_data(rare_prob=0.0), ValueError),
    (lambda: sf.rare_feature_data(rare_prob=1.5), ValueError),
    (lambda: sf.rare_feature_data(n=3, rare_prob=1e-9), ValueError),
    (lambda: sf.rare_feature_data(seed=-1), ValueError),
    (lambda: sf.train_linear("data", "sgd", 0.1, 10), TypeError),
    (lambda: sf.train_linear(sf.rare_feature_data(), "adam", 0.1, 10), ValueError),
    (lambda: sf.train_linear(sf.rare_feature_data(), "sgd", 0.0, 10), ValueError),
    (lambda: sf.train_linear(sf.rare_feature_data(), "sgd", math.inf, 10), ValueError),
    (lambda: sf.train_linear(sf.rare_feature_data(), "sgd", 0.1, 0), ValueError),
    (lambda: sf.train_linear(sf.rare_feature_data(), "sgd", 0.1, 10, batch_size=0), ValueError),
]


@pytest.mark.parametrize("call, error", BAD_CALLS)
def test_bad_input_raises_a_specific_error(call, error):
    with pytest.raises(error):
        call()
