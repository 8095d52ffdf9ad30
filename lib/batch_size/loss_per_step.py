"""The best loss improvement of one SGD step against the batch size, measured (McCandlish et al. 2018).

On a quadratic model of the loss, one step :math:`\\theta \\to \\theta - \\epsilon G_B`
along a batch gradient of :math:`B` examples lowers the loss in expectation by

.. math::
    \\mathbb E\\,\\Delta L(\\epsilon, B) = \\epsilon |G|^2
        - \\tfrac12 \\epsilon^2 \\Big(G^\\top H G + \\frac{\\operatorname{tr}(H\\Sigma)}{B}\\Big),

a parabola in :math:`\\epsilon` whose top is (McCandlish et al. 2018, their eqs. 2.6-2.7)

.. math::
    \\Delta L_{\\rm opt}(B) = \\frac{\\Delta L_{\\max}}{1 + B_{\\rm noise}/B}, \\qquad
    \\epsilon_{\\rm opt}(B) = \\frac{\\epsilon_{\\max}}{1 + B_{\\rm noise}/B},

with :math:`\\Delta L_{\\max} = |G|^4 / (2 G^\\top H G)`,
:math:`\\epsilon_{\\max} = |G|^2/G^\\top H G` and
:math:`B_{\\rm noise} = \\operatorname{tr}(H\\Sigma)/G^\\top H G`.  This module measures the left-hand
sides on a real network and fits the right-hand sides:

1. :func:`step_decreases`: at fixed weights, for every batch size, ``draws`` batches drawn with
   replacement; for each, the decrease of the loss over the whole of (x, y) after one step of
   every rate of a fine grid (the same batch for every rate);
2. :func:`read_peak`: the peak of the draws' mean decrease against the rate, refined by a
   parabola through the points around the best grid rate (exact for a quadratic loss);
3. :func:`fit_best_decrease` and :func:`fit_best_rate`: :math:`\\Delta L_{\\max}`, :math:`\\epsilon_{\\max}`
   and :math:`B_{\\rm noise}` by weighted least squares on the logarithms (:func:`fit_saturating`;
   the decreases span orders of magnitude);
4. :func:`analyse`: all of it, with percentile bootstrap intervals over the draws;
5. :func:`simple_noise_scale`: :math:`B_{\\rm simple}` at the same weights by the per-example
   estimator of :mod:`.gradient_noise`, with a t interval over disjoint parts of the sample;
   :func:`agreement` says whether the two noise scales agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize
from torch import nn
from torch.func import functional_call, vmap

from lib.core import checks, losses
from lib.core.device import seeded_generator
from lib.core.params import unflatten
from lib.core.timing import timed
from lib.core.stats import t_half_width

from .critical_batch import OptimalStepFit
from .gradient_noise import _weights, flat_gradient, per_example_statistics


# --------------------------------------------------------------------------- the measurement

@dataclass(frozen=True)
class StepDecreases:
    """What :func:`step_decreases` measured at one set of weights.

    Attributes:
        batch_sizes (ndarray (nB,)): the batch sizes B (examples), increasing.
        rates (ndarray (R,)): the step sizes epsilon (per update), increasing.
        decrease (ndarray (nB, D, R)): :math:`L(\\theta) - L(\\theta - \\epsilon G_B)` for draw d of
            batch size b, loss units (nats for cross-entropy); positive when the step helped.
        loss (float): :math:`L(\\theta)` over the examples.
        examples (int): n, the examples the loss is measured on and the batches are drawn from.
        g_squared (float): :math:`|G|^2` of that loss at :math:`\\theta` (exact, all n examples).
    """

    batch_sizes: np.ndarray
    rates: np.ndarray
    decrease: np.ndarray
    loss: float
    examples: int
    g_squared: float

    @property
    def draws(self) -> int:
        """D, the batches drawn per batch size."""
        return self.decrease.shape[1]

    def mean_decrease(self) -> np.ndarray:
        """(nB, R): the decrease averaged over the draws, which estimates
        :math:`\\mathbb E\\,\\Delta L(\\epsilon, B)`."""
        return self.decrease.mean(axis=1)


def _first_linear(model: nn.Module) -> bool:
    """True for an ``nn.Sequential`` whose first layer is ``nn.Linear`` (the textbook network)."""
    return isinstance(model, nn.Sequential) and len(model) > 1 and isinstance(model[0], nn.Linear)


def losses_along(model: nn.Module, params: dict, direction: dict, rates: torch.Tensor, x: torch.Tensor,
                 y: torch.Tensor, mean) -> torch.Tensor:
    """(R,): the loss ``mean(model(x), y)`` at the weights ``params - rate * direction``, for every rate.

    Speed: for an ``nn.Sequential`` that starts with ``nn.Linear`` the first layer's output is linear
    in the rate, :math:`x(W - \\epsilon D)^\\top = xW^\\top - \\epsilon\\, xD^\\top`, so the two products
    with the n inputs (784 columns for MNIST, most of the work) are made once instead of R times;
    the rest of the network runs for all rates at once (``torch.func.vmap`` over the rate).  Any other
    model runs whole, vmapped over the rate.

    Args:
        model (nn.Module): the architecture. params, direction (dict name -> Tensor): weights and a
            direction of the same layout. rates (Tensor (R,)): step sizes. x (Tensor (n, ...)),
            y (Tensor (n, ...)): examples. mean: :meth:`lib.core.losses.Loss.mean`.
    """
    def at(rate, inputs, names, module):
        moved = {name: params[name] - rate * direction[name] for name in names}
        return mean(functional_call(module, moved, (inputs(rate),)), y)

    with torch.no_grad():
        if _first_linear(model):
            h = nn.functional.linear(x, params["0.weight"], params.get("0.bias"))                 # (n, h1)
            dh = nn.functional.linear(x, direction["0.weight"], direction.get("0.bias"))          # (n, h1)
            rest = [name for name in params if not name.startswith("0.")]
            out = vmap(lambda rate: at(rate, lambda r: h - r * dh, rest, model[1:]))(rates)
        else:
            out = vmap(lambda rate: at(rate, lambda r: x, list(params), model))(rates)
    return out.double()


@timed("measuring")
def step_decreases(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_sizes, rates, draws: int,
                   loss: str = "cross_entropy", params: dict | None = None, seed: int = 0) -> StepDecreases:
    """How much one SGD step of every rate lowers the loss over (x, y), for batches of every size.

    For each batch size B and each of ``draws`` draws, B indices are drawn uniformly with
    replacement from the n examples (the independent draws McCandlish et al.'s model assumes),
    the batch gradient :math:`G_B` is taken at :math:`\\theta` and
    :math:`L(\\theta) - L(\\theta - \\epsilon G_B)` is measured over all n examples for every rate.
    The same batch serves every rate of a draw, so the curves of one draw are smooth in the rate.

    Args:
        model (nn.Module): the network; its weights (or ``params``) are :math:`\\theta`, not modified.
        x (Tensor (n, ...)), y (Tensor (n,) or (n, C)): the examples, n >= 2.
        batch_sizes (sequence of int): increasing batch sizes, each in [1, n].
        rates (sequence of float): increasing step sizes (per update), > 0; at least 5.
        draws (int): batches per batch size, >= 2.
        loss (str): a name in :data:`lib.core.losses.LOSSES`. Default ``"cross_entropy"``.
        params (dict, optional): weights used instead of the model's own.
        seed (int): seed of the draws. Default 0.

    Returns:
        StepDecreases: decreases of shape (len(batch_sizes), draws, len(rates)).

    Raises:
        TypeError: ``model`` not a module, tensors or counts of the wrong type.
        ValueError: batch sizes not increasing or outside [1, n], fewer than 5 rates, rates not
            increasing and > 0, ``draws`` < 2, an unknown loss, data the model cannot take.
    """
    mean = losses.get(loss).mean
    params = _weights(model, params)
    checks.tensors(x, y, minimum=2)
    checks.examples(x, y, loss=loss, model=model)
    n = x.shape[0]
    sizes = checks.integers(batch_sizes, "batch_sizes", minimum=1, minimum_count=2)
    if any(b > n for b in sizes) or any(b2 <= b1 for b1, b2 in zip(sizes, sizes[1:])):
        raise ValueError(f"batch_sizes must increase and lie in [1, {n}] (the examples), got {list(sizes)}")
    grid = checks.rates(rates, "rates", minimum_count=5, increasing=True)
    draws = checks.integer(draws, "draws", minimum=2)
    generator = seeded_generator(checks.seed(seed))
    params = {name: p.detach() for name, p in params.items()}
    device = x.device
    rate_tensor = torch.as_tensor(grid, dtype=next(iter(params.values())).dtype, device=device)
    with torch.no_grad():
        base = float(mean(functional_call(model, params, (x,)), y))
    full = flat_gradient(model, params, x, y, mean)
    decrease = np.empty((len(sizes), draws, len(grid)))
    for i, b in enumerate(sizes):
        for d in range(draws):
            index = torch.randint(n, (b,), generator=generator).to(device)     # B indices, with replacement
            direction = unflatten(flat_gradient(model, params, x[index], y[index], mean), params)   # G_B
            decrease[i, d] = base - losses_along(model, params, direction, rate_tensor, x, y, mean).cpu().numpy()
    return StepDecreases(np.asarray(sizes, dtype=np.float64), np.asarray(grid, dtype=np.float64), decrease,
                         base, n, float(full.double().pow(2).sum()))


# --------------------------------------------------------------------------- the peak and the fit

def read_peak(rates, decrease, window: int = 5) -> tuple[float, float, bool]:
    """The top of a decrease-against-rate curve: (best decrease, best rate, at the grid's edge).

    The grid point with the largest decrease and its neighbours (``window`` points, moved inwards
    at the ends of the grid) are fitted with a parabola in the rate by least squares; its vertex is
    the peak when the parabola opens downwards and the vertex lies among those points, else the
    best grid point is.  For an exactly quadratic loss the expected curve is a parabola
    (module docstring), so the vertex is exact.  "At the edge" means the best grid point is the
    first or the last rate: the grid does not bracket the peak.

    Args:
        rates (array-like (R,)): increasing rates, > 0, R >= ``window``.
        decrease (array-like (R,)): the decrease at each rate (finite).
        window (int): points of the parabola fit, odd, >= 3. Default 5.

    Returns:
        (float, float, bool): the best decrease (loss units), the best rate, whether at the edge.

    Raises:
        TypeError: ``window`` not an int.  ValueError: shapes that differ, fewer than ``window``
            rates, rates not increasing, values not finite, an even or too small window.
    """
    window = checks.integer(window, "window", minimum=3)
    if window % 2 == 0:
        raise ValueError(f"window must be odd, got {window}")
    r = np.asarray(rates, dtype=np.float64)
    v = np.asarray(decrease, dtype=np.float64)
    if r.ndim != 1 or r.shape != v.shape or r.size < window:
        raise ValueError(f"rates and decrease must be 1-D of the same length >= window={window}, "
                         f"got shapes {r.shape} and {v.shape}")
    if not (np.isfinite(r).all() and np.isfinite(v).all()) or np.any(np.diff(r) <= 0) or r[0] <= 0:
        raise ValueError("rates must be finite, > 0 and increasing, and decreases finite")
    best = int(np.argmax(v))
    edge = best in (0, r.size - 1)
    start = min(max(best - window // 2, 0), r.size - window)
    part = slice(start, start + window)
    a, b, c = np.polyfit(r[part], v[part], 2)
    if a < 0:
        vertex = -b / (2 * a)
        if r[part][0] <= vertex <= r[part][-1]:
            return float(c - b * b / (4 * a)), float(vertex), edge
    return float(v[best]), float(r[best]), edge


@dataclass(frozen=True)
class BestDecreaseFit:
    """:math:`\\Delta L_{\\rm opt}(B) = \\Delta L_{\\max}/(1 + B_{\\rm noise}/B)` (McCandlish et al. 2018, eq. 2.7).

    Attributes:
        delta_max (float): the best decrease of one noiseless step (loss units).
        b_noise (float): the noise scale (examples).
    """

    delta_max: float
    b_noise: float

    def __call__(self, batch_size):
        """The best decrease at ``batch_size`` (float or array of B > 0)."""
        b = checks.positive_values(batch_size, "batch_size")
        result = self.delta_max / (1.0 + self.b_noise / b)
        return float(result) if result.ndim == 0 else result


def fit_saturating(batch_sizes, values, weights=None) -> tuple[float, float]:
    """Fit :math:`v(B) = v_{\\max}/(1 + B_{\\rm noise}/B)` by (weighted) least squares on :math:`\\log v`.

    The law of both :math:`\\Delta L_{\\rm opt}(B)` and :math:`\\epsilon_{\\rm opt}(B)`.  Residuals
    :math:`w_i^{1/2}\\,[\\log(v_{\\max}/(1 + B_{\\rm noise}/B_i)) - \\log v_i]`, minimised by
    ``scipy.optimize.least_squares`` over the parameters' logarithms, started from the straight
    line that :math:`1/v = 1/v_{\\max} + (B_{\\rm noise}/v_{\\max})/B` draws through the points.

    Args:
        batch_sizes (array-like (nB,)): increasing batch sizes (examples), nB >= 3.
        values (array-like (nB,)): the measured value at each, > 0.
        weights (array-like (nB,), optional): > 0, e.g. the inverse variance of each
            :math:`\\log v_i`. Default: all equal.

    Returns:
        (v_max, b_noise): in the units of ``values`` and in examples.

    Raises:
        TypeError: not sequences of numbers.  ValueError: fewer than 3 points, lengths that
            differ, values or weights not finite and > 0, batch sizes not increasing.
    """
    b, v = checks.batch_series(batch_sizes, values, "values")
    if b.size < 3:
        raise ValueError(f"fitting two parameters needs at least 3 batch sizes, got {b.size}")
    w = np.ones_like(b) if weights is None else checks.rates(weights, "weights")
    if w.shape != b.shape:
        raise ValueError(f"weights must hold one value per batch size ({b.size}), got {w.size}")
    slope, intercept = np.polyfit(1.0 / b, 1.0 / v, 1)
    if intercept > 0 and slope > 0:
        start = np.log([1.0 / intercept, slope / intercept])
    else:                                   # the line is no guide: start from the data's range
        start = np.log([v.max(), float(np.sqrt(b[0] * b[-1]))])
    root = np.sqrt(w)

    def residuals(log_params):
        top, noise = np.exp(log_params)
        return root * (np.log(top / (1.0 + noise / b)) - np.log(v))

    solution = optimize.least_squares(residuals, start)
    top, noise = np.exp(solution.x)
    return float(top), float(noise)


def fit_best_decrease(batch_sizes, decreases, weights=None) -> BestDecreaseFit:
    """Fit :math:`\\Delta L_{\\max}` and :math:`B_{\\rm noise}` to the best decreases (:func:`fit_saturating`).

    Args:
        batch_sizes (array-like (nB,)): increasing batch sizes (examples), nB >= 3.
        decreases (array-like (nB,)): the best decrease at each (loss units), > 0.
        weights (array-like (nB,), optional): as :func:`fit_saturating`.

    Returns:
        BestDecreaseFit.

    Raises:
        As :func:`fit_saturating`.
    """
    return BestDecreaseFit(*fit_saturating(batch_sizes, decreases, weights))


def fit_best_rate(batch_sizes, rates, weights=None) -> OptimalStepFit:
    """Fit :math:`\\epsilon_{\\max}` and :math:`B_{\\rm noise}` to the best rates (:func:`fit_saturating`);
    :func:`lib.batch_size.critical_batch.fit_optimal_step` with weights.

    Returns:
        OptimalStepFit (``b_noise_fitted`` True).

    Raises:
        As :func:`fit_saturating`.
    """
    return OptimalStepFit(*fit_saturating(batch_sizes, rates, weights), True)


@dataclass(frozen=True)
class LossPerStep:
    """The best decrease and the best rate against the batch size, fitted, with bootstrap intervals.

    Attributes:
        measured (StepDecreases): the raw decreases.
        best_decrease (ndarray (nB,)): :math:`\\Delta L_{\\rm opt}(B)`, peak of the mean over draws.
        best_rate (ndarray (nB,)): :math:`\\epsilon_{\\rm opt}(B)` at that peak.
        at_edge (ndarray (nB,) bool): the rate grid did not bracket the peak.
        fit (BestDecreaseFit): :math:`\\Delta L_{\\max}`, :math:`B_{\\rm noise}` from the decreases.
        rate_fit (OptimalStepFit): :math:`\\epsilon_{\\max}`, :math:`B_{\\rm noise}` from the best rates.
        resampled (ndarray (M, 4)): per bootstrap resample: delta_max, b_noise (decreases),
            eps_max, b_noise (rates); NaN rows where a resample could not be fitted.
        level (float): the intervals' coverage, e.g. 0.95.
        decrease_interval, rate_interval (ndarray (2, nB)): the percentile bootstrap interval (low row,
            high row) of each batch size's best decrease and best rate.
    """

    measured: StepDecreases
    best_decrease: np.ndarray
    best_rate: np.ndarray
    at_edge: np.ndarray
    fit: BestDecreaseFit
    rate_fit: OptimalStepFit
    resampled: np.ndarray
    level: float
    decrease_interval: np.ndarray
    rate_interval: np.ndarray

    QUANTITIES = ("delta_max", "b_noise", "eps_max", "b_noise_rate")

    def value(self, name: str) -> float:
        """The fitted value of one of :attr:`QUANTITIES`."""
        checks.choice(name, "name", self.QUANTITIES)
        return {"delta_max": self.fit.delta_max, "b_noise": self.fit.b_noise,
                "eps_max": self.rate_fit.eps_max, "b_noise_rate": self.rate_fit.b_noise}[name]

    def interval(self, name: str) -> tuple[float, float]:
        """The percentile bootstrap interval of one of :attr:`QUANTITIES` (over the resamples that fitted)."""
        checks.choice(name, "name", self.QUANTITIES)
        column = self.resampled[:, self.QUANTITIES.index(name)]
        tail = 50 * (1 - self.level)
        low, high = np.nanpercentile(column, [tail, 100 - tail])
        return float(low), float(high)

    @property
    def failed_resamples(self) -> int:
        """Bootstrap resamples whose curves could not be fitted (a best decrease not > 0)."""
        return int(np.isnan(self.resampled).any(axis=1).sum())


def _peaks(rates: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    found = [read_peak(rates, row) for row in mean]
    return (np.array([f[0] for f in found]), np.array([f[1] for f in found]), np.array([f[2] for f in found]))


@timed("measuring")
def analyse(measured: StepDecreases, *, resamples: int = 200, level: float = 0.95, seed: int = 0) -> LossPerStep:
    """Peaks, both fits, and percentile bootstrap intervals over the draws.

    Each resample draws, for every batch size independently, D of the D draws with replacement,
    averages their curves and reads the peaks (:func:`read_peak`).  The peaks of small batches
    are far noisier than those of large ones (a draw's decrease scatters by about
    :math:`1/\\sqrt B` of its mean), so both laws are fitted by weighted least squares with the
    inverse bootstrap variance of each log peak as its weight, the same weights for the point
    estimate and for every resample.

    Args:
        measured (StepDecreases): from :func:`step_decreases`.
        resamples (int): bootstrap resamples M, >= 20. Default 200.
        level (float): coverage of the intervals, in (0, 1). Default 0.95.
        seed (int): seed of the resampling. Default 0.

    Returns:
        LossPerStep.

    Raises:
        TypeError: ``measured`` is not a StepDecreases.  ValueError: ``resamples`` < 20, ``level``
            outside (0, 1), a best decrease of the mean curves that is not > 0 (steps that do not
            lower the loss even at the best rate: draw more batches or take larger ones).
    """
    if not isinstance(measured, StepDecreases):
        raise TypeError(f"measured must be a StepDecreases (from step_decreases), got {type(measured).__name__}")
    resamples = checks.integer(resamples, "resamples", minimum=20)
    level = checks.number(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    rng = np.random.default_rng(checks.seed(seed))
    best, rate, edge = _peaks(measured.rates, measured.mean_decrease())
    if not (best > 0).all():
        raise ValueError(f"the best decrease is not > 0 at batch sizes {measured.batch_sizes[best <= 0].tolist()}: "
                         "no rate of the grid lowers the loss on average there; draw more batches")
    nb, draws, _ = measured.decrease.shape
    peaks = np.empty((resamples, 2, nb))
    for m in range(resamples):
        pick = rng.integers(0, draws, size=(nb, draws))
        curves = np.take_along_axis(measured.decrease, pick[:, :, None], axis=1).mean(axis=1)
        peaks[m, 0], peaks[m, 1], _ = _peaks(measured.rates, curves)
    usable = (peaks[:, 0] > 0).all(axis=1)
    with np.errstate(invalid="ignore"):
        spread = np.log(peaks[usable]).var(axis=0, ddof=1)          # (2, nB)
    floor = 1e-6                                                      # a peak that never moved gets weight 1e6
    weights = 1.0 / np.maximum(spread, floor)
    fit = fit_best_decrease(measured.batch_sizes, best, weights[0])
    rate_fit = fit_best_rate(measured.batch_sizes, rate, weights[1])
    rows = np.full((resamples, 4), np.nan)
    for m in np.flatnonzero(usable):
        one = fit_best_decrease(measured.batch_sizes, peaks[m, 0], weights[0])
        two = fit_best_rate(measured.batch_sizes, peaks[m, 1], weights[1])
        rows[m] = one.delta_max, one.b_noise, two.eps_max, two.b_noise
    tail = 50 * (1 - level)
    bands = np.percentile(peaks[usable], [tail, 100 - tail], axis=0)      # (2, 2, nB): low/high, quantity, B
    return LossPerStep(measured, best, rate, edge, fit, rate_fit, rows, level, bands[:, 0], bands[:, 1])


# --------------------------------------------------------------------------- B_simple at the same weights

@dataclass(frozen=True)
class SimpleNoiseScale:
    """:math:`B_{\\rm simple}` at one set of weights, with a t interval over disjoint parts of the sample.

    Attributes:
        b_simple (float): the estimate from all parts together (examples).
        parts (ndarray (P,)): the estimate of each part.
        low, high (float): the t interval of the mean of the parts at ``level``.
        level (float): its coverage.
    """

    b_simple: float
    parts: np.ndarray
    low: float
    high: float
    level: float


@timed("measuring")
def simple_noise_scale(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, parts: int = 8, level: float = 0.95,
                       loss: str = "cross_entropy", params: dict | None = None) -> SimpleNoiseScale:
    """:math:`B_{\\rm simple} = \\operatorname{tr}\\Sigma/|G|^2` of the loss over (x, y), by the per-example estimator.

    :math:`G` is the exact gradient over all n examples; :math:`\\operatorname{tr}\\Sigma` comes
    from the per-example gradients (:func:`lib.batch_size.gradient_noise.per_example_statistics`
    with ``mean_gradient``) of each of ``parts`` disjoint parts of the examples.  With :math:`G`
    exact the estimate is linear in the mean of :math:`|g_i|^2`, so the mean of the parts'
    estimates is the estimate from all examples, and their scatter gives a t interval.

    Args:
        model, x, y, loss, params: as :func:`step_decreases`; n >= 2 * parts.
        parts (int): disjoint parts, >= 2. Default 8.
        level (float): coverage of the interval, in (0, 1). Default 0.95.

    Returns:
        SimpleNoiseScale.

    Raises:
        TypeError / ValueError: as :func:`lib.batch_size.gradient_noise.per_example_statistics`;
            ``parts`` < 2 or more than n / 2; ``level`` outside (0, 1).
    """
    mean = losses.get(loss).mean
    params = _weights(model, params)
    checks.tensors(x, y, minimum=2)
    parts = checks.integer(parts, "parts", minimum=2, maximum=x.shape[0] // 2)
    level = checks.number(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    full = flat_gradient(model, params, x, y, mean)
    g_squared = float(full.double().pow(2).sum())
    traces = []
    for chunk in torch.arange(x.shape[0]).chunk(parts):
        chunk = chunk.to(x.device)
        traces.append(per_example_statistics(model, x[chunk], y[chunk], loss=loss, params=params,
                                             mean_gradient=full).trace_sigma)
    each = np.array(traces) / g_squared
    sizes = np.array([len(c) for c in torch.arange(x.shape[0]).chunk(parts)], dtype=np.float64)
    point = float(np.sum(each * sizes) / sizes.sum())
    half = t_half_width(each, level)
    return SimpleNoiseScale(point, each, point - half, point + half, level)


AGREEMENT = ("within the interval", "within a factor of 2", "further apart than a factor of 2")


def agreement(fitted: float, fitted_interval, measured: float, measured_interval) -> str:
    """How two noise scales with intervals compare: one of :data:`AGREEMENT`.

    ``"within the interval"`` when the two intervals overlap; else ``"within a factor of 2"`` when
    the two values are within a factor of 2 of each other; else the third.

    Args:
        fitted, measured (float): the two values, > 0.
        fitted_interval, measured_interval ((low, high)): their intervals, low <= high.

    Raises:
        TypeError: a value that is not a number.  ValueError: values not > 0, intervals that
            are not (low, high) pairs with low <= high.
    """
    fitted, measured = checks.positive(fitted, "fitted"), checks.positive(measured, "measured")
    pairs = []
    for interval, name in ((fitted_interval, "fitted_interval"), (measured_interval, "measured_interval")):
        values = checks.values(interval, name, minimum_count=2)
        if values.size != 2 or not values[0] <= values[1]:
            raise ValueError(f"{name} must be a pair (low, high) with low <= high, got {list(values)}")
        pairs.append(values)
    (a_low, a_high), (b_low, b_high) = pairs
    if a_low <= b_high and b_low <= a_high:
        return AGREEMENT[0]
    if max(fitted, measured) / min(fitted, measured) <= 2:
        return AGREEMENT[1]
    return AGREEMENT[2]
