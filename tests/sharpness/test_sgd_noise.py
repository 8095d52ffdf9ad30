"""Smith & Le's noise scale against its derivation, the best batch size against a parabola, and the two
noise experiments against plain engine runs."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import torch

from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.evaluate import evaluate
from lib.core.members import Member
from lib.core.models import mlp
from lib.sharpness import sgd_noise as N


def test_noise_scale_matches_smith_and_le_and_the_variance_of_an_sgd_step():
    # g = eps (N/B - 1) / (1 - m), and ~ eps N / (B (1 - m)).
    assert N.sgd_noise_scale(0.1, 55_000, 550, exact=True) == pytest.approx(0.1 * 99)
    assert N.sgd_noise_scale(0.1, 55_000, 550) == pytest.approx(10.0)
    assert N.sgd_noise_scale(0.1, 55_000, 550, momentum=0.9) == pytest.approx(100.0)
    # Same g for (eps, B) and (2 eps, 2 B): only eps / B enters.
    assert N.sgd_noise_scale(0.2, 1000, 20) == pytest.approx(N.sgd_noise_scale(0.1, 1000, 10))
    # Where the exact form comes from: the covariance of one SGD step eps * g_batch, with
    # batches drawn without replacement, is eps * g * Sigma / (N - 1), Sigma the per-example
    # gradient covariance.  Enumerate every batch of a small set exactly.
    rng = np.random.default_rng(0)
    n, B, eps = 9, 4, 0.3
    grads = rng.normal(size=n)
    steps = np.array([eps * grads[list(batch)].mean() for batch in itertools.combinations(range(n), B)])
    sigma = grads.var()  # population variance (1/N)
    assert steps.var() == pytest.approx(eps * N.sgd_noise_scale(eps, n, B, exact=True) * sigma / (n - 1), rel=1e-12)


def test_epochs_for_updates_gives_both_enough_epochs_and_enough_updates():
    assert N.epochs_for_updates(256, 55_000, min_epochs=20, min_updates=1500) == 20   # 20 epochs = 4,300 updates
    assert N.epochs_for_updates(5500, 55_000, min_epochs=20, min_updates=1500) == 150  # 10 updates per epoch
    assert N.epochs_for_updates(5501, 55_000, min_epochs=20, min_updates=1500) == 151  # rounds up


def test_best_batch_size_finds_the_peak_of_a_parabola_in_log_batch():
    sizes = 2.0 ** np.arange(4, 11)                      # 16 ... 1024
    peak = 2.0 ** 6.6                                      # between 64 and 128
    scores = 0.95 - 0.01 * (np.log2(sizes) - 6.6) ** 2
    assert N.best_batch_size(sizes, scores) == pytest.approx(peak, rel=1e-9)
    assert N.best_batch_size(sizes, -np.log2(sizes)) == 16  # best at the end: the end point
    scores[0] = np.nan                                      # a diverged run does not count
    assert N.best_batch_size(sizes, scores) == pytest.approx(peak, rel=1e-9)


def _plain_grid(data, model, rates, seeds, batch_size, epochs, momentum):
    """Peer: the members rate by rate, seed by seed, trained by a plain engine call and each evaluated
    on its own as an ordinary network; (seeds, rates) in percent, NaN for a diverged run."""
    members = [Member(lr=r, momentum=momentum, init_seed=s, data_seed=s) for r in rates for s in seeds]
    run = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, progress=False)
    table = np.full((len(seeds), len(rates)), np.nan)
    for k, member in enumerate(members):
        if not run.history.diverged[k]:
            table[seeds.index(member.init_seed), list(rates).index(member.lr)] = \
                100 * evaluate(run.model(k), data.x_test, data.y_test)[1]
    return table


def test_equal_noise_pairs_are_the_runs_of_a_plain_engine_call(toy):
    tiny_model = lambda seed: mlp((6, 8, 3), ("relu",), init_seed=seed)  # noqa: E731 - unbounded: it can diverge
    pairs = N.equal_noise_pairs(toy, batch_sizes=[8, 16], base_rates=[0.1, 1e30], reference_batch=16, epochs=1,
                                seeds=[0, 1], momentum=0.5, model=tiny_model)
    assert pairs.rates == pytest.approx(np.array([[0.05, 5e29], [0.1, 1e30]]))
    assert pairs.noise_scale == pytest.approx(pairs.rates * 96 / np.array([[8], [16]]) / 0.5)
    assert pairs.test_acc.shape == (2, 2, 2)                              # (batch sizes, seeds, rates)
    for i, b in enumerate(pairs.batch_sizes):
        expected = _plain_grid(toy, tiny_model, [0.1 * b / 16, 1e30 * b / 16], [0, 1], b, 1, 0.5)
        assert pairs.test_acc[i] == pytest.approx(expected, abs=1e-4, nan_ok=True)
    assert np.isnan(pairs.test_acc[:, :, 1]).all()                       # a rate of 1e30 diverges
    assert np.isnan(pairs.mean_test_acc[:, 1]).all()
    assert pairs.mean_test_acc[:, 0] == pytest.approx(pairs.test_acc[:, :, 0].mean(1))
    assert pairs.spread_at_equal_noise[0] == pytest.approx(np.ptp(pairs.test_acc[:, :, 0].mean(1)))
    assert pairs.row(16) == 1
    with pytest.raises(ValueError, match=r"unknown batch_size 12; allowed: "):
        pairs.row(12)


def test_the_best_batch_study_is_best_batch_size_over_plain_engine_runs(toy, tiny_model):
    study = N.best_batch_study(toy, train_sizes=[48, 96], rates=[0.3, 0.6], batch_sizes=[8, 16, 32], epochs=1,
                               seeds=[0, 1], momentum=0.0, model=tiny_model)
    assert study.test_acc.shape == (2, 3, 2, 2)                           # (sizes, batch sizes, seeds, rates)
    for i, n in enumerate(study.train_sizes):
        for k, b in enumerate(study.batch_sizes):
            expected = _plain_grid(toy.subset(n_train=n), tiny_model, [0.3, 0.6], [0, 1], b, 1, 0.0)
            assert study.test_acc[i, k] == pytest.approx(expected, abs=1e-4)
        for j, r in enumerate(study.rates):
            assert study.mean_test_acc[i, j] == pytest.approx(study.test_acc[i, :, :, j].mean(1), abs=1e-4)
            assert study.best_batch[i, j] == pytest.approx(N.best_batch_size([8, 16, 32], study.mean_test_acc[i, j]))
            assert study.noise_scale[i, j] == pytest.approx(r * n / study.best_batch[i, j])
    assert study.rate_factor == pytest.approx(np.mean(study.best_batch[:, 1] / study.best_batch[:, 0]))
    assert study.size_factor == pytest.approx(np.mean(study.best_batch[1] / study.best_batch[0]))


def _plain_sgd_test_accuracy(data, model, lr, seed, batch_size, updates, momentum):
    """Peer: one network trained by torch.optim.SGD for exactly ``updates`` steps in the chapter's data
    order, then its test accuracy in percent."""
    from torch.nn import functional as F

    from lib.core.order import DataOrder
    net = model(seed)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    batches = DataOrder(data.n_train, seed=seed).stream(batch_size)
    for _ in range(updates):
        index = next(batches)
        optimizer.zero_grad()
        F.cross_entropy(net(data.x_train[index]), data.y_train[index]).backward()
        optimizer.step()
    with torch.no_grad():
        return 100 * (net(data.x_test).argmax(1) == data.y_test).float().mean().item()


def test_the_best_batch_study_read_at_equal_updates_is_plain_sgd_stopped_there(toy, tiny_model):
    study = N.best_batch_study(toy, train_sizes=[48, 96], rates=[0.3, 0.6], batch_sizes=[8, 16, 32], epochs=2,
                               seeds=[0, 1], momentum=0.5, model=tiny_model)
    assert study.equal_updates == (4, 6)                      # 2 epochs x ceil(N / 32)
    for i, (n, u) in enumerate(zip(study.train_sizes, study.equal_updates)):
        for k, b in enumerate(study.batch_sizes):
            for s in range(2):
                for j, r in enumerate(study.rates):
                    expected = _plain_sgd_test_accuracy(toy.subset(n_train=n), tiny_model, r, s, b, u, 0.5)
                    assert study.test_acc_equal_updates[i, k, s, j] == pytest.approx(expected, abs=1e-3)
        for j in range(2):
            assert study.best_batch_equal_updates[i, j] == pytest.approx(
                N.best_batch_size([8, 16, 32], study.test_acc_equal_updates[i, :, :, j].mean(1)))
    # the largest batch's run ends at U: both readings agree there
    assert study.test_acc_equal_updates[:, -1] == pytest.approx(study.test_acc[:, -1], abs=1e-4)


def test_the_growth_of_the_best_batch_is_read_per_seed_on_made_up_accuracies():
    sizes = (16, 32, 64, 128, 256)
    u = np.log2(sizes)
    peaks = np.array([[[5.0, 5.2, 4.8], [6.0, 6.4, 5.6]],    # (N, R, S): log2 of each seed's best batch
                      [[6.1, 6.0, 5.9], [7.0, 7.3, 6.9]]])
    acc = 90 - (u[None, :, None, None] - np.moveaxis(peaks, 2, 1)[:, None]) ** 2      # (N, Bs, S, R)
    study = N.BestBatchStudy(train_sizes=(1000, 2000), rates=np.array([0.1, 0.2]), batch_sizes=sizes, seeds=(0, 1, 2),
                             epochs=1, momentum=0.0, test_acc=acc, mean_test_acc=None, best_batch=None,
                             noise_scale=None, equal_updates=(10, 20), test_acc_equal_updates=acc - 1,
                             mean_test_acc_equal_updates=None, best_batch_equal_updates=None)
    assert np.log2(study.seed_best_batch()) == pytest.approx(peaks)
    rate = study.growth_interval("rate")
    assert rate.values == pytest.approx((peaks[:, 1] - peaks[:, 0]).mean(0))      # averaged over N
    size = study.growth_interval("size", equal_updates=True)
    assert size.values == pytest.approx((peaks[1] - peaks[0]).mean(0))           # averaged over the rates
    assert rate.agreement_verdict(1.0, 1.0) == "holds"                           # doubling eps ~ doubles B
    with pytest.raises(ValueError, match="unknown along"):
        study.growth_interval("batch")


@pytest.mark.parametrize("call, error, message", [
    (lambda: N.sgd_noise_scale(0.0, 100, 10), ValueError, "lr must be a finite number > 0"),
    (lambda: N.sgd_noise_scale(0.1, 100, 101), ValueError, "batch_size must be a number in [1, 100]"),
    (lambda: N.sgd_noise_scale(0.1, 100, 10, momentum=1.0), ValueError, "momentum must be a number in [0, 1)"),
    (lambda: N.sgd_noise_scale(0.1, 100, 0), ValueError, "batch_size must be a number in [1, 100]"),
    (lambda: N.sgd_noise_scale(0.1, 100.0, 10), TypeError, "train_size must be an int"),
    (lambda: N.epochs_for_updates(10, 5, min_epochs=1, min_updates=1), ValueError,
     "batch_size must be an int between 1 and 5"),
    (lambda: N.epochs_for_updates(10, 50, min_epochs=0, min_updates=1), ValueError, "min_epochs must be an int >= 1"),
    (lambda: N.best_batch_size([16, 32], [0.1, 0.2]), ValueError, "batch_sizes must hold at least 3"),
    (lambda: N.best_batch_size([16, 8, 32], [0.1, 0.2, 0.3]), ValueError, "batch_sizes must be increasing"),
    (lambda: N.best_batch_size([8, 16, 32], [0.1, 0.2]), ValueError, "one score per batch size"),
    (lambda: N.best_batch_size([8, 16, 32], [np.nan] * 3), ValueError, "no finite value"),
    (lambda: N.equal_noise_pairs(None, batch_sizes=[8], base_rates=[0.1], reference_batch=8, epochs=1, seeds=[0]),
     TypeError, "data must be lib.core.data.Splits"),
    (lambda: N.best_batch_study(None, train_sizes=[8], rates=[0.1], batch_sizes=[1, 2, 4], epochs=1, seeds=[0]),
     TypeError, "data must be lib.core.data.Splits"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_bad_experiment_sizes_are_rejected(toy):
    with pytest.raises(ValueError, match="data needs a test split"):
        N.equal_noise_pairs(Splits(toy.x_train, toy.y_train), batch_sizes=[8], base_rates=[0.1], reference_batch=8,
                            epochs=1, seeds=[0])
    with pytest.raises(ValueError, match="seeds must be distinct"):
        N.equal_noise_pairs(toy, batch_sizes=[8], base_rates=[0.1], reference_batch=8, epochs=1, seeds=[0, 0])
    with pytest.raises(ValueError, match="base_rates"):
        N.equal_noise_pairs(toy, batch_sizes=[8], base_rates=[], reference_batch=8, epochs=1, seeds=[0])
    with pytest.raises(ValueError, match="batch_sizes must be a list of at least 3"):
        N.best_batch_study(toy, train_sizes=[8], rates=[0.1], batch_sizes=[1, 2], epochs=1, seeds=[0])
