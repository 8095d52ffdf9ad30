"""The sizes of the batch-size-and-hardware experiments under the quick and the full budget.

The notebook reads them once (``S = settings.current()``); ``FULL`` is the book
as readers see it, ``QUICK`` shrinks it to seconds for tests and CI
(:mod:`lib.core.budget`).  Every time here is wall-clock time on the machine
that builds the book.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lib.core import budget


@dataclass(frozen=True)
class Settings:
    """Throughput, the data-parallel experiments and the cheap steps-to-target sweep."""

    # throughput (in the notebook's own process)
    throughput_batches: tuple[int, ...]   # examples per update, increasing
    cnn_batches: tuple[int, ...]          # the same for the (slower) CNN
    repeats: int                          # timings per batch size; the best one counts
    min_seconds: float                    # seconds each timing runs at least (updates are repeated until then)
    # data for the data-parallel runs
    n_train: int                          # training examples handed to the workers
    n_val: int                            # validation examples (the scaling runs' final loss)
    workers: tuple[int, ...]              # process counts W timed (1 first)
    # (a)/(b) equivalence and what breaks it, float64
    global_batch: int                     # examples per update B, split B/W per process
    steps: int                            # updates compared
    rate: float                           # learning rate (per update)
    padded_examples: int                  # examples of the unequal-shard pass (not a multiple of W)
    # (c) cost, float32
    timing_batch: int                     # global batch of the timed updates
    timing_updates: int                   # updates per timing
    timing_repeats: int                   # timings per W; the best one counts
    # float32 elements all-reduced on their own (latency + bandwidth fit).  Most sizes lie above the
    # latency/bandwidth crossover alpha / beta (a few hundred thousand elements over shared memory):
    # the robust fit needs a majority of points on the bandwidth line, and below the crossover a
    # shared machine's scheduling jitter (a millisecond) is all the timings show.
    allreduce_sizes: tuple[int, ...]
    # (d) the noise scale from local and all-reduced gradients
    noise_batch: int                      # global batch; each process's local batch is noise_batch / W
    noise_draws: int                      # batches drawn at fixed weights
    noise_pretrain: int                   # SGD updates before the weights are fixed
    noise_examples: int                   # examples of the per-example estimator that checks it
    # (e) linear scaling with warm-up, data-parallel
    scaling_batches: tuple[int, ...]      # global batch sizes
    scaling_base_batch: int               # the batch size whose rate is scaling_base_rate
    scaling_base_rate: float              # learning rate (per update) at scaling_base_batch
    scaling_epochs: int                   # epochs each trains
    warmup_epochs: float                  # epochs of linear warm-up (Goyal et al.)
    warmup_start_factor: float            # first warm-up rate / rate
    # time to target: a cheap rerun of section 4's sweep (lib.batch_size.batch_sweep.run_sweep),
    # its rates a subset of section 4's (lib.batch_size.settings.FULL.rates)
    sweep_n_train: int                    # training examples
    sweep_n_val: int                      # validation examples
    sweep_batches: tuple[int, ...]        # batch sizes
    sweep_rates: tuple[float, ...]        # learning rates (per update)
    sweep_seeds: tuple[int, ...]          # seeds
    sweep_epochs: int                     # epochs
    launch_timeout: float                 # seconds a torchrun launch may take before it is killed


FULL = Settings(
    throughput_batches=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096),
    cnn_batches=(1, 4, 16, 64, 256, 1024, 4096),
    repeats=5, min_seconds=0.02,
    n_train=8192, n_val=1000, workers=(1, 2),
    global_batch=64, steps=20, rate=0.5, padded_examples=1001,
    timing_batch=256, timing_updates=20, timing_repeats=3,
    allreduce_sizes=(1_000, 100_000, 1_000_000, 4_000_000, 16_000_000),
    noise_batch=256, noise_draws=64, noise_pretrain=50, noise_examples=2048,
    scaling_batches=(32, 128, 512), scaling_base_batch=32, scaling_base_rate=0.25,
    scaling_epochs=3, warmup_epochs=1.0, warmup_start_factor=0.1,
    sweep_n_train=8192, sweep_n_val=1000,
    sweep_batches=(16, 64, 256, 1024), sweep_rates=(0.5, 1.0, 2.0), sweep_seeds=(0,), sweep_epochs=3,
    launch_timeout=300.0,
)

QUICK = dataclasses.replace(
    FULL,
    throughput_batches=(1, 4, 16, 64, 256, 1024, 4096),
    cnn_batches=(1, 16, 256),
    repeats=3, min_seconds=0.01,
    n_train=2048, n_val=500,
    steps=5, timing_updates=10, timing_repeats=3,
    allreduce_sizes=(1_000, 1_000_000, 4_000_000, 16_000_000),
    noise_draws=16, noise_pretrain=10, noise_examples=512,
    scaling_epochs=2,
    sweep_n_train=2048, sweep_n_val=500,
    sweep_batches=(16, 64, 256), sweep_rates=(1.0, 2.0), sweep_epochs=3,
    launch_timeout=120.0,
)


def current() -> Settings:
    """The settings of the budget in force (``$LR_BOOK_BUDGET``)."""
    return budget.pick(quick=QUICK, full=FULL)
