"""Measuring the final networks (lib.swa.metrics): against plain forward passes and NumPy's statistics."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lib.sharpness.hessian import top_hessian_eigenvalue
from lib.swa import metrics, plans, training


@pytest.fixture(scope="module")
def comparison(toy):
    plan_list = [plans.decay(0.01), plans.constant(0.2, 2, ema_decay=0.9), plans.cyclical(0.3, 0.03, 4)]
    return training.compare(toy, plan_list, lr=0.3, epochs=2, swa_start=1, batch_size=64, seeds=[0, 1], track=False)


def test_the_table_holds_every_final_network_over_seeds(toy, comparison):
    runs = comparison.runs
    decay, constant, cyclical = list(runs)
    table = metrics.metrics_table(runs, toy)
    assert set(table) == {(decay, "iterate"), (constant, "iterate"), (constant, "average"), (constant, "ema"),
                          (cyclical, "iterate"), (cyclical, "average")}
    assert table[(cyclical, "average")]["test_acc"].shape == (2,)
    network = runs[cyclical][1].average
    with torch.no_grad():
        direct = (network(toy.x_test).argmax(1) == toy.y_test).double().mean().item()
        train_loss = F.cross_entropy(network(toy.x_train), toy.y_train).item()   # all 256 < TRAIN_EVAL_SIZE
    assert table[(cyclical, "average")]["test_acc"][1] == pytest.approx(direct, abs=1e-6)
    assert table[(cyclical, "average")]["train_loss"][1] == pytest.approx(train_loss, rel=1e-5)


def test_seed_summaries_are_numpys_mean_and_sample_deviation(toy, comparison):
    table = metrics.metrics_table(comparison.runs, toy)
    decay, constant = list(comparison.runs)[:2]
    rows = {"sgd": (decay, "iterate"), "swa": (constant, "average")}
    accuracy, test_loss, train_loss = metrics.seed_summaries(table, rows)
    assert accuracy.labels == ("sgd_test_acc", "swa_test_acc")
    assert train_loss.labels == ("sgd_train_loss", "swa_train_loss")
    values = 100 * table[(constant, "average")]["test_acc"]
    assert accuracy.value("swa_test_acc") == pytest.approx(np.mean(values), rel=1e-12)
    assert accuracy.value("swa_test_acc", "std") == pytest.approx(np.std(values, ddof=1), rel=1e-12)
    assert test_loss.value("sgd_test_loss") == pytest.approx(np.mean(table[(decay, "iterate")]["test_loss"]))


def test_top_eigenvalues_are_one_per_run(toy, comparison):
    runs = comparison.runs[list(comparison.runs)[2]]
    x, y = toy.x_train[:64], toy.y_train[:64]
    values = metrics.top_eigenvalues(runs, "average", x, y, iterations=3)
    assert values.shape == (2,)
    for run, value in zip(runs, values):
        assert value == top_hessian_eigenvalue(run.average, x, y, iterations=3)


def test_a_diverged_run_has_no_metrics(toy):
    checkpoint = training.pretrain(toy, lr=0.1, epochs=1, batch_size=64, seed=0)
    run = training.continue_run(checkpoint, plans.cyclical(3e38, 1e38, 2), toy, epochs=2, track=True)
    result = metrics.run_metrics(run, toy)
    assert math.isnan(result["average"]["test_acc"]) and math.isnan(result["iterate"]["test_loss"])


BAD_INPUTS = [
    (lambda d, c: metrics.run_metrics("run", d), TypeError, "run must be a lib.swa.training.SWARun"),
    (lambda d, c: metrics.metrics_table([], d), TypeError, "runs must be a dict of runs"),
    (lambda d, c: metrics.seed_summaries({}, {}), TypeError, "rows must be a non-empty dict"),
    (lambda d, c: metrics.seed_summaries({}, {"sgd": ("a", "iterate")}), ValueError,
     "row 'sgd': ('a', 'iterate') is not in the table"),
    (lambda d, c: metrics.top_eigenvalues([], "average", d.x_train, d.y_train, iterations=2), TypeError,
     "runs must be a non-empty list"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUTS, ids=[m for _, _, m in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(toy, checkpoint, call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(toy, checkpoint)


def test_bad_networks_for_the_hessian(toy, comparison):
    decay_runs = comparison.runs[list(comparison.runs)[0]]
    with pytest.raises(ValueError, match="unknown network 'best'"):
        metrics.top_eigenvalues(decay_runs, "best", toy.x_train, toy.y_train, iterations=2)
    with pytest.raises(ValueError, match="every run must have a final average network"):
        metrics.top_eigenvalues(decay_runs, "average", toy.x_train, toy.y_train, iterations=2)
