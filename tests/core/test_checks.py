"""lib.checks: the shared argument checks."""
import math

import numpy as np
import pytest

from lib.core import checks


def test_accepted_values_come_back_as_plain_numbers():
    assert checks.positive(np.float32(0.5), "x") == 0.5 and type(checks.positive(2, "x")) is float
    assert checks.number_in(0.3, "p", 0.0, 1.0) == pytest.approx(0.3)
    assert checks.int_at_least(np.int64(3), "n") == 3 and type(checks.int_at_least(np.int64(3), "n")) is int
    assert checks.int_at_least(0, "seed", 0) == 0


@pytest.mark.parametrize("call, error, words", [
    (lambda: checks.positive(0.0, "lr"), ValueError, "lr must be a finite number > 0"),
    (lambda: checks.positive(math.inf, "lr"), ValueError, "finite"),
    (lambda: checks.positive(True, "lr"), TypeError, "real number"),
    (lambda: checks.positive("1", "lr"), TypeError, "real number"),
    (lambda: checks.number_in(1.0, "p", 0.0, 1.0), ValueError, "strictly between 0 and 1"),
    (lambda: checks.int_at_least(0, "steps"), ValueError, "steps must be an int >= 1"),
    (lambda: checks.int_at_least(2.0, "steps"), TypeError, "must be an int"),
    (lambda: checks.int_at_least(False, "steps"), TypeError, "must be an int"),
])
def test_bad_input_says_what_is_allowed(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_numpy_numbers_and_arrays_are_numbers_and_lists():
    assert checks.integer(np.int32(4), "epochs", minimum=1) == 4
    assert checks.positive(np.float32(0.25), "lr") == 0.25
    assert list(checks.rates(np.array([0.1, 0.3]), "rates")) == [0.1, 0.3]
    assert list(checks.rates([0.0, 2], "schedule", allow_zero=True)) == [0.0, 2.0]
    assert checks.seeds(np.arange(3)) == (0, 1, 2)
    assert checks.integers(range(2), "sizes") == (0, 1)
    assert checks.flag(np.bool_(True), "drop_last") is True
    assert checks.fraction(np.float64(0.9), "momentum") == 0.9


@pytest.mark.parametrize("call, error, words", [
    (lambda: checks.integer(5, "n", 1, 4), ValueError, "n must be an int between 1 and 4, got 5"),
    (lambda: checks.integer(np.float64(2.0), "n"), TypeError, "n must be an int, got float64"),
    (lambda: checks.fraction(1.0, "momentum"), ValueError, r"momentum must be a number in \[0, 1\), got 1.0"),
    (lambda: checks.non_negative(-1, "weight_decay"), ValueError, "weight_decay must be a finite number >= 0"),
    (lambda: checks.rates([0.1, 0.0], "rates"), ValueError, "every entry of rates must be a finite number > 0"),
    (lambda: checks.rates("0.1", "rates"), TypeError, "rates must be a list of finite numbers > 0"),
    (lambda: checks.rates(np.array([0.1, np.nan]), "rates"), ValueError, r"every entry of rates must be a finite number > 0, got nan \(entry 1\)"),
    (lambda: checks.rates(np.array([0.0, -1.0]), "rates", allow_zero=True), ValueError, r"must be a finite number >= 0, got -1.0 \(entry 1\)"),
    (lambda: checks.rates(np.ones((2, 2)), "rates"), ValueError, "1-D list"),
    (lambda: checks.rates([0.1, 0.1], "rates", distinct=True), ValueError, "rates must be distinct"),
    (lambda: checks.rates([0.2, 0.1], "rates", increasing=True), ValueError, "rates must be increasing"),
    (lambda: checks.rates([0.1], "rates", minimum_count=2), ValueError, "at least 2 value"),
    (lambda: checks.seeds([0, 0]), ValueError, "seeds must be distinct"),
    (lambda: checks.seeds([]), ValueError, "at least 1 int"),
    (lambda: checks.seeds([-1]), ValueError, "every entry of seeds must be an int >= 0"),
    (lambda: checks.choice("hinge", "loss", ["mse"]), ValueError, "unknown loss 'hinge'; allowed: mse"),
    (lambda: checks.flag(1, "drop_last"), TypeError, "drop_last must be True or False"),
    (lambda: checks.module("net"), TypeError, "model must be an nn.Module"),
    (lambda: checks.module(__import__("torch").nn.ReLU()), ValueError, "model has no parameters"),
    (lambda: checks.function(3, "on_step", "f(step, params)"), TypeError, r"on_step must be a function f\(step"),
    (lambda: checks.tensors([1], [2]), TypeError, "x must be a torch.Tensor"),
    (lambda: checks.tensors(__import__("torch").zeros(3, 2), __import__("torch").zeros(4)), ValueError,
     r"same number \(>= 1\) of examples \(rows\), got 3 and 4"),
    (lambda: checks.batch_size(0, 10), ValueError, "batch_size must be an int between 1 and 10"),
])
def test_every_kind_of_check_names_the_argument_and_what_is_allowed(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_splits_are_checked_with_the_splits_asked_for():
    import torch
    from lib.core.data import Splits

    x, y = torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)
    data = Splits(x, y, x, y)
    assert checks.splits(data, validation=True) is data
    with pytest.raises(TypeError, match="data must be lib.core.data.Splits"):
        checks.splits((x, y))
    with pytest.raises(ValueError, match="data needs a test split"):
        checks.splits(data, test=True)


def test_values_and_classification_splits():
    import torch
    from lib.core.data import Splits

    assert list(checks.values([0.5, -1], "alphas")) == [0.5, -1.0]
    assert list(checks.values(np.float32(2.0), "alphas")) == [2.0]
    with pytest.raises(ValueError, match="alphas must hold at least 1 number"):
        checks.values([], "alphas")
    with pytest.raises(ValueError, match="alphas must be finite numbers, got nan"):
        checks.values([0.0, np.nan], "alphas")
    with pytest.raises(TypeError, match="alphas must be a sequence of numbers"):
        checks.values(["a"], "alphas")
    regression = Splits(torch.zeros(3, 1), torch.zeros(3, 1))
    with pytest.raises(ValueError, match="data.y_train must hold int64 class labels"):
        checks.splits(regression, classification=True)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("where", [0, 37, -1])
def test_inputs_find_every_non_finite_value(bad, dtype, where):
    # the one-pass test (min and max) against the element-wise definition, anywhere in the tensor
    import torch

    x = torch.rand(6, 3, 4, dtype=getattr(torch, dtype))
    flat = x.view(-1)
    flat[where] = bad
    row = (where % flat.numel()) // 12
    assert not bool(torch.isfinite(x).all())
    with pytest.raises(ValueError, match=f"x holds 1 NaN or infinite value\\(s\\), the first in example {row}"):
        checks.inputs(x)
    flat[where] = 0.5
    assert checks.inputs(x) is None                     # the same tensor, now finite, passes
