"""The grid trainer against an independent reference: PyTorch's own loop.

The reference is what a tutorial would write: one ``nn.Module``,
``DataLoader`` over a seeded permutation per epoch, ``torch.optim.SGD`` and a
``torch.optim.lr_scheduler`` stepped after every update.  Each grid member must
reproduce it to float tolerance.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim.lr_scheduler import ExponentialLR, MultiStepLR, StepLR
from torch.utils.data import DataLoader, TensorDataset

from lib.core.data import Splits
from lib.core.models import build_model, mlp, small_cnn
from lib.core.engine import GridRun, train_grid
from lib.core.evaluate import evaluate
from lib.core.members import Member, grid, learning_rates
from lib.core.stacked import FusedSGD, is_plain_mlp

N, D = 300, 784


@pytest.fixture(scope="module")
def toy():
    g = torch.Generator().manual_seed(123)
    x = torch.rand(N + 60, D, generator=g)
    y = torch.randint(0, 10, (N + 60,), generator=g)
    return Splits(x[:N], y[:N], x[N:], y[N:])


def reference_run(member: Member, data: Splits, model="textbook", batch_size=32, epochs=2,
                  loss_fn=nn.functional.cross_entropy):
    """Train one member the idiomatic PyTorch way; return per-step losses, rates and weights."""
    net = build_model(model, member.init_seed)
    opt = torch.optim.SGD(net.parameters(), lr=member.lr, momentum=member.momentum,
                          weight_decay=member.weight_decay)
    scheduler = member.schedule(opt) if member.schedule is not None else None
    dataset = TensorDataset(data.x_train, data.y_train)
    order = torch.Generator().manual_seed(member.data_seed)
    losses, rates = [], []
    for _ in range(epochs):
        # The documented data order: one torch.randperm per epoch from the seeded generator.
        # (RandomSampler would draw a second, unused permutation per epoch.)
        epoch_order = torch.randperm(len(dataset), generator=order).tolist()
        for xb, yb in DataLoader(dataset, batch_size=batch_size, sampler=epoch_order):
            rates.append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if scheduler is not None:
                scheduler.step()
    return np.array(losses), np.array(rates), net


def assert_member_matches(run: GridRun, k: int, reference, atol=2e-5):
    losses, rates, net = reference
    assert np.allclose(run.history.step_loss[k], losses, rtol=1e-4, atol=atol)
    assert np.allclose(run.history.step_lr[k], rates, rtol=1e-6)
    for (name, p), q in zip(run.model(k).named_parameters(), net.parameters()):
        assert torch.allclose(p, q, rtol=1e-4, atol=atol), name


MEMBERS = [
    Member(lr=0.5),
    Member(lr=0.1, momentum=0.9, weight_decay=1e-3, init_seed=1),
    Member(lr=0.3, weight_decay=1e-2, init_seed=2),
    Member(lr=0.8, schedule=functools.partial(StepLR, step_size=7, gamma=0.5), init_seed=3),
    Member(lr=0.2, momentum=0.5, schedule=functools.partial(MultiStepLR, milestones=[4, 11], gamma=0.1)),
]


@pytest.mark.parametrize("shared_order", [True, False])
def test_every_grid_member_matches_pytorchs_own_training_loop(toy, shared_order):
    members = MEMBERS if shared_order else [
        Member(**{**m.__dict__, "data_seed": k}) for k, m in enumerate(MEMBERS)]
    run = train_grid(members, toy, batch_size=32, epochs=2, progress=False)
    for k, member in enumerate(members):
        assert_member_matches(run, k, reference_run(member, toy))


def test_relu_and_mse_networks_match_the_reference():
    g = torch.Generator().manual_seed(7)
    x, w = torch.randn(200, 5, generator=g), torch.randn(5, 3, generator=g)
    data = Splits(x, torch.tanh(x @ w), x[:20], torch.tanh(x[:20] @ w))
    net = lambda seed: mlp((5, 8, 6, 3), ("relu", "sigmoid"), init_seed=seed)
    members = [Member(lr=0.2), Member(lr=0.05, momentum=0.9, weight_decay=1e-3, init_seed=1, data_seed=3)]
    run = train_grid(members, data, model=net, loss="mse", batch_size=16, epochs=2, progress=False)
    for k, member in enumerate(members):
        assert_member_matches(run, k, reference_run(member, data, model=net, batch_size=16,
                                                    loss_fn=nn.functional.mse_loss), atol=1e-5)


@pytest.mark.parametrize("layers", ["linear-sigmoid-tanh-linear", "linear-linear"])
def test_plain_stacks_outside_the_fused_step_match_the_reference(toy, layers):
    # Two activations in a row, or none between two Linear layers: plain perceptrons that the
    # fused step (Linear, activation, Linear, ...) does not take; the hand-derived path does.
    def net(seed):
        torch.manual_seed(seed)
        if layers == "linear-linear":
            return nn.Sequential(nn.Linear(D, 12), nn.Linear(12, 10))
        return nn.Sequential(nn.Linear(D, 12), nn.Sigmoid(), nn.Tanh(), nn.Linear(12, 10))

    assert is_plain_mlp(net(0)) and not FusedSGD.supports(net(0))
    members = [Member(lr=0.05), Member(lr=0.02, momentum=0.9, weight_decay=1e-3, init_seed=1, data_seed=2)]
    run = train_grid(members, toy, model=net, batch_size=32, epochs=1, progress=False)
    for k, member in enumerate(members):
        assert_member_matches(run, k, reference_run(member, toy, model=net, epochs=1))


@pytest.mark.parametrize("layers, batch_size", [((D, 10), 7), ((D, 64, 16, 10), 1)])
def test_the_fused_step_at_its_edges_matches_the_reference(toy, layers, batch_size):
    # one Linear layer (softmax regression: no backward pass below the output), and batches of
    # one example (the loss's mean and the bias sums over a single column); 40 examples, so the
    # last batch of 7 has 5
    data = Splits(toy.x_train[:40], toy.y_train[:40], toy.x_val, toy.y_val)
    activations = ("sigmoid", "tanh")[:len(layers) - 2]
    net = lambda seed: mlp(layers, activations, init_seed=seed)
    assert FusedSGD.supports(net(0))
    members = [Member(lr=0.3), Member(lr=0.05, init_seed=1, data_seed=2)]
    run = train_grid(members, data, model=net, batch_size=batch_size, epochs=2, progress=False)
    for k, member in enumerate(members):
        assert_member_matches(run, k, reference_run(member, data, model=net, batch_size=batch_size))


def test_the_textbook_network_takes_the_fused_step():
    assert FusedSGD.supports(build_model("textbook", 0))
    assert FusedSGD.supports(mlp((5, 3), ()))                  # one Linear layer
    assert not FusedSGD.supports(small_cnn(channels=2, batch_norm=False))


def test_a_tanh_network_with_momentum_and_decay_and_a_diverging_member(toy):
    # the fused step with every option at once: per-member data orders, momentum, weight decay,
    # a member frozen mid-run; the survivors still match torch.optim.SGD
    net = lambda seed: mlp((D, 16, 10), ("tanh",), init_seed=seed)
    members = [Member(lr=0.2, momentum=0.9, weight_decay=1e-2, data_seed=1),
               Member(lr=1e6, momentum=0.9, init_seed=1),
               Member(lr=0.05, momentum=0.5, weight_decay=1e-3, init_seed=2, data_seed=3)]
    run = train_grid(members, toy, model=net, batch_size=25, epochs=2, progress=False, divergence_factor=100.0)
    assert run.history.diverged.tolist() == [False, True, False]
    for k in (0, 2):
        assert_member_matches(run, k, reference_run(members[k], toy, model=net, batch_size=25))


def test_a_member_alone_equals_the_same_member_in_a_grid(toy):
    together = train_grid(MEMBERS, toy, batch_size=16, epochs=1, progress=False)
    for k, member in enumerate(MEMBERS):
        alone = train_grid([member], toy, batch_size=16, epochs=1, progress=False)
        assert np.allclose(alone.history.step_loss[0], together.history.step_loss[k], rtol=1e-5, atol=1e-6)
        assert np.allclose(alone.history.val_acc[0], together.history.val_acc[k])


def test_generic_modules_train_through_vmap_and_match_the_reference(toy):
    members = [Member(lr=0.05), Member(lr=0.02, momentum=0.9, init_seed=4, data_seed=1)]
    cnn = functools.partial(small_cnn, channels=2, batch_norm=False)
    run = train_grid(members, toy, model=cnn, batch_size=50, epochs=1, progress=False)
    for k, member in enumerate(members):
        assert_member_matches(run, k, reference_run(member, toy, model=cnn, batch_size=50, epochs=1),
                              atol=1e-4)


def test_batch_norm_statistics_are_tracked_per_member(toy):
    cnn = functools.partial(small_cnn, channels=2, batch_norm=True)
    member = Member(lr=0.05)
    run = train_grid([member, Member(lr=0.01)], toy, model=cnn, batch_size=100, epochs=1, progress=False)
    _, _, net = reference_run(member, toy, model=cnn, batch_size=100, epochs=1)
    trained = run.model(0)
    for name, buffer in net.named_buffers():
        assert torch.allclose(dict(trained.named_buffers())[name].float(), buffer.float(), atol=1e-4), name


def test_applied_rates_follow_the_schedule_formula(toy):
    # StepLR: lr_t = lr0 * gamma ** floor(t / step_size), the textbook's equation (4).
    member = Member(lr=0.1, schedule=functools.partial(StepLR, step_size=3, gamma=0.9))
    run = train_grid([member, Member(lr=0.1, schedule=lambda t: 0.1 / (1 + t))], toy,
                     batch_size=64, epochs=3, progress=False)
    t = np.arange(run.history.step_lr.shape[1])
    assert np.allclose(run.history.step_lr[0], 0.1 * 0.9 ** (t // 3))
    assert np.allclose(run.history.step_lr[1], 0.1 / (1 + t))


def test_a_scheduler_stepped_while_plotting_cannot_be_trained_with(toy):
    """d2l's bug: the plotted scheduler object was then used for training."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    scheduler = MultiStepLR(optimizer, milestones=[2, 5], gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        for _ in range(10):          # "plot" it, as d2l did
            scheduler.step()
    with pytest.raises(ValueError, match="already been stepped 10 time"):
        train_grid([Member(lr=None, schedule=scheduler)], toy, batch_size=64, progress=False)


def test_a_fresh_scheduler_object_is_used_once_and_recorded(toy):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.4)
    scheduler = ExponentialLR(optimizer, gamma=0.8)
    member = Member(lr=None, schedule=scheduler)
    run = train_grid([member], toy, batch_size=64, epochs=1, progress=False)
    assert np.allclose(run.history.step_lr[0], 0.4 * 0.8 ** np.arange(5))
    with pytest.raises(ValueError, match="already been stepped"):
        train_grid([member], toy, batch_size=64, progress=False)


@pytest.mark.parametrize("caller_grad", [True, False])
@pytest.mark.parametrize("model", ["textbook", "cnn"])
def test_on_step_runs_in_the_callers_grad_mode(toy, caller_grad, model):
    # the fused step trains without autograd; a callback may still take gradients of its own
    # (as the noise-scale tracker does), exactly when the caller could
    data = toy if model == "textbook" else Splits(toy.x_train[:64], toy.y_train[:64], toy.x_val, toy.y_val)
    net = "textbook" if model == "textbook" else (lambda seed: small_cnn(seed, channels=2, batch_norm=False))
    modes, gradients = [], []

    def callback(step, params):
        modes.append(torch.is_grad_enabled())
        if torch.is_grad_enabled():
            w = next(iter(params.values()))[0].clone().requires_grad_(True)
            gradients.append(torch.autograd.grad((w ** 2).sum(), w)[0])

    with torch.set_grad_enabled(caller_grad):
        train_grid([Member(lr=0.1)], data, model=net, batch_size=32, epochs=1, progress=False, on_step=callback)
    assert modes and all(m == caller_grad for m in modes)
    assert len(gradients) == (len(modes) if caller_grad else 0)


@pytest.mark.parametrize("factor", [None, 100.0])
def test_a_diverging_member_is_frozen_and_does_not_disturb_the_others(toy, factor):
    # factor None: only a non-finite loss counts (the engine's rule before the relative default);
    # 100: the member is caught earlier, at a finite loss a hundred times its starting loss
    members = [Member(lr=0.5), Member(lr=1e37, momentum=0.9), Member(lr=0.1, init_seed=1)]
    snapshots = []
    run = train_grid(members, toy, batch_size=32, epochs=2, progress=False, divergence_factor=factor,
                     on_step=lambda step, params: snapshots.append(params["2.weight"][1].clone()))
    h = run.history
    d = int(h.diverged_at[1])
    assert h.diverged.tolist() == [False, True, False]
    if factor is None:
        assert not np.isfinite(h.step_loss[1, d])
    else:
        start = h.train_loss[1, 0]                      # the training loss before the first update
        assert h.step_loss[1, d] > factor * start and np.all(h.step_loss[1, :d] <= factor * start)
    assert np.isnan(h.step_lr[1, d:]).all() and np.isfinite(h.step_lr[1, :d]).all()
    assert all(torch.equal(s, snapshots[d]) for s in snapshots[d:])    # frozen
    assert np.isnan(h.val_loss[1, -1])
    for k in (0, 2):
        alone = train_grid([members[k]], toy, batch_size=32, epochs=2, progress=False)
        assert np.allclose(alone.history.step_loss[0], h.step_loss[k], rtol=1e-5, atol=1e-6)


def test_divergence_threshold_marks_a_finite_blow_up(toy):
    run = train_grid([Member(lr=0.1), Member(lr=50.0)], toy, batch_size=32, epochs=1,
                     divergence_loss=10.0, progress=False)
    assert run.history.diverged.tolist() == [False, True]


def test_same_seeds_give_identical_histories(toy):
    a = train_grid(MEMBERS[:2], toy, batch_size=32, epochs=1, progress=False).history
    b = train_grid(MEMBERS[:2], toy, batch_size=32, epochs=1, progress=False).history
    assert np.array_equal(a.step_loss, b.step_loss) and np.array_equal(a.val_acc, b.val_acc)
    c = train_grid([Member(lr=0.5, data_seed=9)], toy, batch_size=32, epochs=1, progress=False).history
    assert not np.array_equal(a.step_loss[0], c.step_loss[0])


def test_history_evaluations_are_every_half_epoch_and_agree_with_evaluate(toy):
    run = train_grid([Member(lr=0.3)], toy, batch_size=32, epochs=2, progress=False)
    h = run.history
    steps_per_epoch = math.ceil(N / 32)
    assert h.eval_epoch.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert h.eval_step.tolist() == [0, 5, 10, 15, 20]
    assert h.step_loss.shape == (1, 2 * steps_per_epoch)
    loss, acc = evaluate(run.model(0), toy.x_val, toy.y_val, chunk=7)
    assert math.isclose(loss, h.val_loss[0, -1], rel_tol=1e-5)
    assert math.isclose(acc, h.val_acc[0, -1])
    untrained = build_model("textbook", 0)
    assert math.isclose(evaluate(untrained, toy.x_val, toy.y_val)[0], h.val_loss[0, 0], rel_tol=1e-5)


def test_a_batch_size_per_epoch(toy):
    run = train_grid([Member(lr=0.1)], toy, batch_size=[100, 300], epochs=2, progress=False)
    assert run.history.step_loss.shape[1] == 3 + 1
    assert run.history.batch_sizes == [100, 300]


def test_mse_regression_on_a_toy_problem():
    x = torch.linspace(-1, 1, 64).unsqueeze(1)
    y = torch.sin(3 * x)
    # a seeded factory: an unseeded one drew its weights from the global generator, so the
    # test's outcome depended on which tests had run before it
    make = lambda seed: mlp((1, 4, 1), ("sigmoid",), init_seed=seed)
    run = train_grid(grid(lr=[0.1, 0.5]), Splits(x, y, x, y), model=make, loss="mse",
                     batch_size=1, epochs=5, progress=False)
    h = run.history
    assert np.isnan(h.val_acc).all()
    assert (h.val_loss[:, -1] < h.val_loss[:, 0]).all()
    with torch.no_grad():
        manual = float(((run.model(1)(x) - y) ** 2).mean())
    assert math.isclose(manual, h.val_loss[1, -1], rel_tol=1e-5)


def test_grid_builds_the_cartesian_product():
    members = grid(lr=[0.1, 0.2], init_seed=[0, 1, 2])
    assert len(members) == 6
    assert {(m.lr, m.init_seed) for m in members} == {(a, b) for a in (0.1, 0.2) for b in (0, 1, 2)}


def test_learning_rates_of_a_constant_member():
    assert np.array_equal(learning_rates(Member(lr=0.25), 4), np.full(4, 0.25))


BAD_INPUTS = [
    (lambda d: Member(lr=0), ValueError, "lr must be a finite number > 0"),
    (lambda d: Member(lr=-0.1), ValueError, "lr must be a finite number > 0"),
    (lambda d: Member(lr=float("nan")), ValueError, "lr must be a finite number > 0"),
    (lambda d: Member(lr=float("inf")), ValueError, "lr must be a finite number > 0"),
    (lambda d: Member(lr="0.1"), TypeError, "lr must be a real number"),
    (lambda d: Member(momentum=1.0), ValueError, r"momentum must be a number in \[0, 1\)"),
    (lambda d: Member(weight_decay=-1), ValueError, "weight_decay must be a finite number >= 0"),
    (lambda d: Member(init_seed=-1), ValueError, "init_seed must be an int >= 0"),
    (lambda d: Member(lr=None), ValueError, "lr=None is only allowed"),
    (lambda d: grid(), ValueError, "at least one axis"),
    (lambda d: grid(lr=[]), ValueError, "non-empty list"),
    (lambda d: grid(speed=[1]), ValueError, "unknown grid axis"),
    (lambda d: train_grid([], d), ValueError, "non-empty list of Member"),
    (lambda d: train_grid([0.1], d), TypeError, "lib.core.members.Member"),
    (lambda d: train_grid(Member(), (d.x_train, d.y_train)), TypeError, "lib.core.data.Splits"),
    (lambda d: train_grid(Member(), d, batch_size=0), ValueError, "batch size must be between 1 and the 300"),
    (lambda d: train_grid(Member(), d, batch_size=301), ValueError, "batch size must be between 1 and the 300"),
    (lambda d: train_grid(Member(), d, batch_size=[32], epochs=2), ValueError, "needs 2 entries"),
    (lambda d: train_grid(Member(), d, batch_size=32.0), TypeError, "batch sizes must be ints"),
    (lambda d: train_grid(Member(), d, epochs=0), ValueError, "epochs must be an int >= 1"),
    (lambda d: train_grid(Member(), d, eval_every=0), ValueError, "eval_every"),
    (lambda d: train_grid(Member(), d, loss="hinge"), ValueError, "unknown loss 'hinge'"),
    (lambda d: train_grid(Member(), d, model="resnet"), ValueError, "unknown model 'resnet'"),
    (lambda d: train_grid(Member(), d, model=lambda s: 3), TypeError, "not an nn.Module"),
    (lambda d: train_grid(Member(), d, model=lambda s: nn.ReLU()), ValueError, "no parameters"),
    (lambda d: train_grid(Member(schedule=lambda t: -1.0), d), ValueError, "rates must be finite and >= 0"),
    (lambda d: train_grid(Member(schedule=functools.partial(StepLR, gamma=0.5)), d), TypeError,
     "could not build the scheduler"),
    (lambda d: train_grid(Member(schedule=42), d), TypeError, "schedule must be None"),
    (lambda d: train_grid(Member(), d, train_eval_size=0), ValueError, "train_eval_size"),
    (lambda d: train_grid(Member(), d, divergence_loss=-1), ValueError, "divergence_loss"),
    (lambda d: learning_rates(Member(), 0), ValueError, "steps must be an int >= 1"),
    (lambda d: evaluate("net", d.x_val, d.y_val), TypeError, "must be an nn.Module"),
    (lambda d: evaluate(build_model("textbook"), d.x_val, d.y_val, chunk=0), ValueError, "chunk must be"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS)
def test_bad_input_gets_a_clear_error(toy, call, error, message):
    with pytest.raises(error, match=message):
        call(toy)


# --------------------------------------------------------------------------- reader paths found by a tester
# (each failed, or gave a silently wrong answer, before the fix beside it)

@pytest.mark.parametrize("make, lr", [
    (lambda: functools.partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.5, total_steps=20), 0.1),
    (lambda: torch.optim.lr_scheduler.CyclicLR(               # an object: its optimiser sets the rate
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9), base_lr=0.01, max_lr=0.1),
     None)])
def test_a_scheduler_that_cycles_the_momentum_is_refused(make, lr):
    # torch.optim.SGD would change the momentum every step; a Member's is fixed
    with pytest.raises(ValueError, match="cycle_momentum=False"):
        learning_rates(Member(lr=lr, momentum=0.9, schedule=make()), 20)
    quiet = functools.partial(torch.optim.lr_scheduler.OneCycleLR, max_lr=0.5, total_steps=20, cycle_momentum=False)
    assert learning_rates(Member(lr=0.1, schedule=quiet), 20).shape == (20,)


def test_mse_with_one_target_per_example_matches_the_reference():
    # targets (n,) for a one-output network: each batch's loss and the recorded training loss
    g = torch.Generator().manual_seed(3)
    x = torch.randn(120, 5, generator=g)
    y = torch.tanh(x @ torch.randn(5, generator=g))
    data = Splits(x, y, x[:30], y[:30])
    net = lambda seed: mlp((5, 8, 1), ("tanh",), init_seed=seed)
    members = [Member(lr=0.1), Member(lr=0.05, init_seed=1, data_seed=2)]
    run = train_grid(members, data, model=net, loss="mse", batch_size=16, epochs=2, progress=False)
    one_column = lambda out, target: nn.functional.mse_loss(out.squeeze(1), target)
    for k, member in enumerate(members):
        reference = reference_run(member, data, model=net, batch_size=16, loss_fn=one_column)
        assert_member_matches(run, k, reference, atol=1e-5)
        with torch.no_grad():
            assert run.history.train_loss[k, -1] == pytest.approx(float(one_column(reference[2](x), y)), rel=1e-5)
            assert run.history.val_loss[k, -1] == pytest.approx(float(one_column(reference[2](x[:30]), y[:30])),
                                                                rel=1e-5)


def test_a_perceptron_without_biases_trains_like_the_reference(toy):
    def net(seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(D, 12, bias=False), nn.Sigmoid(), nn.Linear(12, 10, bias=False))

    assert not is_plain_mlp(net(0))                       # no bias to update: the general path
    members = [Member(lr=0.2), Member(lr=0.05, momentum=0.9, init_seed=1)]
    run = train_grid(members, toy, model=net, batch_size=32, epochs=1, progress=False)
    for k, member in enumerate(members):
        assert_member_matches(run, k, reference_run(member, toy, model=net, epochs=1))


def test_inputs_that_need_care_get_a_clear_answer(toy):
    def frozen(seed):
        model = build_model("textbook", seed)
        model[0].weight.requires_grad_(False)
        return model

    with pytest.raises(ValueError, match=r"frozen parameters \(requires_grad=False\): 0.weight"):
        train_grid([Member(lr=0.1)], toy, model=frozen, progress=False)
    images = Splits(toy.x_train.view(-1, 28, 28), toy.y_train)
    cnn = lambda seed: small_cnn(seed, channels=2, batch_norm=False)
    with pytest.raises(ValueError, match=r"one row of features per example, \(n, features\)"):
        train_grid([Member(lr=0.1)], images, model=cnn, progress=False)
    with torch.inference_mode(), pytest.raises(RuntimeError, match="outside inference_mode"):
        train_grid([Member(lr=0.1)], toy, model=cnn, progress=False)


def test_training_data_that_require_grad_and_bfloat16_networks_train(toy):
    small = Splits(toy.x_train[:64].clone().requires_grad_(True), toy.y_train[:64])
    cnn = lambda seed: small_cnn(seed, channels=2, batch_norm=False)
    run = train_grid([Member(lr=0.1)], small, model=cnn, batch_size=32, progress=False)
    assert np.isfinite(run.history.step_loss).all()
    half = Splits(toy.x_train[:64].bfloat16(), toy.y_train[:64])
    run = train_grid([Member(lr=0.1)], half, model=lambda s: build_model("textbook", s).bfloat16(),
                     batch_size=32, progress=False)
    assert run.history.step_loss.dtype == np.float32 and np.isfinite(run.history.step_loss).all()


def test_evaluate_takes_a_model_of_images():
    # a shared batch of images (n, 1, 28, 28) was mistaken for one batch per member
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 26 * 26, 10))
    x, y = torch.rand(20, 1, 28, 28), torch.randint(0, 10, (20,))
    loss, accuracy = evaluate(model, x, y)
    with torch.no_grad():
        out = model(x)
    assert loss == pytest.approx(float(nn.functional.cross_entropy(out, y)), rel=1e-5)
    assert accuracy == pytest.approx(float((out.argmax(1) == y).float().mean()))
    with pytest.raises(ValueError, match=r"\(n, features\)"):
        evaluate(build_model("textbook", 0), torch.rand(4, 2, 784), torch.randint(0, 10, (4,)))
