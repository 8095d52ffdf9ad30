"""The range test and the parallel test on any model, loader, loss and optimiser, against peers and plain loops.

Truth: torch-lr-finder (PyPI) on the same model, DataLoader (dictionary batches), settings and
batches; a plain torch loop that sets the rates itself; the grid engine's parallel test.  And
one test per bug that the peer finders' users reported: the model not restored, dictionary or
multi-input batches, gradient accumulation counting micro-batches, mixed precision, a
suggestion on a spike or on NaN, running out of data in the middle of a sweep.
"""
from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import torch_lr_finder  # the peer: a test-only dependency (requirements.txt)

from lib.core.order import DataOrder
from lib.lr_finder import parallel as par
from lib.lr_finder import rules
from lib.lr_finder import sweep as sw
from lib.lr_finder.sweep import range_test
from tests.fakes import DictDataset
from tests.lr_finder.toys import small_net


class Digits(DictDataset):
    """A learnable 4-class problem served as dictionaries {"image": (20,), "label": ()}."""

    def __init__(self, n=256, seed=7):
        super().__init__(n, features=20, classes=4, seed=seed)


class DictIter(torch_lr_finder.TrainDataLoaderIter):
    """torch-lr-finder's documented way to take other batches: override inputs_labels_from_batch."""

    def inputs_labels_from_batch(self, batch):
        return batch["image"], batch["label"]


class DictValIter(torch_lr_finder.ValDataLoaderIter):
    def inputs_labels_from_batch(self, batch):
        return batch["image"], batch["label"]


def loader(seed=0, n=256, batch=32, shuffle=True):
    return DataLoader(Digits(n), batch_size=batch, shuffle=shuffle, generator=torch.Generator().manual_seed(seed))


def state(model):
    return copy.deepcopy(model.state_dict())


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def obj(model, batch):
    return F.cross_entropy(model(batch["image"]), batch["label"])


# --------------------------------------------------------------------------- the peer: torch-lr-finder

@pytest.mark.parametrize("optimizer, accumulate, steps", [("sgd", 1, 30), ("sgd", 3, 20), ("adam", 1, 40)])
def test_torch_lr_finder_gives_the_same_curve_on_a_dict_loader(optimizer, accumulate, steps):
    """Same network, same DataLoader of dict batches (8 per pass, so both start it again mid-sweep),
    same settings, smoothing off on both sides: the same rates, losses and stop."""
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=1e-3), "adam": lambda p: torch.optim.Adam(p, lr=1e-3)}[optimizer]
    ours_net = small_net(init_seed=2)
    ours = range_test(ours_net, loader(), loss=F.cross_entropy, inputs="image", target="label",
                      optimizer=make(ours_net.parameters()), start=1e-3, end=30.0, steps=steps, beta=0.0,
                      stop_factor=5.0, accumulate=accumulate)
    peer_net = small_net(init_seed=2)
    finder = torch_lr_finder.LRFinder(peer_net, make(peer_net.parameters()), nn.CrossEntropyLoss())
    finder.range_test(DictIter(loader()), end_lr=30.0, num_iter=steps, smooth_f=0.0, diverge_th=5.0,
                      accumulation_steps=accumulate)
    peer_lrs, peer_losses = np.array(finder.history["lr"]), np.array(finder.history["loss"])
    assert len(peer_lrs) == len(ours.lrs) >= 10
    assert np.allclose(peer_lrs, ours.lrs, rtol=1e-12)
    assert np.allclose(peer_losses, ours.losses, rtol=1e-5, atol=1e-7)


def test_torch_lr_finder_validation_mode_gives_the_same_curve():
    ours = range_test(small_net(init_seed=3), loader(), objective=obj, val_batches=loader(n=64, shuffle=False),
                      start=1e-3, end=10.0, steps=25, beta=0.0, stop_factor=5.0)
    peer_net = small_net(init_seed=3)
    finder = torch_lr_finder.LRFinder(peer_net, torch.optim.SGD(peer_net.parameters(), lr=1e-3),
                                      nn.CrossEntropyLoss())
    finder.range_test(DictIter(loader()), val_loader=DictValIter(loader(n=64, shuffle=False)), end_lr=10.0,
                      num_iter=25, smooth_f=0.0, diverge_th=5.0)
    assert ours.settings["validation"]
    assert np.allclose(finder.history["lr"], ours.lrs, rtol=1e-12)
    assert np.allclose(finder.history["loss"], ours.losses, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- a plain loop: groups and optimisers

@pytest.mark.parametrize("kind", ["adam", "adamw", "sgd_momentum"])
def test_every_group_is_scaled_with_its_ratio_kept_as_a_plain_loop_does(kind):
    """Two groups at 1e-3 and 1e-2: at every step the head runs at the sweep's rate and the body at a
    tenth of it; the losses are those of a plain torch loop that sets the rates itself."""
    def build(net):
        groups = [{"params": net[0].parameters(), "lr": 1e-3}, {"params": net[2].parameters(), "lr": 1e-2}]
        return {"adam": lambda: torch.optim.Adam(groups), "adamw": lambda: torch.optim.AdamW(groups, weight_decay=0.1),
                "sgd_momentum": lambda: torch.optim.SGD(groups, momentum=0.9)}[kind]()

    net = small_net(init_seed=1)
    opt = build(net)
    seen = []

    def watching(model, batch):
        seen.append([g["lr"] for g in opt.param_groups])
        return obj(model, batch)

    result = range_test(net, loader(shuffle=False), objective=watching, optimizer=opt, start=1e-4, end=1.0,
                        steps=20, stop_factor=100.0)
    rates = sw.sweep_rates(1e-4, 1.0, 20)
    assert np.allclose([s[1] for s in seen], rates, rtol=1e-12)
    assert np.allclose([s[0] / s[1] for s in seen], 0.1, rtol=1e-12)
    assert [g["lr"] for g in opt.param_groups] == [1e-3, 1e-2]          # given back

    plain = small_net(init_seed=1)
    plain_opt = build(plain)
    expected = []
    for rate, batch in zip(rates, itertools.cycle(loader(shuffle=False))):
        plain_opt.param_groups[0]["lr"], plain_opt.param_groups[1]["lr"] = rate * 0.1, rate
        loss = obj(plain, batch)
        expected.append(float(loss.detach()))
        plain_opt.zero_grad()
        loss.backward()
        plain_opt.step()
    assert np.allclose(result.losses, expected, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- the peers' bug reports

class Watched(nn.Module):
    """Batch norm (running statistics), dropout (random state), two inputs."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(20, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2))
        self.head = nn.Linear(16, 4)

    def forward(self, x, scale):
        return self.head(self.body(x)) * scale


def two_input_loader():
    data = Digits(128)
    return DataLoader(TensorDataset(data.x, torch.ones(128, 1), data.y), batch_size=16, shuffle=True)


def test_model_optimiser_grads_modes_and_random_state_come_back_bit_for_bit():
    torch.manual_seed(0)
    net = Watched()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    for x, s, y in itertools.islice(two_input_loader(), 3):          # Adam state and BN statistics worth keeping
        opt.zero_grad()
        F.cross_entropy(net(x, s), y).backward()
        opt.step()
    net.eval()
    net.body[3].train()                                                 # a mixed mode
    before, opt_before = state(net), copy.deepcopy(opt.state_dict())
    grads = [p.grad.clone() for p in net.parameters()]
    rng = torch.get_rng_state()
    result = range_test(net, two_input_loader(), loss=F.cross_entropy, optimizer=opt, start=1e-4, end=10.0, steps=30)
    assert len(result.lrs) >= 5
    assert same_state(before, state(net))
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, net.parameters()))
    assert [m.training for m in net.modules()] == [False, False, False, False, False, True, False]
    after = opt.state_dict()
    assert after["param_groups"] == opt_before["param_groups"]
    assert all(torch.equal(opt_before["state"][k][n], after["state"][k][n])
               for k in opt_before["state"] for n in opt_before["state"][k])
    assert torch.equal(torch.get_rng_state(), rng)


def test_the_model_comes_back_when_the_objective_fails_mid_sweep():
    net = Watched()
    before, calls = state(net), {"n": 0}

    def failing(model, batch):
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("interrupted")
        x, s, y = batch
        return F.cross_entropy(model(x, s), y)

    with pytest.raises(RuntimeError, match="interrupted"):
        range_test(net, two_input_loader(), objective=failing, steps=20)
    assert same_state(before, state(net))


def test_accumulation_counts_optimiser_steps_not_micro_batches():
    net = small_net()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    steps_taken, rates_seen = [], []
    opt.register_step_post_hook(lambda o, args, kwargs: steps_taken.append(o.param_groups[0]["lr"]))

    def watching(model, batch):
        rates_seen.append(opt.param_groups[0]["lr"])
        return obj(model, batch)

    result = range_test(net, loader(), objective=watching, optimizer=opt, start=1e-4, end=1e-1, steps=12,
                        accumulate=4, stop_factor=100.0)
    rates = sw.sweep_rates(1e-4, 1e-1, 12)
    assert len(result.lrs) == 12 and np.allclose(steps_taken, rates, rtol=1e-12)
    assert np.allclose(rates_seen, np.repeat(rates, 4), rtol=1e-12)     # the rate changes per step, not per batch


def test_mixed_precision_autocasts_and_skipped_scaler_steps_are_not_counted():
    """bfloat16 autocast on the CPU; a GradScaler whose first scales overflow the gradients (a loss
    of 100 x cross-entropy at a scale of 2^127): those steps are skipped by the scaler, not counted,
    and the sweep still takes all its steps."""
    dtypes = []

    def watching(model, batch):
        out = model(batch["image"])
        dtypes.append(out.dtype)
        return 100.0 * F.cross_entropy(out, batch["label"])

    net = small_net()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    taken = []
    opt.register_step_post_hook(lambda o, args, kwargs: taken.append(1))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 127, growth_interval=10_000)
    result = range_test(net, loader(), objective=watching, optimizer=opt, start=1e-4, end=1e-1, steps=15,
                        amp=True, scaler=scaler, stop_factor=100.0)
    assert set(dtypes) == {torch.bfloat16} and result.settings["amp"] == "bfloat16"
    skipped = result.settings["skipped"]
    assert skipped >= 1 and len(taken) == 15 == len(result.lrs) and len(dtypes) == 15 + skipped
    assert np.allclose(result.lrs, sw.sweep_rates(1e-4, 1e-1, 15), rtol=1e-12)
    assert scaler.get_scale() == 2.0 ** 127                               # the scaler is given back too
    full = range_test(small_net(), loader(), objective=obj, start=1e-4, end=1e-1, steps=15, stop_factor=100.0)
    low = range_test(small_net(), loader(), objective=obj, start=1e-4, end=1e-1, steps=15, amp=True,
                     stop_factor=100.0)
    assert np.allclose(low.losses, full.losses, rtol=0.02)              # bfloat16 keeps ~3 significant digits


def test_a_nan_loss_stops_before_its_update_and_the_suggestions_avoid_it():
    calls = {"n": 0}

    def goes_nan(model, batch):
        calls["n"] += 1
        value = obj(model, batch)
        return value * float("nan") if calls["n"] == 40 else value

    result = range_test(small_net(), loader(), objective=goes_nan, start=1e-4, end=10.0, steps=80)
    assert result.stopped_at == 39 and np.isnan(result.losses[-1]) and "not finite" in result.stop_reason
    assert all(np.isfinite(v) and v < result.lrs[-1] for v in result.suggestions.values())


def test_one_spike_does_not_become_the_suggestion():
    """One batch's loss 20 times too high (a bad batch) at step 30: read off the plain curve, even smoothed,
    the steepest descent falls just after it; read off the despiked curve (the default), every rule
    gives what it gives on the same sweep without the spike."""
    def spiky():
        calls = {"n": 0}

        def objective(model, batch):
            calls["n"] += 1
            value = obj(model, batch)
            return value * 20.0 if calls["n"] == 31 else value
        return objective

    plain = range_test(small_net(), loader(), objective=spiky(), start=1e-4, end=10.0, steps=100, despiked=False)
    result = range_test(small_net(), loader(), objective=spiky(), start=1e-4, end=10.0, steps=100)
    assert np.array_equal(plain.losses, result.losses) and result.losses[30] > 10 * result.losses[29]
    after_spike = (result.lrs[30], result.lrs[33])
    assert after_spike[0] <= plain.suggestions["steepest"] <= after_spike[1]
    for name, rate in result.suggestions.items():
        assert not after_spike[0] <= rate <= after_spike[1], name
    clean = range_test(small_net(), loader(), objective=obj, start=1e-4, end=10.0, steps=100)
    clean_plain = range_test(small_net(), loader(), objective=obj, start=1e-4, end=10.0, steps=100, despiked=False)
    for name in clean.suggestions:
        assert result.suggestions[name] == pytest.approx(clean.suggestions[name], rel=0.05), name
        assert clean_plain.suggestions[name] == pytest.approx(clean.suggestions[name], rel=0.05), name


def test_despike_replaces_lone_outliers_and_keeps_trends():
    rng = np.random.default_rng(0)
    curve = 2.0 + 0.05 * rng.standard_normal(60)
    curve[20] = 40.0
    cleaned = rules.despike(curve)
    assert cleaned[20] == pytest.approx(np.median(curve[15:26]))
    assert np.array_equal(np.delete(cleaned, 20), np.delete(curve, 20))
    line = np.linspace(1.0, 3.0, 30)
    assert np.array_equal(rules.despike(line), line)


def test_running_out_of_data_mid_sweep_starts_the_loader_again():
    class Counting:
        def __init__(self):
            self.passes, self.data = 0, list(loader(shuffle=False))[:3]

        def __iter__(self):
            self.passes += 1
            return iter(self.data)

    source = Counting()
    result = range_test(small_net(), source, objective=obj, start=1e-4, end=1e-2, steps=10, stop_factor=100.0)
    assert len(result.lrs) == 10 and source.passes == 4
    generator = (b for b in list(loader(shuffle=False))[:3])
    with pytest.raises(ValueError, match="ran out after 3 batches"):
        range_test(small_net(), generator, objective=obj, start=1e-4, end=1e-2, steps=10)


# --------------------------------------------------------------------------- bad input, before any step

FROZEN = small_net().requires_grad_(False)
GOOD = loader()
EMPTY = DataLoader(TensorDataset(torch.zeros(0, 20), torch.zeros(0).long()), batch_size=4)
ONE = [next(iter(loader()))]


@pytest.mark.parametrize("call, error, message", [
    (lambda: range_test(small_net(), EMPTY, loss=F.cross_entropy), ValueError, "batches is empty"),
    (lambda: range_test(small_net(), [], loss=F.cross_entropy), ValueError, "batches is empty"),
    (lambda: range_test(small_net(), iter([]), loss=F.cross_entropy, steps=5), ValueError, "yielded no batch"),
    (lambda: range_test(small_net(), GOOD, loss=F.cross_entropy), ValueError, r"received, dict \{'image': Tensor"),
    (lambda: range_test(small_net(), [(torch.zeros(8, 7), torch.zeros(8).long())], loss=F.cross_entropy),
     ValueError, r"cannot take the batch it received, tuple \(Tensor\(8, 7\) float32"),
    (lambda: range_test(FROZEN, GOOD, objective=obj), ValueError, "no parameters that require gradients"),
    (lambda: range_test(nn.ReLU(), GOOD, objective=obj), ValueError, "no parameters that require gradients"),
    (lambda: range_test(small_net(), ONE, objective=obj, accumulate=2), ValueError, "fewer than the 2 one step needs"),
    (lambda: range_test(small_net(), GOOD, objective=obj, loss=F.cross_entropy), TypeError, "exactly one of"),
    (lambda: range_test(small_net(), torch.zeros(4, 20), objective=obj), TypeError, "iterable of batches"),
    (lambda: range_test(small_net(), GOOD, objective=obj, accumulate=0), ValueError, "accumulate must be an int >= 1"),
    (lambda: range_test(small_net(), GOOD, objective=obj, amp="yes"), ValueError, "amp must be True, False"),
    (lambda: range_test(small_net(), GOOD, objective=obj, scaler=object()), TypeError, "GradScaler"),
    (lambda: range_test(small_net(), GOOD, objective=obj, optimizer=torch.optim.SGD(nn.Linear(1, 1).parameters(), 0.1)),
     ValueError, "does not hold any of the model's parameters"),
    (lambda: range_test(small_net(), GOOD, objective=obj, val_batches=[]), ValueError, "val_batches is empty"),
    (lambda: range_test(small_net(), GOOD, objective=obj, start=1.0, end=0.1), ValueError, "end must be larger"),
    (lambda: par.parallel_test(small_net(), EMPTY, [0.1], objective=obj), ValueError, "batches is empty"),
    (lambda: par.parallel_test(FROZEN, GOOD, [0.1], objective=obj), ValueError, "require gradients"),
    (lambda: par.parallel_test(small_net(), GOOD, [0.1], loss=F.cross_entropy), ValueError, "naming its keys"),
    (lambda: par.parallel_test(small_net(), GOOD, [0.0], objective=obj), ValueError, "rates"),
    (lambda: par.parallel_test(small_net(), GOOD, [0.1], objective=obj, optimizer=lambda p, lr: 3),
     TypeError, "must return a torch.optim.Optimizer"),
])
def test_bad_input_is_refused_before_any_step(call, error, message):
    before = state(FROZEN)
    with pytest.raises(error, match=message):
        call()
    assert same_state(before, state(FROZEN))


def test_a_bad_batch_leaves_the_model_untouched():
    net = small_net()
    before = state(net)
    with pytest.raises(ValueError, match="cannot take the batch"):
        range_test(net, [(torch.zeros(8, 7), torch.zeros(8).long())], loss=F.cross_entropy)
    assert same_state(before, state(net))


# --------------------------------------------------------------------------- the parallel test

def test_copies_agree_with_the_grid_engine_on_the_same_batches(toy):
    """K copies of one module, on the batches of the one data order, against section 2's parallel test
    (the grid engine, one stacked computation)."""
    rates, updates, batch, seed = [0.03, 0.3, 3.0], 12, 32, 5
    engine = par.parallel_range_test(toy, rates, model=lambda s: small_net(init_seed=s), updates=updates,
                                     batch_size=batch, init_seeds=(0,), data_seed=seed, tail=4)
    n = updates * batch
    x, y = toy.x_train[:n], toy.y_train[:n]
    batches = [(x[i], y[i]) for i in itertools.islice(DataOrder(n, seed=seed).stream(batch), updates)]
    copies = par.parallel_test(small_net(init_seed=0), batches, rates, loss=F.cross_entropy, updates=updates, tail=4)
    assert np.allclose(copies.tail_loss, engine.tail_loss[0], rtol=1e-4)
    assert copies.best_lr == pytest.approx(rates[int(np.argmin(engine.tail_loss[0]))])


def test_copies_train_like_a_plain_loop_and_leave_the_model_alone():
    net = small_net(init_seed=4)
    before = state(net)
    result = par.parallel_test(net, loader(shuffle=False), [0.01, 0.5], objective=obj, updates=10, tail=3,
                               optimizer=lambda p, lr: torch.optim.Adam(p, lr=lr), keep=True)
    assert same_state(before, state(net))
    for k, rate in enumerate([0.01, 0.5]):
        plain = small_net(init_seed=4)
        opt = torch.optim.Adam(plain.parameters(), lr=rate)
        losses = []
        for batch in itertools.islice(itertools.cycle(loader(shuffle=False)), 10):
            loss = obj(plain, batch)
            losses.append(float(loss.detach()))
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert np.allclose(result.losses[k], losses, rtol=1e-5, atol=1e-7)
        assert same_state(state(plain), state(result.models[k]))
