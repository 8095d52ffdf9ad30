"""Any batches and any loss (lib.core.batches): batch forms, re-iteration, devices, and the bad-input table."""
from __future__ import annotations

import collections

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from lib.core import batches as B


class TwoInputs(nn.Module):
    """out = W1 a + W2 b: a model that takes two inputs."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 2), nn.Linear(4, 2)

    def forward(self, a, b):
        return self.a(a) + self.b(b)


class Dicts(Dataset):
    def __init__(self, n=10):
        g = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(n, 3, generator=g), torch.randint(0, 2, (n,), generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"image": self.x[i], "label": self.y[i]}


def test_tuple_multi_input_and_dict_batches_give_the_plain_loss():
    torch.manual_seed(0)
    a, b, y = torch.randn(5, 3), torch.randn(5, 4), torch.randint(0, 2, (5,))
    two = TwoInputs()
    expected = F.cross_entropy(two.a(a) + two.b(b), y)
    assert torch.equal(B.objective(F.cross_entropy)(two, (a, b, y)), expected)
    assert torch.equal(B.objective(F.cross_entropy, inputs=["first", "second"], target="t")(
        two, {"first": a, "second": b, "t": y}), expected)
    own = B.objective(step=lambda m, batch: F.cross_entropy(m(batch["a"], batch["b"]), batch["y"]))
    assert torch.equal(own(two, {"a": a, "b": b, "y": y}), expected)


def test_batches_move_to_the_device_count_examples_and_start_again():
    Point = collections.namedtuple("Point", "x y")
    batch = {"x": [torch.zeros(4, 2), (torch.ones(4),)], "p": Point(torch.ones(4, 1), 3)}
    moved = B.to_device(batch, torch.device("cpu"))
    assert isinstance(moved["p"], Point) and moved["p"].y == 3 and B.examples_in(batch) == 4
    source = [(torch.full((2, 1), float(i)), torch.zeros(2)) for i in range(3)]
    stream = B.Batches(source, torch.device("cpu"))
    firsts = [float(stream.next()[0][0, 0]) for _ in range(7)]
    assert firsts == [0, 1, 2, 0, 1, 2, 0] and stream.passes == 3 and stream.taken == 7


def test_a_shuffling_loader_draws_a_new_order_each_pass():
    loader = DataLoader(TensorDataset(torch.arange(8.0)), batch_size=8, shuffle=True)
    stream = B.Batches(loader, torch.device("cpu"))
    torch.manual_seed(0)
    first, second = stream.next()[0], stream.next()[0]
    assert sorted(first.tolist()) == sorted(second.tolist()) and not torch.equal(first, second)


def test_a_one_shot_iterator_that_runs_out_says_so():
    stream = B.Batches((b for b in [(torch.zeros(1), torch.zeros(1))] * 2), torch.device("cpu"))
    stream.next(), stream.next()
    with pytest.raises(ValueError, match="ran out after 2 batches"):
        stream.next()


def test_functional_calls_the_model_with_other_weights():
    net = nn.Linear(3, 1)
    zero = {name: torch.zeros_like(p) for name, p in net.named_parameters()}
    assert torch.equal(B.functional(net, zero, {})(torch.ones(2, 3)), torch.zeros(2, 1))
    assert torch.equal(B.one_example({"x": torch.ones(3)})["x"], torch.ones(1, 3))


FROZEN = nn.Linear(2, 2).requires_grad_(False)
NET = nn.Linear(3, 2)


def _first(model, fn, batch):
    return B.checked_loss(fn, model, batch)


@pytest.mark.parametrize("call, error, message", [
    (lambda: B.check_source([]), ValueError, "batches is empty"),
    (lambda: B.check_source(DataLoader(TensorDataset(torch.zeros(0, 3)), batch_size=4)), ValueError, "is empty"),
    (lambda: B.check_source(torch.zeros(4, 3)), TypeError, "iterable of batches"),
    (lambda: B.check_source({"x": 1}), TypeError, "iterable of batches"),
    (lambda: B.check_source([(torch.zeros(1), torch.zeros(1))], needed=2), ValueError, "fewer than the 2"),
    (lambda: B.Batches([], torch.device("cpu")).next(), ValueError, "yielded no batch"),
    (lambda: B.trainable(FROZEN), ValueError, "no parameters that require gradients"),
    (lambda: B.trainable(nn.ReLU()), ValueError, "no parameters that require gradients"),
    (lambda: B.trainable("net"), TypeError, "must be an nn.Module"),
    (lambda: B.objective(), TypeError, "exactly one of"),
    (lambda: B.objective(F.cross_entropy, step=lambda m, b: 0), TypeError, "exactly one of"),
    (lambda: B.objective("cross_entropy"), TypeError, "loss must be a function"),
    (lambda: B.objective(step=3), TypeError, "objective must be a function"),
    (lambda: B.objective(F.cross_entropy, inputs=[1]), TypeError, "inputs must be a key"),
    (lambda: _first(NET, B.objective(F.cross_entropy), (torch.zeros(4, 5), torch.zeros(4).long())),
     ValueError, r"cannot take the batch it received, tuple \(Tensor\(4, 5\) float32, Tensor\(4,\) int64\)"),
    (lambda: _first(NET, B.objective(F.cross_entropy), {"image": torch.zeros(4, 3), "label": torch.zeros(4).long()}),
     ValueError, r"needs inputs= and target= naming its keys, got keys \['image', 'label'\]"),
    (lambda: _first(NET, B.objective(F.cross_entropy, inputs="img", target="label"),
                    {"image": torch.zeros(4, 3), "label": torch.zeros(4).long()}), ValueError, "KeyError: 'img'"),
    (lambda: _first(NET, B.objective(F.cross_entropy), torch.zeros(4, 3)), ValueError, r"must be \(inputs, target\)"),
    (lambda: _first(NET, B.objective(step=lambda m, b: m(b[0])), (torch.zeros(4, 3), None)),
     ValueError, r"scalar floating-point tensor, got Tensor\(4, 2\)"),
    (lambda: B.examples_in((1, 2)), ValueError, "first dimension"),
])
def test_bad_input_table(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_dict_loader_passes_through_default_collation():
    loader = DataLoader(Dicts(), batch_size=4)
    batch = next(iter(loader))
    assert set(batch) == {"image", "label"} and B.examples_in(batch) == 4
    value = B.checked_loss(B.objective(F.cross_entropy, inputs="image", target="label"), NET, batch)
    assert value.shape == ()
