"""lib.core.params: round trips, and the layout torch.func uses for stacks."""
import pytest
import torch

from lib.core import params
from lib.core.models import mlp


def test_flatten_and_unflatten_round_trip_in_the_modules_order():
    net = mlp((3, 4, 2), ("tanh",), init_seed=1)
    weights = params.parameters(net)
    flat = params.flatten(weights)
    assert flat.dtype == torch.float64 and flat.shape == (sum(p.numel() for p in net.parameters()),)
    assert torch.equal(flat, torch.cat([p.detach().reshape(-1).double() for p in net.parameters()]))
    back = params.unflatten(flat, weights)
    assert list(back) == list(weights) and all(torch.equal(back[k], weights[k]) for k in weights)


def test_stack_matches_torch_func_stack_module_state():
    nets = [mlp((3, 4, 2), ("tanh",), init_seed=s) for s in range(3)]
    stacked = params.stack([params.parameters(n) for n in nets])
    expected, _ = torch.func.stack_module_state(nets)
    assert all(torch.equal(stacked[k], expected[k]) for k in expected)


@pytest.mark.parametrize("call, error, message", [
    (lambda: params.parameters("net"), TypeError, "nn.Module or a dict of parameter tensors"),
    (lambda: params.parameters(torch.nn.ReLU()), ValueError, "has no parameters"),
    (lambda: params.unflatten(torch.zeros(3), {"w": torch.zeros(2)}), ValueError, "vector of the 2 parameters"),
    (lambda: params.stack([]), ValueError, "at least one"),
    (lambda: params.stack([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}]), ValueError, "same parameter names"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
