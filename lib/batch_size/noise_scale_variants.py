"""How the noise scale depends on the task and on the size of the training set.

McCandlish et al. (2018) find that the gradient noise scale grows as the loss falls and is larger
for harder tasks, and that it does not depend on the size N of the training set: both
:math:`|G|^2` and :math:`\\operatorname{tr}\\Sigma` are averages over examples, which a larger
sample of the same distribution estimates better but does not change.  This module makes the
data for that test and measures it:

* :func:`task_variant`: an easier task (only two digit classes) and a harder one (a fraction of the
  training labels replaced by random ones), beside the standard one;
* :func:`train_and_measure`: the textbook network trained with ``torch.optim.SGD`` by the chapter's
  single-network loop (:func:`lib.core.loop.train_steps`), one run per seed, until a number of
  updates or until its training loss first falls below a target; then :math:`B_{\\rm simple}` at
  those weights by the per-example estimator
  (:func:`lib.batch_size.gradient_noise.per_example_statistics`, :math:`G` over the whole
  training set);
* :class:`MeasuredNoise`: the values per seed and a t interval over the seeds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from lib.core import checks, losses
from lib.core.data import Splits
from lib.core.device import seeded_generator
from lib.core.loop import train_steps
from lib.core.models import build_model
from lib.core.order import DataOrder
from lib.core.timing import timed
from lib.core.stats import t_half_width

from .gradient_noise import batch_gradient, per_example_statistics

#: The task variants of :func:`task_variant`, easiest first.
VARIANTS = ("easier", "standard", "harder")


def task_variant(data: Splits, variant: str, *, classes: Sequence[int] = (0, 1), noisy_fraction: float = 0.3,
                 seed: int = 0) -> Splits:
    """An easier or a harder version of a classification task (or the task itself).

    * ``"easier"``: only the examples of the digits in ``classes`` (every split); the labels keep
      their values, the network its ten outputs;
    * ``"standard"``: ``data`` unchanged;
    * ``"harder"``: in the training split, a fraction ``noisy_fraction`` of the examples (chosen
      at random) get a label drawn uniformly from all classes (so about 1/C of them keep theirs);
      validation and test keep their true labels.

    Args:
        data (Splits): a classification data set with int64 labels 0 .. C-1.
        variant (str): one of :data:`VARIANTS`.
        classes (sequence of int): the classes the easier task keeps, at least 2, distinct.
            Default (0, 1).
        noisy_fraction (float): the harder task's fraction of relabelled training examples, in (0, 1].
            Default 0.3.
        seed (int): seed of the relabelling. Default 0.

    Returns:
        Splits: the variant, on the same device.

    Raises:
        TypeError: ``data`` is not Splits, labels not int64.  ValueError: an unknown variant,
            classes that repeat or do not occur in the training labels, ``noisy_fraction``
            outside (0, 1].
    """
    checks.splits(data)
    checks.choice(variant, "variant", VARIANTS)
    if data.y_train.dtype != torch.int64:
        raise TypeError(f"task variants need int64 class labels, got {data.y_train.dtype}")
    classes = checks.integers(classes, "classes", minimum=0, minimum_count=2, distinct=True)
    noisy_fraction = checks.number(noisy_fraction, "noisy_fraction", low=0.0, high=1.0, low_open=True)
    seed = checks.seed(seed)
    if variant == "standard":
        return data
    if variant == "easier":
        wanted = torch.tensor(classes, device=data.device)
        present = set(torch.unique(data.y_train).tolist())
        if not set(classes) <= present:
            raise ValueError(f"classes {list(classes)} must occur in the training labels, which hold {sorted(present)}")

        def keep(x, y):
            if x is None:
                return None, None
            mask = torch.isin(y, wanted)
            return x[mask], y[mask]
        return Splits(*keep(data.x_train, data.y_train), *keep(data.x_val, data.y_val),
                      *keep(data.x_test, data.y_test))
    generator = seeded_generator(seed)
    n = data.n_train
    count = int(round(noisy_fraction * n))
    chosen = torch.randperm(n, generator=generator)[:count]
    n_classes = int(data.y_train.max()) + 1
    labels = data.y_train.clone()
    labels[chosen.to(labels.device)] = torch.randint(n_classes, (count,), generator=generator).to(labels.device)
    return Splits(data.x_train, labels, data.x_val, data.y_val, data.x_test, data.y_test)


@dataclass(frozen=True)
class MeasuredNoise:
    """:math:`B_{\\rm simple}` after training, one value per seed (:func:`train_and_measure`).

    Attributes:
        label (str): what was trained (e.g. ``"harder"`` or ``"N=5000"``).
        examples (int): N, the training examples.
        seeds (tuple[int, ...]): the seeds (initial weights and data order of each run).
        updates (ndarray (S,)): updates done when measured.
        loss (ndarray (S,)): training loss (mean over the monitored examples) when measured.
        reached (ndarray (S,) bool): whether the run reached the target loss (True without one).
        b_simple (ndarray (S,)): :math:`B_{\\rm simple}` of each run (examples).
        g_squared, trace_sigma (ndarray (S,)): its numerator and denominator.
    """

    label: str
    examples: int
    seeds: tuple[int, ...]
    updates: np.ndarray
    loss: np.ndarray
    reached: np.ndarray
    b_simple: np.ndarray
    g_squared: np.ndarray
    trace_sigma: np.ndarray

    def interval(self, level: float = 0.95) -> tuple[float, float, float]:
        """(centre, low, high): the geometric mean of :attr:`b_simple` over the seeds and its t interval.

        A noise scale is a positive scale whose scatter over seeds grows with its size, so the
        interval is taken on :math:`\\log B_{\\rm simple}`: :math:`\\exp(\\bar\\ell \\pm t_{S-1}\\,
        s_\\ell/\\sqrt S)` with :math:`\\bar\\ell` and :math:`s_\\ell` the mean and the sample
        standard deviation (``ddof=1``) of the S logarithms; it never reaches below 0.

        Raises:
            ValueError: ``level`` outside (0, 1); fewer than 2 seeds; a value that is not > 0.
        """
        level = checks.number(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
        values = self.b_simple
        if values.size < 2:
            raise ValueError("an interval over seeds needs at least 2 seeds")
        if not (np.isfinite(values).all() and (values > 0).all()):
            raise ValueError(f"every B_simple must be finite and > 0 for an interval, got {values.tolist()}")
        logs = np.log(values)
        centre = float(logs.mean())
        half = t_half_width(logs, level)
        return math.exp(centre), math.exp(centre - half), math.exp(centre + half)


def _monitored_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mean) -> float:
    with torch.no_grad():
        return float(mean(model(x), y))


def short_run(data: Splits, *, rate: float, batch_size: int, updates: int, seed: int = 0,
              model: str | Callable = "textbook", loss: str = "cross_entropy", target_loss: float | None = None,
              check_every: int = 10, monitor_examples: int = 2048) -> tuple[nn.Module, int]:
    """One network trained by plain SGD for ``updates`` updates (or until a target loss): a checkpoint.

    ``build_model(model, seed)`` trained by :func:`lib.core.loop.train_steps` with
    ``torch.optim.SGD(lr=rate)`` on the batches of ``DataOrder(N, seed)`` (the chapter's one data
    order).  With ``target_loss`` the run stops at the first check (every ``check_every`` updates)
    at which the loss on the first ``monitor_examples`` training examples is at most the target.

    Returns:
        (nn.Module, int): the trained network and the updates it took.

    Raises:
        TypeError / ValueError: as :func:`train_and_measure`; a run whose loss stopped being finite.
    """
    checks.splits(data)
    rate = checks.positive(rate, "rate")
    n = data.n_train
    batch_size = checks.batch_size(batch_size, n)
    updates = checks.integer(updates, "updates", minimum=1)
    if target_loss is not None:
        target_loss = checks.positive(target_loss, "target_loss")
    check_every = checks.integer(check_every, "check_every", minimum=1)
    monitor_examples = min(checks.integer(monitor_examples, "monitor_examples", minimum=1), n)
    mean = losses.get(loss).mean
    x_monitor, y_monitor = data.x_train[:monitor_examples], data.y_train[:monitor_examples]
    network = build_model(model, checks.seed(seed)).to(data.device)
    optimizer = torch.optim.SGD(network.parameters(), lr=rate)

    def on_step(step: int, _batch_loss: float) -> str | None:
        if target_loss is None or (step + 1) % check_every:
            return None
        if _monitored_loss(network, x_monitor, y_monitor, mean) <= target_loss:
            return "reached the target loss"
        return None

    steps = train_steps(network, optimizer, data.x_train, data.y_train, DataOrder(n, seed).stream(batch_size),
                        np.full(updates, rate), loss=loss, on_step=on_step)
    if steps.diverged:
        raise ValueError(f"the run of seed {seed} diverged at update {steps.stopped_at} (rate {rate:g}): "
                         "take a smaller rate")
    network.eval()
    return network, steps.taken


@timed("measuring")
def train_and_measure(data: Splits, *, rate: float, batch_size: int, seeds: Sequence[int], max_updates: int,
                      target_loss: float | None = None, check_every: int = 10, monitor_examples: int = 2048,
                      exact_examples: int = 1024, model: str | Callable = "textbook", loss: str = "cross_entropy",
                      label: str = "") -> MeasuredNoise:
    """Train one network per seed with plain SGD, then measure :math:`B_{\\rm simple}` at its weights.

    Each run is ``build_model(model, seed)`` trained by :func:`lib.core.loop.train_steps` with
    ``torch.optim.SGD(lr=rate)`` on the batches of ``DataOrder(N, seed)``, for ``max_updates``
    updates, or, with ``target_loss``, until the loss on the first ``monitor_examples`` training
    examples (checked every ``check_every`` updates) first falls to the target: matched training
    progress across data sets that differ in size.  Then :math:`B_{\\rm simple}` by per-example
    gradients of ``exact_examples`` training examples drawn at random (seeded by the run's seed)
    with :math:`G` the exact gradient over all N training examples.

    Args:
        data (Splits): the training data (N examples).
        rate (float): the learning rate (per update), > 0.
        batch_size (int): examples per update, in [1, N].
        seeds (sequence of int): one run per seed, at least 2 (for an interval).
        max_updates (int): the most updates a run takes, >= 1.
        target_loss (float, optional): stop at the first check whose loss is at most this, > 0.
        check_every (int): updates between two checks of the loss, >= 1. Default 10.
        monitor_examples (int): training examples the loss is checked on, >= 1 (at most N). Default 2048.
        exact_examples (int): examples of the per-example estimate, 2 to N. Default 1024.
        model (str or callable): :func:`lib.core.models.build_model`'s argument. Default ``"textbook"``.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        label (str): a name for the record.

    Returns:
        MeasuredNoise.

    Raises:
        TypeError: ``data`` not Splits, arguments of the wrong type.
        ValueError: values out of range (see Args), data the model cannot take.
    """
    checks.splits(data)
    rate = checks.positive(rate, "rate")
    n = data.n_train
    batch_size = checks.batch_size(batch_size, n)
    seeds = checks.seeds(seeds)
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (an interval over them), got {list(seeds)}")
    max_updates = checks.integer(max_updates, "max_updates", minimum=1)
    if target_loss is not None:
        target_loss = checks.positive(target_loss, "target_loss")
    check_every = checks.integer(check_every, "check_every", minimum=1)
    monitor_examples = min(checks.integer(monitor_examples, "monitor_examples", minimum=1), n)
    exact_examples = checks.integer(exact_examples, "exact_examples", minimum=2, maximum=n)
    mean = losses.get(loss).mean
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__}")
    columns = {key: [] for key in ("updates", "loss", "reached", "b_simple", "g_squared", "trace_sigma")}
    for seed in seeds:
        network, taken = short_run(data, rate=rate, batch_size=batch_size, updates=max_updates, seed=seed,
                                   model=model, loss=loss, target_loss=target_loss, check_every=check_every,
                                   monitor_examples=monitor_examples)
        x_monitor, y_monitor = data.x_train[:monitor_examples], data.y_train[:monitor_examples]
        final = _monitored_loss(network, x_monitor, y_monitor, mean)
        sample = torch.randperm(n, generator=seeded_generator(seed))[:exact_examples].to(data.device)
        full = batch_gradient(network, data.x_train, data.y_train, loss=loss)
        measured = per_example_statistics(network, data.x_train[sample], data.y_train[sample], loss=loss,
                                          mean_gradient=full)
        columns["updates"].append(taken)
        columns["loss"].append(final)
        columns["reached"].append(target_loss is None or final <= target_loss)
        columns["b_simple"].append(measured.b_simple)
        columns["g_squared"].append(measured.g_squared)
        columns["trace_sigma"].append(measured.trace_sigma)
    return MeasuredNoise(label, n, tuple(seeds), *(np.array(columns[key]) for key in
                                                   ("updates", "loss", "reached", "b_simple", "g_squared",
                                                    "trace_sigma")))


def overlap(intervals) -> bool:
    """Whether all the intervals ``[(low, high), ...]`` share a point (the largest low <= the smallest high).

    Raises:
        ValueError: fewer than 2 intervals, or one with low > high or not finite.
    """
    pairs = [checks.values(pair, "every interval", minimum_count=2) for pair in intervals]
    if len(pairs) < 2 or any(p.size != 2 or p[0] > p[1] for p in pairs):
        raise ValueError(f"intervals must be at least 2 pairs (low, high) with low <= high, got {intervals!r}")
    return max(p[0] for p in pairs) <= min(p[1] for p in pairs)


def compare_tasks(data: Splits, *, classes: Sequence[int] = (0, 1), noisy_fraction: float = 0.3,
                  variant_seed: int = 0, **training) -> list[MeasuredNoise]:
    """:func:`train_and_measure` on each task of :data:`VARIANTS` (easiest first), with the same training.

    Args:
        data (Splits): the standard task.
        classes, noisy_fraction, variant_seed: :func:`task_variant`'s ``classes``, ``noisy_fraction``, ``seed``.
        **training: :func:`train_and_measure`'s arguments (``rate``, ``batch_size``, ``seeds``,
            ``max_updates``, ...), the same for every task.

    Returns:
        list of 3 MeasuredNoise, labelled by variant.

    Raises:
        As :func:`task_variant` and :func:`train_and_measure`.
    """
    variants = [task_variant(data, v, classes=classes, noisy_fraction=noisy_fraction, seed=variant_seed)
                for v in VARIANTS]                       # all checked before any training
    return [train_and_measure(d, label=v, **training) for v, d in zip(VARIANTS, variants)]


def compare_sizes(data: Splits, *, train_sizes: Sequence[int], target_loss: float, **training) -> list[MeasuredNoise]:
    """:func:`train_and_measure` on the first N training examples for each N, each run trained down to ``target_loss``.

    Args:
        data (Splits): the training data; its first N examples form each subset.
        train_sizes (sequence of int): increasing N, each at most the training examples.
        target_loss (float): the training loss every run is trained down to (matched progress), > 0.
        **training: :func:`train_and_measure`'s other arguments.

    Returns:
        list of MeasuredNoise, labelled ``"N=..."``.

    Raises:
        ValueError: sizes not increasing or larger than the data; as :func:`train_and_measure`.
    """
    checks.splits(data)
    sizes = checks.integers(train_sizes, "train_sizes", minimum=2, minimum_count=2)
    if any(b <= a for a, b in zip(sizes, sizes[1:])) or sizes[-1] > data.n_train:
        raise ValueError(f"train_sizes must increase and be at most {data.n_train}, got {list(sizes)}")
    target_loss = checks.positive(target_loss, "target_loss")
    return [train_and_measure(data.subset(n_train=n), target_loss=target_loss, label=f"N={n}", **training)
            for n in sizes]
