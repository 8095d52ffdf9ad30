"""Training with stochastic weight averaging, on ``torch.optim.swa_utils`` and the core's loop (section 6).

A run has two phases, as in Izmailov et al. (2018) and PyTorch's recipe:
:func:`pretrain` (plain mini-batch SGD at a constant rate, ``torch.optim.SGD``)
and :func:`continue_run`, which follows one :class:`~lib.swa.plans.SWAPlan` from
that :class:`Checkpoint`.  Both run on the core's single-network loop
(:func:`lib.core.loop.train_steps`) with the batches of the chapter's one data
order (:class:`lib.core.order.DataOrder`): the checkpoint keeps the order's
generator, and continuing picks the order up where pretraining stopped (both
phases are whole epochs), so pretraining plus continuing at the same rate is
one run of the grid engine, which the tests check.

PyTorch's three pieces do the averaging:

* :class:`~torch.optim.swa_utils.AveragedModel` keeps the running mean of the
  snapshots :math:`w_1, \\dots, w_n` it is given,
  :math:`\\bar w_n = \\bar w_{n-1} + (w_n - \\bar w_{n-1})/n` (the update of the
  paper's Algorithm 1); with ``multi_avg_fn=get_ema_multi_avg_fn(d)`` it keeps
  the exponential moving average :math:`\\bar w \\leftarrow d\\,\\bar w + (1 - d)\\,w`;
* :class:`~torch.optim.swa_utils.SWALR` sets the constant plan's rates
  (:meth:`~lib.swa.plans.SWAPlan.learning_rates`);
* batch-norm statistics are recomputed with one pass over training data, as
  :func:`~torch.optim.swa_utils.update_bn` does, but with every example weighing
  the same (:func:`recompute_bn`; ``update_bn`` averages per-batch statistics, so
  a small last batch counts as much as a full one).  The averaged
  weights never ran a forward pass during training, so the running statistics
  they carry belong to the last SGD iterate: evaluating without this pass is
  SWA's one trap.

The snapshots, the EMA and the validation tracking happen in the loop's
``on_step`` callback.  :func:`compare` runs several plans over several seeds,
all plans of one seed from the same checkpoint, so they differ only in what
they do after it.  The networks are ordinary ``nn.Module`` objects, because
``AveragedModel`` and ``update_bn`` want one (and because, on a CPU, the small
convolutional network trains about three times faster this way than through
``vmap`` in :func:`lib.core.engine.train_grid`).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from lib.core import checks, models
from lib.core.data import Splits
from lib.core.evaluate import evaluate
from lib.core.loop import train_steps
from lib.core.models import build_model
from lib.core.order import DataOrder, steps_per_epoch

from .plans import SWAPlan

#: Examples per evaluation chunk: for the convolutional network on a CPU, chunks of
#: 512 are about three times faster than the engine's default of 8,192.
EVAL_CHUNK = 512


@dataclass
class Checkpoint:
    """The end of the first phase: the network, its rate, and where the data order stands.

    Attributes:
        model (nn.Module): the pretrained network.
        lr (float): the constant rate it was trained at (per update).
        seed (int): its initial weights' and data order's seed.
        batch_size (int): examples per update.
        epochs (int): epochs of pretraining.
        step (int): updates done.
        generator_state (Tensor): the data order's generator after the last epoch.
        step_loss (ndarray, (step,)): the mini-batch loss of each update.
    """

    model: nn.Module
    lr: float
    seed: int
    batch_size: int
    epochs: int
    step: int
    generator_state: torch.Tensor = field(repr=False)
    step_loss: np.ndarray = field(repr=False)

    @property
    def batch_norm(self) -> bool:
        """True when the network has batch norm."""
        return models.has_batch_norm(self.model)


def pretrain(data: Splits, *, model="textbook", lr: float, epochs: int, batch_size: int = 128,
             seed: int = 0) -> Checkpoint:
    """The first phase: ``epochs`` epochs of plain mini-batch SGD (``torch.optim.SGD``) at rate ``lr``.

    Args:
        data (Splits): the training data (int64 class labels).
        model (str or callable): a name in :data:`lib.core.models.MODELS` or a factory
            ``init_seed -> nn.Module``. Default ``"textbook"``.
        lr (float): the constant rate (per update), > 0.
        epochs (int): epochs, >= 0; 0 returns the initial network.
        batch_size (int): examples per update, in [1, n]. Default 128.
        seed (int): fixes the initial weights and the data order. Default 0.

    Returns:
        Checkpoint: the network after ``epochs * steps_per_epoch`` updates.

    Raises:
        TypeError: ``data`` is not a ``Splits``, or an argument of the wrong type.
        ValueError: a value out of range, or a loss that became non-finite (choose a smaller rate).
    """
    data = checks.splits(data, classification=True)
    lr = checks.positive(lr, "lr")
    epochs = checks.integer(epochs, "epochs", minimum=0)
    n = data.x_train.shape[0]
    batch_size = checks.batch_size(batch_size, n)
    seed = checks.seed(seed)
    network = build_model(model, seed).to(data.x_train.device)
    checks.data_for(data, model=network)                                  # before any step
    order = DataOrder(n, seed=seed)
    steps = epochs * steps_per_epoch(n, batch_size)
    losses = np.zeros(0)
    if steps:
        optimizer = torch.optim.SGD(network.parameters(), lr=lr)
        run = train_steps(network, optimizer, data.x_train, data.y_train, order.stream(batch_size),
                          np.full(steps, lr))
        if run.diverged:
            raise ValueError(f"pretraining at lr={lr:g} diverged at step {run.stopped_at} (non-finite loss); "
                             "choose a smaller rate")
        losses = run.losses
    return Checkpoint(network, lr, seed, batch_size, epochs, steps, order.generator.get_state(), losses)


@dataclass
class SWARun:
    """One plan followed from one checkpoint.

    Steps are counted from the checkpoint (0-based).

    Attributes:
        plan (SWAPlan): what the run did.
        seed (int): the checkpoint's seed.
        start_lr (float): the checkpoint's rate.
        start_step (int): updates before the checkpoint.
        steps_per_epoch (int): updates per epoch.
        rates (ndarray, (steps,)): the rate of each update.
        step_loss (ndarray, (steps,)): the mini-batch loss before each update (NaN from a divergence on).
        snapshot_steps (ndarray, (snapshots,)): the updates after which the average took a snapshot.
        average_val_acc, iterate_val_acc (ndarray, (snapshots,)): with ``track``, the validation
            accuracy of the running average and of the iterate at each snapshot (NaN otherwise).
        iterate (nn.Module or None): the last SGD iterate.
        average (nn.Module or None): the SWA network, batch-norm statistics recomputed by :func:`recompute_bn`.
        average_stale_bn (nn.Module or None): the same weights with the statistics they inherited
            (``None`` without batch norm).
        ema (nn.Module or None): the exponential moving average (statistics recomputed).
        snapshots (list of dict or None): with ``keep_snapshots``, each snapshot's parameters.
        diverged_at (int): the step at which the loss became non-finite, or -1; a diverged run
            has no final networks.
        seconds (float): wall-clock time of the run.
    """

    plan: SWAPlan
    seed: int
    start_lr: float
    start_step: int
    steps_per_epoch: int
    rates: np.ndarray
    step_loss: np.ndarray
    snapshot_steps: np.ndarray
    average_val_acc: np.ndarray
    iterate_val_acc: np.ndarray
    iterate: nn.Module | None
    average: nn.Module | None
    average_stale_bn: nn.Module | None
    ema: nn.Module | None
    snapshots: list[dict[str, torch.Tensor]] | None
    diverged_at: int
    seconds: float

    @property
    def diverged(self) -> bool:
        """True when the loss became non-finite."""
        return self.diverged_at >= 0

    @property
    def update_epochs(self) -> np.ndarray:
        """(steps,): the epoch (from the start of training) at the end of each update of the run."""
        return (self.start_step + np.arange(1, len(self.rates) + 1)) / self.steps_per_epoch

    @property
    def snapshot_epochs(self) -> np.ndarray:
        """(snapshots,): epochs (from the start of training) at which the snapshots were taken."""
        return (self.start_step + self.snapshot_steps + 1) / self.steps_per_epoch


def bn_batches(x: torch.Tensor, batch_size: int = 512) -> list[torch.Tensor]:
    """Consecutive batches of ``x``: the loader :func:`~torch.optim.swa_utils.update_bn` reads.

    Raises:
        TypeError: ``x`` is not a non-empty tensor, ``batch_size`` not an int.
        ValueError: ``batch_size`` < 1.
    """
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[0] == 0:
        raise TypeError("x must be a non-empty torch.Tensor of inputs")
    batch_size = checks.integer(batch_size, "batch_size", minimum=1)
    return [x[i:i + batch_size] for i in range(0, x.shape[0], batch_size)]


def recompute_bn(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> nn.Module:
    """A copy of ``model`` whose batch-norm statistics are recomputed on ``x``, every example weighing the same.

    What ``torch.optim.swa_utils.update_bn`` does, one pass over ``x`` in batches
    of :func:`bn_batches` in training mode, with one difference: ``update_bn``
    sets each layer's momentum to ``None``, so its running statistics are the
    plain average of the per-batch statistics, and a last batch of one image
    weighs as much as a full one of 512 (over 513 images the mean comes out 15 %
    and the variance 26 % off in the tests).  Here each layer's input is summed
    over all examples instead (per channel: count, sum and sum of squares, in
    float64, by a forward hook), and the layer gets

    .. math:: \\mu = \\frac{1}{N}\\sum_i x_i, \\qquad
              \\sigma^2 = \\frac{1}{N - 1}\\sum_i (x_i - \\mu)^2,

    the mean and the unbiased variance of all N values, as batch norm keeps them.
    For a layer behind another batch-norm layer, its inputs are those of training
    mode in batches of ``batch_size``, as with ``update_bn``.  The copy is returned
    in evaluation mode; without batch norm it is returned unchanged.

    Args:
        model (nn.Module): the network (not changed).
        x (Tensor, (n, ...)): inputs, floating point and finite.
        batch_size (int): examples per forward pass (memory). Default 512.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``; ``x`` is not a floating-point tensor.
        ValueError: ``batch_size`` < 1; ``x`` empty, not finite, or of a shape the model cannot take.
    """
    checks.module(model)
    checks.inputs(x, model)
    batches = bn_batches(x, batch_size)
    fresh = copy.deepcopy(model)
    layers = [m for m in fresh.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not layers:
        fresh.eval()
        return fresh
    sums: dict[nn.Module, list] = {}

    def accumulate(layer, inputs, _output):
        (value,) = inputs                                                # (B, C) or (B, C, H, W)
        wide = value.to(torch.float32 if value.device.type == "mps" else torch.float64)   # MPS has no float64
        dims = [d for d in range(value.dim()) if d != 1]                 # all but the channel axis
        total = sums.setdefault(layer, [0, 0.0, 0.0])
        total[0] += value.numel() // value.shape[1]
        total[1] = total[1] + wide.sum(dims)                             # (C,)
        total[2] = total[2] + wide.pow(2).sum(dims)

    hooks = [layer.register_forward_hook(accumulate) for layer in layers]
    fresh.train()
    try:
        with torch.no_grad():
            for batch in batches:
                fresh(batch)
    finally:
        for hook in hooks:
            hook.remove()
    with torch.no_grad():
        for layer, (count, total, squares) in sums.items():
            mean = total / count
            variance = (squares - count * mean * mean) / max(count - 1, 1)
            layer.running_mean.copy_(mean.to(layer.running_mean.dtype))
            layer.running_var.copy_(variance.clamp_min(0).to(layer.running_var.dtype))
            if layer.num_batches_tracked is not None:          # as update_bn leaves it: one per batch
                layer.num_batches_tracked.fill_(len(batches))
    fresh.eval()
    return fresh


def continue_run(checkpoint: Checkpoint, plan: SWAPlan, data: Splits, *, epochs: int, track: bool = True,
                 keep_snapshots: bool = False, bn_examples: int | None = None) -> SWARun:
    """Follow ``plan`` for ``epochs`` more epochs from ``checkpoint``, averaging with ``AveragedModel``.

    The batches continue the checkpoint's data order.  After every update the
    EMA (if the plan keeps one) takes the iterate; after each of the plan's
    :meth:`~lib.swa.plans.SWAPlan.snapshot_steps` the average does.

    Args:
        checkpoint (Checkpoint): where to start (:func:`pretrain`); left unchanged.
        plan (SWAPlan): what to do (:mod:`lib.swa.plans`).
        data (Splits): the training data, and the validation split ``track`` reads.
        epochs (int): epochs after the checkpoint, >= 1.
        track (bool): measure the validation accuracy of the average and of the
            iterate at every snapshot. Default True.
        keep_snapshots (bool): keep a copy of every snapshot's parameters (to test
            the average, or to draw the plane through them). Default False.
        bn_examples (int or None): for a network with batch norm, :func:`recompute_bn` reads the
            first ``bn_examples`` training images. Default: all of them.

    Returns:
        SWARun: the rates, losses, snapshots and final networks.  A loss that
        becomes non-finite stops the run (``diverged_at``); that is a result, not an error.

    Raises:
        TypeError: ``checkpoint``, ``plan`` or ``data`` of the wrong type; a flag that is not a bool.
        ValueError: ``epochs`` < 1, ``bn_examples`` outside [1, n], ``track`` without a
            validation split, or a phase too short for one snapshot.
    """
    if not isinstance(checkpoint, Checkpoint):
        raise TypeError(f"checkpoint must be a lib.swa.training.Checkpoint (from pretrain), "
                        f"got {type(checkpoint).__name__}")
    if not isinstance(plan, SWAPlan):
        raise TypeError(f"plan must be a lib.swa.plans.SWAPlan (from decay, constant or cyclical), "
                        f"got {type(plan).__name__}")
    data = checks.splits(data, classification=True)
    epochs = checks.integer(epochs, "epochs", minimum=1)
    track = checks.flag(track, "track")
    keep_snapshots = checks.flag(keep_snapshots, "keep_snapshots")
    n = data.x_train.shape[0]
    bn_examples = n if bn_examples is None else checks.integer(bn_examples, "bn_examples", minimum=1, maximum=n)
    if track and data.x_val is None:
        raise ValueError("track=True measures validation accuracy, but data has no validation split")
    per_epoch = steps_per_epoch(n, checkpoint.batch_size)
    steps = epochs * per_epoch
    rates = plan.learning_rates(checkpoint.lr, steps)
    snapshot_steps = plan.snapshot_steps(steps)

    started = time.perf_counter()
    model = copy.deepcopy(checkpoint.model)
    batch_norm = models.has_batch_norm(model)
    bn_x = data.x_train[:bn_examples]
    optimizer = torch.optim.SGD(model.parameters(), lr=float(rates[0]))
    generator = torch.Generator()
    generator.set_state(checkpoint.generator_state)
    swa = AveragedModel(model) if plan.averages else None
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(plan.ema_decay)) if plan.ema_decay else None
    is_snapshot = np.zeros(steps, dtype=bool)
    is_snapshot[snapshot_steps] = True
    snapshots = [] if keep_snapshots else None
    average_acc = np.full(len(snapshot_steps), np.nan)
    iterate_acc = np.full(len(snapshot_steps), np.nan)
    taken = 0

    def on_step(step: int, _loss: float) -> None:
        nonlocal taken
        if ema is not None:
            ema.update_parameters(model)
        if not is_snapshot[step]:
            return
        swa.update_parameters(model)
        if keep_snapshots:
            snapshots.append({k: p.detach().clone() for k, p in model.named_parameters()})
        if track:
            current = recompute_bn(swa.module, bn_x) if batch_norm else swa.module
            average_acc[taken] = evaluate(current, data.x_val, data.y_val, chunk=EVAL_CHUNK)[1]
            iterate_acc[taken] = evaluate(model, data.x_val, data.y_val, chunk=EVAL_CHUNK)[1]
            model.train()
        taken += 1

    batches = DataOrder(n, generator=generator).stream(checkpoint.batch_size)
    result = train_steps(model, optimizer, data.x_train, data.y_train, batches, rates, on_step=on_step)
    losses = result.losses
    if result.diverged:
        losses[result.stopped_at] = np.nan      # the non-finite loss: the record holds no loss from there on
    model.eval()
    iterate = average = stale = ema_model = None
    if not result.diverged:
        iterate = model
        if swa is not None:
            # With use_buffers=False (the default) AveragedModel copies the *iterate's* buffers:
            # the batch-norm statistics the averaged weights inherit are stale.
            stale = copy.deepcopy(swa.module).eval() if batch_norm else None
            average = recompute_bn(swa.module, bn_x) if batch_norm else copy.deepcopy(swa.module).eval()
        if ema is not None:
            ema_model = recompute_bn(ema.module, bn_x) if batch_norm else copy.deepcopy(ema.module).eval()
    return SWARun(plan=plan, seed=checkpoint.seed, start_lr=checkpoint.lr, start_step=checkpoint.step,
                  steps_per_epoch=per_epoch, rates=rates, step_loss=losses, snapshot_steps=snapshot_steps,
                  average_val_acc=average_acc, iterate_val_acc=iterate_acc, iterate=iterate, average=average,
                  average_stale_bn=stale, ema=ema_model, snapshots=snapshots, diverged_at=result.stopped_at,
                  seconds=time.perf_counter() - started)


@dataclass
class Comparison:
    """What :func:`compare` trained.

    Attributes:
        runs (dict[str, list[SWARun]]): by plan name, one run per seed (in the order of ``seeds``).
        checkpoints (dict[int, Checkpoint]): each seed's checkpoint, which all its plans continued.
    """

    runs: dict[str, list[SWARun]]
    checkpoints: dict[int, Checkpoint]


def compare(data: Splits, plans: Sequence[SWAPlan], *, model="textbook", lr: float, epochs: int, swa_start: int,
            batch_size: int = 128, seeds: Sequence[int] = (0,), track: bool = True,
            keep_snapshots: bool = False, bn_examples: int | None = None) -> Comparison:
    """Every plan over every seed, at the same budget of ``epochs`` epochs.

    Each seed is pretrained once (:func:`pretrain`), for ``swa_start`` epochs at
    rate ``lr``; every plan then continues from that checkpoint for the remaining
    ``epochs - swa_start`` epochs (:func:`continue_run`).

    Args:
        data, model, lr, batch_size: as :func:`pretrain`.
        plans (list[SWAPlan]): the plans, with distinct names.
        epochs (int): the whole budget in epochs, >= 1.
        swa_start (int): epochs of pretraining, in [0, ``epochs``).
        seeds (list[int]): the seeds. Default ``(0,)``.
        track, keep_snapshots, bn_examples: as :func:`continue_run`.

    Returns:
        Comparison: the runs by plan name and the checkpoints by seed.

    Raises:
        TypeError: ``plans`` is not a non-empty list of ``SWAPlan``, bad ``seeds``.
        ValueError: ``swa_start >= epochs``, repeated plan names or seeds; and what
            :func:`pretrain` and :func:`continue_run` raise.
    """
    epochs = checks.integer(epochs, "epochs", minimum=1)
    swa_start = checks.integer(swa_start, "swa_start", minimum=0)
    if swa_start >= epochs:
        raise ValueError(f"averaging would start at epoch {swa_start}, but training ends after {epochs} "
                         "epochs; swa_start must be < epochs")
    plans = list(plans) if isinstance(plans, Sequence) else plans
    if not isinstance(plans, list) or not plans or not all(isinstance(p, SWAPlan) for p in plans):
        raise TypeError("plans must be a non-empty list of lib.swa.plans.SWAPlan")
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise ValueError(f"plan names must be distinct (set label=...), got {names}")
    seeds = checks.seeds(seeds)
    runs: dict[str, list[SWARun]] = {name: [] for name in names}
    checkpoints = {}
    for seed in seeds:
        checkpoint = pretrain(data, model=model, lr=lr, epochs=swa_start, batch_size=batch_size, seed=seed)
        checkpoints[seed] = checkpoint
        for plan in plans:
            runs[plan.name].append(continue_run(checkpoint, plan, data, epochs=epochs - swa_start, track=track,
                                                keep_snapshots=keep_snapshots, bn_examples=bn_examples))
    return Comparison(runs, checkpoints)
