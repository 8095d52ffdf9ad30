"""Section 6's experiments, sized for the quick and the full budget.

The notebook reads :func:`current` once; the prose glues its fields.  The rates,
the batch size and the networks are the same under both budgets; the quick
budget trains on a subset of MNIST, for fewer epochs, over two seeds, and reads
the plane, the slices and the Hessian on fewer points and examples.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from lib.core import budget


@dataclass(frozen=True)
class Settings:
    # data (None: the whole split of lib.core.data.load_mnist)
    train_examples: int | None   # training images (examples)
    val_examples: int | None     # validation images (examples)
    test_examples: int | None    # test images (examples)
    seeds: tuple                 # seeds: each is pretrained once, then continued by every plan
    batch_size: int              # examples per update
    snapshots_per_epoch: int     # snapshots the SWA plans take per epoch (the cycle is its inverse)
    # the textbook's perceptron: decayed SGD against constant and cyclical SWA
    mlp_lr: float                # eta_0, the pretraining rate (per update)
    mlp_epochs: int              # epochs, the whole budget
    mlp_swa_start: int           # epochs of pretraining before the plans part
    mlp_ema_decay: float         # d of the EMA kept by the constant plan (per update)
    # the small CNN with batch norm
    cnn_channels: int            # channels of the first convolution (the second has twice as many)
    cnn_lr: float                # pretraining rate and SWA rate (per update)
    cnn_epochs: int              # epochs, the whole budget
    cnn_swa_start: int           # epochs of pretraining
    # the plane through three snapshots
    plane_resolution: int        # grid points per axis
    plane_examples: int          # training and test examples each grid point is evaluated on
    # slices along random filter-normalised directions
    slice_alphas: int            # points along each slice, alpha in [-1, 1]
    slice_directions: int        # random directions per solution
    slice_examples: int          # training and test examples each point is evaluated on
    # the largest Hessian eigenvalue
    hessian_examples: int        # training examples the Hessian is taken on
    hessian_iterations: int      # power iterations
    # the explorer
    explorer_epochs: int         # epochs each setting continues the checkpoint for
    explorer_precompute: bool    # train every setting up front (the sliders then answer at once)


FULL = Settings(
    train_examples=None, val_examples=None, test_examples=None, seeds=(0, 1, 2), batch_size=128,
    snapshots_per_epoch=4,
    mlp_lr=1.0, mlp_epochs=16, mlp_swa_start=12, mlp_ema_decay=0.998,
    cnn_channels=8, cnn_lr=0.2, cnn_epochs=4, cnn_swa_start=2,
    plane_resolution=15, plane_examples=5000,
    slice_alphas=21, slice_directions=4, slice_examples=2000,
    hessian_examples=2000, hessian_iterations=20,
    explorer_epochs=1, explorer_precompute=True,
)
QUICK = replace(
    FULL, train_examples=3000, val_examples=1000, test_examples=2000, seeds=(0, 1),
    mlp_epochs=4, mlp_swa_start=3, cnn_epochs=3,
    plane_resolution=7, plane_examples=1000,
    slice_alphas=11, slice_directions=2, slice_examples=500,
    hessian_examples=500, hessian_iterations=8,
    explorer_precompute=False,
)


def current() -> Settings:
    """The settings of the budget in force (``$LR_BOOK_BUDGET``, :mod:`lib.core.budget`)."""
    return budget.pick(quick=QUICK, full=FULL)
