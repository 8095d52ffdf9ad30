"""Time to a target loss against batch size: section 4's updates-to-target times this device's seconds per update.

Section 4 (:mod:`lib.batch_size.critical_batch`) counts updates: a batch of B
examples needs :math:`S(B) = S_{\\min}(1 + B_{\\rm crit}/B)` updates to reach a
target (McCandlish et al. 2018).  A practitioner pays in seconds, and an update
at batch B costs :math:`t(B)` seconds (:mod:`lib.parallel.throughput`), so the
curve to minimise is

.. math:: T(B) = S(B)\\,t(B).

While the device is not yet busy, :math:`t(B)` is nearly flat and :math:`T(B)`
falls like :math:`S(B)`; once it is busy, :math:`t(B) \\propto B` and
:math:`T(B) \\propto S_{\\min}(B + B_{\\rm crit})` grows.  The best batch size sits
near the smaller of the device's saturation point and the critical batch size.

:func:`steps_to_target` reruns section 4's sweep (:func:`lib.batch_size.batch_sweep.run_sweep`,
:meth:`~lib.batch_size.batch_sweep.Sweep.tradeoff`,
:func:`lib.batch_size.critical_batch.fit_steps_examples`) at the sizes of
:class:`lib.parallel.settings.Settings`; :func:`time_to_target` joins it with a
:class:`~lib.parallel.throughput.Throughput`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.batch_size.batch_sweep import Sweep, run_sweep
from lib.batch_size.critical_batch import StepsExamplesFit, Tradeoff, fit_steps_examples
from lib.core import checks
from lib.core.data import Splits

from .settings import Settings
from .throughput import Throughput


@dataclass(frozen=True)
class StepsToTarget:
    """Section 4's sweep, rerun small: its trade-off at a target every batch size reaches, and the fit.

    Attributes:
        sweep (Sweep): the grids.  tradeoff (Tradeoff): updates to the target per batch size.
        fit (StepsExamplesFit): :math:`S_{\\min}`, :math:`E_{\\min}`, :math:`B_{\\rm crit}`.
        seconds (float): wall-clock seconds the sweep took.
    """

    sweep: Sweep
    tradeoff: Tradeoff
    fit: StepsExamplesFit
    seconds: float


def steps_to_target(data: Splits, settings: Settings, progress: bool | None = None) -> StepsToTarget:
    """Run section 4's sweep at ``settings.sweep_*`` sizes and read its steps to a target.

    The target is :meth:`lib.batch_size.batch_sweep.Sweep.reachable_target` (a loss
    every batch size reaches); the fit needs at least 3 batch sizes.

    Raises:
        TypeError, ValueError: as :func:`lib.batch_size.batch_sweep.run_sweep` and
            :func:`lib.batch_size.critical_batch.fit_steps_examples`.
    """
    import time

    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be lib.parallel.settings.Settings, got {type(settings).__name__}")
    s = settings
    data = checks.splits(data, validation=True).subset(n_train=s.sweep_n_train, n_val=s.sweep_n_val)
    start = time.perf_counter()
    sweep = run_sweep(data, s.sweep_batches, s.sweep_rates, s.sweep_seeds, epochs=s.sweep_epochs,
                      progress=progress)
    tradeoff = sweep.tradeoff(sweep.reachable_target())
    fit = fit_steps_examples(tradeoff.batch_sizes, tradeoff.steps)
    return StepsToTarget(sweep, tradeoff, fit, time.perf_counter() - start)


@dataclass(frozen=True)
class TimeToTarget:
    """Seconds to the target at each batch size.

    Attributes:
        batch_sizes (ndarray (K,)): the sweep's batch sizes.
        steps (ndarray (K,)): measured updates to the target.
        seconds_per_update (ndarray (K,)): this device's time per update there.
        curve_batches (ndarray (M,)): every measured throughput batch size.
        curve_steps (ndarray (M,)): the fit's updates :math:`S_{\\rm fit}(B)` there.
        curve_seconds (ndarray (M,)): :math:`S_{\\rm fit}(B)\\,t(B)` there (the fit extrapolates
            the updates beyond the sweep's batch sizes).
        b_crit (float): the fit's critical batch size (examples).
    """

    batch_sizes: np.ndarray
    steps: np.ndarray
    seconds_per_update: np.ndarray
    curve_batches: np.ndarray
    curve_steps: np.ndarray
    curve_seconds: np.ndarray
    b_crit: float

    @property
    def seconds(self) -> np.ndarray:
        """(K,): measured seconds to the target, steps x seconds per update."""
        return self.steps * self.seconds_per_update

    @property
    def best_batch(self) -> int:
        """The sweep's batch size with the fewest measured seconds to the target."""
        return int(self.batch_sizes[np.argmin(self.seconds)])

    @property
    def best_curve_batch(self) -> int:
        """The throughput batch size where the fitted curve is lowest."""
        return int(self.curve_batches[np.argmin(self.curve_seconds)])


def time_to_target(steps: StepsToTarget, throughput: Throughput) -> TimeToTarget:
    """Join updates to the target with seconds per update (interpolated on log-log axes).

    Raises:
        TypeError: arguments of the wrong types.
        ValueError: a sweep batch size outside the throughput's measured range.
    """
    if not isinstance(steps, StepsToTarget):
        raise TypeError(f"steps must be a StepsToTarget, got {type(steps).__name__}")
    if not isinstance(throughput, Throughput):
        raise TypeError(f"throughput must be a Throughput, got {type(throughput).__name__}")
    b = steps.tradeoff.batch_sizes
    per_update = throughput.seconds_at(b)
    curve_b = throughput.batch_sizes.astype(np.float64)
    curve_steps = steps.fit.steps(curve_b)
    return TimeToTarget(b, steps.tradeoff.steps, per_update, curve_b, curve_steps,
                        curve_steps * throughput.seconds_per_update, steps.fit.b_crit)
