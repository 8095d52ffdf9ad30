"""Section 4's experiment: one sweep with the noise-scale tracker riding along, and what the prose concludes from it.

* :func:`run_study` trains the sweep of :class:`lib.batch_size.settings.Settings`
  (:func:`lib.batch_size.batch_sweep.run_sweep`) while a
  :class:`lib.batch_size.noise_tracker.NoiseScaleTracker` measures one of its runs
  (:class:`Study`);
* :func:`textbook_verdicts`: the textbook's winners (its Figures 12-12 and 12-13)
  judged on the sweep (:class:`TextbookVerdict`);
* :func:`summarize_scaling`: the best rate against the batch size, which scaling
  rule it follows where, what warm-up changes, and McCandlish et al.'s
  :math:`\\epsilon_{\\rm opt}(B)` fitted freely and with :math:`B_{\\rm noise}`
  set to the measured :math:`B_{\\rm simple}` at the target loss (:class:`ScalingSummary`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lib.core.data import Splits
from lib.core.order import steps_per_epoch

from .critical_batch import OptimalStepFit, fit_optimal_step
from .illustration import TEXTBOOK_RATES, TEXTBOOK_WINNERS
from .noise_tracker import NoiseScaleTrace, NoiseScaleTracker, checkpoint_steps
from .rate_grid import RateComparison, member_index
from .scaling_rules import follows_textbook_stages, local_slopes, rule_stretches
from .settings import Settings
from .batch_sweep import Sweep, run_sweep


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


def textbook_verdicts(sweep: Sweep, batch_sizes: Sequence[int] = (32, 16)) -> dict[int, TextbookVerdict]:
    """The textbook's claimed winners (:data:`lib.batch_size.illustration.TEXTBOOK_WINNERS`) on the sweep.

    Args:
        sweep (Sweep): trained at (at least) the ``batch_sizes`` with the textbook's rates.
        batch_sizes (list of ints): batch sizes with a claimed winner. Default (32, 16).

    Returns:
        dict batch size -> TextbookVerdict, in the order of ``batch_sizes``.

    Raises:
        ValueError: a batch size without a claim, or not in the sweep; a textbook rate not in its grid.
    """
    verdicts = {}
    for b in batch_sizes:
        if b not in TEXTBOOK_WINNERS:
            raise ValueError(f"batch_sizes must be among the textbook's {sorted(TEXTBOOK_WINNERS)}, got {b!r}")
        comparison = sweep[b].compare(rates=TEXTBOOK_RATES, variants=("constant",))
        verdicts[b] = TextbookVerdict(b, TEXTBOOK_WINNERS[b], comparison)
    return verdicts


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
