"""Fixed-rate grids: the parallel range test, and checking suggested rates by training with them.

Both train one copy of the network per (rate, seed), all at once
(:func:`lib.core.engine.train_grid`), each at one fixed rate:

* :func:`parallel_range_test` (:class:`ParallelTest`): K copies from the same
  initial weights and on the same batches, each at one rate of a log grid for
  the same number of updates.  Its loss at a rate owes nothing to the smaller
  rates, unlike a sweep's, whose loss at every rate carries the history of all
  the rates before it.
* :func:`check_suggestions` (:class:`SuggestionCheck`): a short training run at
  every suggested rate, compared by validation loss.

:func:`parallel_test` (:class:`CopiesTest`) runs the parallel test on a reader's
own model, batches, loss and optimiser, as K independent copies.

The grid runs members rate-major (the seeds of a rate together); the records
hold (seeds, rates) tables (:func:`lib.core.stats.by_seed`), with diverged runs
as NaN (:func:`lib.core.stats.mask_diverged`) that never win a minimum
(:func:`lib.core.stats.inf_for_nan`).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from lib.core import checks
from lib.core.batches import Batches, check_source, checked_loss, device_of, trainable
from lib.core.batches import objective as make_objective
from lib.core.loop import restored
from lib.core.data import Splits
from lib.core.engine import History, train_grid
from lib.core.members import grid
from lib.core.order import steps_per_epoch
from lib.core.stats import by_seed, inf_for_nan, mask_diverged



@dataclass(frozen=True)
class ParallelTest:
    """K = R x S copies trained at fixed rates (:func:`parallel_range_test`).

    Attributes:
        rates (ndarray, (R,)): the fixed rates (on the loss_scale's scale).
        init_seeds (tuple[int, ...]): the S seeds of the initial weights.
        updates (int): updates each copy took.
        final_loss (ndarray, (S, R)): training loss (on the evaluation subset) after
            ``updates`` updates; NaN if that run diverged.
        tail_loss (ndarray, (S, R)): the mean loss over the examples of the last ``tail`` updates
            (batches weighted by their size, :meth:`lib.core.engine.History.tail_loss`); NaN if diverged.
        diverged (ndarray, (S, R)): bool.
        history (History): the grid's full record.
        loss_scale (float): the factor the losses were reported on.
    """

    rates: np.ndarray
    init_seeds: tuple[int, ...]
    updates: int
    final_loss: np.ndarray
    tail_loss: np.ndarray
    diverged: np.ndarray
    history: History = field(repr=False)
    loss_scale: float = 1.0

    @property
    def mean_loss(self) -> np.ndarray:
        """(R,): final loss averaged over seeds; +inf where any seed diverged."""
        return inf_for_nan(self.final_loss).mean(axis=0)

    @property
    def best_lr(self) -> float:
        """The rate with the lowest seed-averaged final loss."""
        return float(self.rates[int(np.argmin(self.mean_loss))])

    @property
    def seed_best(self) -> np.ndarray:
        """(S,): the best rate of each seed on its own."""
        return self.rates[np.argmin(inf_for_nan(self.final_loss), axis=1)]

    @property
    def failed(self) -> np.ndarray:
        """(S, R): the copy diverged, or ended above the loss it started from."""
        start = by_seed(self.history.train_loss[:, 0], len(self.init_seeds))
        return self.diverged | ~(self.final_loss < start * self.loss_scale)

    @property
    def largest_stable_rate(self) -> float:
        """The largest rate below the first one at which any copy failed (:attr:`failed`);
        the last rate if none failed, NaN if the first one did."""
        bad = self.failed.any(axis=0)
        if not bad.any():
            return float(self.rates[-1])
        first = int(np.argmax(bad))
        return float(self.rates[first - 1]) if first > 0 else math.nan


def parallel_range_test(data: Splits, rates, *, model: str | Callable[[int], nn.Module] = "textbook",
                        updates: int = 300, batch_size: int = 128, loss: str = "cross_entropy",
                        init_seeds: Sequence[int] = (0,), data_seed: int = 0, tail: int = 50,
                        train_eval_size: int | None = 2048, loss_scale: float = 1.0,
                        divergence_loss: float = math.inf) -> ParallelTest:
    """Train one copy per (rate, seed), all from the seed's initial weights and on
    the same batches, for ``updates`` updates at a fixed rate; one grid.

    ``updates`` must either fit in one pass over the training set
    (``updates * batch_size <= n``: the run uses the first ``updates * batch_size``
    examples, one pass, no example seen twice, like the first updates of a sweep) or
    be a whole number of epochs.

    Args:
        data (Splits): the training split is trained and measured on.
        rates (array-like, (R,)): the fixed rates (per update, on the loss_scale's scale), > 0.
        model (str or callable): a name in :data:`lib.core.models.MODELS` or ``init_seed -> nn.Module``.
            Default ``"textbook"``.
        updates (int): updates per copy, >= 1. Default 300.
        batch_size (int): examples per update. Default 128.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        init_seeds (list[int]): seeds of the initial weights. Default (0,).
        data_seed (int): seed of the data order. Default 0.
        tail (int): updates averaged into ``tail_loss``, in [1, updates]. Default 50.
        train_eval_size (int, optional): training examples the final loss is measured on;
            ``None``: all. Default 2048.
        loss_scale (float): c > 0, as in :func:`lib.lr_finder.zoom.segmented_sweep`. Default 1.
        divergence_loss (float): a mini-batch loss above this marks a run diverged. Default inf.

    Returns:
        ParallelTest: (seeds, rates) tables of the final and tail losses and of divergence.

    Raises:
        TypeError: ``data`` not ``Splits``; numbers or ints of the wrong type.
        ValueError: rates not finite and > 0, values out of range, ``updates`` neither
            within one pass nor a whole number of epochs.
    """
    data = checks.splits(data)
    rates = checks.rates(rates, "rates")
    updates = checks.integer(updates, "updates", minimum=1)
    batch_size = checks.batch_size(batch_size, data.n_train)
    tail = checks.integer(tail, "tail", minimum=1, maximum=updates)
    seeds = checks.seeds(init_seeds, "init_seeds")
    scale = checks.positive(loss_scale, "loss_scale")
    epoch_steps = steps_per_epoch(data.n_train, batch_size)
    if updates * batch_size <= data.n_train:
        data, epochs = data.subset(n_train=updates * batch_size), 1
    elif updates % epoch_steps == 0:
        epochs = updates // epoch_steps
    else:
        raise ValueError(f"updates must fit in one pass (updates x batch_size <= {data.n_train}) or be a "
                         f"multiple of the {epoch_steps} updates of an epoch, got {updates}")
    members = grid(lr=[float(r * scale) for r in rates], init_seed=list(seeds), data_seed=[data_seed])
    data = Splits(data.x_train, data.y_train)  # the test measures training loss only
    eval_size = None if train_eval_size is None else min(train_eval_size, data.n_train)
    history = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, loss=loss,
                         eval_every=epochs, train_eval_size=eval_size,
                         divergence_loss=divergence_loss).history
    S = len(seeds)
    diverged = by_seed(history.diverged, S)                                          # (S, R)
    final = mask_diverged(by_seed(history.train_loss[:, -1] * scale, S), diverged)
    tail_loss = mask_diverged(by_seed(history.tail_loss(tail) * scale, S), diverged)
    return ParallelTest(rates=rates, init_seeds=seeds, updates=updates, final_loss=final,
                        tail_loss=tail_loss, diverged=diverged, history=history, loss_scale=scale)


@dataclass(frozen=True)
class SuggestionCheck:
    """Validation loss after a short run at each suggested rate (:func:`check_suggestions`).

    Attributes:
        names (list[str]): the N suggestions.
        lrs (ndarray, (N,)): their rates.
        init_seeds (tuple[int, ...]): the S seeds.
        val_loss (ndarray, (S, N)): validation loss at the end, per seed and suggestion; NaN if diverged.
        val_acc (ndarray, (S, N)): validation accuracy at the end.
        history (History): the grid's record, one member per distinct rate and seed.
    """

    names: list[str]
    lrs: np.ndarray
    init_seeds: tuple[int, ...]
    val_loss: np.ndarray
    val_acc: np.ndarray
    history: History = field(repr=False)

    @property
    def mean_val_loss(self) -> np.ndarray:
        """(N,): validation loss averaged over seeds; +inf where a seed diverged."""
        return inf_for_nan(self.val_loss).mean(axis=0)

    @property
    def best(self) -> str:
        """The suggestion with the lowest seed-averaged validation loss."""
        return self.names[int(np.argmin(self.mean_val_loss))]


def check_suggestions(data: Splits, suggestions: dict[str, float], *,
                      model: str | Callable[[int], nn.Module] = "textbook", epochs: int = 2,
                      batch_size: int = 128, loss: str = "cross_entropy",
                      init_seeds: Sequence[int] = (0,), data_seed: int = 0,
                      eval_every: float | None = None) -> SuggestionCheck:
    """Train at every suggested rate for ``epochs`` epochs, as one grid, and report
    the validation loss at the end.  Equal rates are trained once.

    Args:
        data (Splits): with a validation split.
        suggestions (dict[str, float]): name -> rate (per update), > 0.
        model (str or callable): as :func:`parallel_range_test`. Default ``"textbook"``.
        epochs (int): >= 1. Default 2.
        batch_size (int): examples per update. Default 128.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        init_seeds (list[int]): seeds of the initial weights. Default (0,).
        data_seed (int): seed of the data order. Default 0.
        eval_every (float, optional): epochs between evaluations (for the history's
            curves). Default: ``epochs`` (only at the end).

    Returns:
        SuggestionCheck: (seeds, suggestions) tables of validation loss and accuracy.

    Raises:
        TypeError: ``data`` not ``Splits``; numbers or ints of the wrong type.
        ValueError: no validation split, no suggestions, a rate not finite and > 0, ``epochs`` < 1.
    """
    data = checks.splits(data, validation=True)
    if not isinstance(suggestions, dict) or not suggestions:
        raise ValueError("suggestions must be a non-empty dict: name -> learning rate")
    names = list(suggestions)
    lrs = np.array([checks.positive(suggestions[name], f"the rate of {name!r}") for name in names])
    seeds = checks.seeds(init_seeds, "init_seeds")
    epochs = checks.integer(epochs, "epochs", minimum=1)
    distinct = sorted(set(float(v) for v in lrs))
    members = grid(lr=distinct, init_seed=list(seeds), data_seed=[data_seed])
    history = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, loss=loss,
                         eval_every=eval_every if eval_every is not None else epochs).history
    column = [distinct.index(float(v)) for v in lrs]
    return SuggestionCheck(names=names, lrs=lrs, init_seeds=seeds,
                           val_loss=by_seed(history.val_loss[:, -1], len(seeds))[:, column],
                           val_acc=by_seed(history.val_acc[:, -1], len(seeds))[:, column],
                           history=history)


@dataclass(frozen=True)
class CopiesTest:
    """K copies of a reader's model, each trained at one fixed rate on the same batches (:func:`parallel_test`).

    Attributes:
        rates (ndarray, (K,)): the fixed rates (of the optimiser group with the largest rate).
        losses (ndarray, (K, updates)): each copy's loss at each update, measured before it; NaN
            after a copy diverged.
        tail_loss (ndarray, (K,)): the mean of each copy's last ``tail`` losses; NaN if it diverged.
        diverged (ndarray, (K,)): bool, a loss that was not finite.
        updates (int): optimiser steps each copy took.
        models (list[nn.Module]): the trained copies (``keep=True``), else empty.
    """

    rates: np.ndarray
    losses: np.ndarray
    tail_loss: np.ndarray
    diverged: np.ndarray
    updates: int
    models: list = field(default_factory=list, repr=False)

    @property
    def best_lr(self) -> float:
        """The rate with the lowest tail loss (diverged copies never win)."""
        return float(self.rates[int(np.argmin(inf_for_nan(self.tail_loss)))])


def parallel_test(model: nn.Module, batches, rates, *, loss: Callable | None = None,
                  objective: Callable | None = None, inputs=None, target=None,
                  optimizer: Callable[..., torch.optim.Optimizer] | None = None, updates: int = 100,
                  tail: int = 10, keep: bool = False) -> CopiesTest:
    """The parallel range test on any model: K independent copies, each at one fixed rate, on the same batches.

    Every copy starts from ``model``'s weights (``copy.deepcopy``; the model itself is
    not touched), and update t of every copy trains on the same batch t of
    ``batches`` (each batch is drawn once and given to all copies), so the copies
    differ in their rate alone.  Unlike a sweep's loss, a copy's loss owes nothing
    to the other rates.  The section's :func:`parallel_range_test` runs the same
    design on the chapter's networks as one stacked computation
    (:func:`lib.core.engine.train_grid`); this one takes any module and optimiser.

    Args:
        model (nn.Module): the network to copy.
        batches (iterable): training batches, started again when they run out
            (:class:`lib.core.batches.Batches`).
        rates (array-like, (K,)): the fixed rates, > 0.
        loss, objective, inputs, target: the objective, as :func:`lib.core.batches.objective`.
        optimizer (callable, optional): ``optimizer(params, lr) -> torch.optim.Optimizer`` for
            one copy, e.g. ``lambda p, lr: torch.optim.AdamW(p, lr=lr)``. Default plain SGD.
        updates (int): optimiser steps per copy, >= 1. Default 100.
        tail (int): last updates averaged into ``tail_loss``, in [1, updates]. Default 10.
        keep (bool): keep the trained copies in the record. Default False.

    Returns:
        CopiesTest: the losses of every copy, their tails and which diverged.

    Raises:
        TypeError: as :func:`lib.core.batches.objective`; ``optimizer`` not callable.
        ValueError: no trainable parameters, empty batches, a first batch the loss cannot
            take, rates not finite and > 0, ``updates`` < 1, ``tail`` out of range.
    """
    trainable(model)
    rates = checks.rates(rates, "rates")
    updates = checks.integer(updates, "updates", minimum=1)
    tail = checks.integer(tail, "tail", minimum=1, maximum=updates)
    keep = checks.flag(keep, "keep")
    fn = make_objective(loss, objective, inputs=inputs, target=target)
    check_source(batches)
    make = (lambda p, lr: torch.optim.SGD(p, lr=lr)) if optimizer is None \
        else checks.function(optimizer, "optimizer", "(params, lr) -> torch.optim.Optimizer")
    copies = [copy.deepcopy(model) for _ in rates]
    optimizers = [make([p for p in c.parameters() if p.requires_grad], float(r)) for c, r in zip(copies, rates)]
    for o in optimizers:
        if not isinstance(o, torch.optim.Optimizer):
            raise TypeError(f"optimizer(params, lr) must return a torch.optim.Optimizer, got {type(o).__name__}")
    losses = np.full((len(rates), updates), np.nan)
    alive = [True] * len(rates)
    stream = Batches(batches, device_of(model))
    with restored(model):           # the global random state (a shuffling loader, dropout) comes back
        for c in copies:
            c.train()
        for t in range(updates):
            batch = stream.next()
            for k, (c, o) in enumerate(zip(copies, optimizers)):
                if not alive[k]:
                    continue
                value = checked_loss(fn, c, batch) if t == 0 else fn(c, batch)
                losses[k, t] = float(value.detach())
                if not math.isfinite(losses[k, t]):
                    alive[k] = False
                    continue
                o.zero_grad(set_to_none=True)
                value.backward()
                o.step()
    diverged = ~np.array(alive)
    tail_loss = np.where(diverged, np.nan, losses[:, -tail:].mean(axis=1))
    return CopiesTest(rates=rates, losses=losses, tail_loss=tail_loss, diverged=diverged, updates=updates,
                      models=copies if keep else [])
