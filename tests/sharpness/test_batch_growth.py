"""Smith et al.'s milestone schedules against their noise-scale profile and the engine's own record."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lib.core.data import Splits
from lib.core.engine import train_grid
from lib.core.evaluate import evaluate
from lib.core.members import Member
from lib.sharpness import batch_growth as G


def test_milestone_schedules_share_one_noise_scale_profile():
    N, lr, B, factor, milestones, epochs = 1000, 0.4, 10, 5, [2, 4], 6
    schedules = G.milestone_schedules(lr, B, factor=factor, milestones=milestones, epochs=epochs, train_size=N)
    assert schedules["decay"][0] == [10] * 6
    assert schedules["grow"][0] == [10, 10, 50, 50, 250, 250]
    assert schedules["hybrid"][0] == [10, 10, 50, 50, 50, 50]
    expected_g = [lr * N / B] * 2 + [lr * N / B / 5] * 2 + [lr * N / B / 25] * 2  # eps N / B per epoch
    for kind, (batches, rate) in schedules.items():
        starts = np.concatenate([[0], np.cumsum([-(-N // b) for b in batches])])[:-1]
        g = [rate(int(step)) * N / b for step, b in zip(starts, batches)]
        assert g == pytest.approx(expected_g), kind


def test_milestone_schedules_drive_the_engine_as_intended():
    # Peer: the engine's own record of batch sizes and applied rates (History.step_lr, step_epoch).
    g = torch.Generator().manual_seed(0)
    data = Splits(torch.randn(103, 4, generator=g), torch.randn(103, 1, generator=g))
    schedules = G.milestone_schedules(0.05, 4, factor=3, milestones=[1, 3], epochs=4, train_size=103)
    for kind, (batches, rate) in schedules.items():
        run = train_grid(Member(lr=0.05, schedule=rate), data, model=lambda seed: nn.Linear(4, 1),
                         batch_size=batches, epochs=4, loss="mse", progress=False)
        h = run.history
        assert h.batch_sizes == batches
        epoch = np.floor(h.step_epoch + 1e-9).astype(int)
        decays = {"decay": [0, 1, 1, 2], "grow": [0, 0, 0, 0], "hybrid": [0, 0, 0, 1]}[kind]
        assert np.allclose(h.step_lr[0], 0.05 / 3.0 ** np.array(decays)[epoch]), kind


def test_the_growth_study_is_three_plain_engine_runs(toy, tiny_model):
    study = G.batch_growth_study(toy, lr=0.2, batch_size=16, factor=2, milestones=[1, 2], epochs=3, seeds=[0, 1],
                                 momentum=0.5, model=tiny_model)
    assert list(study.runs) == list(G.SCHEDULE_KINDS)
    plans = G.milestone_schedules(0.2, 16, factor=2, milestones=[1, 2], epochs=3, train_size=96)
    for kind, run in study.runs.items():
        batches, rate = plans[kind]
        assert run.batch_sizes == batches
        assert run.updates == sum(-(-96 // b) for b in batches)
        # g of each epoch: eps N / (B (1 - m)), with the rate each epoch starts with
        assert run.noise_scale == pytest.approx([rate(s) * 96 / b / 0.5 for s, b in zip(
            np.concatenate([[0], np.cumsum([-(-96 // b) for b in batches])])[:-1], batches)], rel=1e-6)
        peer = train_grid([Member(lr=0.2, schedule=rate, momentum=0.5, init_seed=s, data_seed=s) for s in (0, 1)],
                          toy, model=tiny_model, batch_size=batches, epochs=3, progress=False)
        for s in (0, 1):
            assert run.test_acc[s] == pytest.approx(100 * evaluate(peer.model(s), toy.x_test, toy.y_test)[1],
                                                    abs=1e-4)
            assert run.val_acc[s] == pytest.approx(100 * peer.history.val_acc[s], abs=1e-4)
    assert study.largest_batch == 64
    assert study.saving == pytest.approx(1 - study.runs["grow"].updates / study.runs["decay"].updates)
    # the same profile of g, whichever way it falls
    assert study.runs["grow"].noise_scale == pytest.approx(study.runs["decay"].noise_scale, rel=1e-6)


@pytest.mark.parametrize("call, error, message", [
    (lambda: G.milestone_schedules(0.1, 10, factor=1, milestones=[2], epochs=4, train_size=100),
     ValueError, "factor must be a finite number > 1"),
    (lambda: G.milestone_schedules(0.1, 10, factor=2, milestones=[4], epochs=4, train_size=100),
     ValueError, "milestones must be increasing"),
    (lambda: G.milestone_schedules(0.1, 10, factor=2, milestones=[2, 1], epochs=4, train_size=100),
     ValueError, "milestones must be increasing"),
    (lambda: G.milestone_schedules(0.1, 10, factor=5, milestones=[1, 2], epochs=4, train_size=100),
     ValueError, "more than the 100 training examples"),
    (lambda: G.milestone_schedules(0.1, 10, factor=2, milestones=None, epochs=4, train_size=100),
     TypeError, "milestones must be a list of ints"),
    (lambda: G.milestone_schedules(0.0, 10, factor=2, milestones=[2], epochs=4, train_size=100),
     ValueError, "lr must be a finite number > 0"),
    (lambda: G.batch_growth_study(None, lr=0.1, batch_size=4, factor=2, milestones=[1], epochs=2, seeds=[0]),
     TypeError, "data must be lib.core.data.Splits"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
