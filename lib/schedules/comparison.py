"""Training the textbook network under several schedules, over seeds, and summarising (section 3).

* :func:`seed_members`: one :class:`lib.core.members.Member` per configuration
  and seed, the configurations of one seed sharing initial weights and data order;
* :func:`compare_schedules`: trains them all as one grid
  (:func:`lib.core.engine.train_grid`) and returns a :class:`ScheduleComparison`,
  the curves by configuration and seed and the final test accuracy;
  :func:`combine` puts the configurations of several comparisons side by side;
* :func:`rows_by_label` and :func:`final_test_accuracy`: the two steps from a
  grid run to those tables;
* :func:`quick_training`: one short run of one schedule, the explorer's *train* button.

Summaries over seeds are :class:`lib.core.stats.SeedSummary` (mean, sample
standard deviation, range, wins per seed).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from lib.core import checks
from lib.core.data import Splits
from lib.core.engine import DIVERGED_LOSS, GridRun, History, train_grid
from lib.core.evaluate import evaluate_stacked
from lib.core.members import Member
from lib.core.stats import SeedSummary, summarize_seeds
from lib.schedules.policies import schedule

CURVES = ("train_loss", "val_loss", "val_acc", "step_lr")


# --------------------------------------------------------------------------- from configurations to a grid and back

def seed_members(configurations: Mapping[str, Mapping[str, Any]], seeds: Sequence[int]) -> list[Member]:
    """One :class:`lib.core.members.Member` per configuration and seed, labelled with the configuration's name.

    Seed ``s`` sets both the initial weights and the data order
    (``init_seed = data_seed = s``), so that within a seed every configuration
    starts from the same weights and sees the same batches.  Members come
    configuration by configuration, the seeds of each together.

    Args:
        configurations (mapping): ``{name: {Member field: value}}`` (``lr``, ``schedule``, ...).
        seeds (list[int]): distinct seeds.

    Returns:
        list[Member]: ``len(configurations) * len(seeds)`` members.

    Raises:
        ValueError: no configurations, seeds not distinct, a configuration that is not a
            mapping or sets ``label``, ``init_seed`` or ``data_seed``.
        TypeError: a seed that is not an int.
    """
    if not isinstance(configurations, Mapping) or not configurations:
        raise ValueError("configurations must be a non-empty {name: {Member field: value}} mapping")
    seeds = checks.seeds(seeds)
    members = []
    for name, fields in configurations.items():
        if not isinstance(fields, Mapping) or {"label", "init_seed", "data_seed"} & set(fields):
            raise ValueError(f"configuration {name!r} must be a mapping of Member fields other than "
                             "label, init_seed and data_seed")
        members += [Member(**fields, init_seed=seed, data_seed=seed, label=name) for seed in seeds]
    return members


def rows_by_label(history: History, values) -> dict[str, np.ndarray]:
    """Split a per-member array (``history.val_acc``, a test accuracy, ...) by member label, in order.

    Args:
        history (History): the run whose members label the rows.
        values (array-like, (K, ...)): one row per member.

    Returns:
        dict[str, ndarray]: ``{label: rows of the members with that label}``, each (seeds, ...).

    Raises:
        ValueError: ``values`` does not have one row per member.
    """
    values = np.asarray(values)
    labels = history.labels
    if values.shape[:1] != (len(labels),):
        raise ValueError(f"values must have one row per member ({len(labels)}), got shape {values.shape}")
    grouped: dict[str, list] = {}
    for label, row in zip(labels, values):
        grouped.setdefault(label, []).append(row)
    return {label: np.stack(rows) for label, rows in grouped.items()}


def final_test_accuracy(run: GridRun, x: torch.Tensor, y: torch.Tensor) -> SeedSummary:
    """Each member's accuracy on (x, y) with its final weights, grouped by label into a :class:`SeedSummary`.

    Returns:
        SeedSummary: ``values`` (labels, seeds), the labels in the grid's order.

    Raises:
        ValueError: a member diverged (it has no final accuracy: report it from
            ``history.diverged`` instead), labels with different numbers of seeds,
            fewer than 2 seeds.
    """
    if run.history.diverged.any():
        names = [m.name for m, d in zip(run.history.members, run.history.diverged) if d]
        raise ValueError(f"diverged members have no final accuracy: {', '.join(names)}")
    _, accuracy = evaluate_stacked(run.template, run.params, run.buffers, x, y)
    grouped = rows_by_label(run.history, accuracy.cpu().numpy())
    counts = {len(rows) for rows in grouped.values()}
    if len(counts) != 1:
        raise ValueError("every label needs the same number of seeds")
    return summarize_seeds(np.stack(list(grouped.values())), list(grouped))


# --------------------------------------------------------------------------- the comparison

@dataclass(frozen=True)
class ScheduleComparison:
    """C configurations trained on the same S seeds (:func:`compare_schedules`).

    Attributes:
        labels (tuple[str, ...]): the configurations, in order.
        seeds (tuple[int, ...]): the seeds, in order (row s of every (C, S, ...) array).
        eval_epoch (ndarray, (E,)): when the curves were evaluated, in epochs.
        step_epoch (ndarray, (T,)): each update's position, in epochs.
        train_loss (ndarray, (C, S, E)): loss on the fixed training subset.
        val_loss, val_acc (ndarray, (C, S, E)): on the validation split.
        step_lr (ndarray, (C, S, T)): the rate each update applied.
        test (SeedSummary): final test accuracy, ``values`` (C, S).
        seconds (float): wall-clock seconds of the training behind the record.
        runs (int): networks trained for it.
    """

    labels: tuple[str, ...]
    seeds: tuple[int, ...]
    eval_epoch: np.ndarray
    step_epoch: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    step_lr: np.ndarray
    test: SeedSummary
    seconds: float
    runs: int

    def index(self, label: str) -> int:
        """The row of configuration ``label``.

        Raises:
            ValueError: an unknown label.
        """
        return self.labels.index(checks.choice(label, "label", self.labels))

    def curve(self, what: str, label: str) -> np.ndarray:
        """``what`` (one of :data:`CURVES`) of configuration ``label``, (S, E) or (S, T) for ``step_lr``.

        Raises:
            ValueError: an unknown curve or label.
        """
        return getattr(self, checks.choice(what, "curve", CURVES))[self.index(label)]

    def final(self, what: str = "val_acc", labels: Sequence[str] | None = None) -> SeedSummary:
        """The last evaluation of ``what`` (``val_acc``, ``val_loss`` or ``train_loss``) over seeds.

        Args:
            what (str): the curve. Default ``"val_acc"``.
            labels (list[str], optional): names for the configurations in the summary
                (e.g. ``"0.5"`` for ``"fixed, η = 0.5"``). Default: :attr:`labels`.

        Returns:
            SeedSummary: ``values`` (C, S).

        Raises:
            ValueError: an unknown curve; ``labels`` of the wrong length or repeated.
        """
        checks.choice(what, "curve", CURVES[:3])
        return summarize_seeds(getattr(self, what)[:, :, -1], self.labels if labels is None else labels)

    def select(self, labels: Sequence[str]) -> "ScheduleComparison":
        """The configurations ``labels`` only, in that order (``seconds`` and ``runs`` unchanged).

        Raises:
            ValueError: an unknown label.
        """
        rows = [self.index(label) for label in labels]
        test = summarize_seeds(self.test.values[rows], [self.labels[r] for r in rows])
        return dataclasses.replace(self, labels=test.labels, test=test,
                                   **{name: getattr(self, name)[rows] for name in CURVES})


def combine(*comparisons: ScheduleComparison) -> ScheduleComparison:
    """The configurations of several comparisons side by side, in order.

    ``seconds`` and ``runs`` add up.  The parts must share their seeds and
    evaluation points (the same data, batch size and epochs).

    Raises:
        ValueError: no part, parts that differ in seeds or evaluation points, repeated labels.
        TypeError: a part that is not a :class:`ScheduleComparison`.
    """
    if not comparisons:
        raise ValueError("combine needs at least one ScheduleComparison")
    if not all(isinstance(part, ScheduleComparison) for part in comparisons):
        raise TypeError("every part must be a ScheduleComparison")
    first = comparisons[0]
    for part in comparisons[1:]:
        if part.seeds != first.seeds or not np.array_equal(part.eval_epoch, first.eval_epoch) \
                or not np.array_equal(part.step_epoch, first.step_epoch):
            raise ValueError("the comparisons must share their seeds, evaluations and updates")
    labels = [label for part in comparisons for label in part.labels]
    test = summarize_seeds(np.vstack([part.test.values for part in comparisons]), labels)
    curves = {name: np.concatenate([getattr(part, name) for part in comparisons]) for name in CURVES}
    return dataclasses.replace(first, labels=test.labels, test=test, **curves,
                               seconds=sum(part.seconds for part in comparisons),
                               runs=sum(part.runs for part in comparisons))


def compare_schedules(configurations: Mapping[str, Mapping[str, Any]], seeds: Sequence[int], data: Splits, *,
                      batch_size: int = 128, epochs: int = 1, eval_every: float = 0.5,
                      train_eval_size: int | None = 10_000) -> ScheduleComparison:
    """Train every configuration on every seed (one grid) and tabulate by configuration and seed.

    The members are :func:`seed_members`; the grid is
    :func:`lib.core.engine.train_grid` with the textbook network; the test
    accuracy is :func:`final_test_accuracy` on ``data``'s test split.

    Args:
        configurations (mapping): ``{name: {Member field: value}}``, e.g.
            ``{"cosine": {"lr": 0.8, "schedule": schedule("cosine", T_max=1290, eta_min=0.0)}}``.
        seeds (list[int]): distinct seeds, at least 2.
        data (Splits): with validation and test splits.
        batch_size (int): examples per update. Default 128.
        epochs (int): passes over the training data. Default 1.
        eval_every (float): epochs between evaluations. Default 0.5.
        train_eval_size (int or None): training examples the training loss is measured on. Default 10,000.

    Returns:
        ScheduleComparison: curves (C, S, ...) and the final test accuracy.

    Raises:
        ValueError: as :func:`seed_members` and :func:`final_test_accuracy` (fewer than 2
            seeds, a diverged run), data without a test split, bad training arguments.
        TypeError: as :func:`lib.core.engine.train_grid`.
    """
    members = seed_members(configurations, seeds)
    checks.splits(data, validation=True, test=True)
    run = train_grid(members, data, batch_size=batch_size, epochs=epochs, eval_every=eval_every,
                     train_eval_size=train_eval_size)
    test = final_test_accuracy(run, data.x_test, data.y_test)
    history = run.history
    curves = {name: np.stack(list(rows_by_label(history, getattr(history, name)).values())) for name in CURVES}
    return ScheduleComparison(labels=test.labels, seeds=checks.seeds(seeds), eval_epoch=history.eval_epoch,
                              step_epoch=history.step_epoch, test=test, seconds=history.seconds,
                              runs=len(history.members), **curves)


# --------------------------------------------------------------------------- one quick run

def quick_training(name: str, params: dict, lr: float, data: Splits, *, epochs: int, batch_size: int = 128,
                   init_seed: int = 0) -> History:
    """Train the textbook network with policy ``name`` for ``epochs`` epochs of ``data``; returns its history.

    A run whose mini-batch loss turns non-finite or exceeds
    :data:`lib.core.engine.DIVERGED_LOSS` (four times the loss of a uniform guess
    over ten classes) is recorded as diverged and frozen (NaN from then on), not
    an error.  Evaluations every quarter epoch, the training loss on the first
    2,000 examples.

    Args:
        name (str), params (dict): the policy and its parameters (:func:`lib.schedules.policies.schedule`).
        lr (float): the base rate (per update).
        data (Splits): the training data (validation optional).
        epochs (int): passes over the training data.
        batch_size (int): examples per update. Default 128.
        init_seed (int): seed of the initial weights. Default 0.

    Returns:
        History: one member's history.

    Raises:
        ValueError, TypeError: a bad policy or parameter, or bad training arguments.
    """
    member = Member(lr=lr, schedule=schedule(name, **params), init_seed=init_seed,
                    label=f"{name}, η0={lr:.3g}")
    if not isinstance(data, Splits):
        raise TypeError(f"data must be lib.core.data.Splits, got {type(data).__name__}")
    return train_grid([member], data, batch_size=batch_size, epochs=epochs, eval_every=0.25,
                      train_eval_size=min(2000, data.x_train.shape[0]), divergence_loss=DIVERGED_LOSS,
                      progress=False).history
