"""lib.core.loop: the single-network loop against a plain torch loop and against the grid engine,
and the exact restore against copies taken here."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.loop import NOT_FINITE, check_optimizer, restored, train_steps
from lib.core.members import Member
from lib.core.models import mlp
from lib.core.order import DataOrder


@pytest.fixture(scope="module")
def toy():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(200, 6, generator=g)
    y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
    return Splits(x, y)


def net(seed=0):
    return mlp((6, 8, 3), ("tanh",), init_seed=seed)


def test_the_loop_is_a_plain_torch_loop(toy):
    rates = np.geomspace(0.01, 0.5, 40)
    model, reference = net(), net()
    steps = train_steps(model, torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9), toy.x_train, toy.y_train,
                        DataOrder(200, seed=2).stream(32), rates)
    # the same thing written out: seeded permutations, consecutive slices, SGD with momentum
    optimizer = torch.optim.SGD(reference.parameters(), lr=1.0, momentum=0.9)
    generator = torch.Generator().manual_seed(2)
    losses, step = [], 0
    while step < len(rates):
        order = torch.randperm(200, generator=generator)
        for start in range(0, 200, 32):
            if step == len(rates):
                break
            for group in optimizer.param_groups:
                group["lr"] = rates[step]
            index = order[start:start + 32]
            loss = F.cross_entropy(reference(toy.x_train[index]), toy.y_train[index])
            losses.append(loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
    assert steps.stopped_at == -1 and steps.reason == "" and steps.taken == 40
    assert np.array_equal(steps.losses, losses)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters()))


def test_the_loop_and_the_grid_engine_take_the_same_steps(toy):
    epochs, batch = 2, 32
    run = train_grid(Member(lr=0.3, init_seed=1, data_seed=4), toy, model=net, batch_size=batch, epochs=epochs,
                     progress=False)
    model = net(1)
    total = run.history.step_loss.shape[1]
    steps = train_steps(model, torch.optim.SGD(model.parameters(), lr=0.3), toy.x_train, toy.y_train,
                        DataOrder(200, seed=4).stream(batch), np.full(total, 0.3))
    assert np.allclose(steps.losses, run.history.step_loss[0], rtol=1e-5, atol=1e-6)
    trained = run.model(0)
    assert all(torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(model.parameters(), trained.parameters()))


def test_a_non_finite_loss_stops_before_its_update_and_on_step_can_stop(toy):
    model = torch.nn.Linear(6, 1)            # a linear regression at a huge rate overflows in a few steps
    targets = toy.x_train[:, :1].clone()
    steps = train_steps(model, torch.optim.SGD(model.parameters(), lr=1.0), toy.x_train, targets,
                        DataOrder(200, seed=0).stream(50), [1e-3, 1e-3] + [1e9] * 20, loss="mse")
    assert steps.diverged and steps.reason == NOT_FINITE and not np.isfinite(steps.losses[steps.stopped_at])
    assert all(torch.isfinite(p).all() for p in model.parameters())
    model = net()
    seen = []
    steps = train_steps(model, torch.optim.SGD(model.parameters(), lr=0.1), toy.x_train, toy.y_train,
                        DataOrder(200, seed=0).stream(50), np.full(10, 0.1),
                        on_step=lambda t, loss: seen.append(t) or ("enough" if t == 3 else None))
    assert steps.stopped_at == 3 and steps.reason == "enough" and seen == [0, 1, 2, 3]
    assert np.isnan(steps.losses[4:]).all() and np.isfinite(steps.losses[:4]).all()


def test_restored_puts_back_weights_grads_modes_optimizer_and_random_state(toy):
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.Dropout(0.5),
                                torch.nn.Linear(8, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    F.cross_entropy(model(toy.x_train), toy.y_train).backward()
    optimizer.step()                                     # Adam now has moments and a step count
    model[0].weight.grad = None                          # one gradient absent, the others present
    model.eval()
    model[2].train()                                     # a mixed mode, kept per submodule
    state, grads = copy.deepcopy(model.state_dict()), [None if p.grad is None else p.grad.clone()
                                                        for p in model.parameters()]
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    modes = [m.training for m in model.modules()]
    rng = torch.get_rng_state()
    with pytest.raises(RuntimeError, match="interrupted"):
        with restored(model, optimizer):
            model.train()
            train_steps(model, optimizer, toy.x_train, toy.y_train, DataOrder(200, seed=0).stream(20),
                        np.full(5, 0.5))
            torch.rand(10)
            raise RuntimeError("interrupted")
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    for p, g in zip(model.parameters(), grads):
        assert (p.grad is None and g is None) or torch.equal(p.grad, g)
    assert [m.training for m in model.modules()] == modes
    assert str(optimizer.state_dict()) == str(optimizer_state)
    assert torch.equal(torch.get_rng_state(), rng)


@pytest.mark.parametrize("call, error, message", [
    (lambda d: train_steps(net(), torch.optim.SGD(net().parameters(), lr=1), d.x_train, d.y_train,
                           iter([torch.arange(4)]), [0.1, 0.1]), ValueError, "batches ran out after 1 of the 2"),
    (lambda d: train_steps(net(), torch.optim.SGD(net().parameters(), lr=1), d.x_train, d.y_train,
                           iter([]), [0.1], loss="hinge"), ValueError, "unknown loss 'hinge'"),
    (lambda d: check_optimizer("sgd", net()), TypeError, "torch.optim.Optimizer"),
    (lambda d: check_optimizer(torch.optim.SGD(net().parameters(), lr=1), net()), ValueError,
     "does not hold any of the model's parameters"),
    (lambda d: restored("net").__enter__(), TypeError, "model must be an nn.Module"),
])
def test_bad_input(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)
