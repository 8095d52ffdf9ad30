"""The gradient noise scale of McCandlish et al. (2018), measured two ways (section 4).

A mini-batch gradient is the mean of ``B`` per-example gradients :math:`g_i`.
With :math:`G = \\mathbb E[g_i]` the true gradient and
:math:`\\Sigma = \\operatorname{Cov}[g_i]` the per-example covariance, the
batch gradient :math:`G_B` satisfies

.. math:: \\mathbb E\\,|G_B|^2 = |G|^2 + \\operatorname{tr}(\\Sigma)/B ,

so noise and signal are equal at the batch size

.. math:: B_{\\rm simple} = \\operatorname{tr}(\\Sigma) / |G|^2 ,

McCandlish et al.'s *simple noise scale* (their :math:`B_{\\rm noise} =
\\operatorname{tr}(H\\Sigma)/G^\\top H G` with the Hessian :math:`H` replaced by
the identity).  Their model of one SGD step on a quadratic gives the best step
size at batch size :math:`B`,

.. math:: \\epsilon_{\\rm opt}(B) = \\frac{\\epsilon_{\\max}}{1 + B_{\\rm noise}/B},

(:func:`optimal_step`): linear in :math:`B` for :math:`B \\ll B_{\\rm noise}`,
flat at :math:`\\epsilon_{\\max}` for :math:`B \\gg B_{\\rm noise}`.

Two estimators of :math:`B_{\\rm simple}`:

* **two batch sizes** (their Appendix A.1): the squared norms of gradients
  measured at :math:`B_{\\rm small} < B_{\\rm big}` give unbiased estimates of
  :math:`|G|^2` and :math:`\\operatorname{tr}\\Sigma` (:func:`two_batch_estimates`);
  each is smoothed by its own exponential moving average (:func:`ema`) before
  the ratio is taken, because the ratio of two noisy estimates is biased and
  the |G|^2 estimate of a single pair can be negative;
* **per-example gradients** (:func:`per_example_statistics`): ``torch.func.vmap``
  over ``torch.func.grad`` of a one-example loss gives every :math:`g_i` of a
  sample at once; their mean and scatter give the two quantities directly.

:class:`NoiseScaleTracker` runs both during training (an ``on_step`` callback
for :func:`lib.train.train_grid`).  :func:`linear_regression_moments` gives the
exact :math:`G` and :math:`\\Sigma` of a linear regression with Gaussian inputs,
the ground truth both estimators are checked against
(:func:`synthetic_check`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, grad_and_value, vmap

from . import checks
from .data import Splits
from .device import seeded_generator
from .models import build_model

LOSSES = ("cross_entropy", "mse")


# --------------------------------------------------------------------------- checks

def _check_decay(decay) -> float:
    if isinstance(decay, bool) or not isinstance(decay, Real) or not 0.0 <= decay < 1.0:
        raise ValueError(f"decay must be a number in [0, 1), got {decay!r}")
    return float(decay)


def _check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)}")
    return loss


def _check_batch(x, y) -> None:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x and y must be torch tensors")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must hold the same number of examples, got {x.shape[0]} and {y.shape[0]}")
    if x.shape[0] < 1:
        raise ValueError("need at least one example")


# --------------------------------------------------------------------------- gradients

def _mean_loss(output: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """The engine's losses (:mod:`lib.train`): mean cross-entropy, or mean squared error over all entries."""
    if loss == "cross_entropy":
        return F.cross_entropy(output, target)
    return (output - target).pow(2).mean()


def _parameters(model: nn.Module, params: dict | None) -> dict[str, torch.Tensor]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if params is None:
        params = {name: p.detach() for name, p in model.named_parameters()}
    if not params:
        raise ValueError("the model has no parameters")
    return params


def batch_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy",
                   params: dict | None = None) -> torch.Tensor:
    """The gradient of the mean loss over the batch (x, y), flattened to one vector.

    ``params`` (a name -> tensor dict) replaces the model's own parameters, via
    ``torch.func.functional_call``; the model itself is not modified.
    """
    _check_loss(loss)
    _check_batch(x, y)
    params = _parameters(model, params)

    def mean_loss(p):
        return _mean_loss(functional_call(model, p, (x,)), y, loss)

    gradients = grad(mean_loss)(params)
    return torch.cat([g.reshape(-1) for g in gradients.values()])


def per_example_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy",
                          params: dict | None = None) -> torch.Tensor:
    """Every example's gradient, shape (n, number of parameters).

    ``torch.func.grad`` differentiates the loss of *one* example with respect to
    the parameters and ``torch.func.vmap`` maps that over the batch axis, so the
    n gradients come out of one batched computation instead of n backward passes.
    """
    _check_loss(loss)
    _check_batch(x, y)
    params = _parameters(model, params)
    gradients, _ = _per_example(model, params, x, y, loss)
    return torch.cat([g.reshape(x.shape[0], -1) for g in gradients.values()], dim=1)


def _per_example(model, params, x, y, loss):
    def one_example(p, xi, yi):
        return _mean_loss(functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0), loss)

    return vmap(grad_and_value(one_example), in_dims=(None, 0, 0))(params, x, y)


@dataclass(frozen=True)
class GradientStatistics:
    """Estimates of :math:`|G|^2` and :math:`\\operatorname{tr}\\Sigma`, and their ratio :math:`B_{\\rm simple}`."""

    g_squared: float
    trace_sigma: float
    examples: int = 0
    loss: float = float("nan")   # mean loss over the examples used, where known

    @property
    def b_simple(self) -> float:
        """:math:`\\operatorname{tr}\\Sigma / |G|^2`; NaN when the |G|^2 estimate is not positive."""
        return self.trace_sigma / self.g_squared if self.g_squared > 0 else float("nan")


def per_example_statistics(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss: str = "cross_entropy",
                           params: dict | None = None, mean_gradient: torch.Tensor | None = None,
                           chunk: int = 512) -> GradientStatistics:
    """:math:`|G|^2` and :math:`\\operatorname{tr}\\Sigma` from the n per-example gradients of (x, y).

    Without ``mean_gradient`` both come from the sample alone, unbiased for
    examples drawn independently.  With :math:`\\bar g` the mean of
    :math:`g_1, \\dots, g_n`:

    .. math::
        \\widehat{\\operatorname{tr}\\Sigma} = \\frac{1}{n-1}\\sum_i |g_i - \\bar g|^2
        = \\frac{\\sum_i |g_i|^2 - n|\\bar g|^2}{n-1}, \\qquad
        \\widehat{|G|^2} = |\\bar g|^2 - \\widehat{\\operatorname{tr}\\Sigma}/n

    (the second because :math:`\\mathbb E|\\bar g|^2 = |G|^2 + \\operatorname{tr}\\Sigma/n`).
    When the true mean gradient :math:`G` is known (for a finite training set:
    the gradient of the loss over all of it, ``mean_gradient``), it is used
    as is, and :math:`\\operatorname{tr}\\Sigma = \\mathbb E|g|^2 - |G|^2` with
    :math:`\\mathbb E|g|^2` estimated by the sample mean of :math:`|g_i|^2`.
    The gradients are computed ``chunk`` examples at a time and only their sum
    and summed squared norms are kept, so memory stays at ``chunk`` gradients.
    """
    _check_loss(loss)
    _check_batch(x, y)
    chunk = checks.int_at_least(chunk, "chunk")
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"a covariance needs at least 2 examples, got {n}")
    params = _parameters(model, params)
    size = sum(p.numel() for p in params.values())
    if mean_gradient is not None:
        if not isinstance(mean_gradient, torch.Tensor) or mean_gradient.shape != (size,):
            raise ValueError(f"mean_gradient must be a flat tensor of the {size} parameters "
                             f"(from batch_gradient), got {getattr(mean_gradient, 'shape', mean_gradient)!r}")
    total = {name: torch.zeros_like(p, dtype=torch.float64) for name, p in params.items()}
    squared_norms = 0.0
    loss_sum = 0.0
    with torch.no_grad():
        for start in range(0, n, chunk):
            gradients, losses = _per_example(model, params, x[start:start + chunk], y[start:start + chunk], loss)
            for name, g in gradients.items():
                total[name] += g.sum(0, dtype=torch.float64)
                squared_norms += float((g * g).sum(dtype=torch.float64))
            loss_sum += float(losses.sum(dtype=torch.float64))
    if mean_gradient is not None:
        g_squared = float(mean_gradient.double().pow(2).sum())
        return GradientStatistics(g_squared=g_squared, trace_sigma=squared_norms / n - g_squared,
                                  examples=n, loss=loss_sum / n)
    mean_sq = sum(float((t / n).pow(2).sum()) for t in total.values())
    trace = (squared_norms - n * mean_sq) / (n - 1)
    return GradientStatistics(g_squared=mean_sq - trace / n, trace_sigma=trace, examples=n, loss=loss_sum / n)


# --------------------------------------------------------------------------- two batch sizes

def two_batch_estimates(small_sq_norm, big_sq_norm, b_small: int, b_big: int) -> tuple[np.ndarray, np.ndarray]:
    """McCandlish et al.'s unbiased estimates from gradient norms at two batch sizes (their Appendix A.1).

    From :math:`\\mathbb E|G_B|^2 = |G|^2 + \\operatorname{tr}\\Sigma/B` at
    :math:`B_{\\rm small}` and :math:`B_{\\rm big}`:

    .. math::
        |\\mathcal G|^2 = \\frac{B_{\\rm big}|G_{B_{\\rm big}}|^2 - B_{\\rm small}|G_{B_{\\rm small}}|^2}
                              {B_{\\rm big} - B_{\\rm small}}, \\qquad
        \\mathcal S = \\frac{|G_{B_{\\rm small}}|^2 - |G_{B_{\\rm big}}|^2}{1/B_{\\rm small} - 1/B_{\\rm big}} .

    Returns arrays (|G|^2 estimates, tr Sigma estimates), one per pair of norms.
    """
    b_small = checks.int_at_least(b_small, "b_small")
    b_big = checks.int_at_least(b_big, "b_big")
    if b_small >= b_big:
        raise ValueError(f"b_small must be smaller than b_big, got b_small={b_small}, b_big={b_big}")
    small = np.atleast_1d(np.asarray(small_sq_norm, dtype=np.float64))
    big = np.atleast_1d(np.asarray(big_sq_norm, dtype=np.float64))
    if small.shape != big.shape or small.ndim != 1 or small.size == 0:
        raise ValueError(f"small_sq_norm and big_sq_norm must be equally long non-empty sequences, "
                         f"got shapes {small.shape} and {big.shape}")
    if not (np.isfinite(small).all() and np.isfinite(big).all()) or (small < 0).any() or (big < 0).any():
        raise ValueError("squared norms must be finite and >= 0")
    g_squared = (b_big * big - b_small * small) / (b_big - b_small)
    trace = (small - big) / (1.0 / b_small - 1.0 / b_big)
    return g_squared, trace


def ema(values, decay: float) -> np.ndarray:
    """Exponential moving average :math:`m_t = \\beta m_{t-1} + (1-\\beta) v_t`, debiased.

    Starting from :math:`m_0 = 0` and dividing by :math:`1 - \\beta^t` (as Adam
    does), so the first values are not pulled towards zero; ``decay`` is
    :math:`\\beta` (0 gives the values themselves).
    """
    decay = _check_decay(decay)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {values.shape}")
    out = np.empty_like(values)
    running = 0.0
    for t, value in enumerate(values, start=1):
        running = decay * running + (1.0 - decay) * value
        out[t - 1] = running / (1.0 - decay**t)
    return out


def smoothed_noise_scale(g_squared, trace_sigma, decay: float) -> np.ndarray:
    """:math:`B_{\\rm simple}` as the ratio of the two separately smoothed estimates (NaN where |G|^2 <= 0)."""
    g_smooth = ema(g_squared, decay)
    trace_smooth = ema(trace_sigma, decay)
    if g_smooth.shape != trace_smooth.shape:
        raise ValueError("g_squared and trace_sigma must be equally long")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(g_smooth > 0, trace_smooth / g_smooth, np.nan)


def optimal_step(batch_size, eps_max: float, b_noise: float):
    """McCandlish et al.'s :math:`\\epsilon_{\\rm opt}(B) = \\epsilon_{\\max} / (1 + B_{\\rm noise}/B)`."""
    eps_max = checks.positive(eps_max, "eps_max")
    b_noise = checks.positive(b_noise, "b_noise")
    b = np.asarray(batch_size, dtype=np.float64)
    if not np.isfinite(b).all() or (b <= 0).any():
        raise ValueError(f"batch sizes must be > 0, got {batch_size!r}")
    result = eps_max / (1.0 + b_noise / b)
    return float(result) if result.ndim == 0 else result


# --------------------------------------------------------------------------- tracking during training

@dataclass
class NoiseScaleTrace:
    """What :class:`NoiseScaleTracker` measured along one training run.

    ``steps`` count updates done.  ``small_sq``/``big_sq`` are the squared norms
    of gradients at ``b_small``/``b_big``, one pair every few updates, for the
    moving-average estimate.  At each of the ``checkpoints`` the weights were
    measured twice more, both estimators at the same weights: ``per_example``
    (per-example gradients, :math:`G` over the whole training set) and
    ``fixed_two_batch`` (the plain mean of ``fixed_draws`` two-batch estimates).
    """

    b_small: int
    b_big: int
    decay: float
    steps: np.ndarray
    small_sq: np.ndarray
    big_sq: np.ndarray
    checkpoints: np.ndarray
    per_example: list[GradientStatistics] = field(default_factory=list)
    fixed_two_batch: list[GradientStatistics] = field(default_factory=list)

    def estimates(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-measurement (|G|^2, tr Sigma) from the two batch sizes, unsmoothed."""
        return two_batch_estimates(self.small_sq, self.big_sq, self.b_small, self.b_big)

    def two_batch_b_simple(self) -> np.ndarray:
        """:math:`B_{\\rm simple}` after each measurement: EMA of each estimate, then their ratio."""
        g_squared, trace = self.estimates()
        return smoothed_noise_scale(g_squared, trace, self.decay)

    def two_batch_at(self, step: float) -> float:
        """The moving-average :math:`B_{\\rm simple}` at the measurement nearest to ``step``."""
        step = checks.positive(step, "step")
        if not self.steps[0] <= step <= self.steps[-1]:
            raise ValueError(f"step {step:g} is outside the measurements ({self.steps[0]} to {self.steps[-1]})")
        return float(self.two_batch_b_simple()[int(np.argmin(np.abs(self.steps - step)))])

    @property
    def per_example_b_simple(self) -> np.ndarray:
        return np.array([s.b_simple for s in self.per_example])

    @property
    def fixed_two_batch_b_simple(self) -> np.ndarray:
        return np.array([s.b_simple for s in self.fixed_two_batch])

    @property
    def checkpoint_loss(self) -> np.ndarray:
        """Mean training loss on the per-example sample at each checkpoint."""
        return np.array([s.loss for s in self.per_example])


class NoiseScaleTracker:
    """An ``on_step`` callback for :func:`lib.train.train_grid` that measures one member's noise scale.

    Every ``every`` updates it draws ``b_big`` training examples at random (with
    replacement, as the estimators assume) and records the squared norms of the
    gradient on all of them and on the first ``b_small`` of them: McCandlish et
    al.'s estimate, smoothed along the run.  At each update in ``checkpoints`` it
    holds the weights and measures them with both estimators: per-example
    gradients of a fixed random sample of ``exact_examples`` training images, with
    :math:`G` the exact gradient over the whole training set; and the plain mean
    of ``fixed_draws`` two-batch estimates.  Training itself is not touched: the
    callback reads member ``member``'s weights and draws from its own random
    generator.  Read the result from :attr:`trace` after training.
    """

    def __init__(self, data: Splits, *, member: int = 0, model: str | Callable = "textbook",
                 loss: str = "cross_entropy", b_small: int = 32, b_big: int = 1024, every: int = 10,
                 checkpoints: Sequence[int] = (), exact_examples: int = 2048, fixed_draws: int = 50,
                 decay: float = 0.9, seed: int = 0):
        if not isinstance(data, Splits):
            raise TypeError(f"data must be lib.data.Splits, got {type(data).__name__}")
        n = data.x_train.shape[0]
        self.member = checks.int_at_least(member, "member", 0)
        self.loss = _check_loss(loss)
        self.b_small = checks.int_at_least(b_small, "b_small")
        self.b_big = checks.int_at_least(b_big, "b_big")
        if self.b_small >= self.b_big:
            raise ValueError(f"b_small must be smaller than b_big, got {self.b_small} and {self.b_big}")
        if self.b_big > n:
            raise ValueError(f"b_big={self.b_big} is larger than the {n} training examples")
        self.every = checks.int_at_least(every, "every")
        self.exact_examples = checks.int_at_least(exact_examples, "exact_examples", 2)
        if self.exact_examples > n:
            raise ValueError(f"exact_examples={self.exact_examples} is larger than the {n} training examples")
        self.fixed_draws = checks.int_at_least(fixed_draws, "fixed_draws")
        if isinstance(checkpoints, (str, bytes)) or not isinstance(checkpoints, (Sequence, np.ndarray)):
            raise TypeError("checkpoints must be a list of update counts")
        self.checkpoints = sorted({checks.int_at_least(s, "a checkpoint") for s in checkpoints})
        self.decay = _check_decay(decay)
        self.data = data
        self.template = build_model(model, 0).to(data.x_train.device)
        self.generator = seeded_generator(checks.int_at_least(seed, "seed", 0))
        sample = torch.randperm(n, generator=self.generator)[:self.exact_examples].to(data.x_train.device)
        self.x_exact, self.y_exact = data.x_train[sample], data.y_train[sample]
        self._steps: list[int] = []
        self._small: list[float] = []
        self._big: list[float] = []
        self._checkpoints: list[int] = []
        self._per_example: list[GradientStatistics] = []
        self._fixed: list[GradientStatistics] = []

    def _norms(self, params) -> tuple[float, float]:
        """Squared norms of the gradients on a fresh random batch of ``b_big`` and on its first ``b_small``."""
        index = torch.randint(self.data.x_train.shape[0], (self.b_big,), generator=self.generator)
        x, y = self.data.x_train[index.to(self.data.x_train.device)], self.data.y_train[index.to(self.data.x_train.device)]
        big = batch_gradient(self.template, x, y, loss=self.loss, params=params)
        small = batch_gradient(self.template, x[:self.b_small], y[:self.b_small], loss=self.loss, params=params)
        return float(small.double().pow(2).sum()), float(big.double().pow(2).sum())

    def __call__(self, step: int, params: dict[str, torch.Tensor]) -> None:
        done = step + 1   # train_grid calls back after update number `step` (0-based)
        if done % self.every and done not in self.checkpoints:
            return
        K = next(iter(params.values())).shape[0]
        if self.member >= K:
            raise ValueError(f"member={self.member} but the grid has only {K} member(s)")
        mine = {name: p[self.member] for name, p in params.items()}
        if done % self.every == 0:
            small, big = self._norms(mine)
            self._steps.append(done)
            self._small.append(small)
            self._big.append(big)
        if done in self.checkpoints:
            full = batch_gradient(self.template, self.data.x_train, self.data.y_train, loss=self.loss, params=mine)
            self._checkpoints.append(done)
            self._per_example.append(per_example_statistics(self.template, self.x_exact, self.y_exact,
                                                            loss=self.loss, params=mine, mean_gradient=full))
            small, big = np.array([self._norms(mine) for _ in range(self.fixed_draws)]).T
            g_squared, trace = two_batch_estimates(small, big, self.b_small, self.b_big)
            self._fixed.append(GradientStatistics(float(g_squared.mean()), float(trace.mean()),
                                                  examples=self.fixed_draws))

    @property
    def trace(self) -> NoiseScaleTrace:
        if not self._steps:
            raise ValueError("nothing measured yet: pass the tracker as on_step to train_grid first")
        return NoiseScaleTrace(self.b_small, self.b_big, self.decay, np.array(self._steps),
                               np.array(self._small), np.array(self._big), np.array(self._checkpoints),
                               list(self._per_example), list(self._fixed))


# --------------------------------------------------------------------------- synthetic ground truth

def linear_regression_moments(w, w_star, cov, noise_std: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean :math:`G` and covariance :math:`\\Sigma` of the per-example gradient of a linear regression.

    Model and data: :math:`x \\sim \\mathcal N(0, C)`, :math:`y = w_*^\\top x + \\varepsilon`
    with :math:`\\varepsilon \\sim \\mathcal N(0, \\sigma^2)` independent of :math:`x`;
    the loss of one example is the engine's ``mse``, :math:`\\ell = (w^\\top x - y)^2`.

    Derivation.  With :math:`\\delta = w - w_*` the residual is
    :math:`r = x^\\top\\delta - \\varepsilon` and the gradient
    :math:`g = 2 r x = 2(x x^\\top \\delta - \\varepsilon x)`.  Its mean is
    :math:`G = 2 C \\delta`.  For the second moment, Isserlis' theorem for a
    zero-mean Gaussian, :math:`\\mathbb E[x_i x_j x_k x_l] = C_{ij}C_{kl} + C_{ik}C_{jl} + C_{il}C_{jk}`,
    gives :math:`\\mathbb E[(x^\\top\\delta)^2 x x^\\top] = (\\delta^\\top C \\delta)\\, C + 2\\, C\\delta\\delta^\\top C`;
    the cross term has :math:`\\mathbb E\\varepsilon = 0`, and
    :math:`\\mathbb E[\\varepsilon^2 x x^\\top] = \\sigma^2 C`.  So

    .. math::
        \\mathbb E[g g^\\top] = 4\\big[(\\delta^\\top C\\delta + \\sigma^2)\\, C + 2\\, C\\delta\\delta^\\top C\\big],
        \\qquad
        \\Sigma = \\mathbb E[g g^\\top] - G G^\\top = 4\\big[(\\delta^\\top C\\delta + \\sigma^2)\\, C + C\\delta\\delta^\\top C\\big].

    Hence :math:`B_{\\rm simple} = \\operatorname{tr}\\Sigma / |G|^2 =
    \\big[(\\delta^\\top C\\delta + \\sigma^2)\\operatorname{tr} C + |C\\delta|^2\\big] / |C\\delta|^2`.
    """
    w = np.asarray(w, dtype=np.float64)
    w_star = np.asarray(w_star, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if w.ndim != 1 or w.shape != w_star.shape:
        raise ValueError(f"w and w_star must be vectors of the same length, got {w.shape} and {w_star.shape}")
    d = w.shape[0]
    if cov.shape != (d, d) or not np.allclose(cov, cov.T):
        raise ValueError(f"cov must be a symmetric ({d}, {d}) matrix, got shape {cov.shape}")
    if np.linalg.eigvalsh(cov)[0] <= 0:
        raise ValueError("cov must be positive definite")
    noise_std = float(noise_std)
    if not math.isfinite(noise_std) or noise_std < 0:
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std}")
    delta = w - w_star
    c_delta = cov @ delta
    gradient = 2.0 * c_delta
    sigma = 4.0 * ((delta @ c_delta + noise_std**2) * cov + np.outer(c_delta, c_delta))
    return gradient, sigma


@dataclass(frozen=True)
class SyntheticCheck:
    """Both estimators against the exact :math:`|G|^2`, :math:`\\operatorname{tr}\\Sigma` and :math:`B_{\\rm simple}`."""

    exact: GradientStatistics
    per_example: GradientStatistics
    two_batch: GradientStatistics
    b_small: int
    b_big: int
    draws: int
    examples: int
    dim: int
    noise_std: float
    cov_diagonal: tuple[float, ...]

    def relative_errors(self) -> dict[str, dict[str, float]]:
        """``{"per_example"|"two_batch": {"g_squared"|"trace_sigma"|"b_simple": |estimate/exact - 1|}}``."""
        out = {}
        for name, estimate in (("per_example", self.per_example), ("two_batch", self.two_batch)):
            out[name] = {key: abs(getattr(estimate, key) / getattr(self.exact, key) - 1.0)
                         for key in ("g_squared", "trace_sigma", "b_simple")}
        return out

    @property
    def worst_error(self) -> float:
        return max(max(errors.values()) for errors in self.relative_errors().values())


def synthetic_check(*, dim: int = 8, examples: int = 100_000, b_small: int = 8, b_big: int = 256,
                    draws: int = 4000, decay: float = 0.9995, noise_std: float = 0.5, seed: int = 0) -> SyntheticCheck:
    """Estimate :math:`B_{\\rm simple}` of a synthetic linear regression both ways and return them beside the truth.

    Inputs :math:`x \\sim \\mathcal N(0, C)` with :math:`C` diagonal from 0.5 to 2,
    :math:`w_* = 0`, and the weights held at a fixed :math:`w \\ne w_*` (drawn
    from ``seed``).  The per-example estimate uses ``examples`` fresh examples;
    the two-batch estimate uses ``draws`` pairs of batches, each a fresh sample
    of ``b_big`` examples whose first ``b_small`` form the small batch, smoothed
    by :func:`ema` with ``decay`` (the last smoothed values are reported).
    """
    dim = checks.int_at_least(dim, "dim")
    examples = checks.int_at_least(examples, "examples", 2)
    draws = checks.int_at_least(draws, "draws")
    _check_decay(decay)
    generator = seeded_generator(checks.int_at_least(seed, "seed", 0))
    cov = np.diag(np.linspace(0.5, 2.0, dim))
    w_star = np.zeros(dim)
    w = torch.randn(dim, generator=generator, dtype=torch.float64).numpy()
    gradient, sigma = linear_regression_moments(w, w_star, cov, noise_std)
    exact = GradientStatistics(float(gradient @ gradient), float(np.trace(sigma)))

    model = nn.Linear(dim, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.as_tensor(w).view(1, dim))
    scale = torch.as_tensor(np.sqrt(np.diag(cov)))

    def sample(n):
        x = torch.randn(n, dim, generator=generator, dtype=torch.float64) * scale
        y = x @ torch.as_tensor(w_star) + noise_std * torch.randn(n, generator=generator, dtype=torch.float64)
        return x, y.view(n, 1)

    per_example = per_example_statistics(model, *sample(examples), loss="mse", chunk=8192)
    # All draws at once: a batch gradient is the mean of its examples' gradients.
    x, y = sample(draws * b_big)
    gradients = per_example_gradients(model, x, y, loss="mse").view(draws, b_big, dim)
    big = gradients.mean(1).pow(2).sum(1).numpy()
    small = gradients[:, :b_small].mean(1).pow(2).sum(1).numpy()
    g_squared, trace = two_batch_estimates(small, big, b_small, b_big)
    two_batch = GradientStatistics(float(ema(g_squared, decay)[-1]), float(ema(trace, decay)[-1]), examples=draws)
    return SyntheticCheck(exact, per_example, two_batch, b_small, b_big, draws, examples, dim, float(noise_std),
                          tuple(float(c) for c in np.diag(cov)))
