"""Keskar et al.'s (2017) experiment: a small and a large batch, each trained to convergence, compared.

Keskar, Mudigere, Nocedal, Smelyanskiy & Tang, "On large-batch training for deep
learning: generalization gap and sharp minima" (ICLR 2017) train the same
network with a small batch and with a batch of 10 % of the data, and find the
large-batch solution sharper and worse on the test set.  Here:

* :class:`Recipe`: how a solution is trained at any batch size (SGD with
  momentum, :func:`lib.sharpness.sgd_noise.epochs_for_updates` epochs);
* :func:`train_solutions`: one batch size, several seeds -> :class:`Solutions`,
  the per-seed record: learning curves, accuracies, distance from the
  initial weights and every sharpness number;
* :func:`small_vs_large_batch`: the two batch sizes -> :class:`GapStudy`;
* :class:`SolutionBank`: trained networks and their sharpness by batch size,
  computed once each (the section's explorer and its sharpness-against-batch figure).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from torch import nn

from lib.core import checks
from lib.core.data import Splits
from lib.core.engine import GridRun, train_grid
from lib.core.evaluate import evaluate_stacked
from lib.core.members import Member
from lib.core.models import build_model

from .sgd_noise import epochs_for_updates
from .weight_space import weight_distance

#: ``measure(network) -> {name: number}``, e.g. a partial of :func:`lib.sharpness.keskar.sharpness_report`.
Measure = Callable[[nn.Module], dict]


@dataclass(frozen=True)
class Recipe:
    """How Keskar's comparison trains a solution "to convergence" at any batch size.

    SGD with heavy-ball momentum (the grid engine; Keskar et al. used Adam) for
    :func:`~lib.sharpness.sgd_noise.epochs_for_updates` epochs: at least
    ``min_epochs`` and at least ``min_updates`` parameter updates.

    Args:
        lr (float): learning rate (per update), > 0.
        momentum (float): heavy-ball momentum in [0, 1).
        min_epochs (int): epochs, at least, >= 1.
        min_updates (int): parameter updates, at least, >= 1.
        model (str or callable): a name in :data:`lib.core.models.MODELS` or a factory
            ``init_seed -> nn.Module``. Default ``"textbook"``.

    Raises:
        TypeError, ValueError: a field of the wrong type or out of range.
    """

    lr: float
    momentum: float
    min_epochs: int
    min_updates: int
    model: str | Callable[[int], nn.Module] = "textbook"

    def __post_init__(self):
        checks.positive(self.lr, "lr")
        checks.fraction(self.momentum, "momentum")
        checks.int_at_least(self.min_epochs, "min_epochs")
        checks.int_at_least(self.min_updates, "min_updates")

    def epochs(self, batch_size: int, train_size: int) -> int:
        """Epochs at ``batch_size`` on ``train_size`` examples (:func:`~lib.sharpness.sgd_noise.epochs_for_updates`)."""
        return epochs_for_updates(batch_size, train_size, min_epochs=self.min_epochs, min_updates=self.min_updates)

    def train(self, data: Splits, batch_size: int, seeds: Sequence[int], *, evaluations: int = 10) -> GridRun:
        """One member per seed (initial weights and data order both from the seed), trained as one grid.

        Args:
            data (Splits): the training data (and the validation split the history evaluates on).
            batch_size (int): examples per update, in [1, N].
            seeds (sequence of int): distinct seeds >= 0.
            evaluations (int): evaluations spread evenly over training (``eval_every`` =
                epochs / evaluations), besides the one at the start, >= 1. Default 10.

        Returns:
            GridRun: the engine's run, one member per seed in the order of ``seeds``.

        Raises:
            TypeError, ValueError: as :func:`~lib.sharpness.sgd_noise.epochs_for_updates` and
                :func:`lib.core.engine.train_grid`; seeds that repeat or are negative.
        """
        seeds = checks.seeds(seeds)
        evaluations = checks.int_at_least(evaluations, "evaluations")
        epochs = self.epochs(batch_size, data.n_train)
        members = [Member(lr=self.lr, momentum=self.momentum, init_seed=s, data_seed=s) for s in seeds]
        return train_grid(members, data, model=self.model, batch_size=batch_size, epochs=epochs,
                          eval_every=epochs / evaluations)

    def solution(self, data: Splits, batch_size: int, seed: int = 0) -> nn.Module:
        """The network trained from ``seed`` with ``batch_size`` (one evaluation, at the end)."""
        return self.train(data, batch_size, [seed], evaluations=1).model(0)


@dataclass(frozen=True)
class Solutions:
    """The networks one batch size trained, one per seed, and what was measured on them.

    Attributes:
        batch_size (int): examples per update.
        seeds (tuple[int, ...]): S seeds, in row order.
        epochs (int): epochs trained.
        updates (int): parameter updates made.
        eval_step (ndarray, (E,)): updates done at each evaluation.
        train_loss (ndarray, (S, E)): loss on (up to 10,000 of) the training examples.
        val_acc (ndarray, (S, E)): validation accuracy, in percent.
        sharpness (dict[str, ndarray (S,)]): every number ``measure`` gave, by name.
        train_acc (ndarray, (S,)): final training accuracy, in percent (float32).
        test_acc (ndarray, (S,)): test accuracy, in percent (float32).
        distance (ndarray, (S,)): :math:`\\|\\theta - \\theta_0\\|_2` from the initial weights.
        networks (tuple[nn.Module, ...]): the S trained networks.
    """

    batch_size: int
    seeds: tuple[int, ...]
    epochs: int
    updates: int
    eval_step: np.ndarray
    train_loss: np.ndarray
    val_acc: np.ndarray
    sharpness: dict[str, np.ndarray]
    train_acc: np.ndarray
    test_acc: np.ndarray
    distance: np.ndarray
    networks: tuple[nn.Module, ...] = field(repr=False)

    @property
    def measures(self) -> dict[str, np.ndarray]:
        """Every per-seed number by name: the sharpness numbers, then ``train_acc``, ``test_acc``, ``distance``."""
        return {**self.sharpness, "train_acc": self.train_acc, "test_acc": self.test_acc,
                "distance": self.distance}

    def report(self, row: int = 0) -> dict[str, float]:
        """:attr:`measures` of one seed (row ``row``), as floats."""
        return {key: float(values[row]) for key, values in self.measures.items()}


def train_solutions(data: Splits, recipe: Recipe, batch_size: int, seeds: Sequence[int], *,
                    measure: Measure) -> Solutions:
    """Train one network per seed with ``batch_size`` and measure each.

    The seeds' networks train together (:meth:`Recipe.train`, ten evaluations);
    then, for each, ``measure(network)`` (its sharpness), the final training
    accuracy, the test accuracy (:func:`lib.core.evaluate.evaluate_stacked`) and
    the distance travelled from its initial weights
    (:func:`lib.sharpness.weight_space.weight_distance`).

    Args:
        data (Splits): training, validation and test examples (a test split is needed).
        recipe (Recipe): how to train.
        batch_size (int): examples per update, in [1, N].
        seeds (sequence of int): distinct seeds >= 0.
        measure (callable): ``network -> {name: number}``, the same names for every network.

    Returns:
        Solutions: the per-seed record.

    Raises:
        TypeError: ``data`` is not ``Splits``, ``recipe`` not a :class:`Recipe`, ``measure`` not
            callable; as :func:`lib.core.engine.train_grid`.
        ValueError: ``data`` without a test split; as :func:`lib.core.engine.train_grid`.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    checks.function(measure, "measure", "f(network) -> dict")
    checks.splits(data, test=True)
    seeds = checks.seeds(seeds)
    run = recipe.train(data, batch_size, seeds)
    networks = tuple(run.model(k) for k in range(len(seeds)))
    reports = [measure(network) for network in networks]
    test_acc = evaluate_stacked(run.template, run.params, run.buffers, data.x_test, data.y_test)[1].numpy()
    h = run.history
    return Solutions(
        batch_size=int(batch_size), seeds=seeds, epochs=len(h.batch_sizes), updates=len(h.step_epoch),
        eval_step=h.eval_step, train_loss=h.train_loss, val_acc=100 * h.val_acc,
        sharpness={key: np.array([r[key] for r in reports]) for key in reports[0]},
        train_acc=100 * h.train_acc[:, -1], test_acc=100 * test_acc,
        distance=np.array([weight_distance(network, build_model(recipe.model, s))
                           for network, s in zip(networks, seeds)]),
        networks=networks)


@dataclass(frozen=True)
class GapStudy:
    """Keskar's comparison: the :class:`Solutions` of a small and of a large batch, same seeds."""

    small: Solutions
    large: Solutions

    def ratio(self, key: str) -> float:
        """Mean over seeds of the large batch's ``key`` divided by the small batch's (a name of :attr:`Solutions.measures`)."""
        return float(self.large.measures[key].mean() / self.small.measures[key].mean())

    @property
    def test_gap(self) -> float:
        """Mean test accuracy of the small batch minus that of the large batch, in percentage points."""
        return float(self.small.test_acc.mean() - self.large.test_acc.mean())


def small_vs_large_batch(data: Splits, recipe: Recipe, *, small: int, large: int, seeds: Sequence[int],
                         measure: Measure) -> GapStudy:
    """Keskar et al.'s (2017) comparison: :func:`train_solutions` at ``small`` and at ``large``.

    Args:
        data, recipe, seeds, measure: as in :func:`train_solutions`.
        small, large (int): the two batch sizes (Keskar: 256 and 10 % of the training set).

    Returns:
        GapStudy: both records.

    Raises:
        TypeError, ValueError: as :func:`train_solutions`.
    """
    return GapStudy(small=train_solutions(data, recipe, small, seeds, measure=measure),
                    large=train_solutions(data, recipe, large, seeds, measure=measure))


class SolutionBank:
    """Trained networks by batch size, with their sharpness, each computed once.

    ``train(batch_size) -> nn.Module`` trains a missing network (e.g.
    :meth:`Recipe.solution`), and ``measure(model) -> dict`` gives its sharpness
    numbers (e.g. :func:`lib.sharpness.keskar.sharpness_report` on a fixed
    batch).  Networks trained elsewhere go in with :meth:`add` or
    :meth:`add_solutions`, so nothing is trained twice.

    Raises:
        TypeError: ``train`` or ``measure`` is given but not callable.
    """

    def __init__(self, train: Callable[[int], nn.Module] | None = None, measure: Measure | None = None):
        if train is not None:
            checks.function(train, "train", "f(batch_size) -> nn.Module")
        if measure is not None:
            checks.function(measure, "measure", "f(model) -> dict")
        self._train, self._measure = train, measure
        self._models: dict[int, nn.Module] = {}
        self._reports: dict[int, dict] = {}

    def add(self, batch_size: int, model: nn.Module, report: dict | None = None) -> None:
        """Keep ``model`` (and its ``report``, if given) as the solution of ``batch_size``.

        Raises:
            TypeError, ValueError: ``batch_size`` not an int >= 1; ``model`` not an
                ``nn.Module`` with parameters.
        """
        batch_size = checks.int_at_least(batch_size, "batch_size")
        checks.module(model)
        self._models[batch_size] = model
        if report is not None:
            self._reports[batch_size] = dict(report)

    def add_solutions(self, solutions: Solutions, row: int = 0) -> None:
        """Keep one seed's network of ``solutions`` (row ``row``) with its measures."""
        self.add(solutions.batch_size, solutions.networks[row], solutions.report(row))

    def prepare(self, batch_sizes: Sequence[int]) -> None:
        """Train the solutions of ``batch_sizes`` that are missing (:meth:`model` for each)."""
        for batch_size in checks.integers(batch_sizes, "batch_sizes", minimum=1, minimum_count=0):
            self.model(batch_size)

    @property
    def cached(self) -> list[int]:
        """The batch sizes with a network, increasing."""
        return sorted(self._models)

    def model(self, batch_size: int) -> nn.Module:
        """The network of ``batch_size``, trained now if missing.

        Raises:
            ValueError: missing, and the bank has nothing to train it with.
        """
        batch_size = checks.int_at_least(batch_size, "batch_size")
        if batch_size not in self._models:
            if self._train is None:
                raise ValueError(f"no network was trained with batch size {batch_size}; "
                                 f"available: {', '.join(map(str, self.cached)) or 'none'}")
            self._models[batch_size] = self._train(batch_size)
        return self._models[batch_size]

    def report(self, batch_size: int) -> dict:
        """The sharpness numbers of ``batch_size``'s network, measured now if missing.

        Raises:
            ValueError: missing, and the bank has nothing to measure them with.
        """
        batch_size = checks.int_at_least(batch_size, "batch_size")
        if batch_size not in self._reports:
            if self._measure is None:
                raise ValueError(f"no sharpness numbers for batch size {batch_size} and nothing to measure them with")
            self._reports[batch_size] = dict(self._measure(self.model(batch_size)))
        return self._reports[batch_size]

    def reports(self) -> dict[int, dict]:
        """:meth:`report` of every cached batch size, increasing."""
        return {batch_size: self.report(batch_size) for batch_size in self.cached}
