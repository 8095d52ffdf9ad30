"""Learning rate and batch size, measured: grids of rates at many batch sizes (section 4).

The textbook (its section 12.3.4) compares learning rates 0.1 to 0.7 on MNIST at
batch sizes 32 and 16 and concludes that the best rate depends on the batch
size; it states the linear and the square-root scaling rules and illustrates
them with a calculation on three and five points.  McCandlish et al. (2018)
explain the dependence through the gradient noise scale (:mod:`lib.noise_scale`).
This module measures all of it:

* :func:`run_sweep` trains, at every batch size, one :func:`lib.train.train_grid`
  of learning rates x seeds (x warm-up or not): every member of a batch size
  runs in lockstep, so a batch size costs one grid, not one run per rate.
  Besides the engine's regular evaluations it measures the validation loss at
  update counts spaced by factors of sqrt(2) early in training, where the
  regular grid of evaluations is too coarse to time when a target is reached.
* :class:`RateGrid` / :class:`RateComparison`: which rate wins at a batch size,
  over seeds (final validation loss; accuracy beside it).
* :func:`scaled_rate`, :func:`local_slopes`, :func:`scaling_regimes`: the linear
  rule :math:`\\eta \\propto B` (Goyal et al. 2017), the square-root rule
  :math:`\\eta \\propto \\sqrt B` (Krizhevsky 2014), and where the measured best
  rates follow either or neither.
* :func:`crossing_step`, :meth:`Sweep.tradeoff` and :func:`fit_steps_examples`:
  the steps :math:`S` and examples :math:`E = BS` needed to reach a target loss,
  and McCandlish et al.'s :math:`(S/S_{\\min} - 1)(E/E_{\\min} - 1) = 1` with
  :math:`B_{\\rm crit} = E_{\\min}/S_{\\min}`.
* :func:`fit_optimal_step`: :math:`\\epsilon_{\\rm opt}(B) = \\epsilon_{\\max}/(1 + B_{\\rm noise}/B)`
  fitted to the best rates.
* :func:`textbook_illustration`: the textbook's three-versus-five-point
  calculation, recomputed with the gradient.
* the section's figures and :class:`ScalingExplorer`, a widget over the cached grids.
"""
from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass
from numbers import Real
from typing import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from scipy import optimize

from . import checks, noise_scale, plots, schedules, widgets
from .data import Splits
from .models import build_model
from .train import History, Member, evaluate_stacked, train_grid

#: The rates of the textbook's Figures 12-12 and 12-13, and its batch sizes for a rate of 0.5.
TEXTBOOK_RATES = (0.1, 0.3, 0.5, 0.7)
TEXTBOOK_BATCH_SIZES = (32, 64, 128, 256)
#: What the textbook reports: the winning rate at batch sizes 128, 32 and 16.
TEXTBOOK_WINNERS = {128: 0.5, 32: 0.5, 16: 0.1}
#: A member whose mini-batch loss exceeds this (4 x the loss of a uniform guess over 10 classes) has diverged.
DIVERGED_LOSS = schedules.DIVERGED_LOSS
VARIANTS = ("constant", "warmup")


# --------------------------------------------------------------------------- argument checks

def _at_least(value, name: str, low: float) -> float:
    """``value`` as a finite float >= ``low`` (:func:`lib.checks.number_in` excludes the bound itself)."""
    if isinstance(value, Real) and not isinstance(value, bool) and float(value) == low:
        return float(low)
    return checks.number_in(value, name, low, math.inf)


def _check_rates(rates, *, minimum: int = 2) -> np.ndarray:
    if isinstance(rates, (str, bytes)) or not isinstance(rates, (Sequence, np.ndarray)):
        raise TypeError(f"rates must be a list of learning rates, got {type(rates).__name__}")
    values = [checks.positive(r, "every learning rate") for r in rates]
    if len(values) < minimum:
        raise ValueError(f"a grid of rates needs at least {minimum} distinct rates to compare, got {list(rates)}")
    if len(set(values)) != len(values):
        raise ValueError(f"learning rates must be distinct, got {list(rates)}")
    return np.array(sorted(values))


def _check_seeds(seeds) -> tuple[int, ...]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty list of ints >= 0, got {seeds!r}")
    values = tuple(checks.int_at_least(s, "every seed", 0) for s in seeds)
    if len(set(values)) != len(values):
        raise ValueError(f"seeds must be distinct, got {list(seeds)}")
    return values


def _check_batch_size(batch_size, n_train: int) -> int:
    batch_size = checks.int_at_least(batch_size, "batch_size")
    if batch_size > n_train:
        raise ValueError(f"batch size {batch_size} is larger than the {n_train} training examples; "
                         f"allowed: 1 to {n_train}")
    return batch_size


def _check_data(data) -> Splits:
    if not isinstance(data, Splits):
        raise TypeError(f"data must be lib.data.Splits (e.g. from load_mnist), got {type(data).__name__}")
    if data.x_val is None:
        raise ValueError("data needs a validation split: the grids are compared on the validation loss")
    return data


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    return variant


# --------------------------------------------------------------------------- training the grids

def _warmup_rates(rates: np.ndarray, warmup_rates) -> np.ndarray:
    """The rates that also train with warm-up: all of them, or a checked subset."""
    if warmup_rates is None:
        return rates
    warm = _check_rates(warmup_rates, minimum=1)
    missing = [r for r in warm if not np.isclose(rates, r, rtol=1e-12, atol=0).any()]
    if missing:
        raise ValueError(f"warm-up rates {missing} are not in the grid of rates {rates.tolist()}")
    return warm


def member_index(rates: Sequence[float], seeds: Sequence[int], *, rate: float, seed: int,
                 variant: str = "constant", warmup_rates: Sequence[float] | None = None) -> int:
    """Position of the member (rate, seed, variant) in the grid :func:`train_rate_grid` builds.

    Members are ordered variant-major (all constant-rate members first, then the
    warmed-up ones, whose rates are ``warmup_rates``, default all), then by
    increasing rate, then by seed.
    """
    ordered = _check_rates(rates, minimum=1)
    seeds = _check_seeds(seeds)
    _check_variant(variant)
    own = ordered if variant == "constant" else _warmup_rates(ordered, warmup_rates)
    matches = np.flatnonzero(np.isclose(own, rate, rtol=1e-12, atol=0))
    if matches.size == 0:
        raise ValueError(f"rate {rate!r} is not in the grid {own.tolist()} of the {variant} members")
    if seed not in seeds:
        raise ValueError(f"seed {seed!r} is not among {list(seeds)}")
    offset = 0 if variant == "constant" else len(ordered) * len(seeds)
    return offset + int(matches[0]) * len(seeds) + seeds.index(seed)


def probe_steps(total_steps: int, eval_spacing: float, per_octave: int = 2) -> np.ndarray:
    """Update counts :math:`\\lceil 2^{k/m} \\rceil` (m = ``per_octave``) below 4 regular evaluation spacings.

    Where the engine's evaluations come every ``eval_spacing`` updates, a loss
    that is reached after fewer than a few spacings would be timed coarsely; these
    extra points keep consecutive measurements within a factor :math:`2^{1/m}`.
    """
    total_steps = checks.int_at_least(total_steps, "total_steps")
    per_octave = checks.int_at_least(per_octave, "per_octave")
    eval_spacing = checks.positive(eval_spacing, "eval_spacing")
    limit = min(total_steps, 4 * eval_spacing)
    if limit <= 1:
        return np.zeros(0, dtype=int)
    count = int(math.ceil(per_octave * math.log2(limit))) + 1
    steps = np.unique(np.ceil(2.0 ** (np.arange(count) / per_octave)).astype(int))
    return steps[steps < limit]


class _ValidationProbe:
    """``on_step`` callback: the validation loss of every member after the updates in ``steps``."""

    def __init__(self, template, x_val, y_val, steps: np.ndarray):
        if any(True for _ in template.buffers()):
            raise ValueError("the validation probe needs a model without buffers (no batch norm)")
        self.template, self.x_val, self.y_val = template, x_val, y_val
        self.steps = set(int(s) for s in steps)
        self.done: list[int] = []
        self.losses: list[np.ndarray] = []

    def __call__(self, step: int, params: dict) -> None:
        if step + 1 in self.steps:
            loss, _ = evaluate_stacked(self.template, params, {}, self.x_val, self.y_val)
            self.done.append(step + 1)
            self.losses.append(loss.cpu().numpy().astype(np.float64))

    def result(self, K: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.done:
            return np.zeros(0, dtype=int), np.zeros((K, 0))
        return np.array(self.done), np.stack(self.losses, axis=1)


def _chain(*callbacks):
    callbacks = [c for c in callbacks if c is not None]
    for c in callbacks:
        if not callable(c):
            raise TypeError("on_step must be callable(step, params)")

    def call(step, params):
        for c in callbacks:
            c(step, params)

    return call


def train_rate_grid(data: Splits, batch_size: int, rates: Sequence[float], seeds: Sequence[int], *,
                    epochs: int, warmup_epochs: float = 0.0, warmup_start_factor: float = 0.01,
                    warmup_rates: Sequence[float] | None = None, eval_every: float = 0.25,
                    probes_per_octave: int = 2, model="textbook",
                    on_step: Callable | None = None, progress: bool | None = None) -> "RateGrid":
    """Train every (rate, seed) at one batch size as one grid; with ``warmup_epochs`` > 0 also warmed-up copies.

    Seed ``s`` sets both the initial weights and the data order, so the rates of
    one seed start from the same weights and see the same batches, as in the
    textbook's comparisons.  Warm-up is Goyal et al.'s gradual warm-up: the rate
    rises linearly from ``warmup_start_factor`` x rate to the rate over the first
    ``warmup_epochs`` epochs (``torch.optim.lr_scheduler.LinearLR``, through
    :func:`lib.schedules.schedule`), then stays; the copies are made for the
    ``warmup_rates`` (default: every rate).  A member whose mini-batch loss
    exceeds :data:`DIVERGED_LOSS` or turns non-finite is recorded as diverged.
    """
    data = _check_data(data)
    n_train = data.x_train.shape[0]
    batch_size = _check_batch_size(batch_size, n_train)
    rates = _check_rates(rates)
    seeds = _check_seeds(seeds)
    epochs = checks.int_at_least(epochs, "epochs")
    warmup_epochs = _at_least(warmup_epochs, "warmup_epochs", 0.0)
    if warmup_epochs > epochs:
        raise ValueError(f"warmup_epochs={warmup_epochs:g} is longer than the {epochs} epoch(s) of training")
    steps_per_epoch = -(-n_train // batch_size)
    warmup_steps = int(round(warmup_epochs * steps_per_epoch))
    if warmup_epochs > 0 and warmup_steps < 1:
        warmup_steps = 1
    variants = ["constant"] + (["warmup"] if warmup_steps else [])
    warm = _warmup_rates(rates, warmup_rates) if warmup_steps else np.zeros(0)
    members = []
    for variant in variants:
        schedule = (schedules.schedule("warmup", start_factor=warmup_start_factor, total_iters=warmup_steps)
                    if variant == "warmup" else None)
        for rate in (rates if variant == "constant" else warm):
            for seed in seeds:
                members.append(Member(lr=float(rate), schedule=schedule, init_seed=seed, data_seed=seed,
                                      label=f"η={rate:g} seed {seed}" + (" warm-up" if schedule else "")))
    total_steps = epochs * steps_per_epoch
    template = build_model(model, 0).to(data.x_train.device)
    probe = _ValidationProbe(template, data.x_val, data.y_val,
                             probe_steps(total_steps, eval_every * steps_per_epoch, probes_per_octave))
    run = train_grid(members, data, model=model, batch_size=batch_size, epochs=epochs, eval_every=eval_every,
                     train_eval_size=min(1000, n_train), divergence_loss=DIVERGED_LOSS, progress=progress,
                     on_step=_chain(probe, on_step))
    steps, losses = probe.result(len(members))
    history = run.history
    for k, at in enumerate(history.diverged_at):   # a frozen member's probe values are not losses
        if at >= 0:
            losses[k, steps > at] = np.nan
    return RateGrid(batch_size, rates, warm, seeds, tuple(variants), warmup_steps, history, steps, losses)


def run_sweep(data: Splits, batch_sizes: Sequence[int], rates: Sequence[float], seeds: Sequence[int], *,
              epochs: int, warmup_from: int | None = None, warmup_epochs: float = 1.0,
              warmup_start_factor: float = 0.01, warmup_rates: Sequence[float] | None = None,
              eval_every: float = 0.25,
              on_step: Mapping[int, Callable] | None = None, progress: bool | None = None) -> "Sweep":
    """One :func:`train_rate_grid` per batch size, the same rates, seeds and epochs for all.

    Batch sizes of ``warmup_from`` and above also train a warmed-up copy of the
    members whose rate is in ``warmup_rates`` (default: all).  ``on_step`` maps a batch size to a callback for its grid (e.g. a
    :class:`lib.noise_scale.NoiseScaleTracker` riding along).
    """
    data = _check_data(data)
    if isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Sequence) or len(batch_sizes) < 2:
        raise ValueError(f"batch_sizes must list at least 2 batch sizes, got {batch_sizes!r}")
    sizes = [_check_batch_size(b, data.x_train.shape[0]) for b in batch_sizes]
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"batch sizes must be distinct, got {list(batch_sizes)}")
    _warmup_rates(_check_rates(rates), warmup_rates)
    _check_seeds(seeds)
    if warmup_from is not None:
        checks.int_at_least(warmup_from, "warmup_from")
    on_step = dict(on_step or {})
    unknown = sorted(set(on_step) - set(sizes))
    if unknown:
        raise ValueError(f"on_step names batch sizes {unknown} that are not in the sweep {sorted(sizes)}")
    grids = {}
    for b in sorted(sizes):
        warm = warmup_epochs if warmup_from is not None and b >= warmup_from else 0.0
        grids[b] = train_rate_grid(data, b, rates, seeds, epochs=epochs, warmup_epochs=warm,
                                   warmup_start_factor=warmup_start_factor, warmup_rates=warmup_rates,
                                   eval_every=eval_every,
                                   on_step=on_step.get(b), progress=progress)
    return Sweep(grids, epochs=epochs, n_train=data.x_train.shape[0])


# --------------------------------------------------------------------------- comparing rates

@dataclass(frozen=True)
class RateComparison:
    """Final validation loss (and accuracy) of several configurations, each over the same seeds.

    ``configs[c]`` is (rate, variant); ``loss[c, s]`` is +inf where seed ``s``
    diverged and ``accuracy`` NaN there.  The winner has the lowest mean loss
    over seeds; a configuration that diverged in any seed cannot win.
    """

    configs: tuple[tuple[float, str], ...]
    loss: np.ndarray
    accuracy: np.ndarray

    @property
    def rates(self) -> np.ndarray:
        return np.array([rate for rate, _ in self.configs])

    @property
    def mean(self) -> np.ndarray:
        return self.loss.mean(axis=1)

    @property
    def spread(self) -> np.ndarray:
        """Largest minus smallest final loss over seeds (inf where a seed diverged)."""
        with np.errstate(invalid="ignore"):
            return self.loss.max(axis=1) - self.loss.min(axis=1)

    @property
    def mean_accuracy(self) -> np.ndarray:
        return self.accuracy.mean(axis=1)

    @property
    def best_index(self) -> int:
        if not np.isfinite(self.mean).any():
            raise ValueError("every configuration diverged in some seed: there is no best rate")
        return int(np.argmin(self.mean))

    @property
    def best(self) -> tuple[float, str]:
        return self.configs[self.best_index]

    @property
    def best_rate(self) -> float:
        return self.best[0]

    @property
    def best_by_accuracy(self) -> tuple[float, str]:
        accuracy = np.where(np.isfinite(self.mean_accuracy), self.mean_accuracy, -np.inf)
        return self.configs[int(np.argmax(accuracy))]

    @property
    def wins_per_seed(self) -> np.ndarray:
        """How many seeds each configuration has the lowest final loss in."""
        return np.bincount(np.argmin(self.loss, axis=0), minlength=len(self.configs))

    @property
    def seed_best_rates(self) -> np.ndarray:
        """The winning rate of each seed on its own."""
        return self.rates[np.argmin(self.loss, axis=0)]

    def value(self, rate: float, variant: str = "constant", what: str = "mean") -> float:
        """``mean``/``spread`` of the loss or ``accuracy`` (mean) of configuration (rate, variant)."""
        if what not in ("mean", "spread", "accuracy"):
            raise ValueError(f"what must be 'mean', 'spread' or 'accuracy', got {what!r}")
        for c, (r, v) in enumerate(self.configs):
            if math.isclose(r, rate, rel_tol=1e-12) and v == variant:
                array = self.mean_accuracy if what == "accuracy" else getattr(self, what)
                return float(array[c])
        raise ValueError(f"no configuration (rate={rate!r}, {variant}) in {self.configs}")


@dataclass
class RateGrid:
    """One batch size: the history of its grid of (variant, rate, seed) members and the extra probes."""

    batch_size: int
    rates: np.ndarray
    warmup_rates: np.ndarray
    seeds: tuple[int, ...]
    variants: tuple[str, ...]
    warmup_steps: int
    history: History
    probe_steps: np.ndarray
    probe_val_loss: np.ndarray

    def rates_of(self, variant: str = "constant") -> np.ndarray:
        """The rates trained in ``variant`` (warm-up copies may cover only some of them)."""
        self._check_has(variant)
        return self.rates if variant == "constant" else self.warmup_rates

    def _check_has(self, variant: str) -> None:
        _check_variant(variant)
        if variant not in self.variants:
            raise ValueError(f"batch size {self.batch_size} has no {variant!r} members; it has {self.variants}")

    def index(self, variant: str = "constant") -> np.ndarray:
        """Member indices as an array (rates of the variant, seeds)."""
        R, S = len(self.rates_of(variant)), len(self.seeds)
        start = 0 if variant == "constant" else len(self.rates) * S
        return np.arange(start, start + R * S).reshape(R, S)

    def rate_index(self, rate: float, variant: str = "constant") -> int:
        own = self.rates_of(variant)
        matches = np.flatnonzero(np.isclose(own, rate, rtol=1e-12, atol=0))
        if matches.size == 0:
            raise ValueError(f"rate {rate!r} is not in the {variant} grid of batch size {self.batch_size}: "
                             f"{own.tolist()}")
        return int(matches[0])

    def compare(self, rates: Sequence[float] | None = None,
                variants: Sequence[str] | None = None) -> RateComparison:
        """Final validation loss and accuracy of the chosen rates (default all) and variants (default all)."""
        variants = tuple(self.variants if variants is None else variants)
        configs, losses, accuracies = [], [], []
        for variant in variants:
            own = self.rates_of(variant)
            chosen = own if rates is None else [own[self.rate_index(r, variant)] for r in rates]
            index = self.index(variant)
            for rate in chosen:
                rows = index[self.rate_index(rate, variant)]
                loss = self.history.val_loss[rows, -1].astype(np.float64)
                losses.append(np.where(np.isfinite(loss) & ~self.history.diverged[rows], loss, np.inf))
                accuracies.append(np.where(self.history.diverged[rows], np.nan, self.history.val_acc[rows, -1]))
                configs.append((float(rate), variant))
        return RateComparison(tuple(configs), np.array(losses), np.array(accuracies, dtype=np.float64))

    def largest_stable_rate(self, variant: str = "constant") -> float:
        """The largest rate of the grid that diverged in none of the seeds (NaN if none)."""
        stable = ~self.history.diverged[self.index(variant)].any(axis=1)
        return float(self.rates_of(variant)[stable].max()) if stable.any() else float("nan")

    def val_loss_curve(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Member ``k``'s validation loss at every measured update count (regular evaluations and probes)."""
        K = len(self.history.members)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < K:
            raise ValueError(f"member index must be an int in [0, {K}), got {k!r}")
        steps = np.concatenate([self.history.eval_step, self.probe_steps])
        losses = np.concatenate([self.history.val_loss[k], self.probe_val_loss[k]])
        steps, first = np.unique(steps, return_index=True)
        return steps, losses[first]

    def steps_to_target(self, target: float, variant: str = "constant") -> np.ndarray:
        """Updates each (rate, seed) needed to reach validation loss ``target`` (NaN: never), shape (rates, seeds)."""
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


def crossing_step(steps, losses, target: float) -> float:
    """The first update count at which ``losses`` reaches ``target``, interpolated; NaN if it never does.

    Between the last measurement above the target and the first at or below it
    the loss is taken to follow a power law of the step (a straight line on
    log-log axes), or a straight line when the earlier point is step 0.  A NaN
    (a diverged run) ends the search.
    """
    target = checks.positive(target, "target")
    steps = np.asarray(steps, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if steps.ndim != 1 or steps.shape != losses.shape or steps.size == 0:
        raise ValueError(f"steps and losses must be equally long non-empty 1-D arrays, got {steps.shape} "
                         f"and {losses.shape}")
    if (np.diff(steps) <= 0).any() or steps[0] < 0:
        raise ValueError("steps must be increasing and >= 0")
    for i, loss in enumerate(losses):
        if not np.isfinite(loss):
            return float("nan")
        if loss <= target:
            if i == 0:
                return float(steps[0])
            s0, s1, l0, l1 = steps[i - 1], steps[i], losses[i - 1], loss
            if s0 <= 0 or l1 <= 0:
                return float(s0 + (s1 - s0) * (l0 - target) / (l0 - l1))
            fraction = (math.log(l0) - math.log(target)) / (math.log(l0) - math.log(l1))
            return float(math.exp(math.log(s0) + fraction * (math.log(s1) - math.log(s0))))
    return float("nan")


@dataclass(frozen=True)
class Tradeoff:
    """Steps and examples to reach ``target`` at each batch size, each with its fastest configuration."""

    target: float
    batch_sizes: np.ndarray
    steps: np.ndarray
    rates: np.ndarray
    variants: tuple[str, ...]

    @property
    def examples(self) -> np.ndarray:
        return self.batch_sizes * self.steps


@dataclass
class Sweep:
    """The grids of every batch size (:class:`RateGrid`), trained for the same number of epochs."""

    grids: dict[int, RateGrid]
    epochs: int
    n_train: int

    @property
    def batch_sizes(self) -> list[int]:
        return sorted(self.grids)

    @property
    def rates(self) -> np.ndarray:
        return self.grids[self.batch_sizes[0]].rates

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.grids[self.batch_sizes[0]].seeds

    def __getitem__(self, batch_size: int) -> RateGrid:
        if batch_size not in self.grids:
            raise ValueError(f"batch size {batch_size!r} was not trained; the sweep has {self.batch_sizes}")
        return self.grids[batch_size]

    def _comparisons(self, variants: Sequence[str] | None):
        """Each batch size's comparison over the given variants (default: all that were trained)."""
        for b in self.batch_sizes:
            grid = self.grids[b]
            chosen = grid.variants if variants is None else [v for v in variants if v in grid.variants]
            yield grid.compare(variants=chosen)

    def best_rates(self, variants: Sequence[str] | None = None) -> np.ndarray:
        """The winning rate at every batch size, over the given variants (default: all that were trained)."""
        return np.array([comparison.best_rate for comparison in self._comparisons(variants)])

    def best_configs(self) -> list[tuple[float, str]]:
        return [self.grids[b].compare().best for b in self.batch_sizes]

    def seed_best_rates(self, variants: Sequence[str] | None = None) -> np.ndarray:
        """(batch sizes, seeds): each seed's own winning rate."""
        return np.array([comparison.seed_best_rates for comparison in self._comparisons(variants)])

    def largest_stable_rates(self, variant: str = "constant") -> np.ndarray:
        return np.array([self.grids[b].largest_stable_rate(variant) if variant in self.grids[b].variants
                         else np.nan for b in self.batch_sizes])

    def reachable_target(self, margin: float = 1.05) -> float:
        """A validation loss every batch size reaches: ``margin`` x the worst batch size's best, rounded up to 0.01."""
        margin = _at_least(margin, "margin", 1.0)
        worst = max(self.grids[b].best_reached() for b in self.batch_sizes)
        if not math.isfinite(worst):
            raise ValueError("some batch size has no configuration that finished without diverging")
        return math.ceil(100 * worst * margin) / 100

    def tradeoff(self, target: float) -> Tradeoff:
        """For every batch size, the configuration that reaches ``target`` in the fewest updates (mean over seeds).

        A configuration counts only if every seed reaches the target.
        """
        target = checks.positive(target, "target")
        steps, rates, variants = [], [], []
        for b in self.batch_sizes:
            grid = self.grids[b]
            best = (np.inf, np.nan, "")
            for variant in grid.variants:
                mean = grid.steps_to_target(target, variant).mean(axis=1)   # NaN if any seed missed
                mean = np.where(np.isfinite(mean), mean, np.inf)
                r = int(np.argmin(mean))
                if mean[r] < best[0]:
                    best = (float(mean[r]), float(grid.rates_of(variant)[r]), variant)
            if not math.isfinite(best[0]):
                raise ValueError(f"no configuration at batch size {b} reaches the target {target:g} in every seed; "
                                 f"choose a higher target (see reachable_target)")
            steps.append(best[0])
            rates.append(best[1])
            variants.append(best[2])
        return Tradeoff(target, np.array(self.batch_sizes, dtype=np.float64), np.array(steps), np.array(rates),
                        tuple(variants))


# --------------------------------------------------------------------------- scaling rules

def scaled_rate(batch_size, base_batch: float, base_rate: float, power: float):
    """:math:`\\eta(B) = \\eta_0 (B/B_0)^p`: p = 1 is the linear rule, p = 1/2 the square-root rule."""
    base_batch = checks.positive(base_batch, "base_batch")
    base_rate = checks.positive(base_rate, "base_rate")
    power = _at_least(power, "power", 0.0)
    b = np.asarray(batch_size, dtype=np.float64)
    if not np.isfinite(b).all() or (b <= 0).any():
        raise ValueError(f"batch sizes must be > 0, got {batch_size!r}")
    result = base_rate * (b / base_batch) ** power
    return float(result) if result.ndim == 0 else result


def _pairs(batch_sizes, rates) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(batch_sizes, dtype=np.float64)
    r = np.asarray(rates, dtype=np.float64)
    if b.ndim != 1 or b.shape != r.shape:
        raise ValueError(f"batch_sizes and rates must be equally long 1-D arrays, got {b.shape} and {r.shape}")
    if not (np.isfinite(b).all() and np.isfinite(r).all()) or (b <= 0).any() or (r <= 0).any():
        raise ValueError("batch sizes and rates must be finite and > 0")
    if (np.diff(b) <= 0).any():
        raise ValueError("batch sizes must be increasing")
    return b, r


def local_slopes(batch_sizes, rates) -> np.ndarray:
    """:math:`\\Delta\\log\\eta / \\Delta\\log B` between neighbouring batch sizes: 1 linear, 1/2 square root, 0 flat."""
    b, r = _pairs(batch_sizes, rates)
    if b.size < 2:
        raise ValueError("slopes need at least 2 batch sizes")
    return np.diff(np.log(r)) / np.diff(np.log(b))


REGIMES = ((0.75, "linear"), (0.25, "square-root"), (-np.inf, "flat"))


def regime(slope: float) -> str:
    """``linear`` for a slope >= 3/4, ``square-root`` for 1/4 to 3/4, ``flat`` below (nearest of 1, 1/2, 0)."""
    slope = float(slope)
    if not math.isfinite(slope):
        raise ValueError(f"slope must be finite, got {slope}")
    return next(name for bound, name in REGIMES if slope >= bound)


def scaling_regimes(batch_sizes, rates) -> list[tuple[int, int, str]]:
    """Consecutive stretches of batch sizes whose local slopes fall in the same :func:`regime`: (from, to, regime)."""
    b, _ = _pairs(batch_sizes, rates)
    slopes = local_slopes(batch_sizes, rates)
    stretches: list[list] = []
    for i, slope in enumerate(slopes):
        name = regime(slope)
        if stretches and stretches[-1][2] == name:
            stretches[-1][1] = int(b[i + 1])
        else:
            stretches.append([int(b[i]), int(b[i + 1]), name])
    return [tuple(s) for s in stretches]


def describe_regimes(stretches: Sequence[tuple[int, int, str]]) -> str:
    """The stretches as a phrase: ``linear from 16 to 64, flat from 64 to 2048``."""
    if not stretches:
        raise ValueError("no stretches to describe")
    return ", ".join(f"{name} from {start} to {end}" for start, end, name in stretches)


# --------------------------------------------------------------------------- McCandlish et al.'s fits

@dataclass(frozen=True)
class StepsExamplesFit:
    """:math:`S(B) = S_{\\min}(1 + B_{\\rm crit}/B)`, :math:`E(B) = E_{\\min}(1 + B/B_{\\rm crit})`."""

    s_min: float
    e_min: float

    @property
    def b_crit(self) -> float:
        """:math:`B_{\\rm crit} = E_{\\min}/S_{\\min}`."""
        return self.e_min / self.s_min

    def steps(self, batch_size):
        return self.s_min * (1.0 + self.b_crit / np.asarray(batch_size, dtype=np.float64))

    def examples(self, batch_size):
        return self.e_min * (1.0 + np.asarray(batch_size, dtype=np.float64) / self.b_crit)

    def residual(self, steps, examples) -> np.ndarray:
        """:math:`(S/S_{\\min} - 1)(E/E_{\\min} - 1) - 1` for measured points: 0 on the curve."""
        return (np.asarray(steps) / self.s_min - 1.0) * (np.asarray(examples) / self.e_min - 1.0) - 1.0


def fit_steps_examples(batch_sizes, steps) -> StepsExamplesFit:
    """Fit McCandlish et al.'s :math:`(S/S_{\\min} - 1)(E/E_{\\min} - 1) = 1` to steps measured at batch sizes.

    With :math:`E = BS` the relation is :math:`S = S_{\\min} + E_{\\min}/B`; it is
    fitted by least squares on :math:`\\log S` (every batch size weighs the same
    whatever its number of steps), with both parameters kept positive
    (``scipy.optimize.least_squares`` on their logarithms), starting from the
    linear least-squares solution.
    """
    b, s = _pairs(batch_sizes, steps)
    if b.size < 3:
        raise ValueError(f"fitting two parameters needs at least 3 batch sizes, got {b.size}")
    design = np.column_stack([np.ones_like(b), 1.0 / b])
    start, *_ = np.linalg.lstsq(design, s, rcond=None)
    start = np.log(np.maximum(start, 1e-3 * s.min()))

    def residuals(log_params):
        s_min, e_min = np.exp(log_params)
        return np.log(s_min + e_min / b) - np.log(s)

    solution = optimize.least_squares(residuals, start)
    s_min, e_min = np.exp(solution.x)
    return StepsExamplesFit(float(s_min), float(e_min))


@dataclass(frozen=True)
class OptimalStepFit:
    """:math:`\\epsilon_{\\rm opt}(B) = \\epsilon_{\\max}/(1 + B_{\\rm noise}/B)` with fitted or given parameters."""

    eps_max: float
    b_noise: float
    b_noise_fitted: bool

    def __call__(self, batch_size):
        return noise_scale.optimal_step(batch_size, self.eps_max, self.b_noise)


def fit_optimal_step(batch_sizes, rates, b_noise: float | None = None) -> OptimalStepFit:
    """Fit :math:`\\epsilon_{\\rm opt}(B)` to the best rates, by least squares on :math:`\\log\\eta`.

    With ``b_noise`` given only :math:`\\epsilon_{\\max}` is fitted (a closed form:
    the geometric mean of :math:`\\eta_i (1 + B_{\\rm noise}/B_i)`); otherwise both.
    """
    b, r = _pairs(batch_sizes, rates)
    if b_noise is not None:
        b_noise = checks.positive(b_noise, "b_noise")
        eps_max = float(np.exp(np.mean(np.log(r * (1.0 + b_noise / b)))))
        return OptimalStepFit(eps_max, b_noise, False)
    if b.size < 3:
        raise ValueError(f"fitting two parameters needs at least 3 batch sizes, got {b.size}")

    def residuals(log_params):
        eps_max, noise = np.exp(log_params)
        return np.log(eps_max / (1.0 + noise / b)) - np.log(r)

    start = np.log([r.max(), float(np.sqrt(b[0] * b[-1]))])
    solution = optimize.least_squares(residuals, start)
    eps_max, noise = np.exp(solution.x)
    return OptimalStepFit(float(eps_max), float(noise), True)


# --------------------------------------------------------------------------- the textbook's illustration

#: The textbook's Figure 12-14: points on the line y = 0 at these x, and a fitted line of slope 0.5.
ILLUSTRATION_POINTS = {3: (-2.0, 0.0, 2.0), 5: (-2.0, -1.0, 0.0, 1.0, 2.0)}
ILLUSTRATION_SLOPE = 0.5


@dataclass(frozen=True)
class Illustration:
    """One column of the textbook's calculation, and the same with the gradient.

    The model is :math:`z = w x`, the loss :math:`L(w) = \\frac{1}{2m}\\sum_i (w x_i - y_i)^2`
    with all :math:`y_i = 0`.  ``textbook_rate`` solves the textbook's
    :math:`w - \\eta L = 0`; ``one_step_rate`` solves :math:`w - \\eta L'(w) = 0`,
    the step a gradient update would need, :math:`1/\\overline{x^2}` (the inverse curvature).
    """

    points: tuple[float, ...]
    w: float
    loss: float
    textbook_rate: float
    gradient: float
    one_step_rate: float
    w_after_textbook_step: float
    loss_after_textbook_step: float


def textbook_illustration(points: Sequence[float], w: float = ILLUSTRATION_SLOPE) -> Illustration:
    """The textbook's numeric illustration for ``points`` (x values, targets 0), and what a gradient step does."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 1 or x.size < 1 or not np.isfinite(x).all():
        raise ValueError(f"points must be a non-empty list of finite x values, got {points!r}")
    w = checks.positive(w, "w")
    second_moment = float(np.mean(x**2))
    if second_moment == 0:
        raise ValueError("the points must not all sit at x = 0 (the loss would not depend on w)")
    loss = 0.5 * w**2 * second_moment
    gradient = w * second_moment
    textbook_rate = w / loss
    w_after = w - textbook_rate * gradient
    return Illustration(tuple(float(v) for v in x), w, loss, textbook_rate, gradient, w / gradient, w_after,
                        0.5 * w_after**2 * second_moment)


def population_noise_scale(points: Sequence[float]) -> tuple[float, float]:
    """(:math:`\\epsilon_{\\max}`, :math:`B_{\\rm noise}`) for batches drawn with replacement from ``points``.

    Per-example gradient :math:`g_i = w x_i^2`, so :math:`G = w\\,\\mathbb E[x^2]`,
    :math:`\\operatorname{Var} g = w^2 \\operatorname{Var}(x^2)` and the curvature is
    :math:`h = \\mathbb E[x^2]`: :math:`\\epsilon_{\\max} = 1/h` and
    :math:`B_{\\rm noise} = \\operatorname{Var}(x^2)/\\mathbb E[x^2]^2` (independent of :math:`w`).
    """
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 1 or x.size < 1 or not np.isfinite(x).all() or not (x**2).any():
        raise ValueError(f"points must be finite x values, not all 0; got {points!r}")
    second = float(np.mean(x**2))
    return 1.0 / second, float(np.var(x**2)) / second**2


# --------------------------------------------------------------------------- figures

BATCH_CMAP = "cividis"


def batch_color(batch_size: float, smallest: float = 16, largest: float = 2048):
    """A colour for a batch size: :math:`\\log_2 B` on cividis (ordered, readable with colour-vision deficiencies)."""
    b = checks.positive(batch_size, "batch_size")
    position = (math.log2(b) - math.log2(smallest)) / max(math.log2(largest) - math.log2(smallest), 1e-9)
    return tuple(float(c) for c in mpl.colormaps[BATCH_CMAP](0.9 * min(max(position, 0.0), 1.0)))


def _band(ax, x, curves, **style):
    """Mean over seeds and their span (:func:`lib.schedules.seed_band`); a diverged stretch is left blank."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(Mean of empty slice|All-NaN slice)", category=RuntimeWarning)
        schedules.seed_band(ax, x, curves, **style)


#: Line styles that tell apart learning rates whose colours are close (e.g. the textbook's 0.1 to 0.7).
RATE_LINESTYLES = ("-", "--", "-.", ":")


def _leading_digit(value: float) -> int:
    return int(round(value / 10 ** math.floor(math.log10(value) + 1e-9))) if value > 0 else 0


def _plain_log(ax, axis: str = "y") -> None:
    """A log axis labelled with plain numbers (0.2, 0.5, 1, 2, 5) rather than powers of ten."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_formatter(mpl.ticker.FuncFormatter(
        lambda value, _: f"{value:g}" if _leading_digit(value) in (2, 5) else ""))


def _batch_axis(ax, batch_sizes) -> None:
    """Batch sizes on a log-2 axis, ticks at the sizes trained, plain numbers."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(batch_sizes))
    ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_locator(mpl.ticker.NullLocator())


def textbook_figure(sweep: Sweep, batch_sizes: Sequence[int] = (32, 16), rates: Sequence[float] = TEXTBOOK_RATES,
                    metric: str = "val_acc"):
    """The textbook's Figures 12-12 and 12-13: one row per batch size, the metric against epochs and iterations."""
    if metric not in ("val_acc", "val_loss"):
        raise ValueError(f"metric must be 'val_acc' or 'val_loss', got {metric!r}")
    fig, axes = plt.subplots(len(batch_sizes), 2, figsize=(7.6, 2.6 * len(batch_sizes)), layout="constrained",
                             sharey=True, squeeze=False)
    for row, b in zip(axes, batch_sizes):
        grid = sweep[b]
        history = grid.history
        for i, rate in enumerate(rates):
            curves = getattr(history, metric)[grid.index("constant")[grid.rate_index(rate)]]
            for ax, x in zip(row, (history.eval_epoch, history.eval_step)):
                _band(ax, x, curves, label=f"η = {rate:g}", color=plots.lr_color(rate),
                      linestyle=RATE_LINESTYLES[i % len(RATE_LINESTYLES)])
        row[0].set_title(f"batch size {b}")
        row[1].set_title(f"batch size {b}")
        row[0].set_xlabel("epoch")
        row[1].set_xlabel("iteration (update)")
        row[0].set_ylabel("validation accuracy" if metric == "val_acc" else "validation loss")
    for ax in axes.ravel():
        if metric == "val_acc":
            ax.set_ylim(0.85, 1.0)
    axes[0, 1].legend(loc="lower right", ncol=2)
    return fig


def same_rate_figure(sweep: Sweep, rate: float = 0.5, batch_sizes: Sequence[int] = TEXTBOOK_BATCH_SIZES):
    """One rate at several batch sizes: validation accuracy against epochs and against iterations."""
    fig, axes = plots.new_figure(2, width=7.6, height=3.0, sharey=True)
    for i, b in enumerate(batch_sizes):
        grid = sweep[b]
        curves = grid.history.val_acc[grid.index("constant")[grid.rate_index(rate)]]
        style = {"label": f"B = {b}", "color": batch_color(b), "linestyle": RATE_LINESTYLES[i % len(RATE_LINESTYLES)]}
        _band(axes[0], grid.history.eval_epoch, curves, **style)
        after_start = grid.history.eval_step > 0                   # update 0 has no place on a log axis
        _band(axes[1], grid.history.eval_step[after_start], curves[:, after_start], **style)
    axes[0].set_xlabel("epoch")
    axes[1].set_xlabel("iteration (update, log scale)")
    axes[1].set_xscale("log")
    _plain_log(axes[1], "x")
    axes[0].set_ylabel(f"validation accuracy (η = {rate:g})")
    axes[0].set_ylim(0.85, 1.0)
    axes[1].legend(loc="lower right")
    return fig


def illustration_figure(batch_sizes=np.arange(1, 21)):
    """Left: the textbook's points and lines.  Right: the best one-step rate against the batch size."""
    fig, (left, right) = plots.new_figure(2, width=7.6, height=3.0)
    for (n, points), marker, colour in zip(ILLUSTRATION_POINTS.items(), ("o", "s"), ("blue", "orange")):
        left.plot(points, np.zeros(n), marker, color=plots.PALETTE[colour], label=f"{n} points",
                  markersize=9 if n == 3 else 5, zorder=3 if n == 5 else 2)
    x = np.linspace(-2.5, 2.5, 2)
    left.plot(x, ILLUSTRATION_SLOPE * x, color=plots.PALETTE["vermillion"], label=f"z = {ILLUSTRATION_SLOPE:g} x")
    left.plot(x, 0 * x, color=plots.PALETTE["green"], linestyle="--", label="z = 0 (the fit wanted)")
    left.set_xlabel("x")
    left.set_ylabel("y, z")
    left.legend(loc="upper left")
    eps_max, b_noise = population_noise_scale(ILLUSTRATION_POINTS[5])
    b = np.asarray(batch_sizes, dtype=np.float64)
    right.plot(b, noise_scale.optimal_step(b, eps_max, b_noise), color=plots.PALETTE["blue"], marker=".",
               label="$\\epsilon_{\\rm opt}(B)$, batches drawn from the 5 points")
    right.axhline(eps_max, color="0.4", linestyle=":", label="$\\epsilon_{\\max} = 1/\\overline{x^2}$")
    right.set_xlabel("batch size B")
    right.set_ylabel("best one-step rate")
    right.set_ylim(0, 0.6)
    right.legend(loc="lower right")
    return fig


def loss_vs_rate_figure(sweep: Sweep):
    """Final validation loss against the rate at every batch size; warmed-up grids dashed."""
    fig, axes = plots.new_figure(2, width=7.8, height=3.3, sharey=True)
    for b in sweep.batch_sizes:
        grid = sweep[b]
        for variant in grid.variants:
            comparison = grid.compare(variants=(variant,))
            mean = np.where(np.isfinite(comparison.mean), comparison.mean, np.nan)
            ax = axes[0] if b <= 128 else axes[1]
            style = "-" if variant == "constant" else "--"
            x = grid.rates_of(variant)
            ax.plot(x, mean, linestyle=style, marker="o" if variant == "constant" else "^",
                    markersize=3.5, color=batch_color(b),
                    label=f"B = {b}" + (", warm-up" if variant == "warmup" else ""))
            diverged = ~np.isfinite(comparison.mean)
            if diverged.any():
                ax.plot(x[diverged], np.full(diverged.sum(), 2.0), "x", color=batch_color(b))
    for ax in axes:
        plots.lr_axis(ax)
        ax.set_yscale("log")
        ax.set_ylim(None, 2.5)
        _plain_log(ax, "y")
        _plain_log(ax, "x")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=7)
    axes[0].set_ylabel(f"validation loss after {sweep.epochs} epochs")
    return fig


def scaling_figure(sweep: Sweep, fit: OptimalStepFit | None = None, fit_given: OptimalStepFit | None = None):
    """Best rate against batch size on log-log axes, beside the linear and square-root rules."""
    fig, ax = plots.new_figure(1, width=6.6, height=5.0)
    b = np.array(sweep.batch_sizes, dtype=np.float64)
    tuned = sweep.best_rates()
    constant = sweep.best_rates(("constant",))
    seeds = sweep.seed_best_rates()
    for s in range(seeds.shape[1]):
        ax.plot(b * (1 + 0.04 * (s - 1)), seeds[:, s], ".", color="0.6", markersize=4,
                label="best rate of one seed" if s == 0 else None)
    ax.plot(b, tuned, "o-", color=plots.PALETTE["blue"], label="best rate (mean over seeds), warm-up allowed")
    ax.plot(b, constant, "s--", color=plots.PALETTE["orange"], markersize=4, label="best rate without warm-up")
    stable = sweep.largest_stable_rates("constant")
    ax.plot(b, stable, "v:", color=plots.PALETTE["vermillion"], markersize=4,
            label="largest rate stable in every seed (no warm-up)")
    line = np.geomspace(b[0], b[-1], 50)
    ax.plot(line, scaled_rate(line, b[0], tuned[0], 1.0), color="0.3", linewidth=1,
            label="linear rule η ∝ B")
    ax.plot(line, scaled_rate(line, b[0], tuned[0], 0.5), color="0.3", linewidth=1, linestyle="-.",
            label="square-root rule η ∝ √B")
    for f, style, text in ((fit, "-", "fitted"), (fit_given, "--", "with $B_{\\rm noise} = B_{\\rm simple}$")):
        if f is not None:
            ax.plot(line, f(line), color=plots.PALETTE["green"], linestyle=style, linewidth=1.4,
                    label=f"$\\epsilon_{{\\rm opt}}(B)$, {text}")
    _batch_axis(ax, sweep.batch_sizes)
    plots.lr_axis(ax, axis="y", label="learning rate η (log scale)")
    _plain_log(ax, "y")
    ax.set_ylim(sweep.rates[0] / 1.5, sweep.rates[-1] * 2)
    ax.set_xlabel("batch size B (log scale)")
    plots.legend_below(fig, ax, ncol=2)
    return fig


def noise_scale_figure(trace: noise_scale.NoiseScaleTrace, steps_per_epoch: int | None = None):
    """Left: :math:`B_{\\rm simple}` along training.  Right: at the checkpoints, against the training loss."""
    if not isinstance(trace, noise_scale.NoiseScaleTrace):
        raise TypeError(f"trace must be a lib.noise_scale.NoiseScaleTrace, got {type(trace).__name__}")
    scale = 1.0 if steps_per_epoch is None else float(checks.int_at_least(steps_per_epoch, "steps_per_epoch"))
    fig, (left, right) = plots.new_figure(2, width=7.8, height=3.4)
    left.plot(trace.steps / scale, trace.two_batch_b_simple(), color=plots.PALETTE["blue"], linewidth=1.2,
              label=f"two batch sizes ({trace.b_small}, {trace.b_big}), moving averages")
    for ax, x in ((left, trace.checkpoints / scale), (right, trace.checkpoint_loss)):
        ax.plot(x, trace.per_example_b_simple, "o", color=plots.PALETTE["vermillion"], markersize=5,
                label="per-example gradients, at the checkpoint")
        ax.plot(x, trace.fixed_two_batch_b_simple, "x", color=plots.PALETTE["black"], markersize=6,
                label="two batch sizes, same weights")
        ax.set_yscale("log")
        _plain_log(ax, "y")
        ax.set_ylabel("$B_{\\rm simple}$ (log scale)")
    left.set_xlabel("epoch" if steps_per_epoch else "update")
    right.set_xscale("log")
    right.invert_xaxis()
    _plain_log(right, "x")
    right.set_xlabel("training loss at the checkpoint (log scale, falling →)")
    plots.legend_below(fig, left, ncol=2)
    return fig


def tradeoff_figure(tradeoff: Tradeoff, fit: StepsExamplesFit):
    """Steps against examples to reach the target, with McCandlish et al.'s hyperbola."""
    fig, ax = plots.new_figure(1, width=6.0, height=3.6)
    line = np.geomspace(tradeoff.batch_sizes[0] / 4, tradeoff.batch_sizes[-1] * 4, 200)
    ax.plot(fit.examples(line), fit.steps(line), color="0.3", linewidth=1.2,
            label="$(S/S_{\\min} - 1)(E/E_{\\min} - 1) = 1$, fitted")
    for b, e, s in zip(tradeoff.batch_sizes, tradeoff.examples, tradeoff.steps):
        ax.plot(e, s, "o", color=batch_color(b), markersize=7)
        ax.annotate(f"B={b:.0f}", (e, s), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.axhline(fit.s_min, color=plots.PALETTE["vermillion"], linestyle=":", linewidth=1, label="$S_{\\min}$")
    ax.axvline(fit.e_min, color=plots.PALETTE["blue"], linestyle=":", linewidth=1, label="$E_{\\min}$")
    ax.plot([2 * fit.e_min], [2 * fit.s_min], "*", color="black", markersize=9,
            label="$B = B_{\\rm crit}$: $2E_{\\min}$, $2S_{\\min}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log(ax, "y")
    ax.set_xlabel(f"examples E to reach validation loss {tradeoff.target:g} (log scale)")
    ax.set_ylabel("updates S (log scale)")
    ax.legend(loc="upper right", fontsize=7)
    return fig


# --------------------------------------------------------------------------- the explorer

def explorer_point(sweep: Sweep, batch_size: int, lr: float, variant: str = "constant") -> dict:
    """What the explorer shows for (batch size, rate): the nearest rate in the grid and its result over seeds."""
    grid = sweep[batch_size]
    low, high = sweep.rates[0] / 1.5, sweep.rates[-1] * 1.5
    if isinstance(lr, bool) or not isinstance(lr, Real) or not math.isfinite(lr) or \
            not low * (1 - 1e-9) <= lr <= high * (1 + 1e-9):
        raise ValueError(f"learning rate must be a number between {low:.3g} and "
                         f"{high:.3g} (the grid spans {sweep.rates[0]:g} to {sweep.rates[-1]:g}), "
                         f"got {lr!r}")
    if variant not in grid.variants:
        raise ValueError(f"batch size {batch_size} was trained without warm-up only; "
                         f"warm-up runs exist for batch sizes {[b for b in sweep.batch_sizes if 'warmup' in sweep[b].variants]}")
    own = grid.rates_of(variant)
    nearest = float(own[int(np.argmin(np.abs(np.log(own) - math.log(lr))))])
    rows = grid.index(variant)[grid.rate_index(nearest, variant)]
    comparison = grid.compare(rates=[nearest], variants=(variant,))
    return {"grid": grid, "rate": nearest, "rows": rows, "loss": float(comparison.mean[0]),
            "spread": float(comparison.spread[0]), "diverged": int(grid.history.diverged[rows].sum()),
            "best": grid.compare().best}


def explorer_figure(sweep: Sweep, batch_size: int, lr: float, variant: str = "constant"):
    """Left: validation loss of the nearest grid rate at that batch size (others grey).  Right: the scaling picture."""
    point = explorer_point(sweep, batch_size, lr, variant)
    grid = point["grid"]
    history = grid.history
    fig, (left, right) = plots.new_figure(2, width=7.8, height=3.2, width_ratios=(1.1, 1))
    for r, rate in enumerate(grid.rates_of(variant)):
        if math.isclose(rate, point["rate"]):
            continue
        left.plot(history.eval_epoch, history.val_loss[grid.index(variant)[r]].mean(axis=0),
                  color="0.8", linewidth=0.8)
    _band(left, history.eval_epoch, history.val_loss[point["rows"]], color=plots.lr_color(point["rate"]),
          label=f"η = {point['rate']:g}")
    left.set_yscale("log")
    _plain_log(left, "y")
    left.set_xlabel("epoch")
    left.set_ylabel("validation loss (log scale)")
    left.set_title(f"B = {batch_size}{', warm-up' if variant == 'warmup' else ''}: η = {point['rate']:g}"
                   + (f" (diverged in {point['diverged']} seed(s))" if point["diverged"] else ""))
    left.legend(loc="upper right")
    b = np.array(sweep.batch_sizes, dtype=np.float64)
    tuned = sweep.best_rates()
    right.plot(b, tuned, "o-", color=plots.PALETTE["blue"], markersize=4, label="best rate")
    right.plot(b, scaled_rate(b, b[0], tuned[0], 1.0), color="0.3", linewidth=1, label="linear")
    right.plot(b, scaled_rate(b, b[0], tuned[0], 0.5), color="0.3", linewidth=1, linestyle="-.", label="square root")
    right.plot([batch_size], [lr], "*", color=plots.lr_color(lr), markeredgecolor="black", markersize=13,
               label="your choice")
    _batch_axis(right, sweep.batch_sizes)
    plots.lr_axis(right, axis="y", label="learning rate η (log scale)")
    _plain_log(right, "y")
    right.set_xlabel("batch size B (log scale)")
    right.legend(loc="upper left", fontsize=7)
    return fig


def describe_point(sweep: Sweep, batch_size: int, lr: float, variant: str = "constant") -> str:
    """One sentence about (batch size, rate): the nearest grid rate's result and the rules' predictions."""
    point = explorer_point(sweep, batch_size, lr, variant)
    base_b, base_rate = sweep.batch_sizes[0], float(sweep.best_rates()[0])
    best_rate, best_variant = point["best"]
    result = (f"diverged in {point['diverged']} of {len(sweep.seeds)} seeds" if point["diverged"]
              else f"final validation loss {point['loss']:.3f} (spread over seeds {point['spread']:.3f})")
    return (f"B = {batch_size}, nearest rate in the grid η = {point['rate']:g}: {result}. "
            f"Best at this batch size: η = {best_rate:g}{' with warm-up' if best_variant == 'warmup' else ''}. "
            f"From η = {base_rate:g} at B = {base_b}, the linear rule predicts "
            f"{scaled_rate(batch_size, base_b, base_rate, 1.0):.3g} and the square-root rule "
            f"{scaled_rate(batch_size, base_b, base_rate, 0.5):.3g}.")


class ScalingExplorer:
    """Pick a batch size and a learning rate; see that grid's curves and where the point sits against the rules.

    Reads the cached :class:`Sweep` only: nothing is trained.  Invalid choices
    (a rate outside the grid, warm-up at a batch size trained without it) show a
    message instead of a traceback.
    """

    def __init__(self, sweep: Sweep, batch_size: int | None = None, lr: float = 0.5):
        import ipywidgets as W
        from IPython.display import display

        if not isinstance(sweep, Sweep):
            raise TypeError(f"sweep must be a lib.scaling.Sweep, got {type(sweep).__name__}")
        self._display = display
        self.sweep = sweep
        batch_size = sweep.batch_sizes[len(sweep.batch_sizes) // 2] if batch_size is None else batch_size
        sweep[batch_size]
        low, high = math.log10(sweep.rates[0] / 1.5), math.log10(sweep.rates[-1] * 1.5)
        self.batch = W.SelectionSlider(options=sweep.batch_sizes, value=batch_size, description="batch size",
                                       continuous_update=False)
        self.lr = W.FloatLogSlider(value=lr, base=10, min=low, max=high, step=0.01, description="η",
                                   readout_format=".3g", continuous_update=False)
        self.warmup = W.Checkbox(value=False, description="warm-up")
        self.message = W.HTML()
        self.output = W.Output()
        for control in (self.batch, self.lr, self.warmup):
            control.observe(self.redraw, names="value")
        self.widget = W.VBox([W.HBox([self.batch, self.lr, self.warmup]), self.message, self.output])
        self.redraw()

    def redraw(self, _change=None) -> bool:
        variant = "warmup" if self.warmup.value else "constant"
        try:
            fig = explorer_figure(self.sweep, self.batch.value, self.lr.value, variant)
            text = describe_point(self.sweep, self.batch.value, self.lr.value, variant)
        except (ValueError, TypeError) as error:
            widgets.show_error(self.message, error)
            return False
        self.message.value = html.escape(text)
        widgets.show_figure(self.output, fig, show=self._display)
        return True

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
