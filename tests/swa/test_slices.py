"""Slices along random filter-normalised directions (lib.swa.slices), at the solutions themselves."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.core.models import textbook_mlp
from lib.swa import slices


def test_slices_at_the_solutions_themselves(toy):
    nets = [textbook_mlp(s) for s in range(3)]
    curves = slices.slice_curves({"a": nets[0], "b": nets[1]}, [-0.5, 0.0, 0.5], toy, directions=2, examples=50)
    assert curves.train_loss["a"].shape == curves.test_error["b"].shape == (2, 3)
    with torch.no_grad():
        own = F.cross_entropy(nets[1](toy.x_train[:50]), toy.y_train[:50]).item()
        error = 100 * (nets[1](toy.x_test[:50]).argmax(1) != toy.y_test[:50]).double().mean().item()
    np.testing.assert_allclose(curves.train_loss["b"][:, 1], own, rtol=1e-4)   # alpha = 0: the solution
    np.testing.assert_allclose(curves.test_error["b"][:, 1], error, atol=1e-4)
    assert not np.allclose(curves.train_loss["b"][:, 0], own)
    # the summaries read the columns of alpha = 0 and alpha = +-0.5
    assert curves.centre_loss("b") == pytest.approx(own, rel=1e-4)
    assert curves.half_loss("a") == pytest.approx(curves.train_loss["a"][:, [0, 2]].mean())
    assert curves.rise("a") == pytest.approx(curves.half_loss("a") - curves.centre_loss("a"))
    assert curves.lowest == min(("a", "b"), key=curves.centre_loss)
    assert curves.labels == ("a", "b")


BAD_INPUTS = [
    (lambda d, c: slices.slice_curves({}, [0.0], d, directions=1, examples=5), TypeError, "solutions must be"),
    (lambda d, c: slices.slice_curves({"a": c.model}, [0.0], d, directions=0, examples=5), ValueError,
     "directions must be an int >= 1"),
    (lambda d, c: slices.slice_curves({"a": c.model}, [0.0], d, directions=1, examples=0), ValueError,
     "examples must be an int >= 1"),
    (lambda d, c: slices.slice_curves({"a": c.model}, [0.0], d.x_train, directions=1, examples=5), TypeError,
     "data must be lib.core.data.Splits"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(toy, checkpoint, call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(toy, checkpoint)
