"""The section's figures and its explorer run headless on small records; the explorer rejects equal sizes."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lib.core.models import mlp  # noqa: E402
from lib.sharpness import batch_growth, figures, generalization_gap as GG, sgd_noise  # noqa: E402
from lib.sharpness.explorer import BatchSizeExplorer  # noqa: E402
from lib.sharpness.weight_space import parametric_curves  # noqa: E402


def test_parametric_figure_and_explorer_run_headless_and_reject_a_pair_of_equal_sizes():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, 5, generator=g), torch.randint(0, 3, (30,), generator=g)
    trained = []
    bank = GG.SolutionBank(train=lambda b: trained.append(b) or mlp((5, 4, 3), ("tanh",), init_seed=b),
                           measure=lambda m: {"top_eigenvalue": 1.0, "trace": 2.0, "keskar_full_1e-03": 3.0})
    bank.add(8, mlp((5, 4, 3), ("tanh",), init_seed=8))
    explorer = BatchSizeExplorer(bank, [8, 64], {"train": (x, y)}, alphas=[0.0, 0.5, 1.0])
    assert trained == [64]  # the cached network is reused, the missing one trained once
    assert "batch 8" in explorer.table.value and "3" in explorer.table.value
    assert "batch 64" in explorer.message.value
    explorer.large.value = 8
    assert "two different batch sizes" in explorer.message.value
    curves = parametric_curves(bank.model(8), bank.model(64), [0.0, 1.0], {"train": (x, y)})
    fig = figures.parametric_figure([0.0, 1.0], curves)
    assert len(fig.axes) == 2


def test_an_explorer_needs_two_sizes_and_a_bank():
    with pytest.raises(ValueError, match="at least two different sizes"):
        BatchSizeExplorer(GG.SolutionBank(), [8, 8], {})
    with pytest.raises(TypeError, match="bank must be a SolutionBank"):
        BatchSizeExplorer({}, [8, 16], {})


def test_every_figure_draws_its_record(toy, tiny_model):
    recipe = GG.Recipe(lr=0.2, momentum=0.5, min_epochs=1, min_updates=6, model=tiny_model)
    measure = lambda net: {"top_eigenvalue": 1.0, "trace": 2.0, "keskar_full_1e-03": 3.0}  # noqa: E731
    study = GG.small_vs_large_batch(toy, recipe, small=16, large=48, seeds=[0, 1], measure=measure)
    pairs = sgd_noise.NoisePairs(batch_sizes=(8, 16), base_rates=np.array([0.1, 0.2]), reference_batch=8, seeds=(0,),
                                 epochs=1, rates=np.array([[0.1, 0.2], [0.2, 0.4]]),
                                 noise_scale=np.array([[1.0, 2.0], [1.0, 2.0]]),
                                 test_acc=np.array([[[90.0, 80.0]], [[85.0, np.nan]]], dtype=np.float32))
    best = sgd_noise.BestBatchStudy(train_sizes=(100, 200), rates=np.array([0.25, 0.5]), batch_sizes=(8, 16, 32),
                                    seeds=(0,), epochs=1, momentum=0.9, test_acc=np.full((2, 3, 1, 2), 90.0),
                                    mean_test_acc=np.full((2, 2, 3), 90.0), best_batch=np.array([[8.0, 16.0],
                                                                                                 [16.0, 32.0]]),
                                    noise_scale=np.ones((2, 2)))
    growth = batch_growth.batch_growth_study(toy, lr=0.2, batch_size=16, factor=2, milestones=[1], epochs=2,
                                             seeds=[0, 1], model=tiny_model)
    drawn = [figures.keskar_curves_figure(study, 90), figures.random_directions_figure([0.0, 1.0], {16: np.ones((2, 2))}),
             figures.noise_pairs_figure(pairs), figures.best_batch_figure(best), figures.growth_figure(growth, 90),
             figures.sharpness_vs_batch_figure({16: measure(None), 48: measure(None)})]
    assert [len(fig.axes) for fig in drawn] == [2, 1, 2, 3, 3, 1]
