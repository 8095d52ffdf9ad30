"""One batch size: a grid of learning rates x seeds (x warm-up or not), trained at once and read.

:func:`train_rate_grid` trains, at one batch size, one
:func:`lib.core.engine.train_grid` of learning rates x seeds, and optionally a
warmed-up copy of some rates: every member runs in lockstep, so a batch size
costs one grid, not one run per rate.  Besides the engine's regular evaluations
it measures the validation loss at update counts spaced by factors of
:math:`\\sqrt 2` early in training (:func:`lib.batch_size.probes.probe_steps`), where the regular
evaluations are too coarse to time when a target is reached.

:class:`RateGrid` is the result; :meth:`RateGrid.compare` says which rate wins
over the seeds (:class:`RateComparison`: final validation loss, accuracy beside
it; or the loss after a given number of updates, or on the test split),
:meth:`RateGrid.steps_to_target` when each run reaches a loss and
:meth:`RateGrid.loss_at` what each has reached after a given number of updates.
When the data carry a test split, every member's final test loss and accuracy
are measured once, after training (:attr:`RateGrid.test_loss`): data that no
choice of rate has seen.

Members are ordered variant-major (all constant-rate members first, then the
warmed-up ones), then by increasing rate, then by seed (:func:`member_index`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from lib.core import checks, stats
from lib.core.data import Splits
from lib.core.engine import DIVERGED_LOSS, History, train_grid
from lib.core.evaluate import evaluate_stacked
from lib.core.members import Member
from lib.core.models import build_model
from lib.core.order import steps_per_epoch
from lib.schedules.policies import schedule

from .critical_batch import crossing_step, loss_at_step
from .probes import ValidationProbe, chain_callbacks, probe_steps

#: The two kinds of member: a constant rate, or Goyal et al.'s linear warm-up to it.
VARIANTS = ("constant", "warmup")


# --------------------------------------------------------------------------- the grid's members

def _sorted_rates(rates, name: str, minimum_count: int) -> np.ndarray:
    return np.sort(checks.rates(rates, name, minimum_count=minimum_count, distinct=True))


def grid_rates(rates, warmup_rates=None, *, minimum_count: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The grid's rates and the rates that also train with warm-up (default: all), each distinct and sorted.

    Args:
        rates (list of floats): at least ``minimum_count`` distinct learning rates (per update), > 0.
        warmup_rates (list of floats, optional): a subset of ``rates``.

    Returns:
        (rates (R,), warmup_rates (W,)): float64 arrays, increasing.

    Raises:
        TypeError: not lists of numbers.
        ValueError: too few, repeated or non-positive rates; warm-up rates not in the grid.
    """
    rates = _sorted_rates(rates, "rates", minimum_count)
    if warmup_rates is None:
        return rates, rates
    warm = _sorted_rates(warmup_rates, "warmup_rates", 1)
    missing = [r for r in warm if not np.isclose(rates, r, rtol=1e-12, atol=0).any()]
    if missing:
        raise ValueError(f"warmup_rates must be among the grid's rates {rates.tolist()}, got {missing}")
    return rates, warm


def member_index(rates: Sequence[float], seeds: Sequence[int], *, rate: float, seed: int,
                 variant: str = "constant", warmup_rates: Sequence[float] | None = None) -> int:
    """Position of the member (rate, seed, variant) in the grid :func:`train_rate_grid` builds.

    Members are ordered variant-major (all constant-rate members first, then the
    warmed-up ones, whose rates are ``warmup_rates``, default all), then by
    increasing rate, then by seed.

    Args:
        rates, seeds, warmup_rates: as given to :func:`train_rate_grid`.
        rate (float), seed (int), variant (str): the member.

    Returns:
        int: its row in the grid's history.

    Raises:
        TypeError, ValueError: invalid rates, seeds or variant; a rate or seed not in the grid.
    """
    seeds = checks.seeds(seeds)
    checks.choice(variant, "variant", VARIANTS)
    ordered, warm = grid_rates(rates, warmup_rates if variant == "warmup" else None, minimum_count=1)
    own = ordered if variant == "constant" else warm
    matches = np.flatnonzero(np.isclose(own, rate, rtol=1e-12, atol=0))
    if matches.size == 0:
        raise ValueError(f"rate {rate!r} is not in the grid {own.tolist()} of the {variant} members")
    if seed not in seeds:
        raise ValueError(f"seed {seed!r} is not among {list(seeds)}")
    offset = 0 if variant == "constant" else len(ordered) * len(seeds)
    return offset + int(matches[0]) * len(seeds) + seeds.index(seed)


# --------------------------------------------------------------------------- training a grid

def train_rate_grid(data: Splits, batch_size: int, rates: Sequence[float], seeds: Sequence[int], *,
                    epochs: int, warmup_epochs: float = 0.0, warmup_start_factor: float = 0.01,
                    warmup_rates: Sequence[float] | None = None, eval_every: float = 0.25,
                    probes_per_octave: int = 2, model="textbook",
                    on_step: Callable | None = None, progress: bool | None = None) -> "RateGrid":
    """Train every (rate, seed) at one batch size as one grid; with ``warmup_epochs`` > 0 also warmed-up copies.

    Seed ``s`` sets both the initial weights and the data order, so the rates of
    one seed start from the same weights and see the same batches, as in the
    textbook's comparisons.  Warm-up is Goyal et al.'s (2017) gradual warm-up:
    the rate rises linearly from ``warmup_start_factor`` x rate to the rate over
    the first ``warmup_epochs`` epochs (``torch.optim.lr_scheduler.LinearLR``,
    through :func:`lib.schedules.policies.schedule`), then stays; the copies are
    made for the ``warmup_rates`` (default: every rate).  A member whose
    mini-batch loss exceeds :data:`lib.core.engine.DIVERGED_LOSS` or turns
    non-finite is recorded as diverged, and its probes after that are NaN.

    Args:
        data (Splits): training data with a validation split.
        batch_size (int): examples per update, 1 to the number of training examples.
        rates (list of floats): at least 2 distinct learning rates (per update), > 0.
        seeds (list of ints): distinct seeds >= 0.
        epochs (int): epochs of training, >= 1.
        warmup_epochs (float): epochs of warm-up, 0 (no warmed-up copies) to ``epochs``. Default 0.
        warmup_start_factor (float): first warm-up rate / rate, in [0, 1]. Default 0.01.
        warmup_rates (list of floats, optional): the rates that get a warmed-up copy. Default all.
        eval_every (float): epochs between the engine's evaluations. Default 0.25.
        probes_per_octave (int): early probes per doubling of the update count. Default 2.
        model (str or callable): the architecture (:func:`lib.core.models.build_model`). Default ``"textbook"``.
        on_step (callable, optional): ``on_step(step, params)`` after every update (e.g. a
            :class:`lib.batch_size.noise_tracker.NoiseScaleTracker`).
        progress (bool, optional): a progress bar (see :func:`lib.core.engine.train_grid`).

    Returns:
        RateGrid; with a test split in ``data``, its ``test_loss`` and ``test_acc`` hold every
        member's final loss and accuracy on it (NaN where the member diverged).

    Raises:
        TypeError: ``data`` is not ``Splits``; arguments of the wrong type.
        ValueError: no validation split; a batch size, rate, seed or epoch count out of
            range; warm-up longer than training; warm-up rates not in the grid.
    """
    data = checks.splits(data, validation=True)
    n_train = data.x_train.shape[0]
    batch_size = checks.batch_size(batch_size, n_train)
    rates, warm = grid_rates(rates, warmup_rates)
    seeds = checks.seeds(seeds)
    epochs = checks.int_at_least(epochs, "epochs")
    warmup_epochs = checks.number(warmup_epochs, "warmup_epochs", low=0.0, high=epochs)
    epoch_steps = steps_per_epoch(n_train, batch_size)
    warmup_steps = int(round(warmup_epochs * epoch_steps))
    if warmup_epochs > 0 and warmup_steps < 1:
        warmup_steps = 1
    variants = ["constant"] + (["warmup"] if warmup_steps else [])
    warm = warm if warmup_steps else np.zeros(0)
    members = []
    for variant in variants:
        warmup = (schedule("warmup", start_factor=warmup_start_factor, total_iters=warmup_steps)
                  if variant == "warmup" else None)
        for rate in (rates if variant == "constant" else warm):
            for seed in seeds:
                members.append(Member(lr=float(rate), schedule=warmup, init_seed=seed, data_seed=seed,
                                      label=f"η={rate:g} seed {seed}" + (" warm-up" if warmup else "")))
    total_steps = epochs * epoch_steps
    template = build_model(model, 0).to(data.x_train.device)
    probe = ValidationProbe(template, data.x_val, data.y_val,
                             probe_steps(total_steps, eval_every * epoch_steps, probes_per_octave))
    run = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, eval_every=eval_every,
                     train_eval_size=min(1000, n_train), divergence_loss=DIVERGED_LOSS, progress=progress,
                     on_step=chain_callbacks(probe, on_step))
    steps, losses = probe.result(len(members))
    history = run.history
    for k, at in enumerate(history.diverged_at):   # a frozen member's probe values are not losses
        if at >= 0:
            losses[k, steps > at] = np.nan
    test_loss = test_acc = None
    if data.x_test is not None:                    # once, after training: data no choice of rate has seen
        loss, accuracy = evaluate_stacked(run.template, run.params, run.buffers, data.x_test, data.y_test)
        test_loss = stats.mask_diverged(loss.cpu().numpy().astype(np.float64), history.diverged)
        test_acc = stats.mask_diverged(accuracy.cpu().numpy().astype(np.float64), history.diverged)
    return RateGrid(batch_size, rates, warm, seeds, tuple(variants), warmup_steps, history, steps, losses,
                    test_loss, test_acc)


# --------------------------------------------------------------------------- reading a grid

@dataclass(frozen=True)
class RateComparison:
    """Final validation loss (and accuracy) of several configurations, each over the same seeds.

    The winner has the lowest mean loss over seeds; a configuration that
    diverged in any seed cannot win.

    Attributes:
        configs (tuple of C (rate, variant)): the configurations.
        loss (ndarray (C, seeds)): final validation loss, +inf where the seed diverged.
        accuracy (ndarray (C, seeds)): final validation accuracy, NaN where the seed diverged.
    """

    configs: tuple[tuple[float, str], ...]
    loss: np.ndarray
    accuracy: np.ndarray

    @property
    def rates(self) -> np.ndarray:
        """(C,): each configuration's rate."""
        return np.array([rate for rate, _ in self.configs])

    @property
    def mean(self) -> np.ndarray:
        """(C,): mean final loss over seeds (inf if a seed diverged)."""
        return self.loss.mean(axis=1)

    @property
    def spread(self) -> np.ndarray:
        """(C,): largest minus smallest final loss over seeds (inf where a seed diverged)."""
        with np.errstate(invalid="ignore"):
            return self.loss.max(axis=1) - self.loss.min(axis=1)

    @property
    def std(self) -> np.ndarray:
        """(C,): sample standard deviation of the loss over seeds (``ddof=1``; inf where a seed diverged).

        Raises:
            ValueError: fewer than 2 seeds.
        """
        finite = np.isfinite(self.loss).all(axis=1)
        out = np.full(len(self.configs), np.inf)
        if self.loss.shape[1] < 2:
            raise ValueError("a standard deviation over seeds needs at least 2 seeds")
        out[finite] = self.loss[finite].std(axis=1, ddof=1)
        return out

    @property
    def mean_accuracy(self) -> np.ndarray:
        """(C,): mean final accuracy over seeds (NaN if a seed diverged)."""
        return self.accuracy.mean(axis=1)

    @property
    def best_index(self) -> int:
        """The winner's position.  Raises ValueError if every configuration diverged in some seed."""
        if not np.isfinite(self.mean).any():
            raise ValueError("every configuration diverged in some seed: there is no best rate")
        return int(np.argmin(self.mean))

    @property
    def best(self) -> tuple[float, str]:
        """The winner (rate, variant)."""
        return self.configs[self.best_index]

    @property
    def best_rate(self) -> float:
        """The winner's rate."""
        return self.best[0]

    @property
    def best_by_accuracy(self) -> tuple[float, str]:
        """The configuration with the highest mean final accuracy."""
        accuracy = np.where(np.isfinite(self.mean_accuracy), self.mean_accuracy, -np.inf)
        return self.configs[int(np.argmax(accuracy))]

    @property
    def wins_per_seed(self) -> np.ndarray:
        """(C,): how many seeds each configuration has the lowest final loss in."""
        return np.bincount(np.argmin(self.loss, axis=0), minlength=len(self.configs))

    @property
    def seed_best_rates(self) -> np.ndarray:
        """(seeds,): the winning rate of each seed on its own."""
        return self.rates[np.argmin(self.loss, axis=0)]

    def value(self, rate: float, variant: str = "constant", what: str = "mean") -> float:
        """``mean``/``spread``/``std`` (``ddof=1``) of the loss or ``accuracy`` (mean) of configuration (rate, variant).

        Raises:
            ValueError: an unknown ``what``, or no such configuration.
        """
        checks.choice(what, "what", ("mean", "spread", "std", "accuracy"))
        for c, (r, v) in enumerate(self.configs):
            if math.isclose(r, rate, rel_tol=1e-12) and v == variant:
                array = self.mean_accuracy if what == "accuracy" else getattr(self, what)
                return float(array[c])
        raise ValueError(f"no configuration (rate={rate!r}, {variant}) in {self.configs}")


@dataclass(frozen=True)
class RateGrid:
    """One batch size: the history of its grid of (variant, rate, seed) members and the early probes.

    Attributes:
        batch_size (int): examples per update.
        rates (ndarray (R,)): the constant-rate members' rates, increasing.
        warmup_rates (ndarray (W,)): the warmed-up members' rates (empty without warm-up).
        seeds (tuple of S ints): the seeds.
        variants (tuple of str): ``("constant",)`` or ``("constant", "warmup")``.
        warmup_steps (int): updates of warm-up (0 without).
        history (History): the engine's record, (R + W) x S members in :func:`member_index` order.
        probe_steps (ndarray (P,)): updates done at the early probes.
        probe_val_loss (ndarray (K, P)): validation loss there (NaN after a member diverged).
        test_loss, test_acc (ndarray (K,) or None): each member's final loss and accuracy on the
            test split (NaN where it diverged); None when the data had no test split.
    """

    batch_size: int
    rates: np.ndarray
    warmup_rates: np.ndarray
    seeds: tuple[int, ...]
    variants: tuple[str, ...]
    warmup_steps: int
    history: History
    probe_steps: np.ndarray
    probe_val_loss: np.ndarray
    test_loss: np.ndarray | None = None
    test_acc: np.ndarray | None = None

    @property
    def total_steps(self) -> int:
        """Updates every member made (or would have made, had it not diverged)."""
        return int(self.history.step_loss.shape[1])

    def rates_of(self, variant: str = "constant") -> np.ndarray:
        """The rates trained in ``variant`` (warm-up copies may cover only some of them)."""
        self._check_has(variant)
        return self.rates if variant == "constant" else self.warmup_rates

    def _check_has(self, variant: str) -> None:
        checks.choice(variant, "variant", VARIANTS)
        if variant not in self.variants:
            raise ValueError(f"batch size {self.batch_size} has no {variant!r} members; it has {self.variants}")

    def index(self, variant: str = "constant") -> np.ndarray:
        """Member indices as an array (rates of the variant, seeds)."""
        R, S = len(self.rates_of(variant)), len(self.seeds)
        start = 0 if variant == "constant" else len(self.rates) * S
        return np.arange(start, start + R * S).reshape(R, S)

    def rate_index(self, rate: float, variant: str = "constant") -> int:
        """Position of ``rate`` among :meth:`rates_of` ``variant``.  Raises ValueError if absent."""
        own = self.rates_of(variant)
        matches = np.flatnonzero(np.isclose(own, rate, rtol=1e-12, atol=0))
        if matches.size == 0:
            raise ValueError(f"rate {rate!r} is not in the {variant} grid of batch size {self.batch_size}: "
                             f"{own.tolist()}")
        return int(matches[0])

    def compare(self, rates: Sequence[float] | None = None, variants: Sequence[str] | None = None, *,
                step: float | None = None, split: str = "val") -> RateComparison:
        """Loss and accuracy of the chosen rates (default all) and variants (default all), over the seeds.

        Args:
            rates (list of floats, optional): rates of the grid. Default all.
            variants (list of str, optional): among :attr:`variants`. Default all.
            step (float, optional): read the validation loss after this many updates
                (:meth:`loss_at`) instead of at the end; the accuracy is the regular
                evaluation's at exactly that update count, NaN between evaluations.
                Default: the end of training.
            split (str): ``"val"`` (the validation split, which picks the rate) or ``"test"``
                (the test split, final weights only). Default ``"val"``.

        Returns:
            RateComparison: a member that diverged (before ``step``) has loss inf.

        Raises:
            ValueError: a rate or variant not trained; an unknown split; ``step`` given with
                ``split="test"`` or outside [0, :attr:`total_steps`]; no test split measured.
        """
        checks.choice(split, "split", ("val", "test"))
        if split == "test":
            if step is not None:
                raise ValueError("step must be None with split='test': the test split is measured after training only")
            if self.test_loss is None:
                raise ValueError(f"batch size {self.batch_size} has no test measurements (the data had no test split)")
        if step is not None:
            step = checks.number(step, "step", low=0.0, high=self.total_steps)
        variants = tuple(self.variants if variants is None else variants)
        configs, losses, accuracies = [], [], []
        for variant in variants:
            own = self.rates_of(variant)
            chosen = own if rates is None else [own[self.rate_index(r, variant)] for r in rates]
            index = self.index(variant)
            for rate in chosen:
                rows = index[self.rate_index(rate, variant)]
                diverged = self.history.diverged[rows]
                if split == "test":
                    loss, accuracy = self.test_loss[rows], self.test_acc[rows]
                elif step is None:
                    loss, accuracy = self.history.val_loss[rows, -1], self.history.val_acc[rows, -1]
                else:
                    loss = np.array([loss_at_step(*self.val_loss_curve(int(k)), step) for k in rows])
                    at = np.flatnonzero(self.history.eval_step == step)
                    accuracy = self.history.val_acc[rows, at[0]] if at.size else np.full(len(rows), np.nan)
                    diverged = ~np.isfinite(loss)
                losses.append(stats.mask_diverged(stats.inf_for_nan(loss), diverged, fill=np.inf))
                accuracies.append(stats.mask_diverged(accuracy, diverged))
                configs.append((float(rate), variant))
        return RateComparison(tuple(configs), np.array(losses), np.array(accuracies, dtype=np.float64))

    def largest_stable_rate(self, variant: str = "constant") -> float:
        """The largest rate of the grid that diverged in none of the seeds (NaN if none)."""
        stable = ~self.history.diverged[self.index(variant)].any(axis=1)
        return float(self.rates_of(variant)[stable].max()) if stable.any() else float("nan")

    def warmup_gain(self) -> float:
        """How much lower the best final loss is with warm-up allowed: 1 - best(all) / best(constant)."""
        self._check_has("warmup")
        return 1 - self.compare().mean.min() / self.compare(variants=("constant",)).mean.min()

    def val_loss_curve(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Member ``k``'s validation loss at every measured update count (regular evaluations and probes).

        Returns:
            (steps (T,), losses (T,)).

        Raises:
            TypeError, ValueError: ``k`` is not a member index.
        """
        checks.integer(k, "member index", minimum=0, maximum=len(self.history.members) - 1)
        steps = np.concatenate([self.history.eval_step, self.probe_steps])
        losses = np.concatenate([self.history.val_loss[k], self.probe_val_loss[k]])
        steps, first = np.unique(steps, return_index=True)
        return steps, losses[first]

    def loss_at(self, step: float, variant: str = "constant") -> np.ndarray:
        """Validation loss of each (rate, seed) after ``step`` updates (NaN: diverged by then), shape (rates, seeds).

        Each is :func:`lib.batch_size.critical_batch.loss_at_step` of :meth:`val_loss_curve`:
        interpolated in log(updates) between the measurements around ``step``.

        Raises:
            TypeError, ValueError: ``step`` not a number in [0, :attr:`total_steps`]; an unknown variant.
        """
        step = checks.number(step, "step", low=0.0, high=self.total_steps)
        index = self.index(variant)
        return np.array([[loss_at_step(*self.val_loss_curve(int(k)), step) for k in row] for row in index])

    def fastest_to_target(self, target: float) -> tuple[float, float, str]:
        """The configuration that reaches validation loss ``target`` in the fewest updates, mean over seeds.

        A configuration counts only if every seed reaches the target.

        Returns:
            (updates, rate, variant): ``(nan, nan, "")`` when no configuration reaches it in every seed.

        Raises:
            TypeError, ValueError: ``target`` not a number > 0.
        """
        target = checks.positive(target, "target")
        best = (math.inf, math.nan, "")
        for variant in self.variants:
            mean = stats.inf_for_nan(self.steps_to_target(target, variant).mean(axis=1))   # inf if a seed missed
            r = int(np.argmin(mean))
            if mean[r] < best[0]:
                best = (float(mean[r]), float(self.rates_of(variant)[r]), variant)
        return best if math.isfinite(best[0]) else (math.nan, math.nan, "")

    def steps_to_target(self, target: float, variant: str = "constant") -> np.ndarray:
        """Updates each (rate, seed) needed to reach validation loss ``target`` (NaN: never), shape (rates, seeds).

        Each is :func:`lib.batch_size.critical_batch.crossing_step` of :meth:`val_loss_curve`.
        """
        target = checks.positive(target, "target")
        index = self.index(variant)
        return np.array([[crossing_step(*self.val_loss_curve(int(k)), target) for k in row] for row in index])

    def best_reached(self) -> float:
        """The lowest validation loss that some configuration reached in every seed (its worst seed's minimum)."""
        best = np.inf
        for variant in self.variants:
            for row in self.index(variant):
                worst_seed = max(np.nanmin(self.val_loss_curve(int(k))[1]) for k in row)
                best = min(best, worst_seed)
        return float(best)
