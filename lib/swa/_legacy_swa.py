"""Stochastic weight averaging: keep the rate up, average the weights it visits (section 6).

Izmailov et al. (2018) train as usual for most of the budget, then, instead of
decaying the learning rate to zero, hold it high (constant) or cycle it, and
average the weights SGD visits.  Everything here is built on PyTorch's own
implementation, :mod:`torch.optim.swa_utils`:

* :class:`~torch.optim.swa_utils.AveragedModel` keeps the running average of the
  snapshots :math:`w_1, \\dots, w_n` it is given,
  :math:`\\bar w_n = \\bar w_{n-1} + (w_n - \\bar w_{n-1})/n`, i.e. their mean
  (the update of the paper's Algorithm 1); with
  ``multi_avg_fn=get_ema_multi_avg_fn(d)`` it keeps the exponential moving
  average :math:`\\bar w \\leftarrow d\\,\\bar w + (1 - d)\\,w` instead;
* :class:`~torch.optim.swa_utils.SWALR` anneals the rate from its current value
  to a constant ``swa_lr`` over ``anneal_epochs`` scheduler steps (linearly or
  along a half cosine) and then holds it;
* :func:`~torch.optim.swa_utils.update_bn` recomputes batch-norm statistics with
  one pass over training data.  The averaged weights never ran a forward pass
  during training, so the running statistics the network carries belong to
  the last SGD iterate, not to the average: evaluating without this pass is
  SWA's one trap.

The paper's cyclical rate (their eq. 2) is :func:`cyclical_lr`: within each cycle
of :math:`c` iterations the rate falls linearly from :math:`\\alpha_1` to
:math:`\\alpha_2`,

.. math:: \\alpha(i) = (1 - t(i))\\,\\alpha_1 + t(i)\\,\\alpha_2, \\qquad
          t(i) = \\frac{\\operatorname{mod}(i - 1, c) + 1}{c},

and a snapshot is taken at the end of each cycle, where the rate is lowest.

A run has two phases, as in the paper and in PyTorch's recipe: :func:`pretrain`
(plain mini-batch SGD at a constant rate) and :func:`continue_run`, which follows
one :class:`SWAPlan` from that checkpoint: :func:`decay` (the SGD baseline: the
rate decays linearly, nothing is averaged), :func:`constant` (SWALR, a snapshot
every few steps, optionally an EMA of every step) or :func:`cyclical`.  All
plans of one seed continue from the same checkpoint and see the same batches,
so they differ only in what they do after it.  The networks are ordinary
``nn.Module`` objects trained by an ordinary loop (``torch.optim.SGD``), because
``AveragedModel`` and ``update_bn`` want one (and because, on a CPU, the small
convolutional network trains about three times faster this way than through
``vmap`` in :func:`lib.train.train_grid`); the batches follow the engine's order
(one ``torch.randperm`` per epoch from a generator seeded with the run's seed),
so a pretraining run equals the engine's, which the tests check.
:func:`compare` runs several plans over several seeds, :func:`metrics_table`
measures every final network.

:func:`plane_basis` and :func:`plane_losses` draw the paper's figure 1: the loss
on the plane through three snapshots (Garipov et al. 2018's construction), with
:func:`plane_coordinates` placing any weights, such as the average, on it.
:func:`slice_curves` reads the loss along random filter-normalised directions
with the tools of section 5 (:mod:`lib.weight_space`).  The figures of the
section, the numbers its prose glues (:func:`glue_seed_summary`,
:func:`glue_paired_difference`) and its widget (:class:`CyclicalExplorer`) close
the module.
"""
from __future__ import annotations

import copy
import functools
import html
import math
import time
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Mapping, Sequence

from matplotlib.ticker import MaxNLocator
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LinearLR
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn

from . import glue, plots, widgets
from .data import Splits
from .device import seeded_generator
from .models import build_model
from .train import Member, evaluate, evaluate_stacked, learning_rates

PLAN_KINDS = ("decay", "constant", "cyclical")
ANNEAL_STRATEGIES = ("linear", "cos")
TRAIN_EVAL_SIZE = 10_000  # training metrics on the first 10,000 training images, as lib.train does


# --------------------------------------------------------------------------- checks

def _check_rate(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def _check_int(value, name: str, minimum: int, meaning: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}{meaning}, got {value}")
    return int(value)


def _check_data(data) -> Splits:
    if not isinstance(data, Splits):
        raise TypeError(f"data must be lib.data.Splits (e.g. from load_mnist), got {type(data).__name__}")
    if data.y_train.dtype != torch.int64:
        raise ValueError("stochastic weight averaging here is for classification: data.y_train must hold "
                         "int64 class labels")
    return data


def _has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


#: Examples per evaluation chunk: for the convolutional network on a CPU, chunks of
#: 512 are about three times faster than the engine's default of 8,192.
EVAL_CHUNK = 512


# --------------------------------------------------------------------------- learning rates

def cyclical_lr(step, alpha_1: float, alpha_2: float, cycle: int):
    """The cyclical rate of Izmailov et al. (2018), their eq. (2), at 0-based ``step``.

    With the paper's 1-based iteration :math:`i` = ``step + 1``:
    :math:`\\alpha(i) = (1 - t(i))\\,\\alpha_1 + t(i)\\,\\alpha_2`,
    :math:`t(i) = (\\operatorname{mod}(i - 1, c) + 1)/c`.  Within each cycle of
    :math:`c` = ``cycle`` steps the rate falls linearly and reaches
    :math:`\\alpha_2` at the cycle's last step; the next step jumps back up.
    ``cycle=1`` gives the constant rate :math:`\\alpha_2`.  ``step`` may be an int
    or an integer array (then an array is returned).
    """
    alpha_1 = _check_rate(alpha_1, "alpha_1")
    alpha_2 = _check_rate(alpha_2, "alpha_2")
    if alpha_2 > alpha_1:
        raise ValueError(f"alpha_2 = {alpha_2:g} exceeds alpha_1 = {alpha_1:g}: within a cycle the rate "
                         "falls from alpha_1 to alpha_2 (Izmailov et al. 2018, eq. 2), so alpha_2 <= alpha_1")
    cycle = _check_int(cycle, "cycle", 1, " (the number of steps per cycle)")
    scalar = isinstance(step, Integral) and not isinstance(step, bool)
    steps = np.asarray(step)
    if steps.dtype == bool or not np.issubdtype(steps.dtype, np.integer):
        raise TypeError(f"step must be an int or an array of ints, got {step!r}")
    if (steps < 0).any():
        raise ValueError("step must be >= 0 (steps are counted from 0)")
    i = steps + 1
    t = (np.mod(i - 1, cycle) + 1) / cycle
    rates = (1 - t) * alpha_1 + t * alpha_2
    return float(rates) if scalar else rates.astype(np.float64)


@dataclass(frozen=True)
class SWAPlan:
    """What a run does after its checkpoint; build one with :func:`decay`, :func:`constant` or :func:`cyclical`.

    ``kind``: ``"decay"`` (plain SGD, the rate decays linearly to ``final_lr``,
    nothing averaged), ``"constant"`` (SWALR to ``swa_lr``, a snapshot every
    ``every`` steps) or ``"cyclical"`` (eq. 2 with ``alpha_1``, ``alpha_2`` and a
    cycle of ``every`` steps, a snapshot at each cycle's end).  ``ema_decay``
    also keeps an exponential moving average of every iterate.
    """

    kind: str
    every: int | None = None
    final_lr: float | None = None
    swa_lr: float | None = None
    anneal_steps: int = 0
    anneal_strategy: str = "linear"
    alpha_1: float | None = None
    alpha_2: float | None = None
    ema_decay: float | None = None
    label: str | None = None

    def __post_init__(self):
        if self.kind not in PLAN_KINDS:
            raise ValueError(f"kind must be one of {', '.join(PLAN_KINDS)}; got {self.kind!r}")
        if self.kind == "decay":
            _check_rate(self.final_lr, "final_lr")
        elif self.kind == "constant":
            _check_rate(self.swa_lr, "swa_lr")
            _check_int(self.every, "every", 1, " (steps between snapshots)")
            _check_int(self.anneal_steps, "anneal_steps", 0)
            if self.anneal_strategy not in ANNEAL_STRATEGIES:
                raise ValueError(f"anneal_strategy must be one of {', '.join(ANNEAL_STRATEGIES)}; "
                                 f"got {self.anneal_strategy!r}")
        else:
            cyclical_lr(0, self.alpha_1, self.alpha_2, self.every)   # the formula's own checks
        if self.ema_decay is not None and (isinstance(self.ema_decay, bool) or not isinstance(self.ema_decay, Real)
                                           or not 0 < self.ema_decay < 1):
            raise ValueError(f"ema_decay must be a number in (0, 1) or None, got {self.ema_decay!r}")

    @property
    def averages(self) -> bool:
        """True when the plan keeps an equal-weight average (SWA)."""
        return self.kind != "decay"

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.kind == "decay":
            return f"SGD, rate decayed to {self.final_lr:g}"
        if self.kind == "constant":
            return f"SWA, constant rate {self.swa_lr:g}"
        return f"SWA, cyclical {self.alpha_1:g} to {self.alpha_2:g}"

    def learning_rates(self, start_lr: float, steps: int) -> np.ndarray:
        """The rate of each of the ``steps`` updates after a checkpoint trained at ``start_lr``.

        ``decay``: ``torch.optim.lr_scheduler.LinearLR`` from ``start_lr`` towards
        ``final_lr``; ``constant``: :class:`~torch.optim.swa_utils.SWALR`;
        ``cyclical``: :func:`cyclical_lr`.  The schedulers are read through
        :func:`lib.train.learning_rates`, stepped once per update.
        """
        start_lr = _check_rate(start_lr, "start_lr")
        steps = _check_int(steps, "steps", 1)
        if self.kind == "cyclical":
            return cyclical_lr(np.arange(steps), self.alpha_1, self.alpha_2, self.every)
        if self.kind == "decay":
            if self.final_lr > start_lr:
                raise ValueError(f"final_lr = {self.final_lr:g} is above the rate {start_lr:g} it decays "
                                 "from; a decay needs final_lr <= start_lr")
            schedule = functools.partial(LinearLR, start_factor=1.0, end_factor=self.final_lr / start_lr,
                                         total_iters=steps)
        else:
            schedule = functools.partial(SWALR, swa_lr=self.swa_lr, anneal_epochs=self.anneal_steps,
                                         anneal_strategy=self.anneal_strategy)
        return learning_rates(Member(lr=start_lr, schedule=schedule), steps)

    def snapshot_steps(self, steps: int) -> np.ndarray:
        """0-based steps after whose update the average takes a snapshot (none for ``decay``).

        Every ``every``-th step: the end of each cycle.  A phase too short for a
        single snapshot is an error.
        """
        steps = _check_int(steps, "steps", 1)
        if not self.averages:
            return np.zeros(0, dtype=np.int64)
        if self.every > steps:
            raise ValueError(f"the averaging phase has {steps} steps, fewer than one cycle of {self.every}: "
                             "no snapshot would ever be taken; shorten the cycle or train longer")
        return np.arange(self.every - 1, steps, self.every, dtype=np.int64)


def decay(final_lr: float, *, ema_decay: float | None = None, label: str | None = None) -> SWAPlan:
    """The SGD baseline: the rate falls linearly from the checkpoint's rate to ``final_lr``; no average."""
    return SWAPlan("decay", final_lr=final_lr, ema_decay=ema_decay, label=label)


def constant(swa_lr: float, every: int, *, anneal_steps: int = 0, anneal_strategy: str = "linear",
             ema_decay: float | None = None, label: str | None = None) -> SWAPlan:
    """SWA with PyTorch's ``SWALR``: anneal to ``swa_lr`` over ``anneal_steps`` steps, hold it,
    and average a snapshot every ``every`` steps."""
    return SWAPlan("constant", every=every, swa_lr=swa_lr, anneal_steps=anneal_steps,
                   anneal_strategy=anneal_strategy, ema_decay=ema_decay, label=label)


def cyclical(alpha_1: float, alpha_2: float, cycle: int, *, ema_decay: float | None = None,
             label: str | None = None) -> SWAPlan:
    """SWA with the paper's cyclical rate (:func:`cyclical_lr`), a snapshot at the end of every cycle."""
    return SWAPlan("cyclical", every=cycle, alpha_1=alpha_1, alpha_2=alpha_2, ema_decay=ema_decay, label=label)


# --------------------------------------------------------------------------- training

def _epoch_orders(n: int, generator: torch.Generator):
    """One ``torch.randperm`` per epoch, as :func:`lib.train.train_grid` draws them."""
    while True:
        yield torch.randperm(n, generator=generator)


@dataclass
class Checkpoint:
    """The end of the first phase: the network, its rate, and where the data order stands."""

    model: nn.Module
    lr: float
    seed: int
    batch_size: int
    epochs: int
    step: int                          # updates done
    generator_state: torch.Tensor = field(repr=False)
    step_loss: np.ndarray = field(repr=False)

    @property
    def batch_norm(self) -> bool:
        return _has_batch_norm(self.model)


def _sgd_epochs(model: nn.Module, optimizer: torch.optim.Optimizer, data: Splits, generator: torch.Generator,
                batch_size: int, rates: np.ndarray, on_step=None) -> tuple[np.ndarray, int]:
    """Run ``len(rates)`` updates of mini-batch SGD; returns the batch losses and the diverged step (or -1).

    A non-finite loss stops the run: the step is recorded as diverged, the rest of the losses are NaN.
    """
    n = data.x_train.shape[0]
    per_epoch = -(-n // batch_size)
    losses = np.full(len(rates), np.nan)
    model.train()
    step = 0
    for order in _epoch_orders(n, generator):
        order = order.to(data.x_train.device)
        for j in range(per_epoch):
            if step == len(rates):
                return losses, -1
            index = order[j * batch_size:(j + 1) * batch_size]
            for group in optimizer.param_groups:
                group["lr"] = float(rates[step])
            loss = F.cross_entropy(model(data.x_train[index]), data.y_train[index])
            value = float(loss.detach())
            if not math.isfinite(value):
                return losses, step
            losses[step] = value
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if on_step is not None:
                on_step(step)
            step += 1
        if step == len(rates):
            return losses, -1


def _steps_per_epoch(data: Splits, batch_size: int) -> int:
    return -(-data.x_train.shape[0] // batch_size)


def pretrain(data: Splits, *, model="textbook", lr: float, epochs: int, batch_size: int = 128,
             seed: int = 0) -> Checkpoint:
    """The first phase: ``epochs`` epochs of plain mini-batch SGD (``torch.optim.SGD``) at rate ``lr``.

    ``model`` is a name in :data:`lib.models.MODELS` or a factory ``init_seed -> nn.Module``;
    ``seed`` fixes both the initial weights and the order of the batches.
    ``epochs=0`` returns the initial network.
    """
    data = _check_data(data)
    lr = _check_rate(lr, "lr")
    epochs = _check_int(epochs, "epochs", 0)
    batch_size = _check_int(batch_size, "batch_size", 1)
    if batch_size > data.x_train.shape[0]:
        raise ValueError(f"batch_size must be at most the {data.x_train.shape[0]} training examples, "
                         f"got {batch_size}")
    seed = _check_int(seed, "seed", 0)
    network = build_model(model, seed).to(data.x_train.device)
    generator = seeded_generator(seed)
    steps = epochs * _steps_per_epoch(data, batch_size)
    losses = np.zeros(0)
    if steps:
        optimizer = torch.optim.SGD(network.parameters(), lr=lr)
        losses, diverged = _sgd_epochs(network, optimizer, data, generator, batch_size, np.full(steps, lr))
        if diverged >= 0:
            raise ValueError(f"pretraining at lr={lr:g} diverged at step {diverged} (non-finite loss); "
                             "choose a smaller rate")
    return Checkpoint(network, lr, seed, batch_size, epochs, steps, generator.get_state(), losses)


@dataclass
class SWARun:
    """One plan followed from one checkpoint.

    Steps are counted from the checkpoint (0-based).  ``rates[t]`` and
    ``step_loss[t]`` are update t's rate and batch loss; the average took its
    snapshots after the updates ``snapshot_steps``, where (with ``track``) the
    validation accuracy of the running average and of the current iterate were
    measured.  ``average`` is the SWA network with batch-norm statistics
    recomputed by ``update_bn``; ``average_stale_bn`` the same weights with the
    statistics they inherited (``None`` without batch norm).  ``diverged_at`` is
    the step at which the loss became non-finite, or -1; a diverged run has no
    final networks.
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
        return self.diverged_at >= 0

    @property
    def snapshot_epochs(self) -> np.ndarray:
        """Epochs (counted from the start of training) at which the snapshots were taken."""
        return (self.start_step + self.snapshot_steps + 1) / self.steps_per_epoch


def bn_batches(x: torch.Tensor, batch_size: int = 512) -> list[torch.Tensor]:
    """Consecutive batches of ``x``: the loader :func:`~torch.optim.swa_utils.update_bn` reads."""
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[0] == 0:
        raise TypeError("x must be a non-empty torch.Tensor of inputs")
    batch_size = _check_int(batch_size, "batch_size", 1)
    return [x[i:i + batch_size] for i in range(0, x.shape[0], batch_size)]


def recompute_bn(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> nn.Module:
    """A copy of ``model`` whose batch-norm statistics are recomputed on ``x`` by ``update_bn``.

    ``update_bn`` resets each layer's running mean and variance and, with the
    layer's momentum set to ``None``, accumulates their plain average over one
    pass (in training mode; the model's mode is restored).  Without batch norm
    the copy is returned unchanged.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    fresh = copy.deepcopy(model)
    with torch.no_grad():
        update_bn(bn_batches(x, batch_size), fresh)
    fresh.eval()
    return fresh


def continue_run(checkpoint: Checkpoint, plan: SWAPlan, data: Splits, *, epochs: int, track: bool = True,
                 keep_snapshots: bool = False, bn_examples: int | None = None) -> SWARun:
    """Follow ``plan`` for ``epochs`` more epochs from ``checkpoint``, averaging with ``AveragedModel``.

    The batches continue the checkpoint's order.  ``track`` measures the
    validation accuracy of the average and of the iterate at every snapshot;
    ``keep_snapshots`` keeps a copy of every snapshot's parameters (to test the
    average, or to draw the plane through them).  For a network with batch
    norm, ``update_bn`` recomputes the average's statistics on the first
    ``bn_examples`` training images (all of them by default).
    """
    if not isinstance(checkpoint, Checkpoint):
        raise TypeError(f"checkpoint must be a lib.swa.Checkpoint (from pretrain), got {type(checkpoint).__name__}")
    if not isinstance(plan, SWAPlan):
        raise TypeError(f"plan must be a lib.swa.SWAPlan (from decay, constant or cyclical), got {type(plan).__name__}")
    data = _check_data(data)
    epochs = _check_int(epochs, "epochs", 1, " (averaging must start before training ends)")
    for flag, name in ((track, "track"), (keep_snapshots, "keep_snapshots")):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    n = data.x_train.shape[0]
    bn_examples = n if bn_examples is None else _check_int(bn_examples, "bn_examples", 1)
    if bn_examples > n:
        raise ValueError(f"bn_examples must be at most the {n} training examples, got {bn_examples}")
    if track and data.x_val is None:
        raise ValueError("track=True measures validation accuracy, but data has no validation split")
    per_epoch = _steps_per_epoch(data, checkpoint.batch_size)
    steps = epochs * per_epoch
    rates = plan.learning_rates(checkpoint.lr, steps)
    snapshot_steps = plan.snapshot_steps(steps)

    started = time.perf_counter()
    model = copy.deepcopy(checkpoint.model)
    batch_norm = _has_batch_norm(model)
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

    def on_step(step: int) -> None:
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

    losses, diverged = _sgd_epochs(model, optimizer, data, generator, checkpoint.batch_size, rates, on_step)
    model.eval()
    iterate = average = stale = ema_model = None
    if diverged < 0:
        iterate = model
        if swa is not None:
            # With use_buffers=False (the default) AveragedModel copies the *iterate's* buffers:
            # the batch-norm statistics the averaged weights inherit are stale.
            stale = copy.deepcopy(swa.module).eval() if batch_norm else None
            average = recompute_bn(swa.module, bn_x) if batch_norm else copy.deepcopy(swa.module).eval()
        if ema is not None:
            ema_model = recompute_bn(ema.module, bn_x) if batch_norm else copy.deepcopy(ema.module).eval()
    return SWARun(plan=plan, seed=checkpoint.seed, start_lr=checkpoint.lr, start_step=checkpoint.step, steps_per_epoch=per_epoch,
                  rates=rates, step_loss=losses, snapshot_steps=snapshot_steps, average_val_acc=average_acc,
                  iterate_val_acc=iterate_acc, iterate=iterate, average=average, average_stale_bn=stale,
                  ema=ema_model, snapshots=snapshots, diverged_at=diverged,
                  seconds=time.perf_counter() - started)


@dataclass
class Comparison:
    """What :func:`compare` trained: the runs by plan name (one per seed) and each seed's checkpoint."""

    runs: dict[str, list[SWARun]]
    checkpoints: dict[int, Checkpoint]


def compare(data: Splits, plans: Sequence[SWAPlan], *, model="textbook", lr: float, epochs: int, swa_start: int,
            batch_size: int = 128, seeds: Sequence[int] = (0,), track: bool = True,
            keep_snapshots: bool = False, bn_examples: int | None = None) -> Comparison:
    """Every plan over every seed, at the same budget of ``epochs`` epochs.

    Each seed is pretrained once, for ``swa_start`` epochs at rate ``lr``; every
    plan then continues from that checkpoint for the remaining
    ``epochs - swa_start`` epochs.
    """
    epochs = _check_int(epochs, "epochs", 1)
    swa_start = _check_int(swa_start, "swa_start", 0)
    if swa_start >= epochs:
        raise ValueError(f"averaging would start at epoch {swa_start}, but training ends after {epochs} "
                         "epochs; swa_start must be < epochs")
    plans = list(plans) if isinstance(plans, Sequence) else plans
    if not isinstance(plans, list) or not plans or not all(isinstance(p, SWAPlan) for p in plans):
        raise TypeError("plans must be a non-empty list of lib.swa.SWAPlan")
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise ValueError(f"plan names must be distinct (set label=...), got {names}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise TypeError("seeds must be a non-empty list of ints")
    runs: dict[str, list[SWARun]] = {name: [] for name in names}
    checkpoints = {}
    for seed in seeds:
        checkpoint = pretrain(data, model=model, lr=lr, epochs=swa_start, batch_size=batch_size, seed=seed)
        checkpoints[seed] = checkpoint
        for plan in plans:
            runs[plan.name].append(continue_run(checkpoint, plan, data, epochs=epochs - swa_start, track=track,
                                                keep_snapshots=keep_snapshots, bn_examples=bn_examples))
    return Comparison(runs, checkpoints)


# --------------------------------------------------------------------------- measuring

RESULT_MODELS = ("iterate", "average", "average_stale_bn", "ema")


def run_metrics(run: SWARun, data: Splits) -> dict[str, dict[str, float]]:
    """Test loss and accuracy (all test images) and training loss and accuracy (first 10,000
    training images) of each final network of ``run``: ``iterate``, ``average``,
    ``average_stale_bn``, ``ema`` (those that exist).  A diverged run gives NaN for all."""
    if not isinstance(run, SWARun):
        raise TypeError(f"run must be a lib.swa.SWARun, got {type(run).__name__}")
    data = _check_data(data)
    if data.x_test is None:
        raise ValueError("data has no test split")
    out = {}
    x_train, y_train = data.x_train[:TRAIN_EVAL_SIZE], data.y_train[:TRAIN_EVAL_SIZE]
    for name in RESULT_MODELS:
        network = getattr(run, name)
        if run.diverged and name in ("iterate", "average"):
            out[name] = dict.fromkeys(("test_loss", "test_acc", "train_loss", "train_acc"), math.nan)
            continue
        if network is None:
            continue
        test_loss, test_acc = evaluate(network, data.x_test, data.y_test, chunk=EVAL_CHUNK)
        train_loss, train_acc = evaluate(network, x_train, y_train, chunk=EVAL_CHUNK)
        out[name] = {"test_loss": test_loss, "test_acc": test_acc, "train_loss": train_loss, "train_acc": train_acc}
    return out


def metrics_table(runs: Mapping[str, Sequence[SWARun]], data: Splits) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """:func:`run_metrics` for every run of ``runs`` (:attr:`Comparison.runs`), gathered over seeds.

    Keys are ``(plan name, network)``, e.g. ``("SWA, constant rate 0.05", "average")``;
    values map each metric to an array with one entry per seed.
    """
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("runs must be a dict of runs by plan name, such as compare(...).runs")
    table: dict[tuple[str, str], dict[str, list[float]]] = {}
    for name, seed_runs in runs.items():
        for run in seed_runs:
            for network, values in run_metrics(run, data).items():
                row = table.setdefault((name, network), {})
                for metric, value in values.items():
                    row.setdefault(metric, []).append(value)
    return {key: {m: np.array(v) for m, v in row.items()} for key, row in table.items()}


# --------------------------------------------------------------------------- the weight plane

def _flatten(params: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).double() for p in params.values()])


def _parameters(weights, what: str) -> dict[str, torch.Tensor]:
    if isinstance(weights, nn.Module):
        weights = {k: p.detach() for k, p in weights.named_parameters()}
    if not isinstance(weights, Mapping) or not weights or \
            not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise TypeError(f"{what} must be an nn.Module or a dict of parameter tensors")
    return dict(weights)


@dataclass(frozen=True)
class PlaneBasis:
    """An affine plane in weight space: ``origin + x * u + y * v``, with orthonormal ``u``, ``v``."""

    names: tuple[str, ...]
    shapes: tuple[torch.Size, ...]
    origin: torch.Tensor = field(repr=False)  # flat, float64
    u: torch.Tensor = field(repr=False)
    v: torch.Tensor = field(repr=False)

    def point(self, x: float, y: float) -> dict[str, torch.Tensor]:
        """The weights at plane coordinates ``(x, y)``, as a parameter dict."""
        return self._unflatten(self.origin + x * self.u + y * self.v)

    def _unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        out, start = {}, 0
        for name, shape in zip(self.names, self.shapes):
            size = int(np.prod(shape)) if len(shape) else 1
            out[name] = flat[start:start + size].reshape(shape).float()
            start += size
        return out


def plane_basis(w1, w2, w3) -> PlaneBasis:
    """The plane through three weight vectors, as Garipov et al. (2018) and Izmailov et al. (2018, fig. 1) draw it.

    :math:`u = w_2 - w_1`, :math:`v = (w_3 - w_1) - \\frac{\\langle w_3 - w_1, u\\rangle}{\\|u\\|^2} u`
    (Gram–Schmidt), both normalised; :math:`w_1` is the origin.  Each ``w`` is an
    ``nn.Module`` or a dict of parameter tensors of the same architecture.
    """
    params = [_parameters(w, f"w{i + 1}") for i, w in enumerate((w1, w2, w3))]
    names = tuple(params[0])
    for i, p in enumerate(params[1:], start=2):
        if tuple(p) != names or any(p[k].shape != params[0][k].shape for k in names):
            raise ValueError(f"w{i} must have the same parameter names and shapes as w1")
    flat = [_flatten(p) for p in params]
    u = flat[1] - flat[0]
    if float(u.norm()) == 0.0:
        raise ValueError("w1 and w2 coincide: three distinct, non-collinear points are needed")
    u = u / u.norm()
    v = flat[2] - flat[0]
    v = v - (v @ u) * u
    if float(v.norm()) <= 1e-12 * float((flat[2] - flat[0]).norm().clamp_min(1e-300)):
        raise ValueError("w1, w2 and w3 are collinear: they do not span a plane")
    v = v / v.norm()
    return PlaneBasis(names, tuple(params[0][k].shape for k in names), flat[0], u, v)


def plane_coordinates(basis: PlaneBasis, weights) -> tuple[float, float]:
    """Coordinates ``(x, y)`` of the projection of ``weights`` onto the plane, and nothing of the rest."""
    if not isinstance(basis, PlaneBasis):
        raise TypeError(f"basis must be a lib.swa.PlaneBasis (from plane_basis), got {type(basis).__name__}")
    params = _parameters(weights, "weights")
    if tuple(params) != basis.names:
        raise ValueError("weights must have the same parameter names as the plane's points")
    offset = _flatten(params) - basis.origin
    return float(offset @ basis.u), float(offset @ basis.v)


def plane_distance(basis: PlaneBasis, weights) -> float:
    """Euclidean distance from ``weights`` to the plane (0 for any point on it)."""
    x, y = plane_coordinates(basis, weights)
    offset = _flatten(_parameters(weights, "weights")) - basis.origin
    return float((offset - x * basis.u - y * basis.v).norm())


def plane_grid(points: Sequence[tuple[float, float]], *, margin: float = 0.35,
               resolution: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates ``(xs, ys)`` covering ``points`` with ``margin`` times their extent on every side."""
    try:
        array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise TypeError("points must be (x, y) pairs") from None
    if len(array) < 2 or not np.isfinite(array).all():
        raise ValueError("points must be at least two finite (x, y) pairs")
    if isinstance(margin, bool) or not isinstance(margin, Real) or not margin >= 0:
        raise ValueError(f"margin must be a number >= 0, got {margin!r}")
    resolution = _check_int(resolution, "resolution", 2)
    low, high = array.min(0), array.max(0)
    pad = margin * (high - low).max()
    return (np.linspace(low[0] - pad, high[0] + pad, resolution),
            np.linspace(low[1] - pad, high[1] + pad, resolution))


def plane_losses(template: nn.Module, basis: PlaneBasis, xs, ys, x: torch.Tensor, y: torch.Tensor, *,
                 chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy on ``(x, y)`` at every grid point of the plane.

    Returns two arrays of shape ``(len(ys), len(xs))`` (rows: ``ys``).  The grid's
    weights are stacked and evaluated ``chunk`` points at a time with
    :func:`lib.train.evaluate_stacked`.  ``template`` gives the architecture; it
    must have no batch norm (every point would need its own statistics).
    """
    if not isinstance(template, nn.Module):
        raise TypeError(f"template must be an nn.Module, got {type(template).__name__}")
    if not isinstance(basis, PlaneBasis):
        raise TypeError(f"basis must be a lib.swa.PlaneBasis (from plane_basis), got {type(basis).__name__}")
    if any(True for _ in template.buffers()):
        raise ValueError("plane_losses needs a network without buffers (no batch norm): every point of the "
                         "plane would need its own recomputed statistics")
    if tuple(n for n, _ in template.named_parameters()) != basis.names:
        raise ValueError("template must have the same parameters as the plane's points")
    grids = []
    for values, name in ((xs, "xs"), (ys, "ys")):
        try:
            array = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a sequence of numbers") from None
        if array.size == 0 or not np.isfinite(array).all():
            raise ValueError(f"{name} must be a non-empty sequence of finite numbers")
        grids.append(array)
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor) or x.shape[0] != y.shape[0] \
            or x.shape[0] == 0:
        raise TypeError("x and y must be tensors with the same number (>= 1) of examples")
    chunk = _check_int(chunk, "chunk", 1)
    gx, gy = np.meshgrid(grids[0], grids[1])
    coords = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float64)
    device = x.device
    losses, accuracies = [], []
    for start in range(0, len(coords), chunk):
        part = coords[start:start + chunk]
        flat = basis.origin + part[:, :1] * basis.u + part[:, 1:] * basis.v   # (points, P)
        stacked, offset = {}, 0
        for name, shape in zip(basis.names, basis.shapes):
            size = int(np.prod(shape)) if len(shape) else 1
            stacked[name] = flat[:, offset:offset + size].reshape(len(part), *shape).float().to(device)
            offset += size
        loss, acc = evaluate_stacked(template, stacked, {}, x, y)
        losses.append(loss.double().cpu().numpy())
        accuracies.append(acc.double().cpu().numpy())
    shape = gx.shape
    return np.concatenate(losses).reshape(shape), np.concatenate(accuracies).reshape(shape)


def plane_point_metrics(template: nn.Module, basis: PlaneBasis, coordinates: Mapping[str, tuple[float, float]],
                        data: Splits) -> dict[str, dict[str, float]]:
    """Test error (%, all test images) and training loss (first 10,000 training images) at named
    points of the plane, e.g. the snapshots and their average."""
    data = _check_data(data)
    if not isinstance(coordinates, Mapping) or not coordinates:
        raise TypeError("coordinates must be a non-empty dict: label -> (x, y)")
    x_train, y_train = data.x_train[:TRAIN_EVAL_SIZE], data.y_train[:TRAIN_EVAL_SIZE]
    out = {}
    for label, (x, y) in coordinates.items():
        _, accuracy = plane_losses(template, basis, [x], [y], data.x_test, data.y_test)
        train_loss, _ = plane_losses(template, basis, [x], [y], x_train, y_train)
        out[label] = {"test_error": 100 * (1 - float(accuracy.item())), "train_loss": float(train_loss.item())}
    return out


def slice_curves(solutions: Mapping[str, nn.Module], alphas, data: Splits, *, directions: int,
                 examples: int) -> dict[str, dict[str, np.ndarray]]:
    """Training loss and test error (%) of each solution along ``directions`` random filter-normalised
    directions (Li et al. 2018), on the first ``examples`` training and test images.

    Direction ``k`` of every solution comes from the same seeded Gaussian draw
    (:func:`lib.weight_space.filter_normalized_direction` with seed ``k``), rescaled to
    that solution's filters; :func:`lib.weight_space.losses_along_line` reads the line.
    Returns ``{label: {"train_loss": (directions, len(alphas)), "test_error": ...}}``.
    """
    from .weight_space import filter_normalized_direction, losses_along_line

    data = _check_data(data)
    if not isinstance(solutions, Mapping) or not solutions:
        raise TypeError("solutions must be a non-empty dict: label -> nn.Module")
    directions = _check_int(directions, "directions", 1)
    examples = _check_int(examples, "examples", 1)
    x_train, y_train = data.x_train[:examples], data.y_train[:examples]
    x_test, y_test = data.x_test[:examples], data.y_test[:examples]
    curves = {}
    for label, network in solutions.items():
        losses, errors = [], []
        for seed in range(directions):
            direction = filter_normalized_direction(network, seed)
            losses.append(losses_along_line(network, direction, alphas, x_train, y_train)[0])
            errors.append(100 * (1 - losses_along_line(network, direction, alphas, x_test, y_test)[1]))
        curves[label] = {"train_loss": np.array(losses), "test_error": np.array(errors)}
    return curves


# --------------------------------------------------------------------------- figures

#: One colour per way of ending training (Okabe–Ito, from lib.plots).
KIND_COLORS = {"decay": plots.PALETTE["black"], "constant": plots.PALETTE["blue"],
               "cyclical": plots.PALETTE["vermillion"], "ema": plots.PALETTE["green"],
               "stale": plots.PALETTE["orange"]}


def _run_epochs(run: SWARun) -> np.ndarray:
    """Epoch (from the start of training) at the end of each update of the run."""
    return (run.start_step + np.arange(1, len(run.rates) + 1)) / run.steps_per_epoch


def rates_figure(runs: Sequence[SWARun], zoom_cycles: int = 3):
    """The learning rate of each run over the whole training (left) and over the first
    ``zoom_cycles`` snapshots of the averaging phase (right); dots mark the snapshots."""
    runs = list(runs)
    if not runs or not all(isinstance(r, SWARun) for r in runs):
        raise TypeError("runs must be a non-empty list of lib.swa.SWARun")
    zoom_cycles = _check_int(zoom_cycles, "zoom_cycles", 1)
    fig, (whole, zoom) = plots.new_figure(2, width=7.6, height=3.3)
    longest = max((r.plan.every or 0) for r in runs)
    zoom_end = runs[0].start_step + zoom_cycles * max(longest, 1)
    for run in runs:
        color = KIND_COLORS[run.plan.kind]
        pre = np.arange(run.start_step + 1) / run.steps_per_epoch
        epochs = np.concatenate([pre, _run_epochs(run)])
        rates = np.concatenate([np.full(len(pre), run.start_lr), run.rates])
        order = {"cyclical": 1, "constant": 2, "decay": 3}[run.plan.kind]   # the busy cyclical curve at the back
        for ax, width in ((whole, 0.8 if run.plan.kind == "cyclical" else 1.4), (zoom, 1.2)):
            ax.plot(epochs, rates, color=color, label=run.plan.name, linewidth=width, zorder=order)
            if run.plan.averages:
                ax.plot(run.snapshot_epochs, run.rates[run.snapshot_steps], "o", color=color, markersize=3,
                        zorder=order)
    for ax in (whole, zoom):
        plots.lr_axis(ax, "y", "learning rate $\\eta$ (log scale)")
        ax.set_xlabel("epoch")
    start = runs[0].start_step / runs[0].steps_per_epoch
    zoom.set_xlim(start - 0.2 * (zoom_end / runs[0].steps_per_epoch - start), zoom_end / runs[0].steps_per_epoch)
    whole.axvline(start, color="0.5", linestyle=":", linewidth=1)
    whole.set_title("whole run (dotted: averaging starts)")
    zoom.set_title(f"first {zoom_cycles} snapshots (dots)")
    plots.legend_below(fig, whole, ncol=2)
    return fig


def comparison_figure(table: Mapping[tuple[str, str], Mapping[str, np.ndarray]],
                      rows: Sequence[tuple[str, tuple[str, str], str]]):
    """Test error (left) and training loss (right) of chosen networks, one dot per seed and the mean.

    ``rows`` lists ``(label, key into table, colour kind)``, e.g.
    ``("SWA average", ("SWA, constant rate 0.5", "average"), "constant")``.
    """
    if not isinstance(table, Mapping):
        raise TypeError("table must be the dict returned by metrics_table()")
    rows = list(rows)
    for label, key, kind in rows:
        if key not in table:
            raise ValueError(f"{key!r} is not in the table; available: {sorted(table)}")
        if kind not in KIND_COLORS:
            raise ValueError(f"colour kind must be one of {', '.join(KIND_COLORS)}; got {kind!r}")
    fig, (error_ax, loss_ax) = plots.new_figure(2, width=7.6, height=0.45 * len(rows) + 1.4, sharey=True)
    positions = np.arange(len(rows))[::-1]
    for position, (label, key, kind) in zip(positions, rows):
        color = KIND_COLORS[kind]
        for ax, values in ((error_ax, 100 * (1 - table[key]["test_acc"])), (loss_ax, table[key]["train_loss"])):
            ax.plot(values, np.full(len(values), position), "o", color=color, alpha=0.55, markersize=4)
            ax.plot([values.mean()], [position], "|", color=color, markersize=16, markeredgewidth=2.2)
    error_ax.set_yticks(positions, [label for label, _, _ in rows])
    error_ax.set_xlabel("test error (%)")
    loss_ax.set_xlabel("training loss (cross-entropy)")
    for ax in (error_ax, loss_ax):
        ax.grid(axis="y", visible=False)
    return fig


def plane_figure(xs, ys, error: np.ndarray, loss: np.ndarray, points: Mapping[str, tuple[float, float]]):
    """The paper's figure 1 on MNIST: test error (%) and training loss over the plane, with points marked.

    ``error`` and ``loss`` are ``(len(ys), len(xs))`` grids from :func:`plane_losses`; ``points``
    maps a label (``"$W_1$"``, ``"$W_{SWA}$"``, ...) to plane coordinates.
    """
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if error.shape != (len(ys), len(xs)) or loss.shape != error.shape:
        raise ValueError(f"error and loss must have shape (len(ys), len(xs)) = {(len(ys), len(xs))}")
    fig, axes = plots.new_figure(2, width=7.6, height=3.6)
    panels = ((axes[0], error, "test error (%)"), (axes[1], loss, "training loss (cross-entropy)"))
    for ax, grid, title in panels:
        levels = np.linspace(np.nanmin(grid), np.nanpercentile(grid, 85), 14)
        filled = ax.contourf(xs, ys, np.clip(grid, None, levels[-1]), levels=levels, cmap="cividis_r",
                             extend="max")
        ax.contour(xs, ys, grid, levels=levels, colors="0.3", linewidths=0.3)
        ticks = MaxNLocator(5).tick_values(levels[0], levels[-1])
        bar = fig.colorbar(filled, ax=ax, pad=0.02, format="{x:.3g}",
                           ticks=ticks[(ticks >= levels[0]) & (ticks <= levels[-1])])
        bar.set_label(title)
        for label, (px, py) in points.items():
            swa_point = "SWA" in label
            ax.plot(px, py, marker="*" if swa_point else "o", markersize=11 if swa_point else 6,
                    color=KIND_COLORS["cyclical"] if swa_point else "white", markeredgecolor="black",
                    linestyle="none")
            ax.annotate(label, (px, py), textcoords="offset points", xytext=(5, 5), fontsize=9)
        ax.set_xlabel("distance along $u$ (weight units)")
        ax.set_aspect("equal", adjustable="box")
        ax.grid(False)
    axes[0].set_ylabel("distance along $v$ (weight units)")
    return fig


def slices_figure(alphas, curves: Mapping[str, Mapping[str, np.ndarray]], kinds: Mapping[str, str]):
    """Training loss (left) and test error (right) along random filter-normalised directions.

    ``curves[label]`` holds ``"train_loss"`` and ``"test_error"`` arrays of shape
    ``(directions, len(alphas))``; each direction is a thin line, the mean a thick one.
    ``kinds[label]`` picks the colour (a key of :data:`KIND_COLORS`, e.g. a plan's ``kind``).
    """
    alphas = np.asarray(alphas, dtype=float)
    for label in curves:
        if kinds.get(label) not in KIND_COLORS:
            raise ValueError(f"kinds[{label!r}] must be one of {', '.join(KIND_COLORS)}")
    fig, (loss_ax, error_ax) = plots.new_figure(2, width=7.6, height=3.2)
    for label, curve in curves.items():
        color = KIND_COLORS[kinds[label]]
        for ax, values in ((loss_ax, curve["train_loss"]), (error_ax, curve["test_error"])):
            values = np.asarray(values, dtype=float)
            if values.ndim != 2 or values.shape[1] != len(alphas):
                raise ValueError(f"{label}: curves must have shape (directions, {len(alphas)})")
            ax.plot(alphas, values.T, color=color, linewidth=0.6, alpha=0.35)
            ax.plot(alphas, values.mean(0), color=color, linewidth=2, label=label)
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("training loss (log scale)")
    error_ax.set_ylabel("test error (%)")
    for ax in (loss_ax, error_ax):
        ax.set_xlabel("step along the direction, $\\alpha$ (filter-normalised units)")
    plots.legend_below(fig, loss_ax, ncol=2)
    return fig


# --------------------------------------------------------------------------- the explorer

def explorer_figure(run: SWARun):
    """The cyclical rate of ``run`` (left) and, at each snapshot, the validation accuracy of the
    running average and of the current iterate (right)."""
    if not isinstance(run, SWARun):
        raise TypeError(f"run must be a lib.swa.SWARun, got {type(run).__name__}")
    fig, (rate_ax, acc_ax) = plots.new_figure(2, width=7.6, height=3.2)
    epochs = _run_epochs(run)
    rate_ax.plot(epochs, run.rates, color=KIND_COLORS["cyclical"], linewidth=1)
    rate_ax.plot(run.snapshot_epochs, run.rates[run.snapshot_steps], "o", color=KIND_COLORS["cyclical"],
                 markersize=3, label="snapshot")
    plots.lr_axis(rate_ax, "y", "learning rate $\\eta$ (log scale)")
    rate_ax.set_xlabel("epoch")
    rate_ax.legend(loc="lower left")
    taken = np.isfinite(run.average_val_acc)
    acc_ax.plot(run.snapshot_epochs[taken], 100 * run.iterate_val_acc[taken], "o-", markersize=3,
                color=KIND_COLORS["decay"], label="SGD iterate at the snapshot", linewidth=1)
    acc_ax.plot(run.snapshot_epochs[taken], 100 * run.average_val_acc[taken], "o-", markersize=3,
                color=KIND_COLORS["cyclical"], label="running average (SWA)")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("validation accuracy (%)")
    acc_ax.legend(loc="lower right")
    if run.diverged:
        acc_ax.set_title(f"diverged at step {run.diverged_at} of the averaging phase")
    elif taken.any():
        acc_ax.set_title(f"{taken.sum()} snapshots: average {100 * run.average_val_acc[taken][-1]:.2f} %, "
                         f"iterate {100 * run.iterate_val_acc[taken][-1]:.2f} %")
    return fig


class CyclicalExplorer:
    """Sliders for the cycle length and the rates :math:`\\alpha_1`, :math:`\\alpha_2` of cyclical SWA.

    Every setting continues the same ``checkpoint`` for ``epochs`` epochs
    (:func:`continue_run` with :func:`cyclical`).  Results are kept, so each
    setting trains once; ``precompute=True`` trains all of them up front (the
    book does that under the full budget, so the sliders answer at once).
    Invalid settings (:math:`\\alpha_2 > \\alpha_1`) show a message, not a traceback.
    """

    def __init__(self, checkpoint: Checkpoint, data: Splits, *, epochs: int, cycles: Sequence[int],
                 alpha_1s: Sequence[float], alpha_2s: Sequence[float], precompute: bool = False):
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError("checkpoint must be a lib.swa.Checkpoint (from pretrain)")
        self.checkpoint, self.data = checkpoint, _check_data(data)
        self.epochs = _check_int(epochs, "epochs", 1)
        self.options = {}
        for name, values in (("cycle", cycles), ("alpha_1", alpha_1s), ("alpha_2", alpha_2s)):
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
                raise ValueError(f"{name} options must be a non-empty list")
            self.options[name] = list(values)
        for cycle in cycles:
            cyclical(max(alpha_1s), min(alpha_2s), cycle).snapshot_steps(
                self.epochs * _steps_per_epoch(data, checkpoint.batch_size))
        self.results: dict[tuple[int, float, float], SWARun] = {}
        if precompute:
            for cycle in cycles:
                for alpha_1 in alpha_1s:
                    for alpha_2 in alpha_2s:
                        if alpha_2 <= alpha_1:
                            self.result(cycle, alpha_1, alpha_2)
        self._build()

    def result(self, cycle: int, alpha_1: float, alpha_2: float) -> SWARun:
        """The run for one setting (trained on first use, then kept)."""
        key = (cycle, alpha_1, alpha_2)
        if key not in self.results:
            plan = cyclical(alpha_1, alpha_2, cycle)
            self.results[key] = continue_run(self.checkpoint, plan, self.data, epochs=self.epochs, track=True)
        return self.results[key]

    def _build(self):
        import ipywidgets as W

        per_epoch = _steps_per_epoch(self.data, self.checkpoint.batch_size)
        self.cycle = W.SelectionSlider(
            options=[(f"{c} step{'s' if c != 1 else ''} ({c / per_epoch:.2g} epoch)", c)
                     for c in self.options["cycle"]],
            value=self.options["cycle"][len(self.options["cycle"]) // 2], description="cycle c",
            continuous_update=False)
        self.alpha_1 = W.SelectionSlider(options=[(f"{a:g}", a) for a in self.options["alpha_1"]],
                                         value=self.options["alpha_1"][-1], description="α₁",
                                         continuous_update=False)
        self.alpha_2 = W.SelectionSlider(options=[(f"{a:g}", a) for a in self.options["alpha_2"]],
                                         value=self.options["alpha_2"][0], description="α₂",
                                         continuous_update=False)
        self.message = W.HTML()
        self.output = W.Output()
        for control in (self.cycle, self.alpha_1, self.alpha_2):
            control.observe(self.redraw, names="value")
        self.widget = W.VBox([W.HBox([self.cycle, self.alpha_1, self.alpha_2]), self.message, self.output])
        self.redraw()

    def redraw(self, _change=None) -> bool:
        """Show the current setting's run; on invalid input show the message and keep the last figure."""

        try:
            run = self.result(self.cycle.value, self.alpha_1.value, self.alpha_2.value)
        except (ValueError, TypeError) as error:
            widgets.show_error(self.message, error)
            return False
        self.message.value = html.escape(
            f"{len(run.snapshot_steps)} cycles of {run.plan.every} steps, rate falling from "
            f"{run.plan.alpha_1:g} to {run.plan.alpha_2:g} in each."
            + (f" The run diverged at step {run.diverged_at}." if run.diverged else ""))
        fig = explorer_figure(run)
        widgets.show_figure(self.output, fig)
        return True

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


# --------------------------------------------------------------------------- numbers for the prose

def glue_seed_summary(prefix: str, table: Mapping[tuple[str, str], Mapping[str, np.ndarray]],
                      rows: Mapping[str, tuple[str, tuple[str, str], str]]) -> None:
    """Glue ``{prefix}_{row}_{metric}`` (mean over seeds) and ``..._std`` (sample standard deviation)
    for test accuracy (in %), test loss and training loss of each row of :func:`comparison_figure`."""
    from .schedules import summarize_seeds

    if not isinstance(rows, Mapping) or not rows:
        raise TypeError("rows must be a non-empty dict: name -> (label, key into table, colour kind)")
    for name, (_, key, _) in rows.items():
        if key not in table:
            raise ValueError(f"row {name!r}: {key!r} is not in the table")
    for metric, scale in (("test_acc", 100), ("test_loss", 1), ("train_loss", 1)):
        summary = summarize_seeds([scale * table[key][metric] for _, key, _ in rows.values()], list(rows))
        for name in rows:
            glue.number(f"{prefix}_{name}_{metric}", summary.value(name))
            glue.number(f"{prefix}_{name}_{metric}_std", summary.value(name, "std"))


def glue_paired_difference(prefix: str, table, better: tuple[str, str], baseline: tuple[str, str],
                           metric: str = "test_acc", scale: float = 100.0) -> np.ndarray:
    """Glue the per-seed difference ``scale * (better - baseline)`` of ``metric``: ``{prefix}_mean``,
    ``{prefix}_std`` (sample standard deviation) and ``{prefix}_wins`` (seeds where it is > 0).

    Runs of one seed share their checkpoint, so the paired difference removes the
    seed-to-seed variation that both share.  Returns the differences.
    """
    for key in (better, baseline):
        if key not in table:
            raise ValueError(f"{key!r} is not in the table; available: {sorted(table)}")
    if metric not in table[better] or metric not in table[baseline]:
        raise ValueError(f"unknown metric {metric!r}; allowed: {sorted(table[better])}")
    difference = scale * (np.asarray(table[better][metric]) - np.asarray(table[baseline][metric]))
    if difference.size < 2 or not np.isfinite(difference).all():
        raise ValueError("a paired difference needs at least 2 seeds and finite values (no diverged runs)")
    glue.number(f"{prefix}_mean", difference.mean())
    glue.number(f"{prefix}_std", difference.std(ddof=1))
    glue.number(f"{prefix}_wins", int((difference > 0).sum()))
    return difference
