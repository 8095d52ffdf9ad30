"""Keskar's small- vs large-batch study against plain engine runs, and the bank of solutions."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lib.core.engine import train_grid
from lib.core.evaluate import evaluate
from lib.core.members import Member
from lib.core.models import mlp
from lib.sharpness import generalization_gap as GG
from lib.sharpness.sgd_noise import epochs_for_updates


def weight_norm(network):
    """A cheap stand-in for the sharpness report: the weights' norm and the number of parameter tensors."""
    flat = torch.cat([p.detach().reshape(-1) for p in network.parameters()])
    return {"norm": float(flat.norm()), "tensors": len(list(network.parameters()))}


def test_the_study_is_two_plain_engine_grids_and_their_measures(toy, tiny_model):
    recipe = GG.Recipe(lr=0.2, momentum=0.5, min_epochs=1, min_updates=12, model=tiny_model)
    study = GG.small_vs_large_batch(toy, recipe, small=8, large=48, seeds=[0, 1], measure=weight_norm)
    for solutions in (study.small, study.large):
        b = solutions.batch_size
        epochs = epochs_for_updates(b, 96, min_epochs=1, min_updates=12)
        peer = train_grid([Member(lr=0.2, momentum=0.5, init_seed=s, data_seed=s) for s in (0, 1)], toy,
                          model=tiny_model, batch_size=b, epochs=epochs, eval_every=epochs / 10, progress=False)
        assert solutions.epochs == epochs and solutions.updates == epochs * -(-96 // b)
        assert np.array_equal(solutions.eval_step, peer.history.eval_step)
        assert solutions.train_loss == pytest.approx(peer.history.train_loss, rel=1e-5)
        for s in (0, 1):
            network = peer.model(s)
            assert solutions.test_acc[s] == pytest.approx(100 * evaluate(network, toy.x_test, toy.y_test)[1], abs=1e-4)
            assert solutions.train_acc[s] == pytest.approx(100 * evaluate(network, toy.x_train, toy.y_train)[1],
                                                           abs=1e-4)
            assert solutions.sharpness["norm"][s] == pytest.approx(weight_norm(network)["norm"], rel=1e-6)
            initial = nn.utils.parameters_to_vector(tiny_model(s).parameters()).detach()
            trained = nn.utils.parameters_to_vector(network.parameters()).detach()
            assert solutions.distance[s] == pytest.approx(float((trained - initial).norm()), rel=1e-5)
        assert list(solutions.measures) == ["norm", "tensors", "train_acc", "test_acc", "distance"]
        assert solutions.report(1)["norm"] == pytest.approx(solutions.sharpness["norm"][1])
    assert study.ratio("norm") == pytest.approx(study.large.sharpness["norm"].mean() / study.small.sharpness["norm"].mean())
    assert study.test_gap == pytest.approx(study.small.test_acc.mean() - study.large.test_acc.mean())


def test_a_recipe_solution_is_the_first_member_of_its_grid(toy, tiny_model):
    recipe = GG.Recipe(lr=0.2, momentum=0.5, min_epochs=1, min_updates=12, model=tiny_model)
    alone = recipe.solution(toy, 16, seed=1)
    grid = recipe.train(toy, 16, [1])
    for p, q in zip(alone.parameters(), grid.model(0).parameters()):
        assert torch.equal(p, q)
    assert recipe.epochs(48, 96) == 6


def test_the_bank_trains_and_measures_each_missing_solution_once():
    trained, measured = [], []
    bank = GG.SolutionBank(train=lambda b: trained.append(b) or mlp((5, 4, 3), ("tanh",), init_seed=b),
                           measure=lambda m: measured.append(1) or {"top_eigenvalue": 1.0})
    bank.add(8, mlp((5, 4, 3), ("tanh",), init_seed=8), {"top_eigenvalue": 3.0})
    bank.prepare([8, 64])
    bank.model(64)
    assert trained == [64]
    assert bank.reports() == {8: {"top_eigenvalue": 3.0}, 64: {"top_eigenvalue": 1.0}}
    bank.report(64)
    assert measured == [1]
    assert bank.cached == [8, 64]


def test_a_bank_without_a_trainer_names_what_it_has():
    bank = GG.SolutionBank()
    bank.add(256, mlp((5, 4, 3), ("tanh",), init_seed=0))
    with pytest.raises(ValueError, match="available: 256"):
        bank.model(512)
    with pytest.raises(ValueError, match="nothing to measure them with"):
        bank.report(256)


def empty():
    return nn.Sequential(nn.Identity())


NET = mlp((3, 4, 2), ("tanh",), init_seed=0)


@pytest.mark.parametrize("call, error, message", [
    (lambda: GG.SolutionBank(train=3), TypeError, "train must be a function"),
    (lambda: GG.SolutionBank(measure="report"), TypeError, "measure must be a function"),
    (lambda: GG.SolutionBank().add(0, NET), ValueError, "batch_size must be an int >= 1"),
    (lambda: GG.SolutionBank().add(8, empty()), ValueError, "no parameters"),
    (lambda: GG.SolutionBank().add(8, "net"), TypeError, "model must be an nn.Module"),
    (lambda: GG.Recipe(lr=0.0, momentum=0.5, min_epochs=1, min_updates=1), ValueError, "lr must be"),
    (lambda: GG.Recipe(lr=0.1, momentum=1.0, min_epochs=1, min_updates=1), ValueError, "momentum must be"),
    (lambda: GG.Recipe(lr=0.1, momentum=0.5, min_epochs=0, min_updates=1), ValueError,
     "min_epochs must be an int >= 1"),
    (lambda: GG.train_solutions(None, GG.Recipe(0.1, 0.5, 1, 1), 8, [0], measure=dict), TypeError,
     "data must be lib.core.data.Splits"),
    (lambda: GG.train_solutions(None, "recipe", 8, [0], measure=dict), TypeError, "recipe must be a Recipe"),
    (lambda: GG.train_solutions(None, GG.Recipe(0.1, 0.5, 1, 1), 8, [0], measure=3), TypeError,
     "measure must be a function"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
