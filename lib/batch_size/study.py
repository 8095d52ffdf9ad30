"""Section 4's experiment: one sweep with the noise-scale tracker riding along, and what the prose concludes from it.

* :func:`run_study` trains the sweep of :class:`lib.batch_size.settings.Settings`
  (:func:`lib.batch_size.batch_sweep.run_sweep`) while a
  :class:`lib.batch_size.noise_tracker.NoiseScaleTracker` measures one of its runs
  (:class:`Study`);
* :func:`run_textbook_grids`: the textbook's Figures 12-12 and 12-13 trained for
  its own number of epochs; :func:`textbook_verdicts`: its winners judged on
  those grids or on the sweep, at the end or after fewer epochs (:class:`TextbookVerdict`);
* :func:`held_out_checks`: the rate the validation split picks, scored on the
  test split that picked nothing (:class:`HeldOutCheck`);
* :func:`compare_batch_sizes`: batch sizes compared at equal epochs, at equal
  updates and by the updates and examples they need to reach target losses
  (:class:`BatchComparison`);
* :func:`summarize_scaling`: the best rate against the batch size, which scaling
  rule it follows where, what warm-up changes, and McCandlish et al.'s
  :math:`\\epsilon_{\\rm opt}(B)` fitted freely and with :math:`B_{\\rm noise}`
  set to the measured :math:`B_{\\rm simple}` at the target loss (:class:`ScalingSummary`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lib.core import checks
from lib.core.data import Splits
from lib.core.order import steps_per_epoch

from .critical_batch import OptimalStepFit, fit_optimal_step
from .illustration import TEXTBOOK_RATES, TEXTBOOK_WINNERS
from .noise_tracker import NoiseScaleTrace, NoiseScaleTracker, checkpoint_steps
from .rate_grid import RateComparison, member_index
from .scaling_rules import follows_textbook_stages, local_slopes, rule_stretches
from .settings import Settings
from .batch_sweep import Sweep, run_sweep


#: The batch sizes of the textbook's Figures 12-12 and 12-13.
TEXTBOOK_GRIDS = (32, 16)


# --------------------------------------------------------------------------- the experiment

@dataclass(frozen=True)
class Study:
    """The sweep and what the tracker measured along its tracked run.

    Attributes:
        sweep (Sweep): every batch size's grid.
        trace (NoiseScaleTrace): the noise scale along the tracked run.
        tracked_batch (int), tracked_rate (float), tracked_seed (int): the tracked run.
        tracked_member (int): its row in its grid's history.
        tracked_steps_per_epoch (int): updates per epoch at ``tracked_batch``.
    """

    sweep: Sweep
    trace: NoiseScaleTrace
    tracked_batch: int
    tracked_rate: float
    tracked_seed: int
    tracked_member: int
    tracked_steps_per_epoch: int


def run_study(data: Splits, settings: Settings, progress: bool | None = None) -> Study:
    """Train the sweep of ``settings`` on ``data`` with the noise-scale tracker on its tracked run.

    The tracker follows the run (``tracked_rate``, first seed, no warm-up) of the
    grid at ``tracked_batch``, with both estimators at ``checkpoints`` update
    counts spaced evenly in log(updates) from ``first_checkpoint`` to the end
    (:func:`lib.batch_size.noise_tracker.checkpoint_steps`).

    Args:
        data (Splits): training data with a validation split.
        settings (Settings): the experiment's sizes.
        progress (bool, optional): progress bars (see :func:`lib.core.engine.train_grid`).

    Returns:
        Study.

    Raises:
        TypeError, ValueError: as :func:`lib.batch_size.batch_sweep.run_sweep` and
            :class:`lib.batch_size.noise_tracker.NoiseScaleTracker`.
    """
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be lib.batch_size.settings.Settings, got {type(settings).__name__}")
    s = settings
    epoch_steps = steps_per_epoch(data.x_train.shape[0], s.tracked_batch)
    member = member_index(s.rates, s.seeds, rate=s.tracked_rate, seed=s.seeds[0])
    tracker = NoiseScaleTracker(
        data, member=member, b_small=s.noise_b_small, b_big=s.noise_b_big, every=s.noise_every,
        checkpoints=checkpoint_steps(s.epochs * epoch_steps, s.checkpoints, s.first_checkpoint),
        exact_examples=s.exact_examples, fixed_draws=s.fixed_draws, decay=s.noise_decay)
    sweep = run_sweep(data, s.batch_sizes, s.rates, s.seeds, epochs=s.epochs, warmup_from=s.warmup_from,
                      warmup_epochs=s.warmup_epochs, warmup_start_factor=s.warmup_start_factor,
                      warmup_rates=s.warmup_rates, on_step={s.tracked_batch: tracker}, progress=progress)
    return Study(sweep, tracker.trace, s.tracked_batch, s.tracked_rate, s.seeds[0], member, epoch_steps)


# --------------------------------------------------------------------------- the textbook's claim

@dataclass(frozen=True)
class TextbookVerdict:
    """The textbook's winning rate at one batch size against the sweep's grid of the textbook's rates.

    Attributes:
        batch_size (int): examples per update.
        claimed (float): the rate the textbook reports as best there.
        comparison (RateComparison): the textbook's rates, without warm-up, over the seeds.
    """

    batch_size: int
    claimed: float
    comparison: RateComparison

    @property
    def winner(self) -> float:
        """The rate with the lowest mean final validation loss."""
        return self.comparison.best_rate

    @property
    def winner_wins(self):
        """In how many seeds the winner is also the best on its own."""
        return self.comparison.wins_per_seed[self.comparison.best_index]

    @property
    def winner_by_accuracy(self) -> float:
        """The rate with the highest mean final validation accuracy."""
        return self.comparison.best_by_accuracy[0]

    @property
    def holds(self) -> bool:
        """Whether the textbook's winner wins on the loss."""
        return self.winner == self.claimed

    @property
    def holds_by_accuracy(self) -> bool:
        """Whether the textbook's winner wins on the accuracy."""
        return self.winner_by_accuracy == self.claimed


def textbook_verdicts(sweep: Sweep, batch_sizes: Sequence[int] = (32, 16),
                      epoch: int | None = None) -> dict[int, TextbookVerdict]:
    """The textbook's claimed winners (:data:`lib.batch_size.illustration.TEXTBOOK_WINNERS`) on the sweep.

    Args:
        sweep (Sweep): trained at (at least) the ``batch_sizes`` with the textbook's rates.
        batch_sizes (list of ints): batch sizes with a claimed winner. Default (32, 16).
        epoch (int, optional): judge the validation loss after this many epochs of the same
            runs (1 to ``sweep.epochs``) instead of at the end. Default: the end.

    Returns:
        dict batch size -> TextbookVerdict, in the order of ``batch_sizes``.

    Raises:
        TypeError: ``epoch`` is not an int.
        ValueError: a batch size without a claim, or not in the sweep; a textbook rate not in its
            grid; ``epoch`` outside 1 to ``sweep.epochs``.
    """
    if epoch is not None:
        epoch = checks.integer(epoch, "epoch", minimum=1, maximum=sweep.epochs)
    verdicts = {}
    for b in batch_sizes:
        if b not in TEXTBOOK_WINNERS:
            raise ValueError(f"batch_sizes must be among the textbook's {sorted(TEXTBOOK_WINNERS)}, got {b!r}")
        step = None if epoch is None else epoch * steps_per_epoch(sweep.n_train, b)
        comparison = sweep[b].compare(rates=TEXTBOOK_RATES, variants=("constant",), step=step)
        verdicts[b] = TextbookVerdict(b, TEXTBOOK_WINNERS[b], comparison)
    return verdicts


def run_textbook_grids(data: Splits, settings: Settings, progress: bool | None = None) -> Sweep:
    """The textbook's Figures 12-12 and 12-13 with its own length: its rates at batch sizes 16 and 32.

    The rates :data:`lib.batch_size.illustration.TEXTBOOK_RATES`, without warm-up,
    with the sweep's seeds, for ``settings.textbook_epochs`` epochs on the first
    ``settings.textbook_n_train`` training images (all of ``data`` if None), evaluated
    every ``settings.textbook_eval_every`` epochs.  The validation and test splits are
    ``data``'s, whole.

    Args:
        data (Splits): training data with a validation split (and a test split, to score the winners).
        settings (Settings): the experiment's sizes.
        progress (bool, optional): progress bars (see :func:`lib.core.engine.train_grid`).

    Returns:
        Sweep: two grids, batch sizes 16 and 32.

    Raises:
        TypeError: ``settings`` is not a Settings; as :func:`lib.batch_size.batch_sweep.run_sweep`.
        ValueError: ``textbook_n_train`` larger than the training data; as ``run_sweep``.
    """
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be lib.batch_size.settings.Settings, got {type(settings).__name__}")
    data = checks.splits(data, validation=True)
    if settings.textbook_n_train is not None:
        checks.integer(settings.textbook_n_train, "settings.textbook_n_train", minimum=32,
                       maximum=data.x_train.shape[0])
        data = data.subset(n_train=settings.textbook_n_train)
    return run_sweep(data, TEXTBOOK_GRIDS, TEXTBOOK_RATES, settings.seeds,
                     epochs=settings.textbook_epochs, eval_every=settings.textbook_eval_every, progress=progress)


# --------------------------------------------------------------------------- the choice, on data that did not make it

@dataclass(frozen=True)
class HeldOutCheck:
    """The configuration the validation split picks at one batch size, scored on the test split.

    Both comparisons hold the same configurations and seeds; the runs of one seed share their
    initial weights and data order, so differences between configurations are paired by seed.

    Attributes:
        batch_size (int): examples per update.
        validation (RateComparison): final validation loss (the split that chooses).
        test (RateComparison): final test loss of the same runs (a split that chose nothing).
    """

    batch_size: int
    validation: RateComparison
    test: RateComparison

    @property
    def chosen(self) -> tuple[float, str]:
        """The configuration with the lowest mean validation loss."""
        return self.validation.best

    @property
    def test_best(self) -> tuple[float, str]:
        """The configuration with the lowest mean test loss."""
        return self.test.best

    @property
    def holds(self) -> bool:
        """Whether the test split picks the configuration the validation split picked."""
        return self.chosen == self.test_best

    @property
    def chosen_test_loss(self) -> np.ndarray:
        """(S,): the chosen configuration's test loss, per seed."""
        return self.test.loss[self.validation.best_index]

    @property
    def regret(self) -> np.ndarray:
        """(S,): per seed, the chosen configuration's test loss minus the test-best configuration's (>= 0 in the mean)."""
        return self.chosen_test_loss - self.test.loss[self.test.best_index]


def held_out_checks(sweep: Sweep, batch_sizes: Sequence[int] | None = None, rates: Sequence[float] | None = None,
                    variants: Sequence[str] | None = None) -> dict[int, HeldOutCheck]:
    """At each batch size, the validation split's choice of rate scored on the test split (:class:`HeldOutCheck`).

    Args:
        sweep (Sweep): trained on data with a test split.
        batch_sizes (list of ints, optional): default all of the sweep's.
        rates (list of floats, optional): the rates to choose among. Default all.
        variants (list of str, optional): the variants to choose among. Default all trained at each batch size.

    Returns:
        dict batch size -> HeldOutCheck.

    Raises:
        ValueError: a batch size or rate not trained; a grid without test measurements.
    """
    checks_ = {}
    for b in (sweep.batch_sizes if batch_sizes is None else batch_sizes):
        grid = sweep[b]
        chosen = tuple(v for v in (grid.variants if variants is None else variants) if v in grid.variants)
        checks_[b] = HeldOutCheck(b, grid.compare(rates, chosen), grid.compare(rates, chosen, split="test"))
    return checks_


# --------------------------------------------------------------------------- batch sizes on an equal footing

@dataclass(frozen=True)
class BatchComparison:
    """Batch sizes compared with three things held equal: epochs, updates, or the loss to reach.

    At every batch size the configuration (rate, variant) is chosen anew for each
    comparison: the one with the lowest mean validation loss after the sweep's epochs,
    the one with the lowest mean validation loss after ``updates`` updates, and for each
    target the one that reaches it in the fewest updates (mean over seeds, every seed
    must reach it).

    Attributes:
        batch_sizes (ndarray (B,)): examples per update, increasing.
        epochs (int): the epochs every batch size trained.
        updates (int): the largest update count every batch size reaches (the largest batch's total).
        epochs_configs, updates_configs (tuple of B (rate, variant)): the chosen configurations.
        epochs_loss, updates_loss (ndarray (B, S)): their validation loss per seed, at the end and
            after ``updates`` updates.
        targets (ndarray (T,)): validation losses to reach.
        target_steps (ndarray (T, B)): updates the fastest configuration needs (mean over seeds);
            NaN where no configuration reaches the target in every seed ("not reached").
        target_rates (ndarray (T, B)): that configuration's rate (NaN where not reached).
    """

    batch_sizes: np.ndarray
    epochs: int
    updates: int
    epochs_configs: tuple[tuple[float, str], ...]
    epochs_loss: np.ndarray
    updates_configs: tuple[tuple[float, str], ...]
    updates_loss: np.ndarray
    targets: np.ndarray
    target_steps: np.ndarray
    target_rates: np.ndarray

    @property
    def target_examples(self) -> np.ndarray:
        """(T, B): examples to each target, :math:`E = BS` (NaN where not reached)."""
        return self.target_steps * self.batch_sizes

    @property
    def reached(self) -> np.ndarray:
        """(T, B) bool: whether some configuration reaches the target in every seed."""
        return np.isfinite(self.target_steps)

    @staticmethod
    def _lowest(sizes, values) -> int:
        values = np.asarray(values, dtype=np.float64)
        if not np.isfinite(values).any():
            raise ValueError("no batch size has a finite value here")
        return int(sizes[int(np.nanargmin(np.where(np.isfinite(values), values, np.nan)))])

    def mean(self, held: str) -> np.ndarray:
        """(B,): mean validation loss over seeds with ``held`` (``"epochs"`` or ``"updates"``) equal."""
        return getattr(self, f"{checks.choice(held, 'held', ('epochs', 'updates'))}_loss").mean(axis=1)

    def std(self, held: str) -> np.ndarray:
        """(B,): its sample standard deviation over seeds (``ddof=1``)."""
        return getattr(self, f"{checks.choice(held, 'held', ('epochs', 'updates'))}_loss").std(axis=1, ddof=1)

    def best(self, held: str) -> int:
        """The batch size with the lowest mean validation loss with ``held`` (``"epochs"``/``"updates"``) equal."""
        return self._lowest(self.batch_sizes, self.mean(held))

    def fewest_updates(self, t: int = 0) -> int:
        """The batch size that reaches target ``t`` in the fewest updates."""
        return self._lowest(self.batch_sizes, self.target_steps[t])

    def fewest_examples(self, t: int = 0) -> int:
        """The batch size that reaches target ``t`` with the fewest examples."""
        return self._lowest(self.batch_sizes, self.target_examples[t])


def hardest_target(sweep: Sweep, margin: float = 1.05) -> float:
    """A validation loss only the best batch sizes reach: ``margin`` x the lowest that any batch size
    reaches in every seed (:meth:`lib.batch_size.rate_grid.RateGrid.best_reached`), rounded up to 0.01.

    Raises:
        ValueError: ``margin`` < 1; no run finished.
    """
    margin = checks.number(margin, "margin", low=1.0)
    best = min(sweep[b].best_reached() for b in sweep.batch_sizes)
    if not math.isfinite(best):
        raise ValueError("no configuration finished without diverging")
    return math.ceil(100 * best * margin) / 100


def compare_batch_sizes(sweep: Sweep, targets: Sequence[float]) -> BatchComparison:
    """Compare the sweep's batch sizes at equal epochs, at equal updates, and by the cost of reaching ``targets``.

    Equal updates means the largest count every batch size reaches, the largest batch
    size's total; the validation loss there is read off each run's measured curve,
    interpolated in log(updates) (:meth:`lib.batch_size.rate_grid.RateGrid.loss_at`).  The
    updates to a target are :meth:`lib.batch_size.rate_grid.RateGrid.fastest_to_target`,
    NaN where no configuration gets there.

    Args:
        sweep (Sweep): the sweep.
        targets (list of floats): validation losses to reach, > 0.

    Returns:
        BatchComparison.

    Raises:
        TypeError: ``sweep`` is not a Sweep; ``targets`` not a list of numbers.
        ValueError: a target not > 0; a batch size where every configuration diverged.
    """
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a lib.batch_size.batch_sweep.Sweep, got {type(sweep).__name__}")
    targets = checks.positive_values(targets, "targets")
    if targets.ndim != 1 or targets.size == 0:
        raise ValueError(f"targets must be a non-empty list of losses, got {targets.tolist()!r}")
    sizes = sweep.batch_sizes
    updates = min(sweep[b].total_steps for b in sizes)
    at_epochs = [sweep[b].compare() for b in sizes]
    at_updates = [sweep[b].compare(step=updates) for b in sizes]
    fastest = [[sweep[b].fastest_to_target(t) for b in sizes] for t in targets]
    return BatchComparison(
        batch_sizes=np.array(sizes), epochs=sweep.epochs, updates=updates,
        epochs_configs=tuple(c.best for c in at_epochs), epochs_loss=np.array([c.loss[c.best_index] for c in at_epochs]),
        updates_configs=tuple(c.best for c in at_updates),
        updates_loss=np.array([c.loss[c.best_index] for c in at_updates]),
        targets=targets, target_steps=np.array([[f[0] for f in row] for row in fastest]),
        target_rates=np.array([[f[1] for f in row] for row in fastest]))


# --------------------------------------------------------------------------- the scaling of the best rate

@dataclass(frozen=True)
class ScalingSummary:
    """The best rate against the batch size, the rules it follows, warm-up, and the noise scale at the target.

    Attributes:
        batch_sizes (ndarray (B,)): the sweep's batch sizes.
        best_rates (ndarray (B,)): the winning rate, warm-up allowed.
        best_rates_constant (ndarray (B,)): the winning rate without warm-up.
        best_variants (tuple of B str): the winner's variant.
        stable, stable_warmup (ndarray (B,)): the largest rate stable in every seed,
            without and with warm-up (NaN where not trained).
        slopes (ndarray (B - 1,)): local slopes of log best rate against log batch size.
        stretches (list of (int, int, str)): :func:`lib.batch_size.scaling_rules.rule_stretches`.
        warmup_gain (float): the largest fractional drop of the best final loss that
            warm-up brings at any batch size (NaN if none trained warm-up).
        seed_rate_steps (ndarray (B,), int): how many steps of the rate grid the seeds'
            own winners span.
        blow_up_steps (ndarray (D,), int): updates done when each constant-rate run
            diverged, at the batch sizes that also trained warm-up.
        target (float): a validation loss every batch size reaches (:meth:`Sweep.reachable_target`).
        tracked_target_step (float): updates the tracked run needed to reach it.
        b_simple_at_target (float): the moving-average two-batch :math:`B_{\\rm simple}` there.
        near_checkpoints (ndarray (2,), int): the two checkpoints closest to it in log(updates).
        fit_free (OptimalStepFit): :math:`\\epsilon_{\\rm opt}(B)` fitted to ``best_rates``.
        fit_given (OptimalStepFit): the same with :math:`B_{\\rm noise}` = ``b_simple_at_target``.
    """

    batch_sizes: np.ndarray
    best_rates: np.ndarray
    best_rates_constant: np.ndarray
    best_variants: tuple[str, ...]
    stable: np.ndarray
    stable_warmup: np.ndarray
    slopes: np.ndarray
    stretches: list[tuple[int, int, str]]
    warmup_gain: float
    seed_rate_steps: np.ndarray
    blow_up_steps: np.ndarray
    target: float
    tracked_target_step: float
    b_simple_at_target: float
    near_checkpoints: np.ndarray
    fit_free: OptimalStepFit
    fit_given: OptimalStepFit

    @property
    def warmup_winners(self) -> list[int]:
        """The batch sizes whose winner trained with warm-up."""
        return [int(b) for b, v in zip(self.batch_sizes, self.best_variants) if v == "warmup"]

    @property
    def follows_textbook_stages(self) -> bool:
        """Whether the stretches are linear, square-root, flat, in that order."""
        return follows_textbook_stages(self.stretches)


def summarize_scaling(study: Study) -> ScalingSummary:
    """Read the study's sweep and trace into a :class:`ScalingSummary`.

    Raises:
        TypeError: ``study`` is not a :class:`Study`.
        ValueError: no target every batch size reaches; the tracked run misses it.
    """
    if not isinstance(study, Study):
        raise TypeError(f"study must be a lib.batch_size.study.Study, got {type(study).__name__}")
    sweep, trace = study.sweep, study.trace
    b = sweep.batch_sizes
    tuned = sweep.best_rates()
    warm_grids = [sweep[size] for size in b if "warmup" in sweep[size].variants]
    blown = np.concatenate([g.history.diverged_at[g.index("constant")].ravel() for g in warm_grids]) \
        if warm_grids else np.zeros(0, dtype=int)
    target = sweep.reachable_target()
    tracked = sweep[study.tracked_batch]
    step = tracked.steps_to_target(target)[tracked.rate_index(study.tracked_rate),
                                           sweep.seeds.index(study.tracked_seed)]
    at_target = trace.two_batch_at(step)          # the paper's estimator, at the target
    return ScalingSummary(
        batch_sizes=np.array(b), best_rates=tuned, best_rates_constant=sweep.best_rates(("constant",)),
        best_variants=tuple(variant for _, variant in sweep.best_configs()),
        stable=sweep.largest_stable_rates("constant"), stable_warmup=sweep.largest_stable_rates("warmup"),
        slopes=local_slopes(b, tuned), stretches=rule_stretches(b, tuned),
        warmup_gain=max((g.warmup_gain() for g in warm_grids), default=float("nan")),
        seed_rate_steps=np.array([np.ptp(np.searchsorted(sweep.rates, sweep[size].compare().seed_best_rates))
                                  for size in b]),
        blow_up_steps=blown[blown >= 0] + 1,
        target=target, tracked_target_step=step, b_simple_at_target=at_target,
        near_checkpoints=np.argsort(np.abs(np.log(trace.checkpoints / step)))[:2],
        fit_free=fit_optimal_step(b, tuned), fit_given=fit_optimal_step(b, tuned, b_noise=at_target))
